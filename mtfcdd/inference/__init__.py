"""From a model's heatmaps to answers, without Keras (paper Eq. 1, 2).

What every runtime (Keras, LiteRT, ONNX Runtime) shares after the network:

- ``postprocessing``: Eq. 1 and 2 in NumPy, full-resolution heatmaps, the
  types whose score reaches their threshold.
- ``decision_thresholds``: per-type thresholds fitted on image scores.
- ``heatmap_model``: one interface over a Keras model and a converted file.

Nothing here imports Keras or TensorFlow, so a board runs it.
"""
