"""`mtfcdd benchmark --training`: where a training step's time goes.

    mtfcdd benchmark --training --data ROOT [--resolution realiad_299] [--image-size 299]
                     [--batch-size 32] [--precision P] [--jit-compile] [--repeats 10]

Images per second of the input pipeline alone, of the training step alone
on a batch held in memory, and of the two together; the pipeline's
overhead; FLOPs per training image and the step's efficiency against the
machine's matmul peak (``mtfcdd.deploy.benchmark.training_throughput``).
"""

from __future__ import annotations

import argparse

from mtfcdd.cli.json_output import print_result
from mtfcdd.cli.options import add_speed_options
from mtfcdd.constants import DEFAULT_IMAGE_SIZE
from mtfcdd.training.config import TrainingConfig


def add_training_benchmark_options(parser):
    """The options that ``--training`` reads; of them, the footprint reads
    ``--precision`` too (a Keras row in that precision)."""
    group = parser.add_argument_group(
        "training throughput (--training; --image-size, --threads, --repeats, --data, --alpha, "
        "--resolution, --out and --json apply too; without --training, --precision "
        "mixed_bfloat16 adds the Keras model in bfloat16 to the footprint)"
    )
    group.add_argument(
        "--training", action="store_true",
        help="measure training instead: the input pipeline, the training step and both, on the "
        "images of --data (use the resize cache's folder, e.g. --resolution realiad_299)",
    )
    group.add_argument(
        "--batch-size", type=int, default=TrainingConfig.batch_size, metavar="N",
        help="images per training step (default: %(default)s)",
    )
    add_speed_options(group)


def run_training_benchmark(arguments: argparse.Namespace) -> int:
    from mtfcdd.deploy.benchmark.timing import set_tensorflow_threads
    from mtfcdd.deploy.benchmark.training_throughput import format_throughput, measure_training_throughput
    from mtfcdd.utils.atomic_files import write_json

    if arguments.data is None:
        raise ValueError("--training needs --data ROOT: the images the input pipeline reads.")
    set_tensorflow_threads(arguments.threads)
    config = TrainingConfig(
        alpha=arguments.alpha, resolution=arguments.resolution, backbone_weights=None,
        layout=arguments.layout, types=arguments.types, normal_name=arguments.normal_name,
        image_size=arguments.image_size or DEFAULT_IMAGE_SIZE, batch_size=arguments.batch_size,
        precision=arguments.precision, jit_compile=arguments.jit_compile,
    )
    result = measure_training_throughput(
        arguments.data, config, steps=arguments.repeats, verbose=0 if arguments.json else 1
    )
    print_result(arguments, result, format_throughput(result))
    if arguments.out is not None:
        write_json(arguments.out, result)
        print(f"wrote {arguments.out}")
    return 0
