"""Footprint of MultiTypeFCDD: size, cost and speed (paper 5.3, Table 6).

The paper reports 5.5 M parameters, 19.7 MB and 69.9 ms per image on a
6-core CPU (1.7 ms on a GPU). ``run_benchmark`` measures the same on this
machine, for Keras/TensorFlow (float32, and mixed bfloat16 on request) and for the LiteRT files of
``mtfcdd.deploy.export``, and relates the speed to what the machine can do:

- ``gflops_per_image``: counted from the layers
  (``mtfcdd.deploy.benchmark.flops``): 15.74 GFLOP for K = 8 at 299x299;
  TensorFlow's profiler gives a cross-check
  (``gflops_per_image_tf_profiler``).
- ``matmul_gflops``: per device, float32 GFLOP/s of a square matrix
  product, about the work of one image (2048x2048 at 299x299), run by each
  runtime the way it runs the model (same device and threads): TensorFlow
  after every Keras run, LiteRT after every LiteRT run, the best of all
  taken (``mtfcdd.deploy.benchmark.timing``): what the machine reaches on
  the most favourable dense kernel, at the moments the model ran. Each
  runtime's own best is ``matmul_gflops_by_runtime``.
- ``matmul_gflops_by_format``: the CPU's peak in each number format:
  float32 (``matmul_gflops``), bfloat16 (TensorFlow's bfloat16 product,
  where the CPU has AVX512-BF16 or AMX-BF16) and int8 (LiteRT's int8
  product), or why there is none.
- ``efficiency``: the model's GFLOP/s (``gflops_per_image`` /
  ``ms_per_image``) divided by the peak of the number format it computes
  in (``number_formats``: float32 against its device's ``matmul_gflops``,
  the int8 file against the int8 peak, the Keras model under
  ``precision="mixed_bfloat16"`` against the bfloat16 one); at most about
  1, or the reason its format has no peak on this CPU.
- ``size_mb``: file sizes in MB (10^6 bytes).
- ``ms_per_image``: median over ``repeats`` runs, after warm-up runs, of a
  batch's time divided by its size; keys are runtime, then batch size.

What a quantisation costs in accuracy is measured by evaluating the
converted file on a test split like the Keras model
(``mtfcdd evaluate --tflite FILE``), not here.
"""

import importlib.metadata
import os
import platform
import sys
import tempfile

import keras
import tensorflow as tf

from mtfcdd.constants import DEFAULT_IMAGE_SIZE
from mtfcdd.deploy.benchmark.cpu_features import cpu_features, format_cpu_features
from mtfcdd.deploy.benchmark.flops import count_flops, profiler_flops
from mtfcdd.deploy.benchmark.timing import (
    efficiency,
    efficiency_text,
    format_peaks,
    format_references,
    interleaved_timings,
    keras_run,
    litert_matmul_run,
    litert_run,
    matmul_run,
    matmul_size_for,
    set_tensorflow_threads,
    smooth_random_images,
)
from mtfcdd.deploy.export import export_tflite_variants
from mtfcdd.model.network import build_model
from mtfcdd.model.saving import load_trained_model
from mtfcdd.training.precision import model_in_precision

# File formats whose size is reported, and the quantisation each one is.
TFLITE_FORMATS = {
    "tflite_float32": "none",
    "tflite_float16": "float16",
    "tflite_int8": "int8",
}
# float16 files run as float32 once LiteRT has expanded their weights, so
# their speed is float32's.
TIMED_TFLITE_FORMATS = ("tflite_float32", "tflite_int8")
RANDOM_WEIGHTS_NOTE = (
    "random weights (build_model(8), backbone_weights=None): timings do not "
    "depend on the weights; the int8 file's accuracy does"
)
# Speed does not depend on what calibrated the int8 file.
CALIBRATION_IMAGES = 8


