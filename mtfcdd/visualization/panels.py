"""Pictures of the per-type heatmaps (paper 3.1, Figure 2), NumPy and OpenCV
(type names outside ASCII through ``mtfcdd.visualization.text``).

Every array here is RGB (never OpenCV's BGR) with uint8 values; heatmaps are
the anomaly maps A_k (paper Eq. 1) at the image's size
(``mtfcdd.inference.postprocessing.upsample_heatmaps``).

Colour scale. A_k >= 0, and 0 is the score of a perfectly normal region (the
minimum of the pseudo-Huber output), so every map is drawn on ``[0, vmax]``
rather than stretched between its own minimum and maximum: a flat, low map
stays cold. ``vmax`` is shared by the maps that are meant to be compared:

- ``prediction_panel``: the maximum over all K maps of the image, so the
  types of one image are comparable and the hottest one reaches the top of
  the colour map; the input tile shows the scale.
- ``heatmap_grid``: the maximum over the maps of a row (one defect type),
  so the examples of a type are comparable.

Both take ``value_range=(vmin, vmax)`` to fix the scale instead, e.g. across
several images.
"""

import dataclasses
from typing import Optional, Sequence

import cv2
import numpy as np

from mtfcdd.constants import DEFECT_NAMES
from mtfcdd.inference.open_set import UNKNOWN_DEFECT
from mtfcdd.inference.postprocessing import types_over_threshold, upsample_heatmaps
from mtfcdd.visualization.text import put_text, text_size

COLORMAP = cv2.COLORMAP_JET
CONTOUR_COLOUR = (255, 255, 255)
DETECTED_COLOUR = (200, 30, 30)
HEADER_COLOUR = (40, 40, 40)
TEXT_COLOUR = (255, 255, 255)
EMPTY_COLOUR = (90, 90, 90)
# Font scale per pixel of tile width: about 21 characters across a tile.
FONT_SCALE_PER_PIXEL = 1 / 420
DETECTED_FRAME = 3
SEPARATOR_COLOUR = (0, 0, 0)
SEPARATOR_WIDTH = 2
# The most a tile's height and width may differ, as a ratio (_tile_height).
TILE_ASPECT_LIMIT = 4


@dataclasses.dataclass(frozen=True)
class GridExample:
    """One cell of ``heatmap_grid``.

    Attributes:
        image: (H, W, 3) RGB image.
        heatmap: (h, w) map of the row's type, upsampled to the image size
            when it differs.
        mask: (H', W') ground-truth mask (> 0 is defect) or None.
        caption: text under the cell, e.g. the object and the score.
    """

    image: np.ndarray
    heatmap: np.ndarray
    mask: Optional[np.ndarray] = None
    caption: str = ""


@dataclasses.dataclass(frozen=True)
class GridRow:
    """One row of ``heatmap_grid``: a type code and its examples."""

    type_code: str
    examples: Sequence[GridExample]


def colorize(heatmap, value_range):
    """A (h, w) map as an RGB colour image on the scale ``(vmin, vmax)``."""
    heatmap = np.asarray(heatmap, np.float32)
    if heatmap.ndim != 2:
        raise ValueError(f"a heatmap must have shape (height, width); got {heatmap.shape}.")
    low, high = _check_value_range(value_range)
    levels = np.clip((heatmap - low) / (high - low), 0.0, 1.0)
    colours = cv2.applyColorMap(np.round(255 * levels).astype(np.uint8), COLORMAP)
    return cv2.cvtColor(colours, cv2.COLOR_BGR2RGB)


