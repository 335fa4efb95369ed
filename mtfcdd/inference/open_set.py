"""Defects of a type never trained on: the ``unknown defect`` decision (beyond the paper).

The paper closes on it: "Future work could potentially include extending this
framework to adaptively include open-set anomalies, enabling the model to
identify and characterise previously unseen anomaly types without explicit
retraining." A model trained on K types can, on an image of a new type, only
say "normal" (no score s_k reaches its threshold t_k) or name a known type.
This module adds a third answer from the K image scores alone (paper Eq. 2),
without retraining and without touching the network:

- an **open-set score** on the vector of type scores, higher for an image
  that looks defective in any way (``OpenSetRule.scores``), and
- its **threshold**, fitted on the training split's scored images (the
  images the per-type thresholds are fitted on,
  ``mtfcdd.inference.decision_thresholds``).

The decision (``Postprocessor.decide``, ``open_set_decisions``) leaves the known types' answers as they
are: an image is its detected known types when any score reaches its
threshold, as without this module; otherwise ``UNKNOWN_DEFECT`` when its
open-set score reaches the rule's threshold; otherwise normal. So the open-set
part can only turn a "normal" answer into "unknown defect": every known-type
result (detections, per-type I-AUROC) is the same with it and without it.

Methods (``OPEN_SET_METHODS``), on the ratios ``r_k = s_k / t_k`` (scores of
different types live on different scales; ``t_k`` is where type k's scale
says "defect"):

- ``"max_ratio"``, the baseline: ``max_k r_k``, the largest of the K type
  scores, each in units of its threshold.
- ``"normal_distance"``: the Mahalanobis distance of ``log(r_k + offset)``
  from the normal training images' (their mean and covariance, shrunk
  towards a multiple of the identity so that K scores of a few hundred
  images give a stable inverse): any departure of the pattern of type scores
  from normal, including several types' scores raised together, none of
  them up to its threshold, which is how a new defect tends to look to
  channels trained on other types. The logarithm turns the skewed,
  positive scores into roughly Gaussian values; ``offset`` keeps images
  whose scores are far below their thresholds from counting as departures
  (their logarithm would otherwise run towards minus infinity).

The threshold: by default, the share of the normal training images on which
the rule fires is at most the known types' own false-alarm rate there (the
share of normal training images on which any type fires), so that unknowns
add no more false alarms on those images than the known types already make.
Like the per-type thresholds, it is optimistic when fitted on the images
trained on.

What it cannot promise: a new defect whose scores look like a known type's
(one score over its threshold) is named as that type, not as unknown; a new
defect the K channels do not respond to at all looks normal. It tells "some
defect, of no known type" from "normal"; it does not name the new type.

NumPy only: a board decides with it (the rule is saved in the model's config
and every sidecar, as ``Postprocessor.open_set``).
"""

import dataclasses
import math
import numbers

import numpy as np

UNKNOWN_DEFECT = "unknown defect"
"""The decision for an image that is defective in a way no known type explains."""

OPEN_SET_METHODS = ("max_ratio", "normal_distance")
"""The open-set scores, the baseline first."""

DEFAULT_OPEN_SET_METHOD = "normal_distance"

# normal_distance: the ratios' offset before the logarithm, and the weight
# of the identity in the shrunk covariance.
LOG_OFFSET = 0.01
SHRINKAGE = 0.1


