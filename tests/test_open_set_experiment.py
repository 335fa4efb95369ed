"""experiments/open_set.py: leave one type out, and the open-set table."""

import csv
import json
import os
import runpy

import cv2
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mtfcdd.constants import DEFECT_CODES, NORMAL_CLASS
from mtfcdd.data.synthetic.layouts import make_synthetic_dataset
from mtfcdd.inference.open_set import UNKNOWN_DEFECT

SCRIPT = runpy.run_path(
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "experiments", "open_set.py")
)
FOLDS = ("AK", "BX")


ARGUMENTS = ("--data-preset", "tiny", "--folds", *FOLDS, "--image-size", "75", "--epochs", "1", "--steps", "6",
             "--batch-size", "8", "--verbose", "0")


# The tests of the one protocol run share a worker, so that it is run once,
# not once per xdist worker.
SHARES_THE_RUN = pytest.mark.xdist_group("open_set_run")


@pytest.fixture(scope="module")
def open_set_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("open_set")
    results = SCRIPT["main"](["--out", str(out), *ARGUMENTS])
    with open(out / SCRIPT["PER_IMAGE_FILE"]) as file:
        rows = list(csv.DictReader(file))
    return out, results, rows


def fold_scores(out, fold):
    with open(out / "folds" / fold / SCRIPT["SCORES_FILE"]) as file:
        return json.load(file)


@pytest.mark.slow
@SHARES_THE_RUN
def test_each_fold_trains_without_its_type(open_set_run):
    out, _, _ = open_set_run
    for fold in FOLDS:
        config = json.loads((out / "folds" / fold / "run" / "config.json").read_text())
        assert config["exclude_types"] == [fold]
        scores = fold_scores(out, fold)
        assert scores["type_codes"] == [code for code in DEFECT_CODES if code != fold]
        # Every test image is scored, those of the held-out type included.
        assert fold in scores["test_classes"] and NORMAL_CLASS in scores["test_classes"]


@pytest.mark.slow
@SHARES_THE_RUN
def test_table_agrees_with_the_per_image_scores(open_set_run):
    out, results, rows = open_set_run
    for fold in FOLDS:
        scores = fold_scores(out, fold)
        type_scores = np.asarray(scores["test_scores"])
        detected = (type_scores >= np.asarray(scores["thresholds"])).any(axis=1)
        for method in SCRIPT["METHODS"]:
            row = results[fold][method]
            images = [image for image in rows if image["fold"] == fold and image["method"] == method]
            assert [image["image"] for image in images] == scores["test_paths"]
            classes = np.array([image["class"] for image in images])
            open_set = np.array([float(image["open_set_score"]) for image in images])
            decision = np.array([image["decision"] for image in images])
            # (a) and (b), recomputed with scikit-learn from the CSV.
            versus_normal = np.isin(classes, [fold, NORMAL_CLASS])
            assert row["auroc_vs_normal"] == pytest.approx(
                roc_auc_score(classes[versus_normal] == fold, open_set[versus_normal]))
            versus_known = classes != NORMAL_CLASS
            assert row["auroc_vs_known"] == pytest.approx(
                roc_auc_score(classes[versus_known] == fold, open_set[versus_known]))
            # The decisions: a known type where a score passes its threshold,
            # else unknown where the open-set score passes the rule's.
            expected = np.where(detected, SCRIPT["KNOWN_DECISION"], np.where(
                open_set >= row["open_set_threshold"], UNKNOWN_DEFECT, SCRIPT["NORMAL_DECISION"]))
            assert list(decision) == list(expected)
            held_out = classes == fold
            assert row["unknown"] == pytest.approx(np.mean(decision[held_out] == UNKNOWN_DEFECT))
            assert row["known"] == pytest.approx(np.mean(detected[held_out]))
            assert row["unknown"] + row["known"] + row["missed"] == pytest.approx(1.0)
            normal = classes == NORMAL_CLASS
            assert row["normal_called_unknown"] == pytest.approx(np.mean(decision[normal] == UNKNOWN_DEFECT))
            # (d): from the type scores; the rule changes no known-type answer.
            assert row["known_auroc"] == pytest.approx(np.mean([
                roc_auc_score(np.asarray(scores["test_classes"]) == code, type_scores[:, channel])
                for channel, code in enumerate(scores["type_codes"]) if code in scores["test_classes"]
            ]))
            assert row["known_answers_changed"] == 0
    for method in SCRIPT["METHODS"]:
        for column, value in results["mean"][method].items():
            assert value == pytest.approx(np.mean([results[fold][method][column] for fold in FOLDS]))