def overlay_heatmap(image_rgb, heatmap, value_range=None, alpha=0.5):
    """The image with ``heatmap`` in colour blended over it.

    Args:
        image_rgb: (H, W, 3) RGB, uint8 or float in 0..255.
        heatmap: (h, w) anomaly map; upsampled bilinearly
            (``mtfcdd.inference.postprocessing.upsample_heatmaps``) when not (H, W).
        value_range: ``(vmin, vmax)`` of the colour map; ``(0, max of the
            map)`` when None (see the module docstring).
        alpha: weight of the colours, 0 (the image) to 1 (the colours only).

    Returns:
        (H, W, 3) uint8 RGB.
    """
    image = _as_rgb(image_rgb)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1]; got {alpha!r}.")
    heatmap = _fit_heatmap(heatmap, image.shape[:2])
    if value_range is None:
        value_range = (0.0, float(heatmap.max()))
    colours = colorize(heatmap, value_range)
    return cv2.addWeighted(image, 1.0 - alpha, colours, alpha, 0.0)


def draw_mask_contour(image, mask, colour=CONTOUR_COLOUR, thickness=1):
    """The image with the outline of every region of ``mask`` drawn on it.

    The outline runs along the mask's own boundary pixels (OpenCV's border
    following, holes included), so with ``thickness=1`` every drawn pixel
    is a mask pixel next to a background pixel.

    Args:
        image: (H, W, 3) RGB.
        mask: (h, w) array, > 0 is defect; resized to (H, W) when it
            differs, keeping every pixel a defect covers (a thin scratch
            must not vanish when a 1024-pixel mask shrinks to a tile).
        colour: RGB colour of the outline.
        thickness: line width in pixels.

    Returns:
        (H, W, 3) uint8 RGB, a copy.
    """
    image = _as_rgb(image).copy()
    mask = _fit_mask(mask, image.shape[:2])
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(image, contours, -1, tuple(int(c) for c in colour), thickness)
    return image


def prediction_panel(
    image,
    heatmaps_full_res,
    scores,
    type_codes,
    thresholds=None,
    mask=None,
    mask_type=None,
    title="",
    tile_size=224,
    alpha=0.5,
    value_range=None,
    decision=None,
    open_set_score=None,
):
    """One picture of a prediction: the input, then one tile per type.

    Each tile has a header: the input's shows ``title``, the verdict
    (detected types, "normal", "unknown defect" or "no thresholds") and the
    colour scale; an unknown defect's input tile, header in red, shows where:
    the largest of the K maps at each pixel;
    type ``k``'s shows its code and name, score and threshold, in red with
    a red frame when the score reaches the threshold.

    Args:
        image: (H, W, 3) RGB.
        heatmaps_full_res: (H, W, K) maps A_k at the image's size.
        scores: K image scores s_k (paper Eq. 2).
        type_codes: K codes, the channel order.
        thresholds: K thresholds or None.
        mask: ground-truth mask (> 0 is defect) or None; its contour is
            drawn on the tile of ``mask_type``.
        mask_type: the code of the mask's defect, one of ``type_codes``.
        title: text of the input tile, e.g. the file name.
        tile_size: width of each tile in pixels; heights follow the image,
            between a quarter of and four times the width.
        alpha: see ``overlay_heatmap``.
        value_range: the colour scale; ``(0, max over the K maps)`` if None.
        decision: the image's decision (``Prediction.decisions``): the
            detected types, ``("unknown defect",)`` or ``()``; None reads
            the detected types from ``thresholds``.
        open_set_score: the image's open-set score, shown with an unknown
            defect, or None.

    Returns:
        uint8 RGB array of width ``(1 + K) * tile_size``.
    """
    image = _as_rgb(image)
    heatmaps = np.asarray(heatmaps_full_res, np.float32)
    type_codes = tuple(type_codes)
    scores = np.asarray(scores, np.float32).reshape(-1)
    if heatmaps.shape != image.shape[:2] + (len(type_codes),):
        raise ValueError(
            f"heatmaps_full_res must have shape {image.shape[:2] + (len(type_codes),)} "
            f"(the image's size, one map per type code); got {heatmaps.shape}."
        )
    if scores.shape != (len(type_codes),):
        raise ValueError(f"scores must hold {len(type_codes)} values; got {scores.shape[0]}.")
    if (mask is None) != (mask_type is None):
        raise ValueError(
            "give mask and mask_type together (the contour goes on that type's tile), or neither."
        )
    if mask_type is not None and mask_type not in type_codes:
        raise ValueError(f"mask_type {mask_type!r} is not one of the type codes {type_codes}.")
    if value_range is None:
        value_range = (0.0, float(heatmaps.max()))
    tile_height = _tile_height(image.shape, tile_size)
    image_tile = _resize(image, tile_size, tile_height)
    detected = None if thresholds is None else types_over_threshold(
        scores[np.newaxis], thresholds, type_codes
    )[0]
    unknown = decision == (UNKNOWN_DEFECT,)
    verdict = "no thresholds" if detected is None else (
        f"detected: {' '.join(detected)}" if detected else "normal"
    )
    input_tile = image_tile
    if unknown:
        verdict = UNKNOWN_DEFECT + ("" if open_set_score is None else f" (open-set {open_set_score:.3g})")
        # Where: no type's channel claims the defect, so all of them together.
        input_tile = overlay_heatmap(
            image_tile, _resize(heatmaps.max(axis=-1), tile_size, tile_height), value_range, alpha
        )
    # Every header is three lines high (the input's third is the colour
    # scale), so that the tiles line up.
    columns = [_with_header(
        input_tile, [title, verdict], colour_scale=value_range,
        background=DETECTED_COLOUR if unknown else HEADER_COLOUR,
    )]
    for index, code in enumerate(type_codes):
        columns.append(_type_tile(
            image_tile,
            _resize(heatmaps[..., index], tile_size, tile_height),
            code,
            f"score {scores[index]:.4g}",
            "no threshold" if thresholds is None else f"threshold {thresholds[index]:.4g}",
            is_detected=detected is not None and code in detected,
            mask=mask if code == mask_type else None,
            value_range=value_range,
            alpha=alpha,
        ))
    panel = np.concatenate(columns, axis=1)
    _draw_rules(panel, tile_size)
    return panel


