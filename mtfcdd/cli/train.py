"""`mtfcdd train`: train MultiTypeFCDD on Real-IAD or your own data set."""

from __future__ import annotations

import argparse

from mtfcdd.cli.json_output import add_json_option, print_result
from mtfcdd.cli.options import UsageError, add_data_options, add_training_options, requested_training_config


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "train", help="train a model (paper defaults: Adam 1e-4, batch 32, balanced sampling)"
    )
    # --data may come from --config (a run's config.json records it).
    add_data_options(parser, required=False, label_noise=True)
    parser.add_argument(
        "--out", required=True, metavar="DIR",
        help="output folder: config.json, checkpoint.keras, training_log.csv, model.keras; "
        "a folder that holds a run needs --resume or --overwrite",
    )
    parser.add_argument(
        "--resume", action="store_true",
        help="continue the run in --out from its last checkpoint, with its saved settings; "
        "--epochs (to extend it) and --learning-rate may change, other options must match",
    )
    parser.add_argument(
        "--overwrite", action="store_true",
        help="replace the run in --out (its files are deleted first)",
    )
    add_training_options(parser)
    add_json_option(parser)
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    from mtfcdd.training.trainer import train

    config = requested_training_config(arguments, arguments.given_options)
    result = train(
        _data_root(arguments), arguments.out, config=config, resume=arguments.resume,
        overwrite=arguments.overwrite, verbose=0 if arguments.json else 1,
    )
    if result.model_path is None:
        text = f"Training done on this worker; the chief writes the model to {arguments.out}."
    else:
        text = (
            f"Model written to {result.model_path}: {result.training_images} training images, "
            f"{result.steps_per_epoch} steps per epoch, decision thresholds fitted on "
            f"{result.threshold_source}."
        )
    print_result(arguments, result.to_dict(), text)
    return 0


def _data_root(arguments):
    """--data, or the data set that the --config file or the resumed run records."""
    import os

    from mtfcdd.training.run_folder import CONFIG_FILE, recorded_data_root

    recorded_in = arguments.config
    if arguments.resume and os.path.isfile(os.path.join(arguments.out, CONFIG_FILE)):
        recorded_in = os.path.join(arguments.out, CONFIG_FILE)
    data_root = arguments.data
    if data_root is None and recorded_in is not None:
        data_root = recorded_data_root(recorded_in)
    if data_root is None:
        raise UsageError("give --data ROOT (a run's config.json, given with --config or resumed, records it).")
    return data_root
