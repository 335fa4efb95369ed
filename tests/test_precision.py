"""Mixed precision and XLA in training (dtypes, loss scaling, resume, config), and
mixed-precision inference (``--precision`` of predict, evaluate, serve, benchmark)."""

import json
import os

import keras
import numpy as np
import pytest
from conftest import unit_scale_model

import mtfcdd
from mtfcdd.cli import build_parser, main
from mtfcdd.cli.options import CONVERTED_MODEL_OPTIONS, training_config
from mtfcdd.cli.serve import build_server
from mtfcdd.inference.heatmap_model import heatmap_model
from mtfcdd.model.multi_type_loss import MultiTypeFCDDLoss
from mtfcdd.model.saving import load_trained_model
from mtfcdd.training import trainer
from mtfcdd.training.config import TrainingConfig
from mtfcdd.training.precision import model_in_precision
from mtfcdd.utils.image_files import image_batch, read_rgb_image

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("precision")]

SMALL = dict(image_size=75, backbone_weights=None, batch_size=4, learning_rate=1e-3, threshold_fraction=0)


@pytest.fixture(scope="module")
def batch():
    images = np.random.default_rng(0).uniform(0, 255, (4, 75, 75, 3)).astype("float32")
    labels = np.zeros((4, 8), "float32")
    labels[1, 3] = labels[2, 0] = 1
    return images, labels


def trained_losses(config, batch, steps=2):
    """The model ``train`` would start from, after ``steps`` steps on ``batch``."""
    keras.utils.set_random_seed(config.seed)
    model = trainer.training_model(config)
    losses = [float(model.train_on_batch(*batch)) for _ in range(steps)]
    return model, losses


@pytest.fixture(scope="module")
def float32_run(batch):
    return trained_losses(TrainingConfig(**SMALL), batch)


def compute_dtypes(model):
    return {
        name: model.get_layer(name).compute_dtype
        for name in ("preprocessing", "head_conv1", "head_bn1", "type_projection", "heatmaps")
    } | {"backbone": next(
        layer.compute_dtype for layer in model.backbone.layers if isinstance(layer, keras.layers.Conv2D)
    )}


def test_mixed_bfloat16_keeps_the_projection_heatmaps_and_loss_float32(batch, float32_run):
    float32_model, float32_losses = float32_run
    model, losses = trained_losses(TrainingConfig(precision="mixed_bfloat16", **SMALL), batch, steps=1)
    assert compute_dtypes(model) == {
        "preprocessing": "bfloat16", "backbone": "bfloat16", "head_conv1": "bfloat16",
        "head_bn1": "bfloat16", "type_projection": "float32", "heatmaps": "float32",
    }
    assert {weight.dtype for weight in model.weights} == {"float32"}
    assert keras.config.dtype_policy().name == "float32"  # restored after building
    heatmaps = model(batch[0], training=False)
    assert keras.backend.standardize_dtype(heatmaps.dtype) == "float32"
    # bfloat16 keeps 8 bits of mantissa: the first loss agrees to ~1e-3.
    assert losses[0] == pytest.approx(float32_losses[0], rel=2e-2)
    # A bfloat16 pseudo-Huber would round most of them to exactly zero.
    assert np.mean(keras.ops.convert_to_numpy(heatmaps) == 0) < 0.01


def test_jit_compile_trains_like_float32(batch, float32_run):
    model, jit_losses = trained_losses(TrainingConfig(jit_compile=True, **SMALL), batch)
    assert model.jit_compile is True
    assert jit_losses == pytest.approx(float32_run[1], rel=1e-4)


