"""The open-set decision: its scores, fitted threshold, decisions and round-trips."""

import math

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
