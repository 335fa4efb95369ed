"""The multi-type FCDD loss, paper Eq. 3."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from mtfcdd.model.anomaly_map import anomaly_scores


def _is_concrete(tensor):
    """Whether ``tensor`` holds values (eager) rather than a traced symbol.

    Label values can only be checked outside a compiled training step; inside
    one the data pipeline (which builds labels from the data set) is trusted.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.executing_eagerly()
    if backend == "jax":
        import jax

        return not isinstance(tensor, jax.core.Tracer)
    return True


def fcdd_terms(labels, scores, epsilon=1e-6):
    """The summand of Eq. 3, element-wise: ``(1 - y) s - y log(1 - exp(-s))``.

    The anomalous term is computed as ``-log(-expm1(-s))`` with ``s`` clamped
    to ``>= epsilon`` in value but not in gradient: finite for any
    ``s >= 0``, and even an all-zero heatmap of a defective image still gets
    a (large, finite) push.
    """
    clamped_scores = scores + ops.stop_gradient(ops.maximum(scores, epsilon) - scores)
    normal_term = (1.0 - labels) * scores
    anomalous_term = -labels * ops.log(-ops.expm1(-clamped_scores))
    return normal_term + anomalous_term


class FCDDLoss(keras.losses.Loss):
    """What the image-level and the pixel-level losses share: ``epsilon``.

    Args:
        epsilon: the smallest score used in the anomalous term of Eq. 3
            (``fcdd_terms``); must be > 0.
        reduction, name, dtype: as for any ``keras.losses.Loss``.
    """

    def __init__(
        self,
        epsilon: float = 1e-6,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: str | keras.DTypePolicy | None = None,
    ) -> None:
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        if not epsilon > 0:
            raise ValueError(f"epsilon must be > 0; got {epsilon}.")
        self.epsilon = epsilon

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["epsilon"] = self.epsilon
        return config


@keras.saving.register_keras_serializable(package="mtfcdd")
class MultiTypeFCDDLoss(FCDDLoss):
    """Paper Eq. 3: one FCDD loss per defect type, summed over types.

    With ``y_ik`` the image-level label of type ``k`` for image ``i`` and
    ``s_k`` the mean of heatmap ``A_k`` (Eq. 2):

        L = (1/n) sum_i sum_k [ (1 - y_ik) s_k(X_i)
                                - y_ik log(1 - exp(-s_k(X_i))) ]

    A normal image (all ``y_ik = 0``) pulls every heatmap towards zero; an
    image of type ``k`` pushes ``s_k`` up and leaves the other channels to be
    pulled down like a normal image's.

    Reduction: ``call`` returns the per-image sum over types, and the default
    ``"sum_over_batch_size"`` averages it over the batch, as the authors'
    code does.

    Stability: the FCDD reference writes the anomalous term as
    ``-log(1 - exp(-s) + 1e-31)``, whose float32 gradient explodes as
    ``s -> 0``; here it is ``fcdd_terms``.

    Args:
        epsilon, reduction, name, dtype: see ``FCDDLoss``.

    Inputs:
        y_true: labels of shape (N, K), values in {0, 1}.
        y_pred: heatmaps of shape (N, u, v, K) from the model.
    """

    def __init__(
        self,
        epsilon: float = 1e-6,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = "multi_type_fcdd_loss",
        dtype: str | keras.DTypePolicy | None = None,
    ) -> None:
        super().__init__(epsilon=epsilon, reduction=reduction, name=name, dtype=dtype)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        self._check_labels(y_true, y_pred)
        scores = anomaly_scores(y_pred, reduction="mean")
        terms = fcdd_terms(ops.cast(y_true, y_pred.dtype), scores, self.epsilon)
        return ops.sum(terms, axis=-1)

    @staticmethod
    def _check_labels(y_true, y_pred):
        if len(y_true.shape) != 2:
            raise ValueError(
                "Labels must have shape (batch, num_types); got shape "
                f"{tuple(y_true.shape)}."
            )
        if len(y_pred.shape) != 4:
            raise ValueError(
                "Predictions must be heatmaps of shape (batch, height, width, "
                f"num_types); got shape {tuple(y_pred.shape)}."
            )
        num_types = y_pred.shape[-1]
        if None not in (y_true.shape[-1], num_types) and (
            y_true.shape[-1] != num_types
        ):
            raise ValueError(
                f"Labels have {y_true.shape[-1]} types but the heatmaps have "
                f"{num_types} channels; they must match."
            )
        if _is_concrete(y_true):
            values = np.asarray(ops.convert_to_numpy(y_true))
            invalid = values[(values != 0) & (values != 1)]
            if invalid.size:
                raise ValueError(
                    "Labels must be 0 or 1 (type absent or present); got "
                    f"value(s) {np.unique(invalid)[:5].tolist()}."
                )


@keras.saving.register_keras_serializable(package="mtfcdd")
class MultiTypePixelLoss(FCDDLoss):
    """Eq. 3 applied to every heatmap cell, with ground-truth defect masks.

    FCDD's loss for training with ground-truth maps (Liznerski et al. 2021),
    one per type: a cell of type ``k``'s heatmap is pushed up as far as a
    type-``k`` defect covers it (``y`` = covered fraction) and pulled to
    zero elsewhere:

        L = (1/n) sum_i sum_k mean_cells [ (1 - y) A_k - y log(1 - exp(-A_k)) ]

    The paper trains with image labels only (``MultiTypeFCDDLoss``); this
    loss serves one purpose, pre-training the offline backbone on synthetic
    data, whose masks are exact (docs/model.md, "Offline backbone").

    Inputs:
        y_true: masks (N, u, v, K) with values in [0, 1], on the heatmap grid.
        y_pred: heatmaps (N, u, v, K).
    """

    def __init__(
        self, epsilon=1e-6, reduction="sum_over_batch_size", name="multi_type_pixel_loss", dtype=None
    ):
        super().__init__(epsilon=epsilon, reduction=reduction, name=name, dtype=dtype)

    def call(self, y_true, y_pred):
        if tuple(y_true.shape[1:]) != tuple(y_pred.shape[1:]):
            raise ValueError(
                f"Masks of shape {tuple(y_true.shape)} do not match heatmaps of "
                f"shape {tuple(y_pred.shape)}; give masks on the heatmap grid."
            )
        terms = fcdd_terms(ops.cast(y_true, y_pred.dtype), y_pred, self.epsilon)
        return ops.sum(ops.mean(terms, axis=(1, 2)), axis=-1)