@dataclasses.dataclass(frozen=True)
class OpenSetRule:
    """An open-set score and the threshold at which it says ``unknown defect``.

    Attributes:
        method: one of ``OPEN_SET_METHODS``.
        threshold: an image whose open-set score is ``>= threshold`` and on
            which no known type fires is an unknown defect.
        parameters: the method's fitted values, as JSON values: none for
            ``"max_ratio"``; ``mean`` (K), ``precision`` (K x K, the inverse
            of the shrunk covariance) and ``offset`` for
            ``"normal_distance"``.
    """

    method: str
    threshold: float
    parameters: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.method not in OPEN_SET_METHODS:
            raise ValueError(f"open_set method must be one of {OPEN_SET_METHODS}; got {self.method!r}.")
        if not _is_number(self.threshold) or not math.isfinite(self.threshold):
            raise ValueError(f"open_set threshold must be a finite number; got {self.threshold!r}.")
        if not isinstance(self.parameters, dict):
            raise ValueError(f"open_set parameters must be a dict; got {self.parameters!r}.")
        if self.method == "normal_distance":
            _check_distance_parameters(self.parameters)
        object.__setattr__(self, "threshold", float(self.threshold))

    @classmethod
    def from_config(cls, config):
        """The rule of ``get_config``'s dict (a model's config, a sidecar)."""
        if not isinstance(config, dict) or set(config) != {"method", "threshold", "parameters"}:
            raise ValueError(
                "open_set must be null or an object with method, threshold and parameters; "
                f"got {config!r}."
            )
        return cls(config["method"], config["threshold"], config["parameters"])

    def get_config(self):
        """The rule as JSON values."""
        return {"method": self.method, "threshold": self.threshold, "parameters": dict(self.parameters)}

    def scores(self, type_scores, type_thresholds):
        """The open-set score of each image; higher is more likely some defect.

        Args:
            type_scores: (N, K) image scores s_k (paper Eq. 2).
            type_thresholds: (K,) the per-type decision thresholds t_k.

        Returns:
            float64 array (N,).
        """
        ratios = threshold_ratios(type_scores, type_thresholds)
        if self.method == "max_ratio":
            return ratios.max(axis=1)
        mean = np.asarray(self.parameters["mean"], np.float64)
        if mean.shape != (ratios.shape[1],):
            raise ValueError(
                f"the open-set rule was fitted on {mean.size} types; got scores of {ratios.shape[1]}."
            )
        departures = np.log(ratios + self.parameters["offset"]) - mean
        precision = np.asarray(self.parameters["precision"], np.float64)
        squared = np.einsum("nk,kl,nl->n", departures, precision, departures)
        return np.sqrt(np.maximum(squared, 0.0))


def threshold_ratios(type_scores, type_thresholds):
    """``s_k / t_k`` (N, K) in float64; a zero threshold counts as the
    smallest positive float32 (every score reaches it)."""
    type_scores = np.asarray(type_scores, np.float64)
    type_thresholds = np.asarray(type_thresholds, np.float64)
    if type_scores.ndim != 2 or type_thresholds.shape != (type_scores.shape[1],):
        raise ValueError(
            "type_scores must have shape (images, types) and type_thresholds one value per "
            f"type; got {type_scores.shape} and {type_thresholds.shape}."
        )
    return type_scores / np.maximum(type_thresholds, np.finfo(np.float32).tiny)


def fit_open_set(labels, type_scores, type_thresholds, method=DEFAULT_OPEN_SET_METHOD, false_alarm_rate=None):
    """The open-set rule of ``method``, fitted on scored images.

    Args:
        labels: (N, K) 0/1; the normal images (rows of zeros) fit the rule.
        type_scores: (N, K) image scores, those the thresholds were fitted on.
        type_thresholds: (K,) the per-type thresholds.
        method: one of ``OPEN_SET_METHODS``.
        false_alarm_rate: the largest share of the normal images on which the
            rule may fire; None takes the known types' own (the share of
            normal images on which any type reaches its threshold), but
            below 1: where the known types fire on every normal image (a
            model trained a few steps), the rule still leaves one normal.

    Returns:
        An ``OpenSetRule``.
    """
    labels = np.asarray(labels)
    type_scores = np.asarray(type_scores, np.float64)
    if labels.shape != type_scores.shape or labels.ndim != 2:
        raise ValueError(
            f"labels and type_scores must both have shape (images, types); got {labels.shape} "
            f"and {type_scores.shape}."
        )
    normal_scores = type_scores[~labels.any(axis=1)]
    if len(normal_scores) == 0:
        raise ValueError("No normal image to fit the open-set rule on: it measures departures from normal.")
    if false_alarm_rate is None:
        known_rate = float((normal_scores >= np.asarray(type_thresholds, np.float32)).any(axis=1).mean())
        false_alarm_rate = min(known_rate, (len(normal_scores) - 1) / len(normal_scores))
    if not _is_number(false_alarm_rate) or not 0 <= false_alarm_rate < 1:
        raise ValueError(f"false_alarm_rate must be a number in [0, 1) or None; got {false_alarm_rate!r}.")
    if method not in OPEN_SET_METHODS:
        raise ValueError(f"open_set method must be one of {OPEN_SET_METHODS}; got {method!r}.")
    parameters = {} if method == "max_ratio" else _fit_normal_distance(normal_scores, type_thresholds)
    rule = OpenSetRule(method, 0.0, parameters)
    normal_open_scores = rule.scores(normal_scores, type_thresholds)
    return dataclasses.replace(rule, threshold=_threshold_at_rate(normal_open_scores, false_alarm_rate))


