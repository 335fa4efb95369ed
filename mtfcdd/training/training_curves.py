"""How a training run went, per epoch: held-out I-AUROC and the training plot.

``HeldOutAUROC`` adds to each epoch's logs the I-AUROC of every type on the
images held out from training (``TrainingConfig.threshold_fraction > 0``),
so that ``training_log.csv``, TensorBoard (``require_tensorboard``) and the
history hold it.
``write_training_plot`` draws ``training_log.csv`` as ``training_curves.png``
(with Matplotlib, the ``plots`` extra): the loss per epoch (paper Eq. 3)
and, when logged, the held-out I-AUROC per type.
"""

import csv
import math
import os

import keras
import numpy as np

from mtfcdd.constants import TYPE_NAMES
from mtfcdd.inference.scoring import predict_scores
from mtfcdd.metrics import auroc
from mtfcdd.utils.atomic_files import write_bytes
from mtfcdd.utils.optional_packages import import_optional
from mtfcdd.visualization import plots

# Keras names validation numbers val_*: CSVLogger then adds no empty
# val_ columns, and TensorBoard files them under validation.
HELD_OUT_PREFIX = "val_i_auroc_"
PLOT_FILE = "training_curves.png"


class HeldOutAUROC(keras.callbacks.Callback):
    """Logs ``val_i_auroc_<code>`` for each type after every epoch.

    The held-out images are scored as the thresholds will be
    (``mtfcdd.inference.scoring.predict_scores``, no
    augmentation). A type without both positive and negative held-out
    images gets no entry.

    Args:
        samples: the held-out ``Sample``s.
        batch_size: images per model call.
    """

    def __init__(self, samples, batch_size=32):
        super().__init__()
        self.samples = tuple(samples)
        self.batch_size = batch_size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        labels, scores = predict_scores(self.model, self.samples, self.batch_size)
        if not np.isfinite(scores).all():
            return  # a diverged epoch: AtomicCheckpoint stops the run and says why
        for channel, code in enumerate(self.model.type_codes):
            positives = labels[:, channel].sum()
            if 0 < positives < len(labels):
                logs[HELD_OUT_PREFIX + code] = auroc(labels[:, channel], scores[:, channel])


def require_tensorboard():
    """Raises MissingPackageError, before any training, when TensorBoard's logs cannot be written.

    TensorFlow writes them through the ``tensorboard`` package, which it no
    longer installs; without it the run would fail at its first epoch's end.
    """
    import_optional("tensorboard", "tensorboard", "tensorboard=True (--tensorboard)", extra="tensorboard")


def write_training_plot(output_dir, log_file):
    """Draws ``output_dir/log_file`` (Keras's CSVLogger) as ``training_curves.png``.

    Returns:
        The path written, or None without Matplotlib (``plots.available``
        says how to get it) or without any logged epoch.
    """
    if not plots.available():
        return None
    with open(os.path.join(output_dir, log_file), newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    if not rows:
        return None
    held_out = {}
    for column in rows[0]:
        if column.startswith(HELD_OUT_PREFIX):
            code = column[len(HELD_OUT_PREFIX):]
            held_out[f"{TYPE_NAMES.get(code, code)} ({code})"] = [_number(row[column]) for row in rows]
    picture = plots.training_plot(
        [int(row["epoch"]) + 1 for row in rows], [_number(row["loss"]) for row in rows], held_out or None
    )
    path = os.path.join(output_dir, PLOT_FILE)
    write_bytes(path, picture)
    return path


def _number(text):
    """A logged value; CSVLogger writes "NA" where an epoch lacks one."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return math.nan
    return value if math.isfinite(value) else math.nan
