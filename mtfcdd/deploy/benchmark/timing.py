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

A model is measured against the peak of the number format it computes in
(``format_references``): float32 against the float32 products above, a
mixed-bfloat16 Keras model against TensorFlow's bfloat16 product, an int8
file against LiteRT's int8 product, each interleaved the same way. Where the
CPU lacks a format's instructions there is no peak, and the row says why.
ONNX Runtime's and OpenVINO's products (``onnx_matmul_run``,
``openvino_matmul_run``, float32 and int8; the int8 ones as a 1x1
convolution, the kernel the int8 model runs on) are there for the runtimes
compared side by side (experiments/runtime_comparison.py): in int8 one
runtime's GEMM can be twice another's on the same CPU, so a format's peak is
the best product of every runtime that computes in it.

Model times are medians over repeated runs after warm-up runs.
"""

import os
import statistics
import tempfile
import time
import warnings

import cv2
import numpy as np
import tensorflow as tf

from mtfcdd.deploy.export import quantize_onnx_int8, quantize_openvino_int8
from mtfcdd.utils.optional_packages import import_optional


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


def litert_matmul_run(size=2048, threads=None, quantize="none"):
    """(a function that runs a ``size`` x ``size`` product in LiteRT, its FLOPs).

    A one-op file, converted here: a fully connected layer of ``size``
    outputs, with constant weights, on ``size`` rows, which LiteRT runs
    with XNNPACK's GEMM: float32, or with ``quantize="int8"`` int8 inputs,
    weights and product, summed in int32 (XNNPACK's int8 GEMM, which the
    int8 model's convolutions run on).
    """
    # Here, not at the top: the TensorFlow timings (`mtfcdd benchmark
    # --training`) must not need the optional ai-edge-litert.
    from mtfcdd.deploy.runner import litert

    _check_product_quantize(quantize)
    inputs, weights = _product_operands(size)

    @tf.function(input_signature=[tf.TensorSpec((size, size), tf.float32)])
    def product(values):
        return tf.linalg.matmul(values, weights)

    converter = tf.lite.TFLiteConverter.from_concrete_functions([product.get_concrete_function()], product)
    if quantize == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: iter([[inputs]])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
    with warnings.catch_warnings():
        # A concrete function's int8 input makes the converter ask for input
        # statistics that the representative data set has already given.
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs", category=UserWarning)
        content = converter.convert()
    interpreter = litert.Interpreter(model_content=content, num_threads=threads)
    interpreter.allocate_tensors()
    input_details = interpreter.get_input_details()[0]
    output_index = interpreter.get_output_details()[0]["index"]
    if quantize == "int8":
        scale, zero_point = input_details["quantization"]
        inputs = np.clip(np.round(inputs / scale + zero_point), -128, 127).astype(np.int8)
    input_index = input_details["index"]

    def run():
        interpreter.set_tensor(input_index, inputs)
        interpreter.invoke()
        interpreter.get_tensor(output_index)

    return run, 2 * size**3


def onnx_matmul_run(size=2048, threads=None, quantize="none"):
    """(a function that runs a ``size`` x ``size`` product in ONNX Runtime, its FLOPs).

    A one-op file (``_product_onnx_file``): a ``MatMul`` in float32; with
    ``quantize="int8"`` the same product as a 1x1 convolution, quantised as
    ``export_onnx`` quantises a model
    (``mtfcdd.deploy.export.quantize_onnx_int8``); in a session made as its
    runner makes one.
    """
    from mtfcdd.deploy.onnx_runner import onnx_session  # optional, as in litert_matmul_run

    _check_product_quantize(quantize)
    inputs, weights = _product_operands(size, as_image=quantize == "int8")
    with tempfile.TemporaryDirectory() as folder:
        session = onnx_session(_product_onnx_file(inputs, weights, folder, quantize), threads)
    return lambda: session.run(None, {_PRODUCT_INPUT: inputs}), 2 * size**3


def openvino_matmul_run(size=2048, threads=None, quantize="none"):
    """(a function that runs a ``size`` x ``size`` product in OpenVINO, its FLOPs).

    ``onnx_matmul_run``'s float32 file (with ``quantize="int8"`` its 1x1
    convolution) converted by ``openvino.convert_model`` as
    ``export_openvino`` converts a model, with ``quantize="int8"`` quantised
    by NNCF (``mtfcdd.deploy.export.quantize_openvino_int8``), and
    compiled as its runner compiles one (float parts in f32).
    """
    from mtfcdd.deploy.openvino_runner import compile_openvino, openvino  # optional

    _check_product_quantize(quantize)
    inputs, weights = _product_operands(size, as_image=quantize == "int8")
    with tempfile.TemporaryDirectory() as folder:
        network = openvino.convert_model(_product_onnx_file(inputs, weights, folder, "none"))
    if quantize == "int8":
        network = quantize_openvino_int8(network, [inputs])
    compiled = compile_openvino(network, threads)
    return lambda: compiled(inputs), 2 * size**3


_PRODUCT_INPUT = "inputs"


def _product_onnx_file(inputs, weights, folder, quantize):
    """A one-op ONNX file in ``folder`` that multiplies its input (shaped as
    ``inputs``, which calibrate it for int8) by the constant ``weights``;
    its path.

    Matrix operands: ``MatMul``. Image operands (``_product_operands``,
    which the int8 products use): a 1x1 ``Conv``, the same product:
    ONNX Runtime and OpenVINO run an int8 ``MatMul`` on a slower kernel than
    their int8 convolutions, which are what a model runs on (on an AVX2
    machine, 234 against 345 GOP/s in ONNX Runtime, 175 against 322 in
    OpenVINO), so an int8 ``MatMul`` is no peak.
    """
    onnx = import_optional("onnx", "onnx", "the ONNX Runtime matmul peak", extra="onnx")
    if inputs.ndim == 4:
        node = onnx.helper.make_node("Conv", [_PRODUCT_INPUT, "weights"], ["product"], kernel_shape=[1, 1])
        output_shape = [1, weights.shape[0], *inputs.shape[2:]]
    else:
        node = onnx.helper.make_node("MatMul", [_PRODUCT_INPUT, "weights"], ["product"])
        output_shape = [len(inputs), weights.shape[1]]
    graph = onnx.helper.make_graph(
        [node], "product",
        [onnx.helper.make_tensor_value_info(_PRODUCT_INPUT, onnx.TensorProto.FLOAT, list(inputs.shape))],
        [onnx.helper.make_tensor_value_info("product", onnx.TensorProto.FLOAT, output_shape)],
        [onnx.numpy_helper.from_array(weights, "weights")],
    )
    # Opset 13 and IR 8 load in every onnxruntime the onnx extra allows.
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)], ir_version=8)
    path = os.path.join(folder, "product.onnx")
    onnx.save(model, path)
    if quantize == "none":
        return path
    quantized_path = os.path.join(folder, "product_int8.onnx")
    quantize_onnx_int8(path, quantized_path, _PRODUCT_INPUT, [inputs])
    return quantized_path


def _product_operands(size, as_image=False):
    """(inputs, weights) of a ``size`` x ``size`` product: uniform in
    [-1, 1], float32, seeded.

    ``as_image``: laid out for a 1x1 convolution (``_product_onnx_file``),
    the inputs' rows as the pixels of a (1, size, size / 32, 32) image of
    ``size`` channels, the weights (size, size, 1, 1).
    """
    if as_image and size % 32:
        raise ValueError(f"an image-shaped product needs a size divisible by 32; got {size}.")
    generator = np.random.default_rng(0)
    weights = generator.uniform(-1, 1, (size, size)).astype(np.float32)
    inputs = generator.uniform(-1, 1, (size, size)).astype(np.float32)
    if not as_image:
        return inputs, weights
    # Contiguous: a transposed view would be copied by the runtime on every run.
    image = np.ascontiguousarray(inputs.T.reshape(1, size, size // 32, 32))
    return image, np.ascontiguousarray(weights.T.reshape(size, size, 1, 1))


def _check_product_quantize(quantize):
    if quantize not in ("none", "int8"):
        raise ValueError(f"quantize must be 'none' or 'int8'; got {quantize!r}.")


# The reference product of each number format but float32, the CPU features
# that compute it natively (any of them), and the function that makes it.
# Without them TensorFlow emulates bfloat16 in float32, so its product is no
# roofline; int8 has no such feature list: every CPU LiteRT runs on has
# integer multiply-adds (AVX2's, or NEON's), VNNI and AMX only speed them up.
FORMAT_REFERENCES = {
    "bfloat16": ("tensorflow_bfloat16_cpu", ("avx512_bf16", "amx_bf16")),
    "int8": ("litert_int8_cpu", ()),
}


def reference_run(reference, size, threads=None):
    """The product that ``reference`` (a name of ``FORMAT_REFERENCES``)
    times: (a function, its FLOPs)."""
    if reference == "tensorflow_bfloat16_cpu":
        return matmul_run("cpu", size, dtype="bfloat16")
    return litert_matmul_run(size, threads, quantize="int8")


def format_references(features, formats, size, threads=None):
    """The matmul peaks to time beside models computing in ``formats``.

    Args:
        features: ``mtfcdd.deploy.benchmark.cpu_features.cpu_features()``.
        formats: number formats other than float32 (``FORMAT_REFERENCES``).
        size, threads: the products' side and LiteRT's threads.

    Returns:
        (``{reference name: (function, FLOPs)}`` for ``interleaved_timings``,
        ``{format: its reference's name, or why the CPU has no peak in it}``).
    """
    references, sources = {}, {}
    for number_format in formats:
        if number_format not in FORMAT_REFERENCES:
            sources[number_format] = f"no {number_format} matmul peak is measured"
            continue
        reference, needed = FORMAT_REFERENCES[number_format]
        if needed and all(features[name] is None for name in needed):
            sources[number_format] = "unknown CPU features"
        elif needed and not any(features[name] for name in needed):
            sources[number_format] = (
                f"not available on this CPU (no {' or '.join(needed)}): emulated, no roofline"
            )
        else:
            references[reference] = reference_run(reference, size, threads)
            sources[number_format] = reference
    return references, sources


def format_peaks(float32_gflops, sources, gflops_by_reference):
    """The CPU's matmul peak in each number format, GFLOP/s, or why there is none.

    Args:
        float32_gflops: the float32 peak, measured between the model's runs.
        sources: ``format_references``' second result.
        gflops_by_reference: ``interleaved_timings``' second result.

    Returns:
        ``{"float32": GFLOP/s, "bfloat16": GFLOP/s or why none, "int8": ...}``:
        every format of ``FORMAT_REFERENCES``, those no model ran in
        "not measured".
    """
    peaks = {"float32": float32_gflops}
    for number_format in list(FORMAT_REFERENCES) + list(sources):
        source = sources.get(number_format, "not measured (no model ran in it)")
        peaks[number_format] = gflops_by_reference.get(source, source)
    return peaks


def efficiency(gflops_per_image, milliseconds_per_image, peak):
    """The model's GFLOP/s over ``peak`` (GFLOP/s), or ``peak`` itself
    when it is the reason there is none."""
    if isinstance(peak, str):
        return peak
    return gflops_per_image / (milliseconds_per_image / 1e3) / peak


def efficiency_text(value):
    """An ``efficiency`` in a table: two decimals, or "n/a" where it is
    the reason its format has no peak (which the JSON keeps)."""
    return "n/a" if isinstance(value, str) else f"{value:.2f}"


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
    product. Each function runs twice in a row and the second run is timed:
    a runtime's threads keep spinning for a while after its run (ONNX
    Runtime's, OpenVINO's), and a run that starts among another runtime's
    spinning threads shares the cores with them (ONNX Runtime's int8
    product, timed right after another session's run, at 74 % of its speed
    after a run of its own); the untimed run waits them out.

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
            model_seconds[name].append(_settled_seconds_of(function))
            reference_seconds[reference].append(_settled_seconds_of(references[reference][0]))
    milliseconds = {
        name: statistics.median(seconds) * 1e3 / runs[name][1]
        for name, seconds in model_seconds.items()
    }
    gflops = {
        name: references[name][1] / min(seconds) / 1e9
        for name, seconds in reference_seconds.items() if seconds
    }
    return milliseconds, gflops


def _settled_seconds_of(run):
    """Seconds of ``run()`` run again right after itself (``interleaved_timings``)."""
    run()
    return seconds_of(run)


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
