"""The MultiTypeFCDD network: shapes, size, frozen backbone, saving."""

import json
import os
import zipfile

import keras
import numpy as np
import pytest

import mtfcdd
from mtfcdd.data.preprocessor import Preprocessor
from mtfcdd.model import backbone as backbone_module
from mtfcdd.model.backbone import CUT_LAYER, build_backbone, feature_map_size
from mtfcdd.model.network import model_at_image_size


@pytest.fixture(scope="module")
def small_model():
    keras.utils.set_random_seed(0)
    return mtfcdd.build_model(num_types=8, image_size=96, backbone_weights=None)


def random_images(count, height, width, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (count, height, width, 3)).astype("float32")


@pytest.mark.slow
@pytest.mark.parametrize("height, width, num_types", [(75, 75, 1), (128, 96, 3)])
def test_output_shape_follows_input_size_and_types(height, width, num_types):
    model = mtfcdd.build_model(num_types, (height, width), backbone_weights=None)
    heatmaps = model.predict(random_images(2, height, width), verbose=0)
    assert heatmaps.shape == (2, feature_map_size(height), feature_map_size(width), num_types)
    assert heatmaps.min() >= 0.0
    assert len(model.type_codes) == num_types


def test_output_shape_small_model(small_model):
    heatmaps = small_model.predict(random_images(3, 96, 96), verbose=0)
    assert heatmaps.shape == (3, 9, 9, 8)
    assert small_model.type_codes == mtfcdd.DEFECT_CODES


@pytest.mark.slow
def test_paper_size_parameter_count():
    model = mtfcdd.build_model(num_types=8, image_size=299, backbone_weights=None)
    assert model.output.shape == (None, 35, 35, 8)
    assert model.count_params() == 5_519_080
    assert model.backbone.count_params() == 1_676_000
    assert not model.backbone.trainable_weights
    # Head: two 3x3x512 convolutions with BatchNorm, the 1x1 projection; the
    # BatchNorm moving statistics (2 x 2 x 512) are not trainable.
    head_trainable = (3 * 3 * 320 * 512 + 512) + (3 * 3 * 512 * 512 + 512) + 2 * (2 * 512) + (512 * 8 + 8)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == head_trainable


@pytest.mark.slow
def test_the_0_1_docs_call_with_an_input_shape_builds_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match=r"\(75, 96, 3\).*image_size"):
        model = mtfcdd.build_model(2, (75, 96, 3), backbone_weights=None)
    assert model.image_size == (75, 96)
    assert model.output.shape == (None, feature_map_size(75), feature_map_size(96), 2)


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="75"):
        mtfcdd.build_model(8, 64, backbone_weights=None)
    with pytest.raises(ValueError, match="type_codes"):
        mtfcdd.MultiTypeFCDD(num_types=2, image_size=75, backbone_weights=None, type_codes=("A",))
    with pytest.raises(ValueError, match="score_reduction"):
        mtfcdd.MultiTypeFCDD(num_types=1, image_size=75, backbone_weights=None, score_reduction="median")


@pytest.mark.slow
def test_training_changes_head_only(small_model):
    model = small_model
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=mtfcdd.MultiTypeFCDDLoss())
    backbone_before = [w.numpy() for w in model.backbone.weights]
    head_before = [w.numpy() for w in model.trainable_weights]
    labels = np.zeros((4, 8), "float32")
    labels[1, 3] = labels[2, 0] = 1
    model.fit(random_images(4, 96, 96, seed=1), labels, epochs=1, verbose=0)
    backbone_after = [w.numpy() for w in model.backbone.weights]
    # Every backbone weight, BatchNorm moving statistics included, is unchanged.
    assert len(backbone_before) == len(model.backbone.weights) > 0
    for before, after in zip(backbone_before, backbone_after):
        np.testing.assert_array_equal(before, after)
    changed = [not np.array_equal(b, a.numpy()) for b, a in zip(head_before, model.trainable_weights)]
    assert all(changed)


