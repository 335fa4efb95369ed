"""Writing files so that a crash never leaves one half-written.

Every file the package writes (checkpoints, results, images, data sets) goes
to a temporary name in the same folder first and is then renamed over the
target: ``os.replace`` is atomic on POSIX and Windows within one file system.
"""

import contextlib
import json
import os


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yields a temporary path to write to; renames it to ``path`` on success.

    Args:
        path: the final file path.
        suffix: ending the temporary name must keep, for writers that choose
            the format from it (``".keras"``, ``".png"``).
    """
    folder, name = os.path.split(os.fspath(path))
    temporary_path = os.path.join(folder, f".{name}.partial{suffix}")
    try:
        yield temporary_path
        os.replace(temporary_path, path)
    finally:
        if os.path.exists(temporary_path):
            os.remove(temporary_path)


def write_bytes(path, data):
    with atomic_path(path) as temporary_path:
        with open(temporary_path, "wb") as file:
            file.write(data)


def write_text(path, text):
    write_bytes(path, text.encode("utf-8"))


def write_json(path, content):
    write_text(path, json.dumps(content, indent=2) + "\n")
