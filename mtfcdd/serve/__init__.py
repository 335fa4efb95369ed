"""Serving a model over HTTP: a web page and a JSON endpoint (``mtfcdd serve``).

- ``server``: the Flask application: the page, ``POST /predict``,
  ``GET /model``, ``GET /health``.
- ``uploads``: uploaded bytes to an RGB image, within size limits.
- ``page/``: the page's HTML, CSS and JavaScript (no internet needed).

With a converted model (LiteRT) nothing here imports Keras or TensorFlow.
"""
