"""The synthetic Real-IAD generator: layout, split files, masks, determinism."""

import datetime
import importlib.util
import json
import os
import re

import cv2
import numpy as np
import pytest

from mtfcdd.cli import main as cli_main
from mtfcdd.constants import DEFECT_CODES, FUIAD_ALPHAS, SPLITS_FOLDER, fuiad_setting
from mtfcdd.data.synthetic import dataset
from mtfcdd.data.synthetic.contact_sheets import write_contact_sheets
from mtfcdd.data.synthetic.objects import SYNTHETIC_OBJECTS
from mtfcdd.data.synthetic.presets import PRESETS
from mtfcdd.data.synthetic.render import MIN_DEFECTIVE_VIEWS, render_sample

TINY = PRESETS["tiny"]
IMAGE_FOLDER = f"realiad_{TINY.image_size}"


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    return dataset.make_synthetic_iad(
        tmp_path_factory.mktemp("tiny"), preset="tiny", seed=0, progress=False
    )


def _splits(root, alpha):
    folder = os.path.join(root, SPLITS_FOLDER, fuiad_setting(alpha))
    splits = {}
    for file_name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, file_name), encoding="utf-8") as file:
            splits[file_name[: -len(".json")]] = json.load(file)
    return splits


def _files(root):
    """Relative path -> bytes of every file under ``root``."""
    contents = {}
    for folder, _, file_names in os.walk(root):
        for file_name in file_names:
            path = os.path.join(folder, file_name)
            with open(path, "rb") as file:
                contents[os.path.relpath(path, root)] = file.read()
    return contents


def test_tiny_preset_writes_the_real_iad_layout_and_file_names(tiny_root):
    assert sorted(os.listdir(tiny_root)) == ["realiad_128", SPLITS_FOLDER]
    assert sorted(os.listdir(os.path.join(tiny_root, SPLITS_FOLDER))) == [
        fuiad_setting(alpha) for alpha in FUIAD_ALPHAS
    ]
    image_count = 0
    separators = set()
    for object_name in TINY.objects:
        object_folder = os.path.join(tiny_root, IMAGE_FOLDER, object_name)
        codes = SYNTHETIC_OBJECTS[object_name].defect_codes
        assert sorted(os.listdir(object_folder)) == ["NG", "OK"]
        assert sorted(os.listdir(os.path.join(object_folder, "NG"))) == sorted(codes)
        sample_folders = [("OK", os.path.join(object_folder, "OK"))] + [
            (code, os.path.join(object_folder, "NG", code)) for code in codes
        ]
        for code, folder in sample_folders:
            for sample in os.listdir(folder):
                assert re.fullmatch(r"S\d{4}", sample)
                names = sorted(os.listdir(os.path.join(folder, sample)))
                jpegs = [name for name in names if name.endswith(".jpg")]
                assert len(jpegs) == 5
                image_count += 5
                kind = "OK" if code == "OK" else f"NG_{code}"
                pattern = rf"{object_name}(_|__){sample[1:]}_{kind}_C([1-5])_(\d{{14}})\.(jpg|png)"
                cameras = set()
                for name in names:
                    match = re.fullmatch(pattern, name)
                    assert match, name
                    separators.add((object_name, code == "OK", match.group(1)))
                    cameras.add(match.group(2))
                    datetime.datetime.strptime(match.group(3), "%Y%m%d%H%M%S")
                    if name.endswith(".png"):
                        assert name[:-4] + ".jpg" in names
                assert cameras == {"1", "2", "3", "4", "5"}
    # Real-IAD's quirk: audiojack's defective files have a double underscore.
    assert ("audiojack", False, "__") in separators
    assert ("audiojack", True, "_") in separators and ("pcb", False, "_") in separators
    assert 150 <= image_count <= 250


