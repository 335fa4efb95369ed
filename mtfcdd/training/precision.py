"""Mixed precision in training (``TrainingConfig.precision``) and inference.

Under ``"mixed_bfloat16"`` or ``"mixed_float16"`` the backbone and the head
compute in bfloat16 or float16 and keep float32 variables (Keras' mixed
precision). What is fragile stays float32 whatever the policy (see
``mtfcdd.model.network.MultiTypeFCDD``): the 1x1 type projection phi, the
pseudo-Huber output A_k (Eq. 1: its square overflows float16, and in
bfloat16 it rounds most small heatmap values to exactly zero), so the scores
s_k (Eq. 2) and the loss (Eq. 3, whose ``log(1 - exp(-s))`` needs small
scores resolved) are float32 too. float16 also needs loss scaling, or small
gradients underflow to zero.

A layer takes Keras' global dtype policy when it is built, and a saved
model is rebuilt from its config, so the policy is set around building the
training model and around loading its checkpoint (``dtype_policy``): a
float16 checkpoint loaded under float32 would silently drop Adam's state.

A trained model is saved in float32. ``model_in_precision`` rebuilds it
under another policy with the same weights, which is how ``predict``,
``evaluate``, ``serve`` and ``benchmark`` run it in bfloat16 with
``--precision mixed_bfloat16`` (CPUs with AVX512-BF16 or AMX, GPUs from
Ampere on): the heatmaps come out float32, so the scores and thresholds,
computed from them in NumPy (``mtfcdd.inference.postprocessor``), are
float32 too.
"""

import contextlib

import keras

from mtfcdd.model.network import rebuilt_model


@contextlib.contextmanager
def dtype_policy(precision):
    """Keras' global dtype policy set to ``precision`` inside the block,
    restored after it."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def model_in_precision(model, precision):
    """A copy of ``model`` (a ``MultiTypeFCDD``) that computes under the
    dtype policy ``precision``, with the same (float32) weights; no
    optimizer, outside any distribution strategy."""
    with dtype_policy(precision):
        return rebuilt_model(model, dtype=precision)


def training_optimizer(precision, learning_rate, epsilon=1e-7):
    """Adam (paper 4.3), with dynamic loss scaling under ``"mixed_float16"``;
    ``epsilon`` 1e-7 is Keras' default, 1e-8 PyTorch's."""
    optimizer = keras.optimizers.Adam(learning_rate, epsilon=epsilon)
    if precision == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
