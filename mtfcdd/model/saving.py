"""Saving and loading model files: atomically, and with clear errors."""

from __future__ import annotations

import os
import zipfile

import keras

from mtfcdd.model.network import MultiTypeFCDD
from mtfcdd.utils.atomic_files import atomic_path


def load_trained_model(path: str | os.PathLike[str]) -> MultiTypeFCDD:
    """Loads a ``MultiTypeFCDD`` saved as ``.keras`` (``safe_mode=True``).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file cannot be read, or is not a saved MultiTypeFCDD.
    """
    model = load_model_file(path, "model")
    if not isinstance(model, MultiTypeFCDD):
        raise ValueError(
            f"{path!r} holds a {type(model).__name__}, not a MultiTypeFCDD model "
            "(mtfcdd train writes one as model.keras)."
        )
    return model


def load_model_file(path, kind="model"):
    """``keras.saving.load_model(path, safe_mode=True)`` with errors that name the file.

    Args:
        path: a ``.keras`` file.
        kind: what the file is, for messages ("model", "checkpoint").

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: not a ``.keras`` file, or one that cannot be read
            (damaged, truncated, or not written by Keras 3).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{kind.capitalize()} file not found: {path!r}.")
    if not path.endswith(".keras"):
        raise ValueError(f"{kind.capitalize()} file {path!r} must be a Keras model saved as '.keras'.")
    if not zipfile.is_zipfile(path):
        # Keras itself reports such a file as "not found".
        raise ValueError(
            f"The {kind} file {path!r} cannot be read: it is not a complete .keras archive "
            "(damaged or truncated, e.g. by an interrupted copy)."
        )
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except (ValueError, OSError, TypeError, KeyError, zipfile.BadZipFile) as error:
        reason = " ".join(str(error).split())
        raise ValueError(f"The {kind} file {path!r} cannot be read: {reason}") from error


def save_model_atomically(model, path):
    """``model.save(path)`` through a temporary file and a rename."""
    with atomic_path(path, suffix=".keras") as temporary_path:
        model.save(temporary_path)
