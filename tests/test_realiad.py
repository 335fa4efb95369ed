"""The Real-IAD reader, `verify_dataset` and `mtfcdd data verify`.

Every test writes its own tiny data set in Real-IAD's exact layout (docs/data.md,
6): images under ROOT/realiad_256/<object>/..., splits under
ROOT/realiad_jsons/<setting>/<object>.json, with the quirks of the real files
(meta.prefix, NG views labelled OK, double underscores, mask_path null).
"""

import json
import os

import cv2
import numpy as np
import pytest

from mtfcdd.cli import main
from mtfcdd.data.realiad.reader import (
    find_image_root,
    load_realiad,
    read_split,
    split_dir_for,
)
from mtfcdd.data.realiad.verify import verify_dataset

IMAGE_FOLDER = "realiad_256"
FUIAD = "realiad_jsons_fuiad_0.1"
ORIGINAL = "realiad_jsons"
SIZE = 24


def entry(category, anomaly_class, image_path, mask_path=None):
    return {
        "category": category,
        "anomaly_class": anomaly_class,
        "image_path": image_path,
        "mask_path": mask_path,
    }


AUDIOJACK_OK = entry("audiojack", "OK", "OK/S0001/audiojack_0001_OK_C1_20231021130124.jpg")
AUDIOJACK_OK_2 = entry("audiojack", "OK", "OK/S0002/audiojack_0002_OK_C1_20231021130201.jpg")
AUDIOJACK_AK = entry(
    "audiojack", "AK",
    "NG/AK/S0070/audiojack_0070_NG_AK_C1_20231021140000.jpg",
    "NG/AK/S0070/audiojack_0070_NG_AK_C1_20231021140000.png",
)
AUDIOJACK_HS = entry(
    "audiojack", "HS",
    "NG/HS/S0064/audiojack__0064_NG_HS_C1_20231021150000.jpg",
    "NG/HS/S0064/audiojack__0064_NG_HS_C1_20231021150000.png",
)
# A view of a defective sample from which the defect is not visible.
AUDIOJACK_NG_VIEW_OK = entry(
    "audiojack", "OK", "NG/HS/S0064/audiojack__0064_NG_HS_C2_20231021150000.jpg"
)
BOTTLE_CAP_OK = entry("bottle_cap", "OK", "OK/S0001/bottle_cap_0001_OK_C1_20231022090000.jpg")
BOTTLE_CAP_ZW = entry(
    "bottle_cap", "ZW",
    "NG/ZW/S0003/bottle_cap_0003_NG_ZW_C3_20231022093000.jpg",
    "NG/ZW/S0003/bottle_cap_0003_NG_ZW_C3_20231022093000.png",
)

# setting -> object -> (train, test)
SPLITS = {
    FUIAD: {
        "audiojack": (
            [AUDIOJACK_OK, AUDIOJACK_AK],
            [AUDIOJACK_HS, AUDIOJACK_NG_VIEW_OK, AUDIOJACK_OK_2],
        ),
        "bottle_cap": ([BOTTLE_CAP_OK], [BOTTLE_CAP_ZW]),
    },
    ORIGINAL: {
        "audiojack": (
            [AUDIOJACK_OK],
            [AUDIOJACK_HS, AUDIOJACK_NG_VIEW_OK, AUDIOJACK_OK_2, AUDIOJACK_AK],
        ),
        "bottle_cap": ([BOTTLE_CAP_OK], [BOTTLE_CAP_ZW]),
    },
}


def image_path_of(root, object_name, relative_path):
    return os.path.join(root, IMAGE_FOLDER, object_name, *relative_path.split("/"))


def write_image(path, height=SIZE, width=SIZE, channels=3):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shape = (height, width, channels) if channels > 1 else (height, width)
    image = np.zeros(shape, np.uint8)
    image[height // 4: height // 2, width // 4: width // 2] = 255
    assert cv2.imwrite(path, image)


def json_path_of(root, setting, object_name):
    return os.path.join(root, "realiad_jsons", setting, f"{object_name}.json")


def write_json(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as file:
        json.dump(content, file)


def rewrite_split(root, setting, object_name, change):
    """Apply ``change`` to one split file's content; returns the file's path."""
    path = json_path_of(root, setting, object_name)
    with open(path) as file:
        content = json.load(file)
    change(content)
    write_json(path, content)
    return path


@pytest.fixture
def root(tmp_path):
    for setting, objects in SPLITS.items():
        for object_name, (train, test) in objects.items():
            write_json(
                json_path_of(tmp_path, setting, object_name),
                {
                    "meta": {"prefix": f"{object_name}/", "normal_class": "OK"},
                    "train": train,
                    "test": test,
                },
            )
            for item in train + test:
                write_image(image_path_of(tmp_path, object_name, item["image_path"]))
                if item["mask_path"]:
                    write_image(
                        image_path_of(tmp_path, object_name, item["mask_path"]), channels=1
                    )
    return str(tmp_path)


def by_image_name(samples):
    return {os.path.basename(sample.image_path): sample for sample in samples}


def test_labels_come_from_anomaly_class_not_from_the_folder(root):
    split = load_realiad(root, alpha=0.1)
    test = by_image_name(split.test)
    ng_view = test["audiojack__0064_NG_HS_C2_20231021150000.jpg"]
    assert ng_view.anomaly_class == "OK"
    assert ng_view.labels == (0,) * 8
    assert ng_view.mask_path is None
    assert ng_view.is_normal
    # Channels: AK BX CH HS PS QS YW ZW.
    scratch = test["audiojack__0064_NG_HS_C1_20231021150000.jpg"]
    assert scratch.labels == (0, 0, 0, 1, 0, 0, 0, 0)
    contamination = test["bottle_cap_0003_NG_ZW_C3_20231022093000.jpg"]
    assert contamination.labels == (0, 0, 0, 0, 0, 0, 0, 1)
    pit = by_image_name(split.train)["audiojack_0070_NG_AK_C1_20231021140000.jpg"]
    assert pit.labels == (1, 0, 0, 0, 0, 0, 0, 0)
    assert len(split.train) == 3 and len(split.test) == 4


def test_paths_join_image_root_prefix_and_entry_path(root):
    split = load_realiad(root, alpha=0.1)
    scratch = by_image_name(split.test)["audiojack__0064_NG_HS_C1_20231021150000.jpg"]
    expected_folder = os.path.join(root, IMAGE_FOLDER, "audiojack", "NG", "HS", "S0064")
    assert scratch.image_path == os.path.join(
        expected_folder, "audiojack__0064_NG_HS_C1_20231021150000.jpg"
    )
    assert scratch.mask_path == os.path.join(
        expected_folder, "audiojack__0064_NG_HS_C1_20231021150000.png"
    )
    assert scratch.category == "audiojack"
    for sample in split.train + split.test:
        assert os.path.isfile(sample.image_path)


def test_prefix_without_object_folder_is_joined_as_written(root):
    rewrite_split(root, FUIAD, "bottle_cap", lambda content: content["meta"].update(prefix=""))
    object_root = os.path.join(root, IMAGE_FOLDER, "bottle_cap")
    split = read_split(split_dir_for(root, alpha=0.1), object_root, objects="bottle_cap")
    assert [sample.image_path for sample in split.train] == [
        os.path.join(object_root, "OK", "S0001", "bottle_cap_0001_OK_C1_20231022090000.jpg")
    ]


def test_object_subset_and_unknown_object(root):
    split = load_realiad(root, alpha=0.1, objects=["bottle_cap"])
    assert {sample.category for sample in split.train + split.test} == {"bottle_cap"}
    assert (len(split.train), len(split.test)) == (1, 1)
    message = r"unknown objects \['toaster'\]; available: \['audiojack', 'bottle_cap'\]"
    with pytest.raises(ValueError, match=message):
        load_realiad(root, alpha=0.1, objects=["bottle_cap", "toaster"])


def test_num_types_one_gives_the_any_defect_label(root):
    split = load_realiad(root, alpha=0.1, num_types=1)
    labels = {os.path.basename(sample.image_path): sample.labels for sample in split.test}
    assert labels == {
        "audiojack__0064_NG_HS_C1_20231021150000.jpg": (1,),
        "audiojack__0064_NG_HS_C2_20231021150000.jpg": (0,),
        "audiojack_0002_OK_C1_20231021130201.jpg": (0,),
        "bottle_cap_0003_NG_ZW_C3_20231022093000.jpg": (1,),
    }
    with pytest.raises(ValueError, match="num_types"):
        load_realiad(root, alpha=0.1, num_types=3)


def test_normal_class_of_meta_is_read_as_ok(root):
    def rename_normal_class(content):
        content["meta"]["normal_class"] = "good"
        for item in content["train"] + content["test"]:
            if item["anomaly_class"] == "OK":
                item["anomaly_class"] = "good"

    rewrite_split(root, FUIAD, "audiojack", rename_normal_class)
    split = load_realiad(root, alpha=0.1, objects="audiojack")
    assert [sample.anomaly_class for sample in split.train] == ["OK", "AK"]
    assert [sample.is_normal for sample in split.test] == [False, True, True]


def test_split_dir_for_and_image_root(root):
    assert split_dir_for(root, alpha=0.1) == os.path.join(root, "realiad_jsons", FUIAD)
    assert split_dir_for(root, setting=ORIGINAL) == os.path.join(
        root, "realiad_jsons", ORIGINAL
    )
    with pytest.raises(ValueError, match=r"\(0\.0, 0\.1, 0\.2, 0\.4\).*0\.3"):
        split_dir_for(root, alpha=0.3)
    with pytest.raises(ValueError, match="exactly one"):
        split_dir_for(root, alpha=0.1, setting=ORIGINAL)
    available = r"\['realiad_jsons', 'realiad_jsons_fuiad_0\.1'\]"
    with pytest.raises(FileNotFoundError, match=r"realiad_jsons_fuiad_0\.4.*" + available):
        split_dir_for(root, alpha=0.4)

    assert find_image_root(root) == os.path.join(root, IMAGE_FOLDER)
    os.makedirs(os.path.join(root, "realiad_1024"))
    with pytest.raises(ValueError, match=r"\['realiad_1024', 'realiad_256'\]"):
        find_image_root(root)
    assert find_image_root(root, resolution=256) == os.path.join(root, IMAGE_FOLDER)
    assert find_image_root(root, "realiad_1024") == os.path.join(root, "realiad_1024")
    with pytest.raises(FileNotFoundError, match="realiad_512"):
        find_image_root(root, resolution=512)


def test_no_image_folder_is_an_error(tmp_path):
    os.makedirs(tmp_path / "realiad_jsons" / FUIAD)
    with pytest.raises(FileNotFoundError, match="no image folder"):
        find_image_root(str(tmp_path))


def set_field(split, index, key, value):
    def change(content):
        content[split][index][key] = value
    return change


ENTRY_ERRORS = [
    pytest.param(
        lambda content: content.pop("meta"),
        r"missing top-level keys \['meta'\]",
        id="missing meta",
    ),
    pytest.param(
        lambda content: content.pop("test"),
        r"missing top-level keys \['test'\]",
        id="missing test",
    ),
    pytest.param(
        lambda content: content["train"].__setitem__(1, "AK.jpg"),
        r"train\[1\]: expected an object",
        id="entry not an object",
    ),
    pytest.param(
        lambda content: content["test"][1].pop("mask_path"),
        r"test\[1\]: .*missing \['mask_path'\]",
        id="missing key",
    ),
    pytest.param(
        set_field("test", 0, "anomaly_class", "XX"),
        r"test\[0\]: unknown anomaly_class 'XX'",
        id="unknown defect code",
    ),
    pytest.param(
        set_field("train", 0, "category", "bottle_cap"),
        r"train\[0\]: category 'bottle_cap' differs from the file's object 'audiojack'",
        id="category of another object",
    ),
    pytest.param(
        set_field("test", 2, "image_path", "OK/../../../secret.jpg"),
        r"test\[2\]: .*leaves the image root",
        id="dot-dot path",
    ),
    pytest.param(
        set_field("test", 2, "image_path", "/etc/secret.jpg"),
        r"test\[2\]: .*leaves the image root",
        id="absolute path",
    ),
    pytest.param(
        lambda content: content["meta"].update(prefix="../audiojack/"),
        r"train\[0\]: .*leaves the image root",
        id="prefix escapes",
    ),
    pytest.param(
        set_field("test", 0, "mask_path", None),
        r"test\[0\]: .*'HS' is a defect but mask_path is null",
        id="defect without mask",
    ),
    pytest.param(
        set_field("test", 1, "mask_path", AUDIOJACK_HS["mask_path"]),
        r"test\[1\]: .*'OK' is normal but mask_path",
        id="normal with mask",
    ),
    pytest.param(
        set_field("test", 0, "mask_path", 7),
        r"test\[0\]: mask_path must be a non-empty string",
        id="mask path not a string",
    ),
]


@pytest.mark.parametrize("change, message", ENTRY_ERRORS)
def test_bad_split_file_raises_naming_file_and_entry(root, change, message):
    json_path = rewrite_split(root, FUIAD, "audiojack", change)
    with pytest.raises(ValueError) as raised:
        load_realiad(root, alpha=0.1)
    assert str(raised.value).startswith(f"{json_path}: ")
    assert raised.match(message)


def test_unknown_entry_keys_are_ignored_and_verify_names_them_once(root, capsys):
    def add_keys(content):
        for item in content["train"] + content["test"]:
            item["view"] = "C1"
        content["test"][0]["defect_area"] = 12
    rewrite_split(root, FUIAD, "audiojack", add_keys)
    plain = by_image_name(load_realiad(root, alpha=0.1).test)
    assert by_image_name(read_split(
        split_dir_for(root, alpha=0.1), os.path.join(root, IMAGE_FOLDER)
    ).test) == plain
    assert plain[os.path.basename(AUDIOJACK_HS["image_path"])].anomaly_class == "HS"
    report = verify_dataset(root, verbose=0)
    assert report.ok and report.ignored_keys == {"defect_area": 1, "view": 5}
    assert main(["data", "verify", root]) == 0
    lines = capsys.readouterr().out.splitlines()
    notes = [line for line in lines if "ignored" in line]
    assert notes == [
        "Entry keys beyond anomaly_class, category, image_path, mask_path, ignored: "
        "defect_area (in 1 entries), view (in 5 entries)."
    ]


def test_invalid_json_names_the_file(root):
    json_path = json_path_of(root, FUIAD, "bottle_cap")
    with open(json_path, "w") as file:
        file.write('{"meta": {"prefix": "bottle_cap/"},')
    with pytest.raises(ValueError, match=f"^{json_path}: not valid JSON"):
        load_realiad(root, alpha=0.1)


def test_first_problem_is_raised_and_the_others_counted(root):
    def two_bad_codes(content):
        content["test"][0]["anomaly_class"] = "XX"
        content["test"][1]["anomaly_class"] = "YY"

    rewrite_split(root, FUIAD, "audiojack", two_bad_codes)
    message = r"test\[0\]: unknown anomaly_class 'XX'.*and 1 more problems"
    with pytest.raises(ValueError, match=message):
        load_realiad(root, alpha=0.1)


def test_empty_split_folder_is_an_error(root):
    empty = os.path.join(root, "realiad_jsons", "realiad_jsons_fuiad_0.2")
    os.makedirs(empty)
    with pytest.raises(ValueError, match=f"^{empty}: no <object>.json"):
        load_realiad(root, alpha=0.2)


def expected_counts(ok=0, **defects):
    counts = {"OK": ok, "AK": 0, "BX": 0, "CH": 0, "HS": 0, "PS": 0, "QS": 0, "YW": 0, "ZW": 0}
    counts.update(defects)
    return counts


def test_verify_clean_data_set_counts_every_split_object_and_type(root):
    report = verify_dataset(root, verbose=0)
    assert report.ok and report.problems == () and report.ignored_keys == {}
    assert report.images_checked == 7 and report.masks_checked == 3
    assert report.counts == {
        FUIAD: {
            "train": {
                "audiojack": expected_counts(ok=1, AK=1),
                "bottle_cap": expected_counts(ok=1),
            },
            "test": {
                "audiojack": expected_counts(ok=2, HS=1),
                "bottle_cap": expected_counts(ZW=1),
            },
        },
        ORIGINAL: {
            "train": {
                "audiojack": expected_counts(ok=1),
                "bottle_cap": expected_counts(ok=1),
            },
            "test": {
                "audiojack": expected_counts(ok=2, AK=1, HS=1),
                "bottle_cap": expected_counts(ZW=1),
            },
        },
    }
    rows = [line.split() for line in report.to_text().splitlines()]
    types = ["OK", "AK", "BX", "CH", "HS", "PS", "QS", "YW", "ZW"]
    assert ["setting", "split", "object", *types, "total"] in rows
    assert [ORIGINAL, "test", "audiojack", "2", "1", "0", "0", "1", "0", "0", "0", "0", "4"] in rows
    assert [ORIGINAL, "test", "(all)", "2", "1", "0", "0", "1", "0", "0", "0", "1", "5"] in rows
    assert json.loads(json.dumps(report.to_dict()))["counts"] == report.counts


def test_verify_finds_every_planted_problem(root):
    missing_image = image_path_of(root, "audiojack", AUDIOJACK_OK_2["image_path"])
    os.remove(missing_image)
    corrupt_image = image_path_of(root, "bottle_cap", BOTTLE_CAP_OK["image_path"])
    with open(corrupt_image, "wb") as file:
        file.write(b"\xff\xd8 not a JPEG")
    missing_mask = image_path_of(root, "audiojack", AUDIOJACK_HS["mask_path"])
    os.remove(missing_mask)
    colour_mask = image_path_of(root, "bottle_cap", BOTTLE_CAP_ZW["mask_path"])
    write_image(colour_mask, channels=3)
    small_mask = image_path_of(root, "audiojack", AUDIOJACK_AK["mask_path"])
    write_image(small_mask, height=12, width=16, channels=1)
    bad_code_file = rewrite_split(
        root, ORIGINAL, "bottle_cap", set_field("test", 0, "anomaly_class", "XX")
    )

    report = verify_dataset(root, workers=2, verbose=0)

    expected = [
        f"{missing_image}: image file is missing",
        f"{corrupt_image}: image file cannot be decoded",
        f"{missing_mask}: mask file is missing",
        f"{colour_mask}: mask has 3 channels",
        f"{small_mask}: mask is 16x12 but its image",
        f"{bad_code_file}: test[0]: unknown anomaly_class 'XX'",
    ]
    assert not report.ok
    # Each file is named once, although both settings list it.
    matched = [
        next(start for start in expected if problem.startswith(start))
        for problem in report.problems
    ]
    assert sorted(matched) == sorted(expected)
    # The entry with the bad code is left out of the counts, the files are not.
    assert report.counts[ORIGINAL]["test"]["bottle_cap"] == expected_counts()
    assert report.counts[FUIAD]["train"]["bottle_cap"] == expected_counts(ok=1)
    assert report.to_text().endswith("\n".join(report.problems))


def test_verify_reports_an_empty_setting_folder(root):
    os.makedirs(os.path.join(root, "realiad_jsons", "realiad_jsons_sv"))
    report = verify_dataset(root, verbose=0)
    assert len(report.problems) == 1
    empty_setting = os.path.join(root, "realiad_jsons", "realiad_jsons_sv")
    assert report.problems[0].startswith(f"{empty_setting}: no <object>.json")


def test_cli_verify_exit_status_and_output(root, capsys):
    assert main(["data", "verify", root, "--workers", "2"]) == 0
    output = capsys.readouterr().out
    assert "7 images and 3 masks checked: 0 problems." in output

    missing_image = image_path_of(root, "audiojack", AUDIOJACK_OK["image_path"])
    os.remove(missing_image)
    assert main(["data", "verify", root, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [problem.split(" (listed in")[0] for problem in report["problems"]] == [
        f"{missing_image}: image file is missing."
    ]

    os.makedirs(os.path.join(root, "realiad_512"))
    assert main(["data", "verify", root]) == 1
    assert "several image folders" in capsys.readouterr().err
    assert main(["data", "verify", root, "--resolution", "512"]) == 1
    assert "image file is missing" in capsys.readouterr().out
