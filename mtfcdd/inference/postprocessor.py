"""The model's answers out: from the type projection phi_k to detected types (paper Eq. 1, 2, 3.1).

A ``Postprocessor`` holds what turns the network's last output into answers,
and applies it with the functions of ``mtfcdd.inference.postprocessing``:

    projection phi_k  --pseudo_huber (Eq. 1)-->       heatmaps A_k (N, u, v, K)
    heatmaps A_k      --image_scores (Eq. 2)-->       scores s_k (N, K)
    heatmaps A_k      --upsample_heatmaps (3.1)-->    maps at the image's size
    scores s_k        --types_over_threshold-->       detected types
    scores s_k        --OpenSetRule (open_set)-->     unknown defects

Fitting the decision thresholds and the open-set rule are its methods too
(``fit_thresholds``, ``fit_open_set``).

Every model owns one: a Keras ``MultiTypeFCDD`` keeps its fields in its
config (``MultiTypeFCDD.postprocessor``), a converted file in its sidecar
(``mtfcdd.deploy.sidecar``), under the same names (``FIELDS``), so that a
model answers the same way in every runtime. NumPy only: a board runs it.
"""

import dataclasses
import math
from collections.abc import Sequence
from typing import Optional

import numpy as np

from mtfcdd.constants import SCORE_REDUCTIONS
from mtfcdd.inference.open_set import DEFAULT_OPEN_SET_METHOD, OpenSetRule, fit_open_set
from mtfcdd.inference.postprocessing import Prediction, image_scores, pseudo_huber, types_over_threshold


