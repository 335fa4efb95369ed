"""Tests of the tf.data pipeline, the balanced sampler and the augmentation."""

import cv2
import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from mtfcdd.constants import DEFECT_CODES
from mtfcdd.data.augmentation import AUGMENTATION_PRESETS, AugmentationConfig
from mtfcdd.data.augmentation_ops import augment, rotate_and_translate
from mtfcdd.data.balanced_sampler import (
    balanced_index_stream,
    class_counts,
    class_indices,
    reshuffled_stream,
    shuffled_index_stream,
)
from mtfcdd.data.pipeline import pipeline_error_message, training_dataset
from mtfcdd.data.preprocessor import Preprocessor
from mtfcdd.data.sample import Sample

# Images per class: a large normal class, small and absent defect classes.
CLASS_SIZES = {"OK": 40, "AK": 3, "CH": 7, "PS": 1, "YW": 12, "ZW": 5}


def _labels(anomaly_class):
    return tuple(int(code == anomaly_class) for code in DEFECT_CODES)


def _fake_samples(class_sizes):
    """Samples whose paths are never read (for the index streams)."""
    return [
        Sample(f"/none/{name}_{number}.jpg", None, "object", name, _labels(name))
        for name, size in class_sizes.items()
        for number in range(size)
    ]


def _draws(stream, count):
    return np.array([int(index) for index in stream.take(count)])


@pytest.fixture(scope="module")
def image_samples(tmp_path_factory):
    """Seven samples, each a constant-colour PNG of its own colour; every
    other one has a mask whose left half is defect."""
    folder = tmp_path_factory.mktemp("images")
    mask = np.zeros((40, 60), np.uint8)
    mask[:, :30] = 255
    mask_path = str(folder / "mask.png")
    cv2.imwrite(mask_path, mask)
    samples = []
    for number, name in enumerate(("OK", "AK", "OK", "BX", "OK", "HS", "OK")):
        path = str(folder / f"image_{number}.png")
        cv2.imwrite(path, np.full((40, 60, 3), _colour(number), np.uint8))
        has_mask = name != "OK"
        samples.append(
            Sample(path, mask_path if has_mask else None, "object", name, _labels(name))
        )
    return samples


def _colour(number):
    """The BGR colour of image ``number``, as cv2 writes it."""
    return (10 * number, 100 + number, 250 - 20 * number)


def _number_of(image):
    """The image number of a constant-colour RGB image (its blue / 10)."""
    return int(round(float(image[0, 0, 2]) / 10))


def test_class_counts_normal_first_then_defect_code_order():
    samples = _fake_samples({"ZW": 2, "OK": 4, "AK": 1})
    assert list(class_counts(samples).items()) == [("OK", 4), ("AK", 1), ("ZW", 2)]
    assert class_indices(samples) == {"OK": [2, 3, 4, 5], "AK": [6], "ZW": [0, 1]}


def test_own_types_come_after_realiad_classes_and_bad_input_is_rejected():
    # A data set's own types (K + 1 classes) are sampled like Real-IAD's,
    # sorted by name after Real-IAD's fixed ones.
    own = [Sample(f"/none/{name}.jpg", None, "object", name, (0,) * 3) for name in ("dent", "OK", "crack", "OK")]
    assert class_indices(own) == {"OK": [1, 3], "crack": [2], "dent": [0]}
    unnamed = Sample("/none/x.jpg", None, "object", "", (0,) * 8)
    with pytest.raises(ValueError, match="x.jpg.*''"):
        class_counts([unnamed])
    with pytest.raises(ValueError, match="empty"):
        class_counts([])


def test_balanced_class_frequencies_are_uniform():
    samples = _fake_samples(CLASS_SIZES)
    classes = np.array([sample.anomaly_class for sample in samples])
    drawn = classes[_draws(balanced_index_stream(samples, seed=7), 6000)]
    frequencies = [np.sum(drawn == name) for name in CLASS_SIZES]
    # Uniform over the m = 6 classes present, whatever their sizes.
    assert scipy.stats.chisquare(frequencies).pvalue > 1e-4
    assert set(drawn) == set(CLASS_SIZES)


def test_binary_sampling_draws_half_normal_and_defects_in_proportion():
    samples = _fake_samples(CLASS_SIZES)
    assert class_counts(samples, "binary") == {"OK": 40, "defective": 28}
    classes = np.array([sample.anomaly_class for sample in samples])
    drawn = classes[_draws(balanced_index_stream(samples, seed=7, sampling_classes="binary"), 5600)]
    # Binomial(5600, 1/2): sd 37; allow 5 sd.
    assert abs(np.sum(drawn == "OK") - 2800) <= 190
    # The defective images form one class: every 28 defective draws are one
    # pass over them, so each type comes in proportion to its images.
    defects = drawn[drawn != "OK"][: 28 * 50]
    assert {name: np.sum(defects == name) for name in CLASS_SIZES if name != "OK"} == {
        name: 50 * size for name, size in CLASS_SIZES.items() if name != "OK"
    }
    with pytest.raises(ValueError, match="sampling_classes"):
        class_counts(samples, "pairs")


