"""A synthetic data set in Real-IAD's exact layout (``dataset``)."""
