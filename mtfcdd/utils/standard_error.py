"""Standard error (file descriptor 2) sent elsewhere for a block.

C and C++ libraries write their messages straight to file descriptor 2,
past Python's ``sys.stderr``: TensorFlow's log lines
(``mtfcdd.utils.tensorflow_logs`` filters them) and libjpeg's warnings about
damaged data (``mtfcdd.utils.image_bytes`` reads them). Both move the
descriptor with ``standard_error_to``, the package's one way of doing it.

Standard library only: a board runs it.
"""

import contextlib
import os
import sys


@contextlib.contextmanager
def standard_error_to(descriptor):
    """Within the block, file descriptor 2 is a copy of ``descriptor``.

    Python's buffered ``sys.stderr`` is flushed on the way in and out, so
    what was written before the block goes to the old standard error and
    what is written in it to ``descriptor``. ``descriptor`` may be closed
    inside the block: descriptor 2 keeps the file open until the block ends.

    Yields:
        A copy of the old standard error's descriptor, open for the block.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(descriptor, 2)
    try:
        yield saved
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