def test_mixed_float16_scales_the_loss_and_resumes_its_optimizer(tiny_dataset, tmp_path):
    config = TrainingConfig(precision="mixed_float16", epochs=1, steps_per_epoch=1, **SMALL)
    result = trainer.train(tiny_dataset, tmp_path / "run", config, verbose=0)
    assert np.all(np.isfinite(result.history["loss"]))
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (saved["precision"], saved["jit_compile"]) == ("mixed_float16", False)
    # What resume starts from: the checkpoint loaded under the run's policy
    # (under float32, Keras would skip Adam's state with a mere warning).
    resumed = trainer._model_to_train(tmp_path / "run", config, result.data.type_codes, resume=True)
    assert isinstance(resumed.optimizer, keras.optimizers.LossScaleOptimizer)
    assert int(resumed.optimizer.iterations) == 1
    assert resumed.get_layer("head_conv1").compute_dtype == "float16"
    assert keras.config.dtype_policy().name == "float32"
    # The saved model is float32, ready for export, with its thresholds.
    model = load_trained_model(result.model_path)
    assert {layer.compute_dtype for layer in model.layers if layer.weights} == {"float32"}
    assert model.thresholds == pytest.approx(result.thresholds)


def test_loss_of_float16_heatmaps_is_float32():
    heatmaps = keras.ops.full((2, 3, 3, 8), 1e-4, dtype="float16")
    loss = MultiTypeFCDDLoss()(np.eye(2, 8, dtype="float32"), heatmaps)
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"
    # s = 1e-4 (float16 keeps it to 0.03 %): L = (1/2) [2 * (-log(1 - exp(-s))) + 14 s].
    scores = np.float32(np.float16(1e-4))
    expected = (2 * -np.log(-np.expm1(-scores)) + 14 * scores) / 2
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_options_and_errors():
    parser = build_parser()
    arguments = parser.parse_args(["train", "--data", "d", "--out", "o", "--jit-compile",
                                   "--precision", "mixed_bfloat16"])
    config = training_config(arguments)
    assert (config.jit_compile, config.precision) == (True, "mixed_bfloat16")
    defaults = training_config(parser.parse_args(["train", "--data", "d", "--out", "o"]))
    assert (defaults.jit_compile, defaults.precision) == (False, "float32")
    with pytest.raises(ValueError, match="precision"):
        TrainingConfig(precision="float16")
    with pytest.raises(ValueError, match="strategy='default'"):
        TrainingConfig(jit_compile=True, strategy="multi-worker")
    # A config.json written before these fields existed resumes with their defaults.
    legacy = TrainingConfig().to_dict()
    del legacy["precision"], legacy["jit_compile"]
    assert TrainingConfig.from_dict(legacy) == TrainingConfig()


# --- Inference ----------------------------------------------------------------

# bfloat16 keeps 8 significant bits: each rounding is within 2^-9 (0.2 %) of
# its value. Through the backbone's ~250 layers the roundings add up to a few
# per mille on average, ~2 % at worst for an image score on these random
# models (the mean of a map); 5 % leaves room, and a float32 model (1e-6) or
# a broken cast (a map of zeros, float16's overflow) is far outside it.
BFLOAT16_SCORE_RTOL = 5e-2


@pytest.fixture(scope="module")
def split(tiny_dataset):
    return mtfcdd.load_realiad(tiny_dataset, alpha=0.1)


@pytest.fixture(scope="module")
def test_images(split):
    return image_batch([read_rgb_image(sample.image_path) for sample in split.test[:8]], (75, 75))


@pytest.fixture(scope="module")
def inference_model(test_images):
    return unit_scale_model(test_images, 75)


@pytest.fixture(scope="module")
def keras_path(inference_model, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("keras") / "model.keras")
    inference_model.save(path)
    return path


