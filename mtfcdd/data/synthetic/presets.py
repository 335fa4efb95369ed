"""The sizes of the synthetic data set: ``tiny``, ``demo`` and ``full``.

Kept apart from the renderer so that the command line lists them without
loading it.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class SyntheticPreset:
    """Size of a synthetic data set.

    Attributes:
        image_size: side of the square images in pixels; the images go to
            ``realiad_<image_size>``.
        objects: object names, keys of
            ``mtfcdd.data.synthetic.objects.SYNTHETIC_OBJECTS``.
        train_images: training images per object, the same for every alpha.
        test_normal_samples: normal samples (5 views each) per object in the
            test split.
        test_defective_samples: defective samples per object and defect type
            in the test split.
    """

    image_size: int
    objects: tuple
    train_images: int
    test_normal_samples: int
    test_defective_samples: int


# The objects of every preset cover all eight defect types together.
PRESETS = {
    "tiny": SyntheticPreset(128, ("audiojack", "pcb"), 40, 2, 1),
    "demo": SyntheticPreset(
        256, ("audiojack", "bottle_cap", "pcb", "switch", "toy_brick", "washer"), 150, 10, 3
    ),
    "full": SyntheticPreset(
        256,
        (
            "audiojack", "pcb", "bottle_cap", "switch", "toy_brick", "washer",
            "button_battery", "terminalblock", "woodstick", "plastic_nut",
        ),
        550, 40, 10,
    ),
}
"""The presets by name; ``full`` has every object kind."""
