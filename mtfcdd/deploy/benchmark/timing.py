"""Timing a model: milliseconds per image, against the machine's matmul peak.

The peak is what the machine reaches on its most favourable kernel: a large
square float32 matrix product, run the way the model runs, on its device and
threads: by TensorFlow (``matmul_run``) for the Keras model, by LiteRT
(XNNPACK's GEMM, ``litert_matmul_run``) for the LiteRT files; XNNPACK's is
the faster of the two on some CPUs, and a peak below what a runtime reaches
would not be one. It is timed interleaved with the model
(``interleaved_timings``): one product after every model run, the best of
them taken. Measured once,
apart from the model, a peak and a model time could see different machines:
with another job on the cores for one and not the other, every ratio is
skewed, and a model can appear faster than the peak. Interleaved, both see
the same load at the same moments, and the best product of many is the
machine at its least disturbed. The product does about the work of one
image (``matmul_size_for``: 2048x2048 for the paper's 299x299 model), so
that it lasts about as long as a model run: a short run slips between
another job's bursts more often than a long one.

Model times are medians over repeated runs after warm-up runs.
"""

import statistics
import time

import cv2
import numpy as np
import tensorflow as tf


def matmul_run(device="cpu", size=2048, dtype="float32"):
    """(a function that runs a ``size`` x ``size`` product in TensorFlow, its FLOPs).

    Args:
        device: ``"cpu"`` or ``"gpu"``.
        size: the matrices' side.
        dtype: ``"float32"`` or ``"bfloat16"`` (inputs and product).
    """
    with tf.device(f"/{device.upper()}:0"):
        left = tf.cast(tf.random.uniform((size, size)), dtype)
        right = tf.cast(tf.random.uniform((size, size)), dtype)
    # Summing on the device keeps the copy of the product to the host out
    # of the measurement.
    product_sum = tf.function(lambda a, b: tf.reduce_sum(tf.linalg.matmul(a, b)))

    def run():
        with tf.device(f"/{device.upper()}:0"):
            product_sum(left, right).numpy()

    return run, 2 * size**3


def litert_matmul_run(size=2048, threads=None):
    """(a function that runs a ``size`` x ``size`` float32 product in LiteRT, its FLOPs).

    A one-op file, converted here: a fully connected layer of ``size``
    outputs, with constant weights, on ``size`` rows, which LiteRT runs
    with XNNPACK's GEMM.
    """
    # Here, not at the top: the TensorFlow timings (`mtfcdd benchmark
    # --training`) must not need the optional ai-edge-litert.
    from mtfcdd.deploy.runner import litert

    generator = np.random.default_rng(0)
    weights = generator.uniform(-1, 1, (size, size)).astype(np.float32)

    @tf.function(input_signature=[tf.TensorSpec((size, size), tf.float32)])
    def product(inputs):
        return tf.linalg.matmul(inputs, weights)

    converter = tf.lite.TFLiteConverter.from_concrete_functions([product.get_concrete_function()], product)
    interpreter = litert.Interpreter(model_content=converter.convert(), num_threads=threads)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    inputs = generator.uniform(-1, 1, (size, size)).astype(np.float32)

    def run():
        interpreter.set_tensor(input_index, inputs)
        interpreter.invoke()
        interpreter.get_tensor(output_index)

    return run, 2 * size**3


def format_peaks(features, float32_gflops, size, repeats=10):
    """The CPU's matmul peak in each number format, GFLOP/s, or why there is none.

    Args:
        features: ``mtfcdd.deploy.benchmark.cpu_features.cpu_features()``.
        float32_gflops: the float32 peak, measured between the model's runs.
        size: the matrices' side, as for the float32 peak.
        repeats: timed bfloat16 products; the best counts.

    Returns:
        ``{"float32": GFLOP/s, "bfloat16": GFLOP/s or a reason, "int8": a
        reason}``. bfloat16 is timed (TensorFlow, after the model's runs)
        only where the CPU has bfloat16 dot products (AVX512-BF16, AMX-BF16):
        elsewhere TensorFlow emulates it, and the number would be no
        roofline. No runtime here offers an int8 matmul to time yet.
    """
    peaks = {"float32": float32_gflops}
    if all(value is None for value in features.values()):
        return {**peaks, "bfloat16": "unknown CPU features", "int8": "unknown CPU features"}
    if features["avx512_bf16"] or features["amx_bf16"]:
        run, flops = matmul_run("cpu", size, dtype="bfloat16")
        run()
        peaks["bfloat16"] = flops / min(seconds_of(run) for _ in range(repeats)) / 1e9
    else:
        peaks["bfloat16"] = "not available on this CPU (no avx512_bf16 or amx_bf16)"
    if features["avx_vnni"] or features["avx512_vnni"] or features["amx_int8"]:
        peaks["int8"] = "not measured (no int8 matmul reference yet)"
    else:
        peaks["int8"] = "not available on this CPU (no avx_vnni, avx512_vnni or amx_int8)"
    return peaks