@pytest.mark.slow
@SHARES_THE_RUN
def test_table_and_figure_are_written(open_set_run):
    out, results, _ = open_set_run
    table = (out / SCRIPT["TABLE_FILE"]).read_text()
    for fold in (*FOLDS, "mean"):
        assert f"| {fold} | max_ratio (baseline) | {100 * results[fold]['max_ratio']['auroc_vs_normal']:.1f} |" in table
    saved = json.loads((out / SCRIPT["RESULTS_FILE"]).read_text())
    assert saved["settings"]["folds"] == list(FOLDS) and saved["results"]["mean"] == results["mean"]
    figure = cv2.imread(str(out / SCRIPT["FIGURE_FILE"]))
    # One row per fold (a caption line under each), examples beside the label column.
    assert figure is not None and figure.shape[1] > figure.shape[0] / len(FOLDS)


@pytest.mark.slow
@SHARES_THE_RUN
def test_a_second_call_reuses_the_folds(open_set_run):
    out, results, _ = open_set_run
    scores = [out / "folds" / fold / SCRIPT["SCORES_FILE"] for fold in FOLDS]
    written = [path.stat().st_mtime_ns for path in scores]
    assert SCRIPT["main"](["--out", str(out), *ARGUMENTS]) == results
    assert [path.stat().st_mtime_ns for path in scores] == written


def test_unknown_fold_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        SCRIPT["main"](["--out", str(tmp_path), "--data-preset", "tiny", "--folds", "XX", "--verbose", "0"])
    assert raised.value.code == 2
    assert "--folds XX: not a defect type of the synthetic tiny set (its types: AK, BX," in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # refused before generating any data


@pytest.fixture(scope="module")
def parts_set(tmp_path_factory):
    """A synthetic set in the folder layout with the user's type names."""
    return make_synthetic_dataset(tmp_path_factory.mktemp("parts") / "data", layout="folder",
                                  types=("crack", "dent", "stain"), preset="tiny", progress=False)


def test_a_fold_of_another_data_set_is_refused(parts_set, tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        SCRIPT["main"](["--out", str(tmp_path), "--data", parts_set, "--folds", "AK", "--verbose", "0"])
    assert raised.value.code == 2
    assert f"--folds AK: not a defect type of {parts_set} (its types: crack, dent, stain)" in capsys.readouterr().err


@pytest.mark.slow
def test_the_protocol_runs_on_your_own_types(parts_set, tmp_path):
    """--data: a folder-layout set with the user's type names, one fold."""
    results = SCRIPT["main"](["--out", str(tmp_path), "--data", parts_set, "--folds", "dent",
                              *ARGUMENTS[ARGUMENTS.index("--image-size"):]])
    config = json.loads((tmp_path / "folds" / "dent" / "run" / "config.json").read_text())
    assert config["exclude_types"] == ["dent"] and config["layout"] == "folder" and "alpha" not in config
    scores = fold_scores(tmp_path, "dent")
    assert scores["type_codes"] == ["crack", "stain"]
    assert {"crack", "dent", "stain", NORMAL_CLASS} == set(scores["test_classes"])
    assert set(results) == {"dent", "mean"} and not (tmp_path / "data").exists()


@pytest.mark.parametrize("record_name", ["open_set.json", "open_set_parts.json"])
def test_docs_table_is_the_recorded_run(record_name):
    """docs/open_set.md shows the tables of the runs it keeps the records of."""
    repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(repository, "docs", "images", record_name), encoding="utf-8") as file:
        record = json.load(file)
    with open(os.path.join(repository, "docs", "open_set.md"), encoding="utf-8") as file:
        page = file.read()
    assert SCRIPT["markdown_table"](record["results"]) in page
    assert set(record["settings"]["folds"]) < set(record["results"])  # every fold and the mean
