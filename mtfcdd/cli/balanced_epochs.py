"""`mtfcdd balanced-epochs`: iterations per balanced epoch (paper Table 2)."""

from __future__ import annotations

import argparse

from mtfcdd.cli.json_output import add_json_option, print_result
from mtfcdd.cli.options import alpha_argument, non_negative_int, positive_int
from mtfcdd.constants import BALANCED_EPOCH_METHODS


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "balanced-epochs",
        help="expected iterations of a balanced epoch (paper Eq. 4, 5, Table 2)",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--counts", type=_parse_counts,
        help="images per class, comma-separated, e.g. 54066,472,471",
    )
    source.add_argument(
        "--data", metavar="ROOT",
        help="data set root in any layout (Real-IAD's, or the folder layout): count its "
        "training split's classes, normal and each defect type",
    )
    parser.add_argument(
        "--alpha", type=alpha_argument, default=None,
        help="Real-IAD's FUIAD split of --data, fraction of defective images (default: 0.1)",
    )
    parser.add_argument(
        "--resolution",
        help="image folder of --data when it holds several, e.g. realiad_256",
    )
    parser.add_argument("--batch-size", type=positive_int, default=32, help="default: 32")
    parser.add_argument(
        "--method", choices=BALANCED_EPOCH_METHODS, default="exact",
        help="exact: Eq. 4 through the incomplete gamma function; monte_carlo: Eq. 5 (default: exact)"
    )
    parser.add_argument(
        "--trials", type=positive_int, default=10000,
        help="simulated epochs for monte_carlo (default: 10000)",
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="monte_carlo seed (default: 0)"
    )
    add_json_option(parser)
    parser.set_defaults(handler=_run)


def _run(arguments: argparse.Namespace) -> None:
    from mtfcdd.data.balanced_epoch import balanced_epoch_summary

    counts = arguments.counts
    if counts is None:
        # Imported here: reading a data set pulls in the image stack, which
        # the plain --counts computation does not need.
        from mtfcdd.data.balanced_sampler import class_counts
        from mtfcdd.data.layouts import load_dataset

        split = load_dataset(arguments.data, alpha=arguments.alpha, resolution=arguments.resolution)
        counts = tuple(class_counts(split.train).values())
    summary = balanced_epoch_summary(
        counts, batch_size=arguments.batch_size, method=arguments.method,
        trials=arguments.trials, seed=arguments.seed,
    )
    print_result(arguments, summary.to_dict(), _table(summary))


def _parse_counts(text):
    try:
        counts = tuple(int(field) for field in text.split(","))
    except ValueError:
        counts = ()
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated whole numbers >= 1, e.g. 54066,472,471; got {text!r}"
        )
    return counts


def _table(summary):
    estimate = summary.draws
    draws = f"{estimate.expected_draws:,.2f}"
    if estimate.standard_error is not None:
        draws += f" +- {estimate.standard_error:,.2f} ({estimate.trials} trials)"
    rows = (
        ("classes", f"{len(summary.counts)}"),
        ("images per class", ",".join(str(count) for count in summary.counts)),
        ("method", summary.draws.method),
        ("expected draws", draws),
        ("batch size", f"{summary.batch_size}"),
        ("balanced iterations", f"{summary.balanced_iterations:,.2f}"),
        ("standard iterations", f"{summary.standard_iterations:,.2f}"),
        (
            "standard epochs per balanced",
            f"{summary.standard_epochs_per_balanced_epoch:.2f}",
        ),
    )
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
