"""One command-line convention: every verb that produces a result answers
``--json`` with one JSON document on standard output, success and error
alike, with the same exit status as without it; a value out of its range
exits with 2 whichever verb reads it.

``mtfcdd benchmark``'s successful run (LiteRT conversions and timings, a
minute and a half on 2 cores) is left to tests/test_deploy.py, which checks
the footprint it prints; here it is called for its errors."""

import contextlib
import io
import json
import os

import pytest

from mtfcdd.cli import main
from mtfcdd.constants import DEFECT_CODES

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cli_json")]

TRAIN_OPTIONS = ["--image-size", "75", "--backbone-weights", "none", "--batch-size", "4",
                 "--epochs", "1", "--steps-per-epoch", "1"]


def run_json(argv):
    """(exit status, the one JSON document on standard output, standard error) of ``mtfcdd ARGV --json``."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = main(argv + ["--json"])
        except SystemExit as exit:
            status = exit.code
    return status, json.loads(stdout.getvalue()), stderr.getvalue()


@pytest.fixture(scope="module")
def trained(tiny_dataset, tmp_path_factory):
    """(the run folder, train's JSON result) of a one-step training."""
    run = tmp_path_factory.mktemp("json") / "run"
    status, result, _ = run_json(["train", "--data", tiny_dataset, "--out", str(run), *TRAIN_OPTIONS])
    assert status == 0
    return run, result


@pytest.fixture(scope="module")
def exported(trained, tiny_dataset):
    run, _ = trained
    output = str(run / "model_int8.tflite")
    status, result, _ = run_json([
        "export", str(run / "model.keras"), "--quantize", "int8", "--calibration-images", tiny_dataset,
        "--num-calibration", "4", "--out", output,
    ])
    assert status == 0
    return output, result


def test_train(trained):
    run, result = trained
    assert result["model_path"] == str(run / "model.keras") and os.path.exists(result["model_path"])
    assert result["steps_per_epoch"] == 1
    assert len(result["thresholds"]) == len(DEFECT_CODES)
    assert len(result["history"]["loss"]) == 1


def test_export(exported):
    output, result = exported
    assert result["file"] == output and result["quantization"] == "int8"
    assert result["file_size_bytes"] == os.path.getsize(output)
    assert os.path.exists(result["sidecar"])


def test_predict_and_evaluate_the_exported_file(exported, tiny_dataset, tmp_path):
    image_folder = os.path.join(tiny_dataset, "realiad_128", "pcb", "OK")
    status, result, messages = run_json(["predict", "--tflite", exported[0], image_folder, "--out", str(tmp_path)])
    assert status == 0
    # The document is the predictions.json the verb writes; the lines meant for people go to stderr.
    assert result == json.loads((tmp_path / "predictions.json").read_text())
    assert len(result["images"]) > 10 and "top scores" in messages
    # Ten images listed one a line, then how many more.
    assert f"... and {len(result['images']) - 10} more (predictions.csv lists them all)" in messages
    status, result, _ = run_json(["evaluate", "--tflite", exported[0], "--data", tiny_dataset])
    assert status == 0
    assert set(result["metrics"]) >= set(DEFECT_CODES)


def test_data_synth_verify_and_balanced_epochs(tmp_path):
    status, result, _ = run_json(["data", "synth", str(tmp_path / "data"), "--preset", "tiny"])
    assert status == 0 and result == {"root": str(tmp_path / "data"), "preset": "tiny", "seed": 0}
    status, result, _ = run_json(["data", "verify", result["root"]])
    assert status == 0 and result["problems"] == [] and result["images_checked"] > 0
    status, result, _ = run_json(["balanced-epochs", "--counts", "4,2", "--batch-size", "1"])
    # Eq. 4 for quotas (4, 2): E[T] = 8.5 (tests/test_cli.py works it out by hand).
    assert status == 0 and result["expected_draws"] == pytest.approx(8.5)


def test_demo(tiny_dataset, tmp_path):
    # The demo reuses a data set already in OUT/data.
    os.makedirs(tmp_path / "demo")
    os.symlink(tiny_dataset, tmp_path / "demo" / "data")
    status, result, _ = run_json([
        "demo", "--out", str(tmp_path / "demo"), "--backbone-weights", "none", "--epochs", "1",
        "--steps-per-epoch", "1", "--image-size", "75",
    ])
    assert status == 0
    assert os.path.exists(result["model_path"]) and os.path.exists(result["figure_path"])
    assert set(result["evaluation"]["metrics"]) >= set(DEFECT_CODES)


@pytest.mark.parametrize(
    "argv, exit_status, message",
    [
        (["train", "--data", "absent", "--out", "run", "--alpha", "0.3"], 2, "argument --alpha: expected one of 0.0, 0.1, 0.2, 0.4"),
        (["train", "--data", "absent", "--out", "run", "--learning-rate", "-1"], 2, "learning_rate must be a finite number > 0"),
        (["train", "--data", "absent", "--out", "{tmp}/run"], 1, "absent"),
        (["evaluate", "--data", "root", "--alpha", "0.3", "model.keras"], 2, "argument --alpha: expected one of"),
        (["evaluate", "{tmp}/absent.keras", "--data", "root"], 1, "absent.keras"),
        (["predict", "{tmp}/absent.keras", "image.jpg", "--out", "{tmp}/out"], 1, "absent.keras"),
        (["predict", "model.keras", "image.jpg", "--out", "out", "--batch-size", "0"], 2, "argument --batch-size: expected"),
        (["export", "model.keras", "--out", "{tmp}/m.tflite", "--quantize", "int8"], 1, "needs --calibration-images"),
        (["data", "synth", "out", "--seed", "-1"], 2, "argument --seed: expected"),
        (["data", "verify", "{tmp}/absent"], 1, "absent"),
        (["balanced-epochs", "--counts", "5,-1"], 2, "argument --counts: expected comma-separated whole numbers >= 1"),
        (["balanced-epochs", "--data", "root", "--alpha", "0.3"], 2, "argument --alpha: expected one of"),
        (["demo", "--epochs", "0"], 2, "argument --epochs: expected"),
        (["benchmark", "--repeats", "0"], 2, "argument --repeats: expected"),
        (["benchmark", "--model", "{tmp}/absent.keras"], 1, "absent.keras"),
    ],
)
def test_errors_are_json_with_their_exit_status(argv, exit_status, message, tmp_path):
    status, result, messages = run_json([part.format(tmp=tmp_path) for part in argv])
    assert status == exit_status
    assert result["exit_status"] == exit_status and message in result["error"]
    assert len(messages.strip().splitlines()) == 1  # the same error, one line, for a person


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--data", "absent", "--out", "run", "--alpha", "0.3"],
        ["train", "--data", "absent", "--out", "run", "--batch-size", "0"],
        ["balanced-epochs", "--counts", "5,-1"],
    ],
)
def test_values_out_of_range_exit_2_without_json(argv, capsys):
    try:
        status = main(argv)
    except SystemExit as exit:
        status = exit.code
    assert status == 2
    assert len(capsys.readouterr().err.strip().splitlines()) >= 1


def test_a_runs_config_json_repeats_the_run(trained, tmp_path):
    run, result = trained
    again = tmp_path / "again"
    # No --data: the run's config.json records its data set.
    status, repeated, _ = run_json(["train", "--config", str(run / "config.json"), "--out", str(again)])
    assert status == 0
    repeated_config, original_config = (json.loads((folder / "config.json").read_text()) for folder in (again, run))
    # The same settings and data; a new run, so a new run id.
    assert repeated_config.pop("run_id") != original_config.pop("run_id")
    assert repeated_config == original_config
    assert repeated["history"]["loss"] == pytest.approx(result["history"]["loss"], rel=1e-5)
    assert repeated["thresholds"] == pytest.approx(result["thresholds"], rel=1e-5)
