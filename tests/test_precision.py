"""Mixed precision and XLA in training: dtypes, loss scaling, resume, config."""

import json

import keras
import numpy as np
import pytest

from mtfcdd.cli import build_parser
from mtfcdd.cli.options import training_config
from mtfcdd.model.multi_type_loss import MultiTypeFCDDLoss
from mtfcdd.model.saving import load_trained_model
from mtfcdd.training import trainer
from mtfcdd.training.config import TrainingConfig

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("precision")]

SMALL = dict(image_size=75, backbone_weights=None, batch_size=4, learning_rate=1e-3, threshold_fraction=0)


@pytest.fixture(scope="module")
def batch():
    images = np.random.default_rng(0).uniform(0, 255, (4, 75, 75, 3)).astype("float32")
    labels = np.zeros((4, 8), "float32")
    labels[1, 3] = labels[2, 0] = 1
    return images, labels


def trained_losses(config, batch, steps=2):
    """The model ``train`` would start from, after ``steps`` steps on ``batch``."""
    keras.utils.set_random_seed(config.seed)
    model = trainer.training_model(config)
    losses = [float(model.train_on_batch(*batch)) for _ in range(steps)]
    return model, losses


@pytest.fixture(scope="module")
def float32_run(batch):
    return trained_losses(TrainingConfig(**SMALL), batch)


def compute_dtypes(model):
    return {
        name: model.get_layer(name).compute_dtype
        for name in ("preprocessing", "head_conv1", "head_bn1", "type_projection", "heatmaps")
    } | {"backbone": next(
        layer.compute_dtype for layer in model.backbone.layers if isinstance(layer, keras.layers.Conv2D)
    )}


def test_mixed_bfloat16_keeps_the_projection_heatmaps_and_loss_float32(batch, float32_run):
    float32_model, float32_losses = float32_run
    model, losses = trained_losses(TrainingConfig(precision="mixed_bfloat16", **SMALL), batch, steps=1)
    assert compute_dtypes(model) == {
        "preprocessing": "bfloat16", "backbone": "bfloat16", "head_conv1": "bfloat16",
        "head_bn1": "bfloat16", "type_projection": "float32", "heatmaps": "float32",
    }
    assert {weight.dtype for weight in model.weights} == {"float32"}
    assert keras.config.dtype_policy().name == "float32"  # restored after building
    heatmaps = model(batch[0], training=False)
    assert keras.backend.standardize_dtype(heatmaps.dtype) == "float32"
    # bfloat16 keeps 8 bits of mantissa: the first loss agrees to ~1e-3.
    assert losses[0] == pytest.approx(float32_losses[0], rel=2e-2)
    # A bfloat16 pseudo-Huber would round most of them to exactly zero.
    assert np.mean(keras.ops.convert_to_numpy(heatmaps) == 0) < 0.01


def test_jit_compile_trains_like_float32(batch, float32_run):
    model, jit_losses = trained_losses(TrainingConfig(jit_compile=True, **SMALL), batch)
    assert model.jit_compile is True
    assert jit_losses == pytest.approx(float32_run[1], rel=1e-4)


def test_mixed_float16_scales_the_loss_and_resumes_its_optimizer(tiny_dataset, tmp_path):
    config = TrainingConfig(precision="mixed_float16", epochs=1, steps_per_epoch=1, **SMALL)
    result = trainer.train(tiny_dataset, tmp_path / "run", config, verbose=0)
    assert np.all(np.isfinite(result.history["loss"]))
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (saved["precision"], saved["jit_compile"]) == ("mixed_float16", False)
    # What resume starts from: the checkpoint loaded under the run's policy
    # (under float32, Keras would skip Adam's state with a mere warning).
    resumed = trainer._model_to_train(tmp_path / "run", config, result.data.type_codes, resume=True)
    assert isinstance(resumed.optimizer, keras.optimizers.LossScaleOptimizer)
    assert int(resumed.optimizer.iterations) == 1
    assert resumed.get_layer("head_conv1").compute_dtype == "float16"
    assert keras.config.dtype_policy().name == "float32"
    # The saved model is float32, ready for export, with its thresholds.
    model = load_trained_model(result.model_path)
    assert {layer.compute_dtype for layer in model.layers if layer.weights} == {"float32"}
    assert model.thresholds == pytest.approx(result.thresholds)


def test_loss_of_float16_heatmaps_is_float32():
    heatmaps = keras.ops.full((2, 3, 3, 8), 1e-4, dtype="float16")
    loss = MultiTypeFCDDLoss()(np.eye(2, 8, dtype="float32"), heatmaps)
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"
    # s = 1e-4 (float16 keeps it to 0.03 %): L = (1/2) [2 * (-log(1 - exp(-s))) + 14 s].
    scores = np.float32(np.float16(1e-4))
    expected = (2 * -np.log(-np.expm1(-scores)) + 14 * scores) / 2
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_options_and_errors():
    parser = build_parser()
    arguments = parser.parse_args(["train", "--data", "d", "--out", "o", "--jit-compile",
                                   "--precision", "mixed_bfloat16"])
    config = training_config(arguments)
    assert (config.jit_compile, config.precision) == (True, "mixed_bfloat16")
    defaults = training_config(parser.parse_args(["train", "--data", "d", "--out", "o"]))
    assert (defaults.jit_compile, defaults.precision) == (False, "float32")
    with pytest.raises(ValueError, match="precision"):
        TrainingConfig(precision="float16")
    with pytest.raises(ValueError, match="strategy='default'"):
        TrainingConfig(jit_compile=True, strategy="multi-worker")
    # A config.json written before these fields existed resumes with their defaults.
    legacy = TrainingConfig().to_dict()
    del legacy["precision"], legacy["jit_compile"]
    assert TrainingConfig.from_dict(legacy) == TrainingConfig()
