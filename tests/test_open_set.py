"""The open-set decision: its scores, fitted threshold, decisions and round-trips."""

import json
import math
import os

import numpy as np
import pytest

from mtfcdd.inference.open_set import UNKNOWN_DEFECT, OpenSetRule, fit_open_set, open_set_decisions
from mtfcdd.inference.postprocessor import Postprocessor

THRESHOLDS = [2.0, 4.0]
# Five normal images (max ratios 0.1, 0.2, 0.3, 0.4 and 1.2: the last one
# fires type A, a known-type false-alarm rate of 1/5) and two defective ones.
NORMAL_SCORES = [[0.2, 0.1], [0.1, 0.8], [0.6, 0.4], [0.4, 1.6], [2.4, 0.4]]
LABELS = [[0, 0]] * 5 + [[1, 0], [0, 1]]
SCORES = NORMAL_SCORES + [[3.0, 0.1], [0.1, 5.0]]


def test_max_ratio_scores_are_the_largest_score_over_threshold():
    rule = OpenSetRule("max_ratio", 1.0, {})
    scores = rule.scores([[1.0, 2.0], [3.0, 1.0], [0.5, 0.5]], THRESHOLDS)
    np.testing.assert_allclose(scores, [0.5, 1.5, 0.25])


def test_fitted_threshold_fires_on_the_known_types_false_alarm_rate():
    rule = fit_open_set(LABELS, SCORES, THRESHOLDS, method="max_ratio")
    # One normal image in five may fire: the threshold is just above the
    # second largest normal ratio, 0.4.
    assert rule.threshold == np.nextafter(0.4, np.inf)
    normal_open_scores = rule.scores(NORMAL_SCORES, THRESHOLDS)
    assert (normal_open_scores >= rule.threshold).mean() == pytest.approx(0.2)
    # A rate of zero: just above every normal image.
    assert fit_open_set(LABELS, SCORES, THRESHOLDS, "max_ratio", false_alarm_rate=0).threshold == np.nextafter(1.2, np.inf)
    # Thresholds that every normal image reaches (a model trained a few
    # steps): the rule still leaves the lowest normal image normal.
    # Max ratios 1.6, 6.4, 4.8, 12.8 and 19.2 over thresholds of 0.125.
    everywhere = fit_open_set(LABELS, SCORES, [0.125, 0.125], method="max_ratio")
    assert everywhere.threshold == np.nextafter(1.6, np.inf)


def test_normal_distance_of_one_type_is_the_standardised_log_ratio():
    normal = [[1.0], [2.0], [4.0], [8.0]]
    rule = fit_open_set([[0]] * 4, normal, [4.0], method="normal_distance", false_alarm_rate=0)
    logs = [math.log(value / 4 + 0.01) for value in (1, 2, 4, 8)]
    mean = sum(logs) / 4
    deviation = math.sqrt(sum((value - mean) ** 2 for value in logs) / 3)
    # With one type, shrinking towards the average variance keeps the variance.
    expected = abs(math.log(16 / 4 + 0.01) - mean) / deviation
    np.testing.assert_allclose(rule.scores([[16.0]], [4.0]), [expected], rtol=1e-9)
    assert rule.threshold == np.nextafter(abs(logs[-1] - mean) / deviation, np.inf)


def test_normal_distance_of_two_types_uses_the_shrunk_covariance():
    rule = fit_open_set(LABELS, SCORES, THRESHOLDS, method="normal_distance")
    logs = np.log(np.array(NORMAL_SCORES) / THRESHOLDS + 0.01)
    covariance = np.cov(logs, rowvar=False)
    shrunk = 0.9 * covariance + 0.1 * np.trace(covariance) / 2 * np.eye(2)
    departure = np.log(np.array([1.0, 3.0]) / THRESHOLDS + 0.01) - logs.mean(axis=0)
    expected = math.sqrt(departure @ np.linalg.solve(shrunk, departure))
    np.testing.assert_allclose(rule.scores([[1.0, 3.0]], THRESHOLDS), [expected], rtol=1e-9)


def test_decisions_leave_known_types_as_they_are():
    decisions = open_set_decisions([("A",), (), (), ("A", "B")], [True, True, False, False])
    assert decisions == [("A",), (UNKNOWN_DEFECT,), (), ("A", "B")]
    assert open_set_decisions([("A",), ()], None) == [("A",), ()]