def _type_tile(
    image_tile, heatmap, code, score_line, threshold_line, is_detected, mask, value_range, alpha
):
    """One type's tile of ``prediction_panel``, under its header."""
    tile = overlay_heatmap(image_tile, heatmap, value_range, alpha)
    if mask is not None:
        tile = draw_mask_contour(tile, mask)
    if is_detected:
        height, width = tile.shape[:2]
        cv2.rectangle(tile, (0, 0), (width - 1, height - 1), DETECTED_COLOUR, DETECTED_FRAME)
    name_line = f"{code} {DEFECT_NAMES.get(code, '')}".strip()
    return _with_header(
        tile, [name_line, score_line, threshold_line],
        background=DETECTED_COLOUR if is_detected else HEADER_COLOUR,
    )


def heatmap_grid(rows, tile_size=160, alpha=0.5, value_range=None):
    """A figure like the paper's Figure 2: one row per defect type.

    Each row starts with the type's code, name and colour scale, then its
    examples: the image with that type's heatmap over it and the
    ground-truth contour, a caption underneath. Rows with fewer examples
    than the longest are padded with grey cells.

    Args:
        rows: ``GridRow``s, top to bottom.
        tile_size: width of a cell in pixels; the height is the first
            image's aspect ratio times it.
        alpha: see ``overlay_heatmap``.
        value_range: the colour scale of every cell; per row
            ``(0, max over the row's maps)`` if None.

    Returns:
        uint8 RGB array, ``(1 + max examples) * tile_size`` wide.
    """
    if not rows or not any(row.examples for row in rows):
        raise ValueError("rows is empty: give at least one GridRow with an example.")
    columns = max(len(row.examples) for row in rows)
    first_image = next(row.examples[0].image for row in rows if row.examples)
    tile_height = _tile_height(np.shape(first_image), tile_size)
    caption_height = _line_height(tile_size)
    return np.concatenate(
        [
            _grid_row(row, columns, tile_size, tile_height, caption_height, alpha, value_range)
            for row in rows
        ],
        axis=0,
    )


