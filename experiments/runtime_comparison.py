"""Keras, LiteRT, ONNX Runtime and OpenVINO side by side: speed and accuracy of one model.

    python experiments/runtime_comparison.py MODEL.keras --data ROOT --alpha A
        [--image-size N] [--out DIR] [--num-calibration 100] [--repeats 10] [--threads N] [--json FILE]

Runs MODEL in Keras in float32 and in mixed bfloat16 (``--precision
mixed_bfloat16``), and converts it to LiteRT, ONNX and OpenVINO, each float32
and int8, the OpenVINO float32 file also run in bfloat16 (int8 calibrated on
``--num-calibration`` of the split's training images, evenly spaced, as
``mtfcdd export --calibration-images`` does), times
every runtime at batch 1 and 8 in turns, each run followed by a large matrix
product in the same runtime and number format (``mtfcdd.deploy.benchmark.timing``:
runtimes and products share the machine's load), and evaluates each on the
split's test images with ``mtfcdd.evaluate``, the evaluator of the Keras
model. A format's peak is the best product any runtime reached in it (a
runtime's GEMM can be twice another's in int8), and every row is measured
against its format's peak; bfloat16 has none where the CPU lacks
AVX512-BF16 and AMX-BF16. Prints the CPU's features and a Markdown table (ms per
image, efficiency against its format's peak, file size, mean I-AUROC /
P-AUROC in %), and writes them to ``--json`` when given. The converted files
stay in ``--out``. ``--image-size N`` runs MODEL's weights at NxN
(``mtfcdd.model.network.model_at_image_size``): the speed of an NxN model,
with the accuracy of a model trained at another size.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mtfcdd  # noqa: E402
from mtfcdd.deploy import export  # noqa: E402
from mtfcdd.deploy.benchmark.cpu_features import cpu_features, format_cpu_features  # noqa: E402
from mtfcdd.deploy.benchmark.flops import count_flops  # noqa: E402
from mtfcdd.deploy.benchmark.timing import (  # noqa: E402
    efficiency,
    efficiency_text,
    format_references,
    interleaved_timings,
    keras_run,
    litert_matmul_run,
    matmul_run,
    matmul_size_for,
    onnx_matmul_run,
    openvino_matmul_run,
    set_tensorflow_threads,
    smooth_random_images,
)
from mtfcdd.deploy.onnx_runner import OnnxModel  # noqa: E402
from mtfcdd.deploy.openvino_runner import OpenVinoModel  # noqa: E402
from mtfcdd.deploy.runner import LiteRTModel  # noqa: E402
from mtfcdd.deploy.sidecar import model_files  # noqa: E402
from mtfcdd.model.network import model_at_image_size  # noqa: E402
from mtfcdd.training.precision import model_in_precision  # noqa: E402
from mtfcdd.utils.atomic_files import write_json  # noqa: E402

BATCH_SIZES = (1, 8)
# Row name: (exporter, file name, runner).
CONVERSIONS = {
    "LiteRT float32": (export.export_tflite, "model_float32.tflite", LiteRTModel),
    "LiteRT int8": (export.export_tflite, "model_int8.tflite", LiteRTModel),
    "ONNX Runtime float32": (export.export_onnx, "model_float32.onnx", OnnxModel),
    "ONNX Runtime int8": (export.export_onnx, "model_int8.onnx", OnnxModel),
    "OpenVINO float32": (export.export_openvino, "model_float32.xml", OpenVinoModel),
    "OpenVINO int8": (export.export_openvino, "model_int8.xml", OpenVinoModel),
}
# Rows that run another row's file in another precision: row name: (that
# row, the runner's options). OpenVINO computes a float32 file in bfloat16
# where the CPU has bfloat16 dot products, and in float32 where it has not.
PRECISIONS = {"OpenVINO bfloat16": ("OpenVINO float32", {"inference_precision": "bf16"})}


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a trained model, a .keras file")
    parser.add_argument("--data", required=True, help="the data set's root (Real-IAD layout)")
    parser.add_argument("--alpha", type=float, required=True, help="the split's alpha")
    parser.add_argument(
        "--image-size", type=int, help="run the model's weights at this input side (default: its own)"
    )
    parser.add_argument("--out", default="runtime_comparison", help="folder of the converted files")
    parser.add_argument("--num-calibration", type=int, default=100, help="int8 calibration images")
    parser.add_argument("--repeats", type=int, default=10, help="timed rounds (default: 10)")
    parser.add_argument("--threads", type=int, help="CPU threads of every runtime (default: all)")
    parser.add_argument("--json", help="write the results to this file")
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(argv)
    set_tensorflow_threads(arguments.threads)
    model = mtfcdd.load_trained_model(arguments.model)
    if arguments.image_size is not None:
        model = model_at_image_size(model, arguments.image_size)
    split = mtfcdd.load_realiad(arguments.data, alpha=arguments.alpha)
    calibration = [sample.image_path for sample in split.train]
    runners = {"Keras float32": model, "Keras bfloat16": model_in_precision(model, "mixed_bfloat16")}
    for name, (exporter, file_name, runner_class) in CONVERSIONS.items():
        path = os.path.join(arguments.out, file_name)
        exporter(
            model, path, quantize="int8" if name.endswith("int8") else "none",
            representative_images=calibration, num_calibration_images=arguments.num_calibration,
        )
        runners[name] = runner_class(path, num_threads=arguments.threads)
    for name, (file_row, options) in PRECISIONS.items():
        file_runner = runners[file_row]
        runners[name] = type(file_runner)(file_runner.model_path, num_threads=arguments.threads, **options)
    rows = {name: {} for name in runners}
    for name, runner in runners.items():
        # What OpenVINO computes the float parts in: the precision asked for, or float32 where the CPU lacks it.
        if isinstance(runner, OpenVinoModel):
            rows[name]["inference_precision"] = runner.compiled_model.get_property("INFERENCE_PRECISION_HINT").to_string()
        file_path = getattr(runner, "model_path", arguments.model)
        rows[name]["file_mb"] = sum(os.path.getsize(path) for path in model_files(file_path)) / 1e6
        metrics = mtfcdd.evaluate(runner, split.test, verbose=0)["metrics"]["Mean"]
        rows[name]["mean_i_auroc"], rows[name]["mean_p_auroc"] = metrics["I-AUROC"], metrics["P-AUROC"]
    flops = count_flops(model)
    features = cpu_features()
    products, no_bfloat16 = runtime_products(features, matmul_size_for(flops), arguments.threads)
    # Every row's name ends with the number format it computes in.
    formats = {name: name.split()[-1] for name in runners}
    runs = {}
    for name, runner in runners.items():
        # Keras runs in TensorFlow. A row with no product in its format
        # runs beside a float32 one, so that every round loads the machine alike.
        product = name.replace("Keras", "TensorFlow")
        product = product if product in products else "TensorFlow float32"
        for batch_size in BATCH_SIZES:
            if name.startswith("Keras"):
                function = keras_run(runner, batch_size)
            else:
                images = smooth_random_images(batch_size, runner.image_size)
                function = lambda runner=runner, images=images: runner.heatmaps(images)  # noqa: E731
            runs[name, batch_size] = (function, batch_size, product)
    milliseconds, gflops_by_product = interleaved_timings(runs, products, arguments.repeats)
    peaks = peaks_by_format(gflops_by_product, no_bfloat16)
    for (name, batch_size), value in milliseconds.items():
        rows[name][f"ms_per_image_batch_{batch_size}"] = value
        rows[name][f"efficiency_batch_{batch_size}"] = efficiency(flops / 1e9, value, peaks[formats[name]])
    print(format_cpu_features(features))
    print(markdown_table(rows))
    if arguments.json:
        write_json(arguments.json, {
            "cpu_features": features, "threads": arguments.threads, "image_size": list(model.image_size),
            "gflops_per_image": flops / 1e9, "matmul_gflops_by_product": gflops_by_product,
            "matmul_gflops_by_format": peaks, "rows": rows,
        })
    return rows


def runtime_products(features, size, threads):
    """Each runtime's ``size`` x ``size`` product in each number format it
    runs a row in, named as the row ("LiteRT int8"; "TensorFlow float32" and
    "TensorFlow bfloat16" for Keras): ``{name: (function, FLOPs)}``, and
    where the CPU has no bfloat16 product, why (else None)."""
    products = {"TensorFlow float32": matmul_run("cpu", size)}
    for runtime, make_product in (
        ("LiteRT", litert_matmul_run), ("ONNX Runtime", onnx_matmul_run), ("OpenVINO", openvino_matmul_run),
    ):
        for number_format, quantize in (("float32", "none"), ("int8", "int8")):
            products[f"{runtime} {number_format}"] = make_product(size, threads, quantize)
    bfloat16, sources = format_references(features, {"bfloat16"}, size, threads)
    if not bfloat16:
        return products, sources["bfloat16"]
    products["TensorFlow bfloat16"] = bfloat16[sources["bfloat16"]]
    return products, None


def peaks_by_format(gflops_by_product, no_bfloat16):
    """``{format: the best product in it (GFLOP/s)}``, bfloat16's or
    ``no_bfloat16``, why it has none."""
    peaks = {
        number_format: max(value for name, value in gflops_by_product.items() if name.endswith(number_format))
        for number_format in ("float32", "int8")
    }
    peaks["bfloat16"] = gflops_by_product.get("TensorFlow bfloat16", no_bfloat16)
    return peaks


def markdown_table(rows):
    lines = [
        "| runtime | ms/image, batch 1 | ms/image, batch 8 | vs its format's peak, batch 8 | file (MB) "
        "| mean I-AUROC / P-AUROC (%) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        lines.append(
            f"| {name} | {row['ms_per_image_batch_1']:.1f} | {row['ms_per_image_batch_8']:.1f} | "
            f"{efficiency_text(row['efficiency_batch_8'])} | {row['file_mb']:.1f} | {100 * row['mean_i_auroc']:.2f} / {100 * row['mean_p_auroc']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
