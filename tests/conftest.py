import os

# Quiet TensorFlow's C++ start-up chatter in test logs; errors still raise.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """The `tiny` synthetic data set in Real-IAD's layout, built once."""
    from mtfcdd.data.synthetic.dataset import make_synthetic_iad

    return make_synthetic_iad(tmp_path_factory.mktemp("tiny"), preset="tiny", seed=0, progress=False)
