"""Benchmarks: the footprint of a model (paper 5.3), and of a training step.

- ``flops``: the FLOPs of one image, counted from the layers.
- ``timing``: milliseconds per image (Keras, LiteRT) and the matmul peak,
  timed in turn.
- ``cpu_features``: the processor's vector and matrix features (AVX2,
  AVX-512, VNNI, BF16, AMX), and the number formats they let a matmul use.
- ``footprint``: ``run_benchmark``, everything together (``mtfcdd
  benchmark``).
- ``training_throughput``: where a training step's time goes, the input
  pipeline, the step or both, and its FLOPs (``mtfcdd benchmark
  --training``).
"""
