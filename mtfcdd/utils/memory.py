"""Whether a batch fits in the memory available now, without Keras.

``mtfcdd.model.batch_memory`` estimates a Keras model's batch from its
layers; evaluation (``check_evaluation_batch_fits``) holds, per image, the K
heatmaps upsampled to the pixel size whatever the model, a converted file
included: at a pixel size of 4000 that is half a gigabyte per image, far
more than the model needs. Both are floors: a refused batch would certainly
not fit.
"""

import math
import os

_FLOAT_BYTES = 4
_RGB_BYTES = 3
# Batches of input images in memory at once: the one the model runs and the
# one read ahead.
_INPUT_BATCHES = 2
# Evaluation's work per pixel of the pixel size besides the K float32 maps:
# the uint8 masks of two batches (2), one type's maps copied out (4), their
# score bins and a temporary (8), the labels of the defect regions (4).
_EVALUATION_PIXEL_BYTES = 18


def evaluation_bytes_per_image(image_size, pixel_size, type_count):
    """The floor of the memory one image of an evaluation batch needs, in bytes.

    Args:
        image_size: ``(height, width)`` of the model's input.
        pixel_size: ``(height, width)`` at which heatmaps and masks are
            compared.
        type_count: K, the model's heatmaps.
    """
    return (
        _INPUT_BATCHES * _RGB_BYTES * math.prod(image_size)
        + math.prod(pixel_size) * (_FLOAT_BYTES * type_count + _EVALUATION_PIXEL_BYTES)
    )


def check_evaluation_batch_fits(image_size, pixel_size, type_count, batch_size, available=None):
    """Raises ``ValueError`` when an evaluation batch of ``batch_size`` cannot fit.

    Args: see ``evaluation_bytes_per_image``; ``available`` as in
    ``check_batch_memory``.
    """
    height, width = pixel_size
    check_batch_memory(
        lambda: evaluation_bytes_per_image(image_size, pixel_size, type_count), batch_size,
        f"image at a {height}x{width} pixel size", "pixel size", available,
    )


def check_batch_memory(bytes_per_image, batch_size, per_what, smaller, available=None):
    """Raises a ``ValueError`` naming the largest batch that fits when this one does not.

    Args:
        bytes_per_image: a function returning the floor per image, in bytes
            (called only where the available memory is known).
        batch_size: images per batch.
        per_what: what one image is, for the message ("75x75 image").
        smaller: what to make smaller when no batch fits ("image size").
        available: bytes of memory available; read from the system when
            None (nothing is checked where it cannot be read).
    """
    available = available_memory() if available is None else available
    if available is None:
        return
    per_image = bytes_per_image()
    needed = batch_size * per_image
    if needed <= available:
        return
    largest = max(available // per_image, 0)
    raise ValueError(
        f"batch_size {batch_size:,} needs at least {needed / 2**30:,.1f} GiB of memory "
        f"({per_image / 2**20:,.1f} MiB per {per_what}), more than the {available / 2**30:,.1f} GiB "
        f"available; use a batch size of at most {largest:,}"
        + ("" if largest else f" (no batch fits: free memory or use a smaller {smaller})") + "."
    )


def available_memory():
    """Bytes of memory available to a new allocation now, or None if unknown.

    Linux's ``MemAvailable`` (free memory plus what the kernel can reclaim),
    else the free physical pages POSIX reports.
    """
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
