"""Assembles the paper's Tables 3, 4 and 5, and its Figure 3, from every experiment folder.

    python experiments/collect_results.py results/ [--out results/paper_tables.md]
    python experiments/collect_results.py results/ --data data/realiad [--image PATH]

Reads ``<folder>/*/results.json`` (written by the experiment scripts), groups
the multi-type (K = 8) and multi-class (K = 1) results by noise ratio alpha
(runs on your own data set, by their defect types, each keyed by its layout),
and writes one Markdown document with the tables laid out like the paper's,
each with the preset of every alpha's run (paper or authors) beside it.

With ``--data`` (the data set the runs were tested on), it also draws the
paper's Figure 3 into ``RESULTS/figure3_alphas.png``: one test image's
per-type heatmaps from the multi-type model of each alpha, a row per alpha,
on one colour scale. The image is the first defective test image (by object,
then path) unless ``--image`` names another one of the test split.
"""

import argparse
import glob
import json
import os

from mtfcdd.constants import DEFECT_CODES
from mtfcdd.evaluation.reports import markdown, preset_of, setting_label
from mtfcdd.utils.atomic_files import write_text

FIGURE3_FILE = "figure3_alphas.png"
MODEL_FILE = "model.keras"


def runs_by_setting(results_folder):
    """{"multi-type": {alpha: (run folder, result)}, "multi-class": {...},
    "types crack, dent": {layout: ...}}, alphas sorted, then other settings."""
    groups = {"multi-type": {}, "multi-class": {}}
    for path in sorted(glob.glob(os.path.join(results_folder, "*", "results.json"))):
        with open(path) as file:
            for key, result in json.load(file).items():
                group = _group_name(result["type_codes"])
                groups.setdefault(group, {})
                if key in groups[group]:
                    raise ValueError(f"{path}: a second {group} result for {key}.")
                groups[group][key] = (os.path.dirname(path), result)
    return {
        name: dict(sorted(group.items(), key=lambda item: _setting_order(item[0])))
        for name, group in groups.items() if group
    }


def _group_name(type_codes):
    """The table a result belongs in: Real-IAD's K = 8, K = 1, or its own types."""
    if len(type_codes) == 1:
        return "multi-class"
    if tuple(type_codes) == DEFECT_CODES:
        return "multi-type"
    return "types " + ", ".join(type_codes)


def _setting_order(key):
    """Alphas by value, then other settings (your own data) by name."""
    try:
        return (0, float(key), "")
    except ValueError:
        return (1, 0.0, key)


def collect(results_folder):
    """{"multi-type": {alpha: result}, "multi-class": {alpha: result}}."""
    return {
        name: {alpha: result for alpha, (_, result) in runs.items()}
        for name, runs in runs_by_setting(results_folder).items()
    }


def preset_line(results):
    """``"Preset: alpha=0.1 paper; alpha=0.2 authors"``: a table's runs may differ."""
    return "Preset: " + "; ".join(f"{setting_label(key)} {preset_of(result)}" for key, result in results.items())


def figure3(results_folder, data_root, output_path, image_path=None):
    """Draws Figure 3 from the multi-type runs of ``results_folder``.

    Returns:
        The test ``Sample`` shown.
    """
    from mtfcdd.data.realiad.reader import load_realiad
    from mtfcdd.model.saving import load_trained_model
    from mtfcdd.utils.image_files import read_mask, read_rgb_image
    from mtfcdd.visualization.figures import model_comparison

    runs = runs_by_setting(results_folder).get("multi-type")
    if not runs:
        raise ValueError(f"No multi-type (K = 8) run under {results_folder}: Figure 3 compares their models.")
    first_alpha, (_, first_result) = next(iter(runs.items()))
    training = first_result["settings"].get("training", {})
    # The test split is the same for every alpha (FUIAD changes only the training split).
    test = load_realiad(
        data_root, alpha=float(first_alpha), resolution=training.get("resolution"),
        objects=training.get("objects"),
    ).test
    sample = _shown_sample(test, image_path, data_root)
    models = {
        f"alpha = {alpha}": load_trained_model(os.path.join(folder, MODEL_FILE))
        for alpha, (folder, _) in runs.items()
    }
    mask = None if sample.mask_path is None else read_mask(sample.mask_path)
    model_comparison(
        models, read_rgb_image(sample.image_path), output_path, mask=mask,
        mask_type=None if mask is None else sample.anomaly_class,
    )
    return sample


def _shown_sample(test_samples, image_path, data_root):
    if image_path is None:
        defective = [sample for sample in test_samples if sample.mask_path is not None]
        if not defective:
            raise ValueError(f"{data_root}: the test split has no defective image with a mask.")
        return min(defective, key=lambda sample: (sample.category, sample.image_path))
    for sample in test_samples:
        if os.path.abspath(sample.image_path) == os.path.abspath(image_path):
            return sample
    raise ValueError(f"--image {image_path}: not an image of the test split of {data_root}.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="folder holding one subfolder per experiment")
    parser.add_argument("--out", default=None, help="Markdown file (default: RESULTS/paper_tables.md)")
    parser.add_argument(
        "--data", default=None, metavar="ROOT",
        help="the runs' data set: also draw Figure 3 (RESULTS/figure3_alphas.png) on one of its test images",
    )
    parser.add_argument(
        "--image", default=None, metavar="PATH",
        help="the test image of Figure 3 (default: the first defective one, by object then path)",
    )
    arguments = parser.parse_args()
    if arguments.image and not arguments.data:
        parser.error("--image chooses Figure 3's image: give --data ROOT too")
    groups = collect(arguments.results)
    if not groups:
        raise SystemExit(f"No */results.json under {arguments.results}.")
    document = "\n".join(
        f"## {name}\n\n{preset_line(results)}\n\n{markdown(results)}" for name, results in groups.items()
    )
    output = arguments.out or os.path.join(arguments.results, "paper_tables.md")
    write_text(output, document)
    print(document)
    print(f"Written to {output}")
    if arguments.data:
        figure_path = os.path.join(arguments.results, FIGURE3_FILE)
        sample = figure3(arguments.results, arguments.data, figure_path, arguments.image)
        print(f"Figure 3 ({sample.image_path}) written to {figure_path}")


if __name__ == "__main__":
    main()
