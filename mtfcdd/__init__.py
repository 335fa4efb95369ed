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

Names are imported on first use, so that ``mtfcdd.deploy`` runs on a board
with only ai-edge-litert, NumPy and OpenCV installed (no Keras).
"""

import importlib

__version__ = "0.1.0"

# Public name -> module that defines it.
_PUBLIC_API = {
    "DEFECT_CODES": "mtfcdd.defect_types",
    "DEFECT_NAMES": "mtfcdd.defect_types",
    "NORMAL_CLASS": "mtfcdd.defect_types",
    "MultiTypeFCDD": "mtfcdd.model",
    "build_model": "mtfcdd.model",
    "MultiTypeFCDDLoss": "mtfcdd.multi_type_loss",
    "PseudoHuber": "mtfcdd.pseudo_huber",
    "anomaly_scores": "mtfcdd.anomaly_map",
    "upsample_heatmaps": "mtfcdd.anomaly_map",
}

__all__ = sorted(_PUBLIC_API)


def __getattr__(name):
    if name not in _PUBLIC_API:
        raise AttributeError(f"module 'mtfcdd' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC_API[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
