"""Deployment (paper 5.3): LiteRT conversion, the runner without Keras, Eq. 2 in NumPy."""

import json
import os
import subprocess
import sys
import time

import cv2
import keras
import numpy as np
import pytest
from conftest import blocking_imports

import mtfcdd
from mtfcdd.cli import main
from mtfcdd.constants import DEFECT_CODES
from mtfcdd.data.synthetic.render import render_sample
from mtfcdd.deploy import export
from mtfcdd.deploy.benchmark.cpu_features import cpu_features, format_cpu_features
from mtfcdd.deploy.benchmark.flops import count_flops
from mtfcdd.deploy.benchmark.timing import efficiency, format_peaks, format_references, interleaved_timings
from mtfcdd.deploy.benchmark.footprint import measure_footprint
from mtfcdd.deploy.runner import LiteRTModel
from mtfcdd.deploy.sidecar import read_sidecar, sidecar_path
from mtfcdd.inference.postprocessing import (
    SCORE_REDUCTIONS,
    image_scores,
    pseudo_huber,
    types_over_threshold,
)
from mtfcdd.evaluation.model_evaluation import evaluate
from mtfcdd.model import anomaly_map
from mtfcdd.model.network import MultiTypeFCDD
from mtfcdd.model.pseudo_huber import PseudoHuber

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("deploy")]

IMAGE_SIZE = 96
# (object, defect code) of the synthetic samples; 5 camera views each.
SAMPLES = (
    ("pcb", None), ("audiojack", None), ("pcb", "PS"),
    ("audiojack", "HS"), ("pcb", "ZW"), ("audiojack", None),
)
CALIBRATION_IMAGES = 20  # the first views; the other 10 are test images
NUM_CALIBRATION = 10
QUANTIZATIONS = ("none", "float16", "int8")
BLOCKED_PACKAGES = ("keras", "tensorflow", "tf_keras", "jax")
# The files docs/deployment.md says to copy to a board, as modules.
BOARD_MODULES = sorted([
    "mtfcdd", "mtfcdd.constants", "mtfcdd.data", "mtfcdd.data.preprocessor", "mtfcdd.deploy", "mtfcdd.deploy.converted_model", "mtfcdd.deploy.runner",
    "mtfcdd.deploy.sidecar", "mtfcdd.inference", "mtfcdd.inference.open_set", "mtfcdd.inference.postprocessing",
    "mtfcdd.inference.postprocessor",
    "mtfcdd.utils", "mtfcdd.utils.atomic_files", "mtfcdd.utils.image_bytes", "mtfcdd.utils.image_files",
    "mtfcdd.utils.image_size", "mtfcdd.utils.optional_packages", "mtfcdd.utils.standard_error",
])


@pytest.fixture(scope="module")
def images():
    return np.stack([
        view.image
        for number, (name, code) in enumerate(SAMPLES, start=1)
        for view in render_sample(name, code, IMAGE_SIZE, seed=0, sample_number=number)
    ])


@pytest.fixture(scope="module")
def test_images(images):
    return images[CALIBRATION_IMAGES:]


@pytest.fixture(scope="module")
def model(images, test_images):
    model = mtfcdd.build_model(8, IMAGE_SIZE, backbone_weights=None)
    _normalize_head(model, images[:CALIBRATION_IMAGES].astype(np.float32))
    scores = np.sort(_keras_scores(model, test_images), axis=0)
    # Midway between the 5th and 6th score of each type: half of the test
    # images detected per type, and no score near a threshold.
    model.thresholds = tuple(float(value) for value in (scores[4] + scores[5]) / 2)
    model.threshold_source = "midway between the 5th and 6th test scores"
    return model


@pytest.fixture(scope="module")
def keras_heatmaps(model, test_images):
    heatmaps = np.asarray(model.predict_on_batch(test_images.astype(np.float32)))
    # Guards the comparisons below against a model whose maps are ~0.
    assert heatmaps.std() > 0.1
    return heatmaps


@pytest.fixture(scope="module")
def converted(model, images, tmp_path_factory):
    folder = tmp_path_factory.mktemp("converted")
    calibration_paths = []
    for index, image in enumerate(images[:CALIBRATION_IMAGES]):
        path = str(folder / f"calibration_{index:02d}.png")
        cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        calibration_paths.append(path)
    model_folder = folder / "models"
    paths = {quantize: str(model_folder / f"{quantize}.tflite") for quantize in QUANTIZATIONS}
    export.export_tflite_variants(
        model, paths, representative_images=calibration_paths,
        num_calibration_images=NUM_CALIBRATION,
    )
    return paths


