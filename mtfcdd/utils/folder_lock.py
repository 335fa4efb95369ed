"""One process at a time in a folder: a lock file holding its process id and host.

Training writes its checkpoint, state and log into one run folder; two runs
in the same folder would overwrite each other's files. ``folder_lock``
creates ``<folder>/run.lock`` atomically (``O_CREAT | O_EXCL``: exactly one
process succeeds) with the holder's process id and host, and removes it on
exit. A lock left by a killed process (its id no longer runs on this host)
is stale: it is taken over, with a note on standard error. A lock held by
a live process, or by another host (whose processes cannot be checked from
here), is refused with a ``FolderInUseError`` naming the holder.
"""

import contextlib
import datetime
import json
import os
import socket
import sys
import time

from mtfcdd.utils.atomic_files import process_is_running

LOCK_FILE = "run.lock"
# A lock file without a readable record is being written by its creator
# (between its creation and its first write) unless it is older than this.
_UNREADABLE_GRACE_SECONDS = 10.0


class FolderInUseError(RuntimeError):
    """Another process holds the lock of a folder."""


@contextlib.contextmanager
def folder_lock(folder, purpose="training"):
    """Holds the lock of ``folder`` for the duration of the block.

    Args:
        folder: an existing folder.
        purpose: what the lock protects, in words, for messages.

    Raises:
        FolderInUseError: another live process holds the lock.
    """
    path = os.path.join(folder, LOCK_FILE)
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "purpose": purpose,
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    _acquire(path, record)
    try:
        yield path
    finally:
        if _holder(path) == record:
            os.remove(path)


def _acquire(path, record):
    for _ in range(3):
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            _remove_if_stale(path, record)
            continue
        with os.fdopen(descriptor, "w") as file:
            json.dump(record, file)
        return
    raise FolderInUseError(
        f"{path}: could not take the lock of {os.path.dirname(path)}; another process keeps "
        "taking it. Try again."
    )


def _remove_if_stale(path, record):
    """Removes the lock at ``path`` if its holder is gone; else raises."""
    holder = _holder(path)
    folder = os.path.dirname(path)
    if holder is None:
        modified = _modified(path)
        if modified is None:
            return  # released meanwhile
        if time.time() - modified < _UNREADABLE_GRACE_SECONDS:
            raise FolderInUseError(
                f"{folder} is being locked by another process ({path} is being written); try again."
            )
        description = "an unreadable lock"
    else:
        pid, host = holder.get("pid"), holder.get("host")
        where = f"process {pid} on {host}"
        if host != record["host"]:
            raise FolderInUseError(
                f"{folder} is in use by {where} ({holder.get('purpose', 'a run')} since "
                f"{holder.get('started', '?')}); this host cannot tell whether it still runs. "
                f"If it does not, delete {path} and try again."
            )
        if isinstance(pid, int) and process_is_running(pid):
            raise FolderInUseError(
                f"{folder} is in use by {where} ({holder.get('purpose', 'a run')} since "
                f"{holder.get('started', '?')}); wait for it to finish, stop it, or use another "
                f"folder (if process {pid} is not an mtfcdd run, delete {path})."
            )
        description = f"the lock of {where}, which no longer runs"
    print(f"note: {folder}: taking over {description} (a killed run?).", file=sys.stderr)
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def _holder(path):
    """The lock's record, or None when it is missing or unreadable."""
    try:
        with open(path) as file:
            holder = json.load(file)
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _modified(path):
    try:
        return os.path.getmtime(path)
    except OSError:
        return None
