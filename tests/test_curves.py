"""The curves under the metrics: their areas are the metrics, their thresholds
mean what they say, their files and plots are written (issue: pictures)."""

import csv
import sys

import cv2
import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

import mtfcdd
from mtfcdd.data.realiad.reader import load_realiad
from mtfcdd.evaluation.curve_reports import CURVE_FILES, prevalence, write_curves
from mtfcdd.metrics import CURVE_METRICS, BinnedPixelScores, MultiTypeEvaluator
from mtfcdd.metrics.curves import AREA_TOLERANCE, normalized_partial_area, thin_curve
from mtfcdd.training.training_curves import write_training_plot
from mtfcdd.visualization import plots

pytestmark = [pytest.mark.xdist_group("curves")]

# CSV files write nine significant digits.
CSV_ROUNDING = 1e-8


def _read_curves(path):
    """{type: (thresholds, x, y)} of a curve CSV."""
    columns = {}
    with open(path, newline="") as file:
        reader = csv.reader(file)
        header = next(reader)
        for code, *values in reader:
            columns.setdefault(code, []).append([float(value) for value in values])
    return header, {code: np.array(rows).T for code, rows in columns.items()}


def _area(metric, x, y):
    if metric == "AP":
        return float(np.sum(np.diff(x) * y[1:]))
    return normalized_partial_area(x, y, 0.3 if metric == "AUPRO" else 1.0)


@pytest.fixture(scope="module")
def evaluated(tiny_dataset, tmp_path_factory):
    """``evaluate(curves_dir=...)`` of an untrained model on the tiny test split.

    (`mtfcdd evaluate --out` passes its folder the same way; the tutorial's
    block runs it.)
    """
    import keras

    keras.utils.set_random_seed(0)
    model = mtfcdd.build_model(8, 75, backbone_weights=None)
    output = tmp_path_factory.mktemp("curves")
    result = mtfcdd.evaluate(model, load_realiad(tiny_dataset, alpha=0.1).test, pixel_size=32, verbose=0,
                             curves_dir=str(output))
    return output, result


@pytest.mark.slow
@pytest.mark.parametrize("metric", CURVE_METRICS)
def test_written_curves_have_the_areas_of_the_reported_metrics(evaluated, metric):
    output, result = evaluated
    curve_file = CURVE_FILES[metric]
    header, curves = _read_curves(output / f"curves_{curve_file.name}.csv")
    assert header == ["type", "threshold", curve_file.x_column, curve_file.y_column]
    defined = [code for code in result["type_codes"] if result["metrics"][code][metric] is not None]
    assert defined and list(curves) == defined
    tolerance = CSV_ROUNDING + (AREA_TOLERANCE if metric in ("P-AUROC", "AUPRO") else 0)
    for code, (thresholds, x, y) in curves.items():
        assert _area(metric, x, y) == pytest.approx(result["metrics"][code][metric], abs=tolerance), code
        assert thresholds[0] == np.inf and np.all(np.diff(thresholds) < 0)
        assert np.all(np.diff(x) >= 0) and x[-1] == 1
        # A ROC or PRO curve runs from (0, 0) to (1, 1); a precision-recall
        # curve starts at recall 0, precision 1.
        assert (x[0], y[0]) == ((0, 1) if metric == "AP" else (0, 0)) and (metric == "AP" or y[-1] == 1)
    picture = cv2.imread(str(output / f"curves_{curve_file.name}.png"))
    assert picture is not None and picture.shape[0] > 300 and picture.std() > 0