def run_benchmark(
    model_path=None,
    image_size=None,
    threads=None,
    repeats=10,
    batch_sizes=(1, 8),
    warmup=2,
    verbose=1,
    precision="float32",
):
    """Measures the footprint of a saved model, or of the default one.

    Args:
        model_path: a ``.keras`` file; None builds the default model
            (K = 8) with random weights.
        image_size: side of the square input of the default model (299 when
            None); with ``model_path``, must be None or the model's own.
        threads: CPU threads for TensorFlow (the model and the matmul
            peak) and LiteRT alike; None keeps TensorFlow's default and gives
            LiteRT every CPU. TensorFlow takes it only before it has run
            anything.
        repeats: timed runs per runtime and batch size.
        batch_sizes: the batch sizes to time.
        warmup: untimed runs before them.
        verbose: 1 prints what is being done (on standard error), 0
            nothing.
        precision: also time the Keras model under this mixed-precision
            policy (``measure_footprint``); ``"float32"`` times float32 alone.

    Returns:
        A dict, see ``measure_footprint``, plus ``model``: the file, or a
        note that the weights are random.
    """
    set_tensorflow_threads(threads)
    model, description = _benchmark_model(model_path, image_size)
    with tempfile.TemporaryDirectory() as work_dir:
        files = {"keras": model_path}
        if model_path is None:
            files["keras"] = os.path.join(work_dir, "model.keras")
            model.save(files["keras"])
        files.update({name: os.path.join(work_dir, f"{name}.tflite") for name in TFLITE_FORMATS})
        _say(verbose, "Converting to LiteRT: float32, float16, int8 ...")
        export_tflite_variants(
            model,
            {quantize: files[name] for name, quantize in TFLITE_FORMATS.items()},
            representative_images=smooth_random_images(CALIBRATION_IMAGES, model.image_size),
            num_calibration_images=CALIBRATION_IMAGES,
        )
        _say(verbose, "Timing, with the matmul peak between the runs ...")
        result = measure_footprint(
            model, files, threads=threads, repeats=repeats,
            batch_sizes=batch_sizes, warmup=warmup, precision=precision,
        )
    return {"model": description, **result}


def measure_footprint(
    model, files, threads=None, repeats=10, batch_sizes=(1, 8), warmup=2, matmul_size=None,
    precision="float32",
):
    """Parameters, FLOPs, file sizes, speed and efficiency of ``model``.

    Args:
        model: the Keras model the files were made from.
        files: a dict from format (``"keras"`` and keys of
            ``TFLITE_FORMATS``) to its file; the ``TIMED_TFLITE_FORMATS``
            among them are timed.
        threads, repeats, batch_sizes, warmup: see ``run_benchmark``;
            ``threads`` sets LiteRT's threads here (TensorFlow's are set
            before it starts, by ``run_benchmark``).
        matmul_size: side of the matrices of the reference product; by
            default about the FLOPs of one image (``matmul_size_for``).
        precision: ``"mixed_bfloat16"`` (or ``"mixed_float16"``) also
            times the Keras model under that policy on the CPU, as the row
            ``keras_bfloat16_cpu`` (``keras_float16_cpu``).

    Returns:
        A dict with ``params``, ``gflops_per_image``,
        ``gflops_per_image_tf_profiler``, ``size_mb`` (per format),
        ``ms_per_image`` and ``efficiency`` (per runtime, then batch size;
        an efficiency is against the peak of the runtime's number format,
        ``number_formats``, or says why that format has none),
        ``matmul_gflops`` (float32, per device), ``matmul_gflops_by_runtime``
        (every reference product), ``matmul_size``, ``image_size``,
        ``num_types``, ``threads``, ``repeats``, ``machine`` and
        ``cpu_features`` (``mtfcdd.deploy.benchmark.cpu_features``) and
        ``matmul_gflops_by_format`` (the CPU's, ``timing.format_peaks``).
    """
    gflops = count_flops(model) / 1e9
    matmul_size = matmul_size or matmul_size_for(gflops * 1e9)
    devices = ["cpu"] + (["gpu"] if tf.config.list_physical_devices("GPU") else [])
    references = {f"tensorflow_{device}": matmul_run(device, matmul_size) for device in devices}
    litert_threads = threads or os.cpu_count()
    # Runtime: (its number format, batch size -> its run, its float32 reference).
    rows = {
        f"keras_{device}": ("float32", lambda size, device=device: keras_run(model, size, device), f"tensorflow_{device}")
        for device in devices
    }
    if precision != "float32":
        mixed_model = model_in_precision(model, precision)
        number_format = precision.removeprefix("mixed_")
        rows[f"keras_{number_format}_cpu"] = (number_format, lambda size: keras_run(mixed_model, size), "tensorflow_cpu")
    timed_files = [name for name in TIMED_TFLITE_FORMATS if name in files]
    if timed_files:
        references["litert_cpu"] = litert_matmul_run(matmul_size, litert_threads)
    for name in timed_files:
        number_format = "float32" if TFLITE_FORMATS[name] == "none" else TFLITE_FORMATS[name]
        rows[name] = (
            number_format, lambda size, path=files[name]: litert_run(path, size, litert_threads), "litert_cpu"
        )
    features = cpu_features()
    format_runs, sources = format_references(
        features, {row[0] for row in rows.values()} - {"float32"}, matmul_size, litert_threads
    )
    references.update(format_runs)
    # A row with no peak of its own still runs beside a float32 product,
    # so that every round loads the machine alike.
    runs = {
        (runtime, size): (make_run(size), size, sources[number_format] if sources.get(number_format) in format_runs else float32_reference)
        for runtime, (number_format, make_run, float32_reference) in rows.items() for size in batch_sizes
    }
    milliseconds, matmul_by_runtime = interleaved_timings(runs, references, repeats, warmup)
    timings = {}
    for (runtime, size), value in milliseconds.items():
        timings.setdefault(runtime, {})[str(size)] = value
    matmul = {
        device: max(
            value for name, value in matmul_by_runtime.items()
            if name not in format_runs and _device_of(name) == device
        )
        for device in devices
    }
    peaks = format_peaks(matmul["cpu"], sources, matmul_by_runtime)
    number_formats = {runtime: row[0] for runtime, row in rows.items()}
    return {
        "image_size": list(model.image_size),
        "num_types": model.num_types,
        "params": model.count_params(),
        "gflops_per_image": gflops,
        "gflops_per_image_tf_profiler": profiler_flops(model) / 1e9,
        "size_mb": {name: os.path.getsize(path) / 1e6 for name, path in files.items()},
        "ms_per_image": timings,
        "matmul_gflops": matmul,
        "matmul_gflops_by_runtime": matmul_by_runtime,
        "matmul_size": matmul_size,
        "number_formats": number_formats,
        "efficiency": {
            runtime: {
                size: efficiency(
                    gflops, value,
                    matmul[_device_of(runtime)] if number_formats[runtime] == "float32"
                    else peaks[number_formats[runtime]],
                )
                for size, value in by_size.items()
            }
            for runtime, by_size in timings.items()
        },
        "precision": precision,
        "threads": threads,
        "repeats": repeats,
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "gpus": [gpu.name for gpu in tf.config.list_physical_devices("GPU")],
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "ai_edge_litert": importlib.metadata.version("ai-edge-litert"),
        },
        "cpu_features": features,
        "matmul_gflops_by_format": peaks,
    }


