"""AUPRO, the area under the per-region-overlap curve (paper 4.4, MVTec AD).

Every ground-truth mask is split into connected regions (8-connectivity).
For a threshold ``t`` the overlap of region ``r`` is the fraction of its
pixels with score ``>= t``; PRO(t) is the mean overlap over all regions of
all images, and FPR(t) the fraction of all normal pixels (mask 0, in every
image given, normal images included) with score ``>= t``. AUPRO integrates
PRO over FPR from 0 to ``fpr_limit`` (0.3) with the trapezoidal rule, the end
point interpolated linearly at exactly ``fpr_limit``, and divides by
``fpr_limit``.

Every region weighs the same whatever its size: a pixel of region ``r``
adds ``1 / |r|`` to the region's overlap. Summing those weights over all
defect pixels gives ``R * PRO(t)`` for ``R`` regions, which is how both the
exact metric here and the streaming one (``mtfcdd.metrics.streaming``)
compute PRO without keeping regions apart.

``authors_aupro`` is the integration of the authors' published
``evaluate.py`` (``--aupro authors``): the PRO curve read at 1,000 equally
spaced thresholds from the smallest to the largest score, stopped at the
first point with FPR >= ``fpr_limit`` (that point kept, not interpolated),
its trapezoidal area divided by ``fpr_limit`` and clipped to [0, 1]. The
overshoot past the limit adds area, up to ``FPR / fpr_limit`` times the
last PRO when the grid jumps far past it, which the clipping then caps at 1
(docs/evaluation.md).
"""

import numpy as np
from scipy import ndimage

from mtfcdd.metrics.curves import normalized_partial_area, threshold_curve

# Regions of one image never touch another image's: the 3-D structure
# connects the 8 neighbours within a mask and nothing across the batch axis.
_EIGHT_CONNECTIVITY = np.zeros((3, 3, 3), dtype=bool)
_EIGHT_CONNECTIVITY[1] = True

DEFAULT_FPR_LIMIT = 0.3
# The authors' evaluate.py: np.linspace(min, max, num_steps=1000).
AUTHORS_NUM_THRESHOLDS = 1000


def validate_maps_and_masks(maps, masks):
    """Return ``maps`` and ``masks > 0`` as arrays of shape (N, H, W).

    A single (H, W) map and mask are taken as a batch of one.
    """
    maps = np.asarray(maps)
    masks = np.asarray(masks)
    if maps.shape != masks.shape or maps.ndim not in (2, 3):
        raise ValueError(
            "maps and masks must have the same shape, (N, H, W) or (H, W); "
            f"got maps {maps.shape} and masks {masks.shape}."
        )
    if not np.issubdtype(maps.dtype, np.number):
        raise ValueError(f"maps must be numeric; got dtype {maps.dtype}.")
    if maps.ndim == 2:
        maps, masks = maps[None], masks[None]
    if not np.isfinite(maps).all():
        raise ValueError("maps must be finite; got NaN or infinity.")
    return maps, masks > 0


def region_pixel_weights(defect_masks):
    """Weight ``1 / |r|`` of each defect pixel, by 8-connected region ``r``.

    Args:
        defect_masks: boolean array (N, H, W); True marks defect pixels.

    Returns:
        ``(weights, num_regions)``: ``weights`` is a float64 array holding
        the weight of each defect pixel in the order of
        ``defect_masks[defect_masks]``; ``num_regions`` is the number of
        regions in the batch.
    """
    # Labelling only the images with defects keeps the pixel order of
    # defect_masks[defect_masks] and skips the many normal images.
    defective_images = defect_masks[defect_masks.any(axis=(1, 2))]
    region_ids, num_regions = ndimage.label(
        defective_images, structure=_EIGHT_CONNECTIVITY
    )
    defect_region_ids = region_ids[defective_images]
    region_sizes = np.bincount(defect_region_ids, minlength=num_regions + 1)
    return 1.0 / region_sizes[defect_region_ids], num_regions


def pro_curve(masks, maps):
    """The exact (FPR, PRO) curve, one point per distinct score.

    Args:
        masks: ground-truth masks (N, H, W) or (H, W); any value > 0 is
            defect.
        maps: anomaly maps of the same shape.

    Returns:
        ``(fpr, pro)``: 1-D arrays from ``(0, 0)`` to ``(1, 1)``,
        thresholds in decreasing order.
    """
    return pro_curve_with_thresholds(masks, maps)[:2]


