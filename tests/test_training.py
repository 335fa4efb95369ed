"""Training: end to end, resume after SIGKILL, divergence, CLI errors."""

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import cv2
import keras
import numpy as np
import pytest

import mtfcdd

from mtfcdd.cli import main
from mtfcdd.data.augmentation import AUGMENTATION_PRESETS
from mtfcdd.data.realiad.reader import load_realiad
from mtfcdd.data.sample import Sample
from mtfcdd.evaluation.model_evaluation import evaluate
from mtfcdd.evaluation.reports import markdown, write_reports
from mtfcdd.inference.decision_thresholds import fit_thresholds
from mtfcdd.inference.scoring import predict_scores
from mtfcdd.metrics import auroc
from mtfcdd.model.saving import load_trained_model
from mtfcdd.training import trainer as training
from mtfcdd.training.trainer import AtomicCheckpoint, TrainingConfig, hold_out, train
from mtfcdd.training.training_curves import HELD_OUT_PREFIX

SMALL = dict(image_size=75, backbone_weights=None, batch_size=4, learning_rate=1e-3)


class EpochLogs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs = []

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append((epoch, dict(logs)))


@pytest.mark.slow
def test_train_evaluate_report_end_to_end(tiny_dataset, tmp_path):
    # At alpha = 0.4 the tiny set holds out an image of every type: each is scored per epoch.
    config = TrainingConfig(alpha=0.4, epochs=2, steps_per_epoch=2, threshold_fraction=0.2, tensorboard=True, **SMALL)
    epoch_logs = EpochLogs()
    result = train(tiny_dataset, tmp_path / "run", config, verbose=0, callbacks=[epoch_logs])
    assert len(result.history["loss"]) == 2 and np.all(np.isfinite(result.history["loss"]))
    assert [(epoch, logs["loss"]) for epoch, logs in epoch_logs.logs] == list(enumerate(result.history["loss"]))
    assert cv2.imread(str(tmp_path / "run" / "training_curves.png")) is not None
    events = list((tmp_path / "run" / "tensorboard").rglob("events.out.tfevents.*"))
    assert events and any(b"epoch_loss" in path.read_bytes() for path in events)
    training_split = load_realiad(tiny_dataset, alpha=0.4).train
    kept, held_out = hold_out(training_split, 0.2, seed=0)
    assert result.training_images == len(kept) < len(training_split)
    model = load_trained_model(result.model_path)
    # The last epoch's held-out I-AUROC is the trained model's.
    labels, scores = predict_scores(model, held_out)
    last_logs = epoch_logs.logs[-1][1]
    for channel, code in enumerate(model.type_codes):
        expected = auroc(labels[:, channel], scores[:, channel])
        assert last_logs[HELD_OUT_PREFIX + code] == pytest.approx(expected, abs=1e-6)
    assert model.thresholds == pytest.approx(result.thresholds)
    assert model.threshold_source == result.threshold_source == "20 % of the training split, held out from training"
    assert model.weights_source == "None" and getattr(model, "optimizer", None) is None
    with open(tmp_path / "run" / "training_log.csv") as file:
        rows = list(csv.DictReader(file))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    logged = [logs[HELD_OUT_PREFIX + "HS"] for _, logs in epoch_logs.logs]
    assert [float(row[HELD_OUT_PREFIX + "HS"]) for row in rows] == logged
    assert json.loads((tmp_path / "run" / "config.json").read_text())["image_size"] == 75

    test_samples = load_realiad(tiny_dataset, alpha=0.1).test
    evaluation = evaluate(model, test_samples, batch_size=16, pixel_size=32, verbose=0)
    assert set(evaluation["metrics"]) == set(model.type_codes) | {"Mean"}
    assert evaluation["settings"]["backbone_weights"] == "None"
    assert evaluation["settings"]["test_images"] == len(test_samples)
    assert evaluation["settings"]["pixel_protocol"] == "per-type"
    assert evaluation["settings"]["decision_thresholds"] == model.threshold_source
    paths = write_reports({0.4: evaluation}, tmp_path / "reports")
    assert sorted(os.path.basename(path) for path in paths) == [
        "results.json", "results.md", "results_table3.csv", "results_table4.csv"
    ]
    table = markdown({0.4: evaluation})
    assert "| Scratch |" in table and "backbone weights None" in table
    assert "(per-type protocol, exact AUPRO)" in table and f"decision thresholds: {model.threshold_source}" in table


