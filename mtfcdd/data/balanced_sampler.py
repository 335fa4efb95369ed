"""Balanced sampling of the training images (paper 4.2, docs/data.md).

The class of an image is ``"OK"`` (normal) or its defect type (m = 9 on
Real-IAD: the paper's classes, ``sampling_classes="types"``; K + 1 on a data
set of K types of its own); with
``sampling_classes="binary"`` it is normal or defective (m = 2: FCDD's
half-normal, half-defective batches, an option for the multi-class setting,
K = 1). Each draw picks one of the m classes present uniformly at random,
then the next image of that class's stream. A class's stream is its images
shuffled, reshuffled at every pass and repeated, so small classes are reused
and, once a class has been drawn n_i times (its number of images), every one
of its images has been drawn: a balanced epoch (Eq. 4,
``mtfcdd.data.balanced_epoch``) sees every image.

The streams carry sample indices only (decoding comes later), and every random
number is a stateless function of the seed and a counter: each iterator of a
stream yields the same sequence, and skipping draws to resume is cheap.
"""

import tensorflow as tf

from mtfcdd.constants import DEFECTIVE_CLASS, IMAGE_CLASSES, NORMAL_CLASS, SAMPLING_CLASSES


# Keys folded into the seed so that one seed gives independent random
# streams; mtfcdd.data.augmentation uses another key.
_CHOICE_STREAM = 1
_SHUFFLE_STREAM = 2

# Draws generated at once in the index streams: see reshuffled_stream and
# _class_choices.
_BLOCK_DRAWS = 1024


def image_class(sample, sampling_classes="types"):
    """The class of ``sample`` for balanced sampling: "OK" or its defect
    type, or with ``sampling_classes="binary"`` "OK" or "defective"."""
    if not isinstance(sample.anomaly_class, str) or not sample.anomaly_class:
        raise ValueError(
            f"Sample {sample.image_path} has anomaly_class {sample.anomaly_class!r}; expected "
            f"{NORMAL_CLASS!r} or the name of its defect type."
        )
    if sampling_classes == "binary" and sample.anomaly_class != NORMAL_CLASS:
        return DEFECTIVE_CLASS
    return sample.anomaly_class


def _class_order(samples, sampling_classes):
    """Every class of ``samples`` in a fixed order: ``SAMPLING_CLASSES``'
    (Real-IAD's), then any other data set's types sorted by name."""
    known = SAMPLING_CLASSES[sampling_classes]
    others = {image_class(sample, sampling_classes) for sample in samples} - set(known)
    return known + tuple(sorted(others))


def class_indices(samples, sampling_classes="types"):
    """The indices into ``samples`` of each class present.

    Args:
        samples: the training ``Sample``s.
        sampling_classes: a key of ``SAMPLING_CLASSES``.

    Returns:
        A dict from class to a list of indices, normal first, Real-IAD's
        types in ``SAMPLING_CLASSES`` order, other types sorted by name;
        absent classes are left out.
    """
    if sampling_classes not in SAMPLING_CLASSES:
        raise ValueError(
            f"sampling_classes must be one of {tuple(SAMPLING_CLASSES)}; got "
            f"{sampling_classes!r}."
        )
    if not samples:
        raise ValueError("samples is empty; balanced sampling needs images.")
    indices = {name: [] for name in _class_order(samples, sampling_classes)}
    for index, sample in enumerate(samples):
        indices[image_class(sample, sampling_classes)].append(index)
    return {name: members for name, members in indices.items() if members}


def class_counts(samples, sampling_classes="types"):
    """The number of images n_i of each class present (in
    ``class_indices``' order), as ``mtfcdd.data.balanced_epoch`` expects them."""
    return {
        name: len(members)
        for name, members in class_indices(samples, sampling_classes).items()
    }


