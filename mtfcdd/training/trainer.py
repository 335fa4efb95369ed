"""Training MultiTypeFCDD (paper 4.3): config, checkpoints, resume.

``train`` reads a data set in any layout (``mtfcdd.data.layouts``), builds the model, trains the head
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
    model.keras            the trained model, thresholds and type names included
    data_files.json        custom layouts: what the reader decided (e.g. MVTec's
                           test images moved into training, relabelled images)
    run.lock               while training: the process that trains

Checkpoints are written to a temporary file and renamed, so a run killed at
any moment leaves the last checkpoint intact; ``resume=True`` continues from
it with the same epoch, optimizer state and data order. A folder that holds
a run is never silently reused (``mtfcdd.training.run_folder``). Under the
multi-worker strategy only the chief writes (``mtfcdd.training.distribution``).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence

import keras
import tensorflow as tf

from mtfcdd.constants import DEFECT_CODES
from mtfcdd.data.balanced_epoch import balanced_epoch_summary
from mtfcdd.data.balanced_sampler import class_counts
from mtfcdd.data.pipeline import pipeline_error_message, training_dataset
from mtfcdd.data.dataset import DataSet, hold_out
from mtfcdd.data.layouts import load_dataset
from mtfcdd.data.realiad.verify import check_sample_files, label_conflicts
from mtfcdd.inference.scoring import predict_scores
from mtfcdd.model.backbone import feature_map_size
from mtfcdd.model.batch_memory import check_batch_fits
from mtfcdd.model.multi_type_loss import MultiTypeFCDDLoss, MultiTypePixelLoss
from mtfcdd.model.network import MultiTypeFCDD
from mtfcdd.model.saving import load_model_file, save_model_atomically
from mtfcdd.training.config import TrainingConfig
from mtfcdd.training.distribution import (
    distributed_training_data, make_strategy, prepare_model, strategy_scope, writes_outputs,
)
from mtfcdd.training.precision import dtype_policy, model_in_precision, training_optimizer
from mtfcdd.training.progress_callback import EpochProgress
from mtfcdd.training.run_folder import (
    CHECKPOINT_FILE,
    DATA_FILES_FILE,
    LOG_FILE,
    MODEL_FILE,
    STATE_FILE,
    TENSORBOARD_FOLDER,
    read_epochs_done,
    read_saved_config,
    run_identity,
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
        model_path: the trained ``model.keras``; None on a worker of a
            multi-worker run that is not the chief (only the chief writes).
        steps_per_epoch: batches per epoch used.
        history: loss per epoch of this call (a resumed run: its epochs only).
        thresholds: the per-type decision thresholds (None where
            ``model_path`` is).
        threshold_source: the images they were fitted on, in words.
        training_images: the number of training images the sampler draws
            from (the training split less any held-out images).
        config: the config the run trained with: the requested one, with
            Real-IAD's default alpha filled in.
        data: the ``DataSet`` read (its ``type_codes`` are the model's).
    """

    model_path: str | None
    steps_per_epoch: int
    history: dict
    thresholds: tuple | None
    threshold_source: str
    training_images: int
    config: TrainingConfig
    data: DataSet

    def to_dict(self):
        """The result as JSON-ready values (``mtfcdd train --json``)."""
        return {
            "model_path": self.model_path,
            "steps_per_epoch": self.steps_per_epoch,
            "training_images": self.training_images,
            "thresholds": None if self.thresholds is None else [float(value) for value in self.thresholds],
            "threshold_source": self.threshold_source,
            "history": {name: [float(value) for value in values] for name, values in self.history.items()},
        }


def train(
    data_root: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    config: TrainingConfig | None = None,
    resume: bool = False,
    overwrite: bool = False,
    verbose: int = 1,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
) -> TrainingResult:
    """Train MultiTypeFCDD on a data set in any layout (``mtfcdd.data.layouts``).

    The run folder is locked while training (``mtfcdd.utils.folder_lock``:
    a second run into it is refused, naming the first's process), and the
    temporary files of an earlier, killed run are removed first. Every
    training image and mask is checked (complete, decodable, a mask of its
    image's size) before the first step, and a batch that cannot fit in
    memory is refused before TensorFlow runs it.

    Args:
        data_root: data set root (Real-IAD's, or another layout's; the
            config's data fields say how to read it).
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
        verbose: 1 draws a progress bar per step (checking the images,
            each epoch, fitting the thresholds), 0 nothing.
        callbacks: more Keras callbacks for ``fit``; they run after
            mtfcdd's own, so their logs hold the held-out I-AUROC.

    Returns:
        A ``TrainingResult``.
    """
    # First: a multi-worker strategy must exist before any TensorFlow op
    # (reading config.json and run_folder's checks are plain Python).
    strategy = make_strategy(_requested_strategy(output_dir, config, resume))
    if not writes_outputs(strategy):
        # Another worker of the chief's run: the chief owns the folder (its
        # lock, its checks, its files); this one only reads a resumed run.
        config, epochs_done = _worker_config(output_dir, config, resume)
        return _train(data_root, output_dir, config, epochs_done, [], verbose, callbacks, strategy)
    make_output_folder(output_dir)
    with folder_lock(output_dir, "training"):
        remove_stale_partials(output_dir)
        config, epochs_done, resumes = start_run(output_dir, config, resume, overwrite)
        if config.tensorboard:
            require_tensorboard()  # before minutes of data loading and model building
        return _train(data_root, output_dir, config, epochs_done, resumes, verbose, callbacks, strategy)