@pytest.mark.slow
def test_cli_train_defaults_draw_from_every_training_image(tiny_dataset, tmp_path, monkeypatch, capsys):
    """No threshold option: the sampler gets the whole training split, and
    the thresholds are fitted on it after training (recorded as such). The
    run is multi-class (K = 1), to check that setting end to end too."""
    drawn_from, scored = [], []

    def spy_training_dataset(samples, *args, **kwargs):
        drawn_from.append(samples)
        return training_dataset(samples, *args, **kwargs)

    def spy_predict_scores(model, samples, *args, **kwargs):
        scored.append(samples)
        return predict_scores(model, samples, *args, **kwargs)

    training_dataset, predict_scores = training.training_dataset, training.predict_scores
    monkeypatch.setattr(training, "training_dataset", spy_training_dataset)
    monkeypatch.setattr(training, "predict_scores", spy_predict_scores)
    output = tmp_path / "run"
    assert main([
        "train", "--data", tiny_dataset, "--out", str(output), "--image-size", "75",
        "--backbone-weights", "none", "--batch-size", "4", "--steps-per-epoch", "1", "--epochs", "1",
        "--multi-class",
    ]) == 0
    training_split = load_realiad(tiny_dataset, alpha=0.1, num_types=1).train
    assert drawn_from == [training_split] and scored == [training_split]
    assert f"{len(training_split)} training images" in capsys.readouterr().out
    config = json.loads((output / "config.json").read_text())
    assert config["threshold_fraction"] == 0 and config["sampling_classes"] == "types"
    assert config["threshold_source"] == "the training split, the images trained on (optimistic)"
    assert TrainingConfig.from_dict(config).augmentation == AUGMENTATION_PRESETS["authors"]
    model = load_trained_model(str(output / "model.keras"))
    assert model.type_codes == ("ANY",) and len(model.thresholds) == 1
    assert model.threshold_source == config["threshold_source"]
    evaluation = evaluate(model, load_realiad(tiny_dataset, 0.1, num_types=1).test, batch_size=32, verbose=0)
    assert "Table 5" in markdown({0.1: evaluation})


