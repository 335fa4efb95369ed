"""Nothing lost, nothing silently wrong: finished runs and models are
protected, bad input is refused at the door, and every error a user can
cause is one line naming the file or value at fault.

Most tests need no training: a saved untrained 75x75 model, the tiny
data set, hand-made files; the one that trains runs a single step.
"""

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import cv2
import keras
import numpy as np
import pytest

import mtfcdd
from mtfcdd.cli import main
from mtfcdd.data.pipeline import training_dataset
from mtfcdd.data.realiad.reader import load_realiad
from mtfcdd.data.realiad.verify import verify_dataset
from mtfcdd.deploy.runner import LiteRTModel
from mtfcdd.deploy.sidecar import read_sidecar, sidecar_path
from mtfcdd.model.multi_type_loss import MultiTypeFCDDLoss
from mtfcdd.training.config import TrainingConfig
from mtfcdd.utils.atomic_files import atomic_path
from mtfcdd.utils.image_files import image_and_mask_problems, read_rgb_image

pytestmark = [pytest.mark.xdist_group("reliability")]

# What this file tests is new: it is imported inside the tests, so that
# each of them fails on its own on the code before (the check).
LOCK_FILE = "run.lock"

RUN_CONFIG = TrainingConfig(
    image_size=75, backbone_weights=None, batch_size=4, learning_rate=1e-3, epochs=1,
    steps_per_epoch=1, threshold_fraction=0,
)


# --- Fixtures: a saved untrained model, a hand-made run, data set copies ---------


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """An untrained 75x75 model: (model.keras with thresholds, the same model
    compiled as a run's checkpoint.keras)."""
    model = mtfcdd.build_model(8, 75, backbone_weights=None)
    folder = tmp_path_factory.mktemp("model")
    model.thresholds = (0.5,) * 8
    model.save(folder / "model.keras")
    model.compile(optimizer=keras.optimizers.Adam(RUN_CONFIG.learning_rate), loss=MultiTypeFCDDLoss())
    model.optimizer.build(model.trainable_variables)
    model.save(folder / "checkpoint.keras")
    return str(folder / "model.keras"), str(folder / "checkpoint.keras")


@pytest.fixture(scope="module")
def model_file(saved_model):
    return saved_model[0]


@pytest.fixture
def finished_run(tmp_path, saved_model):
    """A run folder as one finished epoch of ``RUN_CONFIG`` leaves it."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(RUN_CONFIG.to_dict()))
    (run / "training_state.json").write_text(json.dumps({"epochs_completed": 1, "steps_per_epoch": 1}))
    (run / "training_log.csv").write_text("epoch,loss\n0,1.0\n")
    shutil.copy(saved_model[1], run / "checkpoint.keras")
    shutil.copy(saved_model[0], run / "model.keras")
    return run


@pytest.fixture
def dataset(tiny_dataset, tmp_path):
    """A copy of the tiny data set to damage."""
    return str(shutil.copytree(tiny_dataset, tmp_path / "data"))


def split_of(root, split="train"):
    return getattr(load_realiad(root, alpha=0.1), split)


def error_line(capsys):
    """Standard error of a failed command: exactly one line, returned."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    return lines[0]


def truncate(path, keep=0.5):
    data = open(path, "rb").read()
    with open(path, "wb") as file:
        file.write(data[:int(len(data) * keep)])


def snapshot(folder):
    return {name: (folder / name).read_bytes() for name in os.listdir(folder) if (folder / name).is_file()}


