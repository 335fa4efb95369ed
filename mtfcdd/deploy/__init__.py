"""Deployment: LiteRT (TFLite), ONNX and OpenVINO conversion, inference without Keras.

Two sides, kept apart so that a board needs only one runtime (ai-edge-litert,
onnxruntime or openvino), NumPy and OpenCV (docs/deployment.md):

- ``mtfcdd.deploy.export`` (Keras and TensorFlow): ``export_tflite``,
  ``export_onnx`` and ``export_openvino`` write a converted file and its
  JSON sidecar (``mtfcdd.deploy.sidecar``).
- ``mtfcdd.deploy.runner`` (ai-edge-litert: ``LiteRTModel``),
  ``mtfcdd.deploy.onnx_runner`` (onnxruntime: ``OnnxModel``) and
  ``mtfcdd.deploy.openvino_runner`` (openvino: ``OpenVinoModel``) run the file;
  ``mtfcdd.deploy.converted_model`` turns its output into heatmaps, scores
  and detected types with ``mtfcdd.inference.postprocessing``.
- ``mtfcdd.deploy.benchmark``: the footprint (paper 5.3).

Nothing is imported here, so importing a runner never loads the exporter.
"""
