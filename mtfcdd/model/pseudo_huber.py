"""The pseudo-Huber output layer, paper Eq. 1."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mtfcdd")
class PseudoHuber(keras.layers.Layer):
    """Turns the network's raw output into non-negative anomaly heatmaps.

    Paper Eq. 1, applied element-wise to every type channel ``k``:

        A_k(X) = sqrt(phi_k(X; W)^2 + 1) - 1

    It behaves like ``phi^2 / 2`` near zero and like ``|phi|`` far from it,
    so a heatmap is smooth where the model is unsure and grows only linearly
    where it is confident (FCDD's reason for choosing it).
    """

    def call(self, inputs):
        return ops.sqrt(ops.square(inputs) + 1.0) - 1.0

    def compute_output_shape(self, input_shape):
        return input_shape