def _normalize_head(model, images):
    """Sets the head's batch-norm statistics to those of ``images``.

    An untrained head with random backbone features gives heatmaps of ~1e-4;
    with unit-variance features the maps are O(1) and vary between images,
    so that quantisation errors show.
    """
    for index in (1, 2):
        features = keras.Model(model.input, model.get_layer(f"head_conv{index}").output)
        values = np.asarray(features.predict_on_batch(images))
        batch_norm = model.get_layer(f"head_bn{index}")
        batch_norm.moving_mean.assign(values.mean(axis=(0, 1, 2)))
        batch_norm.moving_variance.assign(values.var(axis=(0, 1, 2)))


def _keras_scores(model, images):
    return np.asarray(
        anomaly_map.anomaly_scores(model.predict_on_batch(images.astype(np.float32)))
    )


def _pearson(first, second):
    return np.corrcoef(np.ravel(first), np.ravel(second))[0, 1]


# --- Conversion accuracy -------------------------------------------------------


def test_float32_file_matches_keras(converted, test_images, keras_heatmaps):
    runner = LiteRTModel(converted["none"])
    heatmaps = runner.heatmaps(test_images)
    assert heatmaps.shape == keras_heatmaps.shape == (10, 9, 9, 8)
    assert np.abs(heatmaps - keras_heatmaps).max() <= 1e-4


def test_float16_file_close_to_keras(converted, test_images, keras_heatmaps):
    heatmaps = LiteRTModel(converted["float16"]).heatmaps(test_images)
    assert np.abs(heatmaps - keras_heatmaps).max() <= 1e-2
    assert os.path.getsize(converted["float16"]) < 0.55 * os.path.getsize(converted["none"])


def test_int8_file_reads_uint8_pixels_and_tracks_float(converted, test_images, keras_heatmaps):
    runner = LiteRTModel(converted["int8"])
    input_details = runner.interpreter.get_input_details()[0]
    output_details = runner.interpreter.get_output_details()[0]
    assert input_details["dtype"] == np.uint8
    assert input_details["quantization"] == (1.0, 0)
    assert output_details["dtype"] == np.float32
    heatmaps = runner.heatmaps(test_images)
    assert _pearson(heatmaps, keras_heatmaps) >= 0.95
    assert _pearson(image_scores(heatmaps), image_scores(keras_heatmaps)) >= 0.95
    assert os.path.getsize(converted["int8"]) < 0.3 * os.path.getsize(converted["none"])
    # A float image goes through the same uint8 quantisation.
    np.testing.assert_array_equal(
        runner.heatmaps(test_images[:2].astype(np.float32)), heatmaps[:2]
    )


def test_converted_files_end_at_the_type_projection(converted, model, test_images):
    """Eq. 1 runs in the runner: the files output phi_k, which can be negative."""
    projection = np.asarray(
        export.type_projection_model(model).predict_on_batch(test_images.astype(np.float32))
    )
    assert projection.min() < 0
    for quantize, bound in (("none", 1e-4), ("int8", None)):
        runner = LiteRTModel(converted[quantize])
        runner.interpreter.set_tensor(runner.interpreter.get_input_details()[0]["index"],
                                      test_images[:1].astype(runner.interpreter.get_input_details()[0]["dtype"]))
        runner.interpreter.invoke()
        raw = runner.interpreter.get_tensor(runner.interpreter.get_output_details()[0]["index"])
        assert raw.min() < 0
        if bound is not None:
            assert np.abs(raw - projection[:1]).max() <= bound


def test_numpy_pseudo_huber_matches_eq1_and_the_keras_layer():
    projection = np.array([-1e3, -30.0, -1.0, -1e-2, -1e-4, 0.0, 1e-4, 1e-2, 0.5, 1.0, 30.0, 1e3])
    exact = np.sqrt(projection.astype(np.float64) ** 2 + 1.0) - 1.0  # Eq. 1 in float64
    np.testing.assert_allclose(pseudo_huber(projection), exact, rtol=1e-6, atol=0)
    keras_values = np.asarray(PseudoHuber()(projection.astype(np.float32)))
    np.testing.assert_allclose(pseudo_huber(projection), keras_values, rtol=1e-6, atol=0)


