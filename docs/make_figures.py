"""Rebuilds every figure in docs/images from a real run of `mtfcdd demo`.

    python docs/make_figures.py                        # runs `mtfcdd demo` first (~7 min)
    python docs/make_figures.py --demo-dir mtfcdd_demo # from a finished demo run

Writes into docs/images (or ``--out``):

- ``demo_heatmaps_per_type.png``: the demo's per-type heatmap grid (paper
  Figure 2), as the demo drew it: the README's picture;
- ``demo_training_curves.png``: the run's loss per epoch, as ``train``
  drew it;
- ``demo_curves_<name>.png``: the run's ROC, precision-recall and PRO
  curves per type, as ``evaluate`` drew them;
- ``synthetic_<code>.png``: example images of each defect type in the demo's
  data set, mask outlined (docs/data.md);
- ``prediction_defective.png``, ``prediction_normal.png``: ``mtfcdd
  predict``'s panels of two test images from the demo model: the first
  defective one (by object, then path) detected as exactly its own type,
  and the first image of a normal part (an ``OK`` folder) detected as
  normal;
- ``float32_vs_int8.png``: that defective image's heatmaps from the demo
  model and from its int8 LiteRT file, one row each, on one colour scale;
- ``figures.json``: what produced them: the demo's settings and its Mean
  row, which the README's caption quotes (``tests/test_docs.py`` checks it),
  and the images shown.

No figure in docs/ is edited by hand; rerun this script instead. The one
picture it does not make, ``serve_page.png`` (the page of ``mtfcdd serve``),
is a browser's screenshot taken by ``tests/test_serve.py``
(docs/deployment.md).
"""

import argparse
import json
import os
import pathlib
import shutil
import sys
import tempfile

DOCS_IMAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")
HEATMAP_FIGURE = "demo_heatmaps_per_type.png"
TRAINING_FIGURE = "demo_training_curves.png"
DEFECTIVE_PANEL = "prediction_defective.png"
NORMAL_PANEL = "prediction_normal.png"
INT8_FIGURE = "float32_vs_int8.png"
RECORD = "figures.json"


def make_figures(demo_dir, output_dir=DOCS_IMAGES, num_calibration_images=100, with_int8=True):
    """Writes the figures of a finished demo run in ``demo_dir``; returns the record.

    ``num_calibration_images`` calibrate the int8 file (the demo's
    training images, as ``mtfcdd export`` takes them). ``with_int8=False``
    leaves out ``float32_vs_int8.png`` and its export (most of the time
    here; the tests check the rest on a tiny run, and the tutorial's own
    block draws the same figure).
    """
    from mtfcdd import __version__
    from mtfcdd.data.realiad.reader import load_realiad
    from mtfcdd.data.synthetic.contact_sheets import write_contact_sheets
    from mtfcdd.evaluation.curve_reports import CURVE_FILES
    from mtfcdd.model.saving import load_trained_model
    from mtfcdd.training.training_curves import PLOT_FILE
    from mtfcdd.utils.atomic_files import write_json
    from mtfcdd.workflows.experiment import FIGURE_FILE

    run_dir = os.path.join(demo_dir, "run")
    results_path = os.path.join(run_dir, "results.json")
    if not os.path.isfile(results_path):
        raise FileNotFoundError(
            f"{results_path}: not found; expected a finished `mtfcdd demo --out {demo_dir}` run."
        )
    with open(results_path, encoding="utf-8") as file:
        (alpha, result), = json.load(file).items()
    os.makedirs(output_dir, exist_ok=True)
    copies = {HEATMAP_FIGURE: FIGURE_FILE, TRAINING_FIGURE: PLOT_FILE}
    copies.update({
        f"demo_curves_{curve_file.name}.png": f"curves_{curve_file.name}.png"
        for curve_file in CURVE_FILES.values()
    })
    for name, run_file in copies.items():
        _copy(os.path.join(run_dir, run_file), os.path.join(output_dir, name))
    data_root = os.path.join(demo_dir, "data")
    sheets = write_contact_sheets(data_root, output_dir)

    model = load_trained_model(os.path.join(run_dir, "model.keras"))
    split = load_realiad(data_root, alpha=float(alpha))
    defective, normal = _panel_examples(model, split.test, output_dir)
    record = {
        "mtfcdd_version": __version__,
        "made_by": "python docs/make_figures.py",
        "demo_dir": os.path.basename(os.path.normpath(demo_dir)),
        HEATMAP_FIGURE: {
            "alpha": float(alpha),
            "settings": result["settings"],
            "mean": result["metrics"]["Mean"],
        },
        "copied_from_the_run": copies,
        "contact_sheets": sorted(os.path.basename(path) for path in sheets),
        DEFECTIVE_PANEL: _described(defective, demo_dir),
        NORMAL_PANEL: _described(normal, demo_dir),
    }
    if with_int8:
        int8_prediction = _float_and_int8(model, defective[0], split.train, output_dir, num_calibration_images)
        record[INT8_FIGURE] = {
            **_described((defective[0], int8_prediction), demo_dir),
            "calibration_images": min(num_calibration_images, len(split.train)),
        }
    write_json(os.path.join(output_dir, RECORD), record)
    return record