def _requested_strategy(output_dir, config, resume):
    """The strategy the run asks for, known before TensorFlow starts."""
    if config is not None:
        return config.strategy
    if resume:
        return read_saved_config(output_dir)[0].strategy
    return TrainingConfig.strategy


def _worker_config(output_dir, config, resume):
    """(config, epochs done) of a worker that does not write: the chief's."""
    if not resume:
        return config or TrainingConfig(), 0
    saved, _ = read_saved_config(output_dir)
    return config or saved, read_epochs_done(output_dir)


def _train(data_root, output_dir, config, epochs_done, resumes, verbose, callbacks, strategy):
    writes = writes_outputs(strategy)
    data = load_dataset(data_root, **config.data_options())
    # Recorded in config.json: Real-IAD's default alpha, or another layout's
    # types in channel order, so that a resume reads the same channels.
    if data.layout == "realiad":
        config = dataclasses.replace(config, alpha=data.alpha)
    else:
        config = dataclasses.replace(config, layout=data.layout, types=data.defect_types)
    description = data.description() + (f", objects {', '.join(config.objects)}" if config.objects else "")
    if not data.train:
        raise ValueError(
            f"The training split is empty: no {description}. `mtfcdd data verify {data_root}` "
            "lists the splits and their images."
        )
    contradictions, _ = label_conflicts({"train": data.train, "test": data.test})
    if contradictions:
        raise ValueError(
            f"{len(contradictions)} image{'s' if len(contradictions) > 1 else ''} listed with "
            f"contradicting labels ({description}): {contradictions[0].rstrip('.')}. "
            f"`mtfcdd data verify {data_root}` lists them all."
        )
    # Headers and completeness only: the training stream decodes each image
    # (once per draw) and stops, naming it, at damaged image data.
    check_sample_files(data.train, description, "training images", decode=False, verbose=verbose)
    fit_samples, held_out = hold_out(data.train, config.threshold_fraction, config.seed)
    steps_per_epoch = config.steps_per_epoch or _balanced_steps(
        fit_samples, config.batch_size, config.sampling_classes
    )
    identity = run_identity(output_dir, data_root, data, resumed=bool(resumes)) if writes else {}

    keras.utils.set_random_seed(config.seed)
    with strategy_scope(strategy):
        model = prepare_model(
            _model_to_train(
                output_dir, config, data.type_codes, epochs_done > 0, identity.get("run_id")
            ),
            strategy,
        )
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    check_batch_fits(model, config.batch_size // replicas, training=True)
    # Written once every check has passed: a refused resume leaves the folder as it was.
    if writes:
        write_config(output_dir, config, resumes, identity)
        if data.record:
            write_json(os.path.join(output_dir, DATA_FILES_FILE), data.record)

    def make_dataset(shard):
        return training_dataset(
            fit_samples, config.image_size, batch_size=config.batch_size, seed=config.seed,
            augmentation=config.augmentation, start_step=epochs_done * steps_per_epoch,
            balanced=config.balanced, mask_grid=_mask_grid(config),
            sampling_classes=config.sampling_classes, shard=shard,
            preprocessor=model.preprocessor,
        )

    checkpoint = AtomicCheckpoint(output_dir, steps_per_epoch, save=writes)
    own_callbacks = _callbacks(output_dir, config, checkpoint, bool(resumes), held_out) if writes else [checkpoint]
    if verbose:
        own_callbacks.append(EpochProgress(config.epochs, steps_per_epoch))
    try:
        history = model.fit(
            distributed_training_data(strategy, make_dataset, config.batch_size),
            epochs=config.epochs, initial_epoch=epochs_done, steps_per_epoch=steps_per_epoch,
            callbacks=own_callbacks + list(callbacks or ()),
            shuffle=False,  # the balanced stream already fixes the order
            verbose=0,  # EpochProgress draws the package's own bar
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
    if not writes:
        return TrainingResult(
            None, steps_per_epoch, dict(history.history), None, config.threshold_source,
            len(fit_samples), config, data,
        )
    write_training_plot(output_dir, LOG_FILE)

    # Outside the strategy: the thresholds' scoring pass runs on the chief alone.
    trained = _inference_copy(model)
    # Without a held-out part, one pass over the training split, without
    # augmentation, scores the images the model was trained on.
    labels, scores = predict_scores(
        trained, held_out or fit_samples, config.batch_size, verbose=verbose, label="Fitting thresholds"
    )
    fitted = trained.postprocessor.fit_thresholds(labels, scores, config.threshold_source)
    if config.open_set_method is not None:
        # On the same images: its default threshold is their known types' false-alarm rate.
        fitted = fitted.fit_open_set(labels, scores, config.open_set_method)
    trained.thresholds, trained.threshold_source = fitted.thresholds, fitted.threshold_source
    trained.open_set = fitted.open_set
    model_path = os.path.join(output_dir, MODEL_FILE)
    save_model_atomically(trained, model_path)
    return TrainingResult(
        model_path, steps_per_epoch, dict(history.history), trained.thresholds,
        trained.threshold_source, len(fit_samples), config, data,
    )


class AtomicCheckpoint(keras.callbacks.Callback):
    """Saves model and optimizer after every good epoch; stops on NaN loss.

    A non-finite loss stops training at once and skips the save, so the
    checkpoint on disk is always the last good one. ``save=False`` (the
    workers of a multi-worker run other than the chief) only watches the
    loss.
    """

    def __init__(self, output_dir, steps_per_epoch, save=True):
        super().__init__()
        self.output_dir = output_dir
        self.steps_per_epoch = steps_per_epoch
        self.save = save
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
        if self.failure or not self.save:
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


def training_model(config, type_codes=None, run_id=None):
    """The compiled model that ``train`` starts a new run with: the network
    of ``config`` with one channel per name of ``type_codes`` (None:
    Real-IAD's eight, or "any defect" with ``multi_class``), Adam (with loss
    scaling under ``"mixed_float16"``), the loss, XLA or not, built under
    ``config.precision``; ``run_id`` is the run's
    (``mtfcdd.training.run_folder.run_identity``)."""
    with dtype_policy(config.precision):
        model = MultiTypeFCDD(
            num_types=len(type_codes) if type_codes else 1 if config.multi_class else len(DEFECT_CODES),
            type_codes=type_codes,
            image_size=config.image_size,
            backbone_weights=config.backbone_weights,
            train_backbone=config.train_backbone,
            score_reduction=config.score_reduction,
            input_scaling=config.input_scaling,
            backbone_batchnorm=config.backbone_batchnorm,
            head_batchnorm=config.head_batchnorm,
            initializer=config.initializer,
            run_id=run_id,
            name="multi_type_fcdd",
        )
        loss = MultiTypePixelLoss() if config.supervision == "pixel" else MultiTypeFCDDLoss()
        model.compile(
            optimizer=training_optimizer(config.precision, config.learning_rate, config.adam_epsilon), loss=loss,
            jit_compile=config.jit_compile,
        )
    return model


def _model_to_train(output_dir, config, type_codes, resume, run_id=None):
    if not resume:
        return training_model(config, type_codes, run_id)
    path = os.path.join(output_dir, CHECKPOINT_FILE)
    with dtype_policy(config.precision):
        model = load_model_file(path, "checkpoint")
    if not isinstance(model, MultiTypeFCDD) or getattr(model, "optimizer", None) is None:
        held = (
            "a MultiTypeFCDD without an optimizer" if isinstance(model, MultiTypeFCDD)
            else f"a {type(model).__name__} model"
        )
        raise ValueError(
            f"Cannot resume: {path} is not a MultiTypeFCDD training checkpoint (it holds {held}); "
            "restore the run's checkpoint, or train into a new folder."
        )
    if run_id is not None and model.run_id != run_id:
        raise ValueError(
            f"Cannot resume: {path} belongs to run {model.run_id}, not to the run {run_id} of "
            f"{output_dir} (its config.json); restore the run's own checkpoint, or train into a "
            "new folder."
        )
    if tuple(model.type_codes) != tuple(type_codes):
        raise ValueError(
            f"{path}: the checkpoint's types {list(model.type_codes)} differ from the data set's "
            f"{list(type_codes)}; resume on the data set the run started with."
        )
    # The one optimizer setting a resume may change (run_folder).
    model.optimizer.learning_rate = config.learning_rate
    # A checkpoint of a run older than the option says "auto".
    model.jit_compile = config.jit_compile
    return model


def _mask_grid(config):
    """The heatmap grid that pixel supervision's masks are resampled to."""
    if config.supervision != "pixel":
        return None
    side = feature_map_size(config.image_size)
    return (side, side)


def _inference_copy(model):
    """The trained model without optimizer state, outside any distribution
    strategy, in float32 whatever the training precision (the thresholds are
    fitted with it).

    Keras 3 saves a compiled model's optimizer variables too (twice the
    head's size for Adam); a deployed model needs only the weights, which
    mixed precision keeps in float32 too.
    """
    return model_in_precision(model, "float32")


def _callbacks(output_dir, config, checkpoint, resume, held_out):
    # The held-out I-AUROC goes into the logs before CSVLogger writes them.
    # Only on one device: under tf.distribute the training model's predict
    # is a collective step of every replica, not the chief's own pass.
    per_epoch_auroc = held_out and config.strategy == "default"
    callbacks = [checkpoint] + ([HeldOutAUROC(held_out, config.batch_size)] if per_epoch_auroc else [])
    callbacks.append(keras.callbacks.CSVLogger(os.path.join(output_dir, LOG_FILE), append=resume))
    if config.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(output_dir, TENSORBOARD_FOLDER)))
    return callbacks
