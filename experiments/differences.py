"""The measured effect of each difference between the paper's settings and its authors' code.

Trains the paper preset, the authors' preset, and the paper preset with each
difference switched to the authors' value one at a time, on a synthetic data
set, evaluates each (the evaluation differences on the paper preset's model),
and writes one table: difference -> change in the mean I-AUROC, AP, F1-max,
P-AUROC and AUPRO, in percentage points, the mean over the seeds and their
spread (docs/realiad.md, "Differences from the paper").

    python experiments/differences.py --out results/differences --data-preset demo
    python experiments/differences.py --out results/differences_tiny
    python experiments/differences.py --out results/differences --data-preset demo --image-size 128 \\
        --epochs 10 --seeds 0 1 2 --spread-seeds

The first two are what docs/realiad.md reports (the ``demo`` set, and the
``tiny`` set of the defaults; both at 96x96 with the shipped synthetic
backbone, one balanced epoch, every run on seed 0 and the paper preset on
seeds 1 and 2 too, for the seed spread); the third is the full size, every
run on three seeds. Every run keeps its evaluation in
``OUT/runs/<run>/evaluation.json``: an interrupted script, started again
with the same options, reuses what is done.
"""

import argparse
import json
import os
import time

import numpy as np

from mtfcdd.data.realiad.reader import load_realiad
from mtfcdd.data.synthetic.presets import PRESETS as SYNTHETIC_PRESETS
from mtfcdd.evaluation.model_evaluation import evaluate
from mtfcdd.evaluation.presets import EVALUATION_PRESETS, evaluation_settings
from mtfcdd.metrics.evaluator import MEAN_ROW, METRIC_NAMES
from mtfcdd.model.saving import load_trained_model
from mtfcdd.training.config import TRAINING_PRESETS, TrainingConfig
from mtfcdd.training.run_folder import read_saved_config
from mtfcdd.training.trainer import train
from mtfcdd.utils.atomic_files import write_json, write_text
from mtfcdd.workflows.experiment import synthetic_data

TABLE_FILE = "differences.md"
RESULTS_FILE = "differences.json"
PAPER = "paper preset"
AUTHORS = "authors' preset"

# The training differences, by TrainingConfig field, and their names in the table.
TRAINING_DIFFERENCES = {
    "batch_size": "batch size 256",
    "backbone_batchnorm": "backbone BatchNorm in training mode",
    "input_scaling": "input in [0, 1]",
    "head_batchnorm": "head BatchNorm momentum/eps (PyTorch)",
    "initializer": "Kaiming-uniform initialisation",
    "adam_epsilon": "Adam eps 1e-8",
}
# The evaluation differences, by evaluation setting: the paper model evaluated
# with the authors' value.
EVALUATION_DIFFERENCES = {
    "reduction": "max score",
    "pixel_protocol": "authors' pixel protocol",
    "aupro": "authors' AUPRO integration",
    "mask_resizing": "bicubic-then->0 masks",
}


def runs(seed):
    """{run name: (TrainingConfig fields, evaluation settings)} of one seed.

    The seed is the loop's, for every run: the authors' 42 is one seed
    among others, whose effect is the seed spread.
    """
    paper_evaluation = evaluation_settings("paper")
    planned = {PAPER: ({"seed": seed}, paper_evaluation)}
    planned[AUTHORS] = ({**TRAINING_PRESETS["authors"], "seed": seed, "preset": "authors"},
                        evaluation_settings("authors"))
    for field, name in TRAINING_DIFFERENCES.items():
        planned[name] = ({field: TRAINING_PRESETS["authors"][field], "seed": seed}, paper_evaluation)
    for setting, name in EVALUATION_DIFFERENCES.items():
        planned[name] = ({"seed": seed}, evaluation_settings(
            "paper", **{setting: EVALUATION_PRESETS["authors"][setting]}))
    return planned


def run_folder_name(fields):
    """Runs with the same training share one model: the folder names its fields."""
    changed = {name: value for name, value in sorted(fields.items()) if name != "preset"}
    return "_".join(f"{name}-{value}" for name, value in changed.items())


def mean_metrics(data_root, output_dir, fields, evaluation, base, verbose):
    """The mean row of one run's evaluation, training its model if needed."""
    folder = os.path.join(output_dir, "runs", run_folder_name(fields))
    cached = os.path.join(folder, f"evaluation_{run_folder_name(evaluation)}.json")
    model_path = os.path.join(folder, "model.keras")
    config = TrainingConfig(**{**base, **fields})
    if _trained_with(folder, model_path) == config and os.path.isfile(cached):
        with open(cached) as file:
            return json.load(file)["metrics"][MEAN_ROW]
    if _trained_with(folder, model_path) != config:
        train(data_root, folder, config=config, overwrite=True, verbose=verbose)
    test = load_realiad(data_root, alpha=config.alpha).test
    result = evaluate(load_trained_model(model_path), test, verbose=verbose, **evaluation)
    write_json(cached, result)
    return result["metrics"][MEAN_ROW]


