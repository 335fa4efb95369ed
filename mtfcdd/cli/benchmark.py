"""`mtfcdd benchmark`: parameters, GFLOPs, file sizes and speed (paper 5.3).

    mtfcdd benchmark [--model MODEL.keras] [--image-size 299] [--precision mixed_bfloat16]
                     [--threads N] [--repeats R] [--out FILE.json] [--json]

Without --model it measures the default model (K = 8) with random weights.
``--precision mixed_bfloat16`` also times the Keras model in bfloat16 (the
row ``keras_bfloat16_cpu``). Every row's efficiency is against the matmul
peak of the number format it computes in.
The accuracy of a converted file is measured by ``mtfcdd evaluate --tflite
FILE`` on a test split, like the Keras model's.
"""

from __future__ import annotations

import argparse

from mtfcdd.cli.benchmark_training import add_training_benchmark_options, run_training_benchmark
from mtfcdd.cli.json_output import add_json_option, print_result
from mtfcdd.cli.options import add_data_options, positive_int
from mtfcdd.constants import DEFAULT_IMAGE_SIZE


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "benchmark",
        help="footprint: parameters, GFLOPs, file sizes, ms per image (Keras, LiteRT)",
    )
    parser.add_argument(
        "--model", metavar="MODEL", help="a .keras model (default: the K = 8 model with random weights)"
    )
    parser.add_argument(
        "--image-size", type=positive_int, default=None, metavar="PIXELS",
        help=f"input side of the default model (default: {DEFAULT_IMAGE_SIZE})",
    )
    parser.add_argument(
        "--threads", type=positive_int, default=None, metavar="N",
        help="CPU threads for TensorFlow (the model and the matmul peak) and LiteRT alike (default: all)",
    )
    parser.add_argument(
        "--repeats", type=positive_int, default=10, metavar="N", help="timed runs per measurement (default: %(default)s)"
    )
    parser.add_argument("--out", metavar="FILE", help="also write the results to FILE as JSON")
    add_json_option(parser)
    add_data_options(parser, objects=False, required=False)
    add_training_benchmark_options(parser)
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    if arguments.training:
        return run_training_benchmark(arguments)
    from mtfcdd.deploy.benchmark.footprint import format_footprint, run_benchmark
    from mtfcdd.utils.atomic_files import write_json

    result = run_benchmark(
        model_path=arguments.model, image_size=arguments.image_size,
        threads=arguments.threads, repeats=arguments.repeats, precision=arguments.precision,
    )
    print_result(arguments, result, format_footprint(result))
    if arguments.out is not None:
        write_json(arguments.out, result)
        print(f"wrote {arguments.out}")
    return 0
