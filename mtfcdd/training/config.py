"""Every setting of a training run, with the paper's defaults (paper 4.3).

``TrainingConfig`` is what ``mtfcdd.training.trainer.train`` runs, what
``config.json`` records, and where every default of the command line's
training options comes from (``mtfcdd.cli.options``).
"""

import dataclasses

from mtfcdd.constants import DEFAULT_IMAGE_SIZE, STRATEGIES, SUPERVISIONS
from mtfcdd.data.augmentation import AugmentationConfig


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """Everything that defines a training run; defaults are the paper's.

    Attributes:
        alpha: FUIAD noise ratio of the training split (0.0, 0.1, 0.2, 0.4).
        multi_class: train one "any defect" heatmap (paper 5.2, K = 1)
            instead of one per type (K = 8).
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
        epochs: balanced epochs to train.
        steps_per_epoch: batches per epoch; None takes the balanced epoch
            length E[T] / batch_size (Eq. 4) of the training split.
        balanced: balanced sampling (paper 4.2).
        augmentation: an ``AugmentationConfig`` (paper 4.3.2) or None.
        threshold_fraction: fraction of each training class held out to fit
            the decision thresholds (0 disables them).
        seed: seeds the model's initialisation, the data order and the
            augmentation.
        resolution: image folder of the data set (e.g. ``realiad_256``);
            found automatically when there is only one.
        objects: train on these objects only (None: all).
        strategy: ``"default"`` or ``"mirrored"`` (tf.distribute over every
            visible GPU, or CPU device).
        tensorboard: also write TensorBoard logs.
    """

    alpha: float = 0.1
    multi_class: bool = False
    image_size: int = DEFAULT_IMAGE_SIZE
    backbone_weights: object = "imagenet"
    train_backbone: bool = False
    supervision: str = "image"
    batch_size: int = 32
    learning_rate: float = 1e-4
    epochs: int = 1
    steps_per_epoch: object = None
    balanced: bool = True
    augmentation: object = AugmentationConfig()
    threshold_fraction: float = 0.1
    seed: int = 0
    resolution: object = None
    objects: object = None
    strategy: str = "default"
    tensorboard: bool = False

    def __post_init__(self):
        if self.supervision not in SUPERVISIONS:
            raise ValueError(f"supervision must be one of {SUPERVISIONS}; got {self.supervision!r}.")
        if self.supervision == "pixel" and self.augmentation is not None:
            raise ValueError("supervision='pixel' needs augmentation=None (masks are not augmented).")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}; got {self.strategy!r}.")
        if not 0 <= self.threshold_fraction < 1:
            raise ValueError(
                f"threshold_fraction must be in [0, 1); got {self.threshold_fraction}."
            )
        for name in ("epochs", "batch_size", "image_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)}.")

    @property
    def num_types(self):
        """K, the number of heatmaps: 1 with ``multi_class``, else 8."""
        return 1 if self.multi_class else 8

    def to_dict(self):
        """The config as plain values for ``config.json``."""
        values = dataclasses.asdict(self)
        values["objects"] = list(self.objects) if self.objects else None
        return values

    @classmethod
    def from_dict(cls, values):
        """The config that ``to_dict`` returned, also after a JSON round trip."""
        values = dict(values)
        if values.get("augmentation") is not None:
            # JSON turned the tuples into lists.
            values["augmentation"] = AugmentationConfig(**{
                name: tuple(value) if isinstance(value, list) else value
                for name, value in values["augmentation"].items()
            })
        if values.get("objects") is not None:
            values["objects"] = tuple(values["objects"])
        return cls(**values)
