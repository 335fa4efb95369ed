"""Threshold curves and their normalised partial area (paper 4.4).

P-AUROC and AUPRO are both the area under a curve swept by lowering a
threshold over the pixel scores: x is the false positive rate (the fraction
of normal pixels at or above the threshold), y is the true positive rate
(P-AUROC) or the per-region overlap (AUPRO). Both the exact metrics (one
threshold per distinct score) and the binned, streaming ones (one threshold
per bin edge) build their curve here from the mass of normal and defect pixels
at each threshold level, so the two differ only in where the thresholds lie.

A ``Curve`` is what the evaluation writes for each type and metric (CSV and
plot); ``thin_curve`` picks the few thousand points of a binned pixel curve
(up to 2 ** 19 bins) that draw it and keep its area.
"""

import dataclasses

import numpy as np

# The area of a thinned curve stays this close to the full curve's, in the
# metric's own units (0.001 percentage points).
AREA_TOLERANCE = 1e-5
# Side of thinning's grid cells: a curve keeps at most two points in each
# cell it crosses (some 4,000 points), finer than a 1,000-pixel plot shows.
THINNING_SPACING = 1e-3


@dataclasses.dataclass(frozen=True)
class Curve:
    """One type's threshold curve, the metric its area is.

    Attributes:
        x, y: 1-D float arrays, the points in order of decreasing threshold.
        thresholds: 1-D array, the threshold of each point: the point counts
            the scores ``>= threshold``; the first is ``inf`` (nothing
            called positive).
        area: the metric of the curve (``I-AUROC``, ``AP``, ``P-AUROC`` or
            ``AUPRO``, see ``mtfcdd.metrics.MultiTypeEvaluator.curves``).
    """

    x: np.ndarray
    y: np.ndarray
    thresholds: np.ndarray
    area: float


def threshold_curve(negative_mass, positive_mass):
    """Cumulative (x, y) curve from the mass at each threshold level.

    Args:
        negative_mass: 1-D array, the number (or weight) of normal pixels at
            each level, highest level first.
        positive_mass: 1-D array of the same length, the weight of defect
            pixels at each level (a pixel count for the ROC curve, ``1 /
            region size`` for the PRO curve).

    Returns:
        ``(x, y)``: arrays of length ``levels + 1`` starting at ``(0, 0)``
        (a threshold above every score) and ending at ``(1, 1)``. A level's
        point counts every pixel at or above it, so tied pixels enter the
        curve together.
    """
    negative_total = negative_mass.sum()
    positive_total = positive_mass.sum()
    if negative_total <= 0 or positive_total <= 0:
        raise ValueError(
            "a threshold curve needs normal and defect pixels; got "
            f"normal mass {negative_total} and defect mass {positive_total}."
        )
    # Dividing by the sums (not by a count kept aside) makes the curve end at
    # exactly (1, 1) despite rounding in the cumulative sums.
    x = np.concatenate(([0.0], np.cumsum(negative_mass) / negative_total))
    y = np.concatenate(([0.0], np.cumsum(positive_mass) / positive_total))
    return x, y


def normalized_partial_area(x, y, x_limit=1.0):
    """Trapezoidal area under ``y(x)`` on ``[0, x_limit]``, over ``x_limit``.

    The curve's value at exactly ``x_limit`` is interpolated linearly between
    the last point at or below the limit and the first point above it, as the
    MVTec AD evaluation code does.

    Args:
        x: non-decreasing 1-D array starting at 0 and ending at 1.
        y: 1-D array of the same length.
        x_limit: upper integration limit in ``(0, 1]``.
    """
    if not 0 < x_limit <= 1:
        raise ValueError(
            f"the false positive rate limit must be in (0, 1]; got {x_limit}."
        )
    # Points beyond the first one above the limit do not change the area.
    end = int(np.searchsorted(x, x_limit, side="right"))
    x, y = x[: end + 1], y[: end + 1]
    if x[-1] > x_limit:
        fraction = (x_limit - x[-2]) / (x[-1] - x[-2])
        y = np.concatenate((y[:-1], [y[-2] + fraction * (y[-1] - y[-2])]))
        x = np.concatenate((x[:-1], [x_limit]))
    area = np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x))
    return float(area / x_limit)


def binning_error_bound(x, y, x_limit=1.0):
    """Largest error of ``normalized_partial_area`` from merged thresholds.

    When the curve is only known at some thresholds (bin edges), the exact
    curve between two known points ``(x0, y0)`` and ``(x1, y1)`` is monotone,
    so it stays in the box they span. Its area over ``[x0, x1]`` then differs
    from the chord's by at most ``(x1 - x0) (y1 - y0) / 2``; over a part
    ``[x0, x_limit]`` of a box that the limit cuts, by at most
    ``(x_limit - x0) (y1 - y0)``. The bound is the sum over the boxes below
    the limit, divided by ``x_limit`` like the area.
    """
    x_start, x_end = x[:-1], x[1:]
    height = np.diff(y)
    inside = x_end <= x_limit
    cut = (x_start < x_limit) & ~inside
    error = 0.5 * np.sum((x_end - x_start)[inside] * height[inside])
    error += np.sum((x_limit - x_start[cut]) * height[cut])
    return float(error / x_limit)


def thin_curve(x, y, x_limit=1.0, tolerance=AREA_TOLERANCE, spacing=THINNING_SPACING):
    """Indices of the points of a monotone curve that draw it and keep its area.

    The plane is cut into square cells of side ``spacing``; of each run of
    consecutive points in one cell, the first and the last are kept (and
    the curve's two ends). Dropped points lie within a cell of the chord
    that replaces them, so the curve looks the same at any plot size up to
    ``1 / spacing`` pixels. If the kept points' ``normalized_partial_area``
    up to ``x_limit`` differs from the full curve's by more than
    ``tolerance``, a finer grid is tried, down to every point.

    Args:
        x, y: 1-D arrays of the curve's points, both non-decreasing.
        x_limit: the area's upper limit (0.3 for the PRO curve).
        tolerance: largest difference of the two areas.
        spacing: side of the first grid's cells.

    Returns:
        Sorted indices into ``x`` and ``y``.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    area = normalized_partial_area(x, y, x_limit)
    while spacing > np.finfo(np.float64).eps:
        cells = np.floor(np.stack([x, y], axis=1) / spacing)
        new_cell = np.any(cells[1:] != cells[:-1], axis=1)
        keep = np.ones(len(x), dtype=bool)
        # The first point of a run follows a change; the last precedes one.
        keep[1:-1] = new_cell[:-1] | new_cell[1:]
        indices = np.flatnonzero(keep)
        if abs(normalized_partial_area(x[indices], y[indices], x_limit) - area) <= tolerance:
            return indices
        spacing /= 4
    return np.arange(len(x))
