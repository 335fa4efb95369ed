"""Hides TensorFlow's own C++ log lines from standard error.

TensorFlow 2.21 logs through Abseil before anything initialises Abseil's
logging, so its start-up lines ("All log messages before
absl::InitializeLog() is called are written to STDERR", "Could not find cuda
drivers", "failed call to cuInit", "oneDNN custom operations are on") reach
standard error whatever ``TF_CPP_MIN_LOG_LEVEL`` says, and no environment
variable or Python call silences them. They are written by C++ straight to
file descriptor 2, so ``hidden_tensorflow_logs`` puts a pipe there and
copies to the real standard error every line that is not one of them
(``mtfcdd.utils.standard_error``).

Standard library only: the board's commands run through it too.
"""

import contextlib
import logging
import os
import re
import select
import threading

from mtfcdd.utils.standard_error import standard_error_to

# TF_CPP_MIN_LOG_LEVEL still filters TensorFlow's own (TSL) logger; 2 keeps
# its errors. It must be set before TensorFlow is imported.
QUIET_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "2"}
# Abseil's and TSL's line formats: "I0000 00:00:1796533725.784396 5074
# cudart_stub.cc:31] ..." and "2025-01-01 12:00:00.000000: I
# tensorflow/core/util/port.cc:153] ...". Information and warnings are
# hidden; errors only from probing for a GPU, which a CPU-only machine
# reports on every start.
_LOG_LINE = re.compile(
    rb"^(?:(?P<abseil>[IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ |"
    rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: (?P<tsl>[IWEF]) )(?P<origin>[\w./-]+:\d+)\] "
)
_GPU_PROBING = re.compile(rb"cuda|cuInit|gpu", re.IGNORECASE)
# Lines printed without a format: Abseil's notice, the LiteRT converter's
# settings and LiteRT's delegate.
_UNFORMATTED_LINES = re.compile(
    rb"^(?:WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|fully_quantize: \d+, inference_type: |INFO: Created TensorFlow Lite )"
)
# A partial line (a progress bar redrawn in place) is passed on once nothing
# more arrives for this long; TensorFlow writes each line whole.
_PARTIAL_LINE_WAIT_SECONDS = 0.2
_READ_SIZE = 65536
# How long the end of the block waits for the copier to pass on the rest.
_COPIER_WAIT_SECONDS = 5.0


def is_tensorflow_log_line(line):
    """Whether ``line`` (bytes, without its end of line) is one of the lines
    ``hidden_tensorflow_logs`` hides."""
    if _UNFORMATTED_LINES.match(line):
        return True
    match = _LOG_LINE.match(line)
    if match is None:
        return False
    severity = match.group("abseil") or match.group("tsl")
    return severity in (b"I", b"W") or bool(_GPU_PROBING.search(line[match.end():] + match.group("origin")))


@contextlib.contextmanager
def hidden_tensorflow_logs(hidden=True):
    """Within the block, TensorFlow's C++ log lines do not reach standard error.

    Sets ``QUIET_ENVIRONMENT`` (unless already set), keeps TensorFlow's
    Python logger to errors, and filters file descriptor 2, through which
    C++ and Python alike write standard error. Every other line passes, in
    order; what is written in the block is all passed on when it ends.

    Args:
        hidden: False does nothing (``mtfcdd --verbose``).
    """
    if not hidden:
        yield
        return
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    # Its deprecation warnings ("WARNING:tensorflow:From ...") go through
    # Python's logging, which TensorFlow leaves at the level set here.
    python_logger = logging.getLogger("tensorflow")
    python_level = python_logger.level
    python_logger.setLevel(logging.ERROR)
    real_stderr = os.dup(2)
    read_end, write_end = os.pipe()
    copier = threading.Thread(target=_copy_lines, args=(read_end, real_stderr), daemon=True)
    copier.start()
    try:
        with standard_error_to(write_end):
            os.close(write_end)
            yield
    finally:
        # The pipe closed when the block ended, unless a descriptor outlives
        # the block (a child process started in it inherits descriptor 2);
        # the copier, a daemon thread, then passes on what that writes, and
        # the block does not wait for it: a log filter must never keep a
        # command from ending.
        copier.join(_COPIER_WAIT_SECONDS)
        if not copier.is_alive():
            os.close(real_stderr)
        python_logger.setLevel(python_level)


def _copy_lines(read_end, real_stderr):
    pending = b""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            ready, _, _ = select.select([pipe], [], [], _PARTIAL_LINE_WAIT_SECONDS)
            if not ready:
                _write_all(real_stderr, pending)
                pending = b""
                continue
            chunk = pipe.read(_READ_SIZE)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not is_tensorflow_log_line(line))
            _write_all(real_stderr, kept)
    if not is_tensorflow_log_line(pending):
        _write_all(real_stderr, pending)


def _write_all(descriptor, data):
    while data:
        data = data[os.write(descriptor, data):]
