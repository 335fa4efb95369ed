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

from mtfcdd.metrics import f1_optimal_threshold


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
    thresholds = []
    for type_labels, type_scores in zip(labels.T, scores.T):
        if type_labels.all():
            thresholds.append(float(type_scores.min()))
        elif not type_labels.any():
            thresholds.append(float(np.nextafter(type_scores.max(), np.inf)))
        else:
            thresholds.append(f1_optimal_threshold(type_labels, type_scores)[1])
    return tuple(thresholds)
