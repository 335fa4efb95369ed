"""`mtfcdd train`: train MultiTypeFCDD on a Real-IAD-format data set."""

from mtfcdd.cli.options import add_data_options, add_training_options, training_config


def register(subparsers):
    parser = subparsers.add_parser(
        "train", help="train a model (paper defaults: Adam 1e-4, batch 32, balanced sampling)"
    )
    add_data_options(parser)
    parser.add_argument(
        "--out", required=True, metavar="DIR",
        help="output folder: config.json, checkpoint.keras, training_log.csv, model.keras",
    )
    parser.add_argument(
        "--resume", action="store_true",
        help="continue from the last checkpoint in --out, with its saved config; "
        "the other training options must be left out",
    )
    add_training_options(parser)
    parser.set_defaults(handler=run)


def run(arguments):
    from mtfcdd.training.trainer import train

    config = None if arguments.resume else training_config(arguments)
    result = train(arguments.data, arguments.out, config=config, resume=arguments.resume)
    if result.model_path is None:
        print(f"Training done on this worker; the chief writes the model to {arguments.out}.")
        return 0
    print(
        f"Model written to {result.model_path}: {result.training_images} training images, "
        f"{result.steps_per_epoch} steps per epoch, decision thresholds fitted on "
        f"{result.threshold_source}."
    )
    return 0
