"""Your own data set: the folder layout, its type names in every output, label noise.

One synthetic folder-layout set (the `tiny` preset, types named crack, dent,
stain) is made per module; one tiny model is trained on it through the
command line and then evaluated, exported, predicted with and served, each
output checked for the user's names.
"""

import csv
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from mtfcdd.cli import main
from mtfcdd.constants import NORMAL_CLASS
from mtfcdd.data.dataset import with_label_noise
from mtfcdd.data.layouts import load_dataset, load_for_model
from mtfcdd.data.synthetic.layouts import make_synthetic_dataset
from mtfcdd.utils.image_files import find_images

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TYPES = ("crack", "dent", "stain")
TINY_TRAINING = [
    "--image-size", "75", "--backbone-weights", "none", "--epochs", "1", "--steps-per-epoch", "2",
    "--batch-size", "4", "--augmentation", "none",
]


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """The tiny synthetic set in the folder layout, types crack, dent, stain."""
    return make_synthetic_dataset(
        tmp_path_factory.mktemp("custom") / "parts", layout="folder", types=TYPES, preset="tiny", progress=False
    )


@pytest.fixture(scope="module")
def trained_run(parts, tmp_path_factory):
    run = str(tmp_path_factory.mktemp("run") / "run")
    assert main(["train", "--data", parts, "--out", run, *TINY_TRAINING]) == 0
    return run


def _files(root, *parts):
    folder = os.path.join(root, *parts)
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_folder_reader_labels_every_image_by_its_folder(parts):
    data = load_dataset(parts)
    assert data.layout == "folder" and data.alpha is None
    assert data.type_codes == data.defect_types == TYPES
    for split, samples in (("train", data.train), ("test", data.test)):
        expected = {name: len(_files(parts, split, name)) for name in ("good",) + TYPES}
        assert len(samples) == sum(expected.values())
        for sample in samples:
            folder = os.path.basename(os.path.dirname(sample.image_path))
            if folder == "good":
                assert sample.anomaly_class == NORMAL_CLASS and sample.labels == (0, 0, 0)
                assert sample.mask_path is None
            else:
                assert sample.anomaly_class == folder
                assert sample.labels == tuple(int(name == folder) for name in TYPES)
                stem = os.path.splitext(os.path.basename(sample.image_path))[0]
                assert sample.mask_path == os.path.join(parts, "masks", split, folder, stem + ".png")
    multi = load_dataset(parts, multi_class=True)
    assert multi.type_codes == ("ANY",) and multi.defect_types == TYPES
    assert [sample.labels for sample in multi.train] == [(int(any(s.labels)),) for s in data.train]
    # Figure 2's rows: the user's types, for the multi-class model too.
    from mtfcdd.visualization.figures import select_examples

    assert [code for code, _ in select_examples(multi.test, ("ANY",), 2)] == list(TYPES)
    assert [code for code, _ in select_examples(data.test, ("stain", "crack", "dent"), 2)] == ["stain", "crack", "dent"]


def test_types_option_orders_the_channels_and_must_name_every_type(parts):
    data = load_dataset(parts, types=("stain", "crack", "dent"))
    assert data.type_codes == ("stain", "crack", "dent")
    crack = next(sample for sample in data.train if sample.anomaly_class == "crack")
    assert crack.labels == (0, 1, 0)
    with pytest.raises(ValueError, match=r"missing \['stain'\]"):
        load_dataset(parts, types=("crack", "dent"))
    with pytest.raises(ValueError, match=r"not \['burr'\]"):
        load_dataset(parts, types=("crack", "dent", "stain", "burr"))
    with pytest.raises(ValueError, match="alpha=0.1 does not apply"):
        load_dataset(parts, alpha=0.1)


def test_bad_trees_are_refused_naming_the_folder(tmp_path):
    root = tmp_path / "tree"
    image = np.zeros((8, 8, 3), np.uint8)
    import cv2

    for folder in ("train/OK", "train/Crack", "test/OK", "test/crack ", "test/burr"):
        (root / folder).mkdir(parents=True)
        cv2.imwrite(str(root / folder / "a.png"), image)
    with pytest.raises(FileNotFoundError, match=r"train/good: no normal training folder.*'OK'"):
        load_dataset(str(root))
    with pytest.raises(ValueError, match=r"test/burr: the type 'burr' has test images but no training"):
        load_dataset(str(root), normal_name="OK")
    shutil.rmtree(root / "test" / "burr")
    (root / "train" / "crack ").mkdir()
    cv2.imwrite(str(root / "train" / "crack " / "b.png"), image)
    with pytest.raises(ValueError, match="'Crack' and 'crack ' differ only in case or spacing"):
        load_dataset(str(root), normal_name="OK")


def test_label_noise_relabels_a_seeded_fraction_of_each_type(parts):
    data = load_dataset(parts)
    noisy = load_dataset(parts, label_noise=0.5, seed=3)
    assert noisy.setting == "folder, noise 0.5" and data.setting == "folder"
    relabelled = set(noisy.record["relabelled_normal"])
    for name in TYPES:
        paths = [sample.image_path for sample in data.train if sample.anomaly_class == name]
        assert len(relabelled & set(paths)) == round(0.5 * len(paths))
    for before, after in zip(data.train, noisy.train):
        if before.image_path in relabelled:
            assert after.anomaly_class == NORMAL_CLASS and after.labels == (0, 0, 0) and after.mask_path is None
        else:
            assert after == before
    assert noisy.test == data.test
    assert with_label_noise(data, 0.5, 3).record == noisy.record
    assert with_label_noise(data, 0.5, 4).record != noisy.record


def test_names_reach_config_model_results_predictions_export_and_server(parts, trained_run, tmp_path):
    import mtfcdd

    with open(os.path.join(trained_run, "config.json")) as file:
        config = json.load(file)
    assert config["types"] == list(TYPES) and config["layout"] == "folder" and "alpha" not in config
    model = mtfcdd.load_trained_model(os.path.join(trained_run, "model.keras"))
    assert model.type_codes == TYPES and model.get_config()["type_codes"] == TYPES

    evaluation = str(tmp_path / "evaluation")
    assert main(["evaluate", os.path.join(trained_run, "model.keras"), "--data", parts, "--out", evaluation]) == 0
    with open(os.path.join(evaluation, "evaluation.json")) as file:
        results = json.load(file)
    assert list(results) == ["folder"]
    assert results["folder"]["type_codes"] == list(TYPES)
    assert "alpha" not in results["folder"]["settings"]
    assert results["folder"]["settings"]["data"]["defect_types"] == list(TYPES)
    table = open(os.path.join(evaluation, "evaluation.md")).read()
    for name in TYPES:
        assert f"| {name} |" in table
    with open(os.path.join(evaluation, "curves_image_roc.csv"), newline="") as file:
        assert {row["type"] for row in csv.DictReader(file)} == set(TYPES)

    test_image = find_images(os.path.join(parts, "test", "dent"))[0]
    predictions = str(tmp_path / "predictions")
    assert main(["predict", os.path.join(trained_run, "model.keras"), test_image, "--out", predictions]) == 0
    with open(os.path.join(predictions, "predictions.json")) as file:
        predicted = json.load(file)
    assert predicted["model"]["type_codes"] == list(TYPES)
    assert set(predicted["images"][0]["scores"]) == set(TYPES)

    tflite = str(tmp_path / "model_int8.tflite")
    assert main([
        "export", os.path.join(trained_run, "model.keras"), "--quantize", "int8", "--out", tflite,
        "--calibration-images", os.path.join(parts, "train", "good"), "--num-calibration", "4",
    ]) == 0
    with open(tflite + ".json") as file:
        assert json.load(file)["type_codes"] == list(TYPES)
    converted = str(tmp_path / "converted")
    assert main(["predict", "--tflite", tflite, test_image, "--out", converted]) == 0
    with open(os.path.join(converted, "predictions.json")) as file:
        assert set(json.load(file)["images"][0]["scores"]) == set(TYPES)

    from mtfcdd.serve.server import create_app

    client = create_app(model).test_client()
    facts = client.get("/model").get_json()
    assert facts["type_codes"] == list(TYPES)
    with open(test_image, "rb") as file:
        answer = client.post("/predict", data=file.read(), content_type="image/jpeg").get_json()
    assert set(answer["scores"]) == set(TYPES)