# --- Sidecar and files --------------------------------------------------------


def test_sidecar_round_trip(converted, model):
    for quantize, path in converted.items():
        assert read_sidecar(path) == {
            "schema_version": 3,
            "mtfcdd_version": mtfcdd.__version__,
            "format": "tflite",
            "output": "type_projection",
            "type_codes": list(DEFECT_CODES),
            "image_size": [IMAGE_SIZE, IMAGE_SIZE],
            "score_reduction": "mean",
            "thresholds": list(model.thresholds),
            "threshold_source": model.threshold_source,
            "quantization": quantize,
            "num_calibration_images": NUM_CALIBRATION if quantize == "int8" else None,
            "weights_source": "None",
            "preprocessor": {
                "image_size": [IMAGE_SIZE, IMAGE_SIZE], "decoder": "opencv", "resize": "area_bilinear",
            },
            "open_set": None,
        }
    runner = LiteRTModel(converted["none"])
    assert runner.type_codes == DEFECT_CODES
    assert runner.image_size == (IMAGE_SIZE, IMAGE_SIZE)
    assert runner.preprocessor == model.preprocessor


@pytest.mark.parametrize(
    "field, value",
    [
        ("thresholds", [0.5] * 7),
        ("quantization", "int4"),
        ("image_size", [96]),
        ("score_reduction", "median"),
        ("type_codes", []),
        ("output", "heatmaps"),
        ("format", "pytorch"),
        ("threshold_source", 0.1),
        ("open_set", {"method": "sum", "threshold": 1.0, "parameters": {}}),
        ("open_set", {"method": "max_ratio", "threshold": None, "parameters": {}}),
        ("preprocessor", {"image_size": [IMAGE_SIZE, IMAGE_SIZE], "decoder": "pillow", "resize": "area_bilinear"}),
        ("preprocessor", {"image_size": [64, 64], "decoder": "opencv", "resize": "area_bilinear"}),
        ("preprocessor", None),
    ],
)
def test_bad_sidecar_field_is_named(converted, tmp_path, field, value):
    model_path = _copy_with_sidecar(converted["none"], tmp_path, **{field: value})
    with pytest.raises(ValueError, match=field):
        LiteRTModel(model_path)


def test_sidecar_missing_field_version_and_file(converted, tmp_path):
    model_path = _copy_with_sidecar(converted["none"], tmp_path)
    metadata = read_sidecar(model_path)
    del metadata["weights_source"]
    with open(sidecar_path(model_path), "w") as file:
        json.dump(metadata, file)
    with pytest.raises(ValueError, match="weights_source.*missing"):
        LiteRTModel(model_path)
    _copy_with_sidecar(converted["none"], tmp_path, schema_version=1)
    with pytest.raises(ValueError, match="schema_version"):
        LiteRTModel(model_path)
    os.remove(sidecar_path(model_path))
    with pytest.raises(FileNotFoundError, match=f"{model_path}.json"):
        LiteRTModel(model_path)
    with pytest.raises(FileNotFoundError, match="absent.tflite"):
        LiteRTModel(str(tmp_path / "absent.tflite"))


def test_sidecar_of_mtfcdd_0_1_is_read(converted, tmp_path):
    """Schema 2 named the input size ``input_size`` and had no ``format``,
    ``preprocessor`` nor ``open_set``; it reads as today's schema, with the
    default preprocessor and no open-set rule."""
    current = read_sidecar(converted["none"])
    old = {
        key: value for key, value in current.items()
        if key not in ("image_size", "format", "preprocessor", "open_set")
    }
    model_path = _copy_with_sidecar(converted["none"], tmp_path)
    with open(sidecar_path(model_path), "w") as file:
        json.dump({**old, "schema_version": 2, "input_size": current["image_size"]}, file)
    assert read_sidecar(model_path) == {
        key: value for key, value in current.items() if key not in ("preprocessor", "open_set")
    }
    runner = LiteRTModel(model_path)
    assert runner.open_set is None
    assert runner.image_size == (IMAGE_SIZE, IMAGE_SIZE)
    assert runner.preprocessor.get_config() == current["preprocessor"]