def test_split_files_have_real_iad_schema(tiny_root):
    for alpha in FUIAD_ALPHAS:
        splits = _splits(tiny_root, alpha)
        assert sorted(splits) == sorted(TINY.objects)
        for object_name, split in splits.items():
            assert set(split) == {"meta", "train", "test"}
            assert split["meta"] == {"prefix": f"{object_name}/", "normal_class": "OK"}
            for entry in split["train"] + split["test"]:
                assert set(entry) == {"category", "anomaly_class", "image_path", "mask_path"}
                assert entry["category"] == object_name
                image_file = os.path.join(tiny_root, IMAGE_FOLDER, object_name, entry["image_path"])
                assert os.path.isfile(image_file)
                parts = entry["image_path"].split("/")
                if entry["anomaly_class"] == "OK":
                    assert entry["mask_path"] is None
                    assert not os.path.exists(image_file[:-4] + ".png")
                else:
                    assert parts[:2] == ["NG", entry["anomaly_class"]]
                    assert entry["mask_path"] == entry["image_path"][:-4] + ".png"
                    assert os.path.isfile(
                        os.path.join(tiny_root, IMAGE_FOLDER, object_name, entry["mask_path"])
                    )


def test_fuiad_splits_follow_alpha(tiny_root):
    splits = {alpha: _splits(tiny_root, alpha) for alpha in FUIAD_ALPHAS}
    for object_name in TINY.objects:
        test_split = splits[0.0][object_name]["test"]
        test_paths = {entry["image_path"] for entry in test_split}
        assert len(test_paths) == len(test_split)
        for alpha in FUIAD_ALPHAS:
            split = splits[alpha][object_name]
            assert split["test"] == test_split
            train_paths = [entry["image_path"] for entry in split["train"]]
            assert len(train_paths) == TINY.train_images == len(set(train_paths))
            assert not test_paths & set(train_paths)
            defective = sum(entry["anomaly_class"] != "OK" for entry in split["train"])
            assert defective == round(alpha * TINY.train_images)
    for alpha in FUIAD_ALPHAS[1:]:
        train_codes = {
            entry["anomaly_class"] for split in splits[alpha].values() for entry in split["train"]
        }
        assert train_codes == {"OK", *DEFECT_CODES}
    test_codes = {
        entry["anomaly_class"] for split in splits[0.0].values() for entry in split["test"]
    }
    assert test_codes == {"OK", *DEFECT_CODES}


def test_defective_samples_have_unlabelled_views_and_binary_masks(tiny_root):
    unlabelled_views = 0
    for split in _splits(tiny_root, 0.0).values():
        defective_views = {}
        for entry in split["test"]:
            sample = os.path.dirname(entry["image_path"])
            if not sample.startswith("NG/"):
                continue
            defective_views.setdefault(sample, 0)
            if entry["anomaly_class"] == "OK":
                unlabelled_views += 1
                continue
            defective_views[sample] += 1
            mask = cv2.imread(
                os.path.join(tiny_root, IMAGE_FOLDER, split["meta"]["prefix"] + entry["mask_path"]),
                cv2.IMREAD_UNCHANGED,
            )
            assert mask.shape == (TINY.image_size, TINY.image_size)
            assert set(np.unique(mask)) == {0, 255}
            assert 0 < (mask > 0).mean() < 0.25
        assert min(defective_views.values()) >= MIN_DEFECTIVE_VIEWS
    assert unlabelled_views > 0


@pytest.mark.parametrize("object_name", TINY.objects)
def test_masks_are_exactly_the_pixels_the_defect_altered(object_name):
    for code in SYNTHETIC_OBJECTS[object_name].defect_codes:
        views = render_sample(object_name, code, image_size=96, seed=3, sample_number=7)
        assert sum(view.mask is not None for view in views) >= MIN_DEFECTIVE_VIEWS
        for view in views:
            altered = np.any(view.image != view.clean_image, axis=-1)
            if view.mask is None:
                assert not altered.any()
            else:
                np.testing.assert_array_equal(altered, view.mask == 255)


def test_written_mask_is_the_rendered_one(tiny_root):
    split = _splits(tiny_root, 0.4)["pcb"]
    entry = next(entry for entry in split["train"] if entry["anomaly_class"] == "QS")
    match = re.search(r"_(\d{4})_NG_QS_C(\d)_", entry["image_path"])
    views = render_sample(
        "pcb", "QS", image_size=TINY.image_size, seed=0, sample_number=int(match.group(1))
    )
    view = views[int(match.group(2)) - 1]
    folder = os.path.join(tiny_root, IMAGE_FOLDER, "pcb")
    np.testing.assert_array_equal(
        cv2.imread(os.path.join(folder, entry["mask_path"]), cv2.IMREAD_UNCHANGED), view.mask
    )
    decoded = cv2.imread(os.path.join(folder, entry["image_path"]))[..., ::-1]
    assert np.abs(decoded.astype(int) - view.image).mean() < 3  # JPEG loss only


