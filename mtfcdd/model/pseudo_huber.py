"""The pseudo-Huber output layer, paper Eq. 1."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from mtfcdd.inference.postprocessing import pseudo_huber


@keras.saving.register_keras_serializable(package="mtfcdd")
class PseudoHuber(keras.layers.Layer):
    """Turns the network's raw output into non-negative anomaly heatmaps.

    Paper Eq. 1, applied element-wise to every type channel ``k``:

        A_k(X) = sqrt(phi_k(X; W)^2 + 1) - 1

    It behaves like ``phi^2 / 2`` near zero and like ``|phi|`` far from it,
    so a heatmap is smooth where the model is unsure and grows only linearly
    where it is confident (FCDD's reason for choosing it).

    It is computed by ``mtfcdd.inference.postprocessing.pseudo_huber`` in
    ``keras.ops``, the formula that the runners of converted models apply in
    NumPy: without the cancellation of ``sqrt(phi^2 + 1) - 1`` in float32,
    which loses every digit for ``|phi| < 3e-4`` (where normal images'
    heatmaps live, and their scores decide the thresholds), and without
    overflow for large ``|phi|``.
    """

    def call(self, inputs: Any) -> Any:
        return pseudo_huber(inputs, ops=ops)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape
