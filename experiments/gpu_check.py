"""A GPU check that needs nothing but Keras, JAX and NumPy, in under 5 minutes.

    KERAS_BACKEND=jax python experiments/gpu_check.py [--image-size 299]
        [--inference-batches 1,32,256] [--training-batches 32,256]
        [--precisions float32,bfloat16] [--repeats 20] [--steps 10] [--budget-s 240]

For a GPU server with JAX and CUDA but no TensorFlow (and no network): copy
this repository and Keras' wheel over (docs/training.md), then run the line
above. On random in-memory images of ``--image-size`` (no data set, no
tf.data, no TensorFlow anywhere on the way) it measures MultiTypeFCDD
(K = 8, random weights):

- inference, milliseconds per image: the network's forward pass (heatmaps,
  Eq. 1) at each inference batch, the median over ``--repeats`` calls after
  a compiling one;
- training, images per second: the whole step (forward, Eq. 3's loss,
  gradients of the head, Adam), frozen backbone, at each training batch,
  ``--steps`` steps dispatched back to back after a compiling one;

in each precision: ``float32``, and ``bfloat16`` (Keras' ``mixed_bfloat16``:
float32 weights, bfloat16 computation, float32 projection, heatmaps and
loss, as ``mtfcdd train --precision mixed_bfloat16``). Each step is one
``jax.jit`` of Keras' stateless calls.

It prints one JSON line: ``inference_ms_per_image[precision][batch]``,
``training_images_per_second[precision][batch]``, ``first_call_seconds``
(compilation included), ``skipped`` (what the time budget left out),
``devices``, versions, ``tensorflow_imported`` (false) and
``total_seconds``. A measurement starts only if the time spent so far plus
twice the longest one yet (the first includes building the model) fits in
``--budget-s``, so the whole check ends within it; the defaults fit one H200-class GPU (docs/training.md has the
numbers expected from the FLOPs and the GPU's peak).
"""

import argparse
import json
import os
import statistics
import sys
import time

START = time.perf_counter()
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.environ.setdefault("KERAS_BACKEND", "jax") != "jax":
    sys.exit(f"gpu_check: needs KERAS_BACKEND=jax; got {os.environ['KERAS_BACKEND']!r}.")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from mtfcdd.model.multi_type_loss import MultiTypeFCDDLoss  # noqa: E402
from mtfcdd.model.network import MultiTypeFCDD  # noqa: E402
from mtfcdd.training.precision import dtype_policy, training_optimizer  # noqa: E402

# The name of each precision here -> Keras' dtype policy for it.
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image-size", type=int, default=299, help="model input side (default: 299)")
    parser.add_argument(
        "--inference-batches", type=_sizes, default=(1, 32, 256),
        help="comma-separated inference batch sizes (default: 1,32,256)",
    )
    parser.add_argument(
        "--training-batches", type=_sizes, default=(32, 256),
        help="comma-separated training batch sizes (default: 32,256)",
    )
    parser.add_argument(
        "--precisions", type=_precisions, default=tuple(POLICIES),
        help="comma-separated precisions: float32, bfloat16 (default: both)",
    )
    parser.add_argument("--repeats", type=int, default=20, help="timed inference calls (default: 20)")
    parser.add_argument("--steps", type=int, default=10, help="timed training steps (default: 10)")
    parser.add_argument(
        "--budget-s", type=float, default=240.0,
        help="seconds the whole check may take; measurements that would not fit are skipped "
        "(default: 240)",
    )
    return parser.parse_args(argv)


def build_model(precision, image_size):
    """MultiTypeFCDD with random weights under the precision's dtype policy.

    (Unseeded: ``keras.utils.set_random_seed`` would import TensorFlow
    wherever it is installed.)
    """
    with dtype_policy(POLICIES[precision]):
        return MultiTypeFCDD(num_types=8, image_size=image_size, backbone_weights=None)


def random_batch(batch_size, image_size, seed=0):
    """Images (values 0..255) and one-hot type labels, on the default device."""
    generator = np.random.default_rng(seed)
    images = generator.uniform(0, 255, (batch_size, image_size, image_size, 3)).astype("float32")
    labels = np.eye(9, 8, k=-1, dtype="float32")[generator.integers(0, 9, batch_size)]
    return jax.device_put(images), jax.device_put(labels)


