import json

import numpy as np
import pytest
from scipy import ndimage
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from mtfcdd.metrics import (
    BinnedPixelScores,
    MultiTypeEvaluator,
    aupro,
    auroc,
    average_precision,
    f1_max,
    macro_f1,
    type_confusion_matrix,
)
from mtfcdd.metrics.aupro import authors_aupro, region_pixel_weights
from mtfcdd.metrics.streaming import score_bins

# ---------------------------------------------------------------- image level


def brute_force_f1_max(labels, scores):
    best = 0.0
    for threshold in np.unique(scores):
        predicted = scores >= threshold
        true_positives = np.sum(predicted & (labels == 1))
        if true_positives:
            precision = true_positives / predicted.sum()
            recall = true_positives / labels.sum()
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def test_image_metrics_hand_case():
    labels = np.array([1, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    # Positive/negative pairs ranked right: (.9,.8) (.9,.1) (.7,.1) of 4.
    assert auroc(labels, scores) == pytest.approx(3 / 4)
    # Recall 1/2 at precision 1, then recall 1 at precision 2/3.
    expected_average_precision = 0.5 * 1 + 0.5 * 2 / 3
    assert average_precision(labels, scores) == pytest.approx(
        expected_average_precision
    )
    # Best threshold 0.7: precision 2/3, recall 1.
    assert f1_max(labels, scores) == pytest.approx(0.8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_image_metrics_match_sklearn_and_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    labels = (rng.random(200) < 0.3).astype(int)
    scores = np.round(rng.random(200) + 0.4 * labels, 1)  # many ties
    assert auroc(labels, scores) == pytest.approx(
        roc_auc_score(labels, scores)
    )
    assert average_precision(labels, scores) == pytest.approx(
        average_precision_score(labels, scores)
    )
    assert f1_max(labels, scores) == pytest.approx(
        brute_force_f1_max(labels, scores)
    )


@pytest.mark.parametrize(
    "labels, scores, message",
    [
        ([0, 1, 1], [0.1, 0.2], "same length"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "binary"),
        ([1, 1, 1], [0.1, 0.2, 0.3], "no negative"),
        ([0, 0, 0], [0.1, 0.2, 0.3], "no positive"),
        ([0, 1, 1], [0.1, np.nan, 0.3], "finite"),
        ([[0, 1]], [[0.1, 0.2]], "1-D"),
    ],
)
def test_image_metrics_reject_bad_input(labels, scores, message):
    for metric in (auroc, average_precision, f1_max):
        with pytest.raises(ValueError, match=message):
            metric(labels, scores)


# ---------------------------------------------------------------- exact AUPRO


def test_aupro_perfect_map_is_one():
    masks = np.zeros((2, 8, 8))
    masks[0, 2:5, 2:5] = 255
    maps = masks / 255.0
    assert aupro(masks, maps) == 1.0


def test_aupro_normal_pixels_ranked_first_is_zero():
    masks = np.zeros((1, 8, 8), dtype=bool)
    masks[0, 2:5, 2:5] = True
    maps = np.where(masks, 0.0, 1.0)
    assert aupro(masks, maps) == 0.0


def test_aupro_weights_regions_not_pixels():
    # Region A: 1 pixel ranked first. Region B: 3 pixels (row 2) ranked
    # last, below all normal pixels. PRO = (1 + 0) / 2 on FPR [0, 1), so
    # AUPRO = 0.5; weighting by pixels would give 1/4.
    normal = np.arange(10, 0, -1.0)
    maps = np.full((1, 3, 10), 5.0)
    masks = np.zeros((1, 3, 10), dtype=bool)
    maps[0, 0] = normal
    maps[0, 1, 0], masks[0, 1, 0] = 100.0, True
    maps[0, 2, 5:8], masks[0, 2, 5:8] = -1.0, True
    assert aupro(masks, maps) == pytest.approx(0.5)


def test_aupro_regions_are_8_connected():
    # Pixel (0, 0) touches (1, 1) diagonally: one region of 3 pixels
    # {(0,0), (1,1), (1,2)}. Only (0, 0) is ranked above the normal pixels:
    # PRO = 1/3 (it would be 1/2 with 4-connectivity: regions of 1 and 2).
    maps = np.zeros((1, 4, 6))
    masks = np.zeros((1, 4, 6), dtype=bool)
    maps[0, 0, 0], masks[0, 0, 0] = 10.0, True
    masks[0, 1, 1:3] = True
    maps[0, 1, 1:3] = -1.0
    maps[0, 3] = np.arange(1.0, 7.0)  # normal pixels between the two
    assert aupro(masks, maps) == pytest.approx(1 / 3)


def test_aupro_tie_and_interpolation_at_limit():
    # 10 normal pixels with scores 10..1; a 1-pixel region tied with the
    # normal pixel at 8; another 1-pixel region below everything.
    # Points: (0,0) (.1,0) (.2,0) (.3,.5) (.4,.5) ... (1,.5) (1,1).
    maps = np.zeros((1, 3, 10))
    masks = np.zeros((1, 3, 10), dtype=bool)
    maps[0, 0] = np.arange(10, 0, -1.0)
    maps[0, 1:] = -2.0  # remaining normal pixels enter last, at FPR 1
    maps[0, 1, 0], masks[0, 1, 0] = 8.0, True
    maps[0, 2, 5], masks[0, 2, 5] = -5.0, True
    # The tie moves the curve diagonally from (.2, 0) to (.3, .5).
    normal_count = 30 - 2
    fpr_at = np.array([1, 2, 3]) / normal_count
    # Area up to FPR 3/28 (the tie's point): triangle 0.5 * (1/28) * 0.5.
    expected = 0.5 * (fpr_at[2] - fpr_at[1]) * 0.5 / fpr_at[2]
    assert aupro(masks, maps, fpr_limit=fpr_at[2]) == pytest.approx(expected)
    # Limit halfway along the diagonal: PRO interpolated to 0.25 there.
    limit = (fpr_at[1] + fpr_at[2]) / 2
    expected = 0.5 * (limit - fpr_at[1]) * 0.25 / limit
    assert aupro(masks, maps, fpr_limit=limit) == pytest.approx(expected)
    # Default 0.3: triangle, then PRO 0.5 from 3/28 to 0.3.
    expected = (0.5 * (1 / 28) * 0.5 + 0.5 * (0.3 - 3 / 28)) / 0.3
    assert aupro(masks, maps) == pytest.approx(expected)


def test_aupro_counts_normal_images_in_fpr():
    # Image 0: one defect pixel (score 5), three normal pixels (score 1).
    # Image 1 (normal): two pixels at 9, two at 0. FPR reaches 2/7 before
    # any region pixel: PRO = 1 only on [2/7, 0.3] -> (0.3 - 2/7) / 0.3.
    maps = np.array([[[5.0, 1.0], [1.0, 1.0]], [[9.0, 9.0], [0.0, 0.0]]])
    masks = np.array([[[1, 0], [0, 0]], [[0, 0], [0, 0]]])
    assert aupro(masks, maps) == pytest.approx(1 / 21)
    assert aupro(masks[:1], maps[:1]) == 1.0


def test_regions_do_not_connect_across_images():
    masks = np.zeros((2, 5, 5), dtype=bool)
    masks[:, 2, 2] = True
    masks[1, 0, 0:3] = True
    weights, num_regions = region_pixel_weights(masks)
    assert num_regions == 3
    np.testing.assert_allclose(weights, [1, 1 / 3, 1 / 3, 1 / 3, 1])


def brute_force_aupro(masks, maps, fpr_limit):
    """Per-threshold loop over regions, MVTec AD's curve and trapezoid."""
    region_scores = []  # the scores of each region's pixels
    for mask, image_map in zip(masks, maps):
        labelled, count = ndimage.label(mask > 0, structure=np.ones((3, 3)))
        region_scores += [
            image_map[labelled == region] for region in range(1, count + 1)
        ]
    normal_scores = maps[masks == 0]
    fprs, pros = [0.0], [0.0]
    for threshold in np.unique(maps)[::-1]:
        fprs.append(np.mean(normal_scores >= threshold))
        pros.append(
            np.mean([np.mean(scores >= threshold) for scores in region_scores])
        )
    fprs, pros = np.array(fprs), np.array(pros)
    inside = fprs <= fpr_limit
    x, y = fprs[inside], pros[inside]
    area = np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2)
    after = np.argmax(fprs > fpr_limit)
    before = after - 1
    slope = (pros[after] - pros[before]) / (fprs[after] - fprs[before])
    pro_at_limit = pros[before] + slope * (fpr_limit - fprs[before])
    area += 0.5 * (pros[before] + pro_at_limit) * (fpr_limit - fprs[before])
    return area / fpr_limit


def random_maps_and_masks(rng, images=6, size=24, decimals=None):
    masks = np.zeros((images, size, size), dtype=np.uint8)
    for image in range(images - 2):  # the last two images stay normal
        for _ in range(rng.integers(1, 4)):
            row, column = rng.integers(0, size - 4, 2)
            height, width = rng.integers(1, 6, 2)
            masks[image, row : row + height, column : column + width] = 1
    maps = rng.gamma(2.0, 0.5, masks.shape)
    maps += 1.5 * masks * rng.random(masks.shape)
    if decimals is not None:
        maps = np.round(maps, decimals)
    return maps.astype(np.float32), masks


@pytest.mark.parametrize("seed, decimals", [(0, None), (1, 1), (2, 2)])
def test_aupro_matches_brute_force(seed, decimals):
    rng = np.random.default_rng(seed)
    maps, masks = random_maps_and_masks(rng, 3, 12, decimals)
    assert aupro(masks, maps, 0.3) == pytest.approx(
        brute_force_aupro(masks, maps, 0.3)
    )


def test_aupro_rejects_bad_input():
    maps = np.random.default_rng(0).random((2, 8, 8))
    masks = np.zeros((2, 8, 8))
    with pytest.raises(ValueError, match="same shape"):
        aupro(masks[:, :4], maps)
    with pytest.raises(ValueError, match="no defect pixel"):
        aupro(masks, maps)
    with pytest.raises(ValueError, match="no normal pixel"):
        aupro(np.ones_like(masks), maps)
    masks[0, 1, 1] = 1
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        aupro(masks, maps, fpr_limit=0)
    with pytest.raises(ValueError, match="finite"):
        aupro(masks, np.where(masks > 0, np.nan, maps))


# ------------------------------------------------- the authors' AUPRO


def test_authors_aupro_hand_case_overshoot_and_clipping():
    """One 1x6 image, mask 101000: two one-pixel regions (pixels 0 and 2),
    four normal pixels. The grid runs from the smallest score 0 to the
    largest 3.

    Maps 3, 2, 0, 1, 0, 0: the grid sees PRO 0.5 at FPR 0 (t > 2), 0.25
    (1 < t <= 2), then 0.5 (t <= 1), past 0.3: the sweep stops there,
    keeping it. Area 0.5 * 0.5 / 0.3 = 5/6. MVTec AD's curve rises from
    (0, 0) and stops at 0.3: 0.5 * 0.3 / 0.3 = 0.5.

    Maps 3, 2, 1.5, 1, 0, 0: PRO 0.5 up to FPR 0.25, then 1 (1.5 enters) at
    0.25, then the overshoot to FPR 0.5: area (0.5 * 0.25 + 1 * 0.25) / 0.3
    = 1.25, clipped to 1. MVTec AD: (0.125 + 0.05) / 0.3 = 7/12.
    """
    masks = np.array([[[1, 0, 1, 0, 0, 0]]])
    overshoot = np.array([[[3, 2, 0, 1, 0, 0]]], dtype=np.float32)
    assert authors_aupro(masks, overshoot) == pytest.approx(5 / 6)
    assert aupro(masks, overshoot) == pytest.approx(0.5)
    clipped = np.array([[[3, 2, 1.5, 1, 0, 0]]], dtype=np.float32)
    assert authors_aupro(masks, clipped) == 1.0
    assert aupro(masks, clipped) == pytest.approx(7 / 12)


def loop_authors_aupro(masks, maps, fpr_limit):
    """The authors' loop, written out: every grid threshold, highest first."""
    region_scores = []
    for mask, image_map in zip(masks, maps):
        labelled, count = ndimage.label(mask > 0, structure=np.ones((3, 3)))
        region_scores += [image_map[labelled == region] for region in range(1, count + 1)]
    normal_scores = maps[masks == 0]
    fprs, pros = [], []
    for threshold in np.linspace(maps.min(), maps.max(), 1000)[::-1]:
        fprs.append(np.mean(normal_scores >= threshold))
        pros.append(np.mean([np.mean(scores >= threshold) for scores in region_scores]))
        if fprs[-1] >= fpr_limit:
            break
    fprs, pros = np.array(fprs), np.array(pros)
    area = np.sum((fprs[1:] - fprs[:-1]) * (pros[1:] + pros[:-1]) / 2) / fpr_limit
    return min(max(area, 0.0), 1.0)


@pytest.mark.parametrize("seed, decimals", [(0, None), (1, 1), (2, 2)])
def test_authors_aupro_matches_their_loop_and_streams(seed, decimals):
    rng = np.random.default_rng(seed)
    maps, masks = random_maps_and_masks(rng, 6, 24, decimals)
    expected = loop_authors_aupro(masks, maps, 0.3)
    assert authors_aupro(masks, maps) == pytest.approx(expected)
    binned = BinnedPixelScores()
    binned.update(maps[:3], masks[:3])
    binned.update(maps[3:], masks[3:])
    # A grid threshold inside a bin counts the bin below it: a small shift.
    assert binned.authors_aupro() == pytest.approx(expected, abs=0.01)


def test_evaluator_aupro_option():
    masks = np.array([[[0, 0, 0, 0, 0, 0]], [[1, 0, 1, 0, 0, 0]]])
    maps = np.array([[[0, 0, 0, 0, 0, 0]], [[3, 2, 1.5, 1, 0, 0]]], dtype=np.float32)[..., None]
    labels = np.array([[0], [1]])
    results = {}
    for integration in ("exact", "authors"):
        evaluator = MultiTypeEvaluator(("A",), aupro=integration)
        evaluator.update(maps.max(axis=(1, 2)), maps, labels, masks)
        results[integration] = evaluator.result()
        assert results[integration]["aupro"] == integration
    # Ten normal pixels: FPR 0.1 at t = 2, 0.2 at t = 1, 1 at t = 0.
    # Exact: (0.5 * 0.1 + 1 * 0.1 + 1 * 0.1) / 0.3 = 5/6. Authors: the
    # overshoot to FPR 1 adds 0.8 under PRO 1: clipped to 1.
    assert results["exact"]["metrics"]["A"]["AUPRO"] == pytest.approx(5 / 6)
    assert results["authors"]["metrics"]["A"]["AUPRO"] == 1.0
    assert results["authors"]["error_bounds"]["A"]["AUPRO"] is None
    with pytest.raises(ValueError, match="aupro must be one of"):
        MultiTypeEvaluator(("A",), aupro="trapezoid")


# ---------------------------------------------------------------- streaming


@pytest.mark.parametrize(
    "seed, decimals", [(0, None), (1, None), (2, 1), (3, 2), (4, 3)]
)
def test_streaming_matches_exact_within_bound(seed, decimals):
    rng = np.random.default_rng(seed)
    maps, masks = random_maps_and_masks(rng, 12, 40, decimals)
    binned = BinnedPixelScores()
    for start in range(0, len(maps), 5):  # batches of unequal size
        binned.update(maps[start : start + 5], masks[start : start + 5])
    exact_pixel_auroc = roc_auc_score(masks.ravel(), maps.ravel())
    exact_aupro = aupro(masks, maps)
    assert abs(binned.pixel_auroc() - exact_pixel_auroc) < 0.002
    assert abs(binned.aupro() - exact_aupro) < 0.002
    assert abs(binned.pixel_auroc() - exact_pixel_auroc) <= (
        binned.pixel_auroc_error_bound() + 1e-12
    )
    assert abs(binned.aupro() - exact_aupro) <= (
        binned.aupro_error_bound() + 1e-12
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coarse_bins_stay_within_reported_bound(seed):
    rng = np.random.default_rng(seed)
    maps, masks = random_maps_and_masks(rng, images=8, size=32)
    binned = BinnedPixelScores(mantissa_bits=1)
    binned.update(maps, masks)
    for binned_value, bound, exact in (
        (binned.pixel_auroc(), binned.pixel_auroc_error_bound(),
         roc_auc_score(masks.ravel(), maps.ravel())),
        (binned.aupro(0.3), binned.aupro_error_bound(0.3), aupro(masks, maps)),
    ):
        assert 0 < abs(binned_value - exact) <= bound + 1e-12


def test_score_bins_are_monotone_with_bounded_relative_width():
    values = np.concatenate(([0.0, -0.0], np.geomspace(1e-30, 1e30, 50000)))
    bins = score_bins(values, mantissa_bits=11)
    assert bins[0] == bins[1] == 0  # -0.0 and 0.0 share the bottom bin
    assert np.all(np.diff(bins.astype(np.int64)) >= 0)
    # Values more than a factor 1 + 2**-11 apart never share a bin.
    ratio = values[2:] / values[2:][np.searchsorted(bins[2:], bins[2:])]
    assert ratio.max() < 1 + 2.0**-11


def test_streaming_rejects_negative_maps_and_bad_resolution():
    binned = BinnedPixelScores()
    with pytest.raises(ValueError, match="non-negative"):
        binned.update(-np.ones((1, 4, 4)), np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="mantissa_bits"):
        BinnedPixelScores(mantissa_bits=16)


# ---------------------------------------------------------------- evaluator


def random_test_set(rng, images=30, types=3, size=20):
    labels = np.zeros((images, types), dtype=int)
    type_of_image = rng.integers(-1, types, images)  # -1: normal
    type_of_image[:types + 1] = np.arange(-1, types)  # every type present
    labels[type_of_image >= 0, type_of_image[type_of_image >= 0]] = 1
    masks = np.zeros((images, size, size), dtype=np.uint8)
    maps = rng.gamma(2.0, 0.3, (images, size, size, types)).astype(np.float32)
    for image in np.flatnonzero(type_of_image >= 0):
        row, column = rng.integers(0, size - 6, 2)
        masks[image, row : row + rng.integers(1, 6), column : column + 5] = 255
        # Every channel lights up on the defect, so images of other types
        # would change type k's pixel metrics if they were wrongly included.
        maps[image] += 2.0 * (masks[image, ..., None] > 0) * rng.random(types)
    scores = maps.mean(axis=(1, 2)) + labels * rng.random((images, types))
    return scores, maps, labels, masks


def test_evaluator_follows_the_per_type_protocol():
    rng = np.random.default_rng(7)
    scores, maps, labels, masks = random_test_set(rng)
    evaluator = MultiTypeEvaluator(("A", "B", "C"))
    for start in range(0, len(scores), 8):
        batch = slice(start, start + 8)
        evaluator.update(
            scores[batch], maps[batch], labels[batch], masks[batch]
        )
    result = evaluator.result()
    normal = labels.sum(axis=1) == 0
    for channel, code in enumerate("ABC"):
        metrics = result["metrics"][code]
        # Image level: every image counts, other types as negatives.
        assert metrics["I-AUROC"] == pytest.approx(
            roc_auc_score(labels[:, channel], scores[:, channel])
        )
        assert metrics["AP"] == pytest.approx(
            average_precision_score(labels[:, channel], scores[:, channel])
        )
        assert metrics["F1-max"] == pytest.approx(
            brute_force_f1_max(labels[:, channel], scores[:, channel])
        )
        # Pixel level: normal images and type-k images only.
        taking_part = normal | (labels[:, channel] == 1)
        channel_maps = maps[taking_part, ..., channel]
        exact_pixel_auroc = roc_auc_score(
            masks[taking_part].ravel() > 0, channel_maps.ravel()
        )
        exact_aupro = aupro(masks[taking_part], channel_maps)
        assert abs(metrics["P-AUROC"] - exact_pixel_auroc) < 0.002
        assert abs(metrics["AUPRO"] - exact_aupro) < 0.002
        all_images_aupro = aupro(
            np.where(labels[:, channel, None, None] == 1, masks, 0),
            maps[..., channel],
        )
        assert abs(metrics["AUPRO"] - all_images_aupro) > 0.01
        # One rectangle per defective image: one region each.
        regions = result["counts"][code]["regions"]
        assert regions == labels[:, channel].sum()
    for name in ("I-AUROC", "AP", "F1-max", "P-AUROC", "AUPRO"):
        assert result["metrics"]["Mean"][name] == pytest.approx(
            np.mean([result["metrics"][code][name] for code in "ABC"])
        )
    confusion = np.array(result["type_classification"]["confusion_matrix"])
    assert confusion.sum() == (~normal).sum()
    assert json.loads(json.dumps(result)) == result


def test_pixel_protocols_hand_case():
    """Two types, three 1x4 images: normal, type A (mask 1100), type B
    (mask 0011); each mask is one region.

    Per-type: channel A sees images 0 and 1, channel B images 0 and 2; each
    ranks its own defect pixels above every normal pixel: P-AUROC = AUPRO = 1.

    Authors: both channels see all three images against both masks.
    Channel A: positives 5, 3 (image 1) and 0, 1.5 (image 2), negatives six
    1s and two 2s. P-AUROC = (8 + 8 + 0 + 6) / 32 = 0.6875. PRO: 0.5 (region
    1 in full) up to FPR 0.25 (the two 2s), then 0.75 (1.5 enters):
    AUPRO = (0.5 * 0.25 + 0.75 * 0.05) / 0.3 = 13/24.
    Channel B: positives 3, 0 (image 1) and 2, 1 (image 2), negatives eight
    0s. P-AUROC = (8 + 4 + 8 + 8) / 32 = 0.875 (the 0 ties all eight).
    PRO: 0.75 at FPR 0, then the tied 0s move it linearly to (1, 1):
    AUPRO = (0.75 * 0.3 + 0.25 * 0.3 ** 2 / 2) / 0.3 = 0.7875.
    """
    labels = np.array([[0, 0], [1, 0], [0, 1]])
    masks = np.array([[[0, 0, 0, 0]], [[1, 1, 0, 0]], [[0, 0, 1, 1]]])
    maps = np.stack([
        [[[1, 1, 1, 1]], [[5, 3, 1, 1]], [[2, 2, 0, 1.5]]],  # channel A
        [[[0, 0, 0, 0]], [[3, 0, 0, 0]], [[0, 0, 2, 1]]],    # channel B
    ], axis=-1).astype(np.float32)
    scores = maps.mean(axis=(1, 2))
    results = {}
    for protocol in ("per-type", "authors"):
        evaluator = MultiTypeEvaluator(("A", "B"), pixel_protocol=protocol)
        evaluator.update(scores, maps, labels, masks)
        results[protocol] = evaluator.result()
        assert results[protocol]["pixel_protocol"] == protocol
    per_type, authors = (results[name]["metrics"] for name in ("per-type", "authors"))
    for code in "AB":
        assert per_type[code]["P-AUROC"] == pytest.approx(1.0)
        assert per_type[code]["AUPRO"] == pytest.approx(1.0)
        assert authors[code]["I-AUROC"] == per_type[code]["I-AUROC"]
    assert authors["A"]["P-AUROC"] == pytest.approx(0.6875)
    assert authors["A"]["AUPRO"] == pytest.approx(13 / 24)
    assert authors["B"]["P-AUROC"] == pytest.approx(0.875)
    assert authors["B"]["AUPRO"] == pytest.approx(0.7875)
    assert authors["Mean"]["P-AUROC"] == pytest.approx((0.6875 + 0.875) / 2)
    assert results["authors"]["counts"]["A"]["regions"] == 2
    assert results["per-type"]["counts"]["A"]["regions"] == 1
    with pytest.raises(ValueError, match="pixel_protocol"):
        MultiTypeEvaluator(("A",), pixel_protocol="union")


def test_evaluator_single_channel_is_any_defect():
    rng = np.random.default_rng(3)
    scores, maps, labels, masks = random_test_set(rng, images=16, types=1)
    evaluator = MultiTypeEvaluator(("ANY",))
    evaluator.update(scores, maps, labels, masks)
    result = evaluator.result()
    assert result["metrics"]["ANY"]["I-AUROC"] == pytest.approx(
        roc_auc_score(labels[:, 0], scores[:, 0])
    )
    exact_aupro = aupro(masks, maps[..., 0])
    assert abs(result["metrics"]["ANY"]["AUPRO"] - exact_aupro) < 0.002
    assert "type_classification" not in result


def test_evaluator_leaves_undefined_types_out_of_the_mean():
    rng = np.random.default_rng(5)
    scores, maps, labels, masks = random_test_set(rng, images=12, types=3)
    keep = labels[:, 2] == 0  # no image of type C
    evaluator = MultiTypeEvaluator(("A", "B", "C"))
    evaluator.update(scores[keep], maps[keep], labels[keep], masks[keep])
    result = evaluator.result()
    assert result["metrics"]["C"]["I-AUROC"] is None
    assert result["metrics"]["C"]["AUPRO"] is None
    assert result["types_in_mean"]["AUPRO"] == ["A", "B"]
    assert result["metrics"]["Mean"]["I-AUROC"] == pytest.approx(
        np.mean([result["metrics"][code]["I-AUROC"] for code in "AB"])
    )


def test_evaluator_rejects_bad_batches():
    rng = np.random.default_rng(1)
    scores, maps, labels, masks = random_test_set(rng, images=8, types=2)
    evaluator = MultiTypeEvaluator(("A", "B"))
    with pytest.raises(ValueError, match="call update"):
        evaluator.result()
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        evaluator.update(scores[:, :1], maps, labels, masks)
    with pytest.raises(ValueError, match="maps must have shape"):
        evaluator.update(scores, maps[..., :1], labels, masks)
    two_types = labels.copy()
    two_types[0] = 1
    with pytest.raises(ValueError, match="at most one defect type"):
        evaluator.update(scores, maps, two_types, masks)
    normal_with_mask = masks.copy()
    normal_with_mask[labels.sum(axis=1) == 0, 0, 0] = 1
    with pytest.raises(ValueError, match="must have empty masks"):
        evaluator.update(scores, maps, labels, normal_with_mask)
    with pytest.raises(ValueError, match="distinct"):
        MultiTypeEvaluator(("A", "A"))


# ------------------------------------------------------ type classification


def test_type_confusion_matrix_and_macro_f1_hand_case():
    labels = np.array([[0, 0], [1, 0], [0, 1], [0, 1]])
    scores = np.array([[5.0, 0.0], [0.9, 0.1], [0.8, 0.2], [0.3, 0.7]])
    confusion = type_confusion_matrix(labels, scores)
    # The normal first image is left out; one type-1 image is taken for 0.
    np.testing.assert_array_equal(confusion, [[1, 0], [1, 1]])
    # Type 0: 2 * 1 / (1 + 2); type 1: 2 * 1 / (2 + 1).
    assert macro_f1(confusion) == pytest.approx(2 / 3)
    assert macro_f1(confusion) == pytest.approx(
        f1_score([0, 1, 1], [0, 0, 1], average="macro")
    )


def test_macro_f1_averages_only_types_that_occur():
    confusion = np.array([[3, 1, 0], [0, 0, 0], [0, 0, 2]])
    expected = f1_score(
        [0, 0, 0, 0, 2, 2], [0, 0, 0, 1, 2, 2], labels=[0, 2], average="macro"
    )
    assert macro_f1(confusion) == pytest.approx(expected)