def test_sidecar_that_belongs_to_another_model(converted, tmp_path):
    other_size = {"image_size": [128, 128], "decoder": "opencv", "resize": "area_bilinear"}
    model_path = _copy_with_sidecar(converted["none"], tmp_path, image_size=[128, 128], preprocessor=other_size)
    with pytest.raises(ValueError, match="do not belong together"):
        LiteRTModel(model_path)
    model_path = _copy_with_sidecar(
        converted["none"], tmp_path, type_codes=["ANY"], thresholds=None
    )
    with pytest.raises(ValueError, match="do not belong together"):
        LiteRTModel(model_path)


def _copy_with_sidecar(model_path, folder, **changes):
    copy_path = str(folder / "copy.tflite")
    with open(model_path, "rb") as source, open(copy_path, "wb") as target:
        target.write(source.read())
    metadata = {**read_sidecar(model_path), **changes}
    with open(sidecar_path(copy_path), "w") as file:
        json.dump(metadata, file)
    return copy_path


def test_export_leaves_only_whole_files(converted, model, tmp_path, monkeypatch):
    folder = os.path.dirname(converted["none"])
    assert sorted(os.listdir(folder)) == sorted(
        name
        for quantize in QUANTIZATIONS
        for name in (f"{quantize}.tflite", f"{quantize}.tflite.json")
    )

    # A conversion whose output cannot be written: the earlier files stay whole.
    class UnwritableConverter:
        def convert(self):
            return None  # file.write(None) raises TypeError

    output_path = tmp_path / "model.tflite"
    output_path.write_bytes(b"earlier model")
    monkeypatch.setattr(MultiTypeFCDD, "export", lambda *arguments, **options: None)
    monkeypatch.setattr(export, "_converter", lambda *arguments: UnwritableConverter())
    with pytest.raises(TypeError):
        export.export_tflite(model, str(output_path))
    assert os.listdir(tmp_path) == ["model.tflite"]
    assert output_path.read_bytes() == b"earlier model"


def test_export_rejects_bad_arguments(model, tmp_path):
    output_path = str(tmp_path / "model.tflite")
    with pytest.raises(ValueError, match="representative_images"):
        export.export_tflite(model, output_path, quantize="int8")
    with pytest.raises(ValueError, match="'int4'"):
        export.export_tflite(model, output_path, quantize="int4")
    with pytest.raises(ValueError, match="num_calibration_images"):
        export.export_tflite(
            model, output_path, quantize="int8",
            representative_images=np.zeros((2, 8, 8, 3), np.uint8), num_calibration_images=0,
        )
    with pytest.raises(FileNotFoundError, match="missing.png"):
        export.export_tflite(
            model, output_path, quantize="int8",
            representative_images=[str(tmp_path / "missing.png")],
        )
    with pytest.raises(ValueError, match="MultiTypeFCDD"):
        export.export_tflite(
            keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)]), output_path
        )
    assert os.listdir(tmp_path) == []


# --- Runner predictions -------------------------------------------------------


def test_runner_scores_and_detected_types(converted, model, test_images):
    runner = LiteRTModel(converted["none"])
    prediction = runner.predict(list(test_images))
    keras_scores = _keras_scores(model, test_images)
    np.testing.assert_allclose(prediction.scores, keras_scores, atol=1e-5)
    expected = [
        tuple(
            code
            for code, score, threshold in zip(DEFECT_CODES, row, model.thresholds)
            if score >= threshold
        )
        for row in keras_scores
    ]
    assert prediction.detected_types == expected
    assert sum(len(types) for types in expected) == 5 * len(DEFECT_CODES)