def _trained_with(folder, model_path):
    """The config of the model in ``folder``, or None when it has none."""
    if not os.path.isfile(model_path):
        return None
    return read_saved_config(folder)[0]


def effects(means):
    """{run: {metric: (mean change, spread)}} in percentage points.

    Args:
        means: {seed: {run: mean row}}; the seeds of ``--spread-seeds`` hold
            the paper preset alone.

    The change is each seed's run minus the paper preset of that seed, the
    mean over the seeds that ran every difference. The paper preset's own
    row holds its absolute values and their standard deviation over all its
    seeds, the seed spread. A change's spread is its standard deviation
    over the seeds; with one seed, the seed spread stands for it.
    """
    full_seeds = [seed for seed in means if AUTHORS in means[seed]]
    table = {PAPER: {}}
    for metric in METRIC_NAMES:
        values = np.array([100 * means[seed][PAPER][metric] for seed in means])
        table[PAPER][metric] = (float(values.mean()), _spread(values))
    for name in means[full_seeds[0]]:
        if name == PAPER:
            continue
        table[name] = {}
        for metric in METRIC_NAMES:
            changes = np.array([100 * (means[seed][name][metric] - means[seed][PAPER][metric]) for seed in full_seeds])
            spread = _spread(changes) if len(full_seeds) > 1 else table[PAPER][metric][1]
            table[name][metric] = (float(changes.mean()), spread)
    return table


def _spread(values):
    return float(values.std(ddof=1)) if len(values) > 1 else 0.0


def markdown_table(table):
    header = "| difference (authors' value) | " + " | ".join(METRIC_NAMES) + " |"
    lines = [header, "|" + "---|" * (len(METRIC_NAMES) + 1)]
    for name, values in table.items():
        sign = "" if name == PAPER else "+"
        cells = [f"{mean:{sign}.1f} ± {spread:.1f}" for mean, spread in (values[m] for m in METRIC_NAMES)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join("results", "differences"), metavar="DIR")
    parser.add_argument("--data-preset", choices=tuple(SYNTHETIC_PRESETS), default="tiny",
                        help="synthetic data set, generated in OUT/data (default: %(default)s)")
    parser.add_argument("--image-size", type=int, default=96, help="model input side (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=1, help="balanced epochs per run (default: %(default)s)")
    parser.add_argument("--learning-rate", type=float, default=1e-3,
                        help="Adam's, for every run (default: %(default)s, the demo's short schedule)")
    parser.add_argument("--backbone-weights", default="synthetic",
                        help="imagenet, synthetic (default: shipped, trained on synthetic images) or a file")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="seeds every run trains with (default: %(default)s)")
    parser.add_argument("--spread-seeds", type=int, nargs="*", default=[1, 2],
                        help="more seeds of the paper preset alone, for the seed spread (default: %(default)s)")
    parser.add_argument("--alpha", type=float, default=0.1)
    arguments = parser.parse_args(argv)
    started = time.monotonic()
    data_root = synthetic_data(os.path.join(arguments.out, "data"), preset=arguments.data_preset, verbose=0)
    # The steps follow the batch size (the balanced epoch, Eq. 4), so that
    # every run sees about as many images: batch 256 takes 1/8 of the steps.
    base = {
        "alpha": arguments.alpha, "image_size": arguments.image_size,
        "backbone_weights": arguments.backbone_weights, "learning_rate": arguments.learning_rate,
        "epochs": arguments.epochs,
    }
    means = {
        seed: {
            name: mean_metrics(data_root, arguments.out, fields, evaluation, base, verbose=0)
            for name, (fields, evaluation) in runs(seed).items()
            if seed in arguments.seeds or name == PAPER
        }
        for seed in dict.fromkeys(arguments.seeds + arguments.spread_seeds)
    }
    table = effects(means)
    minutes = (time.monotonic() - started) / 60
    settings = {**vars(arguments), "minutes": round(minutes, 1)}
    document = (
        f"{markdown_table(table)}\n\nFirst row: the paper preset's mean over the types (%) ± its standard "
        f"deviation over seeds {sorted(means)}; others: the change from it (percentage points) over seeds "
        f"{arguments.seeds}, ± its standard deviation over them, or with one seed the paper preset's. "
        f"Settings: {json.dumps({k: v for k, v in settings.items() if k != 'out'})}.\n"
    )
    write_json(os.path.join(arguments.out, RESULTS_FILE), {"settings": settings, "effects": table, "means": means})
    write_text(os.path.join(arguments.out, TABLE_FILE), document)
    print(document)
    return table


if __name__ == "__main__":
    main()
