"""`mtfcdd data synth|verify`: make a synthetic data set, check a data set."""

import json


def register(subparsers):
    parser = subparsers.add_parser(
        "data", help="make a synthetic Real-IAD-format data set, or verify one"
    )
    data_commands = parser.add_subparsers(dest="data_command", metavar="ACTION")
    data_commands.required = True

    synth = data_commands.add_parser(
        "synth", help="write a synthetic data set in Real-IAD's exact layout"
    )
    synth.add_argument("output", help="folder to write the data set to")
    synth.add_argument(
        "--preset", choices=("tiny", "demo", "full"), default="demo",
        help="size of the data set (default: demo)",
    )
    synth.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    synth.set_defaults(handler=_run_synth)

    verify = data_commands.add_parser(
        "verify",
        help="check every split, image and mask of a Real-IAD-format data set",
    )
    verify.add_argument("root", help="data set root (holds realiad_jsons/)")
    verify.add_argument(
        "--resolution",
        help="image folder under ROOT, e.g. realiad_256 or 256 "
        "(needed when ROOT holds several)",
    )
    verify.add_argument(
        "--workers", type=int, default=None,
        help="threads decoding images (default: one per CPU)",
    )
    verify.add_argument(
        "--json", action="store_true",
        help="print the report as JSON, without a progress bar",
    )
    verify.set_defaults(handler=_run_verify)


def _run_synth(arguments):
    from mtfcdd.data.synthetic import make_synthetic_iad

    root = make_synthetic_iad(arguments.output, preset=arguments.preset, seed=arguments.seed)
    print(f"synthetic data set written to {root}")


def _run_verify(arguments):
    # Imported here so that `mtfcdd --help` does not wait for Keras.
    from mtfcdd.data.realiad import verify_dataset

    report = verify_dataset(
        arguments.root,
        resolution=arguments.resolution,
        workers=arguments.workers,
        verbose=0 if arguments.json else 1,
    )
    if arguments.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.to_text())
    return 0 if report.ok else 1
