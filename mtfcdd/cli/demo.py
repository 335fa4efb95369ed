"""`mtfcdd demo`: generate a data set, train, evaluate, draw, in minutes."""

from __future__ import annotations

import argparse
import dataclasses
import os

from mtfcdd.cli.json_output import add_json_option, print_result
from mtfcdd.cli.options import add_speed_options, backbone_weights_argument, non_negative_int, positive_int
from mtfcdd.data.synthetic.presets import PRESETS


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo", help="the main job on a generated data set: train, evaluate, figures (3 to 6 min on 2 cores)"
    )
    parser.add_argument(
        "--out", default="mtfcdd_demo", metavar="DIR",
        help="output folder: the data set (DIR/data) and the run (DIR/run); default: %(default)s",
    )
    parser.add_argument(
        "--backbone-weights", default="auto", metavar="WEIGHTS",
        help="auto (default: imagenet when it can be downloaded, else synthetic), imagenet, "
        "synthetic, none, or a weights file",
    )
    parser.add_argument(
        "--preset", choices=tuple(PRESETS), default=None,
        help="size of the generated data set (default: demo)",
    )
    # None leaves the setting to mtfcdd.workflows.demo.DemoSettings, which
    # the command line does not import: it would load Keras for --help.
    parser.add_argument("--epochs", type=positive_int, default=None, metavar="N", help="epochs (default: the demo's own)")
    parser.add_argument(
        "--steps-per-epoch", type=positive_int, default=None, metavar="N",
        help="batches per epoch (default: the demo's own)",
    )
    parser.add_argument(
        "--image-size", type=positive_int, default=None, metavar="PIXELS",
        help="model input side (default: the demo's own)",
    )
    parser.add_argument("--seed", type=non_negative_int, default=None, help="seed of data, model and order (default: the demo's own)")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an earlier demo's run in DIR/run (its data set is reused)"
    )
    parser.add_argument(
        "--tensorboard", action="store_true", default=None,
        help="also write TensorBoard logs to DIR/run/tensorboard",
    )
    add_speed_options(parser, defaults_from_config=False)
    add_json_option(parser)
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    from mtfcdd.workflows.demo import DemoSettings, run_demo

    overrides = {
        name: getattr(arguments, name)
        for name in ("preset", "epochs", "steps_per_epoch", "image_size", "seed", "tensorboard", "precision", "jit_compile")
        if getattr(arguments, name) is not None
    }
    settings = dataclasses.replace(DemoSettings(), **overrides)
    result = run_demo(
        arguments.out, backbone_weights_argument(arguments.backbone_weights), settings,
        overwrite=arguments.overwrite, verbose=0 if arguments.json else 1,
    )
    print_result(
        arguments, dataclasses.asdict(result),
        f"{result.table}\nResults, model and figures in {os.path.abspath(result.output_dir)}",
    )
    return 0