def test_tensorboard_without_its_package_fails_before_training(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import tensorboard now fails
    config = TrainingConfig(epochs=1, steps_per_epoch=1, tensorboard=True, **SMALL)
    with pytest.raises(ImportError, match=r'pip install "mtfcdd\[tensorboard\]"'):
        train(tiny_dataset, tmp_path / "run", config, verbose=0)
    assert sorted(os.listdir(tmp_path / "run")) == []  # nothing trained, nothing written


def test_paper_defaults_and_legacy_config():
    config = TrainingConfig()
    assert (config.epochs, config.threshold_fraction, config.sampling_classes) == (10, 0.0, "types")
    assert config.augmentation == AUGMENTATION_PRESETS["authors"]
    # A config.json of mtfcdd 0.1 lacks the newer augmentation fields: its
    # run used the mtfcdd-0.1 values, and resumes with them.
    legacy = {**config.to_dict(), "augmentation": {
        "fraction": 0.5, "max_rotation_degrees": 15.0, "max_translation": 0.1,
        "max_brightness_delta": 0.2, "contrast_range": [0.8, 1.2], "fill_mode": "reflect",
    }}
    del legacy["threshold_source"], legacy["sampling_classes"]
    restored = TrainingConfig.from_dict(json.loads(json.dumps(legacy)))
    assert restored.augmentation == AUGMENTATION_PRESETS["mtfcdd-0.1"]
    assert restored.sampling_classes == "types"
    with pytest.raises(ValueError, match="sampling_classes"):
        TrainingConfig(sampling_classes="pairs")


RESUMABLE_RUN = textwrap.dedent(
    """
    import sys
    from mtfcdd.training.trainer import TrainingConfig, train
    config = TrainingConfig(image_size=75, backbone_weights=None, batch_size=4,
                            epochs=6, steps_per_epoch=3, learning_rate=1e-3)
    train(sys.argv[1], sys.argv[2], config, resume=len(sys.argv) > 3, verbose=0)
    """
)


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume(tiny_dataset, tmp_path):
    output = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-c", RESUMABLE_RUN, tiny_dataset, str(output)])
    state_path = output / "training_state.json"
    deadline = time.time() + 300
    while not state_path.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert state_path.exists(), "the first epoch never finished"
    time.sleep(1.0)  # well inside the second epoch
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    epochs_before = json.loads(state_path.read_text())["epochs_completed"]
    assert 1 <= epochs_before < 6
    keras.saving.load_model(output / "checkpoint.keras")  # intact

    completed = subprocess.run(
        [sys.executable, "-c", RESUMABLE_RUN, tiny_dataset, str(output), "resume"], timeout=600
    )
    assert completed.returncode == 0
    assert json.loads(state_path.read_text())["epochs_completed"] == 6
    with open(output / "training_log.csv") as file:
        epochs_logged = [int(row["epoch"]) for row in csv.DictReader(file)]
    assert epochs_logged[-(6 - epochs_before):] == list(range(epochs_before, 6))
    model = load_trained_model(str(output / "model.keras"))
    assert np.all(np.isfinite(model.predict(np.zeros((1, 75, 75, 3), "float32"), verbose=0)))
    assert not [name for name in os.listdir(output) if ".partial" in name]


@pytest.mark.slow
def test_resume_extends_epochs_and_refuses_other_changes(tiny_dataset, tmp_path):
    config = TrainingConfig(epochs=1, steps_per_epoch=1, threshold_fraction=0, **SMALL)
    train(tiny_dataset, tmp_path / "run", config, verbose=0)
    longer = TrainingConfig(epochs=2, steps_per_epoch=1, threshold_fraction=0, **SMALL)
    result = train(tiny_dataset, tmp_path / "run", longer, resume=True, verbose=0)
    assert len(result.history["loss"]) == 1  # only the new epoch ran
    assert json.loads((tmp_path / "run" / "training_state.json").read_text())["epochs_completed"] == 2
    with pytest.raises(ValueError, match="batch_size"):
        train(tiny_dataset, tmp_path / "run", TrainingConfig(epochs=2, steps_per_epoch=1,
              threshold_fraction=0, **{**SMALL, "batch_size": 2}), resume=True, verbose=0)
    with pytest.raises(FileNotFoundError, match="config.json"):
        train(tiny_dataset, tmp_path / "elsewhere", resume=True, verbose=0)


@pytest.mark.slow
def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tiny_dataset, tmp_path):
    # Adam's first step moves every head weight by about the learning rate:
    # 1e30 makes the next forward pass overflow.
    config = TrainingConfig(epochs=4, steps_per_epoch=1, threshold_fraction=0, **{**SMALL, "learning_rate": 1e30})
    with pytest.raises(FloatingPointError, match="last good checkpoint") as error:
        train(tiny_dataset, tmp_path / "run", config, verbose=0)
    # What to run next, word for word.
    assert str(error.value).endswith(
        f"mtfcdd train --data {tiny_dataset} --out {tmp_path / 'run'} --resume --learning-rate 1e+29"
    )
    state = json.loads((tmp_path / "run" / "training_state.json").read_text())
    assert state["epochs_completed"] == 1
    keras.saving.load_model(tmp_path / "run" / "checkpoint.keras")
    assert not (tmp_path / "run" / "model.keras").exists()


@pytest.mark.slow
def test_pixel_supervision_trains_the_backbone(tiny_dataset, tmp_path):
    config = TrainingConfig(
        epochs=1, steps_per_epoch=1, threshold_fraction=0, supervision="pixel",
        augmentation=None, train_backbone=True, **SMALL,
    )
    result = train(tiny_dataset, tmp_path / "run", config, verbose=0)
    checkpoint = keras.saving.load_model(tmp_path / "run" / "checkpoint.keras")
    assert type(checkpoint.loss).__name__ == "MultiTypePixelLoss"
    keras.utils.set_random_seed(0)  # the initial weights that train() started from
    initial = mtfcdd.MultiTypeFCDD(8, 75, backbone_weights=None, train_backbone=True)
    trained = load_trained_model(result.model_path)
    assert trained.train_backbone
    initial_kernel = initial.backbone.get_layer("block35_10_conv").kernel.numpy()
    trained_kernel = trained.backbone.get_layer("block35_10_conv").kernel.numpy()
    assert 0 < np.abs(trained_kernel - initial_kernel).max() < 0.01  # one Adam step of 1e-3
    with pytest.raises(ValueError, match="augmentation=None"):
        TrainingConfig(supervision="pixel")


