"""The paper and authors presets: the network, the command line, the record."""

import json

import keras
import numpy as np
import pytest

import mtfcdd
from mtfcdd.cli import main
from mtfcdd.data.sample_batches import resize_bicubic_positive, resize_nearest
from mtfcdd.evaluation.presets import evaluation_settings
from mtfcdd.model.multi_type_loss import MultiTypeFCDDLoss
from mtfcdd.training.config import TRAINING_PRESETS, TrainingConfig

AUTHORS_NETWORK = {
    "input_scaling": "unit", "backbone_batchnorm": "batch-statistics", "head_batchnorm": "pytorch",
    "initializer": "kaiming",
}


def backbone_batchnorm(model):
    return next(layer for layer in model.backbone.layers if isinstance(layer, keras.layers.BatchNormalization))


def fit_one_step(model):
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=MultiTypeFCDDLoss())
    images = np.random.default_rng(0).uniform(0, 255, (4, 75, 75, 3)).astype("float32")
    model.fit(images, np.eye(8, dtype="float32")[:4], epochs=1, batch_size=4, verbose=0)
    return images


@pytest.mark.slow
def test_authors_network_updates_backbone_statistics_only_and_round_trips(tmp_path):
    model = mtfcdd.MultiTypeFCDD(8, 75, backbone_weights=None, **AUTHORS_NETWORK)
    paper = mtfcdd.MultiTypeFCDD(8, 75, backbone_weights=None)
    # Only the head trains in both: the backbone's BatchNorm offsets stay out.
    assert len(model.trainable_variables) == len(paper.trainable_variables) == 10
    head_bn = model.get_layer("head_bn1")
    assert (head_bn.momentum, head_bn.epsilon) == (0.9, 1e-5)
    kernel = keras.ops.convert_to_numpy(model.get_layer("type_projection").kernel)
    bias = keras.ops.convert_to_numpy(model.get_layer("head_conv1").bias)
    assert np.abs(kernel).max() <= 1 / np.sqrt(512) and np.abs(bias).max() <= 1 / np.sqrt(320 * 9)
    assert np.abs(bias).max() > 0  # PyTorch's random bias, not Keras' zeros
    for network in (model, paper):
        batchnorm = backbone_batchnorm(network)
        mean, beta = (keras.ops.convert_to_numpy(v).copy() for v in (batchnorm.moving_mean, batchnorm.beta))
        first_kernel = keras.ops.convert_to_numpy(network.backbone.layers[1].kernel).copy()
        images = fit_one_step(network)
        moved = np.abs(keras.ops.convert_to_numpy(batchnorm.moving_mean) - mean).max()
        assert (moved > 0) == (network is model)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(batchnorm.beta), beta)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(network.backbone.layers[1].kernel), first_kernel)
    model.save(tmp_path / "authors.keras")
    restored = keras.saving.load_model(tmp_path / "authors.keras")
    assert {name: getattr(restored, name) for name in AUTHORS_NETWORK} == AUTHORS_NETWORK
    assert len(restored.trainable_variables) == 10
    np.testing.assert_allclose(restored.predict(images, verbose=0), model.predict(images, verbose=0), rtol=1e-6)
    # [0, 1] input: x / 255 goes into the backbone.
    preprocessing = restored.get_layer("preprocessing")
    assert (preprocessing.scale, preprocessing.offset) == pytest.approx((1 / 255, 0.0))


def test_presets_reject_unknown_names_and_conflicts():
    assert TrainingConfig.from_preset("paper") == TrainingConfig()
    authors = TrainingConfig.from_preset("authors", batch_size=8)
    assert (authors.preset, authors.batch_size, authors.seed) == ("authors", 8, 42)
    assert TrainingConfig.from_dict(json.loads(json.dumps(authors.to_dict()))) == authors
    with pytest.raises(ValueError, match="preset must be one of"):
        TrainingConfig.from_preset("pytorch")
    with pytest.raises(ValueError, match="initializer must be one of"):
        TrainingConfig(initializer="he")
    with pytest.raises(ValueError, match="needs train_backbone=False"):
        mtfcdd.MultiTypeFCDD(8, 75, backbone_weights=None, train_backbone=True, backbone_batchnorm="batch-statistics")
    with pytest.raises(ValueError, match="aupro must be one of"):
        evaluation_settings("authors", aupro="mvtec")


def test_bicubic_mask_resizing_grows_the_mask():
    """1x4 mask 0 1 1 0 to 1x8. Nearest (half-pixel centres) takes source
    pixels 0 0 1 1 2 2 3 3: 0 0 1 1 1 1 0 0. Bicubic samples the source at
    x = (i + 0.5) / 2 - 0.5: at x = 0.25 the step's value is w(0.75) +
    w(1.75) = 0.262 - 0.035 > 0 (OpenCV's a = -0.75), at x = -0.25 only
    w(1.25) = -0.105 reaches a 1: 0 1 1 1 1 1 1 0, a pixel more each side."""
    mask = np.array([[0, 1, 1, 0]], np.uint8)
    np.testing.assert_array_equal(resize_nearest(mask, (1, 8)), [[0, 0, 1, 1, 1, 1, 0, 0]])
    np.testing.assert_array_equal(resize_bicubic_positive(mask, (1, 8)), [[0, 1, 1, 1, 1, 1, 1, 0]])


@pytest.mark.slow
def test_cli_train_and_evaluate_with_authors_preset(tiny_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    # A batch of 4, not the preset's 256: the step takes seconds, and the
    # batch size is one more option given beside the preset.
    assert main(["train", "--data", tiny_dataset, "--out", str(run), "--preset", "authors", "--image-size", "75",
                 "--epochs", "1", "--steps-per-epoch", "1", "--backbone-weights", "none", "--batch-size", "4"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["preset"] == "authors"
    assert TRAINING_PRESETS["authors"]["batch_size"] == 256
    for name, value in TRAINING_PRESETS["authors"].items():
        if name != "batch_size":
            assert config[name] == value, name  # seed 42, Adam eps 1e-8, ...
    # The options given beside the preset, and only those, change it.
    assert (config["image_size"], config["epochs"], config["batch_size"], config["learning_rate"]) == (75, 1, 4, 1e-4)
    model = keras.saving.load_model(run / "model.keras")
    assert {name: getattr(model, name) for name in AUTHORS_NETWORK} == AUTHORS_NETWORK
    assert model.score_reduction == "max"
    capsys.readouterr()
    assert main(["evaluate", str(run / "model.keras"), "--data", tiny_dataset, "--preset", "authors",
                 "--json"]) == 0
    settings = json.loads(capsys.readouterr().out)["settings"]
    assert {name: settings[name] for name in ("preset", "score_reduction", "pixel_protocol", "aupro", "mask_resizing")} == {
        "preset": "authors", "score_reduction": "max", "pixel_protocol": "authors", "aupro": "authors",
        "mask_resizing": "bicubic",
    }
    # An option given beside the preset changes that setting alone.
    assert main(["evaluate", str(run / "model.keras"), "--data", tiny_dataset, "--preset", "authors",
                 "--aupro", "exact", "--reduction", "mean", "--json"]) == 0
    settings = json.loads(capsys.readouterr().out)["settings"]
    assert (settings["aupro"], settings["score_reduction"], settings["pixel_protocol"]) == ("exact", "mean", "authors")
