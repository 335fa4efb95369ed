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

pytestmark = [pytest.mark.xdist_group("custom_data")]

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TYPES = ("crack", "dent", "stain")
# The MVTec-layout set's types: names in any script, kept as written, in
# every output and on every picture (sorted: capitals before small letters).
MVTEC_TYPES = ("Kratzer-ü", "délamination", "傷")
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


def _names_in_every_output(run, data_root, test_image, calibration_folder, types, layout, out):
    """Evaluate, predict, export int8, predict with the TFLite file and
    serve the run's model, checking that each output names ``types``."""
    import mtfcdd

    model_path = os.path.join(run, "model.keras")
    model = mtfcdd.load_trained_model(model_path)
    assert model.type_codes == types and model.get_config()["type_codes"] == types

    evaluation = str(out / "evaluation")
    assert main(["evaluate", model_path, "--data", data_root, "--out", evaluation]) == 0
    with open(os.path.join(evaluation, "evaluation.json"), encoding="utf-8") as file:
        results = json.load(file)
    assert list(results) == [layout]
    assert results[layout]["type_codes"] == list(types)
    assert "alpha" not in results[layout]["settings"]
    assert results[layout]["settings"]["data"]["defect_types"] == list(types)
    with open(os.path.join(evaluation, "evaluation.md"), encoding="utf-8") as file:
        table = file.read()
    for name in types:
        assert f"| {name} |" in table
    with open(os.path.join(evaluation, "curves_image_roc.csv"), newline="", encoding="utf-8") as file:
        assert {row["type"] for row in csv.DictReader(file)} == set(types)

    predictions = str(out / "predictions")
    assert main(["predict", model_path, test_image, "--out", predictions]) == 0
    with open(os.path.join(predictions, "predictions.json"), encoding="utf-8") as file:
        predicted = json.load(file)
    assert predicted["model"]["type_codes"] == list(types)
    assert set(predicted["images"][0]["scores"]) == set(types)

    tflite = str(out / "model_int8.tflite")
    assert main([
        "export", model_path, "--quantize", "int8", "--out", tflite,
        "--calibration-images", calibration_folder, "--num-calibration", "4",
    ]) == 0
    with open(tflite + ".json", encoding="utf-8") as file:
        assert json.load(file)["type_codes"] == list(types)
    converted = str(out / "converted")
    assert main(["predict", "--tflite", tflite, test_image, "--out", converted]) == 0
    with open(os.path.join(converted, "predictions.json"), encoding="utf-8") as file:
        assert set(json.load(file)["images"][0]["scores"]) == set(types)

    from mtfcdd.serve.server import create_app

    client = create_app(model).test_client()
    facts = client.get("/model").get_json()
    assert facts["type_codes"] == list(types)
    with open(test_image, "rb") as file:
        answer = client.post("/predict", data=file.read(), content_type="image/jpeg").get_json()
    assert set(answer["scores"]) == set(types)


@pytest.mark.slow
def test_names_reach_config_model_results_predictions_export_and_server(parts, trained_run, tmp_path):
    with open(os.path.join(trained_run, "config.json")) as file:
        config = json.load(file)
    assert config["types"] == list(TYPES) and config["layout"] == "folder" and "alpha" not in config
    _names_in_every_output(
        trained_run, parts, find_images(os.path.join(parts, "test", "dent"))[0],
        os.path.join(parts, "train", "good"), TYPES, "folder", tmp_path,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "data_fixture, run_fixture, types, layout",
    [("parts", "trained_run", TYPES, "folder"), ("two_objects", "mvtec_run", MVTEC_TYPES, "mvtec")],
)
def test_collect_results_tables_a_custom_run_by_its_types(request, data_fixture, run_fixture, types, layout, tmp_path):
    from mtfcdd.evaluation.model_evaluation import evaluate
    from mtfcdd.evaluation.reports import record_data_settings, write_reports
    import mtfcdd

    root, run = request.getfixturevalue(data_fixture), request.getfixturevalue(run_fixture)
    model = mtfcdd.load_trained_model(os.path.join(run, "model.keras"))
    data = load_for_model(root, model.type_codes)
    result = evaluate(model, data.test, batch_size=16, verbose=0)
    record_data_settings(result, data)
    write_reports({data.setting: result}, str(tmp_path / "runs" / "parts"))
    completed = subprocess.run(
        [sys.executable, os.path.join(REPOSITORY, "experiments", "collect_results.py"), str(tmp_path / "runs")],
        capture_output=True, text=True, encoding="utf-8", env={**os.environ, "PYTHONPATH": REPOSITORY},
    )
    assert completed.returncode == 0, completed.stderr
    assert f"## types {', '.join(types)}" in completed.stdout
    for name in types:
        assert f"| {name} |" in completed.stdout
    assert f"({layout})" in completed.stdout and "alpha" not in completed.stdout