def test_collect_results_tables_a_custom_run_by_its_types(parts, trained_run, tmp_path):
    from mtfcdd.evaluation.model_evaluation import evaluate
    from mtfcdd.evaluation.reports import record_data_settings, write_reports
    import mtfcdd

    model = mtfcdd.load_trained_model(os.path.join(trained_run, "model.keras"))
    data = load_for_model(parts, model.type_codes)
    result = evaluate(model, data.test, batch_size=16, verbose=0)
    record_data_settings(result, data)
    write_reports({data.setting: result}, str(tmp_path / "runs" / "parts"))
    completed = subprocess.run(
        [sys.executable, os.path.join(REPOSITORY, "experiments", "collect_results.py"), str(tmp_path / "runs")],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": REPOSITORY},
    )
    assert completed.returncode == 0, completed.stderr
    assert "## types crack, dent, stain" in completed.stdout
    for name in TYPES:
        assert f"| {name} |" in completed.stdout
    assert "(folder)" in completed.stdout and "alpha" not in completed.stdout


@pytest.mark.parametrize("count", [12])
def test_twelve_types_and_the_multi_class_setting_train(tmp_path, count):
    names = tuple(f"type {index} é" for index in range(count))
    root = make_synthetic_dataset(tmp_path / "many", layout="folder", types=names, preset="tiny", progress=False)
    data = load_dataset(root, types=names)
    assert data.type_codes == names
    assert {sample.anomaly_class for sample in data.train} == set(names) | {NORMAL_CLASS}
    assert main(["train", "--data", root, "--out", str(tmp_path / "k12"), "--types", ",".join(names), *TINY_TRAINING]) == 0
    import mtfcdd

    assert mtfcdd.load_trained_model(str(tmp_path / "k12" / "model.keras")).type_codes == names
    assert main(["train", "--data", root, "--out", str(tmp_path / "k1"), "--multi-class", *TINY_TRAINING]) == 0
    assert mtfcdd.load_trained_model(str(tmp_path / "k1" / "model.keras")).type_codes == ("ANY",)


@pytest.fixture(scope="module")
def two_objects(tmp_path_factory):
    """The tiny synthetic set in MVTec AD's layout: audiojack and pcb, types crack, dent, stain."""
    return make_synthetic_dataset(
        tmp_path_factory.mktemp("mvtec") / "objects", layout="mvtec", types=TYPES, preset="tiny", progress=False
    )


def test_mvtec_reader_moves_a_seeded_stratified_fraction_of_test_defects(two_objects):
    data = load_dataset(two_objects)
    assert data.layout == "mvtec" and data.type_codes == TYPES
    moved = data.record["moved_to_train"]
    train_paths = {sample.image_path for sample in data.train}
    test_paths = {sample.image_path for sample in data.test}
    assert not train_paths & test_paths
    assert {os.path.join(two_objects, path) for path in moved} == {
        sample.image_path for sample in data.train if sample.anomaly_class != NORMAL_CLASS
    }
    for object_name in ("audiojack", "pcb"):
        assert len(_files(two_objects, object_name, "train", "good")) == sum(
            1 for sample in data.train if sample.category == object_name and sample.anomaly_class == NORMAL_CLASS
        )
        for name in TYPES:
            on_disk = len(_files(two_objects, object_name, "test", name))
            trained = sum(1 for path in moved if path.startswith(f"{object_name}/test/{name}/"))
            assert trained == round(0.5 * on_disk) and on_disk - trained >= 1
    for sample in data.test:
        if sample.anomaly_class != NORMAL_CLASS:
            stem = os.path.splitext(os.path.basename(sample.image_path))[0]
            assert sample.mask_path == os.path.join(
                two_objects, sample.category, "ground_truth", sample.anomaly_class, f"{stem}_mask.png"
            )
    assert load_dataset(two_objects).record == data.record
    other = load_dataset(two_objects, defect_train_fraction=0.25)
    assert len(other.record["moved_to_train"]) < len(moved)
    assert load_dataset(two_objects, objects=["pcb"]).record["moved_to_train"][0].startswith("pcb/")
    with pytest.raises(ValueError, match="defect_train_fraction must lie in"):
        load_dataset(two_objects, defect_train_fraction=1.0)


