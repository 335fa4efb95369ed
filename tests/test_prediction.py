"""Prediction on image files, its pictures and the `mtfcdd predict` verb."""

import csv
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import tiny_litert_file

import mtfcdd
from mtfcdd.cli import main
from mtfcdd.data.sample import Sample
from mtfcdd.inference.postprocessing import image_scores
from mtfcdd.prediction.predict_images import masks_for, predict
from mtfcdd.utils.image_files import image_paths
from mtfcdd.visualization import panels as visualization
from mtfcdd.visualization.figures import figure2_grid, select_examples

pytestmark = [pytest.mark.xdist_group("prediction")]

SIDE = 75
TILE = 96


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(0)
    return mtfcdd.build_model(8, SIDE, backbone_weights=None)


@pytest.fixture
def model_with_thresholds(model):
    """The model, thresholds just under the scores of ``image_0``: it detects all types."""
    scores = image_scores(model.predict_on_batch(_image(0)[None].astype(np.float32)))[0]
    # Just under: a batch of several images may round the last bit differently.
    model.thresholds = tuple(float(score) * (1 - 1e-4) for score in scores)
    yield model
    model.thresholds = None


def _image(seed, height=SIDE, width=SIDE):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    cv2.rectangle(image, (10, 10), (40, 30), (255, 255, 255), -1)
    return image


def _write(path, image_rgb):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    return str(path)


@pytest.fixture
def image_folder(tmp_path):
    """Readable images of several sizes, a corrupt file, a mask, a hidden file."""
    folder = tmp_path / "images"
    paths = {
        "image_0": _write(folder / "image_0.png", _image(0)),
        "wide": _write(folder / "a" / "wide.jpg", _image(1, 60, 120)),
        "small": _write(folder / "a" / "small.bmp", _image(2, 50, 50)),
        # Same stem as a/wide.jpg, in another folder: its panel is wide_2.png.
        "wide_again": _write(folder / "b" / "wide.png", _image(3)),
    }
    (folder / "b" / "broken.jpg").write_bytes(b"not an image at all")
    # A Real-IAD mask: a PNG beside a JPEG of the same stem; not an input.
    mask = np.zeros((60, 120), np.uint8)
    mask[20:40, 30:70] = 255
    cv2.imwrite(str(folder / "a" / "wide.png"), mask)
    _write(folder / ".hidden.png", _image(4))
    return folder, paths


def test_image_paths_skip_masks_hidden_files_and_output(image_folder, tmp_path):
    folder, paths = image_folder
    _write(folder / "out" / "old_panel.png", _image(5))
    found = image_paths([folder, paths["image_0"]], exclude=folder / "out")
    assert found == sorted([
        str(folder / "a" / "small.bmp"), paths["wide"], str(folder / "b" / "broken.jpg"),
        paths["wide_again"], paths["image_0"],
    ])
    # An explicitly named file is taken as it is, even a mask or a missing one.
    assert image_paths(str(folder / "a" / "wide.png")) == [str(folder / "a" / "wide.png")]
    with pytest.raises(FileNotFoundError, match="no image files"):
        image_paths(tmp_path / "nothing_here_*.jpg")


