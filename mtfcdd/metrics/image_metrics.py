"""Image-level detection metrics: I-AUROC, AP and F1-max (paper 4.4).

Each function scores one binary problem: ``labels[i]`` is 1 when image ``i``
is a positive (for the per-type tables, "image has type k") and
``scores[i]`` is its anomaly score (``s_k``, paper Eq. 2). Ties in the scores
are handled as scikit-learn does: tied images share one threshold.
``roc_curve`` and ``precision_recall_curve`` give the curves whose areas are
I-AUROC and AP.
"""

import numpy as np
from sklearn import metrics as sklearn_metrics
from sklearn.metrics import average_precision_score, roc_auc_score

from mtfcdd.inference.decision_thresholds import best_f1_threshold


def validate_binary_problem(labels, scores):
    """Check ``labels`` and ``scores`` and return them as 1-D NumPy arrays.

    Raises:
        ValueError: when the arrays are not 1-D, differ in length, hold labels
            other than 0/1, hold non-finite scores, or when one of the two
            classes is missing (the metrics are undefined then).
    """
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.ndim != 1 or scores.ndim != 1:
        raise ValueError(
            "labels and scores must be 1-D (one value per image); got shapes "
            f"labels {labels.shape} and scores {scores.shape}."
        )
    if len(labels) != len(scores):
        raise ValueError(
            "labels and scores must have the same length; got "
            f"{len(labels)} labels and {len(scores)} scores."
        )
    if not np.isin(labels, (0, 1)).all():
        unexpected = np.setdiff1d(np.unique(labels), (0, 1))
        raise ValueError(
            "labels must be binary (0 = negative, 1 = positive); got the "
            f"values {unexpected[:5].tolist()}."
        )
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite; got NaN or infinity.")
    positives = int(np.count_nonzero(labels))
    if positives in (0, len(labels)):
        missing = "positive (1)" if positives == 0 else "negative (0)"
        raise ValueError(
            f"labels must contain both classes; no {missing} label among "
            f"{len(labels)} images, so the metric is undefined."
        )
    return labels.astype(np.int64), scores


def auroc(labels, scores):
    """Area under the ROC curve (I-AUROC; tied scores count one half)."""
    labels, scores = validate_binary_problem(labels, scores)
    return float(roc_auc_score(labels, scores))


def average_precision(labels, scores):
    """Average precision: sum over thresholds of precision times recall gain.

    This is scikit-learn's step-wise definition (no interpolation), the one
    the Real-IAD benchmark code uses.
    """
    labels, scores = validate_binary_problem(labels, scores)
    return float(average_precision_score(labels, scores))


def f1_max(labels, scores):
    """The best F1 score over all thresholds of the precision-recall curve."""
    return f1_optimal_threshold(labels, scores)[0]


def f1_optimal_threshold(labels, scores):
    """The threshold of the best F1, and that F1.

    An image is called positive when its score is ``>= threshold``; the
    decision thresholds are fitted the same way
    (``mtfcdd.inference.decision_thresholds.best_f1_threshold``).

    Returns:
        ``(best_f1, threshold)``.
    """
    return best_f1_threshold(*validate_binary_problem(labels, scores))


def roc_curve(labels, scores):
    """The ROC curve, whose trapezoidal area is ``auroc``.

    Points on a straight line between their neighbours are left out
    (scikit-learn's ``drop_intermediate``): the area stays the same.

    Returns:
        ``(false positive rates, true positive rates, thresholds)``,
        thresholds decreasing from ``inf`` (no image called positive); a
        point calls positive the scores ``>= threshold``.
    """
    labels, scores = validate_binary_problem(labels, scores)
    return sklearn_metrics.roc_curve(labels, scores, drop_intermediate=True)


def precision_recall_curve(labels, scores):
    """The precision-recall curve, whose step-wise area is ``average_precision``.

    ``average_precision = sum((recalls[1:] - recalls[:-1]) * precisions[1:])``.
    Of the points that share a recall only the first and the last are kept
    (scikit-learn's ``drop_intermediate``): the area stays the same.

    Returns:
        ``(recalls, precisions, thresholds)``, thresholds decreasing from
        ``inf`` (recall 0, precision 1 by convention); a point calls
        positive the scores ``>= threshold``.
    """
    labels, scores = validate_binary_problem(labels, scores)
    precisions, recalls, thresholds = sklearn_metrics.precision_recall_curve(
        labels, scores, drop_intermediate=True
    )
    # scikit-learn lists increasing thresholds and appends (recall 0,
    # precision 1) without one; the other curves start from that end.
    return recalls[::-1], precisions[::-1], np.concatenate(([np.inf], thresholds[::-1]))
