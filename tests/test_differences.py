"""experiments/differences.py: one difference per run, and the effect table."""

import json
import os
import runpy

import pytest

from mtfcdd.evaluation.presets import evaluation_settings
from mtfcdd.metrics.evaluator import METRIC_NAMES

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = runpy.run_path(os.path.join(REPOSITORY, "experiments", "differences.py"))


def test_each_run_switches_one_difference_to_the_authors_value():
    runs = SCRIPT["runs"](seed=3)
    paper_fields, paper_evaluation = runs[SCRIPT["PAPER"]]
    assert paper_fields == {"seed": 3} and paper_evaluation == evaluation_settings("paper")
    assert runs[SCRIPT["AUTHORS"]][1] == evaluation_settings("authors")
    for field, name in SCRIPT["TRAINING_DIFFERENCES"].items():
        fields, evaluation = runs[name]
        assert set(fields) == {field, "seed"} and evaluation == paper_evaluation
    for setting, name in SCRIPT["EVALUATION_DIFFERENCES"].items():
        fields, evaluation = runs[name]
        changed = {key for key in evaluation if evaluation[key] != paper_evaluation[key]}
        assert fields == {"seed": 3} and changed == {setting}


def test_effects_are_changes_from_the_paper_run_of_the_same_seed():
    paper, authors, other = SCRIPT["PAPER"], SCRIPT["AUTHORS"], "max score"

    def means(values):
        return {name: dict.fromkeys(METRIC_NAMES, value) for name, value in values.items()}

    # Seed 0: 0.80 -> 0.83 (+3 points); seed 1: 0.70 -> 0.71 (+1 point).
    table = SCRIPT["effects"]({
        0: means({paper: 0.80, authors: 0.80, other: 0.83}), 1: means({paper: 0.70, authors: 0.70, other: 0.71}),
    })
    mean, spread = table[other]["AUPRO"]
    assert mean == pytest.approx(2.0) and spread == pytest.approx(2 ** 0.5)  # std of (3, 1), ddof 1
    assert table[paper]["I-AUROC"] == pytest.approx((75.0, 50 ** 0.5))
    assert "| max score | +2.0 ± 1.4 |" in SCRIPT["markdown_table"](table)
    # One seed ran every difference, a second the paper preset alone: the
    # paper's seed spread (std of 80 and 70) stands for the change's.
    table = SCRIPT["effects"]({0: means({paper: 0.80, authors: 0.80, other: 0.83}), 1: means({paper: 0.70})})
    assert table[other]["AP"] == pytest.approx((3.0, 50 ** 0.5))


@pytest.mark.parametrize("record_name", ["differences_demo.json", "differences_tiny.json"])
def test_docs_table_is_the_recorded_run(record_name):
    """docs/realiad.md shows the tables of the runs it keeps the records of."""
    with open(os.path.join(REPOSITORY, "docs", "images", record_name), encoding="utf-8") as file:
        record = json.load(file)
    with open(os.path.join(REPOSITORY, "docs", "realiad.md"), encoding="utf-8") as file:
        page = file.read()
    table = {name: {metric: tuple(value) for metric, value in row.items()} for name, row in record["effects"].items()}
    assert SCRIPT["markdown_table"](table) in page
    assert record["settings"]["data_preset"] == record_name[len("differences_"):-len(".json")]
