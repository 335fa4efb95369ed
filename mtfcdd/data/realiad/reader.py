"""Real-IAD: the reader of its JSON splits (``verify`` checks a download).

Paper 4.1; the layout and its quirks are in docs/data.md. A data set
root ``ROOT`` holds one or more image folders (``realiad_256``,
``realiad_512``, ``realiad_1024``, or a resized copy) and the splits::

    ROOT/realiad_jsons/<setting>/<object>.json

with ``<setting>`` one of ``realiad_jsons_fuiad_0.0|0.1|0.2|0.4`` (the FUIAD
splits the paper trains on) or ``realiad_jsons`` / ``realiad_jsons_sv`` (the
original unsupervised settings). Each file is::

    {"meta": {"prefix": "audiojack/", "normal_class": "OK", ...},
     "train": [entry, ...], "test": [entry, ...]}

and each entry has the keys ``category``, ``anomaly_class``, ``image_path``
and ``mask_path``; other keys that a download may carry are ignored (and
counted by ``verify_dataset``). An image's path is
``<image root>/<meta.prefix><image_path>``. Labels come from
``anomaly_class`` and ``mask_path``, never from the folder: many views under
``NG/`` are labelled normal (the defect is not visible from that camera).

Every defective image of Real-IAD has a mask (51,329 masks for 51,329
defective images), so a defective entry without ``mask_path``, or a normal
entry with one, is reported as an error rather than guessed at.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import re
from collections.abc import Sequence
from typing import Tuple

from mtfcdd.constants import (
    DEFECT_CODES,
    type_codes_for,
    ENTRY_KEYS,
    FUIAD_ALPHAS,
    IMAGE_FOLDER_PREFIX,
    NORMAL_CLASS,
    SPLIT_NAMES,
    SPLITS_FOLDER,
    fuiad_setting,
)
from mtfcdd.data.dataset import DataSet
from mtfcdd.data.sample import Sample


@dataclasses.dataclass(frozen=True)
class RealIADSplit:
    """The training and test images of one Real-IAD setting."""

    train: Tuple[Sample, ...]
    test: Tuple[Sample, ...]


def split_dir_for(root, alpha=None, setting=None):
    """The folder of one setting's ``<object>.json`` files under ``root``.

    Args:
        root: the data set root (holds ``realiad_jsons/``).
        alpha: the FUIAD defect fraction, one of ``FUIAD_ALPHAS``.
        setting: instead of ``alpha``, the folder name of any setting, e.g.
            ``"realiad_jsons_sv"``.

    Returns:
        ``root/realiad_jsons/<setting>``, which exists.
    """
    if (alpha is None) == (setting is None):
        raise ValueError(
            "Give exactly one of alpha (the FUIAD defect fraction, one of "
            f"{FUIAD_ALPHAS}) or setting (a folder of {SPLITS_FOLDER}/); got "
            f"alpha={alpha!r}, setting={setting!r}."
        )
    if alpha is not None:
        setting = fuiad_setting(alpha)
    split_dir = os.path.join(root, SPLITS_FOLDER, setting)
    if not os.path.isdir(split_dir):
        raise FileNotFoundError(
            f"{split_dir}: no such split folder; the settings under "
            f"{os.path.join(root, SPLITS_FOLDER)} are {settings_in(root)}."
        )
    return split_dir


def find_image_root(root, resolution=None):
    """The image folder of ``root``: ``<resolution>`` or the only ``realiad_*``.

    Args:
        root: the data set root.
        resolution: the folder name (``"realiad_256"``, ``"realiad_299"``,
            any name) or its size (``256`` means ``realiad_256``); needed
            when ``root`` holds several image folders.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{root}: data set root not found.")
    folders = sorted(
        name for name in os.listdir(root)
        if name != SPLITS_FOLDER and os.path.isdir(os.path.join(root, name))
    )
    if resolution is not None:
        for name in (str(resolution), f"{IMAGE_FOLDER_PREFIX}{resolution}"):
            if name in folders:
                return os.path.join(root, name)
        raise FileNotFoundError(
            f"{root}: no image folder {str(resolution)!r} or "
            f"'{IMAGE_FOLDER_PREFIX}{resolution}'; its folders are {folders}."
        )
    image_folders = [name for name in folders if name.startswith(IMAGE_FOLDER_PREFIX)]
    if not image_folders:
        raise FileNotFoundError(
            f"{root}: no image folder '{IMAGE_FOLDER_PREFIX}*' (e.g. "
            f"realiad_1024); its folders are {folders}."
        )
    if len(image_folders) > 1:
        raise ValueError(
            f"{root}: several image folders {image_folders}; choose one with "
            "resolution (--resolution on the command line), e.g. 'realiad_256'."
        )
    return os.path.join(root, image_folders[0])


