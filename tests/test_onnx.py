"""ONNX: `mtfcdd export --format onnx`, the onnxruntime runner, and its verbs without Keras."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import blocking_imports

import mtfcdd
from mtfcdd.cli import build_parser, main
from mtfcdd.cli.serve import build_server
from mtfcdd.deploy.export import type_projection_model
from mtfcdd.deploy.onnx_runner import OnnxModel
from mtfcdd.deploy.runner import LiteRTModel
from mtfcdd.deploy.sidecar import read_sidecar, sidecar_path
from mtfcdd.evaluation.model_evaluation import evaluate
from mtfcdd.inference.postprocessing import pseudo_huber
from mtfcdd.utils.image_files import image_batch, read_rgb_image

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("onnx")]

SIDE = 75
BLOCKED_PACKAGES = ("keras", "tensorflow", "tf_keras", "jax")


@pytest.fixture(scope="module")
def split(tiny_dataset):
    return mtfcdd.load_realiad(tiny_dataset, alpha=0.1)


@pytest.fixture(scope="module")
def images(split):
    return image_batch([read_rgb_image(sample.image_path) for sample in split.test[:8]], (SIDE, SIDE))


@pytest.fixture(scope="module")
def model(images):
    """A random model whose type projection is scaled so that the maps are O(1)."""
    keras.utils.set_random_seed(0)
    model = mtfcdd.build_model(8, SIDE, backbone_weights=None)
    projection = np.asarray(type_projection_model(model).predict_on_batch(images.astype(np.float32)))
    layer = model.get_layer("type_projection")
    layer.kernel.assign(layer.kernel / projection.std())
    model.thresholds = (1.0,) * 8
    return model


@pytest.fixture(scope="module")
def onnx_path(model, tmp_path_factory):
    """The model saved, then exported by `mtfcdd export --format onnx` from the file."""
    folder = tmp_path_factory.mktemp("onnx")
    keras_path = str(folder / "model.keras")
    model.save(keras_path)
    path = str(folder / "exported" / "model.onnx")
    assert main(["export", keras_path, "--format", "onnx", "--out", path]) == 0
    return path


def test_onnx_file_matches_keras_on_batches_of_one_and_eight(onnx_path, model, images):
    runner = OnnxModel(onnx_path)
    keras_heatmaps = np.asarray(model.predict_on_batch(images.astype(np.float32)))
    assert keras_heatmaps.std() > 0.1  # maps of ~0 would agree whatever the file
    eight = runner.heatmaps(images)
    one = runner.heatmaps(images[:1])
    assert eight.shape == keras_heatmaps.shape == (8, 7, 7, 8)
    assert np.abs(eight - keras_heatmaps).max() <= 1e-4
    np.testing.assert_allclose(one, eight[:1], atol=1e-5)
    # The file outputs phi_k; Eq. 1 runs in NumPy.
    (projection,) = runner.session.run(None, {runner.session.get_inputs()[0].name: images.astype(np.float32)})
    assert projection.min() < 0
    np.testing.assert_allclose(pseudo_huber(projection), eight, rtol=0, atol=0)
    prediction = runner.predict(images)
    assert prediction.detected_types == [
        tuple(code for code, score in zip(runner.type_codes, row) if score >= 1.0)
        for row in prediction.scores
    ]


def test_onnx_sidecar_and_files(onnx_path, model):
    assert sorted(os.listdir(os.path.dirname(onnx_path))) == ["model.onnx", "model.onnx.json"]
    assert read_sidecar(onnx_path) == {
        "schema_version": 3,
        "mtfcdd_version": mtfcdd.__version__,
        "output": "type_projection",
        "type_codes": list(mtfcdd.DEFECT_CODES),
        "image_size": [SIDE, SIDE],
        "score_reduction": "mean",
        "thresholds": [1.0] * 8,
        "threshold_source": None,
        "weights_source": "None",
        "format": "onnx",
        "quantization": "none",
        "num_calibration_images": None,
    }
    runner = OnnxModel(onnx_path)
    assert (runner.runtime, runner.quantization, runner.image_size) == ("ONNX Runtime", "none", (SIDE, SIDE))
    # Each runner refuses the other's files, naming the format.
    with pytest.raises(ValueError, match="onnx file; LiteRTModel .--tflite. runs tflite files"):
        LiteRTModel(onnx_path)


def test_onnx_export_refuses_quantisation(tmp_path, capsys):
    model_path = tmp_path / "model.keras"
    model_path.write_bytes(b"not read")
    arguments = ["export", str(model_path), "--format", "onnx", "--quantize", "int8", "--out", "m.onnx"]
    assert main(arguments) == 1
    assert "--format onnx writes a float32 file" in capsys.readouterr().err


def test_onnx_sidecar_must_not_claim_a_quantisation(onnx_path, tmp_path):
    copy = str(tmp_path / "copy.onnx")
    with open(onnx_path, "rb") as source, open(copy, "wb") as target:
        target.write(source.read())
    with open(sidecar_path(copy), "w") as file:
        json.dump({**read_sidecar(onnx_path), "quantization": "int8"}, file)
    with pytest.raises(ValueError, match="'quantization' is 'int8'.*ONNX"):
        OnnxModel(copy)


def test_evaluate_and_predict_onnx_without_keras(onnx_path, model, split, tiny_dataset, tmp_path):
    """The verbs through the CLI entry point, Keras, TensorFlow and JAX blocked."""
    output_dir = str(tmp_path / "panels")
    paths = [sample.image_path for sample in split.test[:3]]
    script = blocking_imports(BLOCKED_PACKAGES) + f"""
