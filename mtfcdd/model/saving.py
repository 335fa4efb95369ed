"""Saving and loading model files: atomically, and with clear errors."""

import os

import keras

from mtfcdd.model.network import MultiTypeFCDD
from mtfcdd.utils.atomic_files import atomic_path


def load_trained_model(path):
    """Loads a ``MultiTypeFCDD`` saved as ``.keras`` (``safe_mode=True``).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a saved MultiTypeFCDD.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Model file not found: {path!r}.")
    if not str(path).endswith(".keras"):
        raise ValueError(f"Model file {path!r} must be a Keras model saved as '.keras'.")
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except (ValueError, OSError, TypeError) as error:
        raise ValueError(f"Could not load the model {path!r}: {error}") from error
    if not isinstance(model, MultiTypeFCDD):
        raise ValueError(
            f"{path!r} holds a {type(model).__name__}, not a MultiTypeFCDD model "
            "(mtfcdd train writes one as model.keras)."
        )
    return model


def save_model_atomically(model, path):
    """``model.save(path)`` through a temporary file and a rename."""
    with atomic_path(path, suffix=".keras") as temporary_path:
        model.save(temporary_path)
