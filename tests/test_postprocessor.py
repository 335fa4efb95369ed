"""The model's answers out: one Postprocessor, saved with the model and its sidecar, built once per call."""

import math

import numpy as np
import pytest

from mtfcdd.constants import DEFECT_CODES
from mtfcdd.deploy.export import model_metadata
from mtfcdd.inference import heatmap_model as heatmap_model_module
from mtfcdd.inference.decision_thresholds import fit_thresholds
from mtfcdd.inference.heatmap_model import MODEL_FACTS, HeatmapModel, heatmap_model, model_facts
from mtfcdd.inference.postprocessor import Postprocessor

THRESHOLDS = (0.25,) * 4 + (0.5,) * 4


def test_postprocessor_chains_eq1_eq2_and_the_thresholds():
    postprocessor = Postprocessor(("AK", "BX"), "mean", thresholds=(0.5, 1.0))
    # phi = 1 gives sqrt(2) - 1; phi = 0 gives 0; phi = -sqrt(3) gives 1.
    projection = np.zeros((2, 2, 2, 2), np.float32)
    projection[0, 0, 0, 0] = 1.0
    projection[1, :, :, 1] = -math.sqrt(3)
    heatmaps = postprocessor.heatmaps(projection)
    assert heatmaps[0, 0, 0, 0] == pytest.approx(math.sqrt(2) - 1, rel=1e-6)
    assert heatmaps[1, 0, 0, 1] == pytest.approx(1.0, rel=1e-6)
    heatmaps[1, ..., 1] = 1.0  # exactly its threshold
    prediction = postprocessor.predict(heatmaps)
    np.testing.assert_allclose(prediction.scores, [[(math.sqrt(2) - 1) / 4, 0.0], [0.0, 1.0]], rtol=1e-6)
    # A score equal to its threshold is detected (>=); 0.1036 < 0.5 is not.
    assert prediction.detected_types == [(), ("BX",)]
    np.testing.assert_allclose(postprocessor.scores(heatmaps, "max"), [[math.sqrt(2) - 1, 0.0], [0.0, 1.0]], rtol=1e-6)


def test_thresholds_apply_only_to_the_reduction_they_were_fitted_on():
    postprocessor = Postprocessor(("AK",), "mean", thresholds=(0.0,))
    heatmaps = np.ones((1, 2, 2, 1), np.float32)
    assert postprocessor.predict(heatmaps).detected_types == [("AK",)]
    assert postprocessor.predict(heatmaps, "max").detected_types is None
    assert Postprocessor(("AK",)).predict(heatmaps).detected_types is None


@pytest.mark.parametrize("fields, message", [
    ({"type_codes": ("AK", "AK")}, "type_codes must be distinct"),
    ({"score_reduction": "median"}, "score_reduction must be one of"),
    ({"thresholds": (0.5, float("nan"))}, "thresholds must be finite numbers"),
    ({"thresholds": (0.5,)}, "thresholds has 1 values for 2 types"),
    ({"threshold_source": 3}, "threshold_source must be a string or None"),
])
def test_postprocessor_names_the_field_at_fault(fields, message):
    with pytest.raises(ValueError, match=message):
        Postprocessor(**{"type_codes": ("AK", "BX"), **fields})


def test_fitting_thresholds_gives_a_new_postprocessor_with_f1_optimal_thresholds():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, (40, 2))
    scores = rng.uniform(0, 1, (40, 2)) + labels * 0.3
    postprocessor = Postprocessor(("AK", "BX"))
    fitted = postprocessor.fit_thresholds(labels, scores, "the test's scores")
    assert fitted.thresholds == fit_thresholds(labels, scores)
    assert fitted.threshold_source == "the test's scores" and fitted.type_codes == ("AK", "BX")
    assert postprocessor.thresholds is None  # frozen: the original is unchanged
    assert Postprocessor.from_config(fitted.get_config()) == fitted


@pytest.fixture(scope="module")
def model():
    import keras

    from mtfcdd.model.network import MultiTypeFCDD

    keras.utils.set_random_seed(0)
    return MultiTypeFCDD(
        num_types=8, image_size=75, backbone_weights=None, thresholds=THRESHOLDS,
        threshold_source="by hand", score_reduction="max",
    )