def matmul_size_for(flops):
    """The side of a square product of about ``flops`` FLOPs.

    A multiple of 256, at least 512: 2048 for one 299x299 image of
    MultiTypeFCDD (15.7 GFLOP), 768 for a 96x96 one (1.1 GFLOP).
    """
    return max(512, 256 * round((flops / 2) ** (1 / 3) / 256))


def keras_run(model, batch_size, device="cpu"):
    """A function that runs ``model`` in a ``tf.function`` on a batch."""
    images = smooth_random_images(batch_size, model.image_size).astype(np.float32)
    # With a GPU present, "cpu" reads the weights from GPU memory on each
    # call: ~22 MB, a few ms next to the hundreds of a CPU run.
    with tf.device(f"/{device.upper()}:0"):
        batch = tf.constant(images)
    serve = tf.function(lambda inputs: model(inputs, training=False))

    def run():
        with tf.device(f"/{device.upper()}:0"):
            serve(batch).numpy()

    return run


def litert_run(model_path, batch_size, threads=None):
    """A function that runs a ``.tflite`` file with LiteRT on a batch.

    Runs ``LiteRTModel.heatmaps`` on uint8 images of the model's size: what
    a board does, less decoding and resizing.
    """
    from mtfcdd.deploy.runner import LiteRTModel  # optional, as in litert_matmul_run

    runner = LiteRTModel(model_path, num_threads=threads)
    images = smooth_random_images(batch_size, runner.image_size)
    return lambda: runner.heatmaps(images)


def interleaved_timings(runs, references, repeats=10, warmup=2):
    """Times model runs and reference products in turn, on the same machine.

    Each round runs every model once, each followed by its reference
    product.

    Args:
        runs: a dict from name to ``(function, batch size, reference
            name)``.
        references: a dict from name to ``(function, FLOPs)``, e.g.
            ``matmul_run(device)``; one for each reference name of ``runs``.
        repeats: rounds.
        warmup: untimed runs of each function first.

    Returns:
        (milliseconds per image: run name -> median over the rounds,
        GFLOP/s: reference name -> its best run).
    """
    for function in [run[0] for run in runs.values()] + [reference[0] for reference in references.values()]:
        for _ in range(warmup):
            function()
    model_seconds = {name: [] for name in runs}
    reference_seconds = {name: [] for name in references}
    for _ in range(repeats):
        for name, (function, _, reference) in runs.items():
            model_seconds[name].append(seconds_of(function))
            reference_seconds[reference].append(seconds_of(references[reference][0]))
    milliseconds = {
        name: statistics.median(seconds) * 1e3 / runs[name][1]
        for name, seconds in model_seconds.items()
    }
    gflops = {
        name: references[name][1] / min(seconds) / 1e9
        for name, seconds in reference_seconds.items() if seconds
    }
    return milliseconds, gflops


def smooth_random_images(count, size, seed=0):
    """uint8 RGB images (count, height, width, 3) of smooth random colour."""
    generator = np.random.default_rng(seed)
    height, width = size
    images = [
        cv2.resize(
            generator.uniform(0, 255, (8, 8, 3)).astype(np.float32),
            (width, height),
            interpolation=cv2.INTER_CUBIC,
        )
        for _ in range(count)
    ]
    return np.clip(np.stack(images), 0, 255).round().astype(np.uint8)


def set_tensorflow_threads(threads):
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer; got {threads!r}.")
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError as error:
        raise ValueError(
            f"TensorFlow has already started, so it keeps its threads: set "
            f"threads={threads} before running any model ({error})."
        ) from error


def seconds_of(run):
    """Seconds that ``run()`` takes."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start
