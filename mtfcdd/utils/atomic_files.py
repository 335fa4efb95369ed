"""Writing files so that a crash never leaves one half-written.

Every file the package writes (checkpoints, results, images, data sets) goes
to a temporary name in the same folder first and is then renamed over the
target: ``os.replace`` is atomic on POSIX and Windows within one file system.

A temporary name is hidden and unique to its writer,
``.<name>.partial-<process id>-<random>``, so that two processes writing
the same file never share one. A process killed while writing (``kill
-9``, a power cut) leaves its temporary file behind; ``remove_stale_partials``
removes such leftovers once their process is gone.
"""

import contextlib
import json
import os
import re
import secrets
import shutil

PARTIAL_MARKER = ".partial"
# The package's temporary names; the process id is absent from those of
# mtfcdd 0.1 (".<name>.partial<suffix>").
_PARTIAL_NAME = re.compile(r"^\..+\.partial(?:-(?P<pid>\d+)-[0-9a-f]{8})?(?:\.[\w.]+)?$")


def temporary_path(path, suffix=""):
    """A hidden name beside ``path``, unique to this process and call.

    Args:
        path: the final file or folder path.
        suffix: ending the temporary name must keep, for writers that choose
            the format from it (``".keras"``, ``".png"``).
    """
    folder, name = os.path.split(os.fspath(path))
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    return os.path.join(folder, f".{name}{PARTIAL_MARKER}-{token}{suffix}")


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yields a temporary path to write to; renames it to ``path`` on success.

    Args:
        path: the final file path.
        suffix: see ``temporary_path``.
    """
    temporary = temporary_path(path, suffix)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


@contextlib.contextmanager
def temporary_folder_beside(path):
    """Yields a new hidden folder beside ``path``, removed on exit.

    For work files that belong with an output (e.g. the SavedModel a LiteRT
    conversion goes through): on the output's file system, not in the
    system's temporary folder, and found by ``remove_stale_partials`` if
    the process is killed.
    """
    folder = temporary_path(path)
    os.makedirs(folder)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def make_output_folder(path):
    """Creates the folder ``path`` and its parents if needed; refuses a file."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise NotADirectoryError(
            f"{path} is a file, not a folder: give a folder (new or existing) to write into."
        )
    os.makedirs(path, exist_ok=True)


def remove_stale_partials(folder):
    """Removes the temporary files and folders that killed writers left in ``folder``.

    Only the package's own temporary names count (``temporary_path``), and
    only those whose process is no longer running (or, for names of
    mtfcdd 0.1, which carry no process id, any): a user's file is never
    touched, nor a write in progress.

    Returns:
        The paths removed.
    """
    if not os.path.isdir(folder):
        return []
    removed = []
    for name in sorted(os.listdir(folder)):
        match = _PARTIAL_NAME.match(name)
        if not match or (match.group("pid") and process_is_running(int(match.group("pid")))):
            continue
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.remove(path)
        removed.append(path)
    return removed


def process_is_running(pid):
    """Whether a process with id ``pid`` runs on this machine."""
    if pid == os.getpid() or os.name == "nt":
        # Windows' os.kill would end the process: assume it runs.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it runs, as another user
    except OSError:
        return False  # not a valid process id here
    return True


def write_bytes(path, data):
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as file:
            file.write(data)


def write_text(path, text):
    write_bytes(path, text.encode("utf-8"))


def write_json(path, content):
    """Writes ``content`` as JSON, atomically; NaN and infinities, which JSON
    has no numbers for, are refused naming the file."""
    try:
        text = json.dumps(content, indent=2, allow_nan=False)
    except ValueError as error:
        raise ValueError(f"{path} would hold NaN or an infinity, which JSON cannot: {error}.") from error
    write_text(path, text + "\n")
