"""Helpers with no paper concept in them, used by every stage.

- ``atomic_files``: write a file through a temporary name and a rename, so
  that nothing already written is ever half-written.
- ``image_files``: find, read and resize image files with OpenCV (the same
  way on a workstation and on a board).
- ``thread_map``: map a function over items in threads, with progress.
- ``standard_error``: file descriptor 2 sent elsewhere for a block (libjpeg's
  warnings read, TensorFlow's log lines filtered).

Nothing here imports Keras or TensorFlow.
"""