def balanced_index_stream(samples, seed=0, skip=0, sampling_classes="types"):
    """The infinite stream of balanced draws, as indices into ``samples``.

    Args:
        samples: the training ``Sample``s.
        seed: integer seed; the stream is a fixed function of it.
        skip: number of draws to leave out at the start, to resume a run
            (``skip`` = batches done x batch size).
        sampling_classes: the classes drawn uniformly: ``"types"`` (normal
            and each defect type, the paper) or ``"binary"`` (normal and
            defective).

    Returns:
        A ``tf.data.Dataset`` of int64 scalars.
    """
    indices_by_class = class_indices(samples, sampling_classes)
    order = IMAGE_CLASSES + (DEFECTIVE_CLASS,) + tuple(
        name for name in _class_order(samples, sampling_classes) if name not in IMAGE_CLASSES
    )
    class_streams = [
        reshuffled_stream(members, _class_seed(seed, order.index(name)))
        for name, members in indices_by_class.items()
    ]
    choices = _class_choices(len(class_streams), seed)
    draws = tf.data.Dataset.choose_from_datasets(class_streams, choices)
    return draws.skip(_check_skip(skip))


def shuffled_index_stream(num_samples, seed=0, skip=0):
    """The standard (unbalanced) stream: all images reshuffled at every pass.

    Same arguments and result as ``balanced_index_stream``, for a data set of
    ``num_samples`` images.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1; got {num_samples}.")
    stream = reshuffled_stream(range(num_samples), _stream_seed(seed, _SHUFFLE_STREAM))
    return stream.skip(_check_skip(skip))


def reshuffled_stream(indices, seed):
    """``indices`` in a new random order at every pass, repeated forever.

    Args:
        indices: the integers to stream.
        seed: stateless seed, shape (2,).

    Passes come in blocks of at least ``_BLOCK_DRAWS`` draws (building each
    inner dataset of ``flat_map`` costs ~100 us, which would make skipping a
    small class's draws slow); block b's passes are shuffled at once, each by
    sorting its own random 64-bit keys drawn with the seed folded with b.
    """
    indices = tf.constant(list(indices), tf.int64)
    passes_per_block = -(-_BLOCK_DRAWS // len(indices))

    def pass_block(block_number):
        block_seed = tf.random.experimental.stateless_fold_in(seed, block_number)
        keys = tf.random.stateless_uniform(
            [passes_per_block, len(indices)], block_seed, dtype=tf.int64,
            minval=None, maxval=None,
        )
        orders = tf.gather(indices, tf.argsort(keys, axis=1))
        return tf.data.Dataset.from_tensor_slices(tf.reshape(orders, [-1]))

    return tf.data.Dataset.counter().flat_map(pass_block)


def _class_choices(num_classes, seed):
    """Each draw's class, uniform over ``num_classes``.

    The choices come in blocks of ``_BLOCK_DRAWS`` drawn at once with the
    seed folded with the block number: a per-draw ``map`` costs ~100 times
    more, which would make skipping a long run's draws slow.
    """
    choice_seed = _stream_seed(seed, _CHOICE_STREAM)

    def choice_block(block_number):
        block_seed = tf.random.experimental.stateless_fold_in(choice_seed, block_number)
        choices = tf.random.stateless_uniform(
            [_BLOCK_DRAWS], block_seed, minval=0, maxval=num_classes, dtype=tf.int64
        )
        return tf.data.Dataset.from_tensor_slices(choices)

    return tf.data.Dataset.counter().flat_map(choice_block)


def _class_seed(seed, position):
    # Keyed by the class's fixed position (Real-IAD's classes are always at
    # the same one), so a class's stream does not change when another is absent.
    shuffle_seed = _stream_seed(seed, _SHUFFLE_STREAM)
    return tf.random.experimental.stateless_fold_in(shuffle_seed, position)


def _stream_seed(seed, stream):
    return tf.constant([seed, stream], tf.int64)


def _check_skip(skip):
    if skip < 0:
        raise ValueError(f"skip must be >= 0 draws; got {skip}.")
    return skip