def _panel_examples(model, test_samples, output_dir):
    """Writes the defective and the normal panel; returns (defective, normal),
    each a (sample, ``ImagePrediction``)."""
    import mtfcdd
    from mtfcdd.constants import NORMAL_CLASS
    from mtfcdd.prediction.predict_images import masks_for

    ordered = sorted(test_samples, key=lambda sample: (sample.category, sample.image_path))
    found = mtfcdd.predict(model, [sample.image_path for sample in ordered], batch_size=32)
    predictions = {os.path.abspath(prediction.path): prediction for prediction in found.predictions}
    # Real-IAD calls normal the views of a defective part that do not show
    # the defect; the normal example is a view of a normal part.
    defective = _first("defective", ordered, predictions, lambda sample: sample.anomaly_class != NORMAL_CLASS,
                       lambda sample, types: types == (sample.anomaly_class,))
    normal = _first("normal part's", ordered, predictions,
                    lambda sample: NORMAL_CLASS in pathlib.PurePath(sample.image_path).parts[:-1],
                    lambda sample, types: types == ())
    with tempfile.TemporaryDirectory() as folder:
        panels = mtfcdd.predict(
            model, [defective[0].image_path, normal[0].image_path], output_dir=folder,
            masks=masks_for([defective[0]]),
        )
        for prediction, name in zip(panels.predictions, (DEFECTIVE_PANEL, NORMAL_PANEL)):
            _copy(prediction.panel_path, os.path.join(output_dir, name))
    return defective, normal


def _first(kind, ordered, predictions, of_kind, is_right):
    """The first (sample, prediction) of a kind whose detected types are
    right; the first of the kind if none is."""
    candidates = [
        (sample, predictions[os.path.abspath(sample.image_path)]) for sample in ordered if of_kind(sample)
    ]
    if not candidates:
        raise ValueError(f"the demo's test split has no {kind} image to show.")
    return next(
        (candidate for candidate in candidates if is_right(candidate[0], candidate[1].detected_types)),
        candidates[0],
    )


def _float_and_int8(model, sample, training_samples, output_dir, num_calibration_images):
    """Draws the sample's heatmaps from ``model`` and from its int8 LiteRT
    file; returns the int8 file's ``ImagePrediction``."""
    import mtfcdd

    from mtfcdd.deploy.export import export_tflite
    from mtfcdd.deploy.runner import LiteRTModel
    from mtfcdd.utils.image_files import read_mask, read_rgb_image
    from mtfcdd.visualization.figures import model_comparison

    mask = None if sample.mask_path is None else read_mask(sample.mask_path)
    with tempfile.TemporaryDirectory() as folder:
        int8_path = export_tflite(
            model, os.path.join(folder, "model_int8.tflite"), quantize="int8",
            representative_images=[training.image_path for training in training_samples],
            num_calibration_images=num_calibration_images,
        )
        int8_model = LiteRTModel(int8_path)
        model_comparison(
            {"float32 (Keras)": model, "int8 (LiteRT)": int8_model},
            read_rgb_image(sample.image_path), os.path.join(output_dir, INT8_FIGURE),
            mask=mask, mask_type=None if mask is None else sample.anomaly_class,
        )
        return mtfcdd.predict(int8_model, [sample.image_path]).predictions[0]


def _described(example, demo_dir):
    """The image shown and what the model said of it (the docs quote it)."""
    sample, prediction = example
    return {
        "image": os.path.relpath(sample.image_path, demo_dir),
        "class": sample.anomaly_class,
        "scores": prediction.scores,
        "detected_types": None if prediction.detected_types is None else list(prediction.detected_types),
    }


def _copy(source, destination):
    from mtfcdd.utils.atomic_files import atomic_path

    with atomic_path(destination) as temporary_path:
        shutil.copyfile(source, temporary_path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--demo-dir", default="mtfcdd_demo",
        help="a demo run's output folder; the demo runs there first when it holds no results",
    )
    parser.add_argument("--out", default=DOCS_IMAGES, help="figure folder (default: docs/images)")
    arguments = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(arguments.demo_dir, "run", "results.json")):
        from mtfcdd.workflows.demo import run_demo

        run_demo(arguments.demo_dir)
    record = make_figures(arguments.demo_dir, arguments.out)
    print(json.dumps(record[HEATMAP_FIGURE], indent=2))
    print(f"Figures written to {arguments.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
