"""Data: the Real-IAD reader, the synthetic Real-IAD generator and tf.data."""
