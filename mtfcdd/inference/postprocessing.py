"""From the type projection to decisions, in NumPy and OpenCV only (paper Eq. 1, 2, 3.1).

The single implementation of each step after the network, which the model's
``mtfcdd.inference.postprocessor.Postprocessor`` chains: the pseudo-Huber
heatmaps (paper Eq. 1, ``pseudo_huber``), image scores (Eq. 2,
``image_scores``), full-resolution heatmaps (paper 3.1,
``upsample_heatmaps``) and the defect types whose score reaches its
threshold. It imports neither Keras nor TensorFlow, so the runners of
converted files use it on a board, and the Keras prediction path uses it
too. Eq. 1 and 2 take ``ops=keras.ops`` as well: the model's output layer
and its loss run the same formulas inside the graph
(``mtfcdd.model.pseudo_huber``, ``mtfcdd.model.anomaly_map``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from mtfcdd.constants import SCORE_REDUCTIONS
from mtfcdd.inference.open_set import open_set_decisions


@dataclasses.dataclass(frozen=True)
class Prediction:
    """What the model says about a batch of N images.

    Attributes:
        heatmaps: float32 (N, u, v, K), the anomaly maps A_k (paper Eq. 1),
            or (N, height, width, K) once upsampled to the images' size.
        scores: float32 (N, K), the image scores s_k (paper Eq. 2).
        detected_types: a list of N tuples of the type codes whose score
            reaches its threshold; None when the model has no thresholds.
        open_set_scores: float (N,), the open-set score of each image
            (``mtfcdd.inference.open_set``), or None without an open-set rule.
        unknown: bool (N,), the images no known type fires on whose
            open-set score reaches the rule's threshold, or None.
    """

    heatmaps: np.ndarray
    scores: np.ndarray
    detected_types: object
    open_set_scores: object = None
    unknown: object = None

    @property
    def decisions(self):
        """Each image's decision: its detected types, else
        ``("unknown defect",)`` or ``()`` (normal); None without thresholds."""
        if self.detected_types is None:
            return None
        return open_set_decisions(self.detected_types, self.unknown)


def pseudo_huber(projection, ops=np):
    """The heatmaps A_k from the type projection phi_k, paper Eq. 1.

    ``A = sqrt(phi^2 + 1) - 1``, computed as ``|phi| * r`` with
    ``r = |phi| / (sqrt(phi^2 + 1) + 1)`` for ``|phi| < 1`` and
    ``r = 1 / (sqrt(1 + 1 / phi^2) + 1 / |phi|)`` beyond: the same value
    without float32's cancellation for small ``phi``, where normal images'
    heatmaps live (``sqrt(phi^2 + 1) - 1`` loses every digit below
    ``|phi| = 3e-4``), and without overflow for large ones (``phi^2`` is
    infinite beyond ``|phi| = 1.8e19``). Within 2e-7 relative of Eq. 1 over
    the whole float32 range.

    One formula for every runtime: ``ops`` is NumPy here and for converted
    models (which end before Eq. 1, ``mtfcdd.deploy.export`` says why), and
    ``keras.ops`` in the model's output layer
    (``mtfcdd.model.pseudo_huber.PseudoHuber``). Both branches are finite
    everywhere, so the gradient is too.

    Args:
        projection: array (..., K), the output of the model's last 1x1
            convolution.
        ops: ``numpy`` or ``keras.ops``.

    Returns:
        float32 array of the same shape, values >= 0.
    """
    if ops is np:
        projection = np.asarray(projection, np.float32)
    magnitude = ops.abs(projection)
    small = ops.minimum(magnitude, 1.0)
    inverse_large = 1.0 / ops.maximum(magnitude, 1.0)
    ratio = ops.where(
        magnitude < 1.0,
        small / (ops.sqrt(small * small + 1.0) + 1.0),
        1.0 / (ops.sqrt(1.0 + inverse_large * inverse_large) + inverse_large),
    )
    return magnitude * ratio


def image_scores(heatmaps, reduction="mean", ops=np):
    """Per-type image scores s_k from a batch of heatmaps, paper Eq. 2.

    ``s_k(X) = (1 / (u v)) * ||A_k(X)||_1``: the pseudo-Huber maps are
    non-negative, so the L1 norm over the map's size is the mean of the map
    (``reduction="mean"``, the paper's definition). The authors' code
    evaluates with the map's maximum instead (``reduction="max"``); results
    record which one produced them.

    One formula for every runtime: ``ops`` is NumPy after the network, and
    ``keras.ops`` inside the graph, where the loss uses it
    (``mtfcdd.model.anomaly_map.anomaly_scores``).

    Args:
        heatmaps: array (N, u, v, K), non-negative.
        reduction: ``"mean"`` or ``"max"``.
        ops: ``numpy`` or ``keras.ops``.

    Returns:
        float32 array (N, K).
    """
    if reduction not in SCORE_REDUCTIONS:
        raise ValueError(
            f"reduction must be one of {SCORE_REDUCTIONS}; got {reduction!r}."
        )
    if ops is np:
        heatmaps = np.asarray(heatmaps, np.float32)
    _check_heatmaps_shape(heatmaps.shape)
    reduce = ops.mean if reduction == "mean" else ops.max
    return reduce(heatmaps, axis=(1, 2))


def upsample_heatmaps(heatmaps: npt.ArrayLike, size: Sequence[int]) -> np.ndarray:
    """Bilinear upsampling of (N, u, v, K) heatmaps to (N, height, width, K).

    Paper 3.1: each A_k is brought to the input's size so that every pixel
    has a score. ``cv2.resize`` samples at half-pixel centres, as
    ``keras.ops.image.resize`` does. Nothing upsamples inside the graph, so
    this one function serves every runtime.

    Args:
        heatmaps: array (N, u, v, K).
        size: ``(height, width)`` of the output.

    Returns:
        float32 array (N, height, width, K).
    """
    # Imported here: the model's Eq. 1 and Eq. 2 come from this module too,
    # and a training machine (e.g. a GPU server with JAX) may lack OpenCV.
    import cv2

    batch = _check_heatmaps(heatmaps)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"size must be (height, width) > 0; got {size!r}.")
    height, width = (int(side) for side in size)
    upsampled = np.empty(
        (batch.shape[0], height, width, batch.shape[3]), np.float32
    )
    for index, maps in enumerate(batch):
        # cv2.resize drops a trailing channel axis of length 1.
        upsampled[index] = cv2.resize(
            maps, (width, height), interpolation=cv2.INTER_LINEAR
        ).reshape(height, width, -1)
    return upsampled


def types_over_threshold(scores, thresholds, type_codes):
    """The defect types detected in each image.

    A type is detected when its score reaches its threshold
    (``score >= threshold``, the convention of scikit-learn's
    precision-recall curve, from which F1-max thresholds are read).

    Args:
        scores: array (N, K) of image scores.
        thresholds: K thresholds, one per type, in channel order.
        type_codes: K codes, e.g. ``mtfcdd.constants.DEFECT_CODES``.

    Returns:
        A list of N tuples of type codes, empty for an image judged normal.
    """
    scores = np.asarray(scores)
    if thresholds is None:
        raise ValueError(
            "thresholds is None: this model has no decision thresholds; set "
            "them after training (one per type) before asking for detections."
        )
    thresholds = _check_scores_and_thresholds(scores, thresholds, type_codes)
    detected = scores >= thresholds
    return [
        tuple(code for code, is_detected in zip(type_codes, row) if is_detected)
        for row in detected
    ]


def most_likely_types(scores, thresholds, type_codes):
    """The type each image most likely shows, whether or not it is detected.

    With thresholds, the type whose score is the largest multiple of its
    threshold (``s_k / t_k``): scores of different types live on different
    scales, and the thresholds are where each type's scale says "defect".
    Without thresholds, the type of the largest score.

    Args:
        scores: array (N, K) of image scores (paper Eq. 2).
        thresholds: K thresholds (>= 0), or None.
        type_codes: K codes.

    Returns:
        A list of N type codes.
    """
    scores = np.asarray(scores, np.float32)
    thresholds = _check_scores_and_thresholds(scores, thresholds, type_codes)
    if thresholds is not None:
        # A zero threshold (every image detected) ranks its type first.
        scores = scores / np.maximum(thresholds, np.finfo(np.float32).tiny)
    return [type_codes[index] for index in scores.argmax(axis=1)]


def _check_scores_and_thresholds(scores, thresholds, type_codes):
    """``thresholds`` as float32 (or None), once ``scores`` (N, K) and they fit ``type_codes``."""
    if scores.ndim != 2 or scores.shape[1] != len(type_codes):
        raise ValueError(
            f"scores must have shape (images, {len(type_codes)}), one column "
            f"per type code; got shape {scores.shape}."
        )
    if thresholds is None:
        return None
    thresholds = np.asarray(thresholds, np.float32)
    if thresholds.shape != (len(type_codes),):
        raise ValueError(
            f"thresholds must hold {len(type_codes)} values, one per type "
            f"code; got {thresholds.tolist()}."
        )
    return thresholds


def _check_heatmaps(heatmaps):
    heatmaps = np.asarray(heatmaps, np.float32)
    _check_heatmaps_shape(heatmaps.shape)
    return heatmaps


def _check_heatmaps_shape(shape):
    if len(shape) != 4:
        raise ValueError(
            "heatmaps must have shape (batch, height, width, types); got "
            f"shape {tuple(shape)}."
        )
