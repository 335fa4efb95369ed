"""The board path: converted files through the verbs without Keras, delegates, calibration images."""

import json
import os
import subprocess
import sys

import ai_edge_litert.interpreter
import numpy as np
import pytest
from conftest import blocking_imports, tiny_litert_file

import mtfcdd
from mtfcdd.cli import main
from mtfcdd.deploy.runner import LiteRTModel
from mtfcdd.evaluation.model_evaluation import evaluate
from mtfcdd.utils.image_files import find_images

pytestmark = [pytest.mark.xdist_group("board")]

BLOCKED_PACKAGES = ("keras", "tensorflow", "tf_keras", "jax")
SIDE = 75


@pytest.fixture(scope="module")
def tflite_path(tmp_path_factory):
    """A small LiteRT file with the interface of an exported model (``tiny_litert_file``)."""
    return tiny_litert_file(tmp_path_factory.mktemp("board") / "model.tflite", SIDE)


@pytest.fixture(scope="module")
def split(tiny_dataset):
    return mtfcdd.load_realiad(tiny_dataset, alpha=0.1)


def _run_blocked(packages, body):
    """Runs ``body`` in a fresh interpreter where ``packages`` cannot be imported."""
    completed = subprocess.run(
        [sys.executable, "-c", blocking_imports(packages) + body], capture_output=True, text=True, timeout=300,
    )
    return completed


@pytest.mark.slow
def test_predict_and_evaluate_tflite_through_the_cli_without_keras(tflite_path, split, tiny_dataset, tmp_path):
    output_dir = str(tmp_path / "panels")
    paths = [sample.image_path for sample in split.test[:4]]
    completed = _run_blocked(BLOCKED_PACKAGES, f"""
import contextlib, io, json
from mtfcdd.cli import main

with contextlib.redirect_stdout(io.StringIO()):
    assert main(["predict", "--tflite", {tflite_path!r}, *{paths!r}, "--out", {output_dir!r}]) == 0
evaluation = io.StringIO()
with contextlib.redirect_stdout(evaluation):
    status = main(["evaluate", "--tflite", {tflite_path!r}, "--data", {str(tiny_dataset)!r},
                   "--alpha", "0.1", "--json"])
assert status == 0
print(json.dumps({{
    "evaluation": json.loads(evaluation.getvalue()),
    "blocked_loaded": [name for name in sys.modules if name.split(".")[0] in {BLOCKED_PACKAGES!r}],
}}))
""")
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["blocked_loaded"] == []

    expected = evaluate(LiteRTModel(tflite_path), split.test, verbose=0)
    assert result["evaluation"]["metrics"] == expected["metrics"]
    assert result["evaluation"]["settings"] == {**expected["settings"], "alpha": 0.1}
    assert (expected["settings"]["runtime"], expected["settings"]["quantization"]) == ("LiteRT", "none")
    assert expected["settings"]["model_file"] == tflite_path

    with open(os.path.join(output_dir, "predictions.json")) as file:
        predicted = json.load(file)["images"]
    expected_predictions = mtfcdd.predict(LiteRTModel(tflite_path), paths).predictions
    assert [answer["scores"] for answer in predicted] == [answer.scores for answer in expected_predictions]


def test_evaluate_reads_what_predict_reads(tflite_path, split):
    """Evaluation's image scores are ``predict``'s on the same files (one reading path)."""
    from mtfcdd.inference.scoring import predict_scores
    from mtfcdd.metrics import auroc

    samples = split.test[:24]
    labels, scores = predict_scores(LiteRTModel(tflite_path), samples, batch_size=5)
    predictions = mtfcdd.predict(LiteRTModel(tflite_path), [sample.image_path for sample in samples])
    expected = np.array([list(prediction.scores.values()) for prediction in predictions.predictions])
    np.testing.assert_array_equal(scores, expected)
    np.testing.assert_array_equal(labels, [sample.labels for sample in samples])
    result = evaluate(LiteRTModel(tflite_path), samples, batch_size=5, verbose=0)
    for channel, code in enumerate(mtfcdd.DEFECT_CODES):
        if 0 < labels[:, channel].sum() < len(labels):
            assert result["metrics"][code]["I-AUROC"] == pytest.approx(auroc(labels[:, channel], expected[:, channel]))


def test_missing_packages_are_one_line_saying_what_to_install(tflite_path, split, tiny_dataset, tmp_path):
    image = split.test[0].image_path
    completed = _run_blocked(BLOCKED_PACKAGES + ("ai_edge_litert", "onnxruntime", "openvino", "scipy", "sklearn"), f"""
from mtfcdd.cli import main

assert main(["predict", "--tflite", {tflite_path!r}, {image!r}, "--out", {str(tmp_path)!r}]) == 1
assert main(["predict", "--onnx", "model.onnx", {image!r}, "--out", {str(tmp_path)!r}]) == 1
assert main(["predict", "--openvino", "model.xml", {image!r}, "--out", {str(tmp_path)!r}]) == 1
assert main(["evaluate", "--tflite", {tflite_path!r}, "--data", {str(tiny_dataset)!r}]) == 1
""")
    assert completed.returncode == 0, completed.stderr[-3000:]
    errors = completed.stderr.strip().splitlines()
    assert len(errors) == 4
    assert errors[0].startswith("mtfcdd predict: error: a LiteRT model (--tflite) needs ai-edge-litert")
    assert errors[0].endswith('pip install "mtfcdd[litert]"')
    assert errors[1].startswith("mtfcdd predict: error: an ONNX model (--onnx) needs onnxruntime")
    assert errors[1].endswith('pip install "mtfcdd[onnx]"')
    assert errors[2].startswith("mtfcdd predict: error: an OpenVINO model (--openvino) needs openvino")
    assert errors[2].endswith('pip install "mtfcdd[openvino]"')
    # A board installed without the package's dependencies evaluates once it adds the metrics' two.
    assert errors[3].startswith("mtfcdd evaluate: error: mtfcdd evaluate (the metrics) needs scipy")
    assert errors[3].endswith("pip install scipy")


