"""Command-line options that several verbs share, each declared once.

``add_training_options`` and ``training_config`` serve ``mtfcdd train`` and
every script in ``experiments/``: the options' defaults are read from
``TrainingConfig`` itself, so that the paper's numbers (299, 32, 1e-4, ...)
are written in one place. ``add_model_options`` and ``load_model`` serve the
verbs that run a model (``predict``, ``evaluate``, ``serve``): a ``.keras``
file, or a converted one with ``--tflite``, ``--onnx`` or ``--openvino``.
"""

import argparse
import dataclasses
import importlib
import math

from mtfcdd.constants import (
    AUPRO_INTEGRATIONS,
    DATA_LAYOUTS,
    DEFAULT_NORMAL_NAME,
    FUIAD_ALPHAS,
    MASK_RESIZINGS,
    PIXEL_PROTOCOLS,
    PRECISIONS,
    SAMPLING_CLASSES,
    STRATEGIES,
)
from mtfcdd.data.augmentation import AUGMENTATION_PRESETS
from mtfcdd.evaluation.presets import EVALUATION_FIELDS, EVALUATION_PRESETS, evaluation_settings
from mtfcdd.inference.open_set import OPEN_SET_METHODS
from mtfcdd.training.config import TRAINING_PRESETS, TrainingConfig

# The TrainingConfig fields that the training options set.
_TRAINING_FIELDS = (
    "multi_class", "image_size", "backbone_weights", "batch_size", "learning_rate",
    "epochs", "steps_per_epoch", "balanced", "sampling_classes", "augmentation",
    "threshold_fraction", "seed", "strategy", "tensorboard", "jit_compile", "precision",
    "open_set_method",
)

# The TrainingConfig fields that the data options set.
_DATA_FIELDS = (
    "alpha", "resolution", "objects", "layout", "types", "normal_name", "label_noise",
    "defect_train_fraction", "exclude_types",
)