def test_postprocessor_calls_unknown_only_where_no_type_fires():
    base = Postprocessor(("A", "B"), thresholds=THRESHOLDS)
    fitted = base.fit_open_set(LABELS, SCORES, method="max_ratio")
    # Scores as constant heatmaps: the mean (Eq. 2) is the value.
    scores = np.array([[1.0, 3.0], [3.0, 0.1], [0.1, 0.1]], np.float32)
    heatmaps = np.broadcast_to(scores[:, None, None, :], (3, 2, 2, 2))
    with_rule, without = fitted.predict(heatmaps), base.predict(heatmaps)
    assert with_rule.detected_types == without.detected_types == [(), ("A",), ()]
    np.testing.assert_allclose(with_rule.open_set_scores, [0.75, 1.5, 0.05], rtol=1e-6)
    assert with_rule.decisions == [(UNKNOWN_DEFECT,), ("A",), ()]
    assert without.decisions == [(), ("A",), ()] and without.open_set_scores is None


def test_postprocessor_config_round_trip_and_checks():
    fitted = Postprocessor(("A", "B"), thresholds=THRESHOLDS).fit_open_set(LABELS, SCORES)
    assert fitted.open_set["method"] == "normal_distance"
    assert Postprocessor.from_config(fitted.get_config()) == fitted
    # An old config has no open_set: off.
    old = {"type_codes": ["A", "B"], "score_reduction": "mean", "thresholds": THRESHOLDS}
    assert Postprocessor.from_config(old).open_set is None
    with pytest.raises(ValueError, match="open_set needs thresholds"):
        Postprocessor(("A", "B"), open_set=fitted.open_set)
    with pytest.raises(ValueError, match="fitted on 2 types"):
        Postprocessor(("A", "B", "C"), thresholds=[1, 1, 1], open_set=fitted.open_set)
    with pytest.raises(ValueError, match="method must be one of"):
        Postprocessor(("A", "B"), thresholds=THRESHOLDS, open_set={**fitted.open_set, "method": "sum"})
    # Thresholds fitted anew void the rule fitted on the old ones.
    assert fitted.fit_thresholds(LABELS, SCORES, "again").open_set is None


def test_fit_refuses_images_without_normal_ones():
    with pytest.raises(ValueError, match="No normal image"):
        fit_open_set([[1, 0]], [[1.0, 1.0]], THRESHOLDS)
    with pytest.raises(ValueError, match="false_alarm_rate"):
        fit_open_set(LABELS, SCORES, THRESHOLDS, false_alarm_rate=1.5)


# --- End to end: a type left out of training is reported as an unknown defect ---

LEFT_OUT = "HS"


@pytest.fixture(scope="module")
def left_out_run(tiny_dataset, tmp_path_factory):
    """A model trained on the tiny set without HS, its LiteRT file, and HS's test images.

    25 steps on the shipped backbone: enough for HS's images to stand out
    from the normal ones' pattern of type scores.
    """
    from mtfcdd.data.layouts import load_dataset
    from mtfcdd.deploy.export import export_tflite
    from mtfcdd.model.saving import load_trained_model
    from mtfcdd.training.trainer import TrainingConfig, train

    folder = tmp_path_factory.mktemp("open_set")
    config = TrainingConfig(
        alpha=0.4, image_size=96, backbone_weights="synthetic", batch_size=16, learning_rate=1e-3,
        epochs=1, steps_per_epoch=25, exclude_types=(LEFT_OUT,),
    )
    result = train(tiny_dataset, folder / "run", config, verbose=0)
    model = load_trained_model(result.model_path)
    tflite_path = str(folder / "model.tflite")
    export_tflite(model, tflite_path, quantize="none")
    data = load_dataset(tiny_dataset, alpha=0.4, exclude_types=[LEFT_OUT])
    return {
        "model_path": result.model_path, "model": model, "tflite": tflite_path,
        "left_out": [sample.image_path for sample in data.excluded_test],
        "normal": [sample.image_path for sample in data.test if sample.is_normal][:4],
        "folder": folder,
    }


def _predicted(arguments, output_dir):
    from mtfcdd.cli import main

    assert main(["predict", *arguments, "--out", str(output_dir), "--json"]) == 0
    with open(output_dir / "predictions.json") as file:
        return json.load(file)