@pytest.mark.slow
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
    """The tiny synthetic set in MVTec AD's layout: audiojack and pcb, ``MVTEC_TYPES``."""
    return make_synthetic_dataset(
        tmp_path_factory.mktemp("mvtec") / "objects", layout="mvtec", types=MVTEC_TYPES, preset="tiny",
        progress=False,
    )


@pytest.fixture(scope="module")
def mvtec_run(two_objects, tmp_path_factory):
    run = str(tmp_path_factory.mktemp("mvtec_run") / "run")
    assert main(["train", "--data", two_objects, "--out", run, *TINY_TRAINING]) == 0
    return run


def test_mvtec_reader_moves_a_seeded_stratified_fraction_of_test_defects(two_objects):
    data = load_dataset(two_objects)
    assert data.layout == "mvtec" and data.type_codes == MVTEC_TYPES
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
        for name in MVTEC_TYPES:
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


@pytest.mark.slow
def test_mvtec_layout_trains_evaluates_and_predicts_with_the_names(two_objects, mvtec_run, tmp_path):
    with open(os.path.join(mvtec_run, "data_files.json")) as file:
        assert file.read().count("/test/") == len(load_dataset(two_objects).record["moved_to_train"])
    with open(os.path.join(mvtec_run, "config.json"), encoding="utf-8") as file:
        assert json.load(file)["types"] == list(MVTEC_TYPES)
    _names_in_every_output(
        mvtec_run, two_objects, find_images(os.path.join(two_objects, "pcb", "test", MVTEC_TYPES[2]))[0],
        os.path.join(two_objects, "pcb", "train", "good"), MVTEC_TYPES, "mvtec", tmp_path,
    )


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
    _write_image(root / "masks" / "test" / "scratch" / "k.png", channels=1)
    _write_image(root / "masks" / "validation" / "crack" / "m.png", channels=1)
    assert main(["data", "verify", str(root), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["layout"] == "folder" and report["images_checked"] == 10
    problems = "\n".join(report["problems"])
    expected = [
        "notes.txt: not an image file",
        "test/scuff: a type folder with no images",
        "masks/test/crack/h.png: mask is 4x4 but its image",
        "masks/test/crack/zz.png: a mask without its image",
        f"masks/test/scratch: masks without images: there is no folder {root}/test/scratch/",
        f"masks/validation: masks without images: there is no folder {root}/validation/",
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
    assert "audiojack test: Kratzer-ü 7, délamination 7, good 18, 傷 7" in out
    assert "0 problems" in out


def _ink_rows(picture, background):
    """The rows of ``picture`` where anything differs from ``background``."""
    return np.flatnonzero((picture != background).any(axis=(1, 2)))


@pytest.mark.filterwarnings("ignore:no installed font has the letters")
def test_type_names_outside_ascii_are_drawn_not_as_question_marks():
    import cv2

    from mtfcdd.visualization.text import FONT, put_text

    def drawn(text, draw):
        picture = np.zeros((60, 240, 3), np.uint8)
        draw(picture, text)
        return picture

    def with_text_module(picture, text):
        put_text(picture, text, (4, 45), 1.2, (255, 255, 255))

    def with_opencv(picture, text):
        cv2.putText(picture, text, (4, 45), FONT, 1.2, (255, 255, 255), 1, cv2.LINE_AA)

    # The defect the module exists for: OpenCV's font draws a Greek or Chinese letter as '?'.
    for name in ("Riss-α", "Riss-傷"):
        assert np.array_equal(drawn(name, with_opencv), drawn("Riss-?", with_opencv))
        assert not np.array_equal(drawn(name, with_text_module), drawn("Riss-?", with_text_module))
    alpha, question_mark = drawn("α", with_text_module), drawn("?", with_text_module)
    # α is as wide as it is tall, x-height only; '?' is a capital's height.
    assert _ink_rows(alpha, 0)[0] > _ink_rows(question_mark, 0)[0] + 2
    # The umlaut's dots: ink above the top of the plain u, in the same columns.
    umlaut, plain = drawn("ü", with_text_module), drawn("u", with_text_module)
    assert _ink_rows(umlaut, 0)[0] < _ink_rows(plain, 0)[0] - 2
    assert np.array_equal(drawn("Kratzer", with_text_module), drawn("Kratzer", with_opencv))


def test_panels_and_grids_draw_the_users_names(tmp_path):
    from mtfcdd.visualization.panels import GridExample, GridRow, heatmap_grid, prediction_panel

    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    heatmaps = rng.random((64, 64, 2)).astype(np.float32)

    def panel(names):
        return prediction_panel(image, heatmaps, [0.1, 0.9], names, thresholds=[0.5, 0.5], tile_size=160)

    def grid(name):
        return heatmap_grid([GridRow(name, [GridExample(image, heatmaps[..., 0], caption=name)])])

    umlaut, plain = panel(("Kratzer-ü", "dent")), panel(("Kratzer-u", "dent"))
    changed_rows = np.flatnonzero((umlaut != plain).any(axis=(1, 2)))
    changed_columns = np.flatnonzero((umlaut != plain).any(axis=(0, 2)))
    # Only the name differs: in the first type's header (above its square
    # 160-pixel tile), nowhere else.
    assert changed_rows.size and changed_rows.max() < umlaut.shape[0] - 160
    assert changed_columns.min() >= 160 and changed_columns.max() < 320
    assert not np.array_equal(panel(("Riss-α", "dent")), panel(("Riss-?", "dent")))
    assert not np.array_equal(grid("Riss-α"), grid("Riss-?"))


def test_letters_no_font_has_and_no_matplotlib_are_said_once(monkeypatch):
    import cv2

    from mtfcdd.visualization import text

    unassigned = "\u0378"  # no letter in Unicode, so in no font
    with pytest.warns(UserWarning, match=r"no installed font has the letters '\\u0378'"):
        text.text_size("crack " + unassigned, 0.5)
    text._warn_once.cache_clear()
    monkeypatch.setitem(sys.modules, "matplotlib.font_manager", None)
    with pytest.warns(UserWarning, match=r"install matplotlib \(pip install 'mtfcdd\[plots\]'\)"):
        picture = np.zeros((30, 120, 3), np.uint8)
        text.put_text(picture, "Riss-α", (2, 20), 0.5, (255, 255, 255))
    expected = np.zeros_like(picture)
    cv2.putText(expected, "Riss-α", (2, 20), text.FONT, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    assert np.array_equal(picture, expected)


def test_verify_lists_every_problem_of_an_mvtec_tree_and_a_manifest(tmp_path, capsys):
    root = tmp_path / "objects"
    for name in ("bolt/train/good/a.png", "bolt/train/good/b.png", "bolt/train/crack/x.png",
                 "bolt/test/good/c.png", "bolt/test/crack/d.png", "bolt/test/crack/e.png",
                 "bolt/test/dent/f.png"):
        _write_image(root / name)
    _write_image(root / "bolt" / "ground_truth" / "crack" / "d_mask.png", size=(4, 4), channels=1)
    _write_image(root / "bolt" / "ground_truth" / "crack" / "q_mask.png", channels=1)
    _write_image(root / "bolt" / "ground_truth" / "scuff" / "g_mask.png", channels=1)
    assert main(["data", "verify", str(root), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["layout"] == "mvtec"
    problems = "\n".join(report["problems"])
    expected = [
        "bolt/train/crack: MVTec's training folder holds normal images only",
        "ground_truth/crack/d_mask.png: mask is 4x4 but its image",
        "ground_truth/crack/q_mask.png: a mask without its image",
        f"ground_truth/scuff: masks without images: there is no folder {root}/bolt/test/scuff/",
        "the type 'dent' has 1 test image; at least 2 are needed",
    ]
    for line in expected:
        assert line in problems
    assert len(report["problems"]) == len(expected)

    manifest = tmp_path / "images.csv"
    manifest.write_text(
        "path,split,label,mask\nobjects/bolt/train/good/a.png,train,good,\n"
        "objects/bolt/train/good/gone.png,train,good,\nobjects/bolt/test/crack/d.png,test,crack,none.png\n"
    )
    assert main(["data", "verify", str(manifest), "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert [problem.split(": ", 1)[0] for problem in problems] == [
        f"{manifest}, line 3", f"{manifest}, line 4", str(manifest),
    ]
    assert "gone.png: no such image file" in problems[0] and "none.png: no such mask file" in problems[1]
    assert "the type 'crack' has 1 test images but no training images" in problems[2]


@pytest.mark.slow
def test_build_model_names_its_channels_and_numbers_them_only_without_names():
    import mtfcdd

    named = mtfcdd.build_model(type_codes=("Riss", "傷", "dent"), image_size=75, backbone_weights=None)
    assert named.type_codes == ("Riss", "傷", "dent") and named.output_shape[-1] == 3
    assert mtfcdd.build_model(num_types=3, image_size=75, backbone_weights=None).type_codes == (
        "TYPE1", "TYPE2", "TYPE3",
    )
    assert mtfcdd.build_model(image_size=75, backbone_weights=None).type_codes == mtfcdd.DEFECT_CODES
    with pytest.raises(ValueError, match="type_codes has 2 codes for 3 types"):
        mtfcdd.build_model(num_types=3, type_codes=("crack", "dent"), image_size=75, backbone_weights=None)


def test_letters_dejavu_sans_lacks_come_from_another_installed_font():
    import warnings

    from mtfcdd.visualization.plots import curves_plot
    from mtfcdd.visualization.text import put_text

    # U+1D504 (Fraktur A) is not in DejaVu Sans but in STIX, which matplotlib
    # ships: no "missing glyph" or "no installed font" warning may come.
    name = "\U0001d504-Riss"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        curves_plot([(name, np.linspace(0, 1, 5), np.linspace(0, 1, 5))], "ROC", "x", "y", "type")
        put_text(np.zeros((40, 200, 3), np.uint8), name, (2, 30), 0.8, (255, 255, 255))
