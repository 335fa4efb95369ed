"""Command-line options that several verbs share, each declared once.

``add_training_options`` and ``training_config`` serve ``mtfcdd train`` and
every script in ``experiments/``: the options' defaults are read from
``TrainingConfig`` itself, so that the paper's numbers (299, 32, 1e-4, ...)
are written in one place.
"""

from mtfcdd.constants import FUIAD_ALPHAS, PIXEL_PROTOCOLS, PRECISIONS, SAMPLING_CLASSES, STRATEGIES
from mtfcdd.data.augmentation import AUGMENTATION_PRESETS
from mtfcdd.training.config import TrainingConfig

# The TrainingConfig fields that the training options set.
_TRAINING_FIELDS = (
    "multi_class", "image_size", "backbone_weights", "batch_size", "learning_rate",
    "epochs", "steps_per_epoch", "balanced", "sampling_classes", "augmentation",
    "threshold_fraction", "seed", "strategy", "tensorboard", "jit_compile", "precision",
)


def add_data_options(parser, alpha=True, objects=True, required=True):
    """``--data``, ``--alpha``, ``--resolution`` and ``--objects``."""
    parser.add_argument(
        "--data", required=required, metavar="ROOT",
        help="data set root in Real-IAD's layout (holds realiad_jsons/ and the image folder)",
    )
    if alpha:
        parser.add_argument(
            "--alpha", type=float, default=TrainingConfig.alpha,
            help=f"FUIAD noise ratio of the split, one of {', '.join(map(str, FUIAD_ALPHAS))} "
            "(default: %(default)s)",
        )
    parser.add_argument(
        "--resolution", default=None,
        help="image folder under ROOT, e.g. realiad_256 or 256 (default: the only one)",
    )
    if objects:
        parser.add_argument(
            "--objects", default=None, type=objects_argument,
            help="comma-separated objects to use, e.g. audiojack,pcb (default: all)",
        )


def add_training_options(parser, fixed=()):
    """The options of a ``TrainingConfig``, but for the fields in ``fixed``.

    The experiment scripts fix ``multi_class`` (their name says which
    setting they run); ``mtfcdd train`` offers it.
    """
    defaults = TrainingConfig()
    group = parser.add_argument_group(
        "training (defaults: the paper's, or its authors' code's where it is silent; docs/realiad.md)"
    )
    if "multi_class" not in fixed:
        group.add_argument(
            "--multi-class", action="store_true",
            help="one 'any defect' heatmap (K = 1, paper 5.2) instead of one per type",
        )
    group.add_argument(
        "--image-size", type=int, default=defaults.image_size, metavar="PIXELS",
        help="side of the square model input (default: %(default)s)",
    )
    group.add_argument(
        "--backbone-weights", type=backbone_weights_argument, default=defaults.backbone_weights,
        metavar="WEIGHTS",
        help="imagenet (default; Keras downloads and caches them), synthetic (shipped, "
        "trained on synthetic images only), none (random), or a weights file",
    )
    group.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, metavar="N",
        help="images per training step (default: %(default)s)",
    )
    group.add_argument(
        "--learning-rate", type=float, default=defaults.learning_rate, metavar="RATE",
        help="Adam's learning rate (default: %(default)s)",
    )
    group.add_argument(
        "--epochs", type=int, default=defaults.epochs, metavar="N",
        help="balanced epochs to train (default: %(default)s, as the authors' code)",
    )
    group.add_argument(
        "--steps-per-epoch", type=int, default=defaults.steps_per_epoch, metavar="N",
        help="batches per epoch (default: the balanced epoch's expected length, paper Eq. 4)",
    )
    group.add_argument(
        "--no-balanced", dest="balanced", action="store_false",
        help="draw images uniformly, every image once per pass, instead of balanced sampling (paper 4.2)",
    )
    group.add_argument(
        "--sampling-classes", choices=tuple(SAMPLING_CLASSES), default=defaults.sampling_classes,
        help="the classes balanced sampling draws uniformly: types (normal and each defect "
        "type, the paper) or binary (normal and defective, 50/50); default: %(default)s",
    )
    group.add_argument(
        "--augmentation", choices=tuple(AUGMENTATION_PRESETS), default=_preset_name(defaults.augmentation),
        help="random rotation, translation, brightness and contrast (paper 4.3.2): authors "
        "(the authors' code's ranges), mtfcdd-0.1 (this package's earlier ones) or none; "
        "docs/training.md compares them (default: %(default)s)",
    )
    group.add_argument(
        "--threshold-fraction", type=float, default=defaults.threshold_fraction, metavar="F",
        help="fraction of each training class held out from training to fit the per-type "
        "decision thresholds on (default: %(default)s: train on every image, fit them on "
        "the training split afterwards)",
    )
    group.add_argument(
        "--seed", type=int, default=defaults.seed,
        help="seed of the initialisation, the data order and the augmentation (default: %(default)s)",
    )
    group.add_argument(
        "--strategy", choices=STRATEGIES, default=defaults.strategy,
        help="default: one device; mirrored: tf.distribute over every visible GPU; "
        "multi-worker: several machines, configured by the TF_CONFIG environment variable "
        "(docs/training.md); --batch-size is the global batch",
    )
    group.add_argument(
        "--tensorboard", action="store_true", help="also write TensorBoard logs to OUT/tensorboard"
    )
    add_speed_options(group)