def test_predict_image_reads_rgb_and_resizes(converted, test_images, tmp_path):
    runner = LiteRTModel(converted["none"])
    image_path = str(tmp_path / "image.png")
    cv2.imwrite(image_path, cv2.cvtColor(test_images[0], cv2.COLOR_RGB2BGR))
    np.testing.assert_array_equal(
        runner.predict_image(image_path).heatmaps, runner.heatmaps(test_images[:1])
    )

    large = cv2.resize(test_images[0], (200, 150), interpolation=cv2.INTER_LINEAR)
    cv2.imwrite(image_path, cv2.cvtColor(large, cv2.COLOR_RGB2BGR))
    grid = runner.predict_image(image_path)
    full = runner.predict_image(image_path, full_resolution=True)
    assert grid.heatmaps.shape == (1, 9, 9, 8)
    assert full.heatmaps.shape == (1, 150, 200, 8)
    np.testing.assert_array_equal(full.scores, grid.scores)
    # A larger image is shrunk with area interpolation, as training images are.
    shrunk = cv2.resize(large, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(grid.heatmaps, runner.heatmaps(shrunk))
    with pytest.raises(FileNotFoundError, match="missing.png"):
        runner.predict_image(str(tmp_path / "missing.png"))


def test_runner_works_with_keras_and_tensorflow_blocked(converted, test_images, tmp_path):
    images_path = str(tmp_path / "images.npy")
    np.save(images_path, test_images)
    script = blocking_imports(BLOCKED_PACKAGES) + f"""
import json
import numpy as np
from mtfcdd.deploy.runner import LiteRTModel

prediction = LiteRTModel(sys.argv[1]).predict(np.load(sys.argv[2]))
print(json.dumps({{
    "scores": prediction.scores.tolist(),
    "detected_types": prediction.detected_types,
    "blocked_loaded": [name for name in sys.modules if name.split(".")[0] in {BLOCKED_PACKAGES!r}],
    "mtfcdd_modules": sorted(name for name in sys.modules if name.split(".")[0] == "mtfcdd"),
}}))
"""
    completed = subprocess.run(
        [sys.executable, "-c", script, converted["int8"], images_path],
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["blocked_loaded"] == []
    assert result["mtfcdd_modules"] == BOARD_MODULES
    expected = LiteRTModel(converted["int8"]).predict(test_images)
    np.testing.assert_allclose(result["scores"], expected.scores, rtol=1e-6)
    assert [tuple(types) for types in result["detected_types"]] == expected.detected_types


# --- Post-processing against keras.ops ----------------------------------------


def test_image_scores_match_keras_ops():
    heatmaps = np.random.default_rng(0).exponential(1.0, (3, 9, 7, 8)).astype(np.float32)
    for reduction in SCORE_REDUCTIONS:
        np.testing.assert_allclose(
            image_scores(heatmaps, reduction),
            np.asarray(anomaly_map.anomaly_scores(heatmaps, reduction)),
            rtol=1e-6,
        )
    with pytest.raises(ValueError, match="median"):
        image_scores(heatmaps, "median")
    with pytest.raises(ValueError, match="shape"):
        image_scores(heatmaps[0])


def test_types_over_threshold():
    scores = np.array([[0.2, 0.5], [0.5, 0.1], [0.6, 0.4]])
    detected = types_over_threshold(scores, [0.5, 0.3], ("AK", "BX"))
    assert detected == [("BX",), ("AK",), ("AK", "BX")]
    with pytest.raises(ValueError, match="thresholds is None"):
        types_over_threshold(scores, None, ("AK", "BX"))
    with pytest.raises(ValueError, match="thresholds must hold 2"):
        types_over_threshold(scores, [0.5], ("AK", "BX"))
    with pytest.raises(ValueError, match="scores must have shape"):
        types_over_threshold(scores, [0.5, 0.3, 0.1], ("AK", "BX", "CH"))


# --- Footprint ----------------------------------------------------------------


def test_count_flops_by_hand():
    inputs = keras.Input((8, 8, 3))
    inner = keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="same")(inputs))
    x = keras.layers.Conv2D(2, 1, strides=2, use_bias=False)(inner(inputs))
    outputs = keras.layers.Dense(5)(keras.layers.Flatten()(x))
    # Conv 3x3x3 -> 4 on 8x8: 2*27*256 + 256 bias; conv 1x1x4 -> 2 on 4x4:
    # 2*4*32; dense 32 -> 5: 2*32*5 + 5 bias.
    assert count_flops(keras.Model(inputs, outputs)) == 13824 + 256 + 256 + 320 + 5


