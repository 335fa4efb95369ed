"""mtfcdd: MultiTypeFCDD, explainable multi-type anomaly detection in Keras 3.

One small fully convolutional model, trained with image-level labels only,
outputs one anomaly heatmap per defect type (paper: "Explainable Deep
Convolutional Multi-Type Anomaly Detection", George, Mihaylova, Anderson).

Public API
----------
Model (paper 3.1, Eq. 1-3; ``keras.ops`` only, any Keras backend):
    build_model(num_types=8, input_shape=(299, 299, 3),
                backbone_weights="imagenet")   -> MultiTypeFCDD, heatmaps A_k
    MultiTypeFCDD                              the model class (serializable)
    PseudoHuber                                Eq. 1 output layer
    anomaly_scores(heatmaps, reduction)        Eq. 2 image scores s_k
    upsample_heatmaps(heatmaps, size)          bilinear full-resolution maps
    MultiTypeFCDDLoss                          Eq. 3 multi-type loss
    DEFECT_CODES, DEFECT_NAMES, NORMAL_CLASS   the channel order (Table 1)
    load_trained_model(path)                   a saved .keras model

Data (paper 4.1, 4.2):
    load_realiad(root, alpha=0.1)              Real-IAD splits -> Samples
    make_synthetic_iad(output_dir, preset)     a synthetic Real-IAD-format set
    training_dataset, evaluation_dataset       tf.data pipelines
    AugmentationConfig                         paper 4.3.2 augmentation
    expected_draws(counts)                     Eq. 4 / 5, balanced epochs
    balanced_epoch_summary(counts, batch_size) the paper's Table 2

Training, evaluation, prediction (paper 4.3, 4.4):
    TrainingConfig, train(data_root, output_dir, config)
    evaluate(model, samples)                   per-type metrics, streamed
    predict(model, inputs, output_dir)         scores, detections, panels
    run_experiment(data_root, output_dir, config)   train + evaluate + report
    run_demo(output_dir)                       the main job, offline too
    mtfcdd.metrics                             I-AUROC, AP, F1-max, AUPRO ...

Deployment (paper 5.3):
    export_tflite(model, path, quantize)       LiteRT file + JSON sidecar
    LiteRTModel(path)                          inference without Keras

Names are imported on first use, except that where Keras is installed
``import mtfcdd`` registers the model's and the loss's serializable classes,
so that ``keras.saving.load_model("model.keras")`` reads mtfcdd's files. Without
Keras (a board with only ai-edge-litert, NumPy and OpenCV) the package still
imports, and ``mtfcdd.deploy.runner`` runs.
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
    "load_trained_model": "mtfcdd.model_io",
    "load_realiad": "mtfcdd.data.realiad",
    "make_synthetic_iad": "mtfcdd.data.synthetic",
    "training_dataset": "mtfcdd.data.pipeline",
    "evaluation_dataset": "mtfcdd.data.pipeline",
    "AugmentationConfig": "mtfcdd.data.augmentation",
    "expected_draws": "mtfcdd.balanced_epoch",
    "balanced_epoch_summary": "mtfcdd.balanced_epoch",
    "TrainingConfig": "mtfcdd.training",
    "train": "mtfcdd.training",
    "evaluate": "mtfcdd.evaluation",
    "predict": "mtfcdd.prediction",
    "run_experiment": "mtfcdd.experiment",
    "run_demo": "mtfcdd.demo",
    "export_tflite": "mtfcdd.deploy.export",
    "LiteRTModel": "mtfcdd.deploy.runner",
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


try:
    import keras  # noqa: F401
except ImportError:  # a board running LiteRT files only
    pass
else:
    # Registers the classes that saved models and checkpoints refer to.
    from mtfcdd import model as _model, multi_type_loss as _loss  # noqa: F401