def add_data_options(parser, alpha=True, objects=True, required=True, label_noise=False):
    """``--data``, ``--layout``, ``--alpha``, ``--resolution``, ``--objects``,
    ``--types``, ``--normal-name`` (and ``--label-noise`` for training)."""
    parser.add_argument(
        "--data", required=required, metavar="ROOT",
        help="data set root: Real-IAD's layout (holds realiad_jsons/), or your own images in "
        "the folder layout (ROOT/train/<class>/, ROOT/test/<class>/; docs/data.md)",
    )
    parser.add_argument(
        "--layout", choices=DATA_LAYOUTS, default=None,
        help="the data set's layout (default: found from what ROOT holds)",
    )
    if alpha:
        parser.add_argument(
            "--alpha", type=alpha_argument, default=TrainingConfig.alpha,
            help=f"Real-IAD's FUIAD noise ratio of the split, one of {', '.join(map(str, FUIAD_ALPHAS))} "
            "(default: 0.1; other layouts have none)",
        )
    parser.add_argument(
        "--types", default=None, type=objects_argument, metavar="A,B,C",
        help="your data set's defect types in channel order (default: sorted by name; a "
        "trained model's own order when it reads test data)",
    )
    parser.add_argument(
        "--normal-name", default=None, metavar="NAME",
        help=f"the folder of normal images in the folder layout, e.g. OK (default: {DEFAULT_NORMAL_NAME})",
    )
    parser.add_argument(
        "--defect-train-fraction", type=float, default=None, metavar="F",
        help="MVTec AD's layout: the seeded fraction of each type's test images moved into "
        "training, never tested on (default: 0.5; the same for evaluate as for train)",
    )
    if label_noise:
        parser.add_argument(
            "--exclude-types", default=None, type=objects_argument, metavar="A,B",
            help="defect types left out of training, their images and channels (e.g. to see "
            "them flagged as unknown defects; docs/open_set.md); default: none",
        )
        parser.add_argument(
            "--label-noise", type=float, default=None, metavar="F",
            help="emulate FUIAD's noise on your own data: relabel this seeded fraction of each "
            "type's defective training images normal (default: none)",
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
    add_preset_option(group)
    group.add_argument(
        "--config", metavar="FILE",
        help="start from the settings in FILE: a run's config.json (which repeats that run), or "
        "the same fields in JSON or YAML (.yaml, with PyYAML); the options given here override it",
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
        "--open-set", dest="open_set_method", type=open_set_argument, default=defaults.open_set_method,
        metavar="METHOD",
        help=f"the rule, fitted after the thresholds, that calls an image no type fires on an "
        f"'unknown defect': {', '.join(OPEN_SET_METHODS)} or none (off); the known types' "
        "answers are the same either way (default: %(default)s)",
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


def add_speed_options(parser, defaults_from_config=True):
    """``--jit-compile`` and ``--precision``: how the training step runs.

    With ``defaults_from_config`` False both default to None, which leaves
    them to the caller's own settings (the demo's).
    """
    config = TrainingConfig()
    jit_compile, precision = (config.jit_compile, config.precision) if defaults_from_config else (None, None)
    parser.add_argument(
        "--jit-compile", action="store_true", default=jit_compile,
        help="compile the training step with XLA (faster on a GPU, slower on a CPU; "
        "only with --strategy default)",
    )
    parser.add_argument(
        "--precision", choices=PRECISIONS, default=precision,
        help="float32, or mixed precision with bfloat16 (CPUs with AVX512-BF16 or AMX, "
        "GPUs from Ampere on) or float16 (older GPUs; loss scaling); the heatmaps, scores "
        "and loss stay float32 (default: " + ("%(default)s)" if defaults_from_config else "the demo's own)"),
    )


def training_config(arguments, base=None, given=None, **fixed):
    """The ``TrainingConfig`` that parsed options describe.

    Args:
        arguments: the ``argparse`` namespace of a parser given
            ``add_data_options`` and ``add_training_options``.
        base: a config to start from (a resumed run's saved one): then only
            the options in ``given`` change it, not the defaulted ones.
        given: the options given on the command line (``given_options``);
            every option when None.
        **fixed: fields set by the caller rather than the options, e.g.
            ``alpha`` and ``multi_class`` of an experiment script.
    """
    values = {
        name: getattr(arguments, name)
        for name in _TRAINING_FIELDS + _DATA_FIELDS
        if hasattr(arguments, name) and (given is None or name in given)
    }
    if "augmentation" in values:
        values["augmentation"] = AUGMENTATION_PRESETS[values["augmentation"]]
    values.update(fixed)
    try:
        if base is not None:
            return dataclasses.replace(base, **values)
        return TrainingConfig(**values)
    except ValueError as error:
        raise UsageError(str(error)) from None


def requested_training_config(arguments, given, **fixed):
    """The ``TrainingConfig`` a training command asks for.

    With ``--resume``, the run's saved config; with ``--config FILE``, the
    file's; with ``--preset``, the preset's; each changed only by the
    options in ``given`` (``given_options``); otherwise
    ``training_config``'s. ``**fixed`` as for ``training_config``; a file
    that sets one of them otherwise is refused.
    """
    if arguments.config is not None and arguments.resume:
        raise UsageError("--resume continues with the run's saved settings: leave out --config.")
    if arguments.config is not None and arguments.preset != "paper":
        raise UsageError("--config FILE holds every setting: leave out --preset.")
    if arguments.resume:
        from mtfcdd.training.run_folder import read_saved_config

        base, _ = read_saved_config(arguments.out)
    elif arguments.config is not None:
        from mtfcdd.training.run_folder import read_config_file

        base, _ = read_config_file(arguments.config)
        for name, value in fixed.items():
            if getattr(base, name) != value:
                raise UsageError(
                    f"{arguments.config}: {name} is {getattr(base, name)!r}, but this command "
                    f"runs {name} = {value!r}."
                )
    elif arguments.preset != "paper":
        base = TrainingConfig.from_preset(arguments.preset)
    else:
        return training_config(arguments, **fixed)
    return training_config(arguments, base=base, given=given, **fixed)


def given_options(parser, argv=None):
    """The destinations of the options given on the command line, not defaulted.

    ``argv`` is parsed again with every default suppressed, so that
    ``mtfcdd train --out DIR --resume`` can tell a given ``--batch-size 32``
    (which must match the saved run) from the default 32 (which must not
    replace the saved value).
    """
    actions = list(_all_actions(parser))
    defaults = [action.default for action in actions]
    try:
        for action in actions:
            action.default = argparse.SUPPRESS
        namespace = parser.parse_args(argv)
    finally:
        for action, default in zip(actions, defaults):
            action.default = default
    return {action.dest for action in actions if hasattr(namespace, action.dest)}


def needs_given_options(arguments):
    """Whether the command must tell given options from defaulted ones: a
    resumed training (the saved config stays but for the given options), a
    preset other than the paper's and a ``--config`` file (idem for their
    values)."""
    return (
        getattr(arguments, "resume", False) or getattr(arguments, "preset", "paper") != "paper"
        or getattr(arguments, "config", None) is not None
    )


def _all_actions(parser):
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                yield from _all_actions(subparser)


class UsageError(ValueError):
    """A value out of its range, found after parsing (e.g. by ``TrainingConfig``):
    ``mtfcdd.cli.main`` exits with status 2, as for argparse's own usage errors."""


def alpha_argument(value):
    """An ``argparse`` type: one of the FUIAD noise ratios."""
    expected = f"one of {', '.join(map(str, FUIAD_ALPHAS))} (Real-IAD's FUIAD splits)"
    return _bounded(float, value, lambda number: number in FUIAD_ALPHAS, expected)


def positive_int(value):
    """An ``argparse`` type: a whole number >= 1."""
    return _bounded(int, value, lambda number: number >= 1, "a whole number >= 1")


def non_negative_int(value):
    """An ``argparse`` type: a whole number >= 0."""
    return _bounded(int, value, lambda number: number >= 0, "a whole number >= 0")


def positive_float(value):
    """An ``argparse`` type: a finite number > 0."""
    return _bounded(float, value, lambda number: math.isfinite(number) and number > 0, "a finite number > 0")


def port_number(value):
    """An ``argparse`` type: a TCP port, 0 (any free one) to 65535."""
    return _bounded(int, value, lambda number: 0 <= number <= 65535, "a TCP port, 0 to 65535")


def _bounded(kind, value, is_valid, expected):
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or not is_valid(number):
        raise argparse.ArgumentTypeError(f"expected {expected}; got {value!r}")
    return number


def add_pixel_protocol_option(parser):
    """``--pixel-protocol``: which images and masks the pixel metrics use."""
    parser.add_argument(
        "--pixel-protocol", choices=PIXEL_PROTOCOLS, default=EVALUATION_PRESETS["paper"]["pixel_protocol"],
        help="per-type (channel k on the normal and type-k images against the type-k "
        "masks) or authors (every channel on every image against its own mask, as the "
        "authors' evaluate.py); docs/evaluation.md (default: %(default)s)",
    )


def add_preset_option(parser):
    """``--preset``: the paper's settings or the authors' code's."""
    parser.add_argument(
        "--preset", choices=tuple(TRAINING_PRESETS), default="paper",
        help="paper (the paper's settings, or its authors' code's where it is silent) or authors "
        "(what the authors' published code runs: batch 256, backbone BatchNorm in training "
        "mode, [0, 1] input, max score, their pixel protocol and AUPRO, ...); options given "
        "beside it change it; docs/realiad.md (default: %(default)s)",
    )


def add_evaluation_options(parser):
    """``--pixel-protocol``, ``--aupro`` and ``--mask-resizing``: how the
    pixel metrics are computed; their defaults are the paper preset's."""
    add_pixel_protocol_option(parser)
    for flag, choices, description in (
        ("--aupro", AUPRO_INTEGRATIONS, "exact (MVTec AD: every distinct score a threshold, "
         "interpolated at FPR 0.3) or authors (the authors' evaluate.py: 1,000 equally spaced "
         "thresholds, the point past FPR 0.3 kept, clipped to [0, 1]); docs/evaluation.md"),
        ("--mask-resizing", MASK_RESIZINGS, "nearest (keeps the masks' area) or bicubic then > 0 "
         "(the authors' evaluate.py, grows them by up to a pixel)"),
    ):
        parser.add_argument(
            flag, choices=choices, default=EVALUATION_PRESETS["paper"][flag[2:].replace("-", "_")],
            help=f"{description} (default: %(default)s)",
        )


def requested_evaluation_settings(arguments, given):
    """``evaluate``'s settings (``evaluation_settings``) that the options ask
    for: those of ``--preset``, changed by the options in ``given`` (every
    option when None)."""
    return evaluation_settings(arguments.preset, **{
        name: getattr(arguments, name) for name in EVALUATION_FIELDS
        if hasattr(arguments, name) and (given is None or name in given)
    })


def _preset_name(augmentation):
    """The name of ``augmentation`` in ``AUGMENTATION_PRESETS``."""
    return next(name for name, preset in AUGMENTATION_PRESETS.items() if preset == augmentation)


def backbone_weights_argument(value):
    """'none' means random initialisation; anything else is passed on."""
    return None if value.lower() == "none" else value


def open_set_argument(value):
    """``--open-set``: a method of ``OPEN_SET_METHODS``, or ``none`` (None)."""
    if value == "none":
        return None
    if value not in OPEN_SET_METHODS:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(OPEN_SET_METHODS)} or none; got {value!r}")
    return value


def objects_argument(value):
    """``"a, b"`` -> ``("a", "b")`` (``--objects``, ``--types``); a value
    naming nothing is refused (leaving the option out means all of them)."""
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    if not names:
        raise argparse.ArgumentTypeError(
            f"{value!r} names nothing; give comma-separated names, or leave the option out to use all"
        )
    return names


# The option of each converted format: (metavar, runtime and extra in words,
# the runner's module and class), for add_model_options and load_model.
CONVERTED_MODEL_OPTIONS = {
    "tflite": (
        "MODEL.tflite", 'a converted LiteRT file (pip install "mtfcdd[litert]")',
        "mtfcdd.deploy.runner", "LiteRTModel",
    ),
    "onnx": (
        "MODEL.onnx", 'a converted ONNX file, run with onnxruntime (pip install "mtfcdd[onnx]")',
        "mtfcdd.deploy.onnx_runner", "OnnxModel",
    ),
    "openvino": (
        "MODEL.xml", "a converted OpenVINO file (its .bin beside it), run with OpenVINO "
        '(pip install "mtfcdd[openvino]")',
        "mtfcdd.deploy.openvino_runner", "OpenVinoModel",
    ),
}


def add_model_options(parser):
    """``--tflite``, ``--onnx``, ``--openvino`` and ``--delegate``: a converted
    model instead of MODEL; ``--precision``: a Keras model's dtype policy.

    The verb declares MODEL itself (its place among the positionals differs);
    ``load_model`` reads all of them.
    """
    converted = parser.add_mutually_exclusive_group()
    for name, (metavar, description, _, _) in CONVERTED_MODEL_OPTIONS.items():
        converted.add_argument(
            f"--{name}", metavar=metavar,
            help=f"{description}, with its .json sidecar beside it, instead of a .keras model: "
            "runs without Keras or TensorFlow",
        )
    parser.add_argument(
        "--precision", choices=PRECISIONS, default="float32",
        help="what a .keras model computes in: float32, or mixed precision with bfloat16 (CPUs "
        "with AVX512-BF16 or AMX, GPUs from Ampere on) or float16 (GPUs); the heatmaps, "
        "scores and thresholds stay float32. A converted file computes in the format it was "
        "converted to (default: %(default)s)",
    )
    parser.add_argument(
        "--delegate", action="append", metavar="PATH",
        help="with --tflite: a LiteRT delegate library to run the model on, e.g. libedgetpu.so.1 "
        "(Coral Edge TPU) or a GPU delegate; repeat for several (default: the CPU)",
    )


def converted_model_given(arguments):
    """Whether the command line names a converted file (``--tflite``, ...)."""
    return any(getattr(arguments, name) is not None for name in CONVERTED_MODEL_OPTIONS)


def load_model(arguments, model_path=None):
    """The model the command line names, as a ``HeatmapModel``.

    Args:
        arguments: the namespace of a parser given ``add_model_options``.
        model_path: the verb's MODEL positional (a ``.keras`` file), or None.

    Returns:
        A ``mtfcdd.inference.heatmap_model.HeatmapModel`` whose
        ``model_file`` is the file loaded.
    """
    from mtfcdd.inference.heatmap_model import heatmap_model

    converted = {
        name: getattr(arguments, name) for name in CONVERTED_MODEL_OPTIONS
        if getattr(arguments, name) is not None
    }
    if len(converted) + (model_path is not None) != 1:
        *others, last = (f"--{name} FILE" for name in CONVERTED_MODEL_OPTIONS)
        raise ValueError(f"Give the model: a .keras file, {', '.join(others)} or {last} (one of them).")
    if arguments.delegate and arguments.tflite is None:
        raise ValueError("--delegate applies to a LiteRT model: give it with --tflite FILE.")
    if converted:
        ((name, path),) = converted.items()
        if arguments.precision != "float32":
            raise UsageError(
                f"--precision {arguments.precision} applies to a .keras model; --{name} {path} "
                "computes in the format it was converted to: leave out --precision."
            )
        _, _, module, class_name = CONVERTED_MODEL_OPTIONS[name]
        runner = getattr(importlib.import_module(module), class_name)
        options = {"delegates": arguments.delegate} if name == "tflite" else {}
        return heatmap_model(runner(path, **options))
    from mtfcdd.model.saving import load_trained_model

    model = load_trained_model(model_path)
    if arguments.precision != "float32":
        from mtfcdd.training.precision import model_in_precision

        model = model_in_precision(model, arguments.precision)
    return dataclasses.replace(heatmap_model(model), model_file=model_path)
