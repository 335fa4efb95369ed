"""Image scores from anomaly maps, paper Eq. 2, inside the graph.

``anomaly_scores`` runs ``mtfcdd.inference.postprocessing.image_scores``
with ``keras.ops``, on any backend, where the loss (Eq. 3) needs the scores
as tensors; after the network every runtime computes them with the same
function in NumPy.
"""

from __future__ import annotations

from typing import Any

from keras import ops

from mtfcdd.inference.postprocessing import image_scores


def anomaly_scores(heatmaps: Any, reduction: str = "mean") -> Any:
    """Per-type image scores s_k from a batch of heatmaps, paper Eq. 2, in ``keras.ops``.

    ``mtfcdd.inference.postprocessing.image_scores`` with ``keras.ops``: the
    loss's scores (Eq. 3) are the ones the runners compute in NumPy.

    Args:
        heatmaps: tensor of shape (N, u, v, K), non-negative.
        reduction: ``"mean"`` (the paper's) or ``"max"`` (the authors'
            code's).

    Returns:
        Tensor of shape (N, K).
    """
    return image_scores(heatmaps, reduction, ops=ops)
