"""The shipped offline backbone: it loads, has the right shapes, and learns."""

import json
import os

import keras
import numpy as np
import pytest

from mtfcdd.data.realiad.reader import load_realiad
from mtfcdd.inference.scoring import predict_scores
from mtfcdd.metrics import auroc
from mtfcdd.model.backbone import SYNTHETIC_WEIGHTS_FILE, build_backbone
from mtfcdd.training.trainer import TrainingConfig, train

pytestmark = [pytest.mark.slow]


def test_shipped_weights_load_with_the_expected_shapes():
    assert os.path.isfile(SYNTHETIC_WEIGHTS_FILE)
    backbone = build_backbone(96, weights="synthetic")
    assert backbone.count_params() == 1_676_000 and not backbone.trainable
    keras.utils.set_random_seed(0)
    random_backbone = build_backbone(96, weights=None)
    for loaded, initial in zip(backbone.weights, random_backbone.weights):
        assert loaded.shape == initial.shape
    # Trained weights, not an initialisation.
    trained = backbone.get_layer("block35_10_conv").kernel.numpy()
    assert not np.allclose(trained, random_backbone.get_layer("block35_10_conv").kernel.numpy())
    record = json.load(open(SYNTHETIC_WEIGHTS_FILE.replace(".weights.h5", ".json")))
    assert "not ImageNet" in record["what"] and record["data"]["seed"] != 0


def any_defect_auroc(data_root, output_dir, backbone_weights):
    config = TrainingConfig(
        alpha=0.4, multi_class=True, image_size=96, backbone_weights=backbone_weights,
        batch_size=16, learning_rate=1e-3, epochs=1, steps_per_epoch=25, threshold_fraction=0,
    )
    model = train(data_root, output_dir, config, verbose=0)
    labels, scores = predict_scores(
        keras.saving.load_model(model.model_path), load_realiad(data_root, 0.4, num_types=1).test
    )
    return auroc(labels[:, 0], scores[:, 0])


def test_shipped_weights_learn_better_than_chance(tiny_dataset, tmp_path):
    value = any_defect_auroc(tiny_dataset, tmp_path / "synthetic", "synthetic")
    # Chance is 0.5; 25 steps of the head on the shipped backbone reach about 0.75.
    assert value > 0.65, value