def test_mvtec_layout_trains_evaluates_and_predicts_with_the_names(two_objects, tmp_path):
    run = str(tmp_path / "run")
    assert main(["train", "--data", two_objects, "--out", run, *TINY_TRAINING]) == 0
    with open(os.path.join(run, "data_files.json")) as file:
        assert file.read().count("/test/") == len(load_dataset(two_objects).record["moved_to_train"])
    evaluation = str(tmp_path / "evaluation")
    assert main(["evaluate", os.path.join(run, "model.keras"), "--data", two_objects, "--out", evaluation]) == 0
    with open(os.path.join(evaluation, "evaluation.json")) as file:
        result = json.load(file)["mvtec"]
    assert result["type_codes"] == list(TYPES)
    assert result["settings"]["test_images"] == len(load_dataset(two_objects).test)
    predictions = str(tmp_path / "predictions")
    image = find_images(os.path.join(two_objects, "pcb", "test", "stain"))[0]
    assert main(["predict", os.path.join(run, "model.keras"), image, "--out", predictions]) == 0
    with open(os.path.join(predictions, "predictions.json")) as file:
        assert set(json.load(file)["images"][0]["scores"]) == set(TYPES)


def test_a_manifest_written_from_a_folder_tree_loads_the_same_samples(parts, tmp_path):
    from mtfcdd.data.manifest import write_manifest

    tree = load_dataset(parts, types=("dent", "crack", "stain"))
    manifest = write_manifest(tree, os.path.join(parts, "manifest.csv"))
    try:
        with open(manifest) as file:
            header, first = file.readline().strip(), file.readline().split(",")
        assert header == "path,split,label,mask" and not os.path.isabs(first[0])
        # A pathlib.Path names the file as well as a str does.
        read = load_dataset(pathlib.Path(manifest), types=("dent", "crack", "stain"))
        assert read.layout == "manifest"
        assert (read.train, read.test, read.type_codes) == (tree.train, tree.test, tree.type_codes)
    finally:
        os.remove(manifest)
    bad = tmp_path / "bad.csv"
    bad.write_text("path,split,label\na.png,train,good\n../b.png,test,good\n")
    with pytest.raises(ValueError, match=r"bad.csv, line 3: path '../b.png' leaves the manifest's folder"):
        load_dataset(str(bad))
    bad.write_text("path,split,label\na.png,validation,good\n")
    with pytest.raises(ValueError, match=r"line 2: split 'validation'"):
        load_dataset(str(bad))


def _write_image(path, size=(8, 8), channels=3):
    import cv2

    os.makedirs(os.path.dirname(path), exist_ok=True)
    cv2.imwrite(str(path), np.full((*size, channels), 128, np.uint8))


def test_verify_lists_every_problem_of_a_folder_tree_at_once(tmp_path, capsys):
    root = tmp_path / "tree"
    for name in ("train/good/a.png", "train/good/b.png", "train/crack/c.png", "train/crack/d.png",
                 "train/Dent/e.png", "train/dent /f.png", "test/good/g.png", "test/crack/h.png",
                 "test/burr/i.png", "train/stain/j.png"):
        _write_image(root / name)
    (root / "train" / "crack" / "notes.txt").write_text("taken on Monday")
    (root / "test" / "scuff").mkdir()
    _write_image(root / "masks" / "test" / "crack" / "h.png", size=(4, 4), channels=1)
    _write_image(root / "masks" / "test" / "crack" / "zz.png", channels=1)
    assert main(["data", "verify", str(root), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["layout"] == "folder" and report["images_checked"] == 10
    problems = "\n".join(report["problems"])
    expected = [
        "notes.txt: not an image file",
        "test/scuff: a type folder with no images",
        "masks/test/crack/h.png: mask is 4x4 but its image",
        "masks/test/crack/zz.png: a mask without its image",
        "the type 'burr' has 1 test images but no training images",
        "the types 'Dent' and 'dent ' differ only in case or spacing",
        "the type 'Dent' has 1 train image; at least 2 are needed",
        "the type 'dent ' has 1 train image; at least 2 are needed",
        "the type 'stain' has 1 train image; at least 2 are needed",
    ]
    for line in expected:
        assert line in problems
    assert len(report["problems"]) == len(expected)


def test_verify_passes_the_synthetic_layouts_and_a_manifest(parts, two_objects, capsys):
    assert main(["data", "verify", parts]) == 0
    assert main(["data", "verify", two_objects]) == 0
    out = capsys.readouterr().out
    assert "audiojack test: crack 7, dent 7, good 18, stain 7" in out
    assert "0 problems" in out