def _grid_row(row, columns, tile_size, tile_height, caption_height, alpha, value_range):
    heatmaps = [np.asarray(example.heatmap, np.float32) for example in row.examples]
    if value_range is None:
        value_range = (0.0, max((float(heatmap.max()) for heatmap in heatmaps), default=1.0))
    label = _label_cell(row.type_code, tile_size, tile_height)
    cells = [np.concatenate([label, _colour_scale_bar(tile_size, value_range)], axis=0)]
    for example, heatmap in zip(row.examples, heatmaps):
        image = _as_rgb(example.image)
        tile = overlay_heatmap(
            image, _fit_heatmap(heatmap, image.shape[:2]), value_range, alpha
        )
        if example.mask is not None:
            tile = draw_mask_contour(tile, _fit_mask(example.mask, image.shape[:2]))
        tile = _resize(tile, tile_size, tile_height)
        cells.append(
            np.concatenate([tile, _text_bar(tile_size, [example.caption], HEADER_COLOUR)], axis=0)
        )
    empty = np.full((tile_height + caption_height, tile_size, 3), EMPTY_COLOUR, np.uint8)
    cells += [empty] * (columns - len(row.examples))
    row_picture = np.concatenate(cells, axis=1)
    _draw_rules(row_picture, tile_size)
    return row_picture


def _draw_rules(picture, tile_size):
    """Dark rules at the top and left of each tile keep neighbours apart."""
    picture[:SEPARATOR_WIDTH] = SEPARATOR_COLOUR
    for left in range(tile_size, picture.shape[1], tile_size):
        picture[:, left:left + SEPARATOR_WIDTH] = SEPARATOR_COLOUR