@dataclasses.dataclass(frozen=True)
class Postprocessor:
    """How a model's heatmaps become scores and detected types.

    Attributes:
        type_codes: the code of each heatmap channel, distinct (kept as a
            tuple).
        score_reduction: ``"mean"`` (paper Eq. 2) or ``"max"`` (the
            authors' code): how image scores are read from the heatmaps.
        thresholds: one decision threshold per type on the image scores
            (kept as a tuple of floats), or None (then nothing is detected,
            only scored).
        threshold_source: how the thresholds were fitted, in words, or None.
        open_set: the ``mtfcdd.inference.open_set.OpenSetRule``'s config
            (method, threshold, parameters) that calls an image no type
            fires on an unknown defect, or None (off: an older model).
            Needs thresholds.
    """

    type_codes: Sequence[str]
    score_reduction: str = "mean"
    thresholds: Optional[Sequence[float]] = None
    threshold_source: Optional[str] = None
    open_set: Optional[dict] = None

    FIELDS = ("type_codes", "score_reduction", "thresholds", "threshold_source", "open_set")
    """The fields, as a model's config and a sidecar name them."""

    def __post_init__(self):
        type_codes = tuple(self.type_codes)
        if len(set(type_codes)) != len(type_codes):
            raise ValueError(
                f"type_codes must be distinct (each names one heatmap); got {list(type_codes)}."
            )
        if self.score_reduction not in SCORE_REDUCTIONS:
            raise ValueError(
                f"score_reduction must be one of {SCORE_REDUCTIONS}; got {self.score_reduction!r}."
            )
        thresholds = self.thresholds
        if thresholds is not None:
            thresholds = tuple(float(value) for value in thresholds)
            if not all(math.isfinite(value) for value in thresholds):
                raise ValueError(
                    f"thresholds must be finite numbers (a NaN threshold detects nothing); got "
                    f"{list(thresholds)}."
                )
            if len(thresholds) != len(type_codes):
                raise ValueError(
                    f"thresholds has {len(thresholds)} values for {len(type_codes)} "
                    "types; give one per type, or None."
                )
        if self.threshold_source is not None and not isinstance(self.threshold_source, str):
            raise ValueError(f"threshold_source must be a string or None; got {self.threshold_source!r}.")
        if self.open_set is not None:
            if thresholds is None:
                raise ValueError("open_set needs thresholds: it decides on the images no type fires on.")
            rule = OpenSetRule.from_config(self.open_set)
            # Its parameters (the means of normal_distance) must fit the K types.
            rule.scores(np.zeros((1, len(type_codes))), thresholds)
            object.__setattr__(self, "open_set", rule.get_config())
        object.__setattr__(self, "type_codes", type_codes)
        object.__setattr__(self, "thresholds", thresholds)

    @classmethod
    def from_config(cls, config):
        """The postprocessor of a model's config or a sidecar (other keys ignored)."""
        return cls(**{field: config[field] for field in cls.FIELDS if field in config})

    def get_config(self):
        """The fields as JSON values (lists, not tuples)."""
        return {
            "type_codes": list(self.type_codes),
            "score_reduction": self.score_reduction,
            "thresholds": None if self.thresholds is None else list(self.thresholds),
            "threshold_source": self.threshold_source,
            "open_set": self.open_set,
        }

    @property
    def open_set_rule(self):
        """The ``OpenSetRule`` of ``open_set``, or None."""
        return None if self.open_set is None else OpenSetRule.from_config(self.open_set)

    def heatmaps(self, projection):
        """The heatmaps A_k (N, u, v, K) of the type projection phi_k, paper Eq. 1."""
        return pseudo_huber(projection)

    def scores(self, heatmaps, reduction=None):
        """The image scores s_k (N, K) of heatmaps (N, u, v, K), paper Eq. 2,
        with ``reduction`` or else the model's ``score_reduction``."""
        return image_scores(heatmaps, reduction or self.score_reduction)

    def applied_thresholds(self, reduction=None):
        """The thresholds that apply to ``reduction``'s scores: the model's
        own when it fitted them on that reduction, else None."""
        return self.thresholds if reduction in (None, self.score_reduction) else None

    def predict(self, heatmaps, reduction=None):
        """Scores and detected types of a batch of heatmaps.

        Args:
            heatmaps: array (N, u, v, K), the model's A_k.
            reduction: ``"mean"`` or ``"max"``; the model's own
                ``score_reduction`` when None. The thresholds were fitted
                on the model's reduction, so with another one no types are
                detected.

        Returns:
            A ``mtfcdd.inference.postprocessing.Prediction``: the heatmaps
            on the model's grid, the scores s_k (Eq. 2), the detected
            types (None without thresholds that apply) and, with an
            open-set rule, the open-set scores and unknown defects.
        """
        scores = self.scores(heatmaps, reduction)
        return Prediction(np.asarray(heatmaps, np.float32), scores, *self.decide(scores, reduction))

    def decide(self, scores, reduction=None):
        """``(detected_types, open_set_scores, unknown)`` of image scores (N, K)
        of ``reduction`` (see ``Prediction``): each None where it does not apply."""
        thresholds = self.applied_thresholds(reduction)
        if thresholds is None:
            return None, None, None
        detected_types = types_over_threshold(scores, thresholds, self.type_codes)
        rule = self.open_set_rule
        if rule is None:
            return detected_types, None, None
        open_set_scores = rule.scores(scores, thresholds)
        unknown = np.array([not detected for detected in detected_types]) & (open_set_scores >= rule.threshold)
        return detected_types, open_set_scores, unknown

    def fit_thresholds(self, labels, scores, threshold_source):
        """This postprocessor with F1-optimal thresholds fitted on scored images.

        Args:
            labels: (N, K) 0/1, image ``i`` has type ``k``.
            scores: (N, K) image scores of this ``score_reduction``.
            threshold_source: how the images were chosen, in words.

        Returns:
            A new ``Postprocessor`` (see
            ``mtfcdd.inference.decision_thresholds.fit_thresholds``).
        """
        # scikit-learn only where thresholds are fitted: a board predicts without it.
        from mtfcdd.inference.decision_thresholds import fit_thresholds

        # Thresholds fitted anew void a rule fitted on the old ones.
        return dataclasses.replace(
            self, thresholds=fit_thresholds(labels, scores), threshold_source=threshold_source,
            open_set=None,
        )

    def fit_open_set(self, labels, scores, method=DEFAULT_OPEN_SET_METHOD, false_alarm_rate=None):
        """This postprocessor with an open-set rule fitted on scored images.

        Args:
            labels: (N, K) 0/1; its normal images fit the rule.
            scores: (N, K) image scores of this ``score_reduction``: those
                the thresholds were fitted on.
            method: one of ``mtfcdd.inference.open_set.OPEN_SET_METHODS``.
            false_alarm_rate: see ``mtfcdd.inference.open_set.fit_open_set``.

        Returns:
            A new ``Postprocessor``.
        """
        if self.thresholds is None:
            raise ValueError("Fit the thresholds before the open-set rule: it decides where no type fires.")
        rule = fit_open_set(labels, scores, self.thresholds, method, false_alarm_rate)
        return dataclasses.replace(self, open_set=rule.get_config())


class HasPostprocessor:
    """The ``Postprocessor``'s fields as attributes of what holds one in
    ``postprocessor`` (a ``HeatmapModel``, a converted file)."""

    postprocessor: Postprocessor

    @property
    def type_codes(self):
        """The code of each heatmap channel."""
        return self.postprocessor.type_codes

    @property
    def score_reduction(self):
        """``"mean"`` or ``"max"``, what the thresholds were fitted with."""
        return self.postprocessor.score_reduction

    @property
    def thresholds(self):
        """K decision thresholds, or None."""
        return self.postprocessor.thresholds

    @property
    def threshold_source(self):
        """Where the thresholds come from, when recorded."""
        return self.postprocessor.threshold_source

    @property
    def open_set(self):
        """The open-set rule's config, or None."""
        return self.postprocessor.open_set
