"""The model and the loss give the same numbers on the JAX backend."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import mtfcdd

pytestmark = [pytest.mark.slow]

JAX_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import keras
    import mtfcdd
    assert keras.backend.backend() == "jax", keras.backend.backend()
    folder = sys.argv[1]
    data = np.load(folder + "/inputs.npz")
    model = mtfcdd.build_model(8, 75, backbone_weights=None)
    model.load_weights(folder + "/model.weights.h5")
    heatmaps = np.asarray(model(data["images"], training=False))
    loss = float(mtfcdd.MultiTypeFCDDLoss()(data["labels"], heatmaps))
    np.save(folder + "/jax_heatmaps.npy", heatmaps)
    json.dump({"loss": loss}, open(folder + "/jax_loss.json", "w"))
    """
)


def test_jax_backend_matches_tensorflow(tmp_path):
    assert keras.backend.backend() == "tensorflow"
    keras.utils.set_random_seed(7)
    model = mtfcdd.build_model(8, 75, backbone_weights=None)
    rng = np.random.default_rng(7)
    images = rng.uniform(0, 255, (3, 75, 75, 3)).astype("float32")
    labels = np.zeros((3, 8), "float32")
    labels[1, 2] = labels[2, 7] = 1
    heatmaps = np.asarray(model(images, training=False))
    loss = float(mtfcdd.MultiTypeFCDDLoss()(labels, heatmaps))
    model.save_weights(tmp_path / "model.weights.h5")
    np.savez(tmp_path / "inputs.npz", images=images, labels=labels)

    environment = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    completed = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT, str(tmp_path)],
        env=environment, capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    jax_heatmaps = np.load(tmp_path / "jax_heatmaps.npy")
    jax_loss = json.load(open(tmp_path / "jax_loss.json"))["loss"]
    np.testing.assert_allclose(jax_heatmaps, heatmaps, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(jax_loss, loss, atol=1e-4, rtol=1e-4)
