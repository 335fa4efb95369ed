"""`mtfcdd data synth|verify`: make a synthetic data set, check a data set."""

from mtfcdd.cli.json_output import add_json_option, print_result
from mtfcdd.cli.options import non_negative_int, positive_int
from mtfcdd.data.synthetic.presets import PRESETS


def register(subparsers):
    parser = subparsers.add_parser(
        "data", help="make a synthetic Real-IAD-format data set, or verify one"
    )
    data_commands = parser.add_subparsers(dest="data_command", metavar="ACTION")
    data_commands.required = True

    synth = data_commands.add_parser(
        "synth", help="write a synthetic data set in Real-IAD's exact layout"
    )
    synth.add_argument("output", metavar="OUT", help="folder to write the data set to (new or empty)")
    synth.add_argument(
        "--preset", choices=tuple(PRESETS), default="demo",
        help="size of the data set: tiny (220 images), demo (2,570) or full (15,630); default: %(default)s",
    )
    synth.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: 0)")
    add_json_option(synth)
    synth.set_defaults(handler=_run_synth)

    verify = data_commands.add_parser(
        "verify",
        help="check every split, image and mask of a Real-IAD-format data set",
    )
    verify.add_argument("root", metavar="ROOT", help="data set root (holds realiad_jsons/)")
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


def _run_synth(arguments):
    from mtfcdd.data.synthetic.dataset import make_synthetic_iad

    root = make_synthetic_iad(
        arguments.output, preset=arguments.preset, seed=arguments.seed, progress=not arguments.json
    )
    print_result(
        arguments, {"root": root, "preset": arguments.preset, "seed": arguments.seed},
        f"synthetic data set written to {root}",
    )


def _run_verify(arguments):
    from mtfcdd.data.realiad.verify import verify_dataset

    report = verify_dataset(
        arguments.root,
        resolution=arguments.resolution,
        workers=arguments.workers,
        verbose=0 if arguments.json else 1,
    )
    print_result(arguments, report.to_dict(), report.to_text())
    return 0 if report.ok else 1
