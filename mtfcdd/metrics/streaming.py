"""P-AUROC and AUPRO in fixed memory, from histograms of the pixel scores.

The Real-IAD test split gives 30,000 x 8 maps of 299 x 299 pixels (~86 GB of
float32, docs/data.md), too many to hold for the exact metrics
(``mtfcdd.metrics.aupro``, ``mtfcdd.metrics.image_metrics``). The
accumulator here keeps, per bin of the score axis, three numbers:

- the number of normal pixels (mask 0): the false positive rate;
- the number of defect pixels: the true positive rate of P-AUROC;
- the sum of ``1 / |r|`` over the defect pixels, ``r`` the pixel's
  8-connected region: ``R * PRO``, so AUPRO needs no per-region state
  (see ``mtfcdd.metrics.aupro``). Regions lie within one image, so their
  sizes are known when the image's batch arrives.

Bins. Heatmap scores lie in ``[0, inf)`` (pseudo-Huber, paper Eq. 1) with
no range known in advance, so the bins are the float32 numbers themselves
with the low mantissa bits dropped: the bin of a score is its float32 bit
pattern shifted right by ``23 - mantissa_bits``. This covers every float32
from 0 to the largest one with no range to choose and no first pass; each
bin spans a relative width of at most ``2 ** -mantissa_bits`` (0.049 % for
the default 11 bits, 2 ** 19 = 524,288 bins, 12 MiB per accumulator), and
scores that are equal in float32 always share a bin.

Error bound. The curve points at the bin edges are points of the exact curve
(the same pixels lie at or above the edge), so the binned area differs from
the exact one only inside each bin: by at most half the product of the
bin's share of the normal pixels (x) and of the defect pixels or region
weight (y), and by the full product over the part of the bin below the
AUPRO limit when the limit cuts it (``mtfcdd.metrics.curves.
binning_error_bound``). The accumulator reports this bound from its own
counts; a bin holding one distinct score adds to the bound but not to the
error, so the bound is conservative. Maps are rounded to float32 (the
model's output type) before binning; the bound is on the difference to the
exact metric of the float32 maps.
"""

import numpy as np

from mtfcdd.metrics.aupro import (
    DEFAULT_FPR_LIMIT,
    authors_partial_area,
    region_pixel_weights,
    validate_maps_and_masks,
)
from mtfcdd.metrics.curves import (
    binning_error_bound,
    normalized_partial_area,
    threshold_curve,
)

FLOAT32_MANTISSA_BITS = 23
DEFAULT_MANTISSA_BITS = 11
# 2 ** (8 + 16) bins would take 384 MiB per accumulator.
MAX_MANTISSA_BITS = 15


def score_bins(maps, mantissa_bits=DEFAULT_MANTISSA_BITS):
    """Bin of each score >= 0: its float32 bits >> (23 - mantissa_bits).

    The float32 bit pattern of non-negative numbers increases with the
    number, so the index is monotone in the score.
    """
    bits = np.ascontiguousarray(maps, dtype=np.float32).view(np.uint32)
    # Clearing the sign bit sends -0.0, the only negative that passes the
    # caller's check, to the bin of +0.0.
    return (bits & np.uint32(0x7FFFFFFF)) >> np.uint32(
        FLOAT32_MANTISSA_BITS - mantissa_bits
    )


