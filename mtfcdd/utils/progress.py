"""The one text progress bar of every long step, without Keras.

Every long step (checking images, generating a data set, each training
epoch, fitting thresholds, evaluating, predicting) draws this bar, labelled
with what it does, so a log reads the same from step to step; training
draws it through ``mtfcdd.training.progress_callback`` instead of Keras' own
bar. It imports nothing beyond the standard library, so that the commands
that run on a board without Keras show progress too. Off a terminal (a log
file, a notebook) it writes a line every ten seconds rather than redrawing.
"""

import sys
import time

# Seconds between redraws: on a terminal the bar is redrawn in place; in a
# log file (no terminal) each redraw is a new line, so fewer are written.
_TERMINAL_INTERVAL = 0.1
_LOG_INTERVAL = 10.0
_BAR_WIDTH = 30


class ProgressBar:
    """``Label: N/total [=====>......] 12s 35ms/image``, redrawn as work is done.

    Args:
        total: the number of units of the whole job.
        label: what the job is, e.g. ``"Evaluating"``.
        unit_name: what one unit is called, e.g. ``"image"``.
        verbose: 1 draws the bar, 0 draws nothing.
        stream: where to draw it (standard output by default, as Keras does).
    """

    def __init__(self, total, label, unit_name="step", verbose=1, stream=None):
        if total < 0:
            raise ValueError(f"total must be >= 0; got {total}.")
        self.total = total
        self.label = label
        self.unit_name = unit_name
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.current = 0
        self._start = time.monotonic()
        self._last_draw = None
        self.values = {}
        self._on_terminal = hasattr(self.stream, "isatty") and self.stream.isatty()

    def add(self, count):
        """Record ``count`` more finished units."""
        self.update(self.current + count)

    def update(self, current, values=None):
        """Record that ``current`` units are finished; ``values`` (e.g. the
        loss so far) are shown after the rate, ``name value`` each."""
        self.current = current
        self.values = values or {}
        if not self.verbose:
            return
        now = time.monotonic()
        finished = current >= self.total
        interval = _TERMINAL_INTERVAL if self._on_terminal else _LOG_INTERVAL
        if not finished and self._last_draw is not None and now - self._last_draw < interval:
            return
        self._last_draw = now
        line = self._line(now - self._start)
        ending = "\n" if finished or not self._on_terminal else ""
        self.stream.write(("\r" if self._on_terminal else "") + line + ending)
        self.stream.flush()

    def _line(self, elapsed):
        fraction = min(self.current / self.total, 1.0) if self.total else 1.0
        filled = int(_BAR_WIDTH * fraction)
        bar = "=" * filled + (">" if filled < _BAR_WIDTH else "") + "." * (_BAR_WIDTH - filled - 1)
        rate = ""
        if self.current:
            rate = f" {1000 * elapsed / self.current:.0f}ms/{self.unit_name}"
        width = len(str(self.total))
        values = "".join(f" - {name} {value:.4g}" for name, value in self.values.items())
        return f"{self.label}: {self.current:>{width}}/{self.total} [{bar[:_BAR_WIDTH]}] {elapsed:.0f}s{rate}{values}"
