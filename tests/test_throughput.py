"""Training throughput: FLOPs per training image, `mtfcdd benchmark --training`."""

import json

import pytest

from mtfcdd.cli import main
from mtfcdd.deploy.benchmark.flops import count_flops
from mtfcdd.model.backbone import feature_map_size
from mtfcdd.model.network import MultiTypeFCDD
from mtfcdd.training.throughput import training_flops


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
    everything = training_flops(MultiTypeFCDD(8, 96, backbone_weights=None, train_backbone=True))
    assert everything["forward"] == flops["forward"]
    assert flops["training"] < everything["training"] < 3 * flops["forward"]


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


def test_benchmark_training_needs_data(capsys):
    assert main(["benchmark", "--training", "--image-size", "75"]) == 1
    assert "--training needs --data" in capsys.readouterr().err
