"""Per-type decision thresholds on the image scores (beyond the paper).

The paper reports threshold-free metrics; an inspection line needs a yes/no
per type. ``fit_thresholds`` picks, for each type, the score threshold with
the best F1 on a set of scored images: after training, by default, the
training split itself (every image once, without augmentation: no image is
taken from training, but the thresholds are optimistic, fitted on images the
model has learned), or a held-out part of the training split when training
is asked to keep one. The thresholds are saved with the model, with
``threshold_source`` saying which (``TrainingConfig.threshold_source``),
and used by ``predict``. A type is reported when its score is
``>= threshold``.
"""

import numpy as np
from sklearn import metrics as sklearn_metrics


def fit_thresholds(labels, scores):
    """F1-optimal threshold of each type.

    Args:
        labels: (N, K) 0/1, image ``i`` has type ``k``.
        scores: (N, K) image scores ``s_k`` (paper Eq. 2).

    Returns:
        A tuple of K floats. A type without a positive image gets the
        largest score of the others (it then never fires on these images);
        a type without a negative image gets the smallest of its scores.
    """
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape or labels.ndim != 2:
        raise ValueError(
            "labels and scores must both have shape (images, types); got "
            f"{labels.shape} and {scores.shape}."
        )
    if len(labels) == 0:
        raise ValueError("No images to fit thresholds on.")
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite to fit thresholds on; got NaN or infinity.")
    thresholds = []
    for type_labels, type_scores in zip(labels.T, scores.T):
        if type_labels.all():
            thresholds.append(float(type_scores.min()))
        elif not type_labels.any():
            thresholds.append(float(np.nextafter(type_scores.max(), np.inf)))
        else:
            thresholds.append(best_f1_threshold(type_labels, type_scores)[1])
    return tuple(thresholds)


def best_f1_threshold(labels, scores):
    """The best F1 over the thresholds of the precision-recall curve, and its threshold.

    An image is called positive when its score is ``>= threshold``.
    ``mtfcdd.metrics.f1_max`` reports this F1 (F1-max, paper 4.4).

    Args:
        labels: 1-D 0/1, both values present.
        scores: 1-D finite scores, one per label.

    Returns:
        ``(best_f1, threshold)``.
    """
    precision, recall, thresholds = sklearn_metrics.precision_recall_curve(labels, scores)
    denominator = precision + recall
    # The curve's last point (precision 1, recall 0) and thresholds with no
    # true positive have precision + recall = 0: their F1 is 0, not NaN.
    f1 = np.divide(
        2 * precision * recall,
        denominator,
        out=np.zeros_like(denominator),
        where=denominator > 0,
    )
    # The last point of the curve has no threshold of its own.
    best = int(np.argmax(f1[:-1]))
    return float(f1[best]), float(thresholds[best])