def load_realiad(
    root: str | os.PathLike[str],
    alpha: float = 0.1,
    resolution: str | None = None,
    objects: str | Sequence[str] | None = None,
    num_types: int = 8,
) -> RealIADSplit:
    """The FUIAD split with defect fraction ``alpha`` of the data set at ``root``.

    See ``split_dir_for``, ``find_image_root`` and ``read_split``.
    """
    return read_split(
        split_dir_for(root, alpha=alpha),
        find_image_root(root, resolution),
        objects=objects,
        num_types=num_types,
    )


def realiad_dataset(root, alpha=0.1, resolution=None, objects=None, multi_class=False):
    """``load_realiad``'s split as the ``DataSet`` every layout produces."""
    num_types = 1 if multi_class else len(DEFECT_CODES)
    split = load_realiad(root, alpha=alpha, resolution=resolution, objects=objects, num_types=num_types)
    return DataSet(
        train=split.train, test=split.test, type_codes=type_codes_for(num_types),
        defect_types=DEFECT_CODES, layout="realiad", root=root, alpha=alpha,
    )


def read_split(split_dir, image_root, objects=None, num_types=8):
    """Read the ``<object>.json`` files of one setting.

    Args:
        split_dir: folder of ``<object>.json`` files (see ``split_dir_for``).
        image_root: folder the entries' paths are relative to (see
            ``find_image_root``).
        objects: name or names of the objects to read (default: every file).
        num_types: 8 gives one-hot labels in ``DEFECT_CODES`` order, 1 the
            single "any defect" label (paper 5.2); normal images are all 0.

    Returns:
        A ``RealIADSplit``, objects in sorted order, entries in file order.

    Raises:
        ValueError: naming the file and the entry (``test[12]``) of the first
            problem found; ``verify_dataset`` lists them all.
    """
    if num_types not in (len(DEFECT_CODES), 1):
        raise ValueError(
            f"num_types must be {len(DEFECT_CODES)} (one label per Real-IAD "
            f"defect type) or 1 (any defect), got {num_types!r}."
        )
    if not os.path.isdir(image_root):
        raise FileNotFoundError(f"{image_root}: image root not found.")
    json_paths = object_files(split_dir)
    if isinstance(objects, str):
        objects = [objects]
    selected = sorted(json_paths if objects is None else set(objects))
    unknown = [name for name in selected if name not in json_paths]
    if unknown:
        raise ValueError(
            f"{split_dir}: unknown objects {unknown}; available: "
            f"{sorted(json_paths)}."
        )
    samples = {split: [] for split in SPLIT_NAMES}
    for object_name in selected:
        file_samples, problems, _ = parse_split_file(
            json_paths[object_name], image_root, num_types
        )
        if problems:
            raise ValueError(_first_of(problems))
        for split in SPLIT_NAMES:
            samples[split].extend(file_samples[split])
    return RealIADSplit(train=tuple(samples["train"]), test=tuple(samples["test"]))


def _first_of(problems):
    more = len(problems) - 1
    if not more:
        return problems[0]
    return (
        f"{problems[0]} (and {more} more problems in this file; "
        "`mtfcdd data verify` lists them all)"
    )


def settings_in(root):
    """The setting folders under ``root/realiad_jsons``, sorted."""
    splits_root = os.path.join(root, SPLITS_FOLDER)
    if not os.path.isdir(splits_root):
        raise FileNotFoundError(
            f"{splits_root}: split folder not found (expected "
            f"{SPLITS_FOLDER}/<setting>/<object>.json under the data set root)."
        )
    return sorted(
        name for name in os.listdir(splits_root)
        if os.path.isdir(os.path.join(splits_root, name))
    )


def object_files(split_dir):
    """``{object name: path}`` of the ``<object>.json`` files of a setting."""
    if not os.path.isdir(split_dir):
        raise FileNotFoundError(f"{split_dir}: split folder not found.")
    json_paths = {
        name[: -len(".json")]: os.path.join(split_dir, name)
        for name in sorted(os.listdir(split_dir))
        if name.endswith(".json")
    }
    if not json_paths:
        raise ValueError(f"{split_dir}: no <object>.json split files in this folder.")
    return json_paths


