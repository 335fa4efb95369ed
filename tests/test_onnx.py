"""ONNX and OpenVINO: `mtfcdd export --format onnx|openvino` (float32 and int8), their
runners, and the verbs without Keras.

Each test runs on every converted file it applies to (``CONVERSIONS``); the int8 files are
checked as LiteRT's int8 file is (tests/test_deploy.py): correlation with Keras' maps and
scores, not equality."""

import json
import os
import runpy
import subprocess
import sys

import numpy as np
import pytest
from conftest import blocking_imports, unit_scale_model

import mtfcdd
from mtfcdd.cli import build_parser, main
from mtfcdd.cli.serve import build_server
from mtfcdd.deploy.benchmark import timing
from mtfcdd.deploy.benchmark.cpu_features import cpu_features, format_cpu_features
from mtfcdd.deploy.export import export_openvino
from mtfcdd.deploy.onnx_runner import OnnxModel, onnx_session
from mtfcdd.deploy.openvino_runner import OpenVinoModel
from mtfcdd.deploy.runner import LiteRTModel
from mtfcdd.deploy.sidecar import model_files, read_sidecar, sidecar_path
from mtfcdd.evaluation.model_evaluation import evaluate
from mtfcdd.inference.postprocessing import image_scores, pseudo_huber
from mtfcdd.utils.image_files import image_batch, read_rgb_image

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("onnx")]

SIDE = 75
BLOCKED_PACKAGES = ("keras", "tensorflow", "tf_keras", "jax")
NUM_CALIBRATION = 8
# format: (runner, file name, runtime's name)
FORMATS = {
    "onnx": (OnnxModel, "model.onnx", "ONNX Runtime"),
    "openvino": (OpenVinoModel, "model.xml", "OpenVINO"),
}
# (format, quantisation) of each converted file.
CONVERSIONS = [("onnx", "none"), ("onnx", "int8"), ("openvino", "none"), ("openvino", "int8")]


@pytest.fixture(scope="module")
def split(tiny_dataset):
    return mtfcdd.load_realiad(tiny_dataset, alpha=0.1)


@pytest.fixture(scope="module")
def images(split):
    return image_batch([read_rgb_image(sample.image_path) for sample in split.test[:8]], (SIDE, SIDE))


@pytest.fixture(scope="module")
def model(images):
    return unit_scale_model(images, SIDE)


@pytest.fixture(scope="module")
def keras_path(model, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("keras") / "model.keras")
    model.save(path)
    return path


@pytest.fixture(scope="module", params=CONVERSIONS, ids=lambda conversion: "-".join(conversion))
def conversion(request, keras_path, tiny_dataset, tmp_path_factory):
    """(format, quantisation, path): the model exported by `mtfcdd export` from its file.

    int8 calibrates on the tiny set's images, found in its folder as a user would give it.
    """
    file_format, quantize = request.param
    path = str(tmp_path_factory.mktemp(f"{file_format}_{quantize}") / "exported" / FORMATS[file_format][1])
    arguments = ["export", keras_path, "--format", file_format, "--quantize", quantize, "--out", path]
    if quantize == "int8":
        arguments += ["--calibration-images", str(tiny_dataset), "--num-calibration", str(NUM_CALIBRATION)]
    assert main(arguments) == 0
    return file_format, quantize, path


def _close_to_keras(heatmaps, keras_heatmaps, quantize):
    """Float32 files equal Keras to float rounding; int8 ones track it (as LiteRT's int8 does)."""
    if quantize == "none":
        return np.abs(heatmaps - keras_heatmaps).max() <= 1e-4
    return (
        np.corrcoef(heatmaps.ravel(), keras_heatmaps.ravel())[0, 1] >= 0.95
        and np.corrcoef(image_scores(heatmaps).ravel(), image_scores(keras_heatmaps).ravel())[0, 1] >= 0.95
    )


