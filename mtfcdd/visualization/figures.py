"""The paper's Figure 2: per-type heatmaps of test images, one row per type."""

import os

import numpy as np

from mtfcdd.constants import DEFECT_CODES
from mtfcdd.inference.heatmap_model import channel_of, heatmap_model
from mtfcdd.inference.postprocessing import prediction_from_heatmaps, upsample
from mtfcdd.utils.image_files import read_mask, read_rgb_image, write_png
from mtfcdd.visualization.panels import GridExample, GridRow, heatmap_grid


def select_examples(samples, type_codes, examples_per_type=4):
    """The test samples each row of ``figure2_grid`` shows, deterministically.

    For each defect type, its samples with a mask are grouped by object;
    objects are taken in turn (sorted by name), each giving its next image
    in path order, so that a row shows as many objects as it can.

    Args:
        samples: ``Sample``s (a test split).
        type_codes: the model's codes; with one channel (multi-class,
            paper 5.2) every Real-IAD defect type gets a row.
        examples_per_type: most examples per row.

    Returns:
        A list of ``(type_code, samples)``, types in channel order (Real-IAD
        order for one channel), types without samples left out.
    """
    if examples_per_type < 1:
        raise ValueError(f"examples_per_type must be >= 1; got {examples_per_type}.")
    row_codes = DEFECT_CODES if len(type_codes) == 1 else type_codes
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
    scores = prediction_from_heatmaps(heatmaps, source.type_codes, source.score_reduction).scores
    grid_rows, index = [], 0
    for code, row_samples in rows:
        channel = channel_of(code, source.type_codes)
        examples = []
        for sample in row_samples:
            examples.append(GridExample(
                image=images[index],
                heatmap=upsample(heatmaps[index:index + 1, ..., channel:channel + 1],
                                 images[index].shape[:2])[0, ..., 0],
                mask=read_mask(sample.mask_path),
                caption=f"{sample.category}  s={scores[index, channel]:.3g}",
            ))
            index += 1
        grid_rows.append(GridRow(code, examples))
    figure = heatmap_grid(grid_rows, tile_size=tile_size, alpha=alpha)
    os.makedirs(os.path.dirname(os.path.abspath(output_path)), exist_ok=True)
    write_png(output_path, figure)
    return figure