def dead_pid():
    """The id of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def train_argv(root, run, *options):
    return ["train", "--data", root, "--out", str(run), "--image-size", "75", "--backbone-weights", "none",
            "--batch-size", "4", "--epochs", "1", "--steps-per-epoch", "1", *options]


# --- 1-4: data loss -----------------------------------------------------------------


@pytest.mark.slow
def test_train_refuses_a_folder_holding_a_finished_or_unfinished_run(tiny_dataset, finished_run, capsys):
    before = snapshot(finished_run)
    assert main(train_argv(tiny_dataset, finished_run)) == 1
    line = error_line(capsys)
    assert str(finished_run) in line and "finished training run" in line
    assert "--resume" in line and "--overwrite" in line
    os.remove(finished_run / "model.keras")  # killed before the end: a checkpoint, no model
    assert main(train_argv(tiny_dataset, finished_run)) == 1
    assert "unfinished training run (checkpoint.keras" in error_line(capsys)
    assert snapshot(finished_run) == {name: data for name, data in before.items() if name != "model.keras"}


@pytest.mark.slow
def test_overwrite_deletes_the_earlier_run_first(finished_run):
    from mtfcdd.training.run_folder import start_run

    (finished_run / "notes.txt").write_text("mine")
    config, epochs_done, resumes = start_run(str(finished_run), None, resume=False, overwrite=True)
    assert (config, epochs_done, resumes) == (TrainingConfig(), 0, [])
    assert os.listdir(finished_run) == ["notes.txt"]
    with pytest.raises(ValueError, match="resume or overwrite, not both"):
        start_run(str(finished_run), None, resume=True, overwrite=True)
    # A run stopped before its first epoch ended has nothing to protect.
    (finished_run / "config.json").write_text(json.dumps(RUN_CONFIG.to_dict()))
    assert start_run(str(finished_run), RUN_CONFIG, resume=False, overwrite=False) == (RUN_CONFIG, 0, [])
    assert os.listdir(finished_run) == ["notes.txt"]


@pytest.fixture(scope="module")
def exported(model_file, tmp_path_factory):
    """``mtfcdd export`` over an existing file with --overwrite, the system's
    temporary folder pointed at an empty one, a killed export's leftovers
    in the output folder. Returns what each left."""
    folder = tmp_path_factory.mktemp("export")
    system_temp = tmp_path_factory.mktemp("system_temp")
    output = folder / "model.tflite"
    output.write_bytes(b"an earlier export")
    stale = folder / f".model.tflite.partial-{dead_pid()}-0123abcd"
    stale.mkdir()
    (stale / "saved_model.pb").write_bytes(b"left by kill -9")
    old_style = folder / ".model.tflite.partial"
    old_style.write_bytes(b"left by mtfcdd 0.1")
    previous, tempfile.tempdir = tempfile.tempdir, str(system_temp)
    try:
        status = main(["export", model_file, "--out", str(output), "--overwrite"])
    finally:
        tempfile.tempdir = previous
    return {
        "status": status, "output": str(output), "folder": sorted(os.listdir(folder)),
        "system_temp": os.listdir(system_temp),
    }


@pytest.mark.slow
def test_export_refuses_its_input_and_existing_files(model_file, tmp_path, capsys):
    model_before = open(model_file, "rb").read()
    assert main(["export", model_file, "--out", model_file]) == 1
    assert "would write over the input model" in error_line(capsys)
    assert open(model_file, "rb").read() == model_before
    for existing in ("out.tflite", "out.tflite.json"):
        (tmp_path / existing).write_text("keep me")
        assert main(["export", model_file, "--out", str(tmp_path / "out.tflite")]) == 1
        line = error_line(capsys)
        assert str(tmp_path / existing) in line and "--overwrite" in line
        os.remove(tmp_path / existing)


@pytest.mark.slow
def test_export_overwrites_when_asked_and_leaves_no_temporary_files(exported):
    assert exported["status"] == 0
    assert exported["folder"] == ["model.tflite", "model.tflite.json"]  # the killed export's leftovers too
    # The SavedModel was written beside the output; TensorFlow leaves only
    # its small autograph sources in the system's temporary folder.
    assert [name for name in exported["system_temp"] if not name.startswith("__autograph_generated")] == []
    assert LiteRTModel(exported["output"]).type_codes == mtfcdd.DEFECT_CODES


def test_a_second_training_is_refused_naming_the_first(tiny_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_FILE).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    assert main(train_argv(tiny_dataset, run)) == 1
    line = error_line(capsys)
    assert f"in use by process {os.getpid()} on {socket.gethostname()}" in line
    from mtfcdd.utils.folder_lock import FolderInUseError, folder_lock

    with pytest.raises(FolderInUseError, match="another host"):
        (run / LOCK_FILE).write_text(json.dumps({"pid": 1, "host": "another host"}))
        with folder_lock(run):
            pass


@pytest.mark.slow
def test_a_killed_runs_lock_is_taken_over_and_released(finished_run, tiny_dataset, capsys):
    pid = dead_pid()
    (finished_run / LOCK_FILE).write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))
    assert main(train_argv(tiny_dataset, finished_run)) == 1  # refused: it holds a run
    err = capsys.readouterr().err
    assert f"taking over the lock of process {pid}" in err and "already holds a finished" in err
    assert not (finished_run / LOCK_FILE).exists()


def test_temporary_files_have_unique_names(tmp_path):
    target = tmp_path / "checkpoint.keras"
    with atomic_path(target, ".keras") as first, atomic_path(target, ".keras") as second:
        assert first != second and first.endswith(".keras") and ".partial-" in first
        for path, text in ((first, "first"), (second, "second")):
            with open(path, "w") as file:
                file.write(text)
    assert target.read_text() == "first" and os.listdir(tmp_path) == ["checkpoint.keras"]


@pytest.mark.slow
def test_a_killed_runs_temporary_files_are_removed_at_the_next_start(finished_run, tiny_dataset, capsys):
    leftovers = [
        f".checkpoint.keras.partial-{dead_pid()}-0123abcd.keras",
        ".checkpoint.keras.partial.keras",  # mtfcdd 0.1's name
    ]
    in_progress = f".checkpoint.keras.partial-{os.getpid()}-89abcdef.keras"
    for name in leftovers + [in_progress, ".notes", "checkpoint.keras.partial-notes"]:
        (finished_run / name).write_bytes(b"x")
    assert main(train_argv(tiny_dataset, finished_run)) == 1  # refused: it holds a run
    capsys.readouterr()
    remaining = set(os.listdir(finished_run))
    assert not remaining & set(leftovers)
    assert {in_progress, ".notes", "checkpoint.keras.partial-notes"} <= remaining


# --- 5-12: silently wrong or silently ignored ---------------------------------------


@pytest.mark.slow
def test_resume_refuses_other_settings_and_names_them(tiny_dataset, finished_run, capsys):
    before = snapshot(finished_run)
    assert main(["train", "--data", tiny_dataset, "--out", str(finished_run), "--resume",
                 "--batch-size", "8", "--seed", "3", "--image-size", "75"]) == 1
    line = error_line(capsys)
    assert "batch_size (saved 4, now 8)" in line and "seed (saved 0, now 3)" in line
    assert "image_size" not in line  # given, but equal to the saved value
    assert "Only epochs and learning_rate may change" in line
    assert main(["train", "--data", tiny_dataset, "--out", str(finished_run), "--resume", "--overwrite"]) == 1
    assert "not both" in error_line(capsys)
    (finished_run / "training_state.json").write_text(json.dumps({"epochs_completed": 3, "steps_per_epoch": 1}))
    assert main(["train", "--data", tiny_dataset, "--out", str(finished_run), "--resume", "--epochs", "2"]) == 1
    assert "3 epochs are already done" in error_line(capsys)
    assert {name: data for name, data in snapshot(finished_run).items() if name != "training_state.json"} == {
        name: data for name, data in before.items() if name != "training_state.json"
    }


@pytest.mark.slow
def test_resume_may_extend_epochs_and_change_the_learning_rate_and_records_it(tiny_dataset, finished_run, capsys):
    # Every other option is left at its default, which differs from the
    # saved run's (image size 299, batch 32, ImageNet weights): not given,
    # so the saved values stay.
    assert main(["train", "--data", tiny_dataset, "--out", str(finished_run), "--resume",
                 "--epochs", "2", "--learning-rate", "5e-4"]) == 0
    capsys.readouterr()
    saved = json.loads((finished_run / "config.json").read_text())
    assert (saved["epochs"], saved["learning_rate"], saved["image_size"], saved["batch_size"]) == (2, 5e-4, 75, 4)
    (resume,) = saved["resumes"]
    assert resume["epochs_completed"] == 1
    assert resume["changed"] == {"epochs": {"from": 1, "to": 2}, "learning_rate": {"from": 1e-3, "to": 5e-4}}
    assert json.loads((finished_run / "training_state.json").read_text())["epochs_completed"] == 2
    checkpoint = keras.saving.load_model(finished_run / "checkpoint.keras")
    assert float(checkpoint.optimizer.learning_rate) == pytest.approx(5e-4)
    # The run records Real-IAD's default alpha, which RUN_CONFIG left to the data set.
    assert TrainingConfig.from_dict(saved) == TrainingConfig(
        **{**RUN_CONFIG.__dict__, "alpha": 0.1, "epochs": 2, "learning_rate": 5e-4}
    )


def test_verify_reports_a_truncated_image(dataset):
    truncated = split_of(dataset)[0].image_path
    truncate(truncated)
    assert cv2.imread(truncated) is not None  # OpenCV only warns: it returns grey rows
    report = verify_dataset(dataset, verbose=0)
    assert not report.ok
    assert any(problem.startswith(f"{truncated}: image file cannot be decoded") and "truncated" in problem
               and "end-of-image marker" in problem for problem in report.problems)
    # Nor does the resize cache turn it into a complete file with grey rows.
    from mtfcdd.data.resize_cache import resize_image_root

    with pytest.raises(ValueError, match=f"1 source files cannot be read .*: {truncated}$"):
        resize_image_root(os.path.join(dataset, "realiad_128"), os.path.join(dataset, "realiad_32"), 32, verbose=0)


@pytest.mark.slow
def test_predict_refuses_a_truncated_image_by_name_and_exits_3(exported, tmp_path, capsys):
    image = np.random.default_rng(0).integers(0, 256, (90, 80, 3), np.uint8)
    good, cut = tmp_path / "good.jpg", tmp_path / "cut.jpg"
    cv2.imwrite(str(good), image)
    shutil.copy(good, cut)
    truncate(cut, 0.6)
    assert main(["predict", "--tflite", exported["output"], str(good), str(cut), "--out", str(tmp_path / "out")]) == 3
    output = capsys.readouterr()
    assert f"failed: {cut} is damaged or truncated" in output.err
    written = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert [entry["path"] for entry in written["images"]] == [str(good)]
    assert [failure["path"] for failure in written["failures"]] == [str(cut)]
    assert (tmp_path / "out" / "good.png").exists()


@pytest.mark.slow
def test_evaluate_refuses_a_truncated_image_by_name(model_file, dataset, capsys):
    truncated = split_of(dataset, "test")[5].image_path
    truncate(truncated)
    assert main(["evaluate", model_file, "--data", dataset, "--json"]) == 1
    line = error_line(capsys)
    assert truncated in line and "truncated" in line


def test_train_checks_every_image_before_the_first_step(dataset, tmp_path, capsys):
    samples = split_of(dataset)
    truncated, corrupt = samples[3].image_path, samples[7].image_path
    truncate(truncated)
    data = bytearray(open(corrupt, "rb").read())
    frame = data.index(b"\xff\xc0")
    data[frame:frame + 10] = bytes(10)  # the frame header, which holds the size
    open(corrupt, "wb").write(data)
    assert main(train_argv(dataset, tmp_path / "run")) == 1
    line = error_line(capsys)
    assert "2 problems in the 80 training images of realiad_jsons_fuiad_0.1" in line
    assert truncated in line and corrupt in line
    assert not (tmp_path / "run" / "checkpoint.keras").exists()


def mismatched_mask(samples):
    """Resizes the first sample's mask that has one; returns the sample."""
    sample = next(sample for sample in samples if sample.mask_path)
    mask = cv2.imread(sample.mask_path, cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(sample.mask_path, cv2.resize(mask, (64, 64)))
    return sample


@pytest.mark.slow
def test_a_mask_of_another_size_is_refused_by_every_reader(model_file, exported, dataset, tmp_path, capsys):
    test_sample = mismatched_mask(split_of(dataset, "test"))
    training_sample = mismatched_mask(split_of(dataset, "train"))
    assert main(["evaluate", model_file, "--data", dataset, "--json"]) == 1
    assert f"{test_sample.mask_path}: mask is 64x64 but its image" in error_line(capsys)
    assert main(train_argv(dataset, tmp_path / "run")) == 1
    assert f"{training_sample.mask_path}: mask is 64x64 but its image" in error_line(capsys)
    # The training stream itself, used without those checks.
    import tensorflow as tf

    from mtfcdd.data.pipeline import pipeline_error_message

    stream = training_dataset([training_sample], 75, batch_size=1, augmentation=None, mask_grid=(7, 7))
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        next(iter(stream))
    assert pipeline_error_message(error.value).startswith(
        f"{training_sample.mask_path}: mask is 64x64 but its image {training_sample.image_path} is "
    )
    model = LiteRTModel(exported["output"])
    with pytest.raises(ValueError, match="mask is 64x64 but its image"):
        mtfcdd.predict(model, [test_sample.image_path], masks={test_sample.image_path: (test_sample.mask_path, "HS")})


def test_an_empty_training_split_is_a_problem_and_named_when_training(dataset, tmp_path, capsys):
    split_dir = os.path.join(dataset, "realiad_jsons", "realiad_jsons_fuiad_0.1")
    for name in os.listdir(split_dir):
        content = json.loads(open(os.path.join(split_dir, name)).read())
        content["train"] = []
        with open(os.path.join(split_dir, name), "w") as file:
            json.dump(content, file)
    report = verify_dataset(dataset, verbose=0)
    assert sorted(report.problems) == [
        f"{os.path.join(split_dir, name)}: the train split has no entries; training and evaluation "
        "need at least one." for name in ("audiojack.json", "pcb.json")
    ]
    assert main(train_argv(dataset, tmp_path / "run", "--objects", "pcb")) == 1
    line = error_line(capsys)
    assert "The training split is empty: no training images of realiad_jsons_fuiad_0.1 (alpha 0.1)" in line
    assert "objects pcb" in line


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--steps-per-epoch", "0", "steps_per_epoch must be a whole number >= 1 or None"),
        ("--steps-per-epoch", "-3", "steps_per_epoch must be a whole number >= 1"),
        ("--learning-rate", "-1", "learning_rate must be a finite number > 0; got -1.0"),
        ("--learning-rate", "nan", "learning_rate must be a finite number > 0; got nan"),
        ("--batch-size", "0", "batch_size must be a whole number >= 1"),
        ("--epochs", "0", "epochs must be a whole number >= 1"),
        ("--threshold-fraction", "nan", "threshold_fraction must be a finite number in [0, 1)"),
        ("--image-size", "50", "image_size must be a whole number >= 75"),
        ("--seed", "-1", "seed must be a whole number >= 0"),
    ],
)
def test_training_options_are_checked_at_the_door(tmp_path, capsys, option, value, message):
    # Usage errors: exit status 2, as argparse's own.
    assert main(["train", "--data", str(tmp_path / "absent"), "--out", str(tmp_path / "run"), option, value]) == 2
    assert message in error_line(capsys)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "model.keras", "image.jpg", "--out", "out", "--batch-size", "0"],
        ["evaluate", "model.keras", "--data", "root", "--batch-size", "-2"],
        ["evaluate", "model.keras", "--data", "root", "--pixel-size", "0"],
        ["export", "model.keras", "--out", "model.tflite", "--num-calibration", "0"],
        ["data", "verify", "root", "--workers", "0"],
        ["data", "synth", "out", "--seed", "-1"],
        ["balanced-epochs", "--counts", "5,3", "--batch-size", "0"],
        ["balanced-epochs", "--counts", "5,-1"],
        ["train", "--data", "root", "--out", "run", "--alpha", "0.3"],
        ["evaluate", "model.keras", "--data", "root", "--alpha", "0.3"],
        ["benchmark", "--repeats", "0"],
        ["serve", "model.keras", "--port", "70000"],
        ["serve", "model.keras", "--max-megapixels", "nan"],
    ],
)
def test_other_verbs_numbers_are_checked_at_the_door(argv, capsys):
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    assert f"argument {argv[-2]}: expected" in capsys.readouterr().err