def test_converted_file_matches_keras_on_batches_of_one_and_eight(conversion, model, images):
    file_format, quantize, path = conversion
    runner = FORMATS[file_format][0](path)
    keras_heatmaps = np.asarray(model.predict_on_batch(images.astype(np.float32)))
    assert keras_heatmaps.std() > 0.1  # maps of ~0 would agree whatever the file
    eight = runner.heatmaps(images)
    one = runner.heatmaps(images[:1])
    assert eight.shape == keras_heatmaps.shape == (8, 7, 7, 8)
    assert _close_to_keras(eight, keras_heatmaps, quantize)
    np.testing.assert_allclose(one, eight[:1], atol=1e-5)
    # The file outputs phi_k; Eq. 1 runs in NumPy.
    projection = runner._type_projection(images)
    assert projection.min() < 0
    np.testing.assert_allclose(pseudo_huber(projection), eight, rtol=0, atol=0)
    prediction = runner.predict(images)
    assert prediction.detected_types == [
        tuple(code for code, score in zip(runner.type_codes, row) if score >= 1.0)
        for row in prediction.scores
    ]
    # float32 weights take 4 bytes a parameter, int8 ones 1 (and a scale per channel).
    file_size = sum(os.path.getsize(file) for file in model_files(path))
    weights_size = 4 * model.count_params()
    assert 0.95 * weights_size < file_size < 1.05 * weights_size if quantize == "none" else file_size < 0.3 * weights_size
def test_sidecar_and_files(conversion, model):
    file_format, quantize, path = conversion
    runner_class, file_name, runtime = FORMATS[file_format]
    expected_files = sorted([os.path.basename(file) for file in model_files(path)] + [file_name + ".json"])
    assert sorted(os.listdir(os.path.dirname(path))) == expected_files
    assert read_sidecar(path) == {
        "schema_version": 3,
        "mtfcdd_version": mtfcdd.__version__,
        "output": "type_projection",
        "type_codes": list(mtfcdd.DEFECT_CODES),
        "image_size": [SIDE, SIDE],
        "score_reduction": "mean",
        "thresholds": [1.0] * 8,
        "threshold_source": None,
        "weights_source": "None",
        "preprocessor": {"image_size": [SIDE, SIDE], "decoder": "opencv", "resize": "area_bilinear"},
        "open_set": None,
        "format": file_format,
        "quantization": quantize,
        "num_calibration_images": NUM_CALIBRATION if quantize == "int8" else None,
    }
    runner = runner_class(path)
    assert (runner.runtime, runner.quantization, runner.image_size) == (runtime, quantize, (SIDE, SIDE))
    # Each runner refuses the others' files, naming the format.
    with pytest.raises(ValueError, match=f"{file_format} file; LiteRTModel .--tflite. runs tflite files"):
        LiteRTModel(path)
    other_class = OpenVinoModel if file_format == "onnx" else OnnxModel
    with pytest.raises(ValueError, match=f"{file_format} file; {other_class.__name__}"):
        other_class(path)


@pytest.mark.parametrize("file_format", FORMATS)
def test_export_refuses_litert_only_quantisations(file_format, tmp_path, capsys):
    model_path = tmp_path / "model.keras"
    model_path.write_bytes(b"not read")
    out = str(tmp_path / FORMATS[file_format][1])
    arguments = ["export", str(model_path), "--format", file_format, "--quantize", "float16", "--out", out]
    assert main(arguments) == 1
    assert f"--format {file_format} offers --quantize none or int8; got float16" in capsys.readouterr().err
    arguments = ["export", str(model_path), "--format", file_format, "--calibration-images", str(tmp_path),
                 "--out", out]
    assert main(arguments) == 1
    assert "--calibration-images applies to --quantize int8 only" in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["model.keras"]


def test_openvino_export_wants_an_xml_file(tmp_path, capsys):
    model_path = tmp_path / "model.keras"
    model_path.write_bytes(b"not read")
    assert main(["export", str(model_path), "--format", "openvino", "--out", str(tmp_path / "model.bin")]) == 1
    assert "an OpenVINO model is an .xml file" in capsys.readouterr().err


def test_sidecar_must_not_claim_a_litert_quantisation(conversion, tmp_path):
    file_format, _, path = conversion
    copies = [str(tmp_path / os.path.basename(file)) for file in model_files(path)]
    for source, target in zip(model_files(path), copies):
        with open(source, "rb") as source_file, open(target, "wb") as target_file:
            target_file.write(source_file.read())
    with open(sidecar_path(copies[0]), "w") as file:
        json.dump({**read_sidecar(path), "quantization": "float16"}, file)
    with pytest.raises(ValueError, match=f"'quantization' is 'float16'.*for a {file_format} file"):
        FORMATS[file_format][0](copies[0])


