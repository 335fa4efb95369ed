"""Helpers with no paper concept in them, used by every stage.

- ``atomic_files``: write a file through a temporary name and a rename, so
  that nothing already written is ever half-written.
- ``image_files``: find, read and resize image files with OpenCV (the same
  way on a workstation and on a board).
- ``image_bytes``: an image file's format, size and completeness, then its
  pixels.
- ``image_size``: one way to give an image size, an int or (height, width).
- ``thread_map``: map a function over items in threads, with progress.
- ``progress``: the one text progress bar of every long step.
- ``memory``: whether a batch fits in the memory available now.
- ``folder_lock``: one process at a time in a folder.
- ``optional_packages``: an optional package imported where a feature
  needs it, with the extra to install when it is absent.
- ``tensorflow_logs``: TensorFlow's own C++ log lines kept off standard
  error.
- ``standard_error``: file descriptor 2 sent elsewhere for a block (libjpeg's
  warnings read, TensorFlow's log lines filtered).

Nothing here imports Keras or TensorFlow.
"""
