"""The demo, the experiment scripts and the results collector, end to end."""

import csv
import json
import os
import runpy
import subprocess
import sys

import cv2
import pytest

import mtfcdd
from mtfcdd.cli import main
from mtfcdd.cli.experiment import experiment_main, experiment_parser
from mtfcdd.data.realiad.reader import load_realiad
from mtfcdd.evaluation.curve_reports import CURVE_FILES
from mtfcdd.evaluation.reports import settings_line
from mtfcdd.training.trainer import hold_out
from mtfcdd.training.training_curves import HELD_OUT_PREFIX, PLOT_FILE
from mtfcdd.workflows import demo
from mtfcdd.workflows.experiment import FIGURE_FILE

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENTS = os.path.join(REPOSITORY, "experiments")
FAST = ["--image-size", "75", "--epochs", "1", "--steps-per-epoch", "2", "--backbone-weights", "none"]


@pytest.mark.slow
def test_demo_end_to_end_at_tiny_size(tmp_path, capsys):
    output = tmp_path / "demo"
    arguments = ["demo", "--out", str(output), "--preset", "tiny", "--tensorboard"] + FAST
    assert main(arguments) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == f"Results, model and figures in {output / 'run'}"
    assert any(line.startswith("| Scratch |") for line in printed)
    assert any("backbone weights None" in line for line in printed)
    curve_files = [f"curves_{curve_file.name}.{kind}" for curve_file in CURVE_FILES.values() for kind in ("csv", "png")]
    for name in ("model.keras", "results.md", "results.json", "results_table3.csv", FIGURE_FILE, PLOT_FILE,
                 *curve_files):
        assert (output / "run" / name).is_file(), name
    result = json.loads((output / "run" / "results.json").read_text())["0.4"]
    assert result["settings"]["image_size"] == [75, 75]
    assert result["settings"]["training"]["tensorboard"] and list((output / "run" / "tensorboard").rglob("events.*"))

    # docs/make_figures.py turns this run into the docs' figures.
    figures = runpy.run_path(os.path.join(REPOSITORY, "docs", "make_figures.py"))
    record = figures["make_figures"](str(output), str(tmp_path / "figures"), with_int8=False)
    assert record["demo_heatmaps_per_type.png"]["mean"] == result["metrics"]["Mean"]
    assert record["copied_from_the_run"]["demo_heatmaps_per_type.png"] == FIGURE_FILE
    for name, run_file in record["copied_from_the_run"].items():
        assert (tmp_path / "figures" / name).read_bytes() == (output / "run" / run_file).read_bytes(), name
    assert record["contact_sheets"] and all(
        (tmp_path / "figures" / name).is_file() for name in record["contact_sheets"]
    )
    panels = {name: record[name] for name in ("prediction_defective.png", "prediction_normal.png")}
    assert panels["prediction_defective.png"]["class"] != "OK" and panels["prediction_normal.png"]["class"] == "OK"
    assert "float32_vs_int8.png" not in record and not (tmp_path / "figures" / "float32_vs_int8.png").exists()
    for name in panels:
        assert (output / record[name]["image"]).is_file()
        assert cv2.imread(str(tmp_path / "figures" / name)) is not None, name
    assert json.loads((tmp_path / "figures" / "figures.json").read_text()) == record


