"""`mtfcdd train`: train MultiTypeFCDD on a Real-IAD-format data set."""

from mtfcdd.cli.options import (
    add_data_options,
    add_paper_training_options,
    backbone_weights_argument,
    objects_argument,
    paper_training_settings,
)


def register(subparsers):
    parser = subparsers.add_parser(
        "train", help="train a model (paper defaults: Adam 1e-4, batch 32, balanced sampling)"
    )
    add_data_options(parser)
    parser.add_argument("--out", required=True, help="output folder (checkpoints, logs, model.keras)")
    parser.add_argument(
        "--resume", action="store_true",
        help="continue from the last checkpoint in --out, with its saved config; "
        "the other training options must be left out",
    )
    parser.add_argument("--multi-class", action="store_true", help="one 'any defect' heatmap (K = 1, paper 5.2)")
    parser.add_argument("--image-size", type=int, default=299, help="model input side (default: 299)")
    parser.add_argument(
        "--backbone-weights", type=backbone_weights_argument, default="imagenet",
        help="imagenet (default), none, or a weights file path",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument(
        "--steps-per-epoch", type=int, default=None,
        help="batches per epoch (default: one balanced epoch, paper Eq. 4)",
    )
    parser.add_argument("--no-balanced", action="store_true", help="plain shuffling instead of balanced sampling")
    add_paper_training_options(parser)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strategy", choices=("default", "mirrored"), default="default")
    parser.add_argument("--tensorboard", action="store_true")
    parser.set_defaults(handler=run)


def run(arguments):
    from mtfcdd.training import TrainingConfig, train

    config = None
    if not arguments.resume:
        config = TrainingConfig(
            alpha=arguments.alpha, multi_class=arguments.multi_class,
            image_size=arguments.image_size, backbone_weights=arguments.backbone_weights,
            batch_size=arguments.batch_size, learning_rate=arguments.learning_rate,
            steps_per_epoch=arguments.steps_per_epoch,
            balanced=not arguments.no_balanced, seed=arguments.seed,
            resolution=arguments.resolution, objects=objects_argument(arguments.objects),
            strategy=arguments.strategy, tensorboard=arguments.tensorboard,
            **paper_training_settings(arguments),
        )
    result = train(arguments.data, arguments.out, config=config, resume=arguments.resume)
    print(
        f"Model written to {result.model_path}: {result.training_images} training images, "
        f"{result.steps_per_epoch} steps per epoch, decision thresholds fitted on "
        f"{result.threshold_source}."
    )
    return 0

