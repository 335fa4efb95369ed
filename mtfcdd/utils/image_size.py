"""One way to give an image size: an int (a square) or (height, width)."""

from __future__ import annotations

import numbers
from typing import Any


# image_size is Any: this is where a value from a user or a file is checked.
def image_size_pair(image_size: Any, name: str = "image_size") -> tuple[int, int]:
    """``(height, width)`` from ``image_size``, an int or a pair of ints.

    Args:
        image_size: ``299`` means 299x299; ``(128, 96)`` is 128 high, 96 wide.
        name: how the caller calls the value, for the error message.

    Raises:
        ValueError: not a positive int or a pair of positive ints.
    """
    if isinstance(image_size, numbers.Integral) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    try:
        height, width = (int(side) for side in image_size)
        valid = all(side == int(side) for side in image_size)
    except (TypeError, ValueError):
        valid = False
    if not valid or height < 1 or width < 1:
        raise ValueError(
            f"{name} must be a positive integer (a square) or (height, width); got {image_size!r}."
        )
    return height, width
