"""Data in: Real-IAD, your own data sets, the synthetic stand-in, and the training stream (paper 4.1-4.3).

- ``sample``: ``Sample``, one image with its labels, as every reader returns it.
- ``dataset``: ``DataSet``, the training and test samples and the type
  names of a data set in any layout, as the rest of the package consumes it.
- ``layouts``: ``load_dataset``, any layout in (found from the root).
- ``realiad/``: reading Real-IAD's JSON splits, checking a download.
- ``folder``: your own class folders (``train/<class>/``, ``test/<class>/``).
- ``mvtec``: MVTec AD's layout (MPDD, BTAD), test defects moved into training.
- ``manifest``: a CSV file, one row per image.
- ``verify``: every problem of a folder, MVTec or manifest data set.
- ``synthetic/``: a generated data set in Real-IAD's exact layout (or the
  folder and MVTec layouts, ``synthetic.layouts``).
- ``resize_cache``: a resized copy of an image folder, made once.
- ``balanced_sampler``: balanced draws over the image classes (paper 4.2).
- ``balanced_epoch``: the expected length of a balanced epoch (Eq. 4, 5).
- ``augmentation``: the ranges of the random augmentation (paper 4.3.2);
  ``augmentation_ops`` applies them in TensorFlow.
- ``preprocessor``: ``Preprocessor``, an image file or array -> the model's
  input, the same for training, evaluation and every runtime (NumPy and
  OpenCV only).
- ``pipeline``: the tf.data training stream.
- ``sample_batches``: a list of samples' images, labels and masks in
  batches, read by the model's preprocessor as every runtime reads images
  (scoring and evaluation).
"""