def test_balanced_epoch_draws_every_image_and_reshuffles_each_pass():
    samples = _fake_samples(CLASS_SIZES)
    draws = _draws(balanced_index_stream(samples, seed=3), 1500)
    members = class_indices(samples)
    drawn_per_class = {
        name: [index for index in draws if index in set(indices)]
        for name, indices in members.items()
    }
    # The balanced epoch ends at the draw where the last quota n_i is met.
    epoch_end = max(
        list(draws).index(drawn_per_class[name][len(indices) - 1])
        for name, indices in members.items()
    )
    assert set(draws[: epoch_end + 1]) == set(range(len(samples)))
    for name, indices in members.items():
        size = len(indices)
        first_pass = drawn_per_class[name][:size]
        second_pass = drawn_per_class[name][size : 2 * size]
        assert sorted(first_pass) == indices
        assert sorted(second_pass) == indices
    assert drawn_per_class["OK"][:40] != drawn_per_class["OK"][40:80]


@pytest.mark.parametrize("size", [5, 1100])
def test_reshuffled_stream_has_a_new_order_every_pass(size):
    # 1100 > the 1024 draws generated together: one pass per block.
    draws = _draws(reshuffled_stream(range(size), tf.constant([4, 0], tf.int64)), 3 * size)
    passes = [list(draws[start : start + size]) for start in (0, size, 2 * size)]
    for one_pass in passes:
        assert sorted(one_pass) == list(range(size))
    assert passes[0] != passes[1] and passes[1] != passes[2]


@pytest.mark.slow
def test_index_streams_are_deterministic_for_a_seed():
    samples = _fake_samples(CLASS_SIZES)
    stream = balanced_index_stream(samples, seed=11)
    first = _draws(stream, 300)
    np.testing.assert_array_equal(_draws(stream, 300), first)
    np.testing.assert_array_equal(
        _draws(balanced_index_stream(samples, seed=11), 300), first
    )
    assert not np.array_equal(_draws(balanced_index_stream(samples, seed=12), 300), first)


def test_skip_resumes_the_index_streams():
    samples = _fake_samples(CLASS_SIZES)
    # 1200 draws cross a block of 1024 generated at once.
    full = _draws(balanced_index_stream(samples, seed=5), 1500)
    resumed = _draws(balanced_index_stream(samples, seed=5, skip=1200), 300)
    np.testing.assert_array_equal(resumed, full[1200:])
    shuffled = _draws(shuffled_index_stream(10, seed=5), 30)
    np.testing.assert_array_equal(_draws(shuffled_index_stream(10, seed=5, skip=13), 17), shuffled[13:])
    for start in (0, 10, 20):
        assert sorted(shuffled[start : start + 10]) == list(range(10))


@pytest.mark.slow
def test_training_batches_match_labels_and_resume_exactly(image_samples):
    def batches(start_step, count):
        dataset = training_dataset(image_samples, 16, batch_size=4, seed=2, start_step=start_step)
        return [(images.numpy(), labels.numpy()) for images, labels in dataset.take(count)]

    full = batches(0, 6)
    resumed = batches(3, 3)
    for (images, labels), (resumed_images, resumed_labels) in zip(full[3:], resumed):
        np.testing.assert_array_equal(resumed_images, images)
        np.testing.assert_array_equal(resumed_labels, labels)
    images, labels = full[0]
    assert images.shape == (4, 16, 16, 3) and images.dtype == np.float32
    assert labels.shape == (4, 8) and labels.dtype == np.float32
    np.testing.assert_array_equal(batches(0, 6)[5][0], full[5][0])


@pytest.mark.slow
def test_shards_of_the_training_stream_make_up_its_batches(image_samples):
    """Each of 2 workers gets its half of every batch, augmentation and
    resuming included: side by side they are the unsharded batches."""
    def batches(shard, start_step=0):
        dataset = training_dataset(image_samples, 16, batch_size=4, seed=2, start_step=start_step,
                                   shard=shard)
        return [(images.numpy(), labels.numpy()) for images, labels in dataset.take(3)]

    for start_step in (0, 5):
        whole = batches(None, start_step)
        halves = zip(batches((0, 2), start_step), batches((1, 2), start_step))
        for (images, labels), ((first, first_labels), (second, second_labels)) in zip(whole, halves):
            assert first.shape == (2, 16, 16, 3)
            np.testing.assert_array_equal(np.concatenate([first, second]), images)
            np.testing.assert_array_equal(np.concatenate([first_labels, second_labels]), labels)
    for shard in ((2, 2), (0, 3)):
        with pytest.raises(ValueError, match="shard"):
            training_dataset(image_samples, 16, batch_size=4, shard=shard)


