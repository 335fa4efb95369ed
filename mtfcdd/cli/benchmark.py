"""`mtfcdd benchmark`: parameters, GFLOPs, file sizes and speed (paper 5.3).

    mtfcdd benchmark [--model MODEL.keras [--data ROOT --alpha A]] [--image-size 299]
                     [--threads N] [--repeats R] [--out FILE.json] [--json]

Without --model it measures the default model (K = 8) with random weights.
With --data, the int8 file is calibrated on the split's training images and
the float32 and int8 files' mean per-type I-AUROC on its test split are
compared.
"""

import json
import sys

from mtfcdd.cli.benchmark_training import add_training_benchmark_options, run_training_benchmark
from mtfcdd.cli.options import add_data_options
from mtfcdd.constants import DEFAULT_IMAGE_SIZE


def register(subparsers):
    parser = subparsers.add_parser(
        "benchmark",
        help="footprint: parameters, GFLOPs, file sizes, ms per image (Keras, LiteRT)",
    )
    parser.add_argument(
        "--model", metavar="MODEL", help="a .keras model (default: the K = 8 model with random weights)"
    )
    parser.add_argument(
        "--image-size", type=int, default=None, metavar="PIXELS",
        help=f"input side of the default model (default: {DEFAULT_IMAGE_SIZE})",
    )
    parser.add_argument(
        "--threads", type=int, default=None, metavar="N",
        help="CPU threads for TensorFlow and LiteRT (default: all)",
    )
    parser.add_argument(
        "--repeats", type=int, default=10, metavar="N", help="timed runs per measurement (default: %(default)s)"
    )
    parser.add_argument("--out", metavar="FILE", help="also write the results to FILE as JSON")
    parser.add_argument(
        "--json", action="store_true", help="print the results as JSON instead of text"
    )
    add_data_options(parser, objects=False, required=False)
    add_training_benchmark_options(parser)
    parser.set_defaults(handler=run)


def run(arguments):
    if arguments.repeats < 1:
        raise ValueError(f"--repeats must be at least 1; got {arguments.repeats}.")
    if arguments.training:
        return run_training_benchmark(arguments)
    from mtfcdd.utils.atomic_files import write_json
    from mtfcdd.deploy.benchmark.footprint import format_footprint, run_benchmark

    result = run_benchmark(
        model_path=arguments.model, image_size=arguments.image_size,
        threads=arguments.threads, repeats=arguments.repeats,
        data_root=arguments.data, alpha=arguments.alpha, resolution=arguments.resolution,
    )
    print(json.dumps(result, indent=2) if arguments.json else format_footprint(result))
    if arguments.out is not None:
        write_json(arguments.out, result)
        print(f"wrote {arguments.out}", file=sys.stderr if arguments.json else sys.stdout)
