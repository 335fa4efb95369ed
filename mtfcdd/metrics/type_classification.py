"""Defect-type classification from the per-type scores (beyond the paper).

The paper evaluates each type as its own detection problem (Tables 3, 4).
With one score per type, a defective image can also be assigned the type of
its highest score, ``argmax_k s_k``; the confusion matrix and macro-F1 below
measure how often that names the right type. Only defective images take
part: telling normal from defective is what the detection metrics measure.
``decision_matrix`` counts the decisions at the thresholds instead (a type,
"unknown defect" or normal; ``mtfcdd.evaluation.model_evaluation``), where
images of types absent from training have a row of their own.
"""

import numpy as np


def type_confusion_matrix(labels, scores):
    """Confusion matrix of the argmax type over the defective images.

    Args:
        labels: (N, K) binary type labels, at most one 1 per row; rows of
            zeros (normal images) are left out.
        scores: (N, K) type scores ``s_k``.

    Returns:
        (K, K) int64 array; entry ``[true, predicted]`` counts images.
    """
    labels = np.asarray(labels)
    scores = np.asarray(scores)
    if labels.ndim != 2 or labels.shape != scores.shape:
        raise ValueError(
            "labels and scores must both have shape (images, types); got "
            f"labels {labels.shape} and scores {scores.shape}."
        )
    if (labels.sum(axis=1) > 1).any():
        raise ValueError(
            "each image must have at most one defect type; labels has rows "
            "with several 1s."
        )
    defective = labels.any(axis=1)
    true_types = labels[defective].argmax(axis=1)
    predicted_types = scores[defective].argmax(axis=1)
    num_types = labels.shape[1]
    confusion = np.zeros((num_types, num_types), dtype=np.int64)
    np.add.at(confusion, (true_types, predicted_types), 1)
    return confusion


def macro_f1(confusion):
    """Mean F1 over the types that occur (non-empty rows of ``confusion``).

    A type with no image of its own has no recall to speak of, so it does
    not enter the mean; wrongly predicting it still lowers the F1 of the
    true type.
    """
    confusion = np.asarray(confusion)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(
            f"confusion must be a square matrix; got shape {confusion.shape}."
        )
    true_counts = confusion.sum(axis=1)
    if not true_counts.any():
        raise ValueError("confusion is empty: no defective image was counted.")
    true_positives = np.diag(confusion)
    predicted_counts = confusion.sum(axis=0)
    present = true_counts > 0
    f1 = 2 * true_positives[present] / (
        true_counts[present] + predicted_counts[present]
    )
    return float(f1.mean())


def decision_matrix(true_classes, decided_classes, rows, columns):
    """Counts of images by true class (row) and decision (column).

    Args:
        true_classes: N names, each one of ``rows``.
        decided_classes: N names, each one of ``columns``.
        rows, columns: the names, in the matrix's order.

    Returns:
        (len(rows), len(columns)) int64 array; entry ``[true, decided]``
        counts images.
    """
    if len(true_classes) != len(decided_classes):
        raise ValueError(
            f"true_classes and decided_classes must be as long; got {len(true_classes)} and "
            f"{len(decided_classes)}."
        )
    outside = sorted({name for name in true_classes if name not in rows}
                     | {name for name in decided_classes if name not in columns})
    if outside:
        raise ValueError(f"{outside} are not among the rows {list(rows)} or columns {list(columns)}.")
    matrix = np.zeros((len(rows), len(columns)), dtype=np.int64)
    for true_class, decided_class in zip(true_classes, decided_classes):
        matrix[list(rows).index(true_class), list(columns).index(decided_class)] += 1
    return matrix
