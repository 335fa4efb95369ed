"""The tf.data training stream (paper 4.2, 4.3.2).

Each drawn image is read once, by the model's own preprocessor
(``mtfcdd.data.preprocessor.Preprocessor``: OpenCV decoding, area averaging
when shrinking and bilinear when enlarging, to uint8), the very code that
evaluation, prediction, the server, int8 calibration and the LiteRT and
ONNX runners read images with; so the model is trained on the pixels it is
judged and deployed on. The preprocessor runs in ``tf.numpy_function``
(OpenCV releases Python's lock while it decodes and resizes); augmentation
and batching stay in TensorFlow, in parallel, with prefetching. Masks (only
to pre-train the offline backbone) are read with OpenCV too and resampled
by area to the heatmap grid.

A file that cannot be read or decoded, or a mask of another size than its
image, stops the stream with an error that names it: the preprocessor's
own one line, which ``pipeline_error_message`` takes out of TensorFlow's
error. Training checks every file's header and completeness before it
starts (``mtfcdd.data.realiad.verify.check_sample_files``) without decoding
it: the stream's decoding is the only one, and refuses damaged data on a
file's first draw (libjpeg's check lets one JPEG decode at a time, so later
draws of the file decode without it, in parallel).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from mtfcdd.data.augmentation import AugmentationConfig
from mtfcdd.data.augmentation_ops import augment
from mtfcdd.data.balanced_sampler import balanced_index_stream, shuffled_index_stream
from mtfcdd.data.preprocessor import Preprocessor
from mtfcdd.data.sample import Sample
from mtfcdd.utils.image_files import mask_size_problem, read_mask
from mtfcdd.utils.image_size import image_size_pair


def _read_sample(image_path, mask_path, preprocessor, checked_paths):
    """One training image through the model's preprocessor, and its mask.

    Args:
        image_path: string scalar tensor.
        mask_path: string scalar tensor, "" to read no mask.
        preprocessor: a ``mtfcdd.data.preprocessor.Preprocessor``.
        checked_paths: a set of the image files already read once; they
            are read again without libjpeg's data check, which lets only
            one JPEG decode at a time (``Preprocessor.decode``), and the
            file read first is added.

    Returns:
        (image (height, width, 3) uint8 RGB, exactly ``preprocessor.read``'s;
        mask (H, W) uint8 at the image file's size, any value > 0 defect,
        or (0, 0) when ``mask_path`` is "").
    """
    image, mask, problem = tf.numpy_function(
        functools.partial(_read_files, preprocessor, checked_paths), [image_path, mask_path],
        [tf.uint8, tf.uint8, tf.string], stateful=False,
    )
    check = tf.debugging.Assert(tf.equal(tf.strings.length(problem), 0), [problem])
    with tf.control_dependencies([check]):
        image, mask = tf.identity(image), tf.identity(mask)
    image.set_shape([*preprocessor.image_size, 3])
    mask.set_shape([None, None])
    return image, mask


def _read_files(preprocessor, checked_paths, image_path, mask_path):
    """(image, mask, "") of ``_read_sample``, or (zeros, empty mask, the
    problem's line naming the file): the caller's assertion fails with it."""
    image_path, mask_path = image_path.decode(), mask_path.decode()
    try:
        decoded = preprocessor.decode(image_path, check_data=image_path not in checked_paths)
        mask = np.zeros((0, 0), np.uint8)
        if mask_path:
            mask = read_mask(mask_path)
            problem = mask_size_problem(mask_path, mask.shape, image_path, decoded.shape[:2])
            if problem:
                raise ValueError(problem)
        checked_paths.add(image_path)
        return preprocessor.resize_image(decoded), mask, b""
    except (OSError, ValueError) as error:
        empty = np.zeros((*preprocessor.image_size, 3), np.uint8)
        return empty, np.zeros((0, 0), np.uint8), str(error).encode()


def defect_coverage(mask, labels, grid_size):
    """Per-type defect masks on the heatmap grid.

    Args:
        mask: (H, W) uint8 defect mask (any value > 0 is defect), (0, 0)
            for an image without mask.
        labels: (K,) the image's labels; the mask goes to its type's channel.
        grid_size: int or (height, width) of the grid.

    Returns:
        (height, width, K) float32: the fraction of each cell's pixels that
        are defect (area resampling of the binary mask).
    """
    height, width = image_size_pair(grid_size, "grid_size")

    def coverage():
        defect = tf.cast(mask[..., tf.newaxis] > 0, tf.float32)
        return tf.image.resize(defect, (height, width), method=tf.image.ResizeMethod.AREA)

    covered = tf.cond(tf.size(mask) > 0, coverage, lambda: tf.zeros([height, width, 1]))
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
    preprocessor: Preprocessor | None = None,
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
        preprocessor: the model's ``Preprocessor`` (``model.preprocessor``);
            None for ``Preprocessor(image_size)``, the only rule there is
            today. Its ``image_size`` must be ``image_size``.

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
    preprocessor = Preprocessor.from_config(
        None if preprocessor is None else preprocessor.get_config(), image_size
    )
    image_paths, mask_paths, labels = _sample_tensors(samples)
    checked_paths: set[str] = set()
    first_draw = start_step * batch_size
    if balanced:
        indices = balanced_index_stream(
            samples, seed, skip=first_draw, sampling_classes=sampling_classes
        )
    else:
        indices = shuffled_index_stream(len(samples), seed, skip=first_draw)

    def load(position, index):
        mask_path = tf.gather(mask_paths, index) if mask_grid is not None else tf.constant("")
        image, mask = _read_sample(
            tf.gather(image_paths, index), mask_path, preprocessor, checked_paths
        )
        image = tf.cast(image, tf.float32)
        if augmentation is not None:
            image = augment(image, position, seed, augmentation)
        if mask_grid is not None:
            return image, defect_coverage(mask, tf.gather(labels, index), mask_grid)
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


def pipeline_error_message(error):
    """One line for a ``tf.errors.OpError`` raised while a pipeline reads files.

    The file checks of this module fail with ``tf.debugging.Assert``, whose
    message TensorFlow wraps in lines about the graph; this returns the
    check's own line (naming the file), or the error's first line.
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