@pytest.mark.slow
def test_a_sidecar_with_wrong_fields_is_refused_naming_them(exported, tmp_path):
    metadata = read_sidecar(exported["output"])
    for field, value, message in (
        ("thresholds", [float("nan")] + [0.5] * 7, "'thresholds' is .*nan.*; expected null or one finite number"),
        ("type_codes", ["BX", "AK", "CH", "HS", "PS", "QS", "YW", "ZW"], "'type_codes' is .*Real-IAD's in their channel order"),
        ("type_codes", ["T1", "T1", "T2", "T3", "T4", "T5", "T6", "T7"], "'type_codes' is .*distinct"),
        ("quantization", "int8", "reads float32 images but its sidecar says quantization 'int8'"),
    ):
        model_path = tmp_path / f"{field}.tflite"
        shutil.copy(exported["output"], model_path)
        with open(sidecar_path(model_path), "w") as file:
            json.dump({**metadata, field: value}, file)  # json writes NaN, as a hand edit would
        with pytest.raises(ValueError, match=message) as error:
            LiteRTModel(str(model_path))
        assert str(model_path) in str(error.value)


@pytest.mark.slow
def test_masks_beside_their_images_are_left_out_and_said(exported, tmp_path, capsys):
    from mtfcdd.utils.image_files import select_images

    folder = tmp_path / "parts"
    folder.mkdir()
    image = np.full((80, 80, 3), 120, np.uint8)
    for name in ("part.jpg", "part.png", "other.png"):
        cv2.imwrite(str(folder / name), image)
    selection = select_images([str(folder)])
    assert selection.paths == (str(folder / "other.png"), str(folder / "part.jpg"))
    assert selection.masks_left_out == (str(folder / "part.png"),)
    assert main(["predict", "--tflite", exported["output"], str(folder), "--out", str(tmp_path / "out")]) == 0
    output = capsys.readouterr().out
    assert f"Left out 1 PNG file with a JPEG of the same stem beside it (Real-IAD's masks), e.g. {folder / 'part.png'}" in output
    assert main(["predict", "--tflite", exported["output"], str(folder / "part.png"), "--out", str(tmp_path / "out2")]) == 0
    assert "part.png: " in capsys.readouterr().out  # named on its own: taken


