"""Training MultiTypeFCDD (paper 4.3): config, checkpoints, resume.

``train`` reads a Real-IAD-format data set, builds the model, trains the head
with Adam on balanced batches (paper 4.2) for a number of balanced epochs
(Eq. 4), fits per-type decision thresholds (on the training split after
training, or on a part of it held out when asked to) and writes everything
to one output folder:

    config.json            the TrainingConfig (and the run's resumes)
    checkpoint.keras       model + optimizer after the last finished epoch
    training_state.json    epochs finished, steps per epoch
    training_log.csv       loss per epoch (Keras CSVLogger), and the held-out
                           I-AUROC per type when images are held out
    training_curves.png    the log drawn (with Matplotlib, the plots extra)
    tensorboard/           if asked for
    model.keras            the trained model, thresholds included
    run.lock               while training: the process that trains

Checkpoints are written to a temporary file and renamed, so a run killed at
any moment leaves the last checkpoint intact; ``resume=True`` continues from
it with the same epoch, optimizer state and data order. A folder that holds
a run is never silently reused (``mtfcdd.training.run_folder``).
"""

import contextlib
import dataclasses
import math
import os

import keras
import numpy as np
import tensorflow as tf

from mtfcdd.constants import fuiad_setting
from mtfcdd.data.balanced_epoch import balanced_epoch_summary
from mtfcdd.data.balanced_sampler import class_counts
from mtfcdd.data.pipeline import pipeline_error_message, training_dataset
from mtfcdd.data.realiad.reader import load_realiad
from mtfcdd.data.realiad.verify import check_sample_files
from mtfcdd.evaluation.model_evaluation import predict_scores
from mtfcdd.inference.decision_thresholds import fit_thresholds
from mtfcdd.model.backbone import feature_map_size
from mtfcdd.model.batch_memory import check_batch_fits
from mtfcdd.model.multi_type_loss import MultiTypeFCDDLoss, MultiTypePixelLoss
from mtfcdd.model.network import MultiTypeFCDD
from mtfcdd.model.saving import load_model_file, save_model_atomically
from mtfcdd.training.config import TrainingConfig  # noqa: F401 (mtfcdd.TrainingConfig is read from here)
from mtfcdd.training.run_folder import (
    CHECKPOINT_FILE,
    LOG_FILE,
    MODEL_FILE,
    STATE_FILE,
    TENSORBOARD_FOLDER,
    start_run,
    write_config,
)
from mtfcdd.training.training_curves import (
    HeldOutAUROC,
    require_tensorboard,
    write_training_plot,
)
from mtfcdd.utils.atomic_files import make_output_folder, remove_stale_partials, write_json
from mtfcdd.utils.folder_lock import folder_lock


@dataclasses.dataclass(frozen=True)
class TrainingResult:
    """What ``train`` produced.

    Attributes:
        model_path: the trained ``model.keras``.
        steps_per_epoch: batches per epoch used.
        history: loss per epoch of this call (a resumed run: its epochs only).
        thresholds: the per-type decision thresholds.
        threshold_source: the images they were fitted on, in words.
        training_images: the number of training images the sampler draws
            from (the training split less any held-out images).
    """

    model_path: str
    steps_per_epoch: int
    history: dict
    thresholds: tuple
    threshold_source: str
    training_images: int


