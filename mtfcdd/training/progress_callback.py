"""Training's progress bar: the package's own, one per epoch, labelled.

Keras' ``fit`` draws a bar of its own style, without a label; training draws
``mtfcdd.utils.progress.ProgressBar`` instead, as every other long step
does, so that ``mtfcdd train`` shows one style throughout.
"""

import keras

from mtfcdd.utils.progress import ProgressBar


class EpochProgress(keras.callbacks.Callback):
    """``Epoch 2/5: 12/40 [=====>....] 9s 750ms/step - loss 0.1234``.

    Args:
        epochs: the epoch training ends at (``fit``'s ``epochs``).
        steps_per_epoch: batches per epoch.
    """

    def __init__(self, epochs, steps_per_epoch):
        super().__init__()
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self._bar = None

    def on_epoch_begin(self, epoch, logs=None):
        self._bar = ProgressBar(self.steps_per_epoch, f"Epoch {epoch + 1}/{self.epochs}", unit_name="step")

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        self._bar.update(batch + 1, {} if loss is None else {"loss": float(loss)})
