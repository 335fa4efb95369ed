"""Test images, labels and masks in batches (paper 4.4).

Evaluation reads images with the model's preprocessor
(``mtfcdd.data.preprocessor``), as training, ``mtfcdd predict``, the server
and the LiteRT and ONNX runners do, so that a model is scored on the pixels
it was trained on, a Keras model and its converted files on the same
pixels, and a converted file without TensorFlow.

Files are read by a thread pool (OpenCV releases Python's lock while it
decodes) one batch ahead of the model, so at most two batches are in memory
whatever the size of the split.
"""

import concurrent.futures
import os

import cv2
import numpy as np

from mtfcdd.utils.image_files import read_mask


def sample_batches(samples, preprocessor, mask_size, batch_size=32, workers=None, mask_resizing="nearest"):
    """Every sample once, in order, in batches.

    Args:
        samples: ``Sample``s (image path, mask path or None, labels).
        preprocessor: the model's ``mtfcdd.data.preprocessor.Preprocessor``,
            which reads each image as the model's input.
        mask_size: ``(height, width)`` the masks are resized to;
            None reads no masks (scores need none).
        batch_size: samples per batch; the last batch holds the remainder.
        workers: reading threads (default: one per CPU).
        mask_resizing: ``"nearest"`` (``resize_nearest``) or ``"bicubic"``
            (``resize_bicubic_positive``, the authors' evaluate.py).

    Yields:
        (images (B, height, width, 3) uint8 RGB, ``preprocessor.read``'s, labels (B, K) uint8,
        masks (B, mask height, mask width) uint8 0/1, zeros where a sample
        has no mask; None when ``mask_size`` is None).

    Raises:
        ValueError, FileNotFoundError: an image or mask that cannot be
            read, naming the file.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
    mask_size = None if mask_size is None else tuple(mask_size)
    mask_resizers = {"nearest": resize_nearest, "bicubic": resize_bicubic_positive}
    if mask_resizing not in mask_resizers:
        raise ValueError(f"mask_resizing must be one of {tuple(mask_resizers)}; got {mask_resizing!r}.")
    resize_mask = mask_resizers[mask_resizing]
    with concurrent.futures.ThreadPoolExecutor(workers or os.cpu_count() or 1) as executor:

        def submit(start):
            return [
                executor.submit(_read_sample, sample, preprocessor, mask_size, resize_mask)
                for sample in samples[start:start + batch_size]
            ]

        next_batch = submit(0)
        for start in range(0, len(samples), batch_size):
            batch, next_batch = next_batch, submit(start + batch_size)
            images, labels, masks = zip(*(future.result() for future in batch))
            yield np.stack(images), np.stack(labels), None if mask_size is None else np.stack(masks)


def _read_sample(sample, preprocessor, mask_size, resize_mask):
    image = preprocessor.read(sample.image_path)
    labels = np.asarray(sample.labels, np.uint8)
    if mask_size is None:
        return image, labels, None
    if sample.mask_path is None:
        return image, labels, np.zeros(mask_size, np.uint8)
    return image, labels, resize_mask((read_mask(sample.mask_path) > 0).astype(np.uint8), mask_size)


def resize_nearest(mask, size):
    """Nearest-neighbour resizing with half-pixel centres, in exact integers.

    Output pixel ``i`` takes input pixel ``floor((i + 1/2) * in / out)``, as
    ``tf.image.resize(..., "nearest")`` does in float32 (which rounds the
    other way at a few exact ties) and ``cv2.INTER_NEAREST_EXACT`` in fixed
    point.

    Args:
        mask: (H, W) array.
        size: ``(height, width)`` of the result.
    """
    height, width = size
    rows = ((2 * np.arange(height) + 1) * mask.shape[0]) // (2 * height)
    columns = ((2 * np.arange(width) + 1) * mask.shape[1]) // (2 * width)
    return mask[rows[:, np.newaxis], columns[np.newaxis, :]]


def resize_bicubic_positive(mask, size):
    """Bicubic resizing of a 0/1 mask, then every value > 0 kept: the
    authors' evaluate.py (PIL's default filter on the 0/255 mask, then
    ``> 0``). The interpolated step stays positive up to about one source
    pixel past each edge, so masks grow by up to a pixel. OpenCV's kernel
    (a = -0.75) stands in for PIL's (a = -0.5): the sign of the weights, and
    so the grown edge, is the same when enlarging (256 -> 299, the authors'
    run); PIL also widens the kernel when shrinking.

    Args:
        mask: (H, W) 0/1 uint8 array.
        size: ``(height, width)`` of the result.
    """
    height, width = size
    resized = cv2.resize(mask * np.uint8(255), (width, height), interpolation=cv2.INTER_CUBIC)
    return (resized > 0).astype(np.uint8)
