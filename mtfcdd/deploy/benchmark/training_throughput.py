"""Where the time of a training step goes: the input pipeline, the step, both.

``measure_training_throughput`` (``mtfcdd benchmark --training``) times, for
one ``TrainingConfig`` (image size, batch, precision, XLA) on a data set:

- the input pipeline alone: ``mtfcdd.data.pipeline.training_dataset``, what
  ``train`` feeds ``fit`` (balanced sampling, reading, decoding, resizing,
  augmentation), iterated without a model;
- the training step alone: ``fit`` on one batch held in memory, repeated;
- the two together: ``fit`` on the pipeline, as ``train`` runs.

The pipeline's overhead is how much longer a step takes with it than
without it: on a CPU the two share the cores, so it is what the pipeline
costs the training. Each figure is the mean over the timed steps, after
warm-up steps (the first one traces and compiles the step); the step alone
and the two together are timed in alternating rounds, so that a change in
the machine's load affects both alike.

FLOPs per training image (``training_flops``), counted with
``flops.count_flops``'s rule (two per multiply-add of every convolution,
one per bias add; element-wise layers not counted):
the forward pass of the whole network, plus the backward pass of its
trainable part, counted as twice that part's forward FLOPs (the gradients
with respect to the weights and to the inputs), less the input gradient of
the first trainable convolution, which nothing needs (its input comes from
the frozen backbone, or is the image). The efficiency is the achieved
FLOP/s of the step alone over the machine's float32 matmul peak: the best
of TensorFlow matrix products of about one training image's work, timed
after each round of the step alone (``timing`` says why a peak is
measured interleaved with what it is compared with).
"""

import time

import keras
import numpy as np
import tensorflow as tf

from mtfcdd.data.layouts import load_dataset
from mtfcdd.data.pipeline import training_dataset
from mtfcdd.deploy.benchmark.flops import count_flops
from mtfcdd.deploy.benchmark.timing import matmul_run, matmul_size_for, seconds_of
from mtfcdd.training.trainer import training_model


def measure_training_throughput(data_root, config, steps=10, warmup=2, rounds=2, verbose=1):
    """Images per second of the pipeline, the step and both, and the FLOPs.

    Args:
        data_root: a Real-IAD-format data set; ``config.resolution`` picks
            its image folder (e.g. the resize cache ``realiad_299``).
        config: the ``TrainingConfig`` to measure (``image_size``,
            ``batch_size``, ``precision``, ``jit_compile``, ``augmentation``,
            ``alpha``, ``backbone_weights``...); strategy ``"default"``.
        steps: timed steps (batches) of each measurement in each round.
        warmup: untimed steps before them.
        rounds: rounds of the step alone then the two together.
        verbose: 1 prints each measurement as it is taken.

    Returns:
        A dict: the settings, ``pipeline_images_per_second``,
        ``step_images_per_second``, ``together_images_per_second``,
        ``pipeline_overhead`` (fraction of the step's time), the FLOPs per
        training image, ``achieved_gflops``, ``matmul_peak_gflops`` and
        ``efficiency``.
    """
    if config.strategy != "default":
        raise ValueError(f"The training benchmark runs on one device; got strategy={config.strategy!r}.")
    if min(steps, warmup, rounds) < 1:
        raise ValueError(
            f"steps, warmup and rounds must be >= 1; got steps={steps}, warmup={warmup}, "
            f"rounds={rounds}."
        )
    log = print if verbose else (lambda *args: None)
    split = load_dataset(data_root, **config.data_options())

    def pipeline():
        return training_dataset(
            split.train, config.image_size, batch_size=config.batch_size, seed=config.seed,
            augmentation=config.augmentation, balanced=config.balanced,
            sampling_classes=config.sampling_classes,
        )

    # Four times as many batches, so that those prefetched during the
    # warm-up hardly count.
    pipeline_seconds = _seconds_per_batch(pipeline(), 4 * steps, warmup)
    log(f"input pipeline alone: {config.batch_size / pipeline_seconds:.1f} images/s")
    keras.utils.set_random_seed(config.seed)
    model = training_model(config, split.type_codes)
    batch = next(iter(pipeline()))
    in_memory = tf.data.Dataset.from_tensors(batch).repeat()
    flops = training_flops(model)
    product, product_flops = matmul_run(size=matmul_size_for(flops["training"]))
    product()  # traces it
    alone, together, product_seconds = [], [], []
    for round_index in range(rounds):
        alone += _step_seconds(model, in_memory, steps, warmup)
        product_seconds += [seconds_of(product) for _ in range(steps)]
        together += _step_seconds(model, pipeline(), steps, warmup)
        log(f"round {round_index + 1}: training step alone {config.batch_size / np.mean(alone):.1f} "
            f"images/s, with the pipeline {config.batch_size / np.mean(together):.1f} images/s")
    step_seconds, together_seconds = float(np.mean(alone)), float(np.mean(together))

    peak = product_flops / min(product_seconds) / 1e9
    achieved = flops["training"] * config.batch_size / step_seconds / 1e9
    return {
        "image_size": list(model.image_size),
        "batch_size": config.batch_size,
        "precision": config.precision,
        "jit_compile": config.jit_compile,
        "augmentation": config.augmentation is not None,
        "training_images": len(split.train),
        "resolution": config.resolution,
        "timed_steps": steps * rounds,
        "pipeline_images_per_second": config.batch_size / pipeline_seconds,
        "step_images_per_second": config.batch_size / step_seconds,
        "together_images_per_second": config.batch_size / together_seconds,
        "step_seconds": step_seconds,
        "together_step_seconds": together_seconds,
        "pipeline_overhead": together_seconds / step_seconds - 1,
        "forward_gflops_per_image": flops["forward"] / 1e9,
        "training_gflops_per_image": flops["training"] / 1e9,
        "achieved_gflops": achieved,
        "matmul_peak_gflops": peak,
        "efficiency": achieved / peak,
    }