@pytest.mark.slow
def test_predict_folder(model_with_thresholds, image_folder, tmp_path):
    model = model_with_thresholds
    folder, paths = image_folder
    output_dir = tmp_path / "out"
    results = predict(model, folder, output_dir=output_dir, batch_size=3, tile_size=TILE)

    readable = sorted(paths.values())
    assert [prediction.path for prediction in results.predictions] == readable
    assert [path for path, _ in results.failures] == [str(folder / "b" / "broken.jpg")]
    assert "is not a JPEG, PNG or BMP image" in results.failures[0][1]

    by_name = {name: results.predictions[readable.index(path)] for name, path in paths.items()}
    # A 75x75 image needs no resizing: its scores are those of the raw model
    # output, up to float32 rounding that depends on the batch's size.
    expected = image_scores(model.predict_on_batch(_image(3)[None].astype(np.float32)))[0]
    np.testing.assert_allclose(
        [by_name["wide_again"].scores[code] for code in model.type_codes], expected, rtol=1e-4
    )
    assert by_name["image_0"].detected_types == model.type_codes
    for prediction in results.predictions:
        expected_types = tuple(
            code for code, threshold in zip(model.type_codes, model.thresholds)
            if prediction.scores[code] >= threshold
        )
        assert prediction.detected_types == expected_types

    assert by_name["wide"].panel_path == str(output_dir / "wide.png")
    assert by_name["wide_again"].panel_path == str(output_dir / "wide_2.png")
    panels = {name: cv2.imread(prediction.panel_path) for name, prediction in by_name.items()}
    for panel in panels.values():
        assert panel.shape[1] == (1 + len(model.type_codes)) * TILE
    # Tiles keep the image's aspect ratio under a header of fixed height.
    assert panels["image_0"].shape[0] - panels["wide"].shape[0] == TILE - TILE // 2

    saved = json.loads((output_dir / "predictions.json").read_text())
    assert saved == json.loads(json.dumps(results.to_dict()))
    assert saved["score_reduction"] == "mean"
    assert saved["failures"][0]["path"] == str(folder / "b" / "broken.jpg")
    with open(output_dir / "predictions.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [row["path"] for row in rows] == readable
    for row, prediction in zip(rows, results.predictions):
        assert float(row["HS"]) == pytest.approx(prediction.scores["HS"], rel=1e-6)
        assert row["detected_types"] == (";".join(prediction.detected_types) or "normal")
    assert not [name for name in os.listdir(output_dir) if name.startswith(".")]


@pytest.mark.slow
def test_other_reduction_has_no_detections(model_with_thresholds, tmp_path):
    model = model_with_thresholds
    path = _write(tmp_path / "one.png", _image(7))
    results = predict(model, [path], reduction="max")
    heatmaps = model.predict_on_batch(_image(7)[None].astype(np.float32))
    np.testing.assert_allclose(
        list(results.predictions[0].scores.values()), heatmaps.max(axis=(1, 2))[0], rtol=1e-4
    )
    assert results.predictions[0].detected_types is None
    assert results.thresholds is None and results.predictions[0].panel_path is None


@pytest.mark.slow
def test_predict_draws_the_mask_on_its_type_tile(model, tmp_path):
    path = _write(tmp_path / "images" / "defect.png", _image(8))
    mask = np.zeros((SIDE, SIDE), np.uint8)
    mask[20:50, 20:50] = 255
    mask_path = tmp_path / "defect_mask.png"
    cv2.imwrite(str(mask_path), mask)
    labels = tuple(int(code == "QS") for code in mtfcdd.DEFECT_CODES)
    sample = Sample(path, str(mask_path), "object", "QS", labels)
    plain = predict(model, [path], output_dir=tmp_path / "plain", tile_size=TILE)
    marked = predict(
        model, [path], output_dir=tmp_path / "marked", tile_size=TILE, masks=masks_for([sample])
    )
    plain_panel = cv2.imread(plain.predictions[0].panel_path)
    difference = np.any(plain_panel != cv2.imread(marked.predictions[0].panel_path), axis=2)
    columns = np.nonzero(difference.any(axis=0))[0]
    qs_tile = 1 + mtfcdd.DEFECT_CODES.index("QS")
    assert columns.size and columns.min() >= qs_tile * TILE and columns.max() < (qs_tile + 1) * TILE


def test_overlay_heatmap_alpha_and_value_range():
    image = _image(9, 4, 4)
    heatmap = np.array([[0.0, 1.0, 2.0, 5.0]] * 4)
    assert np.array_equal(visualization.overlay_heatmap(image, heatmap, alpha=0.0), image)
    colours = visualization.overlay_heatmap(image, heatmap, value_range=(0.0, 2.0), alpha=1.0)
    # JET runs from dark blue through green to dark red; values past vmax clip.
    assert np.array_equal(colours[0, 0], [0, 0, 128])
    assert np.array_equal(colours[0, 2], [128, 0, 0])
    assert np.array_equal(colours[0, 3], colours[0, 2])
    assert colours[0, 1, 1] > 200
    # Without a range the map's own maximum is the top of the scale.
    assert np.array_equal(visualization.overlay_heatmap(image, heatmap, alpha=1.0)[0, 3], [128, 0, 0])
    with pytest.raises(ValueError, match="alpha"):
        visualization.overlay_heatmap(image, heatmap, alpha=1.5)


def test_mask_contour_lies_on_the_mask_boundary():
    mask = np.zeros((40, 50), np.uint8)
    mask[5:20, 5:30] = 1
    cv2.circle(mask, (38, 28), 8, 1, -1)
    mask[10:14, 10:16] = 0  # a hole: its rim is a boundary too
    image = np.zeros((40, 50, 3), np.uint8)
    drawn = np.any(visualization.draw_mask_contour(image, mask * 255) != image, axis=2)
    inner_8 = cv2.erode(mask, np.ones((3, 3), np.uint8), borderValue=0)
    inner_4 = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)), borderValue=0)
    assert not np.any(drawn & ~((mask == 1) & (inner_8 == 0)))
    assert np.all(drawn[(mask == 1) & (inner_4 == 0)])
    assert drawn[9, 10:16].all()  # the hole's rim


