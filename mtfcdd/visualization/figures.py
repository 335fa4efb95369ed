"""The paper's figures of heatmaps (paper 5.1).

- ``figure2_grid``: Figure 2, per-type heatmaps of test images, one row per
  type.
- ``model_comparison``: one image's per-type heatmaps from several models,
  one row per model: Figure 3 (the models trained at alpha = 0.1, 0.2,
  0.4), or a float32 model beside its int8 LiteRT file.
"""

import os

import numpy as np

from mtfcdd.constants import DEFECT_CODES
from mtfcdd.inference.heatmap_model import channel_of, heatmap_model
from mtfcdd.inference.postprocessing import upsample_heatmaps
from mtfcdd.utils.atomic_files import make_output_folder
from mtfcdd.utils.image_files import read_mask, read_rgb_image, write_png
from mtfcdd.visualization.panels import GridExample, GridRow, heatmap_grid, prediction_panel


def select_examples(samples, type_codes, examples_per_type=4):
    """The test samples each row of ``figure2_grid`` shows, deterministically.

    For each defect type, its samples with a mask are grouped by object;
    objects are taken in turn (sorted by name), each giving its next image
    in path order, so that a row shows as many objects as it can.

    Args:
        samples: ``Sample``s (a test split).
        type_codes: the model's codes; with one channel (multi-class,
            paper 5.2) every defect type of ``samples`` gets a row.
        examples_per_type: most examples per row.

    Returns:
        A list of ``(type_code, samples)``, types in channel order (for one
        channel: Real-IAD's order, then other data sets' types by name),
        types without samples left out.
    """
    if examples_per_type < 1:
        raise ValueError(f"examples_per_type must be >= 1; got {examples_per_type}.")
    row_codes = type_codes
    if len(type_codes) == 1:
        present = {sample.anomaly_class for sample in samples if sample.mask_path is not None}
        row_codes = [code for code in DEFECT_CODES if code in present] + sorted(present - set(DEFECT_CODES))
    ordered = sorted(samples, key=lambda sample: (sample.category, sample.image_path))
    rows = []
    for code in row_codes:
        by_object = {}
        for sample in ordered:
            if sample.anomaly_class == code and sample.mask_path is not None:
                by_object.setdefault(sample.category, []).append(sample)
        chosen = []
        for turn in range(examples_per_type):
            chosen += [queue[turn] for queue in by_object.values() if turn < len(queue)]
        if chosen:
            rows.append((code, chosen[:examples_per_type]))
    return rows


def figure2_grid(
    model, samples, output_path, examples_per_type=4, tile_size=160, batch_size=8, alpha=0.5
):
    """Writes a figure like the paper's Figure 2 to ``output_path`` (PNG).

    One row per defect type: ``examples_per_type`` test images of that type
    (``select_examples``), each with that type's heatmap over it, the
    ground-truth contour in white and a caption "<object>  s=<score>". The
    colour scale is shared along a row (``mtfcdd.visualization.panels``).

    Args:
        model: see ``predict``.
        samples: test ``Sample``s; those with a mask are candidates.
        output_path: the PNG to write.
        examples_per_type: images per row.
        tile_size: width of a cell in pixels.
        batch_size: images per model call.
        alpha: weight of the heatmap colours.

    Returns:
        The figure, a uint8 RGB array.
    """
    source = heatmap_model(model)
    rows = select_examples(samples, source.type_codes, examples_per_type)
    if not rows:
        raise ValueError(
            "No sample has a defect type of the model and a mask: the figure "
            "needs defective test images with their masks."
        )
    chosen = [sample for _, row_samples in rows for sample in row_samples]
    images = [read_rgb_image(sample.image_path) for sample in chosen]
    heatmaps = np.concatenate([
        source.heatmaps(images[start:start + batch_size])
        for start in range(0, len(images), batch_size)
    ])
    scores = source.postprocessor.scores(heatmaps)
    grid_rows, index = [], 0
    for code, row_samples in rows:
        channel = channel_of(code, source.type_codes)
        examples = []
        for sample in row_samples:
            examples.append(GridExample(
                image=images[index],
                heatmap=upsample_heatmaps(heatmaps[index:index + 1, ..., channel:channel + 1],
                                 images[index].shape[:2])[0, ..., 0],
                mask=read_mask(sample.mask_path),
                caption=f"{sample.category}  s={scores[index, channel]:.3g}",
            ))
            index += 1
        grid_rows.append(GridRow(code, examples))
    figure = heatmap_grid(grid_rows, tile_size=tile_size, alpha=alpha)
    _write_figure(output_path, figure)
    return figure


def model_comparison(sources, image, output_path, mask=None, mask_type=None, tile_size=160, alpha=0.5):
    """Writes one image's per-type heatmaps from several models, a row each.

    Each row is the model's ``prediction_panel``: the input tile with the
    row's title and the model's verdict, then one tile per type with its
    score and threshold. Every row uses one colour scale, from 0 to the
    largest heatmap value of any model, so that a colour means the same
    value in every row (paper Figure 3 compares the models trained at
    alpha = 0.1, 0.2 and 0.4 this way).

    Args:
        sources: ``{row title: model}``, in row order; each a Keras
            ``MultiTypeFCDD`` or a ``LiteRTModel`` (see ``heatmap_model``),
            all with the same type codes.
        image: (H, W, 3) RGB, values 0..255.
        output_path: the PNG to write.
        mask: the image's ground-truth mask (> 0 is defect) or None; its
            contour is drawn on the tile of ``mask_type`` in every row.
        mask_type: the mask's defect code (the only channel of a K = 1
            model shows any type).
        tile_size: width of a tile in pixels.
        alpha: weight of the heatmap colours.

    Returns:
        The figure, a uint8 RGB array.
    """
    if not sources:
        raise ValueError("sources is empty: give at least one {title: model}.")
    rows = []
    for title, model in sources.items():
        source = heatmap_model(model)
        heatmaps = source.heatmaps([image])
        scores = source.postprocessor.scores(heatmaps)[0]
        rows.append((title, source, scores, upsample_heatmaps(heatmaps, np.shape(image)[:2])[0]))
    type_codes = rows[0][1].type_codes
    different = [title for title, source, _, _ in rows if source.type_codes != type_codes]
    if different:
        raise ValueError(
            f"every model must have the type codes {list(type_codes)} of {rows[0][0]!r}; "
            f"{different} differ."
        )
    shown_type = None if mask is None else type_codes[channel_of(mask_type, type_codes)]
    value_range = (0.0, max(float(maps.max()) for _, _, _, maps in rows))
    figure = np.concatenate([
        prediction_panel(
            image, maps, scores, type_codes, thresholds=source.thresholds, mask=mask,
            mask_type=shown_type, title=title, tile_size=tile_size, alpha=alpha,
            value_range=value_range,
        )
        for title, source, scores, maps in rows
    ], axis=0)
    _write_figure(output_path, figure)
    return figure


def _write_figure(output_path, figure):
    make_output_folder(os.path.dirname(os.path.abspath(output_path)))
    write_png(output_path, figure)
