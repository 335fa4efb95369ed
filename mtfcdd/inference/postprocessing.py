"""From heatmaps to decisions, in NumPy and OpenCV only (paper Eq. 1, 2, 3.1).

The single implementation of what happens after the network: image scores
(paper Eq. 2), full-resolution heatmaps (paper 3.1) and the defect types
whose score reaches its threshold. Converted models also leave the
pseudo-Huber output (paper Eq. 1) to this module (``pseudo_huber``, see
``mtfcdd.deploy.export`` for why). It imports neither Keras nor TensorFlow,
so the LiteRT runner (``mtfcdd.deploy.runner``) uses it on a board, and the
Keras prediction path uses it too.

``mtfcdd.model.anomaly_map`` computes the same scores in ``keras.ops`` for the loss,
inside the graph; ``tests/test_deploy.py`` checks that the two agree.
"""

import dataclasses

import cv2
import numpy as np

from mtfcdd.constants import SCORE_REDUCTIONS


@dataclasses.dataclass(frozen=True)
class Prediction:
    """What the model says about a batch of N images.

    Attributes:
        heatmaps: float32 (N, u, v, K), the anomaly maps A_k (paper Eq. 1),
            or (N, height, width, K) once upsampled to the images' size.
        scores: float32 (N, K), the image scores s_k (paper Eq. 2).
        detected_types: a list of N tuples of the type codes whose score
            reaches its threshold; None when the model has no thresholds.
    """

    heatmaps: np.ndarray
    scores: np.ndarray
    detected_types: object


def pseudo_huber(projection):
    """The heatmaps A_k from the type projection phi_k, paper Eq. 1, in NumPy.

    ``A = sqrt(phi^2 + 1) - 1``, computed as ``phi^2 / (sqrt(phi^2 + 1) + 1)``:
    the same value without float32's cancellation for small ``phi``, where
    normal images' heatmaps live. ``mtfcdd.model.pseudo_huber.PseudoHuber`` is the
    Keras layer; converted models end before it (``mtfcdd.deploy.export``).

    Args:
        projection: array (..., K), the output of the model's last 1x1
            convolution.

    Returns:
        float32 array of the same shape, values >= 0.
    """
    squared = np.square(np.asarray(projection, np.float32))
    return squared / (np.sqrt(squared + 1.0) + 1.0)


def prediction_from_heatmaps(heatmaps, type_codes, score_reduction="mean", thresholds=None):
    """Scores and detected types of a batch of heatmaps, as a ``Prediction``.

    Args:
        heatmaps: array (N, u, v, K).
        type_codes: the K codes of the channels.
        score_reduction: ``"mean"`` or ``"max"``, see ``image_scores``.
        thresholds: K thresholds, or None (then ``detected_types`` is None).
    """
    scores = image_scores(heatmaps, score_reduction)
    detected_types = (
        None if thresholds is None
        else types_over_threshold(scores, thresholds, type_codes)
    )
    return Prediction(np.asarray(heatmaps, np.float32), scores, detected_types)


def image_scores(heatmaps, reduction="mean"):
    """Per-type image scores s_k from a batch of heatmaps, paper Eq. 2.

    ``s_k(X) = (1 / (u v)) * ||A_k(X)||_1``, the mean of the non-negative map
    (``reduction="mean"``, the paper's definition), or its maximum
    (``reduction="max"``, what the authors' code evaluates with).

    Args:
        heatmaps: array (N, u, v, K), non-negative.
        reduction: ``"mean"`` or ``"max"``.

    Returns:
        float32 array (N, K).
    """
    heatmaps = _check_heatmaps(heatmaps)
    if reduction not in SCORE_REDUCTIONS:
        raise ValueError(
            f"reduction must be one of {SCORE_REDUCTIONS}; got {reduction!r}."
        )
    if reduction == "mean":
        return heatmaps.mean(axis=(1, 2), dtype=np.float32)
    return heatmaps.max(axis=(1, 2))


def upsample(heatmaps, size):
    """Bilinear upsampling of (N, u, v, K) heatmaps to (N, height, width, K).

    Paper 3.1: each A_k is brought to the input's size so that every pixel
    has a score. ``cv2.resize`` samples at half-pixel centres, like
    ``keras.ops.image.resize`` (``mtfcdd.model.anomaly_map.upsample_heatmaps``).

    Args:
        heatmaps: array (N, u, v, K).
        size: ``(height, width)`` of the output.

    Returns:
        float32 array (N, height, width, K).
    """
    heatmaps = _check_heatmaps(heatmaps)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"size must be (height, width) > 0; got {size!r}.")
    height, width = (int(side) for side in size)
    upsampled = np.empty(
        (heatmaps.shape[0], height, width, heatmaps.shape[3]), np.float32
    )
    for index, maps in enumerate(heatmaps):
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
    if heatmaps.ndim != 4:
        raise ValueError(
            "heatmaps must have shape (batch, height, width, types); got "
            f"shape {heatmaps.shape}."
        )
    return heatmaps