# --- Delegates: the LiteRT boundary mocked -----------------------------------------


@pytest.fixture
def interpreter_calls(monkeypatch):
    """Records the delegates given to LiteRT's interpreter, which then runs on the CPU."""
    calls = []
    real_interpreter = ai_edge_litert.interpreter.Interpreter

    def recording_interpreter(**options):
        calls.append(options)
        return real_interpreter(**{**options, "experimental_delegates": None})

    def fake_load_delegate(library):
        if "broken" in library:
            raise ValueError(f"Failed to load delegate from {library}\nundefined symbol: TfLiteGpuDelegateV2Create")
        return ("loaded", library)

    monkeypatch.setattr(ai_edge_litert.interpreter, "Interpreter", recording_interpreter)
    monkeypatch.setattr(ai_edge_litert.interpreter, "load_delegate", fake_load_delegate)
    return calls


def test_delegates_are_passed_to_the_interpreter(tflite_path, interpreter_calls):
    preloaded = object()
    model = LiteRTModel(tflite_path, num_threads=1, delegates=["libedgetpu.so.1", preloaded])
    assert interpreter_calls[-1]["experimental_delegates"] == [("loaded", "libedgetpu.so.1"), preloaded]
    assert interpreter_calls[-1]["num_threads"] == 1
    assert model.predict(np.zeros((SIDE, SIDE, 3), np.uint8)).scores.shape == (1, 8)
    LiteRTModel(tflite_path)
    assert interpreter_calls[-1]["experimental_delegates"] is None


def test_cli_delegate_option(tflite_path, split, interpreter_calls, tmp_path, capsys):
    image = split.test[0].image_path
    arguments = ["predict", "--tflite", tflite_path, image, "--out", str(tmp_path / "out")]
    assert main(arguments + ["--delegate", "libedgetpu.so.1", "--delegate", "libgpu_delegate.so"]) == 0
    assert interpreter_calls[-1]["experimental_delegates"] == [
        ("loaded", "libedgetpu.so.1"), ("loaded", "libgpu_delegate.so")
    ]
    capsys.readouterr()

    assert main(arguments + ["--delegate", "libbroken_delegate.so"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("mtfcdd predict: error: libbroken_delegate.so: LiteRT cannot load this delegate")
    assert "undefined symbol" in error and "\n" not in error

    missing = str(tmp_path / "missing" / "libdelegate.so")
    assert main(arguments + ["--delegate", missing]) == 1
    assert f"{missing}: LiteRT delegate library not found." in capsys.readouterr().err

    model_path = str(tmp_path / "model.keras")
    assert main(["predict", model_path, image, "--out", str(tmp_path), "--delegate", "libedgetpu.so.1"]) == 1
    assert "--delegate applies to a LiteRT model" in capsys.readouterr().err


# --- Image discovery: int8 calibration sees images only ----------------------------


def test_find_images_on_a_realiad_folder_leaves_out_masks(tiny_dataset, split):
    folder = os.path.join(tiny_dataset, "realiad_128")
    found = find_images(folder)
    every_jpeg = sorted(
        os.path.join(directory, name)
        for directory, _, names in os.walk(folder) for name in names if name.endswith(".jpg")
    )
    masks = {sample.mask_path for sample in split.train + split.test if sample.mask_path}
    assert masks and all(os.path.isfile(mask) for mask in masks)
    assert found == every_jpeg
    assert not masks & set(found)
    assert {sample.image_path for sample in split.train + split.test} <= set(found)


def test_export_calibrates_on_the_images_find_images_finds(tiny_dataset, tmp_path, monkeypatch):
    import mtfcdd.deploy.export
    import mtfcdd.model.saving

    calls = []

    def fake_export(model, path, **options):
        calls.append((model, path, options))
        open(path, "wb").close()  # export reports the file's size

    monkeypatch.setattr(mtfcdd.model.saving, "load_trained_model", lambda path: "the model")
    monkeypatch.setattr(mtfcdd.deploy.export, "export_tflite", fake_export)
    folder = os.path.join(tiny_dataset, "realiad_128")
    assert main(["export", "model.keras", "--quantize", "int8", "--out", str(tmp_path / "m.tflite"),
                 "--calibration-images", folder, "--num-calibration", "20"]) == 0
    (model, path, options), = calls
    assert options["representative_images"] == find_images(folder)
    assert not any(image.endswith(".png") for image in options["representative_images"])
    assert (options["quantize"], options["num_calibration_images"]) == ("int8", 20)