class BinnedPixelScores:
    """Streaming P-AUROC and AUPRO for one heatmap channel.

    Feed batches with ``update(maps, masks)``; read ``pixel_auroc()``,
    ``aupro()``, their ``*_error_bound()`` and the curves under them
    (``roc_curve()``, ``pro_curve()``) at any time. Memory is three
    arrays of ``2 ** (8 + mantissa_bits)`` numbers, whatever the number of
    images or regions.

    Args:
        mantissa_bits: float32 mantissa bits kept in the bin index, 0 to 15;
            each bin spans a relative width of at most
            ``2 ** -mantissa_bits``.
    """

    def __init__(self, mantissa_bits=DEFAULT_MANTISSA_BITS):
        if not (
            isinstance(mantissa_bits, (int, np.integer))
            and 0 <= mantissa_bits <= MAX_MANTISSA_BITS
        ):
            raise ValueError(
                f"mantissa_bits must be an integer from 0 to "
                f"{MAX_MANTISSA_BITS}; got {mantissa_bits!r}."
            )
        self.mantissa_bits = int(mantissa_bits)
        self.num_bins = 1 << (8 + self.mantissa_bits)
        self.normal_counts = np.zeros(self.num_bins, dtype=np.int64)
        self.defect_counts = np.zeros(self.num_bins, dtype=np.int64)
        self.region_weights = np.zeros(self.num_bins, dtype=np.float64)
        self.num_regions = 0
        # The ends of the authors' AUPRO threshold grid.
        self.score_range = (np.inf, -np.inf)

    def update(self, maps, masks):
        """Add a batch of maps and their ground-truth masks.

        Args:
            maps: non-negative scores, (N, H, W) or (H, W).
            masks: masks of the same shape; any value > 0 is defect. Regions
                are the 8-connected components of each image's mask.
        """
        maps, defect_masks = validate_maps_and_masks(maps, masks)
        if not (maps >= 0).all():
            raise ValueError(
                f"maps must be non-negative (pseudo-Huber scores); got a "
                f"minimum of {maps.min()}."
            )
        bins = score_bins(maps, self.mantissa_bits)
        weights, num_regions = region_pixel_weights(defect_masks)
        defect_bins = bins[defect_masks]
        defect_counts = np.bincount(defect_bins, minlength=self.num_bins)
        # Counting all pixels then removing the few defect ones avoids
        # gathering the many normal pixels into a copy.
        self.normal_counts += (
            np.bincount(bins.ravel(), minlength=self.num_bins) - defect_counts
        )
        self.defect_counts += defect_counts
        self.region_weights += np.bincount(
            defect_bins, weights=weights, minlength=self.num_bins
        )
        self.num_regions += num_regions
        self.score_range = (
            min(self.score_range[0], float(maps.min())), max(self.score_range[1], float(maps.max()))
        )

    def _occupied(self, positive_mass):
        return (self.normal_counts > 0) | (positive_mass > 0)

    def _curve(self, positive_mass):
        occupied = self._occupied(positive_mass)
        # Highest scores first: the threshold sweeps down the bins.
        return threshold_curve(
            self.normal_counts[occupied][::-1], positive_mass[occupied][::-1]
        )

    def _curve_with_thresholds(self, positive_mass):
        """``(x, y, thresholds)``: a bin's point counts every pixel at or
        above its lower edge, which is therefore its exact threshold."""
        bins = np.flatnonzero(self._occupied(positive_mass))[::-1]
        lower_edges = (
            bins.astype(np.uint32) << np.uint32(FLOAT32_MANTISSA_BITS - self.mantissa_bits)
        ).view(np.float32)
        thresholds = np.concatenate(([np.inf], lower_edges.astype(np.float64)))
        return (*self._curve(positive_mass), thresholds)

    def roc_curve(self):
        """The pixel ROC curve: ``(false positive rates, true positive
        rates, thresholds)``, one point per occupied bin, thresholds
        decreasing (``inf`` first: no pixel called defect). Its area is
        ``pixel_auroc()``."""
        return self._curve_with_thresholds(self.defect_counts)

    def pro_curve(self):
        """The PRO curve: ``(false positive rates, per-region overlaps,
        thresholds)`` as ``roc_curve``; its area up to ``fpr_limit``,
        divided by ``fpr_limit``, is ``aupro(fpr_limit)``."""
        return self._curve_with_thresholds(self.region_weights)

    def pixel_auroc(self):
        """Pixel AUROC, tied scores within a bin counting one half."""
        return normalized_partial_area(*self._curve(self.defect_counts))

    def pixel_auroc_error_bound(self):
        """Largest difference between ``pixel_auroc()`` and the exact value."""
        return binning_error_bound(*self._curve(self.defect_counts))

    def aupro(self, fpr_limit=DEFAULT_FPR_LIMIT):
        """AUPRO up to ``fpr_limit`` (MVTec AD definition) from the bins."""
        return normalized_partial_area(
            *self._curve(self.region_weights), fpr_limit
        )

    def authors_aupro(self, fpr_limit=DEFAULT_FPR_LIMIT):
        """AUPRO integrated as the authors' ``evaluate.py`` does
        (``mtfcdd.metrics.aupro.authors_partial_area``), read from the bins:
        a grid threshold inside a bin counts that bin's pixels below it, a
        shift of at most one bin (relative width ``2 ** -mantissa_bits``)."""
        return authors_partial_area(*self.pro_curve(), self.score_range, fpr_limit)

    def aupro_error_bound(self, fpr_limit=DEFAULT_FPR_LIMIT):
        """Largest difference between ``aupro()`` and the exact value."""
        return binning_error_bound(
            *self._curve(self.region_weights), fpr_limit
        )
