"""Data in: Real-IAD, the synthetic stand-in, and the training stream (paper 4.1-4.3).

- ``sample``: ``Sample``, one image with its labels, as every reader returns it.
- ``realiad/``: reading Real-IAD's JSON splits, checking a download.
- ``synthetic/``: a generated data set in Real-IAD's exact layout.
- ``resize_cache``: a resized copy of an image folder, made once.
- ``balanced_sampler``: balanced draws over the image classes (paper 4.2).
- ``balanced_epoch``: the expected length of a balanced epoch (Eq. 4, 5).
- ``augmentation``: the ranges of the random augmentation (paper 4.3.2);
  ``augmentation_ops`` applies them in TensorFlow.
- ``pipeline``: the tf.data streams for training and evaluation.
"""
