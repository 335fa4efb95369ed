"""Image scores and full-resolution heatmaps from anomaly maps, paper Eq. 2.

These are the ``keras.ops`` versions, which run inside the graph (the loss
uses ``anomaly_scores``) on any backend. After the network, prediction and
the LiteRT runner use the NumPy versions in ``mtfcdd.inference.postprocessing``;
``tests/test_deploy.py`` checks that both agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keras import ops

from mtfcdd.constants import SCORE_REDUCTIONS


def anomaly_scores(heatmaps: Any, reduction: str = "mean") -> Any:
    """Per-type image scores from a batch of heatmaps.

    Paper Eq. 2: ``s_k(X) = (1 / (u v)) * ||A_k(X)||_1``. Because the
    pseudo-Huber maps are non-negative, the L1 norm divided by the map's size
    is the mean of the map (``reduction="mean"``, the paper's choice). The
    authors' PyTorch code evaluates with the map's maximum instead
    (``reduction="max"``); results record which one produced them.

    Args:
        heatmaps: tensor of shape (N, u, v, K), non-negative.
        reduction: ``"mean"`` or ``"max"``.

    Returns:
        Tensor of shape (N, K).
    """
    if reduction not in SCORE_REDUCTIONS:
        raise ValueError(
            f"reduction must be one of {SCORE_REDUCTIONS}; got {reduction!r}."
        )
    if len(heatmaps.shape) != 4:
        raise ValueError(
            "heatmaps must have shape (batch, height, width, types); got "
            f"shape {tuple(heatmaps.shape)}."
        )
    if reduction == "mean":
        return ops.mean(heatmaps, axis=(1, 2))
    return ops.max(heatmaps, axis=(1, 2))


def upsample_heatmaps(heatmaps: Any, size: Sequence[int]) -> Any:
    """Bilinear upsampling of (N, u, v, K) heatmaps to (N, height, width, K).

    The paper upsamples each ``A_k`` to the input's size so that every pixel
    of the image has a score (paper 3.1).

    Args:
        heatmaps: tensor of shape (N, u, v, K).
        size: ``(height, width)`` of the output.
    """
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"size must be (height, width) > 0; got {size!r}.")
    return ops.image.resize(
        heatmaps, tuple(int(side) for side in size), interpolation="bilinear"
    )
