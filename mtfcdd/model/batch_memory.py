"""Whether a batch fits in memory, checked before TensorFlow runs it.

A batch too large for the machine does not fail cleanly in TensorFlow: it
swaps, or the process is killed, or it crashes outright (a batch of 100,000
ended in a segmentation fault after 85 s). ``check_batch_fits`` estimates
the memory of one batch from the model's own layer shapes and refuses a
batch that cannot fit in the memory available now, naming the largest
batch that would.

The estimate is a floor, not a prediction: per image, the float32 input (the
pipeline holds about two batches of them) plus the largest input and output
of any one layer, which must exist together while the layer runs, plus, in
training, every output of the trained layers (kept for the gradients). So a
refused batch would certainly not fit; an accepted one may still be too
large for other reasons (other processes, TensorFlow's own buffers). It is
the host's memory that is checked: on a GPU the device's memory is the
tighter limit, which TensorFlow reports itself.
"""

import math
import os

import keras

_FLOAT_BYTES = 4
# Batches of input images in memory at once: the one the model runs and the
# one the tf.data pipeline prefetches.
_INPUT_BATCHES = 2


def batch_bytes_per_image(model, training=False):
    """The floor of the memory one image of a batch needs, in bytes (see the
    module docstring)."""
    input_size = math.prod(model.inputs[0].shape[1:])
    largest_layer, trained_outputs = 0, 0
    for layer, trainable in _leaf_layers(model):
        inputs = keras.tree.flatten(layer.input)
        outputs = keras.tree.flatten(layer.output)
        layer_size = sum(math.prod(tensor.shape[1:]) for tensor in inputs + outputs)
        largest_layer = max(largest_layer, layer_size)
        if training and trainable:
            trained_outputs += sum(math.prod(tensor.shape[1:]) for tensor in outputs)
    return _FLOAT_BYTES * (_INPUT_BATCHES * input_size + largest_layer + trained_outputs)


def check_batch_fits(model, batch_size, training=False, available=None):
    """Raises ``ValueError`` when a batch of ``batch_size`` cannot fit.

    Args:
        model: a built Keras model (a ``MultiTypeFCDD``).
        batch_size: images per batch.
        training: the batch is trained on (gradients), not only predicted.
        available: bytes of memory available; read from the system when
            None (nothing is checked where it cannot be read).
    """
    available = available_memory() if available is None else available
    if available is None:
        return
    per_image = batch_bytes_per_image(model, training)
    needed = batch_size * per_image
    if needed <= available:
        return
    height, width = model.inputs[0].shape[1:3]
    largest = max(available // per_image, 0)
    raise ValueError(
        f"batch_size {batch_size:,} needs at least {needed / 2**30:,.1f} GiB of memory "
        f"({per_image / 2**20:,.1f} MiB per {height}x{width} image"
        f"{' in training' if training else ''}), more than the {available / 2**30:,.1f} GiB "
        f"available; use a batch size of at most {largest:,}"
        + ("" if largest else " (no batch fits: free memory or use a smaller image size)") + "."
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


def _leaf_layers(model, trainable=True):
    """(layer, whether it is trained) of every layer that is not a model."""
    for layer in model.layers:
        layer_trainable = trainable and layer.trainable
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer, layer_trainable)
        elif not isinstance(layer, keras.layers.InputLayer):
            yield layer, layer_trainable and bool(layer.trainable_weights)