def open_set_decisions(detected_types, unknown):
    """Each image's decision: its detected known types, else ``UNKNOWN_DEFECT``
    or normal (an empty tuple).

    Args:
        detected_types: N tuples of the known types detected.
        unknown: N bools (``OpenSetRule.unknown``), or None without a rule.

    Returns:
        A list of N tuples: the known types, ``(UNKNOWN_DEFECT,)`` or ``()``.
    """
    if unknown is None:
        return list(detected_types)
    return [
        detected if detected or not is_unknown else (UNKNOWN_DEFECT,)
        for detected, is_unknown in zip(detected_types, unknown)
    ]


def open_set_summary(open_set):
    """The method and threshold of a rule's config (what outputs show; the
    fitted parameters stay with the model), or None for None."""
    return None if open_set is None else {"method": open_set["method"], "threshold": open_set["threshold"]}


def _fit_normal_distance(normal_scores, type_thresholds):
    """Mean and precision of the normal images' log ratios (shrunk covariance)."""
    logs = np.log(threshold_ratios(normal_scores, type_thresholds) + LOG_OFFSET)
    mean = logs.mean(axis=0)
    centred = logs - mean
    covariance = centred.T @ centred / max(len(logs) - 1, 1)
    # Shrinks towards the average variance; the floor keeps a set of
    # identical images (zero variance) invertible.
    scale = max(float(np.trace(covariance)) / len(mean), 1e-12)
    shrunk = (1 - SHRINKAGE) * covariance + SHRINKAGE * scale * np.eye(len(mean))
    return {
        "mean": mean.tolist(),
        "precision": np.linalg.inv(shrunk).tolist(),
        "offset": LOG_OFFSET,
    }


def _threshold_at_rate(normal_open_scores, false_alarm_rate):
    """The smallest threshold at which at most ``false_alarm_rate`` of the
    normal images' open-set scores are ``>= threshold``."""
    allowed = int(math.floor(false_alarm_rate * len(normal_open_scores) + 1e-9))
    descending = np.sort(normal_open_scores)[::-1]
    # Just above the first score that may not fire.
    return float(np.nextafter(descending[allowed], np.inf))


def _check_distance_parameters(parameters):
    mean = parameters.get("mean")
    precision = parameters.get("precision")
    offset = parameters.get("offset")
    valid = isinstance(mean, list) and mean and all(_is_number(value) for value in mean)
    valid = valid and isinstance(precision, list) and len(precision) == len(mean) and all(
        isinstance(row, list) and len(row) == len(mean) and all(_is_number(value) for value in row)
        for row in precision
    )
    if not valid or not _is_number(offset) or offset <= 0:
        raise ValueError(
            "open_set parameters of normal_distance must hold mean (K numbers), precision "
            f"(K x K numbers) and offset (> 0); got {parameters!r}."
        )


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
