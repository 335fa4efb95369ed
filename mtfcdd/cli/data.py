"""`mtfcdd data synth|verify`: make a synthetic data set, check a data set."""

from __future__ import annotations

import argparse

from mtfcdd.cli.json_output import add_json_option, print_result
from mtfcdd.cli.options import non_negative_int, objects_argument, positive_int
from mtfcdd.constants import DATA_LAYOUTS, DEFAULT_NORMAL_NAME
from mtfcdd.data.synthetic.presets import PRESETS


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "data", help="make a synthetic data set (Real-IAD's or the folder layout), or verify one"
    )
    data_commands = parser.add_subparsers(dest="data_command", metavar="ACTION")
    data_commands.required = True

    synth = data_commands.add_parser(
        "synth", help="write a synthetic data set in Real-IAD's exact layout or the folder layout"
    )
    synth.add_argument("output", metavar="OUT", help="folder to write the data set to (new or empty)")
    synth.add_argument(
        "--preset", choices=tuple(PRESETS), default="demo",
        help="size of the data set: tiny (220 images), demo (2,570) or full (15,630); default: %(default)s",
    )
    synth.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: 0)")
    add_json_option(synth)
    synth.add_argument(
        "--layout", choices=("realiad", "folder", "mvtec"), default="realiad",
        help="realiad: Real-IAD's folders and JSON splits; folder: OUT/train/<class>/, "
        "OUT/test/<class>/, OUT/masks/; mvtec: MVTec AD's OUT/<object>/train|test|ground_truth "
        "(default: %(default)s)",
    )
    synth.add_argument(
        "--types", type=objects_argument, default=None, metavar="A,B,C",
        help="with --layout folder or mvtec: your defect type names, e.g. crack,dent,stain, drawn with "
        "the renderer's defect kinds in turn (default: the kinds' codes)",
    )
    synth.set_defaults(handler=_run_synth)

    verify = data_commands.add_parser(
        "verify",
        help="check every split, image and mask of a data set in any layout, listing every problem",
    )
    verify.add_argument(
        "root", metavar="ROOT",
        help="data set root (Real-IAD's, the folder or MVTec layout's) or a manifest .csv",
    )
    verify.add_argument(
        "--layout", choices=DATA_LAYOUTS, default="auto",
        help="the data set's layout (default: found from what ROOT holds)",
    )
    verify.add_argument(
        "--normal-name", default=None, metavar="NAME",
        help=f"the normal class's folder or label (default: {DEFAULT_NORMAL_NAME})",
    )
    verify.add_argument(
        "--resolution", metavar="FOLDER",
        help="image folder under ROOT, e.g. realiad_256 or 256 "
        "(needed when ROOT holds several)",
    )
    verify.add_argument(
        "--workers", type=positive_int, default=None, metavar="N",
        help="threads decoding images (default: one per CPU)",
    )
    add_json_option(verify)
    verify.set_defaults(handler=_run_verify)


def _run_synth(arguments: argparse.Namespace) -> None:
    from mtfcdd.data.synthetic.layouts import make_synthetic_dataset

    root = make_synthetic_dataset(
        arguments.output, layout=arguments.layout, types=arguments.types,
        preset=arguments.preset, seed=arguments.seed, progress=not arguments.json,
    )
    print_result(
        arguments, {"root": root, "preset": arguments.preset, "seed": arguments.seed},
        f"synthetic data set written to {root}",
    )


def _run_verify(arguments: argparse.Namespace) -> int:
    from mtfcdd.data.layouts import detect_layout

    layout = detect_layout(arguments.root) if arguments.layout == "auto" else arguments.layout
    verbose = 0 if arguments.json else 1
    if layout == "realiad":
        from mtfcdd.data.realiad.verify import verify_dataset

        report = verify_dataset(
            arguments.root, resolution=arguments.resolution, workers=arguments.workers, verbose=verbose,
        )
    else:
        from mtfcdd.data.verify import verify_layout

        report = verify_layout(
            arguments.root, layout, normal_name=arguments.normal_name, workers=arguments.workers,
            verbose=verbose,
        )
    print_result(arguments, report.to_dict(), report.to_text())
    return 0 if report.ok else 1
