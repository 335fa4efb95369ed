"""experiments/gpu_check.py runs with Keras, JAX and NumPy alone, at tiny sizes on the CPU."""

import json
import os
import subprocess
import sys

import pytest
from conftest import blocking_imports

pytestmark = [pytest.mark.slow]

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPOSITORY, "experiments", "gpu_check.py")
TINY = ["--image-size", "75", "--inference-batches", "1,2", "--training-batches", "2",
        "--repeats", "1", "--steps", "2"]


def test_gpu_check_prints_one_json_line_without_tensorflow():
    # As on a GPU server with JAX but neither TensorFlow nor OpenCV nor
    # scikit-learn: importing them fails. The check runs twice in the one
    # process: first with no time at all, then at tiny sizes.
    run_script = blocking_imports(["tensorflow", "cv2", "sklearn"]) + (
        f"import runpy\ncheck = runpy.run_path({SCRIPT!r})\n"
        f"check['main']({TINY!r} + ['--precisions', 'float32', '--budget-s', '0'])\n"
        f"check['main']({TINY!r})\n"
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
    no_time, tiny = [json.loads(line) for line in completed.stdout.strip().splitlines()]

    # What the time budget cannot fit is skipped and listed; the line still comes.
    assert no_time["skipped"] == [
        "inference_ms_per_image/float32/1", "inference_ms_per_image/float32/2",
        "training_images_per_second/float32/2",
    ]
    assert no_time["inference_ms_per_image"] == {} == no_time["training_images_per_second"]

    assert tiny["tensorflow_imported"] is False and tiny["devices"] == ["cpu:cpu"]
    assert tiny["image_size"] == 75 and tiny["skipped"] == []
    for precision in ("float32", "bfloat16"):
        inference = tiny["inference_ms_per_image"][precision]
        assert sorted(inference) == ["1", "2"] and min(inference.values()) > 0
        assert tiny["training_images_per_second"][precision]["2"] > 0
    assert len(tiny["first_call_seconds"]) == 6
    assert 0 < tiny["total_seconds"] < 600