def test_checkpoint_callback_skips_saving_after_nan(tmp_path):
    callback = AtomicCheckpoint(str(tmp_path), steps_per_epoch=1)
    callback.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    callback.on_epoch_begin(0)
    callback.on_train_batch_end(0, {"loss": float("nan")})
    callback.on_epoch_end(0, {"loss": float("nan")})
    assert callback.model.stop_training and "nan" in callback.failure
    assert os.listdir(tmp_path) == []


MIRRORED_RUN = textwrap.dedent(
    """
    import sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from mtfcdd.training.trainer import TrainingConfig, train
    config = TrainingConfig(image_size=75, backbone_weights=None, batch_size=4, epochs=1,
                            steps_per_epoch=2, strategy="mirrored", threshold_fraction=0)
    result = train(sys.argv[1], sys.argv[2], config, verbose=0)
    print("replicas", tf.distribute.MirroredStrategy().num_replicas_in_sync, result.history["loss"])
    """
)


@pytest.mark.slow
def test_mirrored_strategy_on_two_cpu_devices(tiny_dataset, tmp_path):
    completed = subprocess.run(
        [sys.executable, "-c", MIRRORED_RUN, tiny_dataset, str(tmp_path / "run")],
        capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "replicas 2" in completed.stdout
    assert (tmp_path / "run" / "model.keras").exists()


def sample(anomaly_class, index):
    labels = tuple(int(anomaly_class == code) for code in ("AK", "HS"))
    return Sample(f"/x/{anomaly_class}{index}.jpg", None, "toy", anomaly_class, labels)


def test_hold_out_takes_each_class_and_is_seeded():
    samples = [sample("OK", i) for i in range(20)] + [sample("AK", i) for i in range(5)] + [sample("HS", 0)]
    training, held_out = hold_out(samples, 0.2, seed=3)
    assert sorted(s.anomaly_class for s in held_out) == ["AK", "OK", "OK", "OK", "OK"]
    assert set(training) | set(held_out) == set(samples) and not set(training) & set(held_out)
    assert hold_out(samples, 0.2, seed=3) == (training, held_out)
    assert hold_out(samples, 0, seed=3) == (tuple(samples), ())


def test_fit_thresholds_are_f1_optimal():
    labels = np.array([[0, 0], [0, 0], [1, 0], [1, 0], [0, 0]])
    scores = np.array([[0.1, 0.5], [0.4, 0.2], [0.3, 0.3], [0.9, 0.1], [0.2, 0.7]])
    thresholds = fit_thresholds(labels, scores)
    # Type 0: ">= 0.3" catches both positives with one false positive (F1 0.8);
    # ">= 0.9" only one (F1 0.67). Type 1 has no positive: never fires.
    assert thresholds[0] == pytest.approx(0.3)
    assert thresholds[1] > 0.7
    with pytest.raises(ValueError, match="shape"):
        fit_thresholds(labels, scores[:, :1])


@pytest.mark.parametrize(
    "arguments, message, exit_status",
    [
        (["--data", "/nonexistent/root"], "/nonexistent/root", 1),
        (["--alpha", "0.3"], "0.3", 2),  # out of its range: a usage error
        (["--objects", "no_such_object"], "no_such_object", 1),
    ],
)
def test_cli_errors(tiny_dataset, tmp_path, capsys, arguments, message, exit_status):
    base = {"--data": tiny_dataset, "--out": str(tmp_path / "run"), "--image-size": "75"}
    for flag, value in zip(arguments[::2], arguments[1::2]):
        base[flag] = value
    argv = ["train", "--backbone-weights", "none"] + [item for pair in base.items() for item in pair]
    if exit_status == 2:
        with pytest.raises(SystemExit) as usage_error:
            main(argv)
        assert usage_error.value.code == 2
    else:
        assert main(argv) == 1
    assert message in capsys.readouterr().err


def test_cli_error_for_an_empty_split(tmp_path, capsys):
    split = tmp_path / "root" / "realiad_jsons" / "realiad_jsons_fuiad_0.1"
    split.mkdir(parents=True)
    (tmp_path / "root" / "realiad_256").mkdir()
    assert main(["train", "--data", str(tmp_path / "root"), "--out", str(tmp_path / "run")]) == 1
    assert "realiad_jsons_fuiad_0.1" in capsys.readouterr().err