def test_image_curves_against_scikit_learn_and_their_thresholds():
    rng = np.random.default_rng(0)
    labels = np.zeros((60, 2))
    labels[:10, 0] = labels[10:25, 1] = 1
    scores = np.round(rng.normal(size=(60, 2)) + labels, 1)  # ties included
    evaluator = MultiTypeEvaluator(("AK", "BX"))
    evaluator.update(scores, np.zeros((60, 2, 2, 2)), labels, np.zeros((60, 2, 2)))
    curves = evaluator.curves()
    assert not curves["P-AUROC"] and not curves["AUPRO"]  # no defect pixel
    for channel, code in enumerate(("AK", "BX")):
        positive, score = labels[:, channel] == 1, scores[:, channel]
        roc, precision_recall = curves["I-AUROC"][code], curves["AP"][code]
        assert _area("I-AUROC", roc.x, roc.y) == pytest.approx(roc_auc_score(positive, score), abs=1e-12)
        assert _area("AP", precision_recall.x, precision_recall.y) == pytest.approx(
            average_precision_score(positive, score), abs=1e-12
        )
        for threshold, false_positive_rate, true_positive_rate in zip(roc.thresholds, roc.x, roc.y):
            called = score >= threshold
            assert (called[~positive].mean(), called[positive].mean()) == (false_positive_rate, true_positive_rate)
        # The precision-recall plot's random-ranking line.
        assert prevalence(precision_recall) == pytest.approx(positive.mean(), abs=1e-12)
        for threshold, recall, precision in zip(*[getattr(precision_recall, name)[1:] for name in
                                                  ("thresholds", "x", "y")]):
            called = score >= threshold
            assert called[positive].mean() == pytest.approx(recall)
            assert positive[called].mean() == pytest.approx(precision)


def test_binned_pixel_curves_thresholds_are_exact_and_thinning_keeps_the_area():
    rng = np.random.default_rng(1)
    masks = np.zeros((6, 80, 80), bool)
    masks[:3, 20:40, 30:60] = True
    masks[1, 60:64, 5:9] = True
    maps = (rng.gamma(2.0, 1.0, masks.shape) + 1.5 * masks).astype(np.float32)
    pixel_scores = BinnedPixelScores()
    pixel_scores.update(maps, masks)
    false_positive_rates, true_positive_rates, thresholds = pixel_scores.roc_curve()
    assert len(thresholds) > 5_000
    for index in rng.choice(len(thresholds), 50):
        called = maps >= thresholds[index]
        assert called[~masks].mean() == pytest.approx(false_positive_rates[index], abs=1e-12)
        assert called[masks].mean() == pytest.approx(true_positive_rates[index], abs=1e-12)

    for (x, y, _), x_limit, area in ((pixel_scores.roc_curve(), 1.0, pixel_scores.pixel_auroc()),
                                     (pixel_scores.pro_curve(), 0.3, pixel_scores.aupro())):
        keep = thin_curve(x, y, x_limit)
        assert len(keep) < len(x) / 2 and keep[0] == 0 and keep[-1] == len(x) - 1
        assert abs(normalized_partial_area(x[keep], y[keep], x_limit) - area) <= AREA_TOLERANCE
        # A tighter tolerance refines the grid until it holds.
        finer = thin_curve(x, y, x_limit, tolerance=1e-12)
        assert len(finer) > len(keep)
        assert normalized_partial_area(x[finer], y[finer], x_limit) == pytest.approx(area, abs=1e-12)


def test_without_matplotlib_the_csv_files_are_written_and_one_line_says_how(
    tmp_path, monkeypatch, capsys
):
    evaluator = MultiTypeEvaluator(("AK",))
    masks = np.zeros((2, 4, 4))
    masks[1, :2, :2] = 1
    evaluator.update([[0.1], [0.9]], np.arange(32, dtype=np.float32).reshape(2, 4, 4, 1), [[0], [1]], masks)
    (tmp_path / "training_log.csv").write_text("epoch,loss\n0,2.5\n1,1.5\n")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    plots._say_once.cache_clear()
    paths = write_curves(evaluator.curves(), tmp_path, fpr_limit=0.3)
    assert write_training_plot(str(tmp_path), "training_log.csv") is None
    assert sorted(path.rsplit("/", 1)[1] for path in paths) == sorted(
        f"curves_{curve_file.name}.csv" for curve_file in CURVE_FILES.values()
    )
    assert not list(tmp_path.glob("*.png"))
    assert capsys.readouterr().err.splitlines() == [plots.PLOTS_HINT]
    assert 'pip install "mtfcdd[plots]"' in plots.PLOTS_HINT
