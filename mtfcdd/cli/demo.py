"""`mtfcdd demo`: generate a data set, train, evaluate, draw, in minutes."""

import dataclasses
import os


def register(subparsers):
    parser = subparsers.add_parser(
        "demo", help="the main job on a generated data set: train, evaluate, figures (~10 min on 2 cores)"
    )
    parser.add_argument("--out", default="mtfcdd_demo", help="output folder (default: mtfcdd_demo)")
    parser.add_argument(
        "--backbone-weights", default="auto",
        help="auto (default: imagenet when it can be downloaded, else synthetic), imagenet, synthetic, none, or a file",
    )
    parser.add_argument("--preset", choices=("tiny", "demo", "full"), default="demo")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--steps-per-epoch", type=int, default=None)
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.set_defaults(handler=run)


def run(arguments):
    from mtfcdd.cli.options import backbone_weights_argument
    from mtfcdd.demo import DemoSettings, run_demo

    overrides = {
        name: getattr(arguments, name)
        for name in ("preset", "epochs", "steps_per_epoch", "image_size", "seed")
        if getattr(arguments, name) is not None
    }
    settings = dataclasses.replace(DemoSettings(), **overrides)
    result = run_demo(arguments.out, backbone_weights_argument(arguments.backbone_weights), settings)
    print(result.table)
    print(f"Results, model and figures in {os.path.abspath(result.output_dir)}")
    return 0
