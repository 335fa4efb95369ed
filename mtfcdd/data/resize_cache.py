"""A resized copy of a Real-IAD image folder (paper 4.1, docs/data.md).

The model reads 299x299 images (paper 4.3.1); decoding Real-IAD's 1024x1024
JPEGs and shrinking them on every epoch costs more than the model's forward
pass. ``resize_image_root`` writes the images once at the size needed, under
the same relative paths, so the same JSON splits work with the copy as their
image root (``ROOT/realiad_299`` beside ``ROOT/realiad_1024``).

Real-IAD stores images as JPEG and masks as PNG: images are resized with
area interpolation, masks with nearest neighbour so they stay binary.
"""

import dataclasses
import functools
import os

import cv2

from mtfcdd.constants import IMAGE_EXTENSIONS, MASK_EXTENSION
from mtfcdd.utils.atomic_files import remove_stale_partials, write_bytes
from mtfcdd.utils.image_files import read_image_file
from mtfcdd.utils.thread_map import map_in_threads


@dataclasses.dataclass(frozen=True)
class ResizeResult:
    """Files written by this run, and files found already written."""

    written: int
    skipped: int


def resize_image_root(source, destination, size, workers=None, verbose=1):
    """Write every image and mask of ``source`` resized to ``size`` x ``size``.

    Resumable: a file whose resized copy exists is skipped, and each copy is
    written to a temporary file in its folder then renamed, so a run killed
    at any moment leaves only whole files behind.

    Args:
        source: an image folder, e.g. ``ROOT/realiad_1024``.
        destination: the folder to write, e.g. ``ROOT/realiad_299``; must
            not lie inside ``source``.
        size: side of the square output images, in pixels.
        workers: threads (default: one per CPU).
        verbose: 1 shows a progress bar, 0 nothing.

    Returns:
        A ``ResizeResult``.

    Raises:
        ValueError: after every other file is written, naming each source
            file that OpenCV cannot decode.
    """
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size!r}.")
    if not os.path.isdir(source):
        raise FileNotFoundError(f"{source}: source image folder not found.")
    source_root = os.path.realpath(source)
    destination_root = os.path.realpath(destination)
    if os.path.commonpath([source_root, destination_root]) == source_root:
        raise ValueError(
            f"destination {destination} lies inside source {source}; choose a "
            "folder beside it (e.g. ROOT/realiad_299)."
        )
    relative_paths = _image_files(source_root)
    for folder, _, _ in os.walk(destination_root):
        remove_stale_partials(folder)  # of a killed run
    to_write = [
        path for path in relative_paths
        if not os.path.exists(os.path.join(destination_root, path))
    ]
    failures = map_in_threads(
        functools.partial(_resize_file, source_root, destination_root, size),
        to_write,
        "Resizing",
        workers=workers,
        verbose=verbose,
    )
    failures = [failure for failure in failures if failure]
    if failures:
        raise ValueError(
            f"{len(failures)} source files cannot be read (damaged, truncated or not "
            "an image): " + ", ".join(failures)
        )
    return ResizeResult(
        written=len(to_write), skipped=len(relative_paths) - len(to_write)
    )


def _image_files(source_root):
    """Paths of the images under ``source_root``, relative to it, sorted."""
    relative_paths = []
    for folder, _, names in os.walk(source_root):
        relative_paths.extend(
            os.path.relpath(os.path.join(folder, name), source_root)
            for name in names
            if name.lower().endswith(IMAGE_EXTENSIONS)
        )
    if not relative_paths:
        raise ValueError(
            f"{source_root}: no image files ({', '.join(IMAGE_EXTENSIONS)}) found."
        )
    return sorted(relative_paths)


def _resize_file(source_root, destination_root, size, relative_path):
    """Write one resized file; the source path when it cannot be decoded."""
    source_path = os.path.join(source_root, relative_path)
    is_mask = relative_path.lower().endswith(MASK_EXTENSION)
    # A mask keeps its single channel; an image is read as the readers read
    # it (colour, EXIF orientation ignored), whole. A truncated file is
    # refused: its copy would be a complete file with grey rows.
    try:
        image = read_image_file(source_path, "unchanged" if is_mask else "color", reduce=False).image
    except ValueError:
        return source_path
    resized = cv2.resize(
        image,
        (size, size),
        interpolation=cv2.INTER_NEAREST if is_mask else cv2.INTER_AREA,
    )
    if not is_mask:
        # OpenCV encodes BGR; converting the small copy costs less.
        resized = cv2.cvtColor(resized, cv2.COLOR_RGB2BGR)
    encoded_ok, encoded = cv2.imencode(os.path.splitext(relative_path)[1], resized)
    if not encoded_ok:
        raise ValueError(f"{source_path}: OpenCV cannot encode its resized copy.")
    destination_path = os.path.join(destination_root, relative_path)
    os.makedirs(os.path.dirname(destination_path), exist_ok=True)
    # Written under a temporary name, then renamed: a killed run leaves no
    # file under the final name that a resumed run would skip.
    write_bytes(destination_path, encoded.tobytes())
    return None