def format_footprint(result):
    """The result of ``run_benchmark`` as a few lines of text."""
    lines = [
        f"model: {result['model']}",
        f"input {result['image_size'][0]}x{result['image_size'][1]}, "
        f"K = {result['num_types']}, threads: {result['threads'] or 'default'}",
        format_cpu_features(result["cpu_features"]),
        "matmul peak per format (GFLOP/s): " + ", ".join(
            f"{name} {value:.1f}" if isinstance(value, float) else f"{name} {value}"
            for name, value in result["matmul_gflops_by_format"].items()
        ),
        f"parameters: {result['params']:,}",
        f"GFLOP per image: {result['gflops_per_image']:.2f} "
        f"(TensorFlow profiler: {result['gflops_per_image_tf_profiler']:.2f})",
        f"matmul GFLOP/s ({result['matmul_size']}x{result['matmul_size']} float32, best between the "
        "runs): " + ", ".join(
            f"{name} {value:.1f}" for name, value in result["matmul_gflops_by_runtime"].items()
        ),
        "size (MB): " + ", ".join(
            f"{name} {value:.2f}" for name, value in result["size_mb"].items()
        ),
        "ms per image (efficiency against the peak of its format; n/a: none, see above):",
    ]
    for runtime, by_size in result["ms_per_image"].items():
        lines.append(
            f"  {runtime:20s}" + "  ".join(
                f"batch {size}: {milliseconds:8.1f} ({efficiency_text(result['efficiency'][runtime][size])})"
                for size, milliseconds in by_size.items()
            )
        )
    return "\n".join(lines)


def _benchmark_model(model_path, image_size):
    if model_path is None:
        side = DEFAULT_IMAGE_SIZE if image_size is None else image_size
        return build_model(8, side, backbone_weights=None), RANDOM_WEIGHTS_NOTE
    model = load_trained_model(model_path)
    if image_size is not None and model.image_size != (image_size, image_size):
        raise ValueError(
            f"{model_path} reads {model.image_size[0]}x{model.image_size[1]} "
            f"images; --image-size {image_size} applies only to the default model."
        )
    return model, os.fspath(model_path)


def _device_of(runtime):
    return "gpu" if runtime.endswith("_gpu") else "cpu"


def _say(verbose, message):
    # Standard error, so that `mtfcdd benchmark --json` prints JSON alone.
    if verbose:
        print(message, file=sys.stderr, flush=True)


