"""The ``mtfcdd`` command line: a thin layer over the public API.

Each verb lives in a module of this package with a ``register(subparsers)``
function that adds its parser and sets ``handler`` to the function that runs
it. The verb modules import only light modules at import time (argparse,
``mtfcdd.constants``, the option declarations); Keras and TensorFlow load
inside the handlers of the verbs that need them, so that ``mtfcdd --help``
and ``mtfcdd balanced-epochs`` answer in about a second.

``main`` turns the package's input errors (``ValueError``,
``FileNotFoundError``), a missing optional package (``MissingPackageError``,
which names the extra to install) and a diverged training
(``FloatingPointError``) into a one-line message and exit status 1; argparse
reports usage errors with exit status 2.
"""

import argparse
import os
import sys

from mtfcdd import __version__
from mtfcdd.cli import balanced_epochs, benchmark, data, demo, evaluate, export, predict, serve, train
from mtfcdd.utils.optional_packages import MissingPackageError

# Modules that define verbs, in the order `mtfcdd --help` lists them.
COMMAND_MODULES = (demo, data, balanced_epochs, train, evaluate, predict, serve, export, benchmark)

# TensorFlow's C++ start-up lines (CUDA probing, oneDNN, CPU features) are
# noise to a user; 2 keeps its errors. Set before TensorFlow is imported.
_QUIET_TENSORFLOW = {"TF_CPP_MIN_LOG_LEVEL": "2"}


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
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv=None):
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command is None:
        parser.print_help()
        return 0
    if not arguments.verbose:
        for name, value in _QUIET_TENSORFLOW.items():
            os.environ.setdefault(name, value)
    try:
        return arguments.handler(arguments) or 0
    except (ValueError, FileNotFoundError, FloatingPointError, MissingPackageError) as error:
        print(f"mtfcdd {arguments.command}: error: {error}", file=sys.stderr)
        return 1
