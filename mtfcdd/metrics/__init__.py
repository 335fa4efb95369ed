"""Evaluation metrics of the paper (4.4), NumPy / SciPy / scikit-learn only.

Exact metrics on arrays held in memory:
    auroc, average_precision, f1_max     image level (I-AUROC, AP, F1-max)
    f1_optimal_threshold                 the threshold that reaches F1-max
    aupro, pro_curve                     pixel level, MVTec AD AUPRO
Streaming, fixed memory (the full test split does not fit in memory):
    BinnedPixelScores                    P-AUROC and AUPRO of one channel
    MultiTypeEvaluator                   the per-type protocol of Tables 3-5
Beyond the paper:
    type_confusion_matrix, macro_f1      argmax type of defective images
"""

from mtfcdd.metrics.aupro import aupro, pro_curve
from mtfcdd.metrics.evaluator import METRIC_NAMES, MultiTypeEvaluator
from mtfcdd.metrics.image_metrics import (
    auroc,
    average_precision,
    f1_max,
    f1_optimal_threshold,
)
from mtfcdd.metrics.streaming import BinnedPixelScores
from mtfcdd.metrics.type_classification import macro_f1, type_confusion_matrix

__all__ = [
    "METRIC_NAMES",
    "BinnedPixelScores",
    "MultiTypeEvaluator",
    "aupro",
    "auroc",
    "average_precision",
    "f1_max",
    "f1_optimal_threshold",
    "macro_f1",
    "pro_curve",
    "type_confusion_matrix",
]