import contextlib, io, json
from mtfcdd.cli import main

evaluation = io.StringIO()
with contextlib.redirect_stdout(evaluation):
    status = main(["evaluate", "--onnx", {onnx_path!r}, "--data", {str(tiny_dataset)!r}, "--alpha", "0.1",
                   "--json"])
assert status == 0
with contextlib.redirect_stdout(io.StringIO()):
    assert main(["predict", "--onnx", {onnx_path!r}, *{paths!r}, "--out", {output_dir!r}]) == 0
print(json.dumps({{
    "evaluation": json.loads(evaluation.getvalue()),
    "blocked_loaded": [name for name in sys.modules if name.split(".")[0] in {BLOCKED_PACKAGES!r}],
}}))
"""
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["blocked_loaded"] == []
    settings = result["evaluation"]["settings"]
    assert (settings["runtime"], settings["model_file"], settings["quantization"]) == (
        "ONNX Runtime", onnx_path, "none"
    )
    assert settings["decision_thresholds"] == "the sidecar's (how they were fitted is not recorded)"
    # The Keras model on the same images, read the same way: the same tables.
    expected = evaluate(model, split.test, verbose=0)
    for code, metrics in expected["metrics"].items():
        for name, value in metrics.items():
            assert result["evaluation"]["metrics"][code][name] == pytest.approx(value, abs=1e-3), (code, name)
    with open(os.path.join(output_dir, "predictions.json")) as file:
        predicted = json.load(file)["images"]
    keras_predictions = mtfcdd.predict(model, paths).predictions
    for answer, keras_answer in zip(predicted, keras_predictions):
        assert answer["path"] == keras_answer.path
        np.testing.assert_allclose(list(answer["scores"].values()), list(keras_answer.scores.values()), atol=1e-4)


def test_serve_onnx(onnx_path, split):
    arguments = build_parser().parse_args(["serve", "--onnx", onnx_path, "--port", "0"])
    http_server, model, facts = build_server(arguments)
    http_server.server_close()
    assert facts == {
        "file": "model.onnx", "file_size_bytes": os.path.getsize(onnx_path), "runtime": "ONNX Runtime",
        "quantization": "none",
    }
    client = http_server.app.test_client()
    with open(split.test[0].image_path, "rb") as file:
        answer = client.post("/predict", data=file.read(), content_type="image/jpeg").json
    expected = mtfcdd.predict(OnnxModel(onnx_path), [split.test[0].image_path]).predictions[0]
    assert answer["scores"] == expected.scores
    assert model.runtime == "ONNX Runtime"