def test_openvino_weights_belong_to_the_sidecar(model, tmp_path):
    """The .bin holds the weights: its fingerprint covers it, and a missing one is named."""
    path = str(tmp_path / "model.xml")
    export_openvino(model, path)
    xml_file, bin_file = model_files(path)
    weights = bytearray(open(bin_file, "rb").read())
    weights[len(weights) // 2] ^= 0xFF
    with open(bin_file, "wb") as file:
        file.write(weights)
    with pytest.raises(ValueError, match="do not belong together"):
        OpenVinoModel(path)
    os.remove(bin_file)
    with pytest.raises(FileNotFoundError, match=f"{bin_file}: model file not found"):
        OpenVinoModel(path)


def test_evaluate_and_predict_without_keras(conversion, model, split, tiny_dataset, tmp_path):
    """The verbs through the CLI entry point, Keras, TensorFlow and JAX blocked."""
    file_format, quantize, path = conversion
    output_dir = str(tmp_path / "panels")
    paths = [sample.image_path for sample in split.test[:3]]
    script = blocking_imports(BLOCKED_PACKAGES) + f"""
import contextlib, io, json
from mtfcdd.cli import main

evaluation = io.StringIO()
with contextlib.redirect_stdout(evaluation):
    status = main(["evaluate", "--{file_format}", {path!r}, "--data", {str(tiny_dataset)!r}, "--alpha", "0.1",
                   "--json"])
assert status == 0
with contextlib.redirect_stdout(io.StringIO()):
    assert main(["predict", "--{file_format}", {path!r}, *{paths!r}, "--out", {output_dir!r}]) == 0
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
        FORMATS[file_format][2], path, quantize
    )
    assert settings["decision_thresholds"] == "the sidecar's (how they were fitted is not recorded)"
    with open(os.path.join(output_dir, "predictions.json")) as file:
        predicted = np.array([list(answer["scores"].values()) for answer in json.load(file)["images"]])
    keras_predictions = mtfcdd.predict(model, paths).predictions
    keras_scores = np.array([list(answer.scores.values()) for answer in keras_predictions])
    if quantize == "int8":
        assert np.corrcoef(predicted.ravel(), keras_scores.ravel())[0, 1] >= 0.95
        return
    np.testing.assert_allclose(predicted, keras_scores, atol=1e-4)
    # The Keras model on the same images, read the same way: the same tables.
    expected = evaluate(model, split.test, verbose=0)
    for code, metrics in expected["metrics"].items():
        for name, value in metrics.items():
            assert result["evaluation"]["metrics"][code][name] == pytest.approx(value, abs=1e-3), (code, name)


def test_serve_converted_file(conversion, split):
    file_format, quantize, path = conversion
    runner_class, file_name, runtime = FORMATS[file_format]
    arguments = build_parser().parse_args(["serve", f"--{file_format}", path, "--port", "0"])
    http_server, model, facts = build_server(arguments)
    http_server.server_close()
    assert facts == {
        "file": file_name, "file_size_bytes": sum(os.path.getsize(file) for file in model_files(path)),
        "runtime": runtime, "quantization": quantize,
    }
    client = http_server.app.test_client()
    with open(split.test[0].image_path, "rb") as file:
        answer = client.post("/predict", data=file.read(), content_type="image/jpeg").json
    expected = mtfcdd.predict(runner_class(path), [split.test[0].image_path]).predictions[0]
    assert answer["scores"] == expected.scores
    assert model.runtime == runtime


@pytest.mark.parametrize("as_image", [False, True], ids=["matmul", "1x1 convolution"])
def test_product_file_multiplies_its_input_by_its_weights(as_image, tmp_path):
    """The runtimes' products (``timing._product_onnx_file``): a MatMul, or for the int8
    products the same matrix product as a 1x1 convolution over the rows laid out as pixels."""
    inputs, weights = timing._product_operands(64, as_image=as_image)
    # A runtime copies an input that is not contiguous on every run, inside the timing.
    assert inputs.flags["C_CONTIGUOUS"]
    matrix_inputs, matrix_weights = timing._product_operands(64)
    session = onnx_session(timing._product_onnx_file(inputs, weights, str(tmp_path), "none"))
    product = session.run(None, {"inputs": inputs})[0]
    expected = matrix_inputs.astype(np.float64) @ matrix_weights
    if as_image:
        # (1, outputs, 2, 32) -> one row per pixel, as the matrix product has them.
        product = product.reshape(64, 64).T
    np.testing.assert_allclose(product, expected, atol=1e-4)


def test_image_product_size_must_fill_its_rows():
    with pytest.raises(ValueError, match="divisible by 32; got 80"):
        timing._product_operands(80, as_image=True)


def test_runtime_comparison_script(keras_path, model, split, tiny_dataset, tmp_path, capsys):
    """experiments/runtime_comparison.py: every runtime's row, the float32 files scoring as Keras."""
    script = runpy.run_path(os.path.join(REPOSITORY, "experiments", "runtime_comparison.py"))
    json_path = str(tmp_path / "comparison.json")
    rows = script["main"]([
        keras_path, "--data", str(tiny_dataset), "--alpha", "0.1", "--out", str(tmp_path / "files"),
        "--num-calibration", "4", "--repeats", "1", "--json", json_path,
    ])
    files = [
        f"{runtime} {precision}" for runtime in ("LiteRT", "ONNX Runtime", "OpenVINO") for precision in ("float32", "int8")
    ]
    assert list(rows) == ["Keras float32", "Keras bfloat16", *files, "OpenVINO bfloat16"]
    keras_mean = evaluate(model, split.test, verbose=0)["metrics"]["Mean"]
    with open(json_path) as file:
        written = json.load(file)
    peaks, products = written["matmul_gflops_by_format"], written["matmul_gflops_by_product"]
    # Every runtime's own product in each format it runs in; a format's peak is the best of them.
    assert sorted(products) == sorted(["TensorFlow float32", *files] + (
        ["TensorFlow bfloat16"] if not isinstance(peaks["bfloat16"], str) else []))
    for number_format in ("float32", "int8"):
        assert peaks[number_format] == max(value for name, value in products.items() if name.endswith(number_format))
    for name, row in rows.items():
        assert row["ms_per_image_batch_1"] > 0 and row["ms_per_image_batch_8"] > 0
        # Against the peak of the row's own format, or why there is none.
        peak = peaks[name.split()[-1]]
        for batch_size in (1, 8):
            value = row[f"efficiency_batch_{batch_size}"]
            if isinstance(peak, str):
                assert value == peak, name
            else:
                assert value == pytest.approx(
                    written["gflops_per_image"] / (row[f"ms_per_image_batch_{batch_size}"] / 1e3) / peak
                ), name
        if name == "Keras bfloat16":
            # bfloat16's rounding moves a few scores (BFLOAT16_SCORE_RTOL, tests/test_precision.py).
            assert row["mean_i_auroc"] == pytest.approx(keras_mean["I-AUROC"], abs=0.05)
            assert row["file_mb"] == rows["Keras float32"]["file_mb"]
        elif name == "OpenVINO bfloat16":
            # The float32 file, computed in bfloat16 where the CPU has bfloat16 dot products, else in float32.
            assert row["file_mb"] == rows["OpenVINO float32"]["file_mb"]
            assert row["inference_precision"] == ("bf16" if isinstance(peaks["bfloat16"], float) else "f32")
            assert row["mean_i_auroc"] == pytest.approx(keras_mean["I-AUROC"], abs=0.05)
        elif name.endswith("float32"):
            assert row["mean_i_auroc"] == pytest.approx(keras_mean["I-AUROC"], abs=1e-3), name
            assert row["mean_p_auroc"] == pytest.approx(keras_mean["P-AUROC"], abs=1e-3), name
            assert row["file_mb"] == pytest.approx(4 * model.count_params() / 1e6, rel=0.05), name
        else:
            assert row["file_mb"] < 0.3 * 4 * model.count_params() / 1e6, name
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == format_cpu_features(cpu_features())
    assert len([line for line in printed if line.startswith("| ")]) == 1 + len(rows)
    assert (written["cpu_features"], written["rows"]) == (cpu_features(), rows)
    assert {name for name, row in rows.items() if "inference_precision" in row} == {
        name for name in rows if name.startswith("OpenVINO")}