def test_bfloat16_inference_tracks_float32_and_answers_in_float32(inference_model, test_images):
    bfloat16_model = model_in_precision(inference_model, "mixed_bfloat16")
    assert compute_dtypes(bfloat16_model) == {
        "preprocessing": "bfloat16", "backbone": "bfloat16", "head_conv1": "bfloat16",
        "head_bn1": "bfloat16", "type_projection": "float32", "heatmaps": "float32",
    }
    assert keras.config.dtype_policy().name == "float32"
    assert bfloat16_model.thresholds == inference_model.thresholds
    float32 = heatmap_model(inference_model).predict(test_images)
    bfloat16 = heatmap_model(bfloat16_model).predict(test_images)
    assert heatmap_model(bfloat16_model).quantization == "mixed_bfloat16"
    assert heatmap_model(inference_model).quantization is None
    assert bfloat16.heatmaps.dtype == bfloat16.scores.dtype == np.float32
    np.testing.assert_allclose(bfloat16.scores, float32.scores, rtol=BFLOAT16_SCORE_RTOL)
    assert np.corrcoef(bfloat16.heatmaps.ravel(), float32.heatmaps.ravel())[0, 1] >= 0.999
    # Not merely equal: the copy did compute in bfloat16.
    assert not np.array_equal(bfloat16.heatmaps, float32.heatmaps)
    # The same copy in float32 is the model itself.
    same = heatmap_model(model_in_precision(inference_model, "float32")).predict(test_images)
    np.testing.assert_allclose(same.heatmaps, float32.heatmaps, rtol=1e-5, atol=1e-7)


def _predicted_scores(output_dir):
    with open(os.path.join(output_dir, "predictions.json")) as file:
        return np.array([list(answer["scores"].values()) for answer in json.load(file)["images"]])


def test_predict_evaluate_and_serve_take_precision(keras_path, split, tiny_dataset, tmp_path, capsys):
    paths = [sample.image_path for sample in split.test[:3]]
    scores = {}
    for precision in ("float32", "mixed_bfloat16"):
        output_dir = str(tmp_path / precision)
        assert main(["predict", keras_path, *paths, "--out", output_dir, "--precision", precision]) == 0
        scores[precision] = _predicted_scores(output_dir)
    np.testing.assert_allclose(scores["mixed_bfloat16"], scores["float32"], rtol=BFLOAT16_SCORE_RTOL)
    assert not np.array_equal(scores["mixed_bfloat16"], scores["float32"])
    capsys.readouterr()
    assert main(["evaluate", keras_path, "--data", str(tiny_dataset), "--alpha", "0.1",
                 "--precision", "mixed_bfloat16", "--json"]) == 0
    evaluation = json.loads(capsys.readouterr().out)
    assert (evaluation["settings"]["runtime"], evaluation["settings"]["quantization"]) == ("Keras", "mixed_bfloat16")
    float32_metrics = mtfcdd.evaluate(mtfcdd.load_trained_model(keras_path), split.test, verbose=0)["metrics"]
    for name in ("I-AUROC", "P-AUROC"):
        assert evaluation["metrics"]["Mean"][name] == pytest.approx(float32_metrics["Mean"][name], abs=0.05)
    arguments = build_parser().parse_args(["serve", keras_path, "--port", "0", "--precision", "mixed_bfloat16"])
    http_server, model, facts = build_server(arguments)
    http_server.server_close()
    assert facts["quantization"] == "mixed_bfloat16" and model.runtime == "Keras"
    with open(paths[0], "rb") as file:
        answer = http_server.app.test_client().post("/predict", data=file.read(), content_type="image/jpeg").json
    np.testing.assert_allclose(list(answer["scores"].values()), scores["mixed_bfloat16"][0], rtol=1e-3)


@pytest.mark.parametrize("verb", ["predict", "evaluate", "serve"])
@pytest.mark.parametrize("file_format", list(CONVERTED_MODEL_OPTIONS))
def test_precision_of_a_converted_file_is_refused(verb, file_format, tmp_path, capsys):
    path = str(tmp_path / f"model.{file_format}")
    tail = {"predict": [str(tmp_path / "image.png"), "--out", str(tmp_path / "out")], "evaluate": ["--data", str(tmp_path)], "serve": []}[verb]
    assert main([verb, f"--{file_format}", path, *tail, "--precision", "mixed_bfloat16"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.endswith(
        f"--precision mixed_bfloat16 applies to a .keras model; --{file_format} {path} computes in "
        "the format it was converted to: leave out --precision."
    ), error
    assert len(error.splitlines()) == 1
