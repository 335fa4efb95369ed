"""Training-time data augmentation: its ranges (paper 4.3.2, docs/data.md).

With probability ``fraction`` a training image gets all of: a random
rotation, a random translation in x and y, and random brightness and
contrast changes. The paper's ranges were lost from its text; the defaults
of ``AugmentationConfig`` are its authors' code's (``dataset.py`` of their
PyTorch release: torchvision's ``RandomApply([RandomRotation(15),
RandomAffine(0, translate=(20/299, 20/299)), ColorJitter(brightness=0.3,
contrast=0.3)], p=0.5)``), and ``AUGMENTATION_PRESETS`` names them and the
values this package used before (docs/training.md compares the three).

As torchvision does, brightness and contrast are applied in a random order,
each clipped to 0..255, and contrast blends with the mean of the image's
grey version (ITU-R 601 weights). Unlike the authors' code the changes apply
to the resized image rather than to the file's own resolution: the
translation range is a fraction of the side, so it is the same.

``AugmentationConfig`` holds the ranges; ``mtfcdd.data.augmentation_ops``
applies them in the tf.data pipeline. Evaluation never augments.
"""

import dataclasses
from typing import Tuple

FILL_MODES = ("reflect", "nearest", "constant", "wrap")
INTERPOLATIONS = ("nearest", "bilinear")
CONTRAST_MEANS = ("grey", "channel")


@dataclasses.dataclass(frozen=True)
class AugmentationConfig:
    """Ranges of the random augmentation; the defaults are the paper's
    authors' values (their code; the paper's text lost them).

    Attributes:
        fraction: probability that a training image is augmented (0.5).
        max_rotation_degrees: rotation angle uniform in +-this (15 degrees),
            about the image centre.
        max_translation: shift uniform in +-this fraction of the width (x)
            and of the height (y), independently (20/299: 20 pixels at 299).
        brightness_range: brightness factor uniform in this range, which
            multiplies every pixel ((0.7, 1.3); (1, 1) for none).
        max_brightness_delta: brightness offset uniform in +-this fraction of
            the 0..255 range, added after the factor (0: none).
        contrast_range: contrast factor uniform in this range (0.7, 1.3):
            pixels move away from (factor > 1) or towards a mean.
        contrast_mean: ``"grey"`` (the mean of the grey image, one value, as
            torchvision) or ``"channel"`` (each channel's own mean, as
            ``tf.image.adjust_contrast``).
        fill_mode: how pixels moved in from outside the image are filled:
            "constant" (black, as torchvision), "reflect", "nearest" or
            "wrap".
        interpolation: ``"nearest"`` (torchvision's default for rotations
            and translations) or ``"bilinear"``.
    """

    fraction: float = 0.5
    max_rotation_degrees: float = 15.0
    max_translation: float = 20 / 299
    brightness_range: Tuple[float, float] = (0.7, 1.3)
    max_brightness_delta: float = 0.0
    contrast_range: Tuple[float, float] = (0.7, 1.3)
    contrast_mean: str = "grey"
    fill_mode: str = "constant"
    interpolation: str = "nearest"

    def __post_init__(self):
        _check_range("fraction", self.fraction, 0.0, 1.0)
        _check_range("max_rotation_degrees", self.max_rotation_degrees, 0.0, 180.0)
        _check_range("max_translation", self.max_translation, 0.0, 1.0)
        _check_range("max_brightness_delta", self.max_brightness_delta, 0.0, 1.0)
        for name in ("brightness_range", "contrast_range"):
            lower, upper = getattr(self, name)
            if not 0.0 < lower <= upper:
                raise ValueError(
                    f"AugmentationConfig.{name} must be (lower, upper) with "
                    f"0 < lower <= upper; got {getattr(self, name)}."
                )
        for name, allowed in (
            ("contrast_mean", CONTRAST_MEANS),
            ("fill_mode", FILL_MODES),
            ("interpolation", INTERPOLATIONS),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"AugmentationConfig.{name} must be one of {allowed}; got "
                    f"{getattr(self, name)!r}."
                )


def _check_range(name, value, lower, upper):
    if not lower <= value <= upper:
        raise ValueError(
            f"AugmentationConfig.{name} must be in [{lower}, {upper}]; got {value}."
        )


AUGMENTATION_PRESETS = {
    "authors": AugmentationConfig(),
    "mtfcdd-0.1": AugmentationConfig(
        max_translation=0.1,
        brightness_range=(1.0, 1.0),
        max_brightness_delta=0.2,
        contrast_range=(0.8, 1.2),
        contrast_mean="channel",
        fill_mode="reflect",
        interpolation="bilinear",
    ),
    "none": None,
}
"""Named augmentation settings: the authors' values (the default), the
values of mtfcdd 0.1 (10 % translation, additive brightness, per-channel
contrast, reflected fill, bilinear), and no augmentation."""
