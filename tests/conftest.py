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