def test_auto_weights_fall_back_to_synthetic_offline(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: Name or service not known")

    messages = []
    monkeypatch.setattr(demo, "build_backbone", offline)
    assert demo.resolve_backbone_weights("auto", 96, log=messages.append) == "synthetic"
    assert "ImageNet weights unavailable" in messages[0]
    monkeypatch.setattr(demo, "build_backbone", lambda *args, **kwargs: None)
    assert demo.resolve_backbone_weights("auto", 96) == "imagenet"
    assert demo.resolve_backbone_weights(None, 96) is None


@pytest.mark.slow
def test_experiment_script_and_collector(tiny_dataset, tmp_path, capsys):
    results = tmp_path / "results"
    experiment_main(
        "multi_class_alpha_0.2", 0.2, True,
        argv=["--data", tiny_dataset, "--out", str(results / "multi_class_alpha_0.2"), "--batch-size", "8",
              "--sampling-classes", "binary", "--pixel-protocol", "authors", "--augmentation", "mtfcdd-0.1",
              "--threshold-fraction", "0.25"] + FAST,
    )
    assert capsys.readouterr().out.strip().endswith(str(results / "multi_class_alpha_0.2"))
    settings = json.loads((results / "multi_class_alpha_0.2" / "results.json").read_text())["0.2"]["settings"]
    training = settings["training"]
    assert (training["epochs"], training["steps_per_epoch"], training["sampling_classes"]) == (1, 2, "binary")
    training_split = load_realiad(tiny_dataset, alpha=0.2, num_types=1).train
    assert training["training_images"] == len(hold_out(training_split, 0.25, seed=0)[0]) < len(training_split)
    # The held-out images' I-AUROC of the one channel is logged and drawn.
    run = results / "multi_class_alpha_0.2"
    with open(run / "training_log.csv") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["epoch", "loss", HELD_OUT_PREFIX + "ANY"]  # no empty val_ columns
    assert 0 <= float(rows[0][HELD_OUT_PREFIX + "ANY"]) <= 1
    assert cv2.imread(str(run / PLOT_FILE)) is not None
    assert settings["pixel_protocol"] == "authors"
    assert settings["decision_thresholds"] == training["threshold_source"] == (
        "25 % of the training split, held out from training"
    )
    assert training["augmentation"]["fill_mode"] == "reflect"  # the mtfcdd-0.1 values
    sys.argv = ["collect_results.py", str(results)]
    runpy.run_path(os.path.join(EXPERIMENTS, "collect_results.py"), run_name="__main__")
    tables = (results / "paper_tables.md").read_text()
    assert "## multi-class" in tables and "Table 5" in tables and "I-AUROC (alpha=0.2)" in tables


def test_experiment_defaults_are_the_paper_runs():
    defaults = vars(experiment_parser("multi_type_alpha_0.1", 0.1, False).parse_args(["--data", "somewhere"]))
    assert defaults["epochs"] == 10 and defaults["augmentation"] == "authors"
    assert defaults["threshold_fraction"] == 0 and defaults["sampling_classes"] == "types"
    assert defaults["pixel_protocol"] == "per-type" and defaults["batch_size"] == 32


@pytest.mark.slow
def test_cli_evaluate_pixel_protocol_decides_which_pixels_count(tiny_dataset, tmp_path, capsys):
    model = mtfcdd.build_model(8, 75, backbone_weights=None)
    model.save(tmp_path / "model.keras")
    test = load_realiad(tiny_dataset, alpha=0.1).test
    counts = {}
    for protocol, reports in (("per-type", []), ("authors", ["--out", str(tmp_path / "reports")])):
        assert main(["evaluate", str(tmp_path / "model.keras"), "--data", tiny_dataset, "--pixel-size", "16",
                     "--pixel-protocol", protocol, "--json", *reports]) == 0
        # stdout is the JSON document alone, even when reports are written.
        result = json.loads(capsys.readouterr().out)
        assert result["settings"]["pixel_protocol"] == result["pixel_protocol"] == protocol
        counts[protocol] = result["counts"]
    normal = sum(sample.anomaly_class == "OK" for sample in test)
    for code in mtfcdd.DEFECT_CODES:
        pixels = {protocol: counts[protocol][code]["normal_pixels"] + counts[protocol][code]["defect_pixels"]
                  for protocol in counts}
        assert pixels["authors"] == len(test) * 16 * 16
        assert pixels["per-type"] == (normal + sum(sample.anomaly_class == code for sample in test)) * 16 * 16
    assert json.load(open(tmp_path / "reports" / "evaluation.json"))


@pytest.mark.parametrize("kind", ["multi_type", "multi_class"])
@pytest.mark.parametrize("alpha", ["0.1", "0.2", "0.4"])
def test_one_script_per_experiment_and_noise_ratio(kind, alpha):
    script = os.path.join(EXPERIMENTS, f"{kind}_alpha_{alpha}.py")
    source = open(script).read()
    assert f'alpha={alpha}, multi_class={kind == "multi_class"}' in source
    assert f'name="{kind}_alpha_{alpha}"' in source


def test_experiment_script_runs_from_the_command_line():
    completed = subprocess.run(
        [sys.executable, os.path.join(EXPERIMENTS, "multi_type_alpha_0.1.py"), "--help"],
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0
    assert "alpha = 0.1" in completed.stdout and "--synthetic" in completed.stdout


def test_settings_line_reads_results_written_by_mtfcdd_0_1():
    # mtfcdd 0.1's results.json: the input size was "input_size", and neither the
    # pixel protocol, the thresholds' source nor the training were recorded.
    settings = {"backbone_weights": "imagenet", "input_size": [299, 299], "score_reduction": "mean",
                "pixel_size": [299, 299], "test_images": 750}
    assert settings_line({0.1: {"settings": settings}}) == (
        "alpha=0.1: preset paper, backbone weights imagenet, input 299x299, score reduction mean, pixel metrics at "
        "299x299 (per-type protocol, exact AUPRO), 750 test images, decision thresholds: not recorded"
    )