def test_prediction_panel_layout_and_detection_frame():
    codes = mtfcdd.DEFECT_CODES
    image = _image(10, 50, 100)
    heatmaps = np.random.default_rng(0).random((50, 100, len(codes))).astype(np.float32)
    scores = np.arange(len(codes), dtype=np.float32)
    panel = visualization.prediction_panel(
        image, heatmaps, scores, codes, thresholds=[3.5] * len(codes), tile_size=TILE
    )
    assert panel.shape[1] == (1 + len(codes)) * TILE
    bottom = panel.shape[0] - 1
    red = np.array(visualization.DETECTED_COLOUR)
    # Scores 4..7 reach the threshold: their tiles have a red frame.
    for index, code in enumerate(codes):
        right_edge = panel[bottom, (index + 2) * TILE - 1]
        assert np.array_equal(right_edge, red) == (scores[index] >= 3.5), code
    with pytest.raises(ValueError, match="mask_type"):
        visualization.prediction_panel(
            image, heatmaps, scores, codes, mask=np.ones((50, 100)), mask_type="XX"
        )
    with pytest.raises(ValueError, match="heatmaps_full_res"):
        visualization.prediction_panel(image, heatmaps[:, :, :3], scores, codes)


def test_heatmap_grid_dimensions():
    image = _image(11, 40, 80)
    example = visualization.GridExample(image, np.ones((5, 10)), np.ones((40, 80)), "object 0.1")
    one_row = visualization.heatmap_grid([visualization.GridRow("HS", [example] * 3)], tile_size=TILE)
    grid = visualization.heatmap_grid(
        [visualization.GridRow("HS", [example] * 3), visualization.GridRow("QS", [example])], tile_size=TILE
    )
    assert one_row.shape[1] == grid.shape[1] == 4 * TILE
    assert one_row.shape[0] > TILE // 2  # a 96x48 tile and its caption
    assert grid.shape[0] == 2 * one_row.shape[0]
    # The missing cells of the short row are grey.
    assert np.array_equal(grid[-10, 3 * TILE + TILE // 2], visualization.EMPTY_COLOUR)


def _sample(tmp_path, category, code, index):
    image_path = _write(tmp_path / category / f"{category}_{index}_{code}.jpg", _image(index))
    mask_path = None
    if code != "OK":
        mask = np.zeros((SIDE, SIDE), np.uint8)
        mask[10 + index: 30 + index, 20:40] = 255
        mask_path = str(tmp_path / category / f"{category}_{index}_{code}.png")
        cv2.imwrite(mask_path, mask)
    labels = tuple(int(code == type_code) for type_code in mtfcdd.DEFECT_CODES)
    return Sample(image_path, mask_path, category, code, labels)


@pytest.mark.slow
def test_figure2_grid(model, tmp_path):
    samples = [
        _sample(tmp_path, "washer", "HS", 1), _sample(tmp_path, "washer", "HS", 2),
        _sample(tmp_path, "cap", "HS", 3), _sample(tmp_path, "cap", "QS", 4),
        _sample(tmp_path, "cap", "OK", 5),
    ]
    rows = select_examples(samples, model.type_codes, examples_per_type=2)
    # Objects take turns: cap's first HS image, then washer's first.
    assert rows == [("HS", [samples[2], samples[0]]), ("QS", [samples[3]])]
    # The multi-class model shows every Real-IAD type in its one channel.
    assert [code for code, _ in select_examples(samples, ("ANY",), 2)] == ["HS", "QS"]

    output_path = tmp_path / "figure2.png"
    figure = figure2_grid(model, samples, output_path, examples_per_type=2, tile_size=TILE)
    assert figure.shape[1] == 3 * TILE
    assert np.array_equal(cv2.cvtColor(cv2.imread(str(output_path)), cv2.COLOR_BGR2RGB), figure)
    with pytest.raises(ValueError, match="mask"):
        figure2_grid(model, samples[4:], tmp_path / "none.png")


@pytest.mark.slow
def test_cli_predict_keras_model(model, image_folder, tmp_path, capsys):
    model_path = str(tmp_path / "model.keras")
    model.save(model_path)
    folder, paths = image_folder
    # 3: the broken file failed, the others' results are written.
    assert main(["predict", model_path, str(folder), "--out", str(tmp_path / "out"),
                 "--batch-size", "2"]) == 3
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.startswith(("image_0", "wide", "small"))]
    assert len(lines) == len(paths)
    # The saved model has no thresholds: no verdict, only the top scores.
    assert all("no thresholds" in line and "top scores" in line for line in lines)
    assert "broken.jpg" in captured.err
    assert len(json.loads((tmp_path / "out" / "predictions.json").read_text())["images"]) == len(paths)
    assert main(["predict", model_path, "--out", str(tmp_path / "out")]) == 1
    assert "at least one image" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "missing.keras"), str(folder), "--out", str(tmp_path / "o")]) == 1
    assert "missing.keras" in capsys.readouterr().err