def parse_split_file(json_path, image_root, num_types):
    """The samples of one file per split, every problem found in it, and a
    ``Counter`` of the unknown entry keys (ignored) by number of entries."""
    unknown_keys = collections.Counter()
    try:
        content = _read_json(json_path)
        meta = _check_layout(content)
    except ValueError as error:
        return {}, [f"{json_path}: {error}"], unknown_keys
    object_name = os.path.basename(json_path)[: -len(".json")]
    samples = {split: [] for split in SPLIT_NAMES}
    problems = []
    for split in SPLIT_NAMES:
        for index, entry in enumerate(content[split]):
            try:
                samples[split].append(
                    _parse_entry(entry, meta, object_name, image_root, num_types)
                )
            except ValueError as error:
                problems.append(f"{json_path}: {split}[{index}]: {error}")
                continue
            unknown_keys.update(set(entry) - set(ENTRY_KEYS))
    return samples, problems, unknown_keys


def _read_json(json_path):
    try:
        with open(json_path, "rb") as file:
            return json.loads(file.read())
    except ValueError as error:
        raise ValueError(f"not valid JSON ({error}).") from None


def _check_layout(content):
    """The file's ``meta``, after checking the top-level layout."""
    if not isinstance(content, dict):
        raise ValueError(
            f"expected an object with keys meta, train, test; got a "
            f"{type(content).__name__}."
        )
    missing = [key for key in ("meta",) + SPLIT_NAMES if key not in content]
    if missing:
        raise ValueError(
            f"missing top-level keys {missing} (expected meta, train, test)."
        )
    meta = content["meta"]
    if not isinstance(meta, dict):
        raise ValueError(f"meta must be an object, got a {type(meta).__name__}.")
    for key in ("prefix", "normal_class"):
        if not isinstance(meta.get(key), str):
            raise ValueError(f"meta.{key} must be a string, got {meta.get(key)!r}.")
    for split in SPLIT_NAMES:
        if not isinstance(content[split], list):
            raise ValueError(
                f"{split} must be a list of entries, got a "
                f"{type(content[split]).__name__}."
            )
    return meta


def _parse_entry(entry, meta, object_name, image_root, num_types):
    if not isinstance(entry, dict):
        raise ValueError(
            f"expected an object with keys {list(ENTRY_KEYS)}, got a "
            f"{type(entry).__name__}."
        )
    # Keys beyond these are ignored: a download may carry more per entry.
    missing = sorted(set(ENTRY_KEYS) - set(entry))
    if missing:
        raise ValueError(
            f"expected the keys {list(ENTRY_KEYS)}; missing {missing}."
        )
    category = _string_field(entry, "category")
    if category != object_name:
        raise ValueError(
            f"category {category!r} differs from the file's object {object_name!r}."
        )
    anomaly_class = _string_field(entry, "anomaly_class")
    is_normal = anomaly_class == meta["normal_class"]
    if not is_normal and anomaly_class not in DEFECT_CODES:
        raise ValueError(
            f"unknown anomaly_class {anomaly_class!r}; expected the normal class "
            f"{meta['normal_class']!r} or a defect code of {list(DEFECT_CODES)}."
        )
    mask_path = entry["mask_path"]
    if is_normal and mask_path is not None:
        raise ValueError(
            f"anomaly_class {anomaly_class!r} is normal but mask_path is "
            f"{mask_path!r}; a normal entry has mask_path null."
        )
    if not is_normal and mask_path is None:
        raise ValueError(
            f"anomaly_class {anomaly_class!r} is a defect but mask_path is null; "
            "every defective Real-IAD image has a mask."
        )
    image_path = _string_field(entry, "image_path")
    return Sample(
        image_path=_resolve(image_root, meta["prefix"], image_path),
        mask_path=None if is_normal else _resolve(
            image_root, meta["prefix"], _string_field(entry, "mask_path")
        ),
        category=category,
        anomaly_class=NORMAL_CLASS if is_normal else anomaly_class,
        labels=_labels(None if is_normal else anomaly_class, num_types),
    )


def _string_field(entry, key):
    value = entry[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string, got {value!r}.")
    return value


def _resolve(image_root, prefix, relative_path):
    """``image_root/<prefix><relative_path>``, refusing paths that leave it."""
    joined = prefix + relative_path
    # Both separators and drive letters count: the JSON files are written on
    # any platform, and a split must never reach outside its image root.
    parts = re.split(r"[\\/]", joined)
    if ".." in parts or any(_is_absolute(path) for path in (prefix, relative_path)):
        raise ValueError(
            f"path {relative_path!r} with meta.prefix {prefix!r} leaves the image "
            "root; expected relative paths without '..' components."
        )
    return os.path.join(image_root, *parts)


def _is_absolute(path):
    return path[:1] in ("/", "\\") or re.match(r"[A-Za-z]:", path) is not None


def _labels(defect_code, num_types):
    """The labels of an image; ``defect_code`` is None for a normal one."""
    if num_types == 1:
        return (int(defect_code is not None),)
    return tuple(int(code == defect_code) for code in DEFECT_CODES)
