"""Open-set: how a model flags a defect type it never trained on (docs/open_set.md).

Leave one type out: for each defect type (a fold), trains a model on the
training split without that type's images, scores every test image, fits
the open-set rule of each method on the training split
(``mtfcdd.inference.open_set``), and reports, per fold and on average:

- (a) the detection I-AUROC of the held-out type's images against the
  normal images, with the open-set score;
- (b) the I-AUROC of the held-out images against the known types' defective
  images (is a new type recognised as new?);
- (c) at the fitted thresholds, the share of held-out images called
  "unknown defect", called a known type (a wrong name) and missed as
  normal, and the share of normal images called "unknown defect";
- (d) the known types' mean I-AUROC with and without the open-set part.

The first method, ``max_ratio`` (the largest type score over its
threshold), is the baseline.

    python experiments/open_set.py --out results/open_set
    mtfcdd data synth parts --layout folder --types crack,dent,stain
    python experiments/open_set.py --out results/open_set_parts --data parts

The defaults train as ``mtfcdd demo`` trains, on the ``demo`` synthetic
set (96x96, the shipped synthetic backbone, Adam 1e-3, 8 epochs of 60
steps of 32 images, alpha 0.4), every type held out in turn: the run
docs/open_set.md reports. ``--data ROOT`` runs the protocol on a data set of
your own instead, in any layout (``--layout``, found by default), with your
type names: the second and third commands, on a synthetic set in the folder
layout.

Each fold keeps its model and its scores in ``OUT/folds/<type>/``: an
interrupted script, started again with the same options, reuses what is
done. Writes ``open_set.md`` (the table), ``open_set.json``,
``per_image.csv`` (every test image's scores and decisions, per fold and
method) and ``held_out_examples.png``.
"""

import argparse
import csv
import dataclasses
import io
import json
import os
import time

import numpy as np

from mtfcdd.constants import DATA_LAYOUTS, DEFECT_CODES, NORMAL_CLASS
from mtfcdd.data.layouts import detect_layout, load_dataset
from mtfcdd.data.synthetic.presets import PRESETS as SYNTHETIC_PRESETS
from mtfcdd.inference.heatmap_model import heatmap_model
from mtfcdd.inference.open_set import UNKNOWN_DEFECT, open_set_decisions
from mtfcdd.inference.postprocessing import upsample_heatmaps
from mtfcdd.inference.postprocessor import Postprocessor
from mtfcdd.inference.scoring import predict_scores
from mtfcdd.metrics import auroc
from mtfcdd.model.saving import load_trained_model
from mtfcdd.training.config import TrainingConfig
from mtfcdd.training.run_folder import MODEL_FILE
from mtfcdd.training.trainer import train
from mtfcdd.utils.atomic_files import write_json, write_text
from mtfcdd.utils.image_files import read_mask, read_rgb_image, write_png
from mtfcdd.utils.progress import ProgressBar
from mtfcdd.visualization.figures import select_examples
from mtfcdd.visualization.panels import GridExample, GridRow, heatmap_grid
from mtfcdd.workflows.demo import DemoSettings
from mtfcdd.workflows.experiment import synthetic_data

METHODS = ("max_ratio", "normal_distance")
"""The open-set methods compared; the first is the baseline."""
TABLE_FILE = "open_set.md"
RESULTS_FILE = "open_set.json"
PER_IMAGE_FILE = "per_image.csv"
FIGURE_FILE = "held_out_examples.png"
SCORES_FILE = "scores.json"
NORMAL_DECISION = "normal"
KNOWN_DECISION = "known type"
COLUMNS = {
    "auroc_vs_normal": "(a) I-AUROC held-out vs normal",
    "auroc_vs_known": "(b) I-AUROC held-out vs known types",
    "unknown": "(c) held-out called unknown",
    "known": "(c) called a known type",
    "missed": "(c) missed as normal",
    "normal_called_unknown": "normal called unknown",
    "known_auroc": "(d) known types' I-AUROC, with = without",
    "known_answers_changed": "(d) known-type detections changed",
}
PERCENT_COLUMNS = ("unknown", "known", "missed", "normal_called_unknown", "known_answers_changed")


