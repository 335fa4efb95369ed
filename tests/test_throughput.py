"""Training throughput: FLOPs per training image, `mtfcdd benchmark --training`."""

import json
import subprocess
import sys
import types

import keras
import numpy as np
import pytest

from conftest import blocking_imports
from mtfcdd.cli import main
from mtfcdd.deploy.benchmark.flops import count_flops
from mtfcdd.deploy.benchmark import training_throughput as throughput
from mtfcdd.deploy.benchmark.training_throughput import interleaved_step_seconds, training_flops
from mtfcdd.model.backbone import feature_map_size
from mtfcdd.model.network import MultiTypeFCDD
from mtfcdd.training.config import TrainingConfig


@pytest.mark.slow
def test_training_flops_add_the_backward_pass_of_the_head():
    model = MultiTypeFCDD(8, 96, backbone_weights=None)
    cells = feature_map_size(96) ** 2
    # By hand: 2 FLOPs per multiply-add and 1 per bias of each head layer.
    head_conv1 = cells * (2 * 3 * 3 * 320 * 512 + 512)
    head_conv2 = cells * (2 * 3 * 3 * 512 * 512 + 512)
    projection = cells * (2 * 512 * 8 + 8)
    head = head_conv1 + head_conv2 + projection
    flops = training_flops(model)
    assert flops["forward"] == count_flops(model) == count_flops(model.backbone) + head
    # Backward: weight and input gradients of every head layer (twice its
    # forward), but head_conv1's input gradient (its input is frozen).
    assert flops["training"] == flops["forward"] + 2 * head - head_conv1
    # Training the backbone too: everything but the first convolution's
    # input gradient (its input is the image).
    model.train_backbone = model.backbone.trainable = True
    first_conv = next(layer for layer in model.backbone.layers if isinstance(layer, keras.layers.Conv2D))
    first_conv_flops = 2 * 3 * 3 * 3 * 32 * int(np.prod(first_conv.output.shape[1:3]))  # no bias
    assert training_flops(model)["training"] == 3 * flops["forward"] - first_conv_flops


@pytest.mark.slow
def test_benchmark_training_reports_pipeline_step_and_both(tiny_dataset, capsys):
    assert main([
        "benchmark", "--training", "--data", tiny_dataset, "--image-size", "75", "--batch-size", "4",
        "--repeats", "1", "--json",
    ]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["image_size"], result["batch_size"], result["precision"]) == ([75, 75], 4, "float32")
    assert result["jit_compile"] is False and result["timed_steps"] == 2
    for name in ("pipeline", "step", "together"):
        assert result[f"{name}_images_per_second"] > 0
    assert result["step_images_per_second"] == pytest.approx(4 / result["step_seconds"])
    assert result["pipeline_overhead"] == pytest.approx(
        result["together_step_seconds"] / result["step_seconds"] - 1
    )
    assert result["efficiency"] == pytest.approx(result["achieved_gflops"] / result["matmul_peak_gflops"])
    assert result["achieved_gflops"] == pytest.approx(
        result["training_gflops_per_image"] * result["step_images_per_second"]
    )


@pytest.mark.slow
def test_benchmark_training_does_not_need_litert():
    # ai-edge-litert is an optional extra; the training benchmark times TensorFlow only.
    script = blocking_imports(["ai_edge_litert"]) + (
        "import mtfcdd.deploy.benchmark.training_throughput, mtfcdd.deploy.benchmark.timing as timing\n"
        "print(sorted(name for name in sys.modules if name.startswith('mtfcdd.deploy.runner')))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip() == "[]"


def test_benchmark_training_needs_data(capsys):
    assert main(["benchmark", "--training", "--image-size", "75"]) == 1
    assert "--training needs --data" in capsys.readouterr().err


def test_interleaved_step_seconds_times_every_config_in_turns(monkeypatch):
    turns = []

    def step_seconds(model, dataset, steps, warmup):
        turns.append(model.precision)
        return [float(len(turns))] * steps  # turn t lasts t seconds a step

    monkeypatch.setattr(throughput, "training_model", lambda config: types.SimpleNamespace(
        precision=config.precision))
    monkeypatch.setattr(throughput, "_step_seconds", step_seconds)
    configs = [TrainingConfig(image_size=75, batch_size=2, precision=precision)
               for precision in ("float32", "mixed_bfloat16")]
    batch = (np.zeros((2, 75, 75, 3), "float32"), np.eye(2, 8, dtype="float32"))
    seconds = interleaved_step_seconds(configs, batch, steps=2, warmup=1, rounds=2)
    assert turns == ["float32", "mixed_bfloat16", "float32", "mixed_bfloat16"]
    assert seconds == [2.0, 3.0]  # the means of turns 1, 3 and of turns 2, 4
