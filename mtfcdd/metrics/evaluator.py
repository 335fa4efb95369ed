"""The per-type evaluation protocol of Tables 3-5 (paper 4.4), streamed.

For each type ``k`` (channel ``k`` of the model):

- image level: label = "the image has type k", score = ``s_k``; the
  negatives are the normal images and the images of the other types.
  I-AUROC, AP and F1-max are exact (one float per image is kept).
- pixel level, ``pixel_protocol="per-type"`` (the default, docs/evaluation.md):
  only the normal images and the type-k images take part; ground truth =
  the masks of the type-k images, map = channel ``k``.
  ``pixel_protocol="authors"`` (the authors' published ``evaluate.py``):
  every test image takes part, ground truth = each image's own mask
  whatever its type (the union of all types' masks), map = channel ``k``.
  P-AUROC and AUPRO come from fixed-memory histograms
  (``mtfcdd.metrics.streaming``), with a bound on their error.
  ``aupro="exact"`` integrates the PRO curve as MVTec AD does,
  ``aupro="authors"`` as the authors' ``evaluate.py`` (a 1,000-threshold
  grid, the overshoot past the FPR limit kept, clipped to [0, 1];
  ``mtfcdd.metrics.aupro``), which has no error bound (None).
- the "Mean" row averages the types.

With one channel (the multi-class setting, Table 5) the same code gives the
metrics with "any defect" as positive. With several channels the result
also holds the type classification of the defective images (argmax of the
type scores): confusion matrix and macro-F1.

``curves()`` gives, per type, the curve under each metric: the image ROC and
precision-recall curves (exact) and the pixel ROC and PRO curves (from the
fixed-memory bins, thinned to a few thousand points).
"""

import numpy as np

from mtfcdd.constants import AUPRO_INTEGRATIONS, PIXEL_PROTOCOLS
from mtfcdd.metrics.aupro import DEFAULT_FPR_LIMIT
from mtfcdd.metrics.curves import Curve, thin_curve
from mtfcdd.metrics.image_metrics import (
    auroc,
    average_precision,
    f1_max,
    precision_recall_curve,
    roc_curve,
)
from mtfcdd.metrics.streaming import DEFAULT_MANTISSA_BITS, BinnedPixelScores
from mtfcdd.metrics.type_classification import macro_f1, type_confusion_matrix

IMAGE_METRICS = {"I-AUROC": auroc, "AP": average_precision, "F1-max": f1_max}
PIXEL_METRICS = ("P-AUROC", "AUPRO")
METRIC_NAMES = (*IMAGE_METRICS, *PIXEL_METRICS)
"""The metrics of each type, image level then pixel level (paper 4.4)."""
CURVE_METRICS = ("I-AUROC", "AP", "P-AUROC", "AUPRO")
"""The metrics that are the area under a curve (``MultiTypeEvaluator.curves``)."""

MEAN_ROW = "Mean"


