"""Evaluating a trained model on a test split (paper 4.4, Tables 3-5).

- ``model_evaluation``: ``evaluate`` streams the test split through a model
  (Keras, LiteRT or ONNX) into ``mtfcdd.metrics.MultiTypeEvaluator``.
- ``presets``: named evaluation settings, the paper's or the authors'
  code's (``evaluation_settings``).
- ``reports``: the result tables in the paper's layout (Markdown, CSV,
  JSON).
- ``curve_reports``: the curves under the metrics, per type (CSV, PNG).
"""
