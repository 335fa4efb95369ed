"""The cost of one image through a model, in floating-point operations.

``count_flops`` counts from the layers: two FLOPs per multiply-add of every
Conv2D/Dense layer plus one per bias add; element-wise layers (batch norm,
activations, pooling, residual adds, about 0.3 % more) are not counted.
``profiler_flops`` asks TensorFlow's profiler, as a cross-check.
"""

import keras
import numpy as np
import tensorflow as tf


def count_flops(model):
    """FLOPs of one image through ``model``, counted from its layers.

    Two per multiply-add of each ``Conv2D`` and ``Dense`` layer (nested
    models included), plus one per output of their bias; other layers are
    element-wise and not counted (module docstring).
    """
    flops = 0
    for layer in _leaf_layers(model):
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            kernel_shape = layer.kernel.shape
            # The kernel's last axis is the output channels; the others are
            # multiplied into each output value (Conv2D groups divide the
            # input channels, already reflected in the kernel's shape).
            multiply_adds_per_output = int(np.prod(kernel_shape[:-1]))
            outputs = int(np.prod(layer.output.shape[1:]))
            flops += 2 * multiply_adds_per_output * outputs
            if layer.use_bias:
                flops += outputs
    return flops


def profiler_flops(model):
    """FLOPs of one image as TensorFlow's profiler counts them (a cross-check).

    The profiler counts each graph op it has a rule for (Conv2D, MatMul,
    BiasAdd, ...) in the frozen inference graph.
    """
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    signature = tf.TensorSpec((1, *model.image_size, 3), tf.float32)
    function = tf.function(lambda images: model(images, training=False))
    graph = convert_variables_to_constants_v2(function.get_concrete_function(signature)).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = tf.compat.v1.profiler.profile(
        graph=graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op", options=options
    )
    return profile.total_float_ops


def _leaf_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer
