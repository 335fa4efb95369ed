"""The model's answers, without Keras (paper Eq. 1, 2): what every runtime shares.

What every runtime (Keras, LiteRT, ONNX Runtime) shares after the network:

- ``postprocessor``: ``Postprocessor``, owned by every model (its config, a
  converted file's sidecar): projection -> heatmaps A_k (Eq. 1) -> scores
  s_k (Eq. 2) -> full-resolution maps -> detected types; fitting the
  thresholds is its method.
- ``postprocessing``: each of those steps, once, in NumPy (Eq. 1 and 2 in
  ``keras.ops`` too, for the model's layer and loss).
- ``decision_thresholds``: per-type F1-optimal thresholds on image scores.
- ``open_set``: the ``"unknown defect"`` decision where no type fires but
  the K scores depart from normal (the paper's future work), fitted after
  the thresholds.
- ``heatmap_model``: one interface over a Keras model and a converted file,
  read from the same fields (``MODEL_FACTS``).
- ``scoring``: a model run over a list of samples: heatmaps and scores
  (``predict_scores``), what training's thresholds and evaluation share.

Nothing here imports Keras or TensorFlow, so a board runs it; scikit-learn
is needed only to fit thresholds.
"""
