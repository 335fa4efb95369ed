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
tighter limit, which TensorFlow reports itself. Evaluation's own floor,
which needs no Keras, is ``mtfcdd.utils.memory``'s.
"""

import math

import keras

from mtfcdd.utils.memory import check_batch_memory

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
    height, width = model.inputs[0].shape[1:3]
    check_batch_memory(
        lambda: batch_bytes_per_image(model, training), batch_size,
        f"{height}x{width} image{' in training' if training else ''}", "image size", available,
    )


def _leaf_layers(model, trainable=True):
    """(layer, whether it is trained) of every layer that is not a model."""
    for layer in model.layers:
        layer_trainable = trainable and layer.trainable
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer, layer_trainable)
        elif not isinstance(layer, keras.layers.InputLayer):
            yield layer, layer_trainable and bool(layer.trainable_weights)
