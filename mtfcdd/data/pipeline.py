"""The tf.data input pipelines: training (paper 4.2, 4.3.2) and evaluation.

Images are decoded and resized in TensorFlow, in parallel, to float32 RGB
in 0..255; the model does its own pre-processing. They shrink by area
averaging and grow bilinearly, exactly as OpenCV does in the resize cache and
in the LiteRT runner (``mtfcdd.utils.image_files.resize_image``; the two agree to
OpenCV's rounding to uint8), so a deployed model sees the pixels it was
trained and calibrated on. Area averaging also keeps fine scratches, which
plain bilinear would alias away when Real-IAD's 1024-pixel images shrink ~3.4
times. Masks are resized nearest and binarised to uint8 0/1.

A file that cannot be read or decoded, or a mask of another size than its
image, stops the pipeline with an error that names it
(``pipeline_error_message`` gives its one line). TensorFlow's decoders do
not name the file, and decoding with cv2 in a ``tf.numpy_function`` would
serialise the workers on Python's lock and misses truncated JPEGs (cv2 only
warns); so each file is decoded in a one-element dataset that
``ignore_errors`` empties on failure, and an assertion then fails with the
path. It costs no measurable time. Training and evaluation check every file
before they start (``mtfcdd.data.realiad.verify.check_sample_files``), so
these assertions are the last line of defence.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import tensorflow as tf

from mtfcdd.data.augmentation import AugmentationConfig
from mtfcdd.data.augmentation_ops import augment
from mtfcdd.data.balanced_sampler import balanced_index_stream, shuffled_index_stream
from mtfcdd.data.sample import Sample
from mtfcdd.utils.image_size import image_size_pair


def load_image(path, image_size):
    """Read, decode and resize an image file (JPEG, PNG, BMP, GIF, WebP).

    Args:
        path: string scalar tensor or str.
        image_size: int or (height, width).

    Returns:
        (height, width, 3) float32 RGB, values in 0..255.
    """
    return _load_image(path, image_size)[0]


def _load_image(path, image_size):
    """(``load_image``'s image, the file's own (height, width)): masks are
    checked against the latter."""
    decoded = _decode(path, channels=3)
    return resize_image(decoded, image_size_pair(image_size, "image_size")), tf.shape(decoded)[:2]


def resize_image(image, size):
    """Area averaging when shrinking, bilinear when enlarging (as OpenCV).

    Args:
        image: (H, W, C) tensor.
        size: (height, width).

    Returns:
        (height, width, C) float32.
    """
    height, width = size
    source_shape = tf.shape(image)
    shrinking = height * width < source_shape[0] * source_shape[1]
    return tf.cond(
        shrinking,
        lambda: tf.image.resize(image, size, method=tf.image.ResizeMethod.AREA),
        lambda: tf.image.resize(image, size, method=tf.image.ResizeMethod.BILINEAR),
    )


def load_mask(path, mask_size, image_path=None, image_shape=None):
    """Read a defect mask (any value > 0 is defect), resize it nearest.

    Args:
        path: string scalar tensor or str.
        mask_size: int or (height, width) to resize it to.
        image_path, image_shape: its image and the image's decoded shape:
            a mask of another size fails, naming both files.

    Returns:
        (height, width) uint8, values 0 and 1.
    """
    mask = tf.cast(_decode_mask(path, image_path, image_shape) > 0, tf.uint8)
    resized = tf.image.resize(
        mask, image_size_pair(mask_size, "mask_size"), method=tf.image.ResizeMethod.NEAREST_NEIGHBOR
    )
    return resized[..., 0]


def defect_coverage(mask_path, labels, grid_size, image_path=None, image_shape=None):
    """Per-type defect masks on the heatmap grid.

    Args:
        mask_path: string scalar, "" for an image without mask.
        labels: (K,) the image's labels; the mask goes to its type's channel.
        grid_size: int or (height, width) of the grid.
        image_path, image_shape: see ``load_mask``.

    Returns:
        (height, width, K) float32: the fraction of each cell's pixels that
        are defect (area resampling of the binary mask).
    """
    height, width = image_size_pair(grid_size, "grid_size")

    def coverage():
        mask = tf.cast(_decode_mask(mask_path, image_path, image_shape) > 0, tf.float32)
        return tf.image.resize(mask, (height, width), method=tf.image.ResizeMethod.AREA)

    covered = tf.cond(
        tf.strings.length(mask_path) > 0, coverage, lambda: tf.zeros([height, width, 1])
    )
    return covered * labels


def training_dataset(
    samples: Sequence[Sample],
    image_size: int | Sequence[int],
    batch_size: int = 32,
    seed: int = 0,
    augmentation: AugmentationConfig | None = AugmentationConfig(),
    start_step: int = 0,
    balanced: bool = True,
    mask_grid: Sequence[int] | None = None,
    sampling_classes: str = "types",
    shard: tuple[int, int] | None = None,
) -> tf.data.Dataset:
    """The infinite training stream of (images, labels) batches.

    Args:
        samples: the training ``Sample``s.
        image_size: int or (height, width) of the model input.
        batch_size: images per batch; the stream has no partial batch.
        seed: integer seed; the stream (draws and augmentation) is a fixed
            function of it.
        augmentation: an ``AugmentationConfig``, or None for none.
        start_step: first batch to yield: the stream resumed at batch s yields
            exactly the batches s, s+1, ... of an uninterrupted run.
        balanced: balanced sampling (paper 4.2) if True, otherwise every image
            once per pass in a new random order.
        mask_grid: (height, width) of the heatmaps, to yield per-type defect
            masks on that grid instead of image labels (pixel supervision,
            used only to pre-train the offline backbone); needs
            ``augmentation=None``.
        sampling_classes: the classes balanced sampling draws uniformly:
            ``"types"`` (normal and each defect type, paper 4.2) or
            ``"binary"`` (normal and defective; see
            ``mtfcdd.data.balanced_sampler``).
        shard: ``(index, count)`` to yield only the ``index``-th of
            ``count`` equal slices of every batch, in batches of
            ``batch_size // count``: the part of each global batch that one
            of ``count`` training machines computes. The slices are taken
            from the draws before any image is read, so each machine decodes
            only its own images; together they are the unsharded batches.

    Returns:
        A ``tf.data.Dataset`` of (images (B, H, W, 3) float32 in 0..255,
        labels (B, K) float32) or, with ``mask_grid``, (images, masks
        (B, h, w, K) float32: the fraction of each cell covered by the
        image's defect, in its type's channel); draw it with
        ``steps_per_epoch``.
    """
    if batch_size < 1 or start_step < 0:
        raise ValueError(
            f"batch_size must be >= 1 and start_step >= 0; got batch_size="
            f"{batch_size}, start_step={start_step}."
        )
    if mask_grid is not None and augmentation is not None:
        raise ValueError(
            "mask_grid needs augmentation=None: the augmentation moves the "
            "image but not its mask."
        )
    shard_index, shard_count = _shard(shard, batch_size)
    image_paths, mask_paths, labels = _sample_tensors(samples)
    first_draw = start_step * batch_size
    if balanced:
        indices = balanced_index_stream(
            samples, seed, skip=first_draw, sampling_classes=sampling_classes
        )
    else:
        indices = shuffled_index_stream(len(samples), seed, skip=first_draw)

    def load(position, index):
        image_path = tf.gather(image_paths, index)
        image, file_size = _load_image(image_path, image_size)
        if augmentation is not None:
            image = augment(image, position, seed, augmentation)
        if mask_grid is not None:
            return image, defect_coverage(
                tf.gather(mask_paths, index), tf.gather(labels, index), mask_grid,
                image_path, file_size,
            )
        return image, tf.gather(labels, index)

    draws = indices.enumerate(start=first_draw)
    slice_size = batch_size // shard_count
    if shard_count > 1:
        draws = draws.filter(
            lambda position, index: (position % batch_size) // slice_size == shard_index
        )
    images = draws.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return images.batch(slice_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _shard(shard, batch_size):
    """``(index, count)`` of a valid ``shard``; ``(0, 1)`` for None."""
    if shard is None:
        return 0, 1
    index, count = shard
    if not 0 <= index < count or batch_size % count:
        raise ValueError(
            f"shard must be (index, count) with 0 <= index < count and count dividing "
            f"batch_size={batch_size}; got {shard!r}."
        )
    return int(index), int(count)


def evaluation_dataset(
    samples: Sequence[Sample],
    image_size: int | Sequence[int],
    batch_size: int = 32,
    mask_size: int | Sequence[int] | None = None,
) -> tf.data.Dataset:
    """Every sample once, in order, without augmentation.

    Args:
        samples: the ``Sample``s to evaluate.
        image_size: int or (height, width) of the model input.
        batch_size: images per batch; the last batch holds the remainder.
        mask_size: int or (height, width) of the masks; ``image_size`` if None.

    Returns:
        A ``tf.data.Dataset`` of (images (B, H, W, 3) float32 in 0..255,
        labels (B, K) float32, masks (B, h, w) uint8 0/1 (zeros where a
        sample has no mask), index (B,) int64 position in ``samples``).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
    mask_size = image_size if mask_size is None else mask_size
    mask_height, mask_width = image_size_pair(mask_size, "mask_size")
    image_paths, mask_paths, labels = _sample_tensors(samples)

    def load(index):
        image_path, mask_path = image_paths[index], mask_paths[index]
        image, file_size = _load_image(image_path, image_size)
        mask = tf.cond(
            tf.strings.length(mask_path) > 0,
            lambda: load_mask(mask_path, mask_size, image_path, file_size),
            lambda: tf.zeros([mask_height, mask_width], tf.uint8),
        )
        return image, labels[index], mask, index

    positions = tf.data.Dataset.range(len(samples))
    loaded = positions.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return loaded.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _decode(path, channels):
    """Decode an image file to uint8 (h, w, channels); fail naming the file."""
    contents = tf.io.read_file(path)
    attempt = tf.data.Dataset.from_tensors(contents).map(
        lambda data: (
            tf.io.decode_image(data, channels=channels, expand_animations=False),
            True,
        )
    )
    failure = tf.data.Dataset.from_tensors((tf.zeros([0, 0, channels], tf.uint8), False))
    image, decoded = attempt.ignore_errors().concatenate(failure).take(1).get_single_element()
    check = tf.debugging.Assert(
        decoded, ["Cannot decode the image file", path, "(corrupt, truncated or not an image)."]
    )
    with tf.control_dependencies([check]):
        image = tf.identity(image)
    image.set_shape([None, None, channels])
    return image