def train(data_root, output_dir, config=None, resume=False, overwrite=False, verbose=1, callbacks=None):
    """Train MultiTypeFCDD on a Real-IAD-format data set.

    The run folder is locked while training (``mtfcdd.utils.folder_lock``:
    a second run into it is refused, naming the first's process), and the
    temporary files of an earlier, killed run are removed first. Every
    training image and mask is checked (complete, decodable, a mask of its
    image's size) before the first step, and a batch that cannot fit in
    memory is refused before TensorFlow runs it.

    Args:
        data_root: data set root (holds ``realiad_jsons/`` and the images).
        output_dir: folder for checkpoints, logs and the model. A folder
            that already holds a run is refused unless ``resume`` or
            ``overwrite`` is given (``mtfcdd.training.run_folder``).
        config: a ``TrainingConfig``; with ``resume``, None takes the saved
            one, and a config may differ from it only in ``epochs`` (more
            extend the run) and ``learning_rate``; the change is recorded in
            ``config.json`` (``resumes``).
        resume: continue from the last checkpoint in ``output_dir``.
        overwrite: replace the run in ``output_dir`` (its files are deleted
            first).
        verbose: Keras verbosity (1: progress bar).
        callbacks: more Keras callbacks for ``fit``; they run after
            mtfcdd's own, so their logs hold the held-out I-AUROC.

    Returns:
        A ``TrainingResult``.
    """
    make_output_folder(output_dir)
    with folder_lock(output_dir, "training"):
        remove_stale_partials(output_dir)
        config, epochs_done, resumes = start_run(output_dir, config, resume, overwrite)
        if config.tensorboard:
            require_tensorboard()  # before minutes of data loading and model building
        return _train(data_root, output_dir, config, epochs_done, resumes, verbose, callbacks)


def _train(data_root, output_dir, config, epochs_done, resumes, verbose, callbacks):
    split = load_realiad(
        data_root, alpha=config.alpha, resolution=config.resolution,
        objects=config.objects, num_types=config.num_types,
    )
    description = (
        f"training images of {fuiad_setting(config.alpha)} (alpha {config.alpha}) in {data_root}"
        + (f", objects {', '.join(config.objects)}" if config.objects else "")
    )
    if not split.train:
        raise ValueError(
            f"The training split is empty: no {description}. `mtfcdd data verify {data_root}` "
            "lists the splits and their images."
        )
    check_sample_files(split.train, description, decode=True, verbose=verbose)
    fit_samples, held_out = hold_out(split.train, config.threshold_fraction, config.seed)
    steps_per_epoch = config.steps_per_epoch or _balanced_steps(
        fit_samples, config.batch_size, config.sampling_classes
    )
    write_config(output_dir, config, resumes)

    keras.utils.set_random_seed(config.seed)
    with _distribution_scope(config.strategy):
        model = _model_to_train(output_dir, config, resume=epochs_done > 0)
    check_batch_fits(model, config.batch_size, training=True)
    dataset = training_dataset(
        fit_samples, config.image_size, batch_size=config.batch_size, seed=config.seed,
        augmentation=config.augmentation, start_step=epochs_done * steps_per_epoch,
        balanced=config.balanced, mask_grid=_mask_grid(config),
        sampling_classes=config.sampling_classes,
    )
    checkpoint = AtomicCheckpoint(output_dir, steps_per_epoch)
    try:
        history = model.fit(
            dataset, epochs=config.epochs, initial_epoch=epochs_done,
            steps_per_epoch=steps_per_epoch,
            callbacks=_callbacks(output_dir, config, checkpoint, bool(resumes), held_out) + list(callbacks or ()),
            shuffle=False,  # the balanced stream already fixes the order
            verbose=verbose,
        )
    except tf.errors.OpError as error:
        raise ValueError(f"Training stopped: {pipeline_error_message(error)}") from error
    if checkpoint.failure:
        raise FloatingPointError(
            f"Training stopped: {checkpoint.failure}. The last good checkpoint is kept in "
            f"{os.path.join(output_dir, CHECKPOINT_FILE)}. Check the data, then resume with a "
            f"lower learning rate: mtfcdd train --data {data_root} --out {output_dir} --resume "
            f"--learning-rate {config.learning_rate / 10:g}"
        )
    write_training_plot(output_dir, LOG_FILE)

    trained = _inference_copy(model)
    # Without a held-out part, one pass over the training split, without
    # augmentation, scores the images the model was trained on.
    labels, scores = predict_scores(trained, held_out or fit_samples, config.batch_size, verbose=verbose)
    trained.thresholds = fit_thresholds(labels, scores)
    trained.threshold_source = config.threshold_source
    model_path = os.path.join(output_dir, MODEL_FILE)
    save_model_atomically(trained, model_path)
    return TrainingResult(
        model_path, steps_per_epoch, dict(history.history), trained.thresholds,
        trained.threshold_source, len(fit_samples),
    )