def test_training_images_carry_their_labels_without_augmentation(image_samples):
    dataset = training_dataset(image_samples, 8, batch_size=5, augmentation=None, balanced=False)
    for images, labels in dataset.take(4):
        for image, label in zip(images.numpy(), labels.numpy()):
            np.testing.assert_array_equal(label, image_samples[_number_of(image)].labels)


def _textured_image():
    return tf.constant(np.random.default_rng(0).uniform(0, 255, (24, 24, 3)), tf.float32)


def _augmented(config, positions, seed=0):
    image = _textured_image()
    dataset = tf.data.Dataset.range(positions).map(lambda position: augment(image, position, seed, config))
    return np.stack(list(dataset.as_numpy_iterator())), image.numpy()


def test_augmentation_keeps_shape_dtype_range_and_is_deterministic():
    augmented, _ = _augmented(AugmentationConfig(fraction=1.0), 20)
    assert augmented.shape == (20, 24, 24, 3) and augmented.dtype == np.float32
    assert augmented.min() >= 0.0 and augmented.max() <= 255.0
    np.testing.assert_array_equal(_augmented(AugmentationConfig(fraction=1.0), 20)[0], augmented)
    assert not np.array_equal(_augmented(AugmentationConfig(fraction=1.0), 20, seed=1)[0], augmented)
    assert len({array.tobytes() for array in augmented}) == 20


def test_augmentation_fraction_is_respected():
    augmented, image = _augmented(AugmentationConfig(fraction=0.5), 400)
    changed = sum(not np.array_equal(one, image) for one in augmented)
    # Binomial(400, 0.5): mean 200, sd 10; allow 5 sd.
    assert abs(changed - 200) <= 50
    unchanged, image = _augmented(AugmentationConfig(fraction=0.0), 10)
    np.testing.assert_array_equal(unchanged, np.broadcast_to(image, unchanged.shape))


def test_rotate_and_translate_match_numpy():
    image = np.random.default_rng(1).uniform(0, 255, (7, 7, 1)).astype(np.float32)
    rotated = rotate_and_translate(image, 90.0, (0.0, 0.0)).numpy()
    np.testing.assert_allclose(rotated, np.rot90(image), atol=1e-3)
    shifted = rotate_and_translate(image, 0.0, (2.0, -1.0), fill_mode="constant").numpy()
    np.testing.assert_allclose(shifted[:6, 2:], image[1:, :5], atol=1e-4)
    np.testing.assert_array_equal(shifted[:, :2], 0.0)
    np.testing.assert_array_equal(shifted[6], 0.0)


def _fixed(**ranges):
    """Augment every image, with no geometric change and fixed factors."""
    return AugmentationConfig(fraction=1.0, max_rotation_degrees=0.0, max_translation=0.0, **ranges)


def test_brightness_and_contrast_follow_torchvision():
    image = _textured_image().numpy()
    # Brightness multiplies, then clips.
    brighter, _ = _augmented(_fixed(brightness_range=(1.5, 1.5), contrast_range=(1.0, 1.0)), 1)
    np.testing.assert_allclose(brighter[0], np.clip(1.5 * image, 0, 255), atol=1e-3)
    # Contrast blends with the mean of the grey image (one number), or with
    # each channel's mean.
    grey_mean = (image @ np.array([0.299, 0.587, 0.114])).mean()
    flatter, _ = _augmented(_fixed(brightness_range=(1.0, 1.0), contrast_range=(0.5, 0.5)), 1)
    np.testing.assert_allclose(flatter[0], grey_mean + 0.5 * (image - grey_mean), atol=1e-3)
    channel_mean = image.mean(axis=(0, 1))
    per_channel, _ = _augmented(
        _fixed(brightness_range=(1.0, 1.0), contrast_range=(0.5, 0.5), contrast_mean="channel"), 1
    )
    np.testing.assert_allclose(per_channel[0], channel_mean + 0.5 * (image - channel_mean), atol=1e-3)
    # Both, in a random order, each step clipped: the two orders differ
    # where brightness clips, and both occur.
    both, _ = _augmented(_fixed(brightness_range=(1.5, 1.5), contrast_range=(2.0, 2.0)), 40)

    def contrast(values):
        mean = (values @ np.array([0.299, 0.587, 0.114])).mean()
        return np.clip(mean + 2.0 * (values - mean), 0, 255)

    orders = (contrast(np.clip(1.5 * image, 0, 255)), np.clip(1.5 * contrast(image), 0, 255))
    matched = [
        next(number for number, order in enumerate(orders) if np.allclose(one, order, atol=1e-3))
        for one in both
    ]
    assert set(matched) == {0, 1}


