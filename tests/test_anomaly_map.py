"""Eq. 1 and 2: the pseudo-Huber layer, image scores and upsampling."""

import keras
import numpy as np
import pytest

from mtfcdd import PseudoHuber, anomaly_scores, upsample_heatmaps


def test_pseudo_huber_matches_eq1_over_the_float32_range_and_serializes():
    # Every decade from the smallest normal float32 to 1e18, both signs:
    # small |phi| is where sqrt(phi^2 + 1) - 1 cancels to 0 in float32.
    magnitudes = np.logspace(-18, 18, 145)
    values = np.concatenate([-magnitudes, [0.0], magnitudes]).astype("float32")
    exact = values.astype(np.float64) ** 2 / (np.sqrt(values.astype(np.float64) ** 2 + 1) + 1)
    np.testing.assert_allclose(np.asarray(PseudoHuber()(values)), exact, rtol=1e-6, atol=0)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(PseudoHuber(name="ph")))
    assert isinstance(restored, PseudoHuber) and restored.name == "ph"


def test_scores_mean_and_max_against_numpy():
    heatmaps = np.random.default_rng(0).exponential(1.0, (3, 7, 5, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(anomaly_scores(heatmaps)), heatmaps.mean(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(anomaly_scores(heatmaps, reduction="max")), heatmaps.max(axis=(1, 2)))


def test_scores_reject_bad_input():
    with pytest.raises(ValueError, match="median"):
        anomaly_scores(np.ones((1, 2, 2, 1)), reduction="median")
    with pytest.raises(ValueError, match="shape"):
        anomaly_scores(np.ones((2, 2, 1)))


def bilinear_reference(grid, size):
    """Half-pixel-centre bilinear interpolation of a 2-D grid, in NumPy."""
    def coordinates(out_size, in_size):
        position = np.clip((np.arange(out_size) + 0.5) * in_size / out_size - 0.5, 0, in_size - 1)
        low = np.floor(position).astype(int)
        high = np.minimum(low + 1, in_size - 1)
        return low, high, position - low

    row_low, row_high, row_weight = coordinates(size[0], grid.shape[0])
    col_low, col_high, col_weight = coordinates(size[1], grid.shape[1])
    top = grid[row_low][:, col_low] * (1 - col_weight) + grid[row_low][:, col_high] * col_weight
    bottom = grid[row_high][:, col_low] * (1 - col_weight) + grid[row_high][:, col_high] * col_weight
    return top * (1 - row_weight[:, None]) + bottom * row_weight[:, None]


def test_upsampling_shape_and_values():
    heatmaps = np.random.default_rng(1).uniform(0, 2, (2, 5, 4, 3)).astype("float32")
    upsampled = np.asarray(upsample_heatmaps(heatmaps, (23, 17)))
    assert upsampled.shape == (2, 23, 17, 3)
    for image in range(2):
        for channel in range(3):
            np.testing.assert_allclose(
                upsampled[image, :, :, channel],
                bilinear_reference(heatmaps[image, :, :, channel].astype(np.float64), (23, 17)),
                atol=1e-5,
            )
    constant = np.asarray(upsample_heatmaps(np.full((1, 3, 3, 2), 0.7, "float32"), (9, 9)))
    np.testing.assert_allclose(constant, 0.7, rtol=1e-6)
    with pytest.raises(ValueError, match="size"):
        upsample_heatmaps(heatmaps, (0, 4))