def _decode_mask(path, image_path, image_shape):
    """Decode a mask to (h, w, 1) uint8; fail naming it when ``image_shape``
    is given and differs (a stretched mask would mark the wrong pixels)."""
    mask = _decode(path, channels=1)
    if image_shape is None:
        return mask
    check = tf.debugging.Assert(
        tf.reduce_all(tf.equal(tf.shape(mask)[:2], image_shape)),
        ["The mask", path, "is not the size of its image", image_path,
         "(a mask must have its image's size)."],
    )
    with tf.control_dependencies([check]):
        return tf.identity(mask)


def pipeline_error_message(error):
    """One line for a ``tf.errors.OpError`` raised while a pipeline reads files.

    The file checks of this module fail with ``tf.debugging.Assert``, whose
    message TensorFlow wraps in lines about the graph; this returns the
    check's own sentence (naming the file), or the error's first line.
    """
    message = getattr(error, "message", str(error))
    failed = re.search(r"assertion failed: (.*)", message)
    if failed:
        parts = re.findall(r"\[((?:[^\[\]\\]|\\.)*)\]", failed.group(1))
        # TensorFlow escapes quotes and backslashes in the strings it prints.
        return " ".join(re.sub(r"\\(.)", r"\1", part) for part in parts)
    return message.strip().splitlines()[0]


def _sample_tensors(samples):
    """Image paths, mask paths ("" for none) and the (N, K) float32 labels."""
    if not samples:
        raise ValueError("samples is empty; the pipeline needs at least one image.")
    num_labels = len(samples[0].labels)
    for sample in samples:
        if len(sample.labels) != num_labels:
            raise ValueError(
                f"Sample {sample.image_path} has {len(sample.labels)} labels; "
                f"expected {num_labels} like {samples[0].image_path}."
            )
    _check_files_exist(samples)
    image_paths = tf.constant([sample.image_path for sample in samples])
    mask_paths = tf.constant([sample.mask_path or "" for sample in samples])
    labels = tf.constant([sample.labels for sample in samples], tf.float32)
    return image_paths, mask_paths, labels


def _check_files_exist(samples):
    # Checked up front: a missing file would otherwise stop training only when
    # the sampler first draws it, possibly hours in.
    for sample in samples:
        for path in (sample.image_path, sample.mask_path):
            if path is not None and not os.path.isfile(path):
                raise FileNotFoundError(
                    f"{path} does not exist (image or mask of a sample in the "
                    f"split, category {sample.category!r})."
                )