def _label_cell(type_code, width, height):
    """The row label: the code in large letters, the name under it."""
    cell = np.full((height, width, 3), HEADER_COLOUR, np.uint8)
    scale = width * FONT_SCALE_PER_PIXEL
    code_scale = 2 * scale
    code = _fit_text(type_code, width - 8, code_scale, thickness=2)
    (code_width, code_height), _ = text_size(code, code_scale, 2)
    name = _fit_text(DEFECT_NAMES.get(type_code, ""), width - 8, scale)
    (name_width, name_height), _ = text_size(name, scale)
    top = (height - code_height - name_height - code_height // 2) // 2 + code_height
    put_text(cell, code, ((width - code_width) // 2, top), code_scale, TEXT_COLOUR, 2)
    put_text(cell, name, ((width - name_width) // 2, top + code_height // 2 + name_height), scale, TEXT_COLOUR)
    return cell


def _with_header(tile, lines, background=HEADER_COLOUR, colour_scale=None):
    """``tile`` under a bar with ``lines`` of text (and a colour scale)."""
    width = tile.shape[1]
    bars = [_text_bar(width, lines, background)]
    if colour_scale is not None:
        bars.append(_colour_scale_bar(width, colour_scale))
    return np.concatenate(bars + [tile], axis=0)


def _text_bar(width, lines, background):
    scale = width * FONT_SCALE_PER_PIXEL
    line_height = _line_height(width)
    bar = np.full((line_height * len(lines), width, 3), background, np.uint8)
    margin = _margin(width)
    for index, line in enumerate(lines):
        text = _fit_text(line, width - 2 * margin, scale)
        baseline = (index + 1) * line_height - line_height // 3
        put_text(bar, text, (margin, baseline), scale, TEXT_COLOUR)
    return bar


def _colour_scale_bar(width, value_range):
    """A header line: ``vmin``, the colour map as a gradient, ``vmax``."""
    scale = width * FONT_SCALE_PER_PIXEL
    line_height = _line_height(width)
    bar = np.full((line_height, width, 3), HEADER_COLOUR, np.uint8)
    margin = _margin(width)
    low, high = value_range
    low_text, high_text = f"{low:.3g}", f"{high:.3g}"
    (low_width, _), _ = text_size(low_text, scale)
    (high_width, _), _ = text_size(high_text, scale)
    baseline = line_height - line_height // 3
    for text, left in ((low_text, margin), (high_text, width - margin - high_width)):
        put_text(bar, text, (left, baseline), scale, TEXT_COLOUR)
    left, right = 2 * margin + low_width, width - 2 * margin - high_width
    if right > left:
        gradient = np.linspace(0.0, 1.0, right - left, dtype=np.float32)[np.newaxis]
        top, bottom = line_height // 4, line_height - line_height // 4
        gradient = np.repeat(gradient, bottom - top, axis=0)
        bar[top:bottom, left:right] = colorize(gradient, (0.0, 1.0))
    return bar


def _fit_text(text, width, scale, thickness=1):
    """``text``, cut in the middle with ".." until it fits ``width`` pixels."""
    if text_size(text, scale, thickness)[0][0] <= width:
        return text
    keep = len(text)
    while keep > 2:
        keep -= 1
        head = (keep + 1) // 2
        candidate = f"{text[:head]}..{text[len(text) - (keep - head):]}"
        if text_size(candidate, scale, thickness)[0][0] <= width:
            return candidate
    return ".."


def _margin(width):
    return max(width // 40, 2)


def _line_height(width):
    (_, text_height), baseline = text_size("Ag", width * FONT_SCALE_PER_PIXEL)
    return int(round(1.6 * (text_height + baseline)))


def _tile_height(shape, tile_size):
    """The image's aspect ratio times ``tile_size``, within ``TILE_ASPECT_LIMIT``.

    A very tall image (5000x20 pixels) would otherwise make a panel of
    tens of megabytes, and a very wide one tiles a pixel high; such images
    are squeezed to the limit.
    """
    height, width = shape[:2]
    tile_height = round(tile_size * height / width)
    return int(min(max(tile_height, tile_size / TILE_ASPECT_LIMIT, 1), tile_size * TILE_ASPECT_LIMIT))


def _resize(array, width, height):
    """Shrinks with area averaging (no aliasing), enlarges bilinearly."""
    shrinking = width * height < array.shape[0] * array.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(array, (width, height), interpolation=interpolation)


def _fit_heatmap(heatmap, size):
    heatmap = np.asarray(heatmap, np.float32)
    if heatmap.ndim != 2:
        raise ValueError(f"a heatmap must have shape (height, width); got {heatmap.shape}.")
    if heatmap.shape == tuple(size):
        return heatmap
    return upsample_heatmaps(heatmap[np.newaxis, :, :, np.newaxis], size)[0, :, :, 0]


def _fit_mask(mask, size):
    """A uint8 0/1 mask of ``size``; a pixel is defect if any defect covers it."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"a mask must have shape (height, width); got {mask.shape}.")
    defect = (mask > 0).astype(np.float32)
    if defect.shape == tuple(size):
        return defect.astype(np.uint8)
    shrinking = size[0] * size[1] < defect.size
    defect = cv2.resize(
        defect, (size[1], size[0]), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_NEAREST
    )
    return (defect > 0).astype(np.uint8)


def _as_rgb(image):
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"an image must have shape (height, width, 3), RGB; got {image.shape}.")
    if image.dtype == np.uint8:
        return image
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _check_value_range(value_range):
    low, high = (float(value) for value in value_range)
    if not np.isfinite([low, high]).all():
        raise ValueError(f"value_range must be finite; got {value_range}.")
    # A flat map (vmax == vmin, e.g. all zeros) is drawn at the bottom colour.
    return low, max(high, low + np.finfo(np.float32).eps)
