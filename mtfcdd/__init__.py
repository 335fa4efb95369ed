"""mtfcdd: MultiTypeFCDD, explainable multi-type anomaly detection in Keras 3.

One small fully convolutional model, trained with image-level labels only,
outputs one anomaly heatmap per defect type (paper: "Explainable Deep
Convolutional Multi-Type Anomaly Detection", George, Mihaylova, Anderson).

Public API
----------
Model (paper 3.1, Eq. 1-3):
    build_model(num_types=8, input_shape=(299, 299, 3),
                backbone_weights="imagenet")   -> keras.Model, heatmaps A_k
    MultiTypeFCDD                              the model class (serializable)
    PseudoHuber                                Eq. 1 output layer
    anomaly_scores(heatmaps, reduction)        Eq. 2 image scores s_k
    upsample_heatmaps(heatmaps, size)          bilinear full-resolution maps
    MultiTypeFCDDLoss                          Eq. 3 multi-type loss
    DEFECT_CODES, DEFECT_NAMES                 the channel order (Table 1)

Everything above uses ``keras.ops`` only and runs on any Keras backend.
"""

__version__ = "0.1.0"

from mtfcdd.anomaly_map import anomaly_scores, upsample_heatmaps
from mtfcdd.defect_types import DEFECT_CODES, DEFECT_NAMES, NORMAL_CLASS
from mtfcdd.model import MultiTypeFCDD, build_model
from mtfcdd.multi_type_loss import MultiTypeFCDDLoss
from mtfcdd.pseudo_huber import PseudoHuber

__all__ = [
    "DEFECT_CODES",
    "DEFECT_NAMES",
    "NORMAL_CLASS",
    "MultiTypeFCDD",
    "MultiTypeFCDDLoss",
    "PseudoHuber",
    "anomaly_scores",
    "build_model",
    "upsample_heatmaps",
]
