"""Contact sheets: a page of examples per defect type, for the docs."""

import json
import math
import os

import cv2
import numpy as np

from mtfcdd.constants import (
    DEFECT_CODES,
    DEFECT_NAMES,
    IMAGE_FOLDER_PREFIX,
    SPLITS_FOLDER,
    fuiad_setting,
)
from mtfcdd.utils.image_files import read_mask, read_rgb_image, write_png


def _image_folder(root):
    """The one ``realiad_<size>`` folder of a data set root."""
    if not os.path.isdir(root):
        raise FileNotFoundError(f"data set root {root} does not exist")
    folders = sorted(
        name
        for name in os.listdir(root)
        if name.startswith(IMAGE_FOLDER_PREFIX) and name[len(IMAGE_FOLDER_PREFIX) :].isdigit()
    )
    if len(folders) != 1:
        raise ValueError(
            f"{root} should hold exactly one realiad_<size> image folder, found {folders}"
        )
    return os.path.join(root, folders[0])


def _examples_by_type(root, split_folder):
    """Defective images with masks, per type, one object after another."""
    folder = os.path.join(root, SPLITS_FOLDER, split_folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"split folder {folder} does not exist")
    examples = {code: [] for code in DEFECT_CODES}
    for file_name in sorted(os.listdir(folder)):
        if not file_name.endswith(".json"):
            continue
        with open(os.path.join(folder, file_name), encoding="utf-8") as file:
            split = json.load(file)
        per_sample = {code: {} for code in DEFECT_CODES}
        for entry in split["train"] + split["test"]:
            if entry["anomaly_class"] in per_sample and entry["mask_path"]:
                sample_folder = os.path.dirname(entry["image_path"])
                per_sample[entry["anomaly_class"]].setdefault(sample_folder, []).append(
                    (split["meta"]["prefix"], entry)
                )
        for code, samples in per_sample.items():
            # One view of every sample before a second view of any.
            examples[code].append(
                [entry for views in _interleave(list(samples.values())) for entry in views]
            )
    # Interleave objects so that a page shows as many objects as it can.
    return {
        code: [entry for group in _interleave(lists) for entry in group]
        for code, lists in examples.items()
    }


def _interleave(lists):
    longest = max((len(entries) for entries in lists), default=0)
    for index in range(longest):
        yield [entries[index] for entries in lists if index < len(entries)]


def _contact_tile(image_folder, prefix, entry, tile_size):
    image = read_rgb_image(os.path.join(image_folder, prefix + entry["image_path"]))
    mask = read_mask(os.path.join(image_folder, prefix + entry["mask_path"]))
    tile = cv2.resize(image, (tile_size, tile_size), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(mask, (tile_size, tile_size), interpolation=cv2.INTER_NEAREST)
    # Outline the mask a few pixels out, so the line does not hide the defect.
    outside = cv2.dilate(
        (mask > 0).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    )
    contours, _ = cv2.findContours(outside, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    # Yellow on a dark edge shows on every object colour.
    cv2.drawContours(tile, contours, -1, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.drawContours(tile, contours, -1, (255, 235, 0), 1, cv2.LINE_AA)
    caption = entry["category"]
    (width, height), _ = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, 0.38, 1)
    cv2.rectangle(tile, (0, tile_size - height - 8), (width + 7, tile_size), (0, 0, 0), cv2.FILLED)
    cv2.putText(
        tile,
        caption,
        (4, tile_size - 5),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.38,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return tile


def write_contact_sheets(
    root,
    output_dir,
    examples_per_type=8,
    columns=4,
    tile_size=160,
    split_folder=fuiad_setting(0.4),
):
    """Writes one PNG per defect type: example images with the mask outlined.

    Args:
        root: a data set root (holds ``realiad_jsons`` and one
            ``realiad_<size>`` folder), e.g. from ``make_synthetic_iad``.
        output_dir: folder for the PNG files; created if missing.
        examples_per_type: images per sheet, taken from as many objects as
            possible.
        columns: images per row.
        tile_size: side of each image on the sheet, in pixels.
        split_folder: the split files to take the examples from (their
            training and test splits).

    Returns:
        The paths written, ``<output_dir>/synthetic_<CODE>.png``, in
        ``DEFECT_CODES`` order; types without examples get no sheet.
    """
    if examples_per_type < 1 or columns < 1 or tile_size < 32:
        raise ValueError(
            f"examples_per_type and columns must be positive and tile_size at least 32; got "
            f"{examples_per_type}, {columns}, {tile_size}"
        )
    image_folder = _image_folder(root)
    examples = _examples_by_type(root, split_folder)
    os.makedirs(output_dir, exist_ok=True)
    title_height = 30
    paths = []
    for code in DEFECT_CODES:
        chosen = examples[code][:examples_per_type]
        if not chosen:
            continue
        rows = math.ceil(len(chosen) / columns)
        sheet = np.full((title_height + rows * tile_size, columns * tile_size, 3), 32, np.uint8)
        cv2.putText(
            sheet,
            f"{code}  {DEFECT_NAMES[code]}",
            (8, 21),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.62,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
        for index, (prefix, entry) in enumerate(chosen):
            row, column = divmod(index, columns)
            top = title_height + row * tile_size
            sheet[top : top + tile_size, column * tile_size : (column + 1) * tile_size] = (
                _contact_tile(image_folder, prefix, entry, tile_size)
            )
        path = os.path.join(output_dir, f"synthetic_{code}.png")
        write_png(path, sheet, compression=9)
        paths.append(path)
    return paths
