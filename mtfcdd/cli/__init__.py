"""The ``mtfcdd`` command line: a thin layer over the public API.

Each verb lives in a module of this package with a ``register(subparsers)``
function that adds its parser and sets ``handler`` to the function that runs
it. The verb modules import only light modules at import time (argparse,
``mtfcdd.constants``, the option declarations); Keras and TensorFlow load
inside the handlers of the verbs that need them, so that ``mtfcdd --help``
and ``mtfcdd balanced-epochs`` answer in about a second.

``main`` turns the errors a user can cause into a one-line message that
names the file or value at fault, and exit status 1: bad input
(``ValueError``, JSON errors included), files and folders that are missing,
unreadable, read-only, full or of the wrong kind (``OSError``: permissions,
a file where a folder is expected, a full disk, a failed download), a run
folder in use (``FolderInUseError``), a missing optional package
(``MissingPackageError``, which names the extra to install) and a diverged
training
(``FloatingPointError``). ``mtfcdd --debug VERB`` shows the traceback
instead. Usage errors (an unknown option, a value out of its range, found
by argparse or after it: ``UsageError``) exit with status 2; ``mtfcdd
predict`` exits with 3 when some of its inputs failed (``EXIT_STATUSES``).
Under ``--json`` the result, or the error, is one JSON document on standard
output and everything else goes to standard error
(``mtfcdd.cli.json_output``).

The verbs' modules: ``train``, ``evaluate``, ``predict``, ``export``,
``serve``, ``benchmark`` (and ``benchmark_training``, its ``--training``
part), ``data`` (``data synth``, ``data verify``), ``demo``,
``balanced_epochs``, and ``experiment`` (the command line of the scripts
in ``experiments/``). Shared by them: ``options`` (options that several
verbs read, each declared once) and ``json_output`` (the ``--json``
convention).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import sys
from collections.abc import Sequence

from mtfcdd import __version__
from mtfcdd.cli import balanced_epochs, benchmark, data, demo, evaluate, export, predict, serve, train
from mtfcdd.cli.json_output import json_error
from mtfcdd.cli.options import UsageError, given_options, needs_given_options
from mtfcdd.utils.folder_lock import FolderInUseError
from mtfcdd.utils.optional_packages import MissingPackageError
from mtfcdd.utils.tensorflow_logs import hidden_tensorflow_logs

# Modules that define verbs, in the order `mtfcdd --help` lists them.
COMMAND_MODULES = (demo, data, balanced_epochs, train, evaluate, predict, serve, export, benchmark)

EXIT_STATUSES = {
    0: "success",
    1: "an error (one line on standard error; --debug shows the traceback)",
    2: "a usage error (an unknown option, a value out of its range)",
    3: "mtfcdd predict: some inputs failed; the others' results are written",
}
_USER_ERRORS = (ValueError, OSError, FloatingPointError, FolderInUseError, MissingPackageError)
# What to do about a system error, by its errno.
_OS_ERROR_HINTS = {
    errno.EACCES: "check the permissions, or write elsewhere",
    errno.EPERM: "check the permissions, or write elsewhere",
    errno.EROFS: "a read-only file system: write elsewhere",
    errno.ENOSPC: "the disk is full: free space, or write elsewhere",
    errno.EISDIR: "a folder where a file is expected",
    errno.ENOTDIR: "a file where a folder is expected",
    errno.EEXIST: "it already exists",
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="mtfcdd",
        description=(
            "MultiTypeFCDD: explainable multi-type anomaly detection "
            "(one heatmap per defect type)."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"mtfcdd {__version__}"
    )
    parser.add_argument(
        "--verbose", action="store_true",
        help="also show TensorFlow's own log lines (hidden by default)",
    )
    parser.add_argument(
        "--debug", action="store_true",
        help="show the Python traceback of an error (by default an error is one line)",
    )
    parser.epilog = "exit status: " + "; ".join(
        f"{status} {meaning}" for status, meaning in EXIT_STATUSES.items()
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    json_output = "--json" in (sys.argv[1:] if argv is None else argv)
    if json_output:
        # argparse's errors become UsageErrors, reported as JSON below.
        for each_parser in _all_parsers(parser):
            each_parser.error = _raise_usage_error
    try:
        arguments = parser.parse_args(argv)
    except UsageError as error:
        print(json_error(str(error), 2))
        print(f"mtfcdd: error: {error}", file=sys.stderr)
        return 2
    if arguments.command is None:
        parser.print_help()
        return 0
    arguments.given_options = given_options(parser, argv) if needs_given_options(arguments) else None
    arguments.json = getattr(arguments, "json", False)
    arguments.result_stream = sys.stdout
    # Under --json standard output carries the JSON document alone.
    messages = contextlib.redirect_stdout(sys.stderr) if arguments.json else contextlib.nullcontext()
    try:
        # TensorFlow's start-up lines (CUDA probing, oneDNN) are noise to a user.
        with hidden_tensorflow_logs(hidden=not arguments.verbose), messages:
            return arguments.handler(arguments) or 0
    except _USER_ERRORS as error:
        if arguments.debug:
            raise
        status = 2 if isinstance(error, UsageError) else 1
        line = error_line(error)
        if arguments.json:
            print(json_error(line, status))
        print(f"mtfcdd {arguments.command}: error: {line}", file=sys.stderr)
        return status


def _all_parsers(parser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                yield from _all_parsers(subparser)


def _raise_usage_error(message):
    raise UsageError(message)


def error_line(error):
    """The message of ``error`` on one line; for a system error, the file,
    the cause and what to do."""
    if isinstance(error, OSError) and error.strerror:
        files = " -> ".join(str(name) for name in (error.filename, error.filename2) if name is not None)
        hint = _OS_ERROR_HINTS.get(error.errno)
        message = f"{files + ': ' if files else ''}{error.strerror}{f' ({hint})' if hint else ''}"
    else:
        message = str(error)
    return " ".join(message.split())