def test_predict_and_cli_with_tflite(tmp_path, capsys):
    from mtfcdd.deploy.runner import LiteRTModel

    tflite_path = tiny_litert_file(tmp_path / "tiny.tflite", SIDE)
    bright, dark = np.full((SIDE, SIDE, 3), 200, np.uint8), np.full((SIDE, SIDE, 3), 20, np.uint8)
    bright[:, :, 2] = 0  # channel means 200, 200, 0
    paths = [_write(tmp_path / "bright.png", bright), _write(tmp_path / "dark.png", dark)]
    results = predict(LiteRTModel(tflite_path), paths)
    # phi = 2 where the channel mean is 200, so A = sqrt(2^2 + 1) - 1 (Eq. 1).
    eq1_of_two = np.sqrt(5.0) - 1.0
    np.testing.assert_allclose(
        list(results.predictions[0].scores.values()),
        np.array([1, 1, 0, 1, 1, 0, 1, 1]) * eq1_of_two, rtol=1e-5,
    )
    assert results.predictions[0].detected_types == ("AK", "BX", "HS", "PS", "YW", "ZW")
    assert results.predictions[1].detected_types == ()
    assert results.weights_source == "test"

    assert main(["predict", "--tflite", tflite_path, *paths, "--out", str(tmp_path / "out")]) == 0
    output = capsys.readouterr().out
    assert "bright.png: AK BX HS PS YW ZW" in output and "dark.png: normal" in output
    assert main(["predict", "--tflite", tflite_path, paths[0], "--out", str(tmp_path / "out_max"),
                 "--reduction", "max"]) == 0
    output = capsys.readouterr().out
    assert "bright.png: no thresholds" in output and "fitted on mean scores" in output

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 truncated")
    assert main(["predict", "--tflite", tflite_path, str(broken), "--out", str(tmp_path / "out2")]) == 1
    assert "broken.jpg" in capsys.readouterr().err


def test_prediction_runs_without_keras_and_tensorflow():
    # As on a board: Keras and TensorFlow cannot be imported at all.
    code = """
import importlib.abc, sys

class BlockPackages(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("keras", "tensorflow", "jax"):
            raise ImportError("blocked: " + name)
        return None

sys.meta_path.insert(0, BlockPackages())
import numpy as np
import mtfcdd.prediction.predict_images, mtfcdd.visualization.panels
panel = mtfcdd.visualization.panels.overlay_heatmap(np.zeros((8, 8, 3), np.uint8), np.ones((8, 8), np.float32))
print(panel.shape, sorted({"keras", "tensorflow"} & set(sys.modules)))
"""
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert output.returncode == 0, output.stderr[-2000:]
    assert output.stdout.strip() == "(8, 8, 3) []"
