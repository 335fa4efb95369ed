import os

# Quiet TensorFlow's C++ start-up chatter in test logs; errors still raise.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """The `tiny` synthetic data set in Real-IAD's layout, built once."""
    from mtfcdd.data.synthetic.dataset import make_synthetic_iad

    return make_synthetic_iad(tmp_path_factory.mktemp("tiny"), preset="tiny", seed=0, progress=False)


def blocking_imports(packages):
    """Python source that, run first in a fresh interpreter, makes importing ``packages`` fail.

    Code meant for a board (no Keras, no TensorFlow) is run after it.
    """
    return f"""
import importlib.abc, sys

class BlockPackages(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {tuple(packages)!r}:
            raise ImportError("blocked: " + name)
        return None

sys.meta_path.insert(0, BlockPackages())
"""


def tiny_litert_file(path, side):
    """A LiteRT model whose output phi is known: 15x15 means of the image / 100.

    Converting MultiTypeFCDD takes ~45 s on two cores, too long for tests
    of the verbs; the runner's own tests convert the real model. This one
    checks that ``predict`` and the board path drive any ``LiteRTModel``
    correctly (``side`` x ``side`` inputs, 8 types).
    """
    import tensorflow as tf

    import mtfcdd
    from mtfcdd.deploy.sidecar import SCHEMA_VERSION, write_sidecar

    @tf.function(input_signature=[tf.TensorSpec([None, side, side, 3], tf.float32)])
    def type_projection(images):
        means = tf.nn.avg_pool2d(images / 100.0, 15, 15, "VALID")
        return tf.concat([means, means, means[..., :2]], axis=-1)

    converter = tf.lite.TFLiteConverter.from_concrete_functions([type_projection.get_concrete_function()])
    with open(path, "wb") as file:
        file.write(converter.convert())
    write_sidecar(path, {
        "schema_version": SCHEMA_VERSION, "mtfcdd_version": mtfcdd.__version__,
        "output": "type_projection",
        "type_codes": list(mtfcdd.DEFECT_CODES), "image_size": [side, side],
        "score_reduction": "mean", "thresholds": [0.5] * 8, "quantization": "none",
        "num_calibration_images": None, "weights_source": "test",
    })
    return str(path)


def unit_scale_model(images, side):
    """A random K = 8 model whose type projection is scaled so that its maps
    on ``images`` are O(1), thresholds 1.0 (tests/test_onnx.py,
    tests/test_precision.py)."""
    import keras
    import numpy as np

    import mtfcdd
    from mtfcdd.deploy.export import type_projection_model

    keras.utils.set_random_seed(0)
    model = mtfcdd.build_model(8, side, backbone_weights=None)
    projection = np.asarray(type_projection_model(model).predict_on_batch(images.astype(np.float32)))
    layer = model.get_layer("type_projection")
    layer.kernel.assign(layer.kernel / projection.std())
    model.thresholds = (1.0,) * 8
    return model
