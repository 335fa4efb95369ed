"""mtfcdd: MultiTypeFCDD, explainable multi-type anomaly detection in Keras 3.

One small fully convolutional model, trained with image-level labels only,
outputs one anomaly heatmap per defect type (paper: "Explainable Deep
Convolutional Multi-Type Anomaly Detection", George, Mihaylova, Anderson).

The package follows the flow of the method, one folder per stage; each
stage imports only the stages above it (tests/test_import_graph.py checks
it, docs/model.md describes it):

    constants      Real-IAD's names and the choices of settings
    utils          files, images, memory, progress: no paper concept
    data           Real-IAD reader and verifier, your own layouts, the
                   synthetic data set, tf.data, balanced sampling and epochs
                   (paper 4.1, 4.2)
    inference      the model's answers without Keras: heatmaps -> scores
                   (Eq. 1, 2) -> detected types, decision thresholds, a
                   model run over a list of samples
    model          backbone, network, pseudo-Huber (Eq. 1), scores (Eq. 2),
                   loss (Eq. 3), saving (paper 3.1)
    metrics        I-AUROC, AP, F1-max, P-AUROC, AUPRO (paper 4.4)
    visualization  heatmap panels, the paper's Figures 2 and 3, plots
    training       TrainingConfig and train (paper 4.3)
    evaluation     per-type tables of a test split (Tables 3-5)
    prediction     predict on image files
    deploy         LiteRT and ONNX export and runners, the footprint and
                   training benchmarks (paper 5.3)
    serve          a web page and a JSON endpoint
    workflows      one paper experiment, the demo
    cli            the ``mtfcdd`` command

Public API
----------
Model (paper 3.1, Eq. 1-3; ``keras.ops`` only, any Keras backend):
    build_model(num_types=8, image_size=299,
                backbone_weights="imagenet",
                type_codes=None)               -> MultiTypeFCDD, heatmaps A_k
    MultiTypeFCDD                              the model class (serializable)
    PseudoHuber                                Eq. 1 output layer
    anomaly_scores(heatmaps, reduction)        Eq. 2 image scores s_k
    upsample_heatmaps(heatmaps, size)          bilinear full-resolution maps
                                               (NumPy, after the network)
    MultiTypeFCDDLoss                          Eq. 3 multi-type loss
    DEFECT_CODES, DEFECT_NAMES, NORMAL_CLASS   the channel order (Table 1)
    load_trained_model(path)                   a saved .keras model

Data (paper 4.1, 4.2):
    load_realiad(root, alpha=0.1)              Real-IAD splits -> Samples
    load_dataset(root)                         any layout (Real-IAD, your own
                                               folders, MVTec AD, a CSV) -> DataSet
    make_synthetic_iad(output_dir, preset)     a synthetic Real-IAD-format set
    make_synthetic_dataset(output_dir, layout, types)  ... in the folder or
                                               MVTec layout, your type names
    training_dataset                           the tf.data training stream
    Preprocessor                               image file or array -> model input
    AugmentationConfig                         paper 4.3.2 augmentation
    expected_draws(counts)                     Eq. 4 / 5, balanced epochs
    balanced_epoch_summary(counts, batch_size) the paper's Table 2

Training, evaluation, prediction (paper 4.3, 4.4):
    TrainingConfig, train(data_root, output_dir, config)
    evaluation_settings(preset)                the paper's or the authors'
                                               evaluation (TrainingConfig.
                                               from_preset for training)
    evaluate(model, samples)                   per-type metrics, streamed (a
                                               Keras model or a converted file)
    predict(model, inputs, output_dir)         scores, detections, panels
    run_experiment(data_root, output_dir, config)   train + evaluate + report
    run_demo(output_dir)                       the main job, offline too
    mtfcdd.metrics                             I-AUROC, AP, F1-max, AUPRO ...

Deployment (paper 5.3):
    export_tflite(model, path, quantize)       LiteRT file + JSON sidecar
    export_onnx(model, path, quantize)         ONNX file + JSON sidecar
    export_openvino(model, path, quantize)     OpenVINO .xml/.bin + JSON sidecar
    LiteRTModel(path, delegates=None)          inference without Keras (LiteRT)
    OnnxModel(path)                            inference without Keras (ONNX)
    OpenVinoModel(path)                        inference without Keras (OpenVINO)

An image size is given one way everywhere: ``image_size``, an int (a
square) or ``(height, width)``.

Names are imported on first use, so ``import mtfcdd`` is instant and works
without Keras (a board with only ai-edge-litert, NumPy and OpenCV runs
``mtfcdd.deploy.runner``; onnxruntime instead of ai-edge-litert runs
``mtfcdd.deploy.onnx_runner``, openvino ``mtfcdd.deploy.openvino_runner``). ``mtfcdd.load_trained_model`` reads saved models;
for ``keras.saving.load_model("model.keras")`` the model's classes must be
registered first: ``import mtfcdd.model`` does it, and so does ``import
mtfcdd`` when Keras is already imported.
"""

import importlib
import sys

__version__ = "0.1.0"

# Public name -> module that defines it.
_PUBLIC_API = {
    "DEFECT_CODES": "mtfcdd.constants",
    "DEFECT_NAMES": "mtfcdd.constants",
    "NORMAL_CLASS": "mtfcdd.constants",
    "MultiTypeFCDD": "mtfcdd.model.network",
    "build_model": "mtfcdd.model.network",
    "MultiTypeFCDDLoss": "mtfcdd.model.multi_type_loss",
    "PseudoHuber": "mtfcdd.model.pseudo_huber",
    "anomaly_scores": "mtfcdd.model.anomaly_map",
    "upsample_heatmaps": "mtfcdd.inference.postprocessing",
    "load_trained_model": "mtfcdd.model.saving",
    "load_realiad": "mtfcdd.data.realiad.reader",
    "make_synthetic_iad": "mtfcdd.data.synthetic.dataset",
    "load_dataset": "mtfcdd.data.layouts",
    "make_synthetic_dataset": "mtfcdd.data.synthetic.layouts",
    "training_dataset": "mtfcdd.data.pipeline",
    "Preprocessor": "mtfcdd.data.preprocessor",
    "AugmentationConfig": "mtfcdd.data.augmentation",
    "expected_draws": "mtfcdd.data.balanced_epoch",
    "balanced_epoch_summary": "mtfcdd.data.balanced_epoch",
    "TrainingConfig": "mtfcdd.training.trainer",
    "train": "mtfcdd.training.trainer",
    "evaluate": "mtfcdd.evaluation.model_evaluation",
    "evaluation_settings": "mtfcdd.evaluation.presets",
    "predict": "mtfcdd.prediction.predict_images",
    "run_experiment": "mtfcdd.workflows.experiment",
    "run_demo": "mtfcdd.workflows.demo",
    "export_tflite": "mtfcdd.deploy.export",
    "export_onnx": "mtfcdd.deploy.export",
    "export_openvino": "mtfcdd.deploy.export",
    "LiteRTModel": "mtfcdd.deploy.runner",
    "OnnxModel": "mtfcdd.deploy.onnx_runner",
    "OpenVinoModel": "mtfcdd.deploy.openvino_runner",
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


if "keras" in sys.modules:
    # Registers the classes that saved models and checkpoints refer to, so
    # that keras.saving.load_model reads mtfcdd's files. Only where Keras is
    # already loaded: importing it here would cost every command-line call
    # (and a board without Keras) seconds; mtfcdd's own loaders import these
    # modules themselves.
    importlib.import_module("mtfcdd.model")
