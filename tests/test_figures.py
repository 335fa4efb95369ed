"""Several models' heatmaps of one image: the paper's Figure 3, float32 beside
int8 (issue: pictures)."""

import json
import os
import runpy
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mtfcdd.constants import DEFECT_CODES
from mtfcdd.data.realiad.reader import load_realiad
from mtfcdd.inference.heatmap_model import HeatmapModel
from mtfcdd.inference.postprocessing import image_scores, upsample_heatmaps
from mtfcdd.inference.postprocessor import Postprocessor
from mtfcdd.utils.image_files import read_mask, read_rgb_image
from mtfcdd.visualization.figures import model_comparison
from mtfcdd.visualization.panels import prediction_panel

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECT_RESULTS = os.path.join(REPOSITORY, "experiments", "collect_results.py")
IMAGE = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)


def _constant_model(value, type_codes=DEFECT_CODES, thresholds=None):
    """A model whose every heatmap cell is ``value``, on a 4x4 grid."""
    return HeatmapModel(
        heatmaps=lambda images: np.full((len(images), 4, 4, len(type_codes)), value, np.float32),
        postprocessor=Postprocessor(tuple(type_codes), "mean", thresholds), image_size=(32, 32),
        weights_source="none",
    )


def _read(path):
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_rows_share_one_colour_scale(tmp_path):
    weak, strong = _constant_model(1.0, thresholds=(0.5,) * 8), _constant_model(3.0)
    figure = model_comparison({"weak": weak, "strong": strong}, IMAGE, tmp_path / "figure.png", tile_size=64)
    rows = [
        prediction_panel(IMAGE, np.full((48, 64, 8), value, np.float32), np.full(8, value), DEFECT_CODES,
                         thresholds=thresholds, title=title, tile_size=64, value_range=(0.0, 3.0))
        for title, value, thresholds in (("weak", 1.0, (0.5,) * 8), ("strong", 3.0, None))
    ]
    assert np.array_equal(figure, np.concatenate(rows)) and np.array_equal(_read(tmp_path / "figure.png"), figure)
    alone = prediction_panel(IMAGE, np.ones((48, 64, 8), np.float32), np.ones(8), DEFECT_CODES,
                             thresholds=(0.5,) * 8, title="weak", tile_size=64)
    assert not np.array_equal(rows[0], alone)  # on its own scale, the weak map would look as hot


def test_a_single_channel_model_shows_the_mask_on_its_only_tile(tmp_path):
    mask = np.zeros((48, 64), np.uint8)
    mask[10:20, 10:30] = 1
    figure = model_comparison({"K = 1": _constant_model(1.0, ("ANY",))}, IMAGE, tmp_path / "figure.png",
                              mask=mask, mask_type="HS", tile_size=64)
    expected = prediction_panel(IMAGE, np.ones((48, 64, 1), np.float32), np.ones(1), ("ANY",), mask=mask,
                                mask_type="ANY", title="K = 1", tile_size=64, value_range=(0.0, 1.0))
    assert np.array_equal(figure, expected)


def test_models_must_share_their_type_codes(tmp_path):
    with pytest.raises(ValueError, match=r"type codes .*\['mc'\] differ"):
        model_comparison({"mt": _constant_model(1.0), "mc": _constant_model(1.0, ("ANY",))}, IMAGE,
                         tmp_path / "figure.png")
    with pytest.raises(ValueError, match="sources is empty"):
        model_comparison({}, IMAGE, tmp_path / "figure.png")


def test_figure3_from_three_runs_folders(tiny_dataset, tmp_path, monkeypatch):
    """Three runs' folders in, their models' rows out, in alpha order on one scale.

    Loading a .keras file is tested elsewhere and costs seconds: here the
    loader hands out, per folder, a model whose maps follow the image's
    brightness times the run's own factor, with the run's own thresholds.
    """
    results = tmp_path / "results"
    runs = {"0.4": (3.0, None), "0.1": (1.0, (0.0,) * 8), "0.2": (2.0, (1e9,) * 8)}
    for alpha in runs:
        folder = results / f"multi_type_alpha_{alpha}"
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps({alpha: {
            "type_codes": list(DEFECT_CODES), "settings": {"training": {"resolution": None, "objects": None}},
        }}))
    # A multi-class run is not one of Figure 3's rows.
    (results / "multi_class_alpha_0.1").mkdir()
    (results / "multi_class_alpha_0.1" / "results.json").write_text(json.dumps({"0.1": {"type_codes": ["ANY"]}}))

    def brightness_model(factor, thresholds):
        def heatmaps(images):
            return np.stack([
                np.repeat(cv2.resize(np.mean(image, axis=2), (4, 4))[..., None], 8, axis=-1) * factor
                for image in images
            ]).astype(np.float32)
        return HeatmapModel(heatmaps, Postprocessor(DEFECT_CODES, "mean", thresholds), (75, 75), "none")

    loaded = []

    def load_run_model(path):
        loaded.append(os.path.relpath(path, results))
        return brightness_model(*runs[os.path.basename(os.path.dirname(path))[len("multi_type_alpha_"):]])

    monkeypatch.setattr("mtfcdd.model.saving.load_trained_model", load_run_model)
    script = runpy.run_path(COLLECT_RESULTS)
    sample = script["figure3"](str(results), tiny_dataset, str(tmp_path / "figure3.png"))
    assert loaded == [f"multi_type_alpha_{alpha}/model.keras" for alpha in ("0.1", "0.2", "0.4")]
    test_split = load_realiad(tiny_dataset, alpha=0.1).test
    assert sample == min((each for each in test_split if each.mask_path),
                         key=lambda each: (each.category, each.image_path))
    image = read_rgb_image(sample.image_path)
    rows = []
    for alpha in ("0.1", "0.2", "0.4"):
        factor, thresholds = runs[alpha]
        heatmaps = brightness_model(factor, thresholds).heatmaps([image])
        rows.append((alpha, thresholds, image_scores(heatmaps)[0], upsample_heatmaps(heatmaps, image.shape[:2])[0]))
    shared = (0.0, max(float(maps.max()) for *_, maps in rows))
    expected = [
        prediction_panel(image, maps, scores, DEFECT_CODES, thresholds=thresholds,
                         mask=read_mask(sample.mask_path), mask_type=sample.anomaly_class,
                         title=f"alpha = {alpha}", tile_size=160, value_range=shared)
        for alpha, thresholds, scores, maps in rows
    ]
    assert np.array_equal(_read(tmp_path / "figure3.png"), np.concatenate(expected))


def test_collect_results_image_needs_data(tmp_path):
    completed = subprocess.run([sys.executable, COLLECT_RESULTS, str(tmp_path), "--image", "part.png"],
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 2 and "give --data ROOT too" in completed.stderr