def interleaved_step_seconds(configs, batch, steps=5, warmup=2, rounds=3):
    """Mean seconds per training step of each config, timed in turns.

    Each config's model (``training_model``) trains on the same batch held
    in memory; every round times ``steps`` steps of each model in turn, so
    that a change in the machine's load affects every config alike.

    Args:
        configs: ``TrainingConfig``s of the same ``image_size``.
        batch: (images, labels) of one batch of that size.
        steps, warmup, rounds: timed and untimed steps per turn, turns.

    Returns:
        A list of the mean seconds per step, one per config.
    """
    models = []
    for config in configs:
        keras.utils.set_random_seed(config.seed)
        models.append(training_model(config))
    in_memory = tf.data.Dataset.from_tensors(batch).repeat()
    times = [[] for _ in configs]
    for _ in range(rounds):
        for model, model_times in zip(models, times):
            model_times += _step_seconds(model, in_memory, steps, warmup)
    return [float(np.mean(model_times)) for model_times in times]


def training_flops(model):
    """FLOPs of one image: ``forward`` and ``training`` (forward and backward).

    See the module docstring for the counting rule. For the paper's network
    at 299x299 the trainable head is 3/4 of the forward FLOPs.
    """
    forward = count_flops(model)
    trainable_forward = forward if model.train_backbone else forward - count_flops(model.backbone)
    # The backbone is one flat Functional model, and so is the rest.
    first_conv = next(
        layer for layer in (model.backbone if model.train_backbone else model).layers
        if isinstance(layer, keras.layers.Conv2D) and layer.trainable_weights
    )
    first_conv_forward = count_flops(keras.Model(first_conv.input, first_conv.output))
    return {"forward": forward, "training": forward + 2 * trainable_forward - first_conv_forward}


def format_throughput(result):
    """The result of ``measure_training_throughput`` as text."""
    height, width = result["image_size"]
    return "\n".join([
        f"Training throughput at {height}x{width}, batch {result['batch_size']}, "
        f"{result['precision']}, XLA {'on' if result['jit_compile'] else 'off'}, "
        f"augmentation {'on' if result['augmentation'] else 'off'}, "
        f"{result['training_images']} training images ({result['resolution'] or 'the only image folder'}):",
        f"  input pipeline alone  {result['pipeline_images_per_second']:9.1f} images/s",
        f"  training step alone   {result['step_images_per_second']:9.1f} images/s "
        f"({result['step_seconds']:.3f} s per step)",
        f"  together              {result['together_images_per_second']:9.1f} images/s "
        f"({result['together_step_seconds']:.3f} s per step)",
        f"  pipeline overhead     {100 * result['pipeline_overhead']:9.1f} % of the step's time",
        f"  GFLOPs per image      {result['training_gflops_per_image']:9.2f} to train "
        f"({result['forward_gflops_per_image']:.2f} forward)",
        f"  achieved              {result['achieved_gflops']:9.1f} GFLOP/s, "
        f"{100 * result['efficiency']:.1f} % of the float32 matmul peak "
        f"({result['matmul_peak_gflops']:.1f} GFLOP/s)",
    ])


def _seconds_per_batch(dataset, steps, warmup):
    """Mean seconds per batch of iterating ``dataset`` after ``warmup`` batches."""
    batches = iter(dataset)
    for _ in range(warmup):
        next(batches)
    start = time.perf_counter()
    for _ in range(steps):
        next(batches)
    return (time.perf_counter() - start) / steps


def _step_seconds(model, dataset, steps, warmup):
    """Seconds of each ``fit`` step on ``dataset`` after ``warmup`` steps."""
    timer = _StepTimer(warmup)
    model.fit(
        dataset, epochs=1, steps_per_epoch=warmup + steps, callbacks=[timer], shuffle=False, verbose=0
    )
    return np.diff(timer.times).tolist()


class _StepTimer(keras.callbacks.Callback):
    """The time at the end of the last warm-up step and of every later one."""

    def __init__(self, warmup):
        super().__init__()
        self.warmup = warmup
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        if batch >= self.warmup - 1:
            self.times.append(time.perf_counter())