@pytest.mark.slow
def test_short_fit_lowers_the_loss():
    keras.utils.set_random_seed(1)
    model = mtfcdd.build_model(num_types=2, image_size=75, backbone_weights=None)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=mtfcdd.MultiTypeFCDDLoss())
    images = random_images(8, 75, 75, seed=2)
    labels = np.zeros((8, 2), "float32")
    labels[:2, 0] = 1
    labels[2:4, 1] = 1
    history = model.fit(images, labels, epochs=15, batch_size=8, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.7 * losses[0]


@pytest.mark.slow
def test_keras_file_round_trip(small_model, tmp_path):
    model = mtfcdd.MultiTypeFCDD(
        num_types=2, image_size=75, backbone_weights=None,
        type_codes=("HS", "ZW"), score_reduction="max", thresholds=(0.5, 0.25),
    )
    images = random_images(2, 75, 75, seed=3)
    expected = model.predict(images, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(restored, mtfcdd.MultiTypeFCDD)
    np.testing.assert_array_equal(restored.predict(images, verbose=0), expected)
    assert restored.type_codes == ("HS", "ZW")
    assert restored.score_reduction == "max"
    assert restored.thresholds == (0.5, 0.25)
    assert restored.weights_source == "None"
    assert restored.image_size == (75, 75)
    assert restored.get_config()["dtype"] == model.get_config()["dtype"]
    assert restored.preprocessor == model.preprocessor == Preprocessor((75, 75))
    assert not restored.backbone.trainable


def test_model_at_image_size_runs_the_same_weights_at_another_size(small_model):
    larger = model_at_image_size(small_model, (128, 112))
    assert larger.image_size == (128, 112) and larger.preprocessor == Preprocessor((128, 112))
    for mine, theirs in zip(larger.get_weights(), small_model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    heatmaps = larger.predict(random_images(1, 128, 112), verbose=0)
    assert heatmaps.shape == (1, feature_map_size(128), feature_map_size(112), 8)
    assert larger.get_config() == {
        **small_model.get_config(), "image_size": (128, 112), "preprocessor": Preprocessor((128, 112)).get_config()
    }
    # Back at its own size it is the same model, to the bit.
    images = random_images(2, 96, 96, seed=5)
    np.testing.assert_array_equal(
        model_at_image_size(larger, 96).predict(images, verbose=0), small_model.predict(images, verbose=0)
    )


def test_model_refuses_a_preprocessor_of_another_size_or_rule():
    with pytest.raises(ValueError, match=r"image_size \[80, 80\] is not the model's \[75, 75\]"):
        mtfcdd.MultiTypeFCDD(num_types=1, image_size=75, backbone_weights=None, preprocessor=Preprocessor(80))
    with pytest.raises(ValueError, match="resize must be one of"):
        mtfcdd.MultiTypeFCDD(
            num_types=1, image_size=75, backbone_weights=None,
            preprocessor={"image_size": [75, 75], "decoder": "opencv", "resize": "nearest"},
        )


@pytest.mark.slow
@pytest.mark.parametrize("legacy_config", ["legacy_model_config.json", "legacy_checkpoint_config.json"])
def test_files_written_by_mtfcdd_0_1_still_load(tmp_path, legacy_config):
    """A model or checkpoint saved before the package moved into stage folders.

    Its config names the old modules (``mtfcdd.model``,
    ``mtfcdd.multi_type_loss``) and the old ``image_shape`` argument (the
    files in tests/data were written by mtfcdd 0.1); the weights of a saved
    file are keyed by layer, so the new code's weights file goes with it.
    """
    with open(os.path.join(os.path.dirname(__file__), "data", legacy_config), encoding="utf-8") as file:
        config = json.load(file)
    assert config["module"] == "mtfcdd.model" and "image_shape" in config["config"]
    model = mtfcdd.MultiTypeFCDD(
        num_types=1, image_size=75, backbone_weights=None, thresholds=config["config"]["thresholds"]
    )
    images = random_images(2, 75, 75, seed=9)
    path = tmp_path / "old.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.warns(DeprecationWarning, match="image_shape"):
        restored = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(restored, mtfcdd.MultiTypeFCDD)
    assert restored.image_size == (75, 75)
    # Saved before the preprocessor was recorded: the one the deployed path always used.
    assert "preprocessor" not in config["config"]
    assert restored.preprocessor == Preprocessor((75, 75))
    np.testing.assert_array_equal(restored.predict(images, verbose=0), model.predict(images, verbose=0))
    if "compile_config" in config and config["compile_config"]:
        assert isinstance(restored.loss, mtfcdd.MultiTypeFCDDLoss)


@pytest.mark.slow
def test_weights_only_round_trip(small_model, tmp_path):
    images = random_images(2, 96, 96, seed=4)
    path = tmp_path / "model.weights.h5"
    small_model.save_weights(path)
    fresh = mtfcdd.build_model(8, 96, backbone_weights=None)
    assert not np.allclose(fresh.predict(images, verbose=0), small_model.predict(images, verbose=0))
    fresh.load_weights(path)
    np.testing.assert_array_equal(fresh.predict(images, verbose=0), small_model.predict(images, verbose=0))


@pytest.mark.slow
def test_backbone_loads_a_local_notop_file(tmp_path):
    keras.utils.set_random_seed(5)
    full_network = keras.applications.InceptionResNetV2(include_top=False, weights=None, input_shape=(75, 75, 3))
    path = str(tmp_path / "inception_resnet_v2_notop.h5")
    full_network.save(path)  # legacy HDF5, the format Keras' download uses
    backbone = build_backbone(75, weights=path)
    expected = full_network.get_layer("block35_10_conv").kernel.numpy()
    np.testing.assert_array_equal(backbone.get_layer("block35_10_conv").kernel.numpy(), expected)
    assert not backbone.trainable

    cut_path = str(tmp_path / "cut.weights.h5")
    backbone.save_weights(cut_path)
    reloaded = build_backbone(75, weights=cut_path)
    np.testing.assert_array_equal(
        reloaded.get_layer("block35_10_conv").kernel.numpy(), backbone.get_layer("block35_10_conv").kernel.numpy()
    )


@pytest.mark.slow
def test_backbone_is_the_full_networks_cut_with_its_initial_weights(monkeypatch):
    """Built from the cut's own config, not by building the whole network
    (three times as many layers) and cutting it: the same layers computing
    the same function, and the same initial weights under one seed whether
    the config is built or reused."""
    monkeypatch.setattr(backbone_module, "_CUT_CONFIGS", {})
    keras.utils.set_random_seed(3)
    first = mtfcdd.build_model(8, 75, backbone_weights=None)  # builds the config
    keras.utils.set_random_seed(3)
    second = mtfcdd.build_model(8, 75, backbone_weights=None)  # reuses it
    assert len(first.weights) == len(second.weights) > 0
    for first_weight, second_weight in zip(first.weights, second.weights):
        np.testing.assert_array_equal(first_weight.numpy(), second_weight.numpy())
    full_network = keras.applications.InceptionResNetV2(include_top=False, weights=None, input_shape=(75, 75, 3))
    cut = keras.Model(full_network.input, full_network.get_layer(CUT_LAYER).output)
    assert len(cut.layers) == len(first.backbone.layers) < len(full_network.layers)
    for expected, built in zip(cut.layers, first.backbone.layers):
        expected_config, built_config = expected.get_config(), built.get_config()
        for key in ("name", "trainable"):  # Keras' own names; frozen
            expected_config.pop(key, None), built_config.pop(key, None)
        assert type(built) is type(expected) and built_config == expected_config, built.name
    first.backbone.set_weights(cut.get_weights())
    images = random_images(2, 75, 75, seed=5) / 127.5 - 1
    np.testing.assert_array_equal(first.backbone.predict(images, verbose=0), cut.predict(images, verbose=0))


@pytest.mark.slow
def test_backbone_weights_errors_name_the_file(tmp_path):
    missing = str(tmp_path / "nowhere.h5")
    with pytest.raises(FileNotFoundError, match="nowhere.h5"):
        build_backbone(75, weights=missing)
    wrong_suffix = tmp_path / "weights.bin"
    wrong_suffix.write_bytes(b"x")
    with pytest.raises(ValueError, match="weights.bin"):
        build_backbone(75, weights=str(wrong_suffix))
    other_model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    mismatched = str(tmp_path / "dense.weights.h5")
    other_model.save_weights(mismatched)
    with pytest.raises(ValueError, match="dense.weights.h5"):
        build_backbone(75, weights=mismatched)
