"""The footprint benchmark (paper 5.3): size, cost and speed of a model.

- ``flops``: the FLOPs of one image, counted from the layers.
- ``timing``: milliseconds per image (Keras, LiteRT) and the matmul peak,
  timed in turn.
- ``footprint``: ``run_benchmark``, everything together (``mtfcdd
  benchmark``).
"""