def hold_out(samples, fraction, seed):
    """Split ``samples`` into (training, held-out) per class, seeded.

    Each class (normal, each defect type) gives ``round(fraction * n)`` of
    its images, at least one when it has two or more, so that every type
    present in training can have a threshold.
    """
    if fraction == 0:
        return tuple(samples), ()
    rng = np.random.default_rng(seed)
    by_class = {}
    for index, sample in enumerate(samples):
        by_class.setdefault(sample.anomaly_class, []).append(index)
    held_out = set()
    for anomaly_class in sorted(by_class):
        indices = by_class[anomaly_class]
        count = max(round(fraction * len(indices)), 1) if len(indices) > 1 else 0
        held_out.update(rng.choice(indices, size=count, replace=False).tolist())
    training = tuple(sample for index, sample in enumerate(samples) if index not in held_out)
    return training, tuple(samples[index] for index in sorted(held_out))


class AtomicCheckpoint(keras.callbacks.Callback):
    """Saves model and optimizer after every good epoch; stops on NaN loss.

    A non-finite loss stops training at once and skips the save, so the
    checkpoint on disk is always the last good one.
    """

    def __init__(self, output_dir, steps_per_epoch):
        super().__init__()
        self.output_dir = output_dir
        self.steps_per_epoch = steps_per_epoch
        self.failure = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.failure = (
                f"the loss became {float(loss)} at epoch {self._epoch + 1}, batch {batch + 1}"
            )
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.failure:
            return
        save_model_atomically(self.model, os.path.join(self.output_dir, CHECKPOINT_FILE))
        write_json(
            os.path.join(self.output_dir, STATE_FILE),
            {"epochs_completed": epoch + 1, "steps_per_epoch": self.steps_per_epoch},
        )


def _balanced_steps(samples, batch_size, sampling_classes="types"):
    """Batches of one balanced epoch, E[T] / batch_size rounded up (paper
    Eq. 4), for balanced sampling over ``sampling_classes``."""
    counts = tuple(class_counts(samples, sampling_classes).values())
    summary = balanced_epoch_summary(counts, batch_size=batch_size)
    return max(1, math.ceil(summary.balanced_iterations))


def _model_to_train(output_dir, config, resume):
    if resume:
        model = load_model_file(os.path.join(output_dir, CHECKPOINT_FILE), "checkpoint")
        # The one optimizer setting a resume may change (run_folder).
        model.optimizer.learning_rate = config.learning_rate
        return model
    model = MultiTypeFCDD(
        num_types=config.num_types,
        image_size=config.image_size,
        backbone_weights=config.backbone_weights,
        train_backbone=config.train_backbone,
        name="multi_type_fcdd",
    )
    loss = MultiTypePixelLoss() if config.supervision == "pixel" else MultiTypeFCDDLoss()
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss)
    return model


def _mask_grid(config):
    """The heatmap grid that pixel supervision's masks are resampled to."""
    if config.supervision != "pixel":
        return None
    side = feature_map_size(config.image_size)
    return (side, side)


def _inference_copy(model):
    """The trained model without optimizer state, outside any distribution
    strategy (the thresholds are fitted with it).

    Keras 3 saves a compiled model's optimizer variables too (twice the
    head's size for Adam); a deployed model needs only the weights.
    """
    copy = MultiTypeFCDD.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def _callbacks(output_dir, config, checkpoint, resume, held_out):
    # The held-out I-AUROC goes into the logs before CSVLogger writes them.
    callbacks = [checkpoint] + ([HeldOutAUROC(held_out, config.batch_size)] if held_out else [])
    callbacks.append(keras.callbacks.CSVLogger(os.path.join(output_dir, LOG_FILE), append=resume))
    if config.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(output_dir, TENSORBOARD_FOLDER)))
    return callbacks


def _distribution_scope(strategy):
    if strategy == "mirrored":
        import tensorflow as tf

        return tf.distribute.MirroredStrategy().scope()
    return contextlib.nullcontext()
