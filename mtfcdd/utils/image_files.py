"""Image files: found, read, resized and written with NumPy and OpenCV only.

Every place that looks for images (prediction, int8 calibration, the
server) finds them with ``find_images`` / ``image_paths``, so one rule
decides what an image is: a file with an extension of ``IMAGE_EXTENSIONS``
that is neither hidden nor a Real-IAD mask. The LiteRT runner and the int8
calibration of the exporter resize images the same way, so a quantised
model is calibrated on what it will be fed.
"""

import dataclasses
import glob
import os
from typing import Tuple

import cv2
import numpy as np

from mtfcdd.constants import IMAGE_EXTENSIONS, MASK_EXTENSION, MAX_PIXELS
from mtfcdd.utils.atomic_files import write_bytes
from mtfcdd.utils.image_bytes import ImageFileError, decode_image, decoding_plan, image_header

# Real-IAD stores each mask as a PNG beside its JPEG image, with the same stem.
_MASKED_IMAGE_EXTENSIONS = (".jpg", ".jpeg")
_DIRECTORY = "a directory, not an image file"
# Bytes read for a header: enough for almost every file.
_HEADER_BYTES = 65536


def read_image_file(path, mode="color", max_pixels=MAX_PIXELS, reduce=True, check_data=True):
    """Reads a complete JPEG, PNG or BMP file (``mtfcdd.utils.image_bytes``).

    Args:
        path: the file.
        mode: ``"color"`` (RGB), ``"grayscale"`` or ``"unchanged"``.
        max_pixels: a larger JPEG is decoded at 1/2, 1/4 or 1/8 of its size;
            a larger PNG or BMP is refused.
        reduce: False refuses a larger JPEG too (a file that must be read
            whole).
        check_data: see ``mtfcdd.utils.image_bytes.decode_image``.

    Returns:
        A ``mtfcdd.utils.image_bytes.DecodedImage``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: naming the file: not a JPEG, PNG or BMP, truncated,
            damaged, or too large.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"{path} is {_DIRECTORY}.")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: image file not found.")
    with open(path, "rb") as file:
        data = file.read()
    return decode_image(data, max_pixels, mode=mode, name=path, reduce=reduce, check_data=check_data)


def read_rgb_image(path, max_pixels=MAX_PIXELS, check_data=True):
    """Reads an image file as an (H, W, 3) uint8 RGB array (see ``read_image_file``)."""
    return read_image_file(path, "color", max_pixels, check_data=check_data).image


def read_image_size(path):
    """``(height, width)`` of a JPEG, PNG or BMP file, from its header only."""
    path = os.fspath(path)
    with open(path, "rb") as file:
        data = file.read(_HEADER_BYTES)
        try:
            _, height, width = image_header(data, path)
        except ImageFileError:
            if len(data) < _HEADER_BYTES:
                raise
            # Metadata (EXIF, ICC profiles) can push a JPEG's frame header
            # past the first bytes.
            _, height, width = image_header(data + file.read(), path)
    return height, width


def image_and_mask_problems(image_path, mask_path=None, decode=True):
    """What stops an image and its mask from being read, one line each.

    The image must be a complete JPEG, PNG or BMP file that decodes
    (``read_image_file``); the mask too, with one channel and its image's
    size. ``mtfcdd data verify`` and the checks before training and
    evaluation apply these same rules.

    Args:
        image_path: the image file.
        mask_path: its mask, or None.
        decode: also decode the files with OpenCV; False checks the
            headers and that the files are complete, which is much faster.

    Returns:
        A list of problems, each naming the file at fault; empty when both
        files are good. Both are read whole (a mask must match its image
        pixel for pixel, and a training image is learnt at its full
        detail), so either over ``MAX_PIXELS`` is too large.
    """
    image_size, _, problems = _file_size(image_path, "color", decode, "image")
    if mask_path is None:
        return problems
    mask_size, mask_channels, mask_problems = _file_size(mask_path, "unchanged", decode, "mask")
    problems += mask_problems
    if mask_channels not in (None, 1):
        problems.append(f"{mask_path}: mask has {mask_channels} channels; expected one.")
    if image_size is not None and mask_size is not None:
        problems += filter(None, [mask_size_problem(mask_path, mask_size, image_path, image_size)])
    return problems


def mask_size_problem(mask_path, mask_size, image_path, image_size):
    """The problem of a mask whose ``(height, width)`` is not its image's, or None.

    A mask stretched to its image would mark other pixels than the defect's.
    """
    if tuple(mask_size) == tuple(image_size):
        return None
    return (
        f"{mask_path}: mask is {_size_text(mask_size)} but its image {image_path} "
        f"is {_size_text(image_size)}; a mask must have its image's size."
    )


def _file_size(path, mode, decode, kind):
    """((height, width) of a file, its channels when decoded (else None), its problems)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return None, None, [f"{path}: {kind} is {_DIRECTORY}."]
    if not os.path.isfile(path):
        return None, None, [f"{path}: {kind} file is missing."]
    with open(path, "rb") as file:
        data = file.read()
    try:
        if not decode:
            return decoding_plan(data, MAX_PIXELS, mode, reduce=False)[1], None, []
        decoded = decode_image(data, MAX_PIXELS, mode, reduce=False)
    except ImageFileError as error:
        return None, None, [f"{path}: {kind} file cannot be decoded: {error}"]
    channels = 1 if decoded.image.ndim == 2 else decoded.image.shape[2]
    return decoded.size, channels, []


