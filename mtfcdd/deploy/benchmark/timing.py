"""Timing a model: milliseconds per image, and the machine's matmul peak.

Every time is the median over repeated runs after warm-up runs; the peak is
the best of several runs of a large float32 matrix product on the same
device and threads, what the machine reaches on its most favourable kernel.
"""

import statistics
import time

import cv2
import numpy as np
import tensorflow as tf

from mtfcdd.deploy.runner import LiteRTModel


def matmul_gflops(device="cpu", size=2048, repeats=10):
    """float32 GFLOP/s of a ``size`` x ``size`` matrix product, best of runs."""
    with tf.device(f"/{device.upper()}:0"):
        left = tf.random.uniform((size, size), dtype=tf.float32)
        right = tf.random.uniform((size, size), dtype=tf.float32)
        # Summing on the device keeps the copy of the product to the host
        # out of the measurement.
        product_sum = tf.function(lambda a, b: tf.reduce_sum(tf.linalg.matmul(a, b)))
        product_sum(left, right).numpy()
        seconds = min(
            _seconds(lambda: product_sum(left, right).numpy()) for _ in range(repeats)
        )
    return 2 * size**3 / seconds / 1e9


def time_keras(model, batch_size, repeats=10, warmup=2, device="cpu"):
    """Median milliseconds per image of ``model`` in a ``tf.function``."""
    images = smooth_random_images(batch_size, model.image_size).astype(np.float32)
    # With a GPU present, "cpu" reads the weights from GPU memory on each
    # call: ~22 MB, a few ms next to the hundreds of a CPU run.
    with tf.device(f"/{device.upper()}:0"):
        batch = tf.constant(images)
        serve = tf.function(lambda inputs: model(inputs, training=False))
        return _median_ms_per_image(lambda: serve(batch).numpy(), batch_size, repeats, warmup)


def time_litert(model_path, batch_size, repeats=10, warmup=2, threads=None):
    """Median milliseconds per image of a ``.tflite`` file with LiteRT.

    Timed through ``LiteRTModel.heatmaps`` on uint8 images of the model's
    size: what a board does, less decoding and resizing.
    """
    runner = LiteRTModel(model_path, num_threads=threads)
    images = smooth_random_images(batch_size, runner.image_size)
    return _median_ms_per_image(lambda: runner.heatmaps(images), batch_size, repeats, warmup)


def smooth_random_images(count, size, seed=0):
    """uint8 RGB images (count, height, width, 3) of smooth random colour."""
    generator = np.random.default_rng(seed)
    height, width = size
    images = [
        cv2.resize(
            generator.uniform(0, 255, (8, 8, 3)).astype(np.float32),
            (width, height),
            interpolation=cv2.INTER_CUBIC,
        )
        for _ in range(count)
    ]
    return np.clip(np.stack(images), 0, 255).round().astype(np.uint8)


def set_tensorflow_threads(threads):
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer; got {threads!r}.")
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError as error:
        raise ValueError(
            f"TensorFlow has already started, so it keeps its threads: set "
            f"threads={threads} before running any model ({error})."
        ) from error


def _median_ms_per_image(run, batch_size, repeats, warmup):
    for _ in range(warmup):
        run()
    return statistics.median(_seconds(run) for _ in range(repeats)) * 1e3 / batch_size


def _seconds(run):
    start = time.perf_counter()
    run()
    return time.perf_counter() - start
