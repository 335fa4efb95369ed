"""Eq. 3: the multi-type loss against a float64 NumPy reference."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtfcdd import MultiTypeFCDDLoss
from mtfcdd.model.multi_type_loss import MultiTypePixelLoss


def reference_loss(labels, heatmaps):
    """Eq. 3 in float64, written directly from the paper's formula."""
    scores = heatmaps.astype(np.float64).mean(axis=(1, 2))
    labels = labels.astype(np.float64)
    per_image = ((1 - labels) * scores - labels * np.log(1 - np.exp(-scores))).sum(axis=1)
    return per_image.mean()


def random_case(seed, batch=6, size=5, types=8, scale=1.0):
    rng = np.random.default_rng(seed)
    heatmaps = rng.exponential(scale, (batch, size, size, types)).astype("float32")
    labels = np.zeros((batch, types), "float32")
    for row in range(1, batch):  # row 0 stays normal
        labels[row, rng.integers(types)] = 1
    return labels, heatmaps


@pytest.mark.parametrize("seed, scale", [(0, 1.0), (1, 0.05), (2, 20.0), (3, 3.0)])
def test_matches_numpy_reference(seed, scale):
    labels, heatmaps = random_case(seed, scale=scale)
    value = float(MultiTypeFCDDLoss()(labels, heatmaps))
    np.testing.assert_allclose(value, reference_loss(labels, heatmaps), rtol=1e-5)


def test_normal_image_loss_is_sum_of_scores():
    heatmaps = np.full((1, 4, 4, 3), 0.5, "float32")
    heatmaps[0, :2, :, 1] = 1.5  # mean of channel 1 is 1.0
    value = float(MultiTypeFCDDLoss()(np.zeros((1, 3)), heatmaps))
    np.testing.assert_allclose(value, 0.5 + 1.0 + 0.5, rtol=1e-6)


def test_batch_reduction_is_mean_over_images():
    labels, heatmaps = random_case(4, batch=4)
    per_image = MultiTypeFCDDLoss(reduction=None)(labels, heatmaps)
    assert per_image.shape == (4,)
    np.testing.assert_allclose(np.mean(per_image), float(MultiTypeFCDDLoss()(labels, heatmaps)), rtol=1e-6)


@pytest.mark.parametrize("score", [0.0, 1e-9, 1e-6, 1e-3, 1.0, 50.0, 1e4])
def test_value_and_gradient_finite_over_score_range(score):
    heatmaps = tf.Variable(np.full((2, 3, 3, 2), score, "float32"))
    labels = np.array([[1, 0], [0, 1]], "float32")
    with tf.GradientTape() as tape:
        value = MultiTypeFCDDLoss()(labels, heatmaps)
    gradient = tape.gradient(value, heatmaps).numpy()
    assert np.isfinite(float(value))
    assert np.all(np.isfinite(gradient))
    # The normal term always pulls the other channel down; the anomalous term
    # pushes its own channel up, even from zero, until exp(-s) underflows.
    assert gradient[0, :, :, 1].min() > 0
    assert gradient[0, :, :, 0].max() < 0 if score <= 50 else gradient[0, :, :, 0].max() <= 0


def test_anomalous_term_stays_accurate_for_small_scores():
    labels = np.ones((1, 1), "float32")
    heatmaps = np.full((1, 2, 2, 1), 1e-4, "float32")
    np.testing.assert_allclose(float(MultiTypeFCDDLoss()(labels, heatmaps)), -np.log(-np.expm1(-1e-4)), rtol=1e-5)


def test_invalid_labels_raise():
    heatmaps = np.ones((2, 3, 3, 8), "float32")
    with pytest.raises(ValueError, match="0 or 1"):
        MultiTypeFCDDLoss()(np.full((2, 8), 0.5), heatmaps)
    with pytest.raises(ValueError, match="shape"):
        MultiTypeFCDDLoss()(np.zeros((2, 8, 1)), heatmaps)
    with pytest.raises(ValueError, match="8 channels"):
        MultiTypeFCDDLoss()(np.zeros((2, 3)), heatmaps)
    with pytest.raises(ValueError, match="epsilon"):
        MultiTypeFCDDLoss(epsilon=0)


def test_serialization_round_trip():
    loss = MultiTypeFCDDLoss(epsilon=1e-5, name="custom")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(restored, MultiTypeFCDDLoss)
    assert restored.epsilon == 1e-5 and restored.name == "custom"


def test_pixel_loss_is_eq3_per_cell():
    rng = np.random.default_rng(5)
    heatmaps = rng.exponential(1.0, (3, 4, 5, 2)).astype("float32")
    masks = np.zeros_like(heatmaps)
    masks[1, :2, :3, 0] = 1.0
    masks[2, 1, 1, 1] = 0.25  # a cell partly covered by a defect
    cells = heatmaps.astype(np.float64)
    terms = (1 - masks) * cells - masks * np.log(1 - np.exp(-cells))
    expected = terms.mean(axis=(1, 2)).sum(axis=-1).mean()
    np.testing.assert_allclose(float(MultiTypePixelLoss()(masks, heatmaps)), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="heatmap grid"):
        MultiTypePixelLoss()(masks[:, :3], heatmaps)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(MultiTypePixelLoss()))
    assert isinstance(restored, MultiTypePixelLoss)
