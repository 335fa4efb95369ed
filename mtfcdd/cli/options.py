"""Command-line options shared by several verbs."""

DEFAULT_ALPHA = 0.1


def add_data_options(parser, alpha=True):
    """--data, --alpha, --resolution and --objects."""
    parser.add_argument("--data", required=True, help="data set root (holds realiad_jsons/ and the images)")
    if alpha:
        parser.add_argument(
            "--alpha", type=float, default=DEFAULT_ALPHA,
            help="FUIAD noise ratio of the split: 0.0, 0.1, 0.2 or 0.4 (default: 0.1)",
        )
    parser.add_argument("--resolution", default=None, help="image folder, e.g. realiad_256 (default: the only one)")
    parser.add_argument("--objects", default=None, help="comma-separated objects (default: all)")


def backbone_weights_argument(value):
    """'none' means random initialisation; anything else is passed on."""
    return None if value.lower() == "none" else value


def objects_argument(value):
    return tuple(name.strip() for name in value.split(",") if name.strip()) if value else None


# Literal here, so that `mtfcdd --help` needs no TensorFlow; the tests check
# them against mtfcdd.data.augmentation.AUGMENTATION_PRESETS,
# mtfcdd.data.balanced_sampler.SAMPLING_CLASSES and
# mtfcdd.metrics.evaluator.PIXEL_PROTOCOLS.
AUGMENTATION_CHOICES = ("authors", "mtfcdd-0.1", "none")
SAMPLING_CLASS_CHOICES = ("types", "binary")
PIXEL_PROTOCOL_CHOICES = ("per-type", "authors")


def add_paper_training_options(parser):
    """--epochs, --augmentation, --sampling-classes, --threshold-fraction:
    the training options whose defaults follow the paper or its authors'
    code (docs/realiad.md, "Differences from the paper")."""
    parser.add_argument(
        "--epochs", type=int, default=10,
        help="balanced epochs (default: 10, as the authors' code)",
    )
    parser.add_argument(
        "--augmentation", choices=AUGMENTATION_CHOICES, default="authors",
        help="authors (default: the authors' code's ranges), mtfcdd-0.1 (this "
        "package's earlier ones) or none; docs/training.md compares them",
    )
    parser.add_argument(
        "--sampling-classes", choices=SAMPLING_CLASS_CHOICES, default="types",
        help="classes balanced sampling draws uniformly: types (default: normal and "
        "each defect type, the paper) or binary (normal and defective, 50/50)",
    )
    parser.add_argument(
        "--threshold-fraction", type=float, default=0.0,
        help="fraction of each training class held out to fit the decision thresholds "
        "(default: 0: train on every image, fit them on the training split afterwards)",
    )


def paper_training_settings(arguments):
    """The ``TrainingConfig`` fields of ``add_paper_training_options``."""
    from mtfcdd.data.augmentation import AUGMENTATION_PRESETS

    return {
        "epochs": arguments.epochs,
        "augmentation": AUGMENTATION_PRESETS[arguments.augmentation],
        "sampling_classes": arguments.sampling_classes,
        "threshold_fraction": arguments.threshold_fraction,
    }


def add_pixel_protocol_option(parser):
    """--pixel-protocol: which images and masks the pixel metrics use."""
    parser.add_argument(
        "--pixel-protocol", choices=PIXEL_PROTOCOL_CHOICES, default="per-type",
        help="per-type (default: channel k on the normal and type-k images against the "
        "type-k masks) or authors (every channel on every image against its mask, as "
        "the authors' evaluate.py); docs/evaluation.md",
    )
