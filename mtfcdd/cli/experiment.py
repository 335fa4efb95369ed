"""The command line of the scripts in ``experiments/``, one per setting.

Each script (``experiments/multi_type_alpha_0.1.py`` ...) fixes the noise
ratio alpha and the setting (multi-type, K = 8, or multi-class, K = 1) and
calls ``experiment_main``; the training options are ``mtfcdd train``'s
(``mtfcdd.cli.options``), with the paper's defaults.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mtfcdd.cli.options import (
    add_data_options,
    add_evaluation_options,
    add_training_options,
    given_options,
    needs_given_options,
    positive_int,
    requested_evaluation_settings,
    requested_training_config,
)

if TYPE_CHECKING:
    from mtfcdd.workflows.experiment import ExperimentResult


def experiment_parser(name, alpha, multi_class):
    """The ``argparse`` parser of one experiment script."""
    setting = "multi-class (K = 1)" if multi_class else "multi-type (K = 8)"
    parser = argparse.ArgumentParser(description=f"Paper experiment {name}: {setting}, alpha = {alpha}.")
    add_data_options(parser, alpha=False, required=False)
    parser.add_argument(
        "--synthetic", action="store_true",
        help="run on the synthetic data set (the 'full' preset), generated in OUT/synthetic_data",
    )
    parser.add_argument(
        "--out", default=os.path.join("results", name), metavar="DIR",
        help="output folder for the model, the tables and the figure (default: %(default)s)",
    )
    parser.add_argument(
        "--pixel-size", type=positive_int, default=None, metavar="PIXELS",
        help="side at which heatmaps and masks are compared (default: the model input size)",
    )
    add_evaluation_options(parser)
    parser.add_argument(
        "--resume", action="store_true",
        help="continue an interrupted run in --out, with its saved settings (--epochs and "
        "--learning-rate may change)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the run in --out (its files are deleted first)"
    )
    add_training_options(parser, fixed=("multi_class",))
    return parser


def experiment_main(
    name: str, alpha: float, multi_class: bool, argv: Sequence[str] | None = None
) -> ExperimentResult | None:
    """Parse the command line of one experiment script and run it.

    ``--data ROOT`` runs on Real-IAD; ``--synthetic`` generates the
    ``full`` synthetic data set and runs the same experiment on it.

    Returns:
        The ``mtfcdd.workflows.experiment.ExperimentResult`` (None on a
        multi-worker run's workers other than the chief).
    """
    parser = experiment_parser(name, alpha, multi_class)
    arguments = parser.parse_args(argv)
    if (arguments.data is None) == (not arguments.synthetic):
        parser.error("give exactly one of --data ROOT and --synthetic")

    from mtfcdd.workflows.experiment import run_experiment, synthetic_data

    data_root = arguments.data
    if arguments.synthetic:
        data_root = synthetic_data(os.path.join(arguments.out, "synthetic_data"), seed=arguments.seed)
    given = given_options(parser, argv) if needs_given_options(arguments) else None
    config = requested_training_config(arguments, given, alpha=alpha, multi_class=multi_class)
    result = run_experiment(
        data_root, arguments.out, config, resume=arguments.resume, overwrite=arguments.overwrite,
        pixel_size=arguments.pixel_size, evaluation=requested_evaluation_settings(arguments, given),
    )
    if result is None:
        print(f"Training done on this worker; the chief writes the results to {arguments.out}.")
        return None
    print(result.table)
    print(f"Results in {os.path.abspath(arguments.out)}")
    return result
