"""Image files: found, read, resized and written with NumPy and OpenCV only.

Every place that looks for images (prediction, int8 calibration, the
server) finds them with ``find_images`` / ``image_paths``, so one rule
decides what an image is: a file with an extension of ``IMAGE_EXTENSIONS``
that is neither hidden nor a Real-IAD mask. The LiteRT runner and the int8
calibration of the exporter resize images the same way, so a quantised
model is calibrated on what it will be fed.
"""

import glob
import os

import cv2
import numpy as np

from mtfcdd.constants import IMAGE_EXTENSIONS, MASK_EXTENSION
from mtfcdd.utils.atomic_files import write_bytes

# Real-IAD stores each mask as a PNG beside its JPEG image, with the same stem.
_MASKED_IMAGE_EXTENSIONS = (".jpg", ".jpeg")


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


def read_mask(path):
    """Reads a defect mask as (H, W) uint8 (any value > 0 is defect)."""
    mask = cv2.imread(os.fspath(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise ValueError(f"{path}: OpenCV cannot decode this mask file.")
    return mask


def png_bytes(image_rgb, name, compression=None):
    """An (H, W, 3) uint8 RGB picture encoded as PNG.

    Args:
        image_rgb: the picture.
        name: a file or a label, what an error message names.
        compression: zlib's level, 0 to 9 (9: the smallest file, for
            pictures kept in the repository); None keeps OpenCV's fast
            default.
    """
    parameters = [] if compression is None else [cv2.IMWRITE_PNG_COMPRESSION, compression]
    encoded, data = cv2.imencode(".png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR), parameters)
    if not encoded:
        raise ValueError(f"{name}: OpenCV could not encode the picture as PNG.")
    return data.tobytes()


def write_png(path, image_rgb, compression=None):
    """Writes an (H, W, 3) uint8 RGB image as a PNG file, atomically (see
    ``png_bytes``)."""
    write_bytes(path, png_bytes(image_rgb, path, compression))


def find_images(folder_or_pattern):
    """Image files in a folder (searched recursively) or matching a glob.

    Args:
        folder_or_pattern: a folder, or a pattern such as
            ``"data/realiad_299/*/OK/**/*.jpg"`` (``**`` spans folders).

    Returns:
        Sorted list of paths with an extension of ``IMAGE_EXTENSIONS``,
        leaving out hidden files (a leading ".", e.g. a write in progress)
        and Real-IAD masks (a ``.png`` beside a ``.jpg`` or ``.jpeg`` of the
        same stem).
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
        path for path in candidates
        if path.lower().endswith(IMAGE_EXTENSIONS)
        and not os.path.basename(path).startswith(".")
        and not is_realiad_mask(path)
    )
    if not paths:
        raise FileNotFoundError(
            f"{folder_or_pattern}: no image files ({', '.join(IMAGE_EXTENSIONS)}) "
            "in this folder or matching this pattern."
        )
    return paths


def image_paths(inputs, exclude=None):
    """The image files named by ``inputs``, in order, each once.

    Args:
        inputs: a path or a list of paths. A folder or a glob pattern
            contributes the images ``find_images`` finds in it. Any other
            path is taken as an image file as it is, so a missing or
            unreadable one is reported by whoever reads it.
        exclude: a folder whose files are left out (``predict``'s output
            folder, when it lies inside an input folder).

    Raises:
        FileNotFoundError: a folder or pattern without image files.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    excluded = None if exclude is None else os.path.join(os.path.abspath(exclude), "")
    paths, seen = [], set()
    for entry in map(os.fspath, inputs):
        is_pattern = not os.path.isfile(entry) and any(character in entry for character in "*?[")
        if os.path.isdir(entry) or is_pattern:
            found = [
                path for path in find_images(entry)
                if not (excluded and os.path.abspath(path).startswith(excluded))
            ]
        else:
            found = [entry]
        for path in found:
            if os.path.abspath(path) not in seen:
                seen.add(os.path.abspath(path))
                paths.append(path)
    if not paths:
        raise ValueError("No input images: give image files, folders or glob patterns.")
    return paths


def is_realiad_mask(path):
    """Whether ``path`` is a ``.png`` with a ``.jpg``/``.jpeg`` of its stem beside it."""
    stem, extension = os.path.splitext(path)
    return extension.lower() == MASK_EXTENSION and any(
        os.path.isfile(stem + image_extension) for image_extension in _MASKED_IMAGE_EXTENSIONS
    )