@dataclasses.dataclass(frozen=True)
class FoldScores:
    """What one fold's model gave: its normal training images' labels and
    type scores (to fit the open-set rules on), its thresholds, and every
    test image's type scores."""

    held_out: str
    type_codes: tuple
    thresholds: tuple
    train_labels: np.ndarray
    train_scores: np.ndarray
    test_paths: tuple
    test_classes: tuple
    test_scores: np.ndarray

    def to_dict(self):
        """The scores as JSON values."""
        return {
            "held_out": self.held_out, "type_codes": list(self.type_codes),
            "thresholds": list(self.thresholds), "train_labels": self.train_labels.tolist(),
            "train_scores": self.train_scores.tolist(), "test_paths": list(self.test_paths),
            "test_classes": list(self.test_classes), "test_scores": self.test_scores.tolist(),
        }

    @classmethod
    def from_dict(cls, values):
        """The scores of ``to_dict``'s dict (other keys ignored)."""
        return cls(
            values["held_out"], tuple(values["type_codes"]), tuple(values["thresholds"]),
            np.asarray(values["train_labels"], np.int64), np.asarray(values["train_scores"], np.float64),
            tuple(values["test_paths"]), tuple(values["test_classes"]),
            np.asarray(values["test_scores"], np.float64),
        )


def fold_scores(data_root, held_out, output_dir, config, verbose):
    """The ``FoldScores`` of training without ``held_out``
    (``TrainingConfig.exclude_types``), training first unless the fold's
    folder holds the scores of the same settings."""
    folder = os.path.join(output_dir, "folds", held_out)
    cached = os.path.join(folder, SCORES_FILE)
    config = dataclasses.replace(config, exclude_types=(held_out,))
    # As read back from JSON (lists, not tuples), to compare with a saved run's.
    settings = json.loads(json.dumps(config.to_dict()))
    if os.path.isfile(cached):
        with open(cached) as file:
            saved = json.load(file)
        if saved["settings"] == settings:
            return FoldScores.from_dict(saved)
    training = train(data_root, os.path.join(folder, "run"), config=config, overwrite=True, verbose=verbose)
    model = load_trained_model(training.model_path)
    # The rules are fitted on the normal training images alone.
    train_labels, train_scores = predict_scores(
        model, [sample for sample in training.data.train if sample.is_normal], config.batch_size,
        verbose=verbose, label="Scoring normal training images",
    )
    test = training.data.test + training.data.excluded_test
    _, test_scores = predict_scores(model, test, config.batch_size, verbose=verbose, label="Scoring test split")
    scores = FoldScores(
        held_out, tuple(model.type_codes), tuple(model.thresholds), train_labels, train_scores,
        tuple(sample.image_path for sample in test), tuple(sample.anomaly_class for sample in test),
        test_scores,
    )
    write_json(cached, {"settings": settings, **scores.to_dict()})
    return scores


def decisions(postprocessor, type_scores):
    """Each image's decision by ``postprocessor`` (``Postprocessor.decide``):
    its known types, ``(UNKNOWN_DEFECT,)`` or ``()``; and the open-set
    scores (None without a rule)."""
    detected, open_set_scores, unknown = postprocessor.decide(type_scores)
    return open_set_decisions(detected, unknown), open_set_scores


def decision_name(decision):
    """A decision in one word: ``UNKNOWN_DEFECT``, a known type or normal."""
    if decision == (UNKNOWN_DEFECT,):
        return UNKNOWN_DEFECT
    return KNOWN_DECISION if decision else NORMAL_DECISION


def fold_metrics(scores, method):
    """One fold's row of the table for ``method``, and its per-image rows."""
    without_rule = Postprocessor(scores.type_codes, thresholds=scores.thresholds)
    with_rule = without_rule.fit_open_set(scores.train_labels, scores.train_scores, method)
    answers, open_set_scores = decisions(with_rule, scores.test_scores)
    answers_without, _ = decisions(without_rule, scores.test_scores)
    names = np.asarray([decision_name(answer) for answer in answers])
    classes = np.asarray(scores.test_classes)
    held_out = classes == scores.held_out
    normal = classes == NORMAL_CLASS
    known = ~held_out & ~normal
    row = {
        "auroc_vs_normal": auroc(held_out[held_out | normal], open_set_scores[held_out | normal]),
        "auroc_vs_known": auroc(held_out[held_out | known], open_set_scores[held_out | known]),
        "unknown": float(np.mean(names[held_out] == UNKNOWN_DEFECT)),
        "known": float(np.mean(names[held_out] == KNOWN_DECISION)),
        "missed": float(np.mean(names[held_out] == NORMAL_DECISION)),
        "normal_called_unknown": float(np.mean(names[normal] == UNKNOWN_DEFECT)),
        "known_auroc": known_types_auroc(scores),
        # The rule may only turn "normal" into "unknown defect": the
        # images a known type was detected on keep their answer.
        "known_answers_changed": float(np.mean([
            answer != before for answer, before in zip(answers, answers_without) if before
        ])),
        "open_set_threshold": with_rule.open_set["threshold"],
    }
    per_image = [
        {"fold": scores.held_out, "method": method, "image": path, "class": anomaly_class,
         "open_set_score": float(value), "decision": name}
        for path, anomaly_class, value, name in zip(scores.test_paths, classes, open_set_scores, names)
    ]
    return row, per_image


