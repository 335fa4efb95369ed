"""Images in, model-sized batches out, with NumPy and OpenCV only.

The LiteRT runner and the int8 calibration of the exporter prepare images
the same way, so a quantised model is calibrated on what it will be fed.
"""

import glob
import os

import cv2
import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


def read_rgb_image(path):
    """Reads an image file as an (H, W, 3) uint8 RGB array."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: image file not found.")
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: OpenCV cannot decode this file as an image.")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def resize_image(image, size):
    """Resizes an (H, W, 3) image to ``size = (height, width)``.

    Area interpolation when shrinking (as ``mtfcdd.data.resize_cache`` makes
    the training images), bilinear when enlarging.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"an image must have shape (height, width, 3), RGB; got shape "
            f"{image.shape}."
        )
    height, width = size
    if image.shape[:2] == (height, width):
        return image
    shrinking = height * width < image.shape[0] * image.shape[1]
    return cv2.resize(
        image,
        (width, height),
        interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR,
    )


def image_batch(images, size):
    """Stacks RGB images (values 0..255) into an (N, height, width, 3) array.

    Args:
        images: an array (N, H, W, 3) or (H, W, 3) (one image), or a
            sequence of (H, W, 3) arrays of any sizes.
        size: ``(height, width)`` of the model's input.

    Returns:
        uint8 when every image is uint8 (what the int8 model reads without
        conversion), float32 otherwise.
    """
    if isinstance(images, np.ndarray) and images.ndim == 3:
        images = images[np.newaxis]
    if len(images) == 0:
        raise ValueError("images is empty; give at least one image.")
    resized = [resize_image(image, size) for image in images]
    all_uint8 = all(image.dtype == np.uint8 for image in resized)
    return np.stack(resized).astype(np.uint8 if all_uint8 else np.float32, copy=False)


def find_images(folder_or_pattern):
    """Image files in a folder (searched recursively) or matching a glob.

    Args:
        folder_or_pattern: a folder, or a pattern such as
            ``"data/realiad_299/*/OK/**/*.jpg"`` (``**`` spans folders).

    Returns:
        Sorted list of paths with an extension of ``IMAGE_EXTENSIONS``.
    """
    folder_or_pattern = os.fspath(folder_or_pattern)
    if os.path.isdir(folder_or_pattern):
        candidates = (
            os.path.join(folder, name)
            for folder, _, names in os.walk(folder_or_pattern)
            for name in names
        )
    else:
        candidates = glob.glob(folder_or_pattern, recursive=True)
    paths = sorted(
        path for path in candidates if path.lower().endswith(IMAGE_EXTENSIONS)
    )
    if not paths:
        raise FileNotFoundError(
            f"{folder_or_pattern}: no image files ({', '.join(IMAGE_EXTENSIONS)}) "
            "in this folder or matching this pattern."
        )
    return paths