def test_measure_footprint(model, converted):
    files = {"tflite_float32": converted["none"], "tflite_int8": converted["int8"]}
    result = measure_footprint(
        model, files, repeats=5, batch_sizes=(1, 2), warmup=1, precision="mixed_bfloat16"
    )
    assert result["params"] == model.count_params()
    assert result["gflops_per_image"] == count_flops(model) / 1e9
    # About the work of one image: 2 * 768^3 = 0.91 GFLOP, the multiple of
    # 256 nearest to the 1.09 GFLOP of a 96x96 image (1024 would be 2.1).
    assert result["matmul_size"] == 768
    # TensorFlow's profiler counts the convolutions of the frozen graph.
    assert result["gflops_per_image_tf_profiler"] == pytest.approx(
        result["gflops_per_image"], rel=0.01
    )
    assert result["size_mb"] == {name: os.path.getsize(path) / 1e6 for name, path in files.items()}
    assert result["number_formats"] == {
        "keras_cpu": "float32", "keras_bfloat16_cpu": "bfloat16",
        "tflite_float32": "float32", "tflite_int8": "int8",
    }
    assert set(result["ms_per_image"]) == set(result["number_formats"])
    assert set(result["cpu_features"]) == {
        "avx2", "fma", "avx512f", "avx_vnni", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8",
    }
    assert result["cpu_features"] == cpu_features()
    peaks = result["matmul_gflops_by_format"]
    assert peaks.keys() == {"float32", "bfloat16", "int8"}
    # The float32 peak is timed between the model's runs by each runtime;
    # int8 by LiteRT's int8 product on any CPU; bfloat16 only where the CPU
    # computes it (elsewhere it is emulated: no roofline, and the row says why).
    assert result["matmul_gflops"]["cpu"] == peaks["float32"] == max(
        result["matmul_gflops_by_runtime"][name] for name in ("tensorflow_cpu", "litert_cpu")
    )
    assert peaks["int8"] == result["matmul_gflops_by_runtime"]["litert_int8_cpu"]
    has_bfloat16 = result["cpu_features"]["avx512_bf16"] or result["cpu_features"]["amx_bf16"]
    if has_bfloat16:
        assert peaks["bfloat16"] == result["matmul_gflops_by_runtime"]["tensorflow_bfloat16_cpu"]
    else:
        assert peaks["bfloat16"].startswith("not available on this CPU (no avx512_bf16 or amx_bf16)")
        assert "tensorflow_bfloat16_cpu" not in result["matmul_gflops_by_runtime"]
    for runtime, by_size in result["ms_per_image"].items():
        assert set(by_size) == {"1", "2"}
        peak = peaks[result["number_formats"][runtime]]
        for size, milliseconds in by_size.items():
            assert milliseconds > 0
            if isinstance(peak, str):
                assert result["efficiency"][runtime][size] == peak
                continue
            model_gflops_per_second = result["gflops_per_image"] / (milliseconds / 1e3)
            assert result["efficiency"][runtime][size] == pytest.approx(model_gflops_per_second / peak)
            # Timed between the model's runs, on the same machine, the
            # peak of a row's format is one: no row beats it.
            assert result["efficiency"][runtime][size] <= 1.05, result
    json.dumps(result)


def test_cpu_features_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    # Two processors; the flags are those of the first (all cores of a CPU have the same).
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: Some Xeon\nflags\t\t: fpu avx2 fma avx512f avx512_vnni amx_int8\n\n"
        "processor\t: 1\nflags\t\t: fpu\n"
    )
    features = cpu_features(str(cpuinfo))
    assert [name for name, present in features.items() if present] == [
        "avx2", "fma", "avx512f", "avx512_vnni", "amx_int8",
    ]
    assert features["amx_bf16"] is False and features["avx512_bf16"] is False
    assert format_cpu_features(features).startswith("CPU features: avx2 yes, fma yes, avx512f yes, avx_vnni no, ")
    # Another system: no /proc/cpuinfo, nothing known.
    unknown = cpu_features(str(tmp_path / "absent"))
    assert set(unknown.values()) == {None}
    assert format_cpu_features(unknown) == "CPU features: unknown (no /proc/cpuinfo on this system)"


