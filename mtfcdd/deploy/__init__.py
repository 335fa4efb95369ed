"""Deployment: LiteRT (TFLite) conversion and inference without Keras.

Two sides, kept apart so that a board needs only ai-edge-litert, NumPy and
OpenCV (docs/deployment.md):

- ``mtfcdd.deploy.export`` (Keras and TensorFlow): ``export_tflite`` writes
  a ``.tflite`` file and its JSON sidecar (``mtfcdd.deploy.sidecar``).
- ``mtfcdd.deploy.runner`` (NumPy, OpenCV, ai-edge-litert): ``LiteRTModel``
  runs the file and turns heatmaps into scores and detected types with
  ``mtfcdd.inference.postprocessing``.

Nothing is imported here, so importing the runner never loads the exporter.
"""