@pytest.mark.slow
def test_a_type_left_out_of_training_is_an_unknown_defect_everywhere(left_out_run):
    from mtfcdd.deploy.runner import LiteRTModel
    from mtfcdd.serve.server import create_app

    model = left_out_run["model"]
    assert LEFT_OUT not in model.type_codes and model.open_set["method"] == "normal_distance"
    images = left_out_run["left_out"] + left_out_run["normal"]
    assert len(left_out_run["left_out"]) == 3
    keras_answer = _predicted([left_out_run["model_path"], *images], left_out_run["folder"] / "keras")
    litert_answer = _predicted(["--tflite", left_out_run["tflite"], *images], left_out_run["folder"] / "litert")
    client = create_app(LiteRTModel(left_out_run["tflite"])).test_client()
    served = []
    for path in left_out_run["left_out"]:
        with open(path, "rb") as file:
            served.append(client.post("/predict", data=file.read(), content_type="image/jpeg").get_json())
    for answer in (keras_answer, litert_answer):
        assert answer["open_set"] == {"method": "normal_distance", "threshold": model.open_set["threshold"]}
        left_out = answer["images"][:3]
        assert [image["decision"] for image in left_out] == [[UNKNOWN_DEFECT]] * 3
        assert all(image["detected_types"] == [] for image in left_out)
        assert all(image["open_set_score"] >= model.open_set["threshold"] for image in left_out)
    assert [answer["decision"] for answer in served] == [[UNKNOWN_DEFECT]] * 3
    assert [answer["verdict"] for answer in served] == [UNKNOWN_DEFECT] * 3
    np.testing.assert_allclose(
        [answer["open_set_score"] for answer in served],
        [image["open_set_score"] for image in litert_answer["images"][:3]], rtol=1e-6,
    )
    np.testing.assert_allclose(
        [image["open_set_score"] for image in litert_answer["images"]],
        [image["open_set_score"] for image in keras_answer["images"]], rtol=1e-3,
    )
    # The panel of an unknown defect says so.
    assert os.path.isfile(keras_answer["images"][0]["panel"])


@pytest.mark.slow
def test_the_rule_travels_with_the_model_and_leaves_known_types_unchanged(left_out_run, tmp_path):
    import keras

    from mtfcdd.deploy.sidecar import read_sidecar
    from mtfcdd.prediction.predict_images import predict

    model = left_out_run["model"]
    assert read_sidecar(left_out_run["tflite"])["open_set"] == model.open_set
    model.save(tmp_path / "again.keras")
    assert keras.saving.load_model(tmp_path / "again.keras").open_set == model.open_set
    images = left_out_run["left_out"] + left_out_run["normal"]
    with_rule = predict(model, images)
    rule, model.open_set = model.open_set, None
    try:
        without = predict(model, images)
    finally:
        model.open_set = rule
    assert [p.detected_types for p in with_rule.predictions] == [p.detected_types for p in without.predictions]
    assert [p.scores for p in with_rule.predictions] == [p.scores for p in without.predictions]
    assert all(p.open_set_score is None and p.decision == p.detected_types for p in without.predictions)
    assert without.open_set is None


def test_decision_counts_give_types_absent_from_training_their_own_row():
    from mtfcdd.evaluation.model_evaluation import decision_counts

    postprocessor = Postprocessor(("A", "B"), thresholds=THRESHOLDS).fit_open_set(LABELS, SCORES, "max_ratio")
    # Known: an A found as A, a B found as both (B is the larger multiple,
    # 8/4 > 3/2), a B missed; normal images take no part. Unknown: one in
    # the open-set band (0.75 > 0.4), one under it, one found as A.
    labels = [[1, 0], [0, 1], [0, 1], [0, 0]]
    scores = [[3.0, 0.1], [3.0, 8.0], [0.1, 0.1], [9.0, 9.0]]
    unknown_scores = np.array([[1.0, 3.0], [0.1, 0.1], [2.5, 0.1]])
    counts = decision_counts(postprocessor, labels, scores, unknown_scores)
    assert counts["rows"] == ["A", "B", "unknown"]
    assert counts["columns"] == ["A", "B", UNKNOWN_DEFECT, "normal"]
    assert counts["matrix"] == [[1, 0, 0, 0], [0, 1, 0, 1], [1, 0, 1, 1]]
    assert counts["open_set"] == {"method": "max_ratio", "threshold": postprocessor.open_set["threshold"]}
    # Without a rule nothing is unknown, and without left-out images no such row.
    plain = decision_counts(Postprocessor(("A", "B"), thresholds=THRESHOLDS), labels, scores)
    assert plain["rows"] == ["A", "B"] and plain["matrix"] == [[1, 0, 0, 0], [0, 1, 0, 1]]


def test_excluded_types_leave_training_and_keep_their_test_images(tiny_dataset):
    from mtfcdd.data.layouts import load_dataset, load_for_model

    full = load_dataset(tiny_dataset, alpha=0.4)
    data = load_dataset(tiny_dataset, alpha=0.4, exclude_types=["HS", "AK"])
    assert data.type_codes == ("BX", "CH", "PS", "QS", "YW", "ZW")
    assert {sample.anomaly_class for sample in data.train + data.test} == set(data.type_codes) | {"OK"}
    assert len(data.train) == len(full.train) - 8 and len(data.test) == len(full.test) - 6
    assert sorted(sample.anomaly_class for sample in data.excluded_test) == ["AK"] * 3 + ["HS"] * 3
    assert all(sample.labels == (0,) * 6 for sample in data.excluded_test)
    by_path = {sample.image_path: sample for sample in full.test}
    # The kept channels keep their labels.
    for sample in data.test:
        assert sample.labels == tuple(by_path[sample.image_path].labels[i] for i in (1, 2, 4, 5, 6, 7))
    # A model trained without them reads the data set the same way.
    assert load_for_model(tiny_dataset, data.type_codes, alpha=0.4) == data
    with pytest.raises(ValueError, match=r"cannot exclude \['XX'\]"):
        load_dataset(tiny_dataset, exclude_types=["XX"])


