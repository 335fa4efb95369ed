"""Training on several devices or machines with tf.distribute (paper 4.3 at scale).

``TrainingConfig.strategy`` names one of ``mtfcdd.constants.STRATEGIES``:

- ``"default"``: one device, no strategy.
- ``"mirrored"``: ``tf.distribute.MirroredStrategy`` over every local GPU
  (or CPU device).
- ``"multi-worker"``: ``tf.distribute.MultiWorkerMirroredStrategy`` over the
  machines that the ``TF_CONFIG`` environment variable names, as Keras'
  multi-worker guide sets it up; every machine runs the same ``mtfcdd
  train`` command.

``batch_size`` is always the global batch: each of the ``n`` replicas
computes ``batch_size / n`` images of it, and the head's BatchNormalization
layers are synchronized across replicas, so a distributed run trains on the
same batches with the same statistics as one process would. Only the chief
(``writes_outputs``) writes files.
"""

import contextlib
import json
import os
import types

import keras
import tensorflow as tf


def make_strategy(name):
    """The tf.distribute strategy called ``name``; None for ``"default"``.

    ``"multi-worker"`` must be created before TensorFlow runs any
    operation in this process (TensorFlow configures its collectives then).
    """
    if name == "default":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    check_tf_config(os.environ.get("TF_CONFIG"))
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:
        raise ValueError(
            "strategy='multi-worker' must start before TensorFlow runs anything in the "
            "process: run training in a fresh process (as `mtfcdd train --strategy "
            f"multi-worker` does). TensorFlow said: {error}"
        ) from error


def check_tf_config(value):
    """Raises a ``ValueError`` naming ``TF_CONFIG`` when its value cannot
    describe this machine's place in a cluster.

    TensorFlow takes a ``TF_CONFIG`` without a ``cluster`` (or ``[]``) for
    no cluster at all and trains on this machine alone, which a machine
    meant to be one of several must not do silently. No ``TF_CONFIG`` (None
    or empty) is this machine alone, as documented.
    """
    if not value:
        return
    prefix = "TF_CONFIG (the multi-worker cluster, docs/training.md)"
    try:
        config = json.loads(value)
    except ValueError as error:
        raise ValueError(f"{prefix} is not valid JSON ({error}); got {value[:200]!r}.") from error
    if not isinstance(config, dict):
        raise ValueError(f"{prefix} must be a JSON object with \"cluster\" and \"task\"; got {value[:200]!r}.")
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not any(isinstance(hosts, list) and hosts for hosts in cluster.values()):
        raise ValueError(
            f"{prefix} has no machines in its \"cluster\" (e.g. {{\"worker\": [\"host-a:12345\", "
            "\"host-b:12345\"]}); without one this machine would train alone. Unset TF_CONFIG to "
            "train on one machine."
        )
    if not isinstance(task, dict) or task.get("type") not in cluster:
        raise ValueError(
            f"{prefix} needs a \"task\" whose \"type\" is one of the cluster's jobs "
            f"({', '.join(cluster)}); got {task!r}."
        )
    hosts = cluster[task["type"]]
    index = task.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(hosts):
        raise ValueError(
            f"{prefix}: the task's index {index!r} is not one of the {len(hosts)} "
            f"{task['type']} machines (0 to {len(hosts) - 1})."
        )


def strategy_scope(strategy):
    """``strategy.scope()``, or no scope for the default strategy."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def writes_outputs(strategy):
    """Whether this process writes the run's files: True but on the workers
    of a multi-worker run other than the chief (TensorFlow's rule: the task
    of type ``chief``, else worker 0)."""
    return strategy is None or strategy.extended.should_checkpoint


def prepare_model(model, strategy):
    """Makes a compiled ``MultiTypeFCDD`` train under ``strategy`` as on one
    device.

    Every trainable BatchNormalization layer normalises with the statistics
    of the global batch (``synchronized``), not of each replica's part: not
    in the model's config, so it is set again after every load. Under
    several workers, two Keras 3 bugs are worked around (``_patch_keras``).
    """
    if strategy is None:
        return model
    for layer in (*model.layers, *model.backbone.layers):
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable:
            layer.synchronized = True
    if _is_multi_worker(strategy):
        _patch_keras(model)
    return model


def distributed_training_data(strategy, make_dataset, batch_size):
    """The training stream for ``model.fit`` under ``strategy``.

    Args:
        strategy: a strategy of ``make_strategy``.
        make_dataset: ``make_dataset(shard)`` returns
            ``mtfcdd.data.pipeline.training_dataset(..., shard=shard)``.
        batch_size: the global batch.

    With several workers each decodes only its slice of every global batch
    (``training_dataset``'s ``shard``), split again between its local
    replicas; otherwise the whole stream goes to ``fit``, which splits it.
    """
    if not _is_multi_worker(strategy):
        return make_dataset(None)
    if batch_size % strategy.num_replicas_in_sync:
        raise ValueError(
            f"batch_size={batch_size} must be a multiple of the "
            f"{strategy.num_replicas_in_sync} replicas of the multi-worker cluster."
        )

    def worker_dataset(context):
        dataset = make_dataset((context.input_pipeline_id, context.num_input_pipelines))
        per_replica = context.get_per_replica_batch_size(batch_size)
        if per_replica != batch_size // context.num_input_pipelines:
            dataset = dataset.rebatch(per_replica, drop_remainder=True)
        return dataset

    return strategy.distribute_datasets_from_function(worker_dataset)


def _is_multi_worker(strategy):
    """Whether ``strategy`` spans two or more machines (without ``TF_CONFIG``
    a multi-worker strategy runs on this one alone)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    jobs = strategy.cluster_resolver.cluster_spec().as_dict()
    return len(jobs.get("chief", ())) + len(jobs.get("worker", ())) > 1


def _patch_keras(model):
    """Works around two bugs of Keras 3's TensorFlow trainer with several
    workers (checked on Keras 3.15; tests/test_multi_worker.py fails once
    Keras changes the code they are in):

    1. ``_maybe_symbolic_build`` builds the model from the first batch after
       ``strategy.reduce``-ing it across workers, which fails on the batch's
       per-replica values ("Attempt to convert a value (PerReplica...)"). A
       model only needs a batch's shapes and dtypes to be built, so it is
       built from this worker's own part.
    2. ``reduce_per_replica`` reduces each scalar log along axis 0 ("Invalid
       reduction dimension 0 for input with 0 dimensions",
       tensorflow/tensorflow#72388): the training step returns its logs
       with shape [1], whose mean across workers is the global one.
    """
    if not hasattr(model, "_maybe_symbolic_build"):
        raise RuntimeError(
            f"Keras {keras.__version__} no longer has Model._maybe_symbolic_build: check "
            "whether mtfcdd.training.distribution._patch_keras is still needed."
        )

    def build_from_local_batch(self, iterator=None, data_batch=None):
        if iterator is not None and data_batch is None:
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(
                    lambda value: self.distribute_strategy.experimental_local_results(value)[0],
                    next(batches),
                )
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    train_step = model.train_step

    def train_step_with_vector_logs(data):
        return {name: tf.reshape(value, [1]) for name, value in train_step(data).items()}

    model._maybe_symbolic_build = types.MethodType(build_from_local_batch, model)
    model.train_step = train_step_with_vector_logs
