"""Benchmarks: the footprint of a model (paper 5.3), and of a training step.

- ``flops``: the FLOPs of one image, counted from the layers.
- ``timing``: milliseconds per image (Keras, LiteRT) and the matmul peak,
  timed in turn.
- ``footprint``: ``run_benchmark``, everything together (``mtfcdd
  benchmark``).
- ``training_throughput``: where a training step's time goes, the input
  pipeline, the step or both, and its FLOPs (``mtfcdd benchmark
  --training``).
"""