# --- 13-14: crashes and unclear messages --------------------------------------------


@pytest.mark.slow
def test_system_errors_are_one_line_naming_the_file(exported, tmp_path, capsys, monkeypatch):
    tflite = ["--tflite", exported["output"]]
    image = tmp_path / "part.png"
    cv2.imwrite(str(image), np.zeros((80, 80, 3), np.uint8))
    (tmp_path / "a_file").write_text("not a folder")
    assert main(["predict", *tflite, str(image), "--out", str(tmp_path / "a_file")]) == 1
    assert error_line(capsys).endswith(f"{tmp_path / 'a_file'} is a file, not a folder: give a folder (new or existing) to write into.")
    assert main(["train", "--data", "root", "--out", str(tmp_path / "a_file")]) == 1
    assert "is a file, not a folder" in error_line(capsys)
    from mtfcdd.evaluation.reports import write_reports

    with pytest.raises(NotADirectoryError, match="a_file is a file, not a folder"):
        write_reports({0.1: {}}, tmp_path / "a_file")

    def refuse(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)

    monkeypatch.setattr(os, "makedirs", refuse)  # what a read-only folder answers (the tests run as root)
    assert main(["predict", *tflite, str(image), "--out", str(tmp_path / "read_only" / "out")]) == 1
    assert error_line(capsys) == (
        f"mtfcdd predict: error: {tmp_path / 'read_only' / 'out'}: Permission denied "
        "(check the permissions, or write elsewhere)"
    )
    monkeypatch.undo()

    def disk_full(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

    monkeypatch.setattr("mtfcdd.prediction.predict_images.write_png", disk_full)
    assert main(["predict", *tflite, str(image), "--out", str(tmp_path / "out")]) == 1
    assert error_line(capsys).endswith(
        f"{tmp_path / 'out' / 'part.png'}: No space left on device (the disk is full: free space, or write elsewhere)"
    )
    with pytest.raises(OSError, match="No space left"):
        main(["--debug", "predict", *tflite, str(image), "--out", str(tmp_path / "out")])


@pytest.mark.slow
def test_hand_edited_run_files_are_refused_naming_the_file(tiny_dataset, finished_run, capsys):
    resume = ["train", "--data", tiny_dataset, "--out", str(finished_run), "--resume"]
    state, config = finished_run / "training_state.json", finished_run / "config.json"
    state.write_text('{"epochs_completed": "two"}')
    assert main(resume) == 1
    assert f"{state}: field 'epochs_completed' is 'two'; expected a whole number >= 0" in error_line(capsys)
    state.write_text('{"epochs_completed": 1')
    assert main(resume) == 1
    assert f"{state} cannot be read: not valid JSON" in error_line(capsys)
    for content, message in (
        ({**RUN_CONFIG.to_dict(), "batch_size": -4}, "not a valid training config (batch_size must be"),
        ({**RUN_CONFIG.to_dict(), "learning_rat": 0.1}, "unexpected field 'learning_rat'"),
        ([1, 2], "expected a JSON object; got a list"),
    ):
        config.write_text(json.dumps(content))
        assert main(resume) == 1
        line = error_line(capsys)
        assert str(config) in line and message in line


@pytest.mark.slow
def test_damaged_model_files_cannot_be_read(model_file, finished_run, tiny_dataset, tmp_path, capsys):
    damaged = tmp_path / "model.keras"
    damaged.write_bytes(open(model_file, "rb").read()[:20000])
    image = tmp_path / "part.png"
    cv2.imwrite(str(image), np.zeros((80, 80, 3), np.uint8))
    assert main(["predict", str(damaged), str(image), "--out", str(tmp_path / "out")]) == 1
    assert f"The model file '{damaged}' cannot be read: it is not a complete .keras archive" in error_line(capsys)
    truncate(finished_run / "checkpoint.keras")
    assert main(["train", "--data", tiny_dataset, "--out", str(finished_run), "--resume", "--epochs", "2"]) == 1
    assert f"The checkpoint file '{finished_run / 'checkpoint.keras'}' cannot be read" in error_line(capsys)
    tflite = tmp_path / "model.tflite"
    tflite.write_bytes(b"not a flatbuffer" * 10)
    with open(sidecar_path(tflite), "w") as file:
        json.dump(_sidecar_for(tflite), file)
    assert main(["predict", "--tflite", str(tflite), str(image), "--out", str(tmp_path / "out3")]) == 1
    assert f"{tflite} cannot be read as a LiteRT (.tflite) model" in error_line(capsys)


def _sidecar_for(path):
    return {
        "schema_version": 3, "mtfcdd_version": mtfcdd.__version__, "output": "type_projection",
        "type_codes": list(mtfcdd.DEFECT_CODES), "image_size": [75, 75], "score_reduction": "mean",
        "thresholds": None, "quantization": "none", "num_calibration_images": None, "weights_source": "None",
    }


@pytest.mark.slow
def test_offline_imagenet_weights_say_what_to_do(tiny_dataset, tmp_path, capsys, monkeypatch):
    def offline(*args, **kwargs):
        raise Exception(
            "URL fetch failure on https://storage.googleapis.com/tensorflow/keras-applications/"
            "inception_resnet_v2/x.h5: None -- [Errno -3] Temporary failure in name resolution"
        )

    monkeypatch.setattr("keras.src.utils.file_utils.get_file", offline)
    argv = train_argv(tiny_dataset, tmp_path / "run")
    argv[argv.index("none")] = "imagenet"
    assert main(argv) == 1
    line = error_line(capsys)
    assert "The ImageNet weights of the backbone could not be downloaded (URL fetch failure" in line
    assert os.path.join("~", ".keras", "models") in line
    assert "--backbone-weights FILE" in line and "--backbone-weights synthetic" in line


@pytest.mark.slow
def test_a_batch_that_cannot_fit_is_refused_before_tensorflow_runs_it(tiny_dataset, tmp_path, capsys):
    assert main(train_argv(tiny_dataset, tmp_path / "run", "--batch-size", "10000000")) == 1
    line = error_line(capsys)
    assert "batch_size 10,000,000 needs at least" in line and "use a batch size of at most" in line
    assert not (tmp_path / "run" / "checkpoint.keras").exists()


def test_the_memory_floor_of_a_batch_by_hand():
    from mtfcdd.model.batch_memory import batch_bytes_per_image, check_batch_fits

    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(2, 1)])
    # Two batches of inputs (48 values each), the convolution's input and
    # output together (48 + 32); in training also its output (32): float32.
    assert batch_bytes_per_image(model) == 4 * (2 * 48 + 80)
    assert batch_bytes_per_image(model, training=True) == 4 * (2 * 48 + 80 + 32)
    check_batch_fits(model, 10, training=True, available=10 * 832)
    with pytest.raises(ValueError, match="batch_size 11 needs at least .* use a batch size of at most 10"):
        check_batch_fits(model, 11, training=True, available=10 * 832)


