"""Every setting of a training run (paper 4.3).

``TrainingConfig`` is what ``mtfcdd.training.trainer.train`` runs, what
``config.json`` records, and where every default of the command line's
training options comes from (``mtfcdd.cli.options``). Its defaults are the
paper's, or its authors' code's where the paper is silent (docs/realiad.md,
"Differences from the paper"): the ``paper`` preset.
``TrainingConfig.from_preset("authors")`` gives the settings of the
authors' published code instead, where Keras can reproduce them
(``TRAINING_PRESETS``).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping
from typing import Any

from mtfcdd.constants import (
    BACKBONE_BATCHNORM_MODES,
    DATA_LAYOUTS,
    DEFAULT_IMAGE_SIZE,
    FUIAD_ALPHAS,
    HEAD_BATCHNORMS,
    INITIALIZERS,
    INPUT_SCALINGS,
    MIN_IMAGE_SIZE,
    PRECISIONS,
    SAMPLING_CLASSES,
    SCORE_REDUCTIONS,
    STRATEGIES,
    SUPERVISIONS,
)
from mtfcdd.data.augmentation import AUGMENTATION_PRESETS, AugmentationConfig
from mtfcdd.inference.open_set import DEFAULT_OPEN_SET_METHOD, OPEN_SET_METHODS

TRAINING_PRESETS = {
    "paper": {},
    # The authors' config.py, train.py and model.py (docs/realiad.md,
    # "Differences from the paper", lists what no setting reproduces).
    "authors": {
        "batch_size": 256,
        "seed": 42,
        "adam_epsilon": 1e-8,
        "input_scaling": "unit",
        "backbone_batchnorm": "batch-statistics",
        "head_batchnorm": "pytorch",
        "initializer": "kaiming",
        "score_reduction": "max",
    },
}
"""The fields each named preset changes from ``TrainingConfig``'s defaults."""


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """Everything that defines a training run; defaults are the paper's,
    or its authors' code's where the paper is silent (docs/realiad.md,
    "Differences from the paper").

    Attributes:
        alpha: Real-IAD's FUIAD noise ratio of the training split (0.0,
            0.1, 0.2, 0.4); None reads 0.1 from Real-IAD and is the only
            value for other layouts, whose runs have no alpha.
        multi_class: train one "any defect" heatmap (paper 5.2, K = 1)
            instead of one per defect type of the data set.
        image_size: model input side (299 in the paper).
        backbone_weights: ``"imagenet"``, None or a weights file path (see
            ``mtfcdd.model.backbone.build_backbone``).
        train_backbone: train the backbone too; the paper keeps it frozen.
            Used to pre-train the offline backbone from scratch.
        supervision: ``"image"`` (the paper: image labels, Eq. 3) or
            ``"pixel"`` (ground-truth masks, ``MultiTypePixelLoss``; only to
            pre-train the offline backbone; needs ``augmentation=None``).
        batch_size: 32 in the paper.
        learning_rate: Adam's, 1e-4 in the paper.
        epochs: balanced epochs to train (10, as the authors' code; the
            paper says "a few").
        steps_per_epoch: batches per epoch; None takes the balanced epoch
            length E[T] / batch_size (Eq. 4) of the training split.
        balanced: balanced sampling (paper 4.2).
        sampling_classes: the classes balanced sampling draws uniformly:
            ``"types"`` (normal and each defect type, the paper's 9) or
            ``"binary"`` (normal and defective, FCDD's 50/50; an option for
            ``multi_class``).
        augmentation: an ``AugmentationConfig`` (paper 4.3.2; the default
            has the authors' values) or None; ``AUGMENTATION_PRESETS`` names
            the alternatives.
        threshold_fraction: fraction of each training class held out from
            training to fit the decision thresholds on. 0 (the default)
            trains on every image and fits them on the training split after
            training (optimistic thresholds, see
            ``mtfcdd.inference.decision_thresholds``).
        seed: seeds the model's initialisation, the data order and the
            augmentation.
        resolution: image folder of the data set (e.g. ``realiad_256``);
            found automatically when there is only one.
        objects: train on these objects only (None: all).
        strategy: ``"default"``, ``"mirrored"`` (tf.distribute over every
            visible GPU, or CPU device) or ``"multi-worker"``
            (``MultiWorkerMirroredStrategy`` over the machines that
            ``TF_CONFIG`` names; docs/training.md). ``batch_size`` is the
            global batch, split between the replicas.
        tensorboard: also write TensorBoard logs.
        jit_compile: compile the training step with XLA. Off by default
            (Keras' ``"auto"`` would turn it on by itself on a GPU): faster on
            a GPU, slower on a CPU (docs/training.md); only with the
            ``"default"`` strategy.
        precision: ``"float32"``, ``"mixed_bfloat16"`` or ``"mixed_float16"``
            (Keras' mixed precision: float32 variables, bfloat16 or float16
            computation in the backbone and head; the type projection, the
            pseudo-Huber output, the scores and the loss stay float32;
            float16 trains with loss scaling). The saved ``model.keras`` is
            float32 whatever the training precision.
        preset: the name of the preset the run started from (``"paper"``
            or ``"authors"``, see ``from_preset``), recorded with every
            result; fields given beside it are recorded too.
        adam_epsilon: Adam's epsilon: 1e-7 (Keras' default) or the
            authors' 1e-8 (PyTorch's).
        input_scaling, backbone_batchnorm, head_batchnorm, initializer: the
            network's (``mtfcdd.model.network.MultiTypeFCDD``): the paper's
            ``"inception"``, ``"frozen"``, ``"keras"``, ``"glorot"``, or the
            authors' ``"unit"``, ``"batch-statistics"``, ``"pytorch"``,
            ``"kaiming"``.
        score_reduction: the saved model's image score, ``"mean"`` (paper
            Eq. 2) or ``"max"`` (the authors' evaluate.py); the decision
            thresholds are fitted on it.
        layout: the data set's layout (``mtfcdd.data.layouts.LAYOUTS``);
            None finds it.
        types: the defect types in channel order (None: the data set's
            types sorted); not for Real-IAD, whose order is fixed.
        normal_name: the normal class's folder (None: ``"good"``).
        label_noise: the fraction of defective training images relabelled
            normal, emulating FUIAD's noise on your own data (None: none).
        defect_train_fraction: the MVTec layout's fraction of each type's
            test images moved into training (None: 0.5).
        exclude_types: defect types left out of training (their images
            and channels, ``mtfcdd.data.dataset.without_types``), e.g. to
            see them flagged as unknown defects (None: none).
        open_set_method: the open-set rule fitted after the thresholds
            (``mtfcdd.inference.open_set.OPEN_SET_METHODS``), which calls an
            image no type fires on an unknown defect; None turns it off.
            Either way the known types' answers are the same.

    The data fields from ``layout`` on (and ``alpha`` when None) appear in
    ``to_dict`` only when set, so a Real-IAD run's ``config.json`` and
    results are what they were before these fields existed.
    """

    alpha: float | None = None
    multi_class: bool = False
    image_size: int = DEFAULT_IMAGE_SIZE
    backbone_weights: str | None = "imagenet"
    train_backbone: bool = False
    supervision: str = "image"
    batch_size: int = 32
    learning_rate: float = 1e-4
    epochs: int = 10
    steps_per_epoch: int | None = None
    balanced: bool = True
    sampling_classes: str = "types"
    augmentation: AugmentationConfig | None = AugmentationConfig()
    threshold_fraction: float = 0.0
    seed: int = 0
    resolution: str | None = None
    objects: tuple[str, ...] | None = None
    strategy: str = "default"
    tensorboard: bool = False
    jit_compile: bool = False
    precision: str = "float32"
    preset: str = "paper"
    adam_epsilon: float = 1e-7
    input_scaling: str = "inception"
    backbone_batchnorm: str = "frozen"
    head_batchnorm: str = "keras"
    initializer: str = "glorot"
    score_reduction: str = "mean"
    layout: str | None = None
    types: tuple[str, ...] | None = None
    normal_name: str | None = None
    label_noise: float | None = None
    defect_train_fraction: float | None = None
    exclude_types: tuple[str, ...] | None = None
    open_set_method: str | None = DEFAULT_OPEN_SET_METHOD

    @classmethod
    def from_preset(cls, name: str, **fields: Any) -> TrainingConfig:
        """The config of preset ``name`` (``TRAINING_PRESETS``), with
        ``fields`` changed on top of it."""
        if name not in TRAINING_PRESETS:
            raise ValueError(f"preset must be one of {tuple(TRAINING_PRESETS)}; got {name!r}.")
        return cls(**{**TRAINING_PRESETS[name], **fields, "preset": name})

    def __post_init__(self):
        for name, choices in (
            ("supervision", SUPERVISIONS), ("strategy", STRATEGIES), ("precision", PRECISIONS),
            ("sampling_classes", tuple(SAMPLING_CLASSES)),
            ("preset", tuple(TRAINING_PRESETS)), ("input_scaling", tuple(INPUT_SCALINGS)),
            ("backbone_batchnorm", BACKBONE_BATCHNORM_MODES), ("head_batchnorm", tuple(HEAD_BATCHNORMS)),
            ("initializer", INITIALIZERS), ("score_reduction", SCORE_REDUCTIONS),
            ("open_set_method", (*OPEN_SET_METHODS, None)),
        ):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}; got {getattr(self, name)!r}.")
        if self.supervision == "pixel" and self.augmentation is not None:
            raise ValueError("supervision='pixel' needs augmentation=None (masks are not augmented).")
        if self.jit_compile and self.strategy != "default":
            # XLA has no collectives on CPU and fails on mirrored replicas'
            # resources; Keras' "auto" turns it off under tf.distribute too.
            raise ValueError(
                f"jit_compile=True needs strategy='default'; got strategy={self.strategy!r} "
                "(XLA cannot compile tf.distribute's cross-replica steps here)."
            )
        if self.alpha is not None and self.alpha not in FUIAD_ALPHAS:
            raise ValueError(
                f"alpha must be one of {', '.join(map(str, FUIAD_ALPHAS))} (Real-IAD's FUIAD "
                f"splits); got {self.alpha!r}."
            )
        if self.layout is not None and self.layout not in DATA_LAYOUTS:
            raise ValueError(f"layout must be one of {DATA_LAYOUTS} or None; got {self.layout!r}.")
        if self.label_noise is not None:
            _check_number("label_noise", self.label_noise, 0, 1, "in [0, 1) or None", upper_open=True)
        if self.defect_train_fraction is not None:
            _check_number(
                "defect_train_fraction", self.defect_train_fraction, 0, 1, "in (0, 1) or None",
                lower_open=True, upper_open=True,
            )
        _check_number("threshold_fraction", self.threshold_fraction, 0, 1, "in [0, 1)", upper_open=True)
        _check_number("learning_rate", self.learning_rate, 0, math.inf, "> 0", lower_open=True)
        _check_number("adam_epsilon", self.adam_epsilon, 0, math.inf, "> 0", lower_open=True)
        for name, minimum in (("epochs", 1), ("batch_size", 1), ("image_size", MIN_IMAGE_SIZE), ("seed", 0)):
            _check_integer(name, getattr(self, name), minimum)
        if self.steps_per_epoch is not None:
            _check_integer("steps_per_epoch", self.steps_per_epoch, 1, "or None (the balanced epoch)")

    def data_options(self) -> dict[str, Any]:
        """The keyword arguments of ``mtfcdd.data.layouts.load_dataset``
        that this config sets."""
        return {
            "layout": self.layout or DATA_LAYOUTS[0], "multi_class": self.multi_class, "alpha": self.alpha,
            "resolution": self.resolution, "objects": self.objects, "types": self.types,
            "normal_name": self.normal_name, "label_noise": self.label_noise, "seed": self.seed,
            "defect_train_fraction": self.defect_train_fraction, "exclude_types": self.exclude_types,
        }

    @property
    def threshold_source(self) -> str:
        """How the run's decision thresholds are fitted, in words: recorded
        with the model and in every result."""
        if self.threshold_fraction == 0:
            return "the training split, the images trained on (optimistic)"
        return f"{100 * self.threshold_fraction:g} % of the training split, held out from training"

    def to_dict(self) -> dict[str, Any]:
        """The config as plain values for ``config.json``, with the
        ``threshold_source`` it implies."""
        values = dataclasses.asdict(self)
        values["objects"] = list(self.objects) if self.objects else None
        for name in _DATA_FIELDS:
            if values[name] is None:
                del values[name]
        for name in ("types", "exclude_types"):
            if values.get(name) is not None:
                values[name] = list(values[name])
        values["threshold_source"] = self.threshold_source
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainingConfig:
        """The config that ``to_dict`` returned, also after a JSON round trip
        (and a run's ``config.json``, whose record of resumes and identity
        it ignores)."""
        values = dict(values)
        values.pop("threshold_source", None)
        values.pop("resumes", None)
        # A run's identity (mtfcdd.training.run_folder.run_identity).
        values.pop("run_id", None)
        values.pop("data", None)
        if values.get("augmentation") is not None:
            # JSON turned the tuples into lists. A config.json written before
            # the authors' values became the defaults lacks the newer fields:
            # its run used the mtfcdd-0.1 values.
            # The "mtfcdd-0.1" preset is an AugmentationConfig; only "none" is None.
            values["augmentation"] = dataclasses.replace(AUGMENTATION_PRESETS["mtfcdd-0.1"], **{  # type: ignore[type-var]
                name: tuple(value) if isinstance(value, list) else value
                for name, value in values["augmentation"].items()
            })
        for name in ("objects", "types", "exclude_types"):
            if values.get(name) is not None:
                values[name] = tuple(values[name])
        return cls(**values)


# Written into config.json only when set (see TrainingConfig).
# alpha too: a run on another layout than Real-IAD's has none.
_DATA_FIELDS = (
    "alpha", "layout", "types", "normal_name", "label_noise", "defect_train_fraction", "exclude_types",
)


def _check_integer(name, value, minimum, alternative=""):
    """A whole number >= ``minimum``, or a ``ValueError`` naming the range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(
            f"{name} must be a whole number >= {minimum}{' ' + alternative if alternative else ''}; "
            f"got {value!r}."
        )


def _check_number(name, value, low, high, expected, lower_open=False, upper_open=False):
    """A finite number between ``low`` and ``high``, or a ``ValueError``."""
    valid = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if valid:
        valid = (value > low if lower_open else value >= low) and (value < high if upper_open else value <= high)
    if not valid:
        raise ValueError(f"{name} must be a finite number {expected}; got {value!r}.")