def test_the_sidecar_and_heatmap_model_read_the_models_own_config(model):
    config = model.get_config()
    metadata = model_metadata(model)
    assert {field: metadata[field] for field in MODEL_FACTS} == model_facts(config) == {
        "image_size": [75, 75], "weights_source": "None", "type_codes": list(DEFECT_CODES),
        "score_reduction": "max", "thresholds": list(THRESHOLDS), "threshold_source": "by hand",
        "preprocessor": {"image_size": [75, 75], "decoder": "opencv", "resize": "area_bilinear"},
        "open_set": None,
    }
    source = heatmap_model(model)
    assert source.preprocessor == model.preprocessor
    assert source.postprocessor == model.postprocessor == Postprocessor.from_config(metadata)
    assert (source.image_size, source.weights_source) == ((75, 75), "None")
    # A threshold set after building reaches every reader.
    model.thresholds = (1.0,) * 8
    assert heatmap_model(model).thresholds == (1.0,) * 8 and model_metadata(model)["thresholds"] == [1.0] * 8
    model.thresholds = THRESHOLDS


def test_a_model_without_the_facts_is_named():
    import keras

    plain = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(1, 1)])
    with pytest.raises(ValueError, match="config has no 'image_size': expected a MultiTypeFCDD"):
        model_metadata(plain)


@pytest.fixture
def made_models(monkeypatch):
    """Every HeatmapModel that heatmap_model makes, recorded."""
    made = []

    class CountedHeatmapModel(HeatmapModel):
        def __new__(cls, *args, **kwargs):
            made.append(cls)
            return super().__new__(cls)

    monkeypatch.setattr(heatmap_model_module, "HeatmapModel", CountedHeatmapModel)
    return made


def test_the_adapter_is_applied_once_per_call(model, made_models, tiny_dataset, tmp_path):
    from mtfcdd.data.realiad.reader import load_realiad
    from mtfcdd.evaluation.model_evaluation import evaluate
    from mtfcdd.inference.scoring import predict_scores
    from mtfcdd.prediction.predict_images import predict

    samples = load_realiad(tiny_dataset).test
    result = evaluate(model, samples, batch_size=16, verbose=0)
    assert len(made_models) == 1 and result["settings"]["decision_thresholds"] == "by hand"
    predict(model, [sample.image_path for sample in samples[:3]], tmp_path / "predictions", verbose=0)
    assert len(made_models) == 2
    predict_scores(model, samples[:3])
    assert len(made_models) == 3
    source = heatmap_model(model)
    evaluate(source, samples, batch_size=16, verbose=0)
    predict(source, [samples[0].image_path], verbose=0)
    assert len(made_models) == 4


def test_keras_and_litert_float32_scores_agree_on_normal_images(model, tiny_dataset, tmp_path):
    # An untrained head gives every image heatmaps of ~1e-3, where normal
    # images' maps live and where Eq. 1 written as sqrt(phi^2 + 1) - 1 would
    # lose its digits (4.6 % at phi = 1e-3): both runtimes share one Eq. 1
    # and one Eq. 2. What is left is the network's float32 arithmetic:
    # TensorFlow's and XNNPACK's convolutions add in different orders, and
    # the projection's absolute difference (up to ~3e-5 on the demo model)
    # is a larger share of small projections: 1.4e-5 relative here, 2.1e-5
    # on the demo's normal test images (docs/deployment.md).
    from mtfcdd.data.realiad.reader import load_realiad
    from mtfcdd.deploy.export import export_tflite
    from mtfcdd.deploy.runner import LiteRTModel
    from mtfcdd.inference.scoring import predict_scores

    samples = load_realiad(tiny_dataset).test
    path = str(tmp_path / "model.tflite")
    export_tflite(model, path, quantize="none")
    labels, keras_scores = predict_scores(model, samples)
    _, litert_scores = predict_scores(LiteRTModel(path), samples)
    normal = labels.sum(axis=1) == 0
    assert normal.sum() > 0 and keras_scores.max() < 0.1
    np.testing.assert_allclose(litert_scores[normal], keras_scores[normal], rtol=5e-5, atol=0)
    np.testing.assert_allclose(litert_scores, keras_scores, rtol=5e-5, atol=0)