@pytest.mark.slow
def test_large_images_are_decoded_reduced_and_panels_capped(exported, tmp_path):
    from mtfcdd.utils.image_files import read_image_file

    gradient = np.linspace(0, 255, 800 * 600 * 3).reshape(800, 600, 3).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "large.jpg"), gradient)
    cv2.imwrite(str(tmp_path / "large.png"), gradient)
    decoded = read_image_file(tmp_path / "large.jpg", max_pixels=200_000)
    assert (decoded.reduction, decoded.size, decoded.image.shape) == (2, (800, 600), (400, 300, 3))
    assert read_rgb_image(tmp_path / "large.jpg").shape == (800, 600, 3)
    with pytest.raises(ValueError, match=f"{tmp_path / 'large.png'} is a PNG image of 600x800 = 480,000 pixels"):
        read_rgb_image(tmp_path / "large.png", max_pixels=200_000)
    tall = tmp_path / "tall.png"
    cv2.imwrite(str(tall), np.full((5000, 20, 3), 200, np.uint8))
    results = mtfcdd.predict(LiteRTModel(exported["output"]), [str(tall)], output_dir=tmp_path / "out", tile_size=64)
    panel = cv2.imread(results.predictions[0].panel_path)
    assert panel.shape[1] == 9 * 64
    assert 4 * 64 < panel.shape[0] < 4 * 64 + 64  # the tile at most 4:1, under its header


@pytest.mark.parametrize("decode", [True, False])
def test_a_mask_with_colour_channels_is_reported_when_decoded(tmp_path, decode):
    image_path, mask_path = str(tmp_path / "part.jpg"), str(tmp_path / "part.png")
    cv2.imwrite(image_path, np.full((12, 16, 3), 128, np.uint8))
    cv2.imwrite(mask_path, np.zeros((12, 16, 3), np.uint8))
    problems = image_and_mask_problems(image_path, mask_path, decode=decode)
    # Reading headers only cannot see channels; decoding does.
    assert problems == ([f"{mask_path}: mask has 3 channels; expected one."] if decode else [])