def test_format_references_say_which_formats_the_cpu_lacks():
    avx2_only = dict.fromkeys(cpu_features(os.devnull), False) | {"avx2": True, "fma": True}
    references, sources = format_references(avx2_only, {"bfloat16", "int8"}, 256)
    # int8 multiply-adds exist on every CPU (AVX2's here): its peak is timed.
    assert set(references) == {"litert_int8_cpu"}
    assert sources == {
        "bfloat16": "not available on this CPU (no avx512_bf16 or amx_bf16): emulated, no roofline",
        "int8": "litert_int8_cpu",
    }
    run, flops = references["litert_int8_cpu"]
    run()
    assert flops == 2 * 256**3
    assert format_peaks(100.0, sources, {"litert_int8_cpu": 150.0}) == {
        "float32": 100.0, "bfloat16": sources["bfloat16"], "int8": 150.0,
    }
    # With bfloat16 dot products the bfloat16 product is timed (TensorFlow runs it anywhere).
    sapphire_rapids = dict.fromkeys(avx2_only, True)
    references, sources = format_references(sapphire_rapids, {"bfloat16"}, 256)
    assert sources == {"bfloat16": "tensorflow_bfloat16_cpu"} and set(references) == set(sources.values())
    references["tensorflow_bfloat16_cpu"][0]()
    # A format no row ran in is "not measured".
    assert format_peaks(100.0, sources, {"tensorflow_bfloat16_cpu": 400.0}) == {
        "float32": 100.0, "bfloat16": 400.0, "int8": "not measured (no model ran in it)",
    }
    unknown = cpu_features(os.devnull)
    assert format_references(unknown, {"bfloat16"}, 256) == ({}, {"bfloat16": "unknown CPU features"})
    assert efficiency(2.0, 10.0, 400.0) == pytest.approx(2.0 / 0.01 / 400.0)
    assert efficiency(2.0, 10.0, "unknown CPU features") == "unknown CPU features"


def test_interleaved_timings_time_each_function_after_a_run_of_its_own():
    """A run that follows another runtime's shares the cores with its still-spinning threads:
    here it takes 40 ms longer. Only runs that follow a run of the same function are timed."""
    calls = []

    def function_named(name, seconds):
        def run():
            time.sleep(seconds + (0.04 if calls and calls[-1] != name else 0.0))
            calls.append(name)
        return run

    runs = {"model": (function_named("model", 0.004), 2, "product")}
    references = {"product": (function_named("product", 0.002), 2e9)}
    milliseconds, gflops = interleaved_timings(runs, references, repeats=3, warmup=1)
    # One warm-up run each, then per round two runs of the model and two of the product.
    assert calls == ["model", "product"] + ["model", "model", "product", "product"] * 3
    # 4 ms per run of 2 images: 2 ms per image; had the first run of each pair been timed,
    # (4 + 40) / 2 = 22 ms, and the product 21 ms, not 2.
    assert 2.0 <= milliseconds["model"] < 10.0
    assert 2e9 / (gflops["product"] * 1e9) < 0.01


# --- Command line -------------------------------------------------------------


def test_cli_export_errors(tmp_path, capsys):
    missing = str(tmp_path / "missing.keras")
    output = str(tmp_path / "model.tflite")
    assert main(["export", missing, "--quantize", "none", "--out", output]) == 1
    assert missing in capsys.readouterr().err

    present = tmp_path / "model.keras"
    present.write_bytes(b"not read")
    assert main(["export", str(present), "--quantize", "int8", "--out", output]) == 1
    assert "--calibration-images" in capsys.readouterr().err

    empty_folder = tmp_path / "no_images"
    empty_folder.mkdir()
    arguments = ["export", str(present), "--quantize", "int8", "--out", output,
                 "--calibration-images", str(empty_folder)]
    assert main(arguments) == 1
    assert str(empty_folder) in capsys.readouterr().err
    assert not os.path.exists(output)


def test_evaluate_converted_files_like_the_keras_model(model, converted, tiny_dataset):
    """One evaluator for every runtime: the float32 file's tables are the Keras model's."""
    samples = mtfcdd.load_realiad(tiny_dataset, alpha=0.1).test
    keras_result = evaluate(model, samples, verbose=0)
    assert keras_result["metrics"]["Mean"]["I-AUROC"] is not None
    result = evaluate(LiteRTModel(converted["none"]), samples, verbose=0)
    for code, metrics in keras_result["metrics"].items():
        for name, value in metrics.items():
            assert result["metrics"][code][name] == pytest.approx(value, abs=1e-3), (code, name)
    # The sidecar's thresholds decide, and the settings say so.
    assert result["settings"] == {
        **keras_result["settings"], "runtime": "LiteRT", "model_file": converted["none"], "quantization": "none",
        "decision_thresholds": f"the sidecar's ({model.threshold_source})",
    }
    assert keras_result["settings"]["decision_thresholds"] == model.threshold_source
    assert (keras_result["settings"]["runtime"], keras_result["settings"]["model_file"]) == ("Keras", None)
