"""Evaluation metrics of the paper (4.4), NumPy / SciPy / scikit-learn only.

Exact metrics on arrays held in memory:
    auroc, average_precision, f1_max     image level (I-AUROC, AP, F1-max)
    f1_optimal_threshold                 the threshold that reaches F1-max
    roc_curve, precision_recall_curve    the image curves under I-AUROC, AP
    aupro, pro_curve                     pixel level, MVTec AD AUPRO
    authors_aupro                        AUPRO as the authors' evaluate.py
Streaming, fixed memory (the full test split does not fit in memory):
    BinnedPixelScores                    P-AUROC and AUPRO of one channel
    MultiTypeEvaluator                   the per-type protocol of Tables 3-5,
                                         and the curve under each metric
Beyond the paper:
    type_confusion_matrix, macro_f1      argmax type of defective images

Modules: ``image_metrics`` (the image level and its curves), ``aupro``,
``curves`` (threshold curves and their partial areas), ``streaming``
(``BinnedPixelScores``), ``evaluator`` (``MultiTypeEvaluator``) and
``type_classification``.
"""

from mtfcdd.metrics.aupro import aupro, authors_aupro, pro_curve
from mtfcdd.metrics.curves import Curve
from mtfcdd.metrics.evaluator import CURVE_METRICS, METRIC_NAMES, MultiTypeEvaluator
from mtfcdd.metrics.image_metrics import (
    auroc,
    average_precision,
    f1_max,
    f1_optimal_threshold,
    precision_recall_curve,
    roc_curve,
)
from mtfcdd.metrics.streaming import BinnedPixelScores
from mtfcdd.metrics.type_classification import macro_f1, type_confusion_matrix

__all__ = [
    "CURVE_METRICS",
    "METRIC_NAMES",
    "BinnedPixelScores",
    "Curve",
    "MultiTypeEvaluator",
    "aupro",
    "auroc",
    "authors_aupro",
    "average_precision",
    "f1_max",
    "f1_optimal_threshold",
    "macro_f1",
    "precision_recall_curve",
    "pro_curve",
    "roc_curve",
    "type_confusion_matrix",
]
