"""Eq. 1 and 2 in keras.ops and NumPy: the pseudo-Huber layer, image scores, and upsampling."""

import keras
import numpy as np
import pytest

from mtfcdd import PseudoHuber, anomaly_scores, upsample_heatmaps
from mtfcdd.inference.postprocessing import image_scores, pseudo_huber


def float32_magnitudes():
    """Four values per power of two from the smallest subnormal float32 to the largest float32."""
    powers = np.arange(-149, 128, 0.25)
    return np.concatenate([2.0 ** powers, [np.finfo(np.float32).max]]).astype("float32")


def test_pseudo_huber_matches_eq1_over_the_float32_range_in_keras_and_numpy():
    # Small |phi| is where sqrt(phi^2 + 1) - 1 cancels to 0 in float32 (4.6 % low at
    # 1e-3, 0 at 1e-4), large |phi| where phi^2 overflows.
    magnitudes = float32_magnitudes()
    values = np.concatenate([-magnitudes, [0.0], magnitudes]).astype("float32")
    wide = values.astype(np.float64)
    exact = wide ** 2 / (np.sqrt(wide ** 2 + 1) + 1)  # Eq. 1 in float64, no cancellation
    # Below the smallest normal float32 a CPU may flush results to zero.
    tolerance = {"rtol": 1e-6, "atol": np.finfo(np.float32).tiny}
    keras_values = np.asarray(PseudoHuber()(values))
    numpy_values = pseudo_huber(values)
    assert keras_values.dtype == numpy_values.dtype == np.float32
    np.testing.assert_allclose(numpy_values, exact, **tolerance)
    np.testing.assert_allclose(keras_values, exact, **tolerance)
    small = np.abs(values) < 1e-3
    assert (numpy_values[small & (np.abs(values) > 1e-19)] > 0).all()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(PseudoHuber(name="ph")))
    assert isinstance(restored, PseudoHuber) and restored.name == "ph"


def test_pseudo_huber_gradient_is_finite_and_matches_eq1_over_the_float32_range():
    import tensorflow as tf

    magnitudes = float32_magnitudes()[::8]
    values = tf.constant(np.concatenate([-magnitudes, [0.0], magnitudes]).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(values)
        heatmaps = pseudo_huber(values, ops=keras.ops)
    gradient = tape.gradient(heatmaps, values).numpy()
    wide = values.numpy().astype(np.float64)
    np.testing.assert_allclose(gradient, wide / np.sqrt(wide ** 2 + 1), rtol=1e-5, atol=np.finfo(np.float32).tiny)


@pytest.mark.parametrize("reduction", ["mean", "max"])
def test_scores_in_keras_and_numpy_agree_over_the_float32_range(reduction):
    # Maps of every decade a pseudo-Huber heatmap can hold, from subnormal
    # values to 1e36 (a 7x5 map of larger values overflows the mean's sum).
    rng = np.random.default_rng(2)
    decades = 10.0 ** np.arange(-44, 37)
    heatmaps = (decades[:, None, None, None] * rng.uniform(0.5, 1.5, (len(decades), 7, 5, 3))).astype("float32")
    wide = heatmaps.astype(np.float64)
    exact = wide.mean(axis=(1, 2)) if reduction == "mean" else wide.max(axis=(1, 2))
    tolerance = {"rtol": 1e-6, "atol": np.finfo(np.float32).tiny}
    np.testing.assert_allclose(image_scores(heatmaps, reduction), exact, **tolerance)
    np.testing.assert_allclose(np.asarray(anomaly_scores(heatmaps, reduction)), exact, **tolerance)


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


@pytest.mark.parametrize("size", [(96, 96), (23, 17), (9, 7), (4, 3)])
@pytest.mark.parametrize("num_types", [8, 3, 1])
def test_upsampling_shape_and_values(size, num_types):
    heatmaps = np.random.default_rng(1).uniform(0, 2, (2, 9, 7, num_types)).astype("float32")
    upsampled = np.asarray(upsample_heatmaps(heatmaps, size))
    assert upsampled.shape == (2, *size, num_types)
    for image in range(2):
        for channel in range(num_types):
            np.testing.assert_allclose(
                upsampled[image, :, :, channel],
                bilinear_reference(heatmaps[image, :, :, channel].astype(np.float64), size),
                atol=1e-5,
            )
    constant = np.asarray(upsample_heatmaps(np.full((1, 3, 3, 2), 0.7, "float32"), (9, 9)))
    np.testing.assert_allclose(constant, 0.7, rtol=1e-6)
    with pytest.raises(ValueError, match="size"):
        upsample_heatmaps(heatmaps, (0, 4))