def _size_text(size):
    height, width = size
    return f"{width}x{height}"


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


def shrink_to_longest_side(image, longest_side):
    """``image`` shrunk (area) so that its longest side is at most ``longest_side``."""
    height, width = image.shape[:2]
    scale = longest_side / max(height, width)
    if scale >= 1:
        return image
    return resize_image(image, (max(round(height * scale), 1), max(round(width * scale), 1)))


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
    """Reads a defect mask as (H, W) uint8 (any value > 0 is defect), at its
    full size (see ``read_image_file``)."""
    return read_image_file(path, "grayscale", reduce=False).image


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


@dataclasses.dataclass(frozen=True)
class ImageSelection:
    """The image files that inputs name (``select_images``).

    Attributes:
        paths: the images, in order, each once.
        masks_left_out: the Real-IAD masks found in folders and patterns
            and left out (``is_realiad_mask``); a mask named as a file is
            an image like any other and is in ``paths``.
    """

    paths: Tuple[str, ...]
    masks_left_out: Tuple[str, ...] = ()


def masks_left_out_note(masks_left_out):
    """One line saying which masks ``select_images`` left out and why, or ""."""
    if not masks_left_out:
        return ""
    count = len(masks_left_out)
    return (
        f"Left out {count} PNG file{'s' if count > 1 else ''} with a JPEG of the same stem "
        f"beside {'them' if count > 1 else 'it'} (Real-IAD's masks), e.g. {masks_left_out[0]}; "
        "name such a file on its own to use it as an image."
    )


def find_images(folder_or_pattern):
    """Image files in a folder (searched recursively) or matching a glob.

    Args:
        folder_or_pattern: a folder, or a pattern such as
            ``"data/realiad_299/*/OK/**/*.jpg"`` (``**`` spans folders).

    Returns:
        Sorted list of paths with an extension of ``IMAGE_EXTENSIONS``,
        leaving out hidden files (a leading ".", e.g. a write in progress)
        and Real-IAD masks (a ``.png`` beside a ``.jpg`` or ``.jpeg`` of the
        same stem; ``select_images`` says which).
    """
    return list(_found_images(folder_or_pattern).paths)


def _found_images(folder_or_pattern):
    """The ``ImageSelection`` of one folder or pattern; raises when it has no image."""
    folder_or_pattern = os.fspath(folder_or_pattern)
    if os.path.isdir(folder_or_pattern):
        candidates = (
            os.path.join(folder, name)
            for folder, _, names in os.walk(folder_or_pattern)
            for name in names
        )
    else:
        candidates = glob.glob(folder_or_pattern, recursive=True)
    images = sorted(
        path for path in candidates
        if path.lower().endswith(IMAGE_EXTENSIONS) and not os.path.basename(path).startswith(".")
    )
    masks = tuple(path for path in images if is_realiad_mask(path))
    selection = ImageSelection(tuple(sorted(set(images) - set(masks))), masks)
    if not selection.paths:
        raise FileNotFoundError(
            f"{folder_or_pattern}: no image files ({', '.join(IMAGE_EXTENSIONS)}) "
            "in this folder or matching this pattern"
            + (f" ({len(masks)} Real-IAD masks left out)." if masks else ".")
        )
    return selection


def image_paths(inputs, exclude=None):
    """The image files named by ``inputs``: ``select_images(...).paths`` as a list."""
    return list(select_images(inputs, exclude).paths)


def select_images(inputs, exclude=None):
    """The image files named by ``inputs``, in order, each once.

    Args:
        inputs: a path or a list of paths. A folder or a glob pattern
            contributes the images ``find_images`` finds in it. Any other
            path is taken as an image file as it is, so a missing or
            unreadable one is reported by whoever reads it.
        exclude: a folder whose files are left out (``predict``'s output
            folder, when it lies inside an input folder).

    Returns:
        An ``ImageSelection``: the paths, and the masks left out.

    Raises:
        FileNotFoundError: a folder or pattern without image files.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    excluded = None if exclude is None else os.path.join(os.path.abspath(exclude), "")
    paths, masks, seen = [], [], set()
    for entry in map(os.fspath, inputs):
        is_pattern = not os.path.isfile(entry) and any(character in entry for character in "*?[")
        if os.path.isdir(entry) or is_pattern:
            selection = _found_images(entry)
            found = [
                path for path in selection.paths
                if not (excluded and os.path.abspath(path).startswith(excluded))
            ]
            masks += selection.masks_left_out
        else:
            found = [entry]
        for path in found:
            if os.path.abspath(path) not in seen:
                seen.add(os.path.abspath(path))
                paths.append(path)
    if not paths:
        raise ValueError("No input images: give image files, folders or glob patterns.")
    return ImageSelection(tuple(paths), tuple(dict.fromkeys(masks)))


def is_realiad_mask(path):
    """Whether ``path`` is a ``.png`` with a ``.jpg``/``.jpeg`` of its stem beside it."""
    stem, extension = os.path.splitext(path)
    return extension.lower() == MASK_EXTENSION and any(
        os.path.isfile(stem + image_extension) for image_extension in _MASKED_IMAGE_EXTENSIONS
    )