def known_types_auroc(scores):
    """The known types' mean I-AUROC, each type's test images against all
    others (as ``mtfcdd evaluate`` counts): from the type scores, which the
    open-set part does not touch, so it is the same with it and without."""
    classes = np.asarray(scores.test_classes)
    return float(np.mean([
        auroc(classes == code, scores.test_scores[:, channel])
        for channel, code in enumerate(scores.type_codes) if (classes == code).any()
    ]))


def average_rows(rows):
    """The mean of each column over the folds."""
    return {column: float(np.mean([row[column] for row in rows])) for column in rows[0]}


def markdown_table(results):
    """One table: a row per fold and method, then the mean over folds per method."""
    header = "| held out | method | " + " | ".join(COLUMNS.values()) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 2)]
    for fold, by_method in results.items():
        for method, row in by_method.items():
            cells = [_cell(column, row[column]) for column in COLUMNS]
            name = method + (" (baseline)" if method == METHODS[0] else "")
            lines.append(f"| {fold} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(column, value):
    return f"{100 * value:.0f}%" if column in PERCENT_COLUMNS else f"{100 * value:.1f}"


def per_image_csv(rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def held_out_figure(test_samples, folds, output_path, examples_per_fold=4, tile_size=96):
    """One row per fold: held-out test images with the map of where the
    model sees a defect (the largest of the K maps), captioned with the
    decision of each method.

    Args:
        test_samples: the test ``Sample``s.
        folds: ``[(FoldScores, model path, {method: {image path: decision}})]``.
    """
    rows = []
    for scores, model_path, names in folds:
        held_out = [sample for sample in test_samples if sample.anomaly_class == scores.held_out]
        [(_, chosen)] = select_examples(held_out, (scores.held_out,), examples_per_fold)
        source = heatmap_model(load_trained_model(model_path))
        images = [read_rgb_image(sample.image_path) for sample in chosen]
        # Where, as predict's panel of an unknown defect shows it: no
        # channel is the new type's, so the largest of the K maps.
        heatmaps = source.heatmaps(images).max(axis=-1, keepdims=True)
        examples = []
        for image, heatmap, sample in zip(images, heatmaps, chosen):
            caption = " / ".join(_short(names[method][sample.image_path]) for method in names)
            examples.append(GridExample(
                image=image, heatmap=upsample_heatmaps(heatmap[None], image.shape[:2])[0, ..., 0],
                mask=read_mask(sample.mask_path), caption=caption,
            ))
        rows.append(GridRow(scores.held_out, examples))
    figure = heatmap_grid(rows, tile_size=tile_size)
    write_png(output_path, figure)
    return figure


def _short(decision):
    return {UNKNOWN_DEFECT: "unknown", KNOWN_DECISION: "known", NORMAL_DECISION: "normal"}[decision]


def check_folds(parser, folds, defect_types, source):
    """Exits with a usage error (2) where a fold is not one of ``defect_types``."""
    unknown = [fold for fold in folds or () if fold not in defect_types]
    if unknown:
        parser.error(f"--folds {' '.join(unknown)}: not a defect type of {source} "
                     f"(its types: {', '.join(defect_types)}).")


def main(argv=None):
    demo = DemoSettings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join("results", "open_set"), metavar="DIR")
    parser.add_argument("--data", metavar="ROOT",
                        help="a data set of your own, in any layout (default: the --data-preset synthetic set)")
    parser.add_argument("--layout", choices=DATA_LAYOUTS, default="auto",
                        help="--data's layout (default: %(default)s, found from its folders)")
    parser.add_argument("--data-preset", choices=tuple(SYNTHETIC_PRESETS), default=demo.preset,
                        help="without --data: the synthetic set generated in OUT/data (default: %(default)s)")
    parser.add_argument("--folds", nargs="+", metavar="TYPE",
                        help="the types to hold out, one fold each (default: every type with test images)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS),
                        help="open-set methods; the first is the baseline (default: %(default)s)")
    parser.add_argument("--image-size", type=int, default=demo.image_size,
                        help="model input side (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=demo.epochs, help="epochs per fold (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=demo.steps_per_epoch,
                        help="steps per epoch (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=demo.batch_size, help="(default: %(default)s)")
    parser.add_argument("--learning-rate", type=float, default=demo.learning_rate, help="(default: %(default)s)")
    parser.add_argument("--alpha", type=float,
                        help=f"Real-IAD's FUIAD split trained on (default: {demo.alpha}, the demo's; "
                        "other layouts have none)")
    parser.add_argument("--backbone-weights", default="synthetic",
                        help="imagenet, synthetic (default: shipped, trained on synthetic images) or a file")
    parser.add_argument("--seed", type=int, default=demo.seed, help="(default: %(default)s)")
    parser.add_argument("--verbose", type=int, choices=(0, 1), default=1)
    arguments = parser.parse_args(argv)
    started = time.monotonic()
    if arguments.data is None:
        # Refused before generating the set, whose types are Real-IAD's codes.
        check_folds(parser, arguments.folds, DEFECT_CODES, f"the synthetic {arguments.data_preset} set")
    data_root = arguments.data or synthetic_data(
        os.path.join(arguments.out, "data"), preset=arguments.data_preset, seed=arguments.seed,
        verbose=arguments.verbose,
    )
    layout = detect_layout(data_root) if arguments.layout == "auto" else arguments.layout
    alpha = demo.alpha if arguments.alpha is None and layout == "realiad" else arguments.alpha
    data = load_dataset(data_root, layout=layout, alpha=alpha)
    check_folds(parser, arguments.folds, data.defect_types, data_root)
    folds = arguments.folds or [code for code in data.defect_types
                                if any(sample.anomaly_class == code for sample in data.test)]
    config = TrainingConfig(
        image_size=arguments.image_size, backbone_weights=arguments.backbone_weights,
        batch_size=arguments.batch_size, learning_rate=arguments.learning_rate, epochs=arguments.epochs,
        steps_per_epoch=arguments.steps, seed=arguments.seed, alpha=alpha, layout=layout,
    )
    progress = ProgressBar(len(folds), "Folds", unit_name="fold", verbose=arguments.verbose)
    results, per_image, figure_folds = {}, [], []
    for held_out in folds:
        scores = fold_scores(data_root, held_out, arguments.out, config, arguments.verbose)
        results[held_out], names = {}, {}
        for method in arguments.methods:
            results[held_out][method], rows = fold_metrics(scores, method)
            names[method] = {row["image"]: row["decision"] for row in rows}
            per_image.extend(rows)
        figure_folds.append((scores, os.path.join(arguments.out, "folds", held_out, "run", MODEL_FILE), names))
        progress.add(1)
    results["mean"] = {method: average_rows([results[fold][method] for fold in folds])
                       for method in arguments.methods}
    held_out_figure(data.test, figure_folds, os.path.join(arguments.out, FIGURE_FILE))
    minutes = (time.monotonic() - started) / 60
    settings = {**vars(arguments), "layout": layout, "alpha": alpha, "folds": folds, "minutes": round(minutes, 1)}
    document = (
        f"{markdown_table(results)}\n\n(a), (b), (d): I-AUROC in %; (c) and the normal images called "
        "unknown: shares of the images at the fitted thresholds. Settings: "
        f"{json.dumps({k: v for k, v in settings.items() if k not in ('out', 'verbose')})}.\n"
    )
    write_text(os.path.join(arguments.out, PER_IMAGE_FILE), per_image_csv(per_image))
    write_json(os.path.join(arguments.out, RESULTS_FILE), {"settings": settings, "results": results})
    write_text(os.path.join(arguments.out, TABLE_FILE), document)
    print(document)
    return results


if __name__ == "__main__":
    main()
