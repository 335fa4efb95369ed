"""Training-time data augmentation, its ranges (paper 4.3.2, paper-notes 5).

A fraction of the training images, chosen at random, get a random rotation,
a random translation in x and y, and random brightness and contrast changes.
The paper's exact ranges were lost in its text; the defaults of
``AugmentationConfig`` are this package's choice.

``AugmentationConfig`` holds the ranges; ``mtfcdd.data.augmentation_ops``
applies them in the tf.data pipeline. Evaluation never augments.
"""

import dataclasses
from typing import Tuple

FILL_MODES = ("reflect", "nearest", "constant", "wrap")


@dataclasses.dataclass(frozen=True)
class AugmentationConfig:
    """Ranges of the random augmentation; the defaults are this package's
    choice, not the paper's (its values were lost).

    Attributes:
        fraction: probability that a training image is augmented (0.5).
        max_rotation_degrees: rotation angle uniform in +-this (15 degrees),
            about the image centre.
        max_translation: shift uniform in +-this fraction of the width (x)
            and of the height (y), independently (0.1).
        max_brightness_delta: brightness offset uniform in +-this fraction of
            the 0..255 range (0.2, i.e. +-51 grey levels).
        contrast_range: contrast factor uniform in this range (0.8, 1.2);
            each channel is scaled about its mean.
        fill_mode: how pixels moved in from outside the image are filled:
            "reflect" (default, as Keras' RandomRotation), "nearest",
            "constant" (black) or "wrap".
    """

    fraction: float = 0.5
    max_rotation_degrees: float = 15.0
    max_translation: float = 0.1
    max_brightness_delta: float = 0.2
    contrast_range: Tuple[float, float] = (0.8, 1.2)
    fill_mode: str = "reflect"

    def __post_init__(self):
        _check_range("fraction", self.fraction, 0.0, 1.0)
        _check_range("max_rotation_degrees", self.max_rotation_degrees, 0.0, 180.0)
        _check_range("max_translation", self.max_translation, 0.0, 1.0)
        _check_range("max_brightness_delta", self.max_brightness_delta, 0.0, 1.0)
        lower, upper = self.contrast_range
        if not 0.0 < lower <= upper:
            raise ValueError(
                f"contrast_range must be (lower, upper) with 0 < lower <= upper; "
                f"got {self.contrast_range}."
            )
        if self.fill_mode not in FILL_MODES:
            raise ValueError(
                f"fill_mode must be one of {FILL_MODES}; got {self.fill_mode!r}."
            )


def _check_range(name, value, lower, upper):
    if not lower <= value <= upper:
        raise ValueError(
            f"AugmentationConfig.{name} must be in [{lower}, {upper}]; got {value}."
        )
