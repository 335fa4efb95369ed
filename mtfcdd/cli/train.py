"""`mtfcdd train`: train MultiTypeFCDD on Real-IAD or your own data set."""

from mtfcdd.cli.options import add_data_options, add_training_options, requested_training_config


def register(subparsers):
    parser = subparsers.add_parser(
        "train", help="train a model (paper defaults: Adam 1e-4, batch 32, balanced sampling)"
    )
    add_data_options(parser, label_noise=True)
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
    parser.set_defaults(handler=run)


def run(arguments):
    from mtfcdd.training.trainer import train

    config = requested_training_config(arguments, arguments.given_options)
    result = train(
        arguments.data, arguments.out, config=config, resume=arguments.resume,
        overwrite=arguments.overwrite,
    )
    if result.model_path is None:
        print(f"Training done on this worker; the chief writes the model to {arguments.out}.")
        return 0
    print(
        f"Model written to {result.model_path}: {result.training_images} training images, "
        f"{result.steps_per_epoch} steps per epoch, decision thresholds fitted on "
        f"{result.threshold_source}."
    )
    return 0