class MultiTypeEvaluator:
    """Accumulates test batches and computes the per-type metrics.

    Memory: the image scores and labels (2 x N x K floats) plus, per type,
    one ``BinnedPixelScores`` (12 MiB at the default ``mantissa_bits``).

    Args:
        type_codes: the code of each channel, e.g. ``DEFECT_CODES`` or
            ``type_codes_for(1)``.
        fpr_limit: upper false positive rate of AUPRO (0.3 in the paper).
        mantissa_bits: resolution of the pixel-score bins (see
            ``mtfcdd.metrics.streaming``).
        pixel_protocol: ``"per-type"`` (channel k on the normal and type-k
            images against the type-k masks) or ``"authors"`` (channel k on
            every image against every image's mask); see the module
            docstring.
        aupro: ``"exact"`` (MVTec AD's integration) or ``"authors"`` (the
            authors' evaluate.py's); see the module docstring.
    """

    def __init__(
        self,
        type_codes,
        fpr_limit=DEFAULT_FPR_LIMIT,
        mantissa_bits=DEFAULT_MANTISSA_BITS,
        pixel_protocol="per-type",
        aupro="exact",
    ):
        self.type_codes = tuple(type_codes)
        if not self.type_codes or len(set(self.type_codes)) != len(
            self.type_codes
        ):
            raise ValueError(
                "type_codes must be a non-empty sequence of distinct codes; "
                f"got {type_codes!r}."
            )
        if MEAN_ROW in self.type_codes:
            raise ValueError(f"{MEAN_ROW!r} is reserved for the mean row.")
        if not 0 < fpr_limit <= 1:
            raise ValueError(
                f"fpr_limit must be in (0, 1]; got {fpr_limit!r}."
            )
        if pixel_protocol not in PIXEL_PROTOCOLS:
            raise ValueError(
                f"pixel_protocol must be one of {PIXEL_PROTOCOLS}; got "
                f"{pixel_protocol!r}."
            )
        if aupro not in AUPRO_INTEGRATIONS:
            raise ValueError(f"aupro must be one of {AUPRO_INTEGRATIONS}; got {aupro!r}.")
        self.fpr_limit = fpr_limit
        self.aupro = aupro
        self.mantissa_bits = mantissa_bits
        self.pixel_protocol = pixel_protocol
        self._pixel_scores = [
            BinnedPixelScores(mantissa_bits) for _ in self.type_codes
        ]
        self._image_scores = []
        self._image_labels = []

    def update(self, scores, maps, labels, masks):
        """Add a batch of N test images.

        Args:
            scores: (N, K) image scores ``s_k`` (paper Eq. 2).
            maps: (N, H, W, K) non-negative heatmaps at the masks' size.
            labels: (N, K) binary; row ``i`` has a 1 at the type of image
                ``i`` and is all 0 for a normal image (at most one type).
            masks: (N, H, W) defect masks (any value > 0 is defect), all zero
                for normal images.
        """
        scores, maps, labels, masks = self._validate_batch(
            scores, maps, labels, masks
        )
        normal = ~labels.any(axis=1)
        for channel, pixel_scores in enumerate(self._pixel_scores):
            if self.pixel_protocol == "authors":
                taking_part = np.ones(len(labels), dtype=bool)
            else:
                # Images of the other types would add their defects as
                # normal pixels of type k: the protocol leaves them out.
                taking_part = normal | labels[:, channel]
            if taking_part.any():
                pixel_scores.update(
                    maps[taking_part, ..., channel], masks[taking_part]
                )
        self._image_scores.append(scores)
        self._image_labels.append(labels)

    def _validate_batch(self, scores, maps, labels, masks):
        num_types = len(self.type_codes)
        scores = np.asarray(scores, dtype=np.float64)
        maps = np.asarray(maps)
        labels = np.asarray(labels)
        masks = np.asarray(masks) > 0
        if scores.ndim != 2 or scores.shape[1] != num_types:
            raise ValueError(
                f"scores must have shape (N, {num_types}); got {scores.shape}."
            )
        if labels.shape != scores.shape:
            raise ValueError(
                f"labels must have the shape of scores {scores.shape}; got "
                f"{labels.shape}."
            )
        if maps.shape != (*masks.shape, num_types) or masks.ndim != 3:
            raise ValueError(
                f"maps must have shape (N, H, W, {num_types}) and masks "
                f"(N, H, W); got maps {maps.shape} and masks {masks.shape}."
            )
        if len(masks) != len(scores):
            raise ValueError(
                f"maps and masks have {len(masks)} images but scores have "
                f"{len(scores)}."
            )
        if not np.isfinite(scores).all():
            raise ValueError("scores must be finite; got NaN or infinity.")
        if not np.isin(labels, (0, 1)).all():
            raise ValueError("labels must be binary (0 or 1).")
        labels = labels.astype(bool)
        several = np.flatnonzero(labels.sum(axis=1) > 1)
        if len(several):
            raise ValueError(
                f"each image must have at most one defect type; image "
                f"{several[0]} of the batch has {labels[several[0]].sum()}."
            )
        masked_normal = np.flatnonzero(
            ~labels.any(axis=1) & masks.any(axis=(1, 2))
        )
        if len(masked_normal):
            raise ValueError(
                f"normal images must have empty masks; image "
                f"{masked_normal[0]} of the batch has no type label but "
                "defect pixels in its mask."
            )
        return scores, maps, labels, masks

    def result(self):
        """The metrics so far, as a JSON-serialisable dict.

        Returns:
            ``{"type_codes": [...], "fpr_limit", "mantissa_bits",
            "pixel_protocol", "aupro",
            "metrics": {code or "Mean": {metric name: value or None}},
            "types_in_mean": {metric name: [codes]},
            "error_bounds": {code: {"P-AUROC": bound, "AUPRO": bound}},
            "counts": {code: {...}}}`` plus, with several types,
            ``"type_classification": {"confusion_matrix", "macro_f1"}``.
            A metric that is undefined for a type (no positive or no negative
            image, no defect pixel) is None and left out of the mean.
        """
        scores, labels = self._scores_and_labels()
        metrics, error_bounds, counts = {}, {}, {}
        for channel, code in enumerate(self.type_codes):
            pixel_metrics, error_bounds[code] = self._pixel_results(
                self._pixel_scores[channel]
            )
            metrics[code] = {
                **self._image_metrics(labels[:, channel], scores[:, channel]),
                **pixel_metrics,
            }
            counts[code] = self._counts(
                labels[:, channel], self._pixel_scores[channel]
            )
        metrics[MEAN_ROW], types_in_mean = self._mean_row(metrics)
        result = {
            "type_codes": list(self.type_codes),
            "fpr_limit": self.fpr_limit,
            "mantissa_bits": self.mantissa_bits,
            "pixel_protocol": self.pixel_protocol,
            "aupro": self.aupro,
            "metrics": metrics,
            "types_in_mean": types_in_mean,
            "error_bounds": error_bounds,
            "counts": counts,
        }
        if len(self.type_codes) > 1 and labels.any():
            confusion = type_confusion_matrix(labels, scores)
            result["type_classification"] = {
                "confusion_matrix": confusion.tolist(),
                "macro_f1": macro_f1(confusion),
            }
        return result

    def curves(self):
        """The curve of each type under each metric of ``result()``.

        Returns:
            ``{metric name: {code: Curve}}``, a ``mtfcdd.metrics.curves.
            Curve`` whose ``area`` is the metric: "I-AUROC" the image ROC
            curve, "AP" the precision-recall curve (step-wise area), "P-AUROC"
            the pixel ROC curve, "AUPRO" the PRO curve (area up to
            ``fpr_limit``, divided by it; with ``aupro="authors"`` the area
            is that integration's of the same curve). A type whose metric is undefined
            is left out. The image curves are exact; the pixel curves come
            from the bins, thinned (``mtfcdd.metrics.curves.thin_curve``) so
            that their area stays within ``AREA_TOLERANCE`` of the metric.
        """
        scores, labels = self._scores_and_labels()
        curves = {name: {} for name in CURVE_METRICS}
        for channel, code in enumerate(self.type_codes):
            type_labels, type_scores = labels[:, channel], scores[:, channel]
            if _has_both_classes(type_labels):
                curves["I-AUROC"][code] = Curve(
                    *roc_curve(type_labels, type_scores), auroc(type_labels, type_scores)
                )
                curves["AP"][code] = Curve(
                    *precision_recall_curve(type_labels, type_scores),
                    average_precision(type_labels, type_scores),
                )
            pixel_scores = self._pixel_scores[channel]
            if _pixel_metrics_defined(pixel_scores):
                curves["P-AUROC"][code] = _thinned_curve(
                    *pixel_scores.roc_curve(), pixel_scores.pixel_auroc()
                )
                curves["AUPRO"][code] = _thinned_curve(
                    *pixel_scores.pro_curve(), self._aupro(pixel_scores), self.fpr_limit
                )
        return curves

    def _scores_and_labels(self):
        if not self._image_scores:
            raise ValueError("no batch was given: call update() first.")
        return np.concatenate(self._image_scores), np.concatenate(self._image_labels)

    @staticmethod
    def _image_metrics(labels, scores):
        both_classes = _has_both_classes(labels)
        return {
            name: metric(labels, scores) if both_classes else None
            for name, metric in IMAGE_METRICS.items()
        }

    def _pixel_results(self, pixel_scores):
        """(metrics, error bounds) of one channel; None where undefined."""
        if not _pixel_metrics_defined(pixel_scores):
            return dict.fromkeys(PIXEL_METRICS), dict.fromkeys(PIXEL_METRICS)
        metrics = {
            "P-AUROC": pixel_scores.pixel_auroc(),
            "AUPRO": self._aupro(pixel_scores),
        }
        error_bounds = {
            "P-AUROC": pixel_scores.pixel_auroc_error_bound(),
            "AUPRO": pixel_scores.aupro_error_bound(self.fpr_limit) if self.aupro == "exact" else None,
        }
        return metrics, error_bounds

    def _aupro(self, pixel_scores):
        if self.aupro == "authors":
            return pixel_scores.authors_aupro(self.fpr_limit)
        return pixel_scores.aupro(self.fpr_limit)

    @staticmethod
    def _counts(labels, pixel_scores):
        return {
            "positive_images": int(labels.sum()),
            "negative_images": int(len(labels) - labels.sum()),
            "defect_pixels": int(pixel_scores.defect_counts.sum()),
            "normal_pixels": int(pixel_scores.normal_counts.sum()),
            "regions": int(pixel_scores.num_regions),
        }

    def _mean_row(self, metrics):
        mean, types_in_mean = {}, {}
        for name in METRIC_NAMES:
            defined = [
                code
                for code in self.type_codes
                if metrics[code][name] is not None
            ]
            types_in_mean[name] = defined
            mean[name] = (
                float(np.mean([metrics[code][name] for code in defined]))
                if defined
                else None
            )
        return mean, types_in_mean


def _has_both_classes(labels):
    return 0 < labels.sum() < len(labels)


def _pixel_metrics_defined(pixel_scores):
    return bool(pixel_scores.normal_counts.any() and pixel_scores.num_regions)


def _thinned_curve(x, y, thresholds, area, x_limit=1.0):
    keep = thin_curve(x, y, x_limit)
    return Curve(x[keep], y[keep], thresholds[keep], area)