def test_train_options_choose_the_rule_and_the_types_left_out():
    from mtfcdd.cli import build_parser
    from mtfcdd.cli.options import training_config
    from mtfcdd.training.config import TrainingConfig

    arguments = build_parser().parse_args(["train", "--out", "run", "--open-set", "none", "--exclude-types", "HS, QS"])
    config = training_config(arguments)
    assert (config.open_set_method, config.exclude_types) == (None, ("HS", "QS"))
    assert TrainingConfig.from_dict(config.to_dict()) == config
    assert TrainingConfig().open_set_method == "normal_distance"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--out", "run", "--open-set", "sum"])


def test_an_unknown_defects_panel_shows_where_under_a_red_header():
    from mtfcdd.visualization.panels import DETECTED_COLOUR, HEADER_COLOUR, prediction_panel

    image = np.full((40, 40, 3), 128, np.uint8)
    heatmaps = np.zeros((40, 40, 2), np.float32)
    heatmaps[10:20, 10:20, 1] = 1.0
    arguments = dict(thresholds=THRESHOLDS, tile_size=64)
    normal = prediction_panel(image, heatmaps, [0.1, 0.1], ("A", "B"), decision=(), **arguments)
    unknown = prediction_panel(
        image, heatmaps, [0.1, 0.1], ("A", "B"), decision=(UNKNOWN_DEFECT,), open_set_score=5.0, **arguments
    )
    assert normal.shape == unknown.shape
    # The input tile's header turns red, and the tile shows the maps over the image.
    def pixels_of(panel, colour):
        return (panel[:, :64] == colour).all(axis=-1).sum()

    assert pixels_of(normal, DETECTED_COLOUR) == 0 < pixels_of(normal, HEADER_COLOUR)
    assert pixels_of(unknown, HEADER_COLOUR) < pixels_of(unknown, DETECTED_COLOUR)
    assert not (normal[:, :64] == unknown[:, :64]).all()
    # The type tiles are the same.
    assert (normal[:, 64:] == unknown[:, 64:]).all()


def test_serve_answers_unknown_defect_with_its_score_and_rule():
    import cv2

    from mtfcdd.inference.heatmap_model import HeatmapModel
    from mtfcdd.serve.server import create_app

    postprocessor = Postprocessor(("A", "B"), thresholds=THRESHOLDS).fit_open_set(LABELS, SCORES, "max_ratio")
    # Every image gets the scores (1, 3): no type fires, max ratio 0.75 > 0.4.
    model = HeatmapModel(
        heatmaps=lambda images: np.broadcast_to(
            np.array([1.0, 3.0], np.float32), (len(images), 4, 4, 2)
        ).copy(),
        postprocessor=postprocessor, image_size=(32, 32), weights_source="stand-in",
    )
    client = create_app(model).test_client()
    _, encoded = cv2.imencode(".png", np.zeros((32, 32, 3), np.uint8))
    answer = client.post("/predict", data=encoded.tobytes(), content_type="image/png").get_json()
    assert answer["detected_types"] == [] and answer["decision"] == [UNKNOWN_DEFECT]
    assert answer["verdict"] == UNKNOWN_DEFECT and answer["open_set_score"] == pytest.approx(0.75)
    facts = client.get("/model").get_json()
    assert facts["open_set"] == {"method": "max_ratio", "threshold": postprocessor.open_set["threshold"]}


@pytest.mark.slow
def test_evaluate_gives_the_left_out_type_an_unknown_row(left_out_run, tiny_dataset):
    from mtfcdd.data.layouts import load_for_model
    from mtfcdd.evaluation.model_evaluation import evaluate
    from mtfcdd.evaluation.reports import markdown

    model = left_out_run["model"]
    data = load_for_model(tiny_dataset, model.type_codes, alpha=0.4)
    result = evaluate(model, data.test, batch_size=16, pixel_size=32, verbose=0, unknown_samples=data.excluded_test)
    decisions = result["decisions"]
    assert decisions["rows"] == [*model.type_codes, "unknown"]
    unknown_row = decisions["matrix"][-1]
    # predict called all three unknown defects (the test above).
    assert unknown_row[decisions["columns"].index(UNKNOWN_DEFECT)] == 3 == sum(unknown_row)
    # The known types' images: 3 each, in their rows.
    assert [sum(row) for row in decisions["matrix"][:-1]] == [3] * len(model.type_codes)
    assert "| unknown | " in markdown({0.4: result})
