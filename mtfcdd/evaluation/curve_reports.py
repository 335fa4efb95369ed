"""The curves under the metrics, per type, as CSV files and plots (paper 4.4).

Each metric of Tables 3 and 4 but F1-max is the area under a curve
(``mtfcdd.metrics.MultiTypeEvaluator.curves``). For each, one CSV file holds
every type's curve, one row per point:

    curves_image_roc.csv         type, threshold, false_positive_rate, true_positive_rate   (I-AUROC)
    curves_precision_recall.csv  type, threshold, recall, precision                         (AP)
    curves_pixel_roc.csv         type, threshold, false_positive_rate, true_positive_rate   (P-AUROC)
    curves_pro.csv               type, threshold, false_positive_rate, per_region_overlap   (AUPRO)

and one PNG of the same name draws a line per type, its area in the legend
(with Matplotlib, the ``plots`` extra). Rows run from the highest threshold
(``inf``: nothing called defective) down; a row counts the scores at or above
its threshold. The area of a file's curve is the metric in the tables:
trapezoidal for the ROC curves, up to ``fpr_limit`` and divided by it for
the PRO curve, ``sum((recall[i] - recall[i-1]) * precision[i])`` for AP.
"""

import csv
import dataclasses
import io
import os

import numpy as np

from mtfcdd.constants import TYPE_NAMES
from mtfcdd.utils.atomic_files import make_output_folder, write_bytes, write_text
from mtfcdd.visualization import plots


@dataclasses.dataclass(frozen=True)
class CurveFile:
    """How one metric's curves are named, stored and drawn."""

    name: str
    title: str
    x_column: str
    y_column: str
    x_label: str
    y_label: str
    chance_line: bool = False
    steps: bool = False


CURVE_FILES = {
    "I-AUROC": CurveFile(
        "image_roc", "Image ROC curves", "false_positive_rate", "true_positive_rate",
        "false positive rate (images)", "true positive rate (images)", chance_line=True,
    ),
    "AP": CurveFile(
        "precision_recall", "Image precision-recall curves", "recall", "precision",
        "recall (images)", "precision (images)", steps=True,
    ),
    "P-AUROC": CurveFile(
        "pixel_roc", "Pixel ROC curves", "false_positive_rate", "true_positive_rate",
        "false positive rate (pixels)", "true positive rate (pixels)", chance_line=True,
    ),
    "AUPRO": CurveFile(
        "pro", "Per-region overlap (PRO) curves", "false_positive_rate", "per_region_overlap",
        "false positive rate (pixels)", "per-region overlap",
    ),
}
"""Metric name -> its ``CurveFile``, in the order of the tables."""


def write_curves(curves, output_dir, fpr_limit, stem="curves"):
    """Writes ``<stem>_<name>.csv`` and, with Matplotlib, ``.png`` per metric.

    Args:
        curves: ``MultiTypeEvaluator.curves()``: ``{metric: {code: Curve}}``.
        output_dir: the folder to write to.
        fpr_limit: AUPRO's false positive rate limit: the PRO plot ends there.
        stem: the files' common prefix.

    Returns:
        The list of paths written; a metric without any curve (no type has
        it defined) writes nothing.
    """
    make_output_folder(output_dir)
    draw = plots.available()
    paths = []
    for metric, curve_file in CURVE_FILES.items():
        type_curves = curves.get(metric)
        if not type_curves:
            continue
        base = os.path.join(output_dir, f"{stem}_{curve_file.name}")
        write_text(base + ".csv", _csv(curve_file, type_curves))
        paths.append(base + ".csv")
        if draw:
            write_bytes(base + ".png", _plot(metric, curve_file, type_curves, fpr_limit))
            paths.append(base + ".png")
    return paths


def _csv(curve_file, type_curves):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["type", "threshold", curve_file.x_column, curve_file.y_column])
    for code, curve in type_curves.items():
        # Nine significant digits: a float32 score exactly, a rate to 1e-9.
        writer.writerows(
            [code, f"{threshold:.9g}", f"{x:.9g}", f"{y:.9g}"]
            for threshold, x, y in zip(curve.thresholds, curve.x, curve.y)
        )
    return buffer.getvalue()


def prevalence(curve):
    """The precision of a random ranking on a precision-recall ``curve``: the
    share of positive images, which is the precision at its lowest threshold
    (every image called positive)."""
    return float(curve.y[np.argmin(curve.thresholds)])


def _plot(metric, curve_file, type_curves, fpr_limit):
    lines = [
        (f"{TYPE_NAMES.get(code, code)} ({code}): {100 * curve.area:.1f}", curve.x, curve.y)
        for code, curve in type_curves.items()
    ]
    baselines = [prevalence(curve) for curve in type_curves.values()] if metric == "AP" else None
    title = curve_file.title
    if metric == "AUPRO":
        title += f" up to {fpr_limit:g} false positive rate"
    return plots.curves_plot(
        lines, title, curve_file.x_label, curve_file.y_label, legend_title=f"{metric} (%)",
        x_limit=fpr_limit if metric == "AUPRO" else 1.0,
        chance_line=curve_file.chance_line, steps=curve_file.steps, baselines=baselines,
    )
