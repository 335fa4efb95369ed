"""experiments/gpu_check.py runs with Keras, JAX and NumPy alone, at tiny sizes on the CPU."""

import json
import os
import subprocess
import sys

from conftest import blocking_imports

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPOSITORY, "experiments", "gpu_check.py")
TINY = ["--image-size", "75", "--inference-batches", "1,2", "--training-batches", "2",
        "--repeats", "1", "--steps", "2"]


def test_gpu_check_prints_one_json_line_without_tensorflow():
    # As on a GPU server with JAX but neither TensorFlow nor OpenCV nor
    # scikit-learn: importing them fails.
    run_script = blocking_imports(["tensorflow", "cv2", "sklearn"]) + (
        f"import runpy\nsys.argv = [{SCRIPT!r}] + {TINY!r}\n"
        f"runpy.run_path({SCRIPT!r}, run_name='__main__')\n"
    )
    environment = dict(
        os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu",
        # Compiling each initializer and step with less optimisation halves
        # the model's build time on a CPU; the numbers here are not timings.
        XLA_FLAGS="--xla_backend_optimization_level=0",
    )
    completed = subprocess.run(
        [sys.executable, "-c", run_script], env=environment, capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.strip().splitlines()
    assert len(lines) == 1, completed.stdout
    result = json.loads(lines[0])
    assert result["tensorflow_imported"] is False and result["devices"] == ["cpu:cpu"]
    assert result["image_size"] == 75 and result["skipped"] == []
    for precision in ("float32", "bfloat16"):
        inference = result["inference_ms_per_image"][precision]
        assert sorted(inference) == ["1", "2"] and min(inference.values()) > 0
        assert result["training_images_per_second"][precision]["2"] > 0
    assert len(result["first_call_seconds"]) == 6
    assert 0 < result["total_seconds"] < 600


def test_gpu_check_skips_what_the_time_budget_cannot_fit():
    """With no time at all, every measurement is skipped and listed, and the
    JSON line still comes."""
    completed = subprocess.run(
        [sys.executable, SCRIPT, *TINY, "--precisions", "float32", "--budget-s", "0"],
        env=dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu"),
        capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout)
    assert result["skipped"] == [
        "inference_ms_per_image/float32/1", "inference_ms_per_image/float32/2",
        "training_images_per_second/float32/2",
    ]
    assert result["inference_ms_per_image"] == {} == result["training_images_per_second"]