def inference_ms_per_image(model, batch_size, repeats):
    """(median ms per image, seconds of the first, compiling call)."""
    images, _ = random_batch(batch_size, model.image_size[0])
    variables = (
        [variable.value for variable in model.trainable_variables],
        [variable.value for variable in model.non_trainable_variables],
    )

    @jax.jit
    def forward(trainable, non_trainable, inputs):
        heatmaps, _ = model.stateless_call(trainable, non_trainable, inputs, training=False)
        return heatmaps

    first = _seconds(lambda: forward(*variables, images).block_until_ready())
    times = [_seconds(lambda: forward(*variables, images).block_until_ready()) for _ in range(repeats)]
    return statistics.median(times) * 1e3 / batch_size, first


def training_images_per_second(model, precision, batch_size, steps):
    """(images per second of the training step, seconds of the first step)."""
    images, labels = random_batch(batch_size, model.image_size[0])
    loss_function = MultiTypeFCDDLoss()
    optimizer = training_optimizer(POLICIES[precision], 1e-4)
    optimizer.build(model.trainable_variables)

    def loss_and_state(trainable, non_trainable, inputs, targets):
        heatmaps, non_trainable = model.stateless_call(trainable, non_trainable, inputs, training=True)
        return loss_function(targets, heatmaps), non_trainable

    gradient = jax.value_and_grad(loss_and_state, has_aux=True)

    @jax.jit
    def train_step(state, inputs, targets):
        trainable, non_trainable, optimizer_variables = state
        (loss, non_trainable), gradients = gradient(trainable, non_trainable, inputs, targets)
        trainable, optimizer_variables = optimizer.stateless_apply(
            optimizer_variables, gradients, trainable
        )
        return loss, (trainable, non_trainable, optimizer_variables)

    state = (
        [variable.value for variable in model.trainable_variables],
        [variable.value for variable in model.non_trainable_variables],
        [variable.value for variable in optimizer.variables],
    )
    first_start = time.perf_counter()
    loss, state = train_step(state, images, labels)
    loss.block_until_ready()
    first = time.perf_counter() - first_start
    start = time.perf_counter()
    for _ in range(steps):
        loss, state = train_step(state, images, labels)
    loss.block_until_ready()
    if not np.isfinite(float(loss)):
        raise FloatingPointError(f"training loss {float(loss)} at {precision}, batch {batch_size}")
    return steps * batch_size / (time.perf_counter() - start), first


def run_check(arguments):
    """Every measurement that fits in the time budget, as one dict."""
    result = {
        "image_size": arguments.image_size,
        "inference_ms_per_image": {},
        "training_images_per_second": {},
        "first_call_seconds": {},
        "skipped": [],
    }
    longest = 0.0
    for precision in arguments.precisions:
        model = None  # built for the first measurement that fits
        measurements = [("inference_ms_per_image", batch) for batch in arguments.inference_batches]
        measurements += [("training_images_per_second", batch) for batch in arguments.training_batches]
        for kind, batch in measurements:
            name = f"{kind}/{precision}/{batch}"
            if time.perf_counter() - START + 2 * longest > arguments.budget_s:
                result["skipped"].append(name)
                continue
            started = time.perf_counter()
            if model is None:
                model = build_model(precision, arguments.image_size)
            if kind == "inference_ms_per_image":
                value, first = inference_ms_per_image(model, batch, arguments.repeats)
            else:
                value, first = training_images_per_second(model, precision, batch, arguments.steps)
            longest = max(longest, time.perf_counter() - started)
            result[kind].setdefault(precision, {})[str(batch)] = round(value, 4)
            result["first_call_seconds"][name] = round(first, 2)
    result.update(
        devices=[f"{device.platform}:{device.device_kind}" for device in jax.devices()],
        keras=keras.__version__,
        jax=jax.__version__,
        tensorflow_imported="tensorflow" in sys.modules,
        total_seconds=round(time.perf_counter() - START, 1),
    )
    return result


def _sizes(value):
    sizes = tuple(int(size) for size in value.split(",") if size.strip())
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes like 1,32,256; got {value!r}")
    return sizes


def _precisions(value):
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown = set(names) - set(POLICIES)
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"precisions must be among {', '.join(POLICIES)}; got {value!r}")
    return names


def _seconds(run):
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main(argv=None):
    print(json.dumps(run_check(parse_arguments(argv))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