def pro_curve_with_thresholds(masks, maps):
    """``pro_curve`` and the threshold of each point: ``(fpr, pro,
    thresholds)``, the first threshold ``inf``, then every distinct score
    in decreasing order (a point counts the scores ``>= threshold``)."""
    maps, defect_masks = validate_maps_and_masks(maps, masks)
    weights, num_regions = region_pixel_weights(defect_masks)
    if num_regions == 0:
        raise ValueError(
            "masks contain no defect pixel, so PRO is undefined; "
            "at least one mask must have a value > 0."
        )
    if defect_masks.all():
        raise ValueError(
            "masks contain no normal pixel (value 0), so the false positive "
            "rate is undefined."
        )
    # One level per distinct score: tied pixels cross every threshold together.
    levels, level_of_pixel = np.unique(maps, return_inverse=True)
    level_of_pixel = level_of_pixel.reshape(maps.shape)
    negative_mass = np.bincount(
        level_of_pixel[~defect_masks], minlength=len(levels)
    )
    positive_mass = np.bincount(
        level_of_pixel[defect_masks], weights=weights, minlength=len(levels)
    )
    thresholds = np.concatenate(([np.inf], levels[::-1].astype(np.float64)))
    return (*threshold_curve(negative_mass[::-1], positive_mass[::-1]), thresholds)


def aupro(masks, maps, fpr_limit=DEFAULT_FPR_LIMIT):
    """Exact normalised area under the PRO curve up to ``fpr_limit``.

    Args:
        masks: ground-truth masks (N, H, W) or (H, W); any value > 0 is
            defect. Normal images (all-zero masks) contribute normal pixels.
        maps: anomaly maps of the same shape, any finite values.
        fpr_limit: upper false positive rate of the integration, in (0, 1].

    Returns:
        AUPRO in [0, 1].
    """
    fpr, pro = pro_curve(masks, maps)
    return normalized_partial_area(fpr, pro, fpr_limit)


def authors_aupro(masks, maps, fpr_limit=DEFAULT_FPR_LIMIT):
    """AUPRO as the authors' ``evaluate.py`` integrates it (module docstring).

    Args:
        masks, maps, fpr_limit: as for ``aupro``.

    Returns:
        The clipped area, in [0, 1].
    """
    maps = np.asarray(maps)
    fpr, pro, thresholds = pro_curve_with_thresholds(masks, maps)
    return authors_partial_area(fpr, pro, thresholds, (float(maps.min()), float(maps.max())), fpr_limit)


def authors_partial_area(fpr, pro, thresholds, score_range, fpr_limit=DEFAULT_FPR_LIMIT):
    """The authors' AUPRO from a PRO curve known at ``thresholds``.

    Each of the ``AUTHORS_NUM_THRESHOLDS`` grid thresholds ``t``, highest
    first, reads the curve point with the lowest threshold still ``>= t``:
    the exact point when ``thresholds`` are every distinct score
    (``pro_curve_with_thresholds``); with the bin edges of
    ``mtfcdd.metrics.streaming``, the pixels of the bin that holds ``t`` are
    counted below it.

    Args:
        fpr, pro: the curve, thresholds decreasing.
        thresholds: the threshold of each point, ``inf`` first.
        score_range: ``(smallest, largest)`` score, the grid's ends.
        fpr_limit: the FPR at which the sweep stops.
    """
    if not 0 < fpr_limit <= 1:
        raise ValueError(f"the false positive rate limit must be in (0, 1]; got {fpr_limit}.")
    grid = np.linspace(*score_range, AUTHORS_NUM_THRESHOLDS)[::-1]
    points = np.searchsorted(-np.asarray(thresholds), -grid, side="right") - 1
    grid_fpr, grid_pro = fpr[points], pro[points]
    # The sweep stops after the first point at or past the limit, keeping it.
    past_limit = np.flatnonzero(grid_fpr >= fpr_limit)
    end = past_limit[0] + 1 if len(past_limit) else len(grid)
    grid_fpr, grid_pro = grid_fpr[:end], grid_pro[:end]
    if grid_fpr.max() <= 0:
        return 0.0
    area = np.sum(0.5 * (grid_pro[1:] + grid_pro[:-1]) * np.diff(grid_fpr)) / fpr_limit
    return float(np.clip(area, 0.0, 1.0))