def add_speed_options(parser):
    """``--jit-compile`` and ``--precision``: how the training step runs."""
    defaults = TrainingConfig()
    parser.add_argument(
        "--jit-compile", action="store_true", default=defaults.jit_compile,
        help="compile the training step with XLA (faster on a GPU, slower on a CPU; "
        "only with --strategy default)",
    )
    parser.add_argument(
        "--precision", choices=PRECISIONS, default=defaults.precision,
        help="float32, or mixed precision with bfloat16 (CPUs with AVX512-BF16 or AMX, "
        "GPUs from Ampere on) or float16 (older GPUs; loss scaling); the heatmaps, scores "
        "and loss stay float32 (default: %(default)s)",
    )


def training_config(arguments, **fixed):
    """The ``TrainingConfig`` that parsed options describe.

    Args:
        arguments: the ``argparse`` namespace of a parser given
            ``add_data_options`` and ``add_training_options``.
        **fixed: fields set by the caller rather than the options, e.g.
            ``alpha`` and ``multi_class`` of an experiment script.
    """
    values = {
        name: getattr(arguments, name) for name in _TRAINING_FIELDS if hasattr(arguments, name)
    }
    for name in ("alpha", "resolution", "objects"):
        if hasattr(arguments, name):
            values[name] = getattr(arguments, name)
    if "augmentation" in values:
        values["augmentation"] = AUGMENTATION_PRESETS[values["augmentation"]]
    values.update(fixed)
    return TrainingConfig(**values)


def add_pixel_protocol_option(parser):
    """``--pixel-protocol``: which images and masks the pixel metrics use."""
    parser.add_argument(
        "--pixel-protocol", choices=PIXEL_PROTOCOLS, default=PIXEL_PROTOCOLS[0],
        help="per-type (channel k on the normal and type-k images against the type-k "
        "masks) or authors (every channel on every image against its own mask, as the "
        "authors' evaluate.py); docs/evaluation.md (default: %(default)s)",
    )


def _preset_name(augmentation):
    """The name of ``augmentation`` in ``AUGMENTATION_PRESETS``."""
    return next(name for name, preset in AUGMENTATION_PRESETS.items() if preset == augmentation)


def backbone_weights_argument(value):
    """'none' means random initialisation; anything else is passed on."""
    return None if value.lower() == "none" else value


def objects_argument(value):
    """``"a, b"`` -> ``("a", "b")``; empty -> None (every object)."""
    return tuple(name.strip() for name in value.split(",") if name.strip()) or None