def test_normal_sample_has_no_defect():
    views = render_sample("audiojack", None, image_size=96, seed=0, sample_number=2)
    assert [view.camera for view in views] == [1, 2, 3, 4, 5]
    for view in views:
        assert (
            view.mask is None and view.image.shape == (96, 96, 3) and view.image.dtype == np.uint8
        )
        np.testing.assert_array_equal(view.image, view.clean_image)
    # Five different viewpoints of one object, not five copies.
    assert all(np.abs(views[0].image.astype(int) - view.image).mean() > 2 for view in views[1:])


def test_same_seed_same_bytes_other_seed_differs(tiny_root, tmp_path):
    again = dataset.make_synthetic_iad(tmp_path / "again", preset="tiny", seed=0, progress=False)
    other = dataset.make_synthetic_iad(tmp_path / "other", preset="tiny", seed=1, progress=False)
    reference = _files(tiny_root)
    assert _files(again) == reference
    other_files = _files(other)
    common = set(other_files) & set(reference)
    changed = [
        path for path in common if path.endswith(".jpg") and other_files[path] != reference[path]
    ]
    assert len(changed) == sum(path.endswith(".jpg") for path in common) > 0


def test_contact_sheets(tiny_root, tmp_path):
    paths = write_contact_sheets(
        tiny_root, tmp_path / "sheets", examples_per_type=3, columns=2, tile_size=64
    )
    assert [os.path.basename(path) for path in paths] == [
        f"synthetic_{code}.png" for code in DEFECT_CODES
    ]
    for path in paths:
        sheet = cv2.imread(path)
        assert sheet.shape == (30 + 2 * 64, 2 * 64, 3)
        yellow_outline = (sheet[..., 2] > 200) & (sheet[..., 1] > 180) & (sheet[..., 0] < 90)
        assert yellow_outline.sum() >= 10


def test_full_preset_has_every_object_kind():
    # presets.py names the objects by hand, so that listing the presets does
    # not load the renderer; this keeps its list in step with the renderer's.
    assert sorted(PRESETS["full"].objects) == sorted(SYNTHETIC_OBJECTS)


def test_bad_input_is_reported(tiny_root, tmp_path):
    with pytest.raises(ValueError, match="already holds files"):
        dataset.make_synthetic_iad(tiny_root, preset="tiny", progress=False)
    with pytest.raises(ValueError, match="unknown preset"):
        dataset.make_synthetic_iad(tmp_path, preset="huge", progress=False)
    with pytest.raises(ValueError, match="unknown synthetic object"):
        render_sample("teapot")
    with pytest.raises(ValueError, match="at least 64 pixels"):
        render_sample("pcb", image_size=32)
    with pytest.raises(ValueError, match="not one of this object's"):
        render_sample("pcb", "AK", image_size=64)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_contact_sheets(tmp_path / "missing", tmp_path / "sheets")


@pytest.mark.slow
def test_cli_and_script_call_the_library(tiny_root, tmp_path, monkeypatch, capsys):
    calls = []

    def fake_make(output_dir, preset, seed, progress=True):
        calls.append((str(output_dir), preset, seed))
        return tiny_root

    monkeypatch.setattr(dataset, "make_synthetic_iad", fake_make)
    # mtfcdd data synth writes every layout through make_synthetic_dataset.
    monkeypatch.setattr("mtfcdd.data.synthetic.layouts.make_synthetic_iad", fake_make)
    assert cli_main(["data", "synth", "out", "--preset", "tiny", "--seed", "4"]) == 0
    assert calls == [("out", "tiny", 4)]
    assert tiny_root in capsys.readouterr().out

    script_path = os.path.join(
        os.path.dirname(__file__), "..", "data_prep", "make_synthetic_iad.py"
    )
    spec = importlib.util.spec_from_file_location("make_synthetic_iad_script", script_path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setattr(script, "make_synthetic_iad", fake_make)
    sheets = tmp_path / "sheets"
    assert script.main(["data_out", "--preset", "demo", "--contact-sheets", str(sheets)]) == 0
    assert calls[-1] == ("data_out", "demo", 0)
    assert sorted(os.listdir(sheets)) == [f"synthetic_{code}.png" for code in DEFECT_CODES]