def test_nearest_interpolation_and_zero_fill_only_copy_pixels():
    image = _textured_image().numpy()
    moved = rotate_and_translate(image, 10.0, (2.7, -1.3), fill_mode="constant", interpolation="nearest").numpy()
    original = {tuple(pixel) for pixel in image.reshape(-1, 3)} | {(0.0, 0.0, 0.0)}
    assert {tuple(pixel) for pixel in moved.reshape(-1, 3)} <= original
    assert (moved == 0).all(axis=-1).any()  # corners rotated in are black


def test_augmentation_presets():
    authors = AUGMENTATION_PRESETS["authors"]
    assert authors == AugmentationConfig()
    assert (authors.fraction, authors.max_rotation_degrees) == (0.5, 15.0)
    assert authors.max_translation * 299 == pytest.approx(20.0)
    assert authors.brightness_range == authors.contrast_range == (0.7, 1.3)
    assert (authors.fill_mode, authors.interpolation, authors.contrast_mean) == ("constant", "nearest", "grey")
    earlier = AUGMENTATION_PRESETS["mtfcdd-0.1"]
    assert (earlier.max_translation, earlier.max_brightness_delta, earlier.fill_mode) == (0.1, 0.2, "reflect")
    assert AUGMENTATION_PRESETS["none"] is None


def test_augmentation_config_rejects_bad_ranges():
    with pytest.raises(ValueError, match="fraction"):
        AugmentationConfig(fraction=1.5)
    with pytest.raises(ValueError, match="contrast_range"):
        AugmentationConfig(contrast_range=(1.2, 0.8))
    with pytest.raises(ValueError, match="fill_mode"):
        AugmentationConfig(fill_mode="mirror")
    with pytest.raises(ValueError, match="brightness_range"):
        AugmentationConfig(brightness_range=(0.0, 1.3))
    with pytest.raises(ValueError, match="interpolation"):
        AugmentationConfig(interpolation="bicubic")


def test_undecodable_and_missing_files_are_named(image_samples, tmp_path):
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"not an image at all")
    good_jpeg = str(tmp_path / "good.jpg")
    cv2.imwrite(good_jpeg, np.random.default_rng(2).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(open(good_jpeg, "rb").read()[:600])
    for bad_path in (garbage, truncated):
        bad_sample = Sample(str(bad_path), None, "object", "OK", (0,) * 8)
        stream = training_dataset(
            image_samples[:2] + [bad_sample], 16, batch_size=3, augmentation=None, balanced=False
        )
        with pytest.raises(tf.errors.InvalidArgumentError) as error:
            next(iter(stream))
        # The preprocessor's own line, as every other reader gives it.
        with pytest.raises(ValueError) as expected:
            Preprocessor(16).read(str(bad_path))
        assert pipeline_error_message(error.value) == str(expected.value)
        assert str(bad_path) in str(expected.value)
    missing = Sample(str(tmp_path / "missing.jpg"), None, "object", "OK", (0,) * 8)
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        training_dataset(image_samples + [missing], 16)


def test_training_stream_refuses_a_preprocessor_of_another_size(image_samples):
    with pytest.raises(ValueError, match=r"image_size \[20, 20\] is not the model's \[16, 16\]"):
        training_dataset(image_samples, 16, preprocessor=Preprocessor(20))


def test_training_stream_with_mask_grid_gives_per_type_coverage(image_samples):
    # The masks' left half is defect: on a 2x4 grid the two left columns are
    # covered, the two right ones not; a 3-wide grid cuts its middle column
    # in half.
    dataset = training_dataset(
        image_samples, 16, batch_size=7, augmentation=None, balanced=False, mask_grid=(2, 3)
    )
    images, masks = next(iter(dataset))
    assert images.shape == (7, 16, 16, 3) and masks.shape == (7, 2, 3, len(DEFECT_CODES))
    for image, mask in zip(images.numpy(), masks.numpy()):
        sample = image_samples[_number_of(image)]
        if sample.anomaly_class == "OK":
            assert not mask.any()
            continue
        channel = DEFECT_CODES.index(sample.anomaly_class)
        np.testing.assert_allclose(mask[..., channel], [[1.0, 0.5, 0.0]] * 2, atol=1e-6)
        assert not np.delete(mask, channel, axis=-1).any()
    with pytest.raises(ValueError, match="augmentation=None"):
        training_dataset(image_samples, 16, mask_grid=(2, 3))
