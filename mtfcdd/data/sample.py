"""One image of a Real-IAD-format data set, as the readers return it."""

import dataclasses
from typing import Optional, Tuple


@dataclasses.dataclass(frozen=True)
class Sample:
    """An image with its image-level labels (paper 4.1, docs/data.md).

    Attributes:
        image_path: full path of the image file.
        mask_path: full path of the defect mask (PNG, > 0 is defect), or
            None for a normal image or a view whose defect is not visible.
        category: the object, e.g. ``"audiojack"``.
        anomaly_class: ``"OK"`` or the defect code (``DEFECT_CODES``) taken
            from the split's ``anomaly_class`` field, never from the folder.
        labels: the label vector, one 0/1 per model channel: the eight
            types in ``DEFECT_CODES`` order, or one "any defect" label in the
            multi-class setting.
    """

    image_path: str
    mask_path: Optional[str]
    category: str
    anomaly_class: str
    labels: Tuple[int, ...]

    @property
    def is_normal(self):
        return not any(self.labels)
