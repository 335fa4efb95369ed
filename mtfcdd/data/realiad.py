"""Real-IAD: the reader of its JSON splits and the check of a download.

Paper 4.1; the layout and its quirks are in paper-notes section 6. A data set
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

import collections
import dataclasses
import json
import os
import re
from typing import Dict, Tuple

import cv2

from mtfcdd.data.sample import Sample
from mtfcdd.data.thread_map import map_in_threads
from mtfcdd.defect_types import DEFECT_CODES, NORMAL_CLASS

SPLITS_FOLDER = "realiad_jsons"
IMAGE_FOLDER_PREFIX = "realiad_"
FUIAD_ALPHAS = (0.0, 0.1, 0.2, 0.4)
SPLIT_NAMES = ("train", "test")
ENTRY_KEYS = ("anomaly_class", "category", "image_path", "mask_path")
# The summary table's columns: normal images, then each defect type.
TYPE_COLUMNS = (NORMAL_CLASS,) + DEFECT_CODES


@dataclasses.dataclass(frozen=True)
class RealIADSplit:
    """The training and test images of one Real-IAD setting."""

    train: Tuple[Sample, ...]
    test: Tuple[Sample, ...]


def fuiad_setting(alpha):
    """The split folder name of the FUIAD setting with defect fraction alpha."""
    if alpha not in FUIAD_ALPHAS:
        raise ValueError(
            f"alpha must be one of {FUIAD_ALPHAS} (the FUIAD splits Real-IAD "
            f"ships), got {alpha!r}."
        )
    return f"realiad_jsons_fuiad_{alpha:.1f}"


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
            f"{os.path.join(root, SPLITS_FOLDER)} are {_settings_in(root)}."
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


def load_realiad(root, alpha=0.1, resolution=None, objects=None, num_types=8):
    """The FUIAD split with defect fraction ``alpha`` of the data set at ``root``.

    See ``split_dir_for``, ``find_image_root`` and ``read_split``.
    """
    return read_split(
        split_dir_for(root, alpha=alpha),
        find_image_root(root, resolution),
        objects=objects,
        num_types=num_types,
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
    json_paths = _object_files(split_dir)
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
        file_samples, problems, _ = _parse_split_file(
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


def _settings_in(root):
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


def _object_files(split_dir):
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


def _parse_split_file(json_path, image_root, num_types):
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


@dataclasses.dataclass(frozen=True)
class VerificationReport:
    """What ``verify_dataset`` found.

    Attributes:
        root: the data set root.
        image_root: the image folder the splits were checked against.
        counts: ``counts[setting][split][object][type]``: number of entries,
            ``type`` one of ``TYPE_COLUMNS`` ("OK" and the eight codes).
        problems: one line per problem, each naming the file at fault.
        images_checked: distinct images decoded.
        masks_checked: distinct masks decoded.
        ignored_keys: entry keys beyond ``ENTRY_KEYS``, which the reader
            ignores, each with the number of entries that carry it.
    """

    root: str
    image_root: str
    counts: Dict[str, Dict[str, Dict[str, Dict[str, int]]]]
    problems: Tuple[str, ...]
    images_checked: int
    masks_checked: int
    ignored_keys: Dict[str, int]

    @property
    def ok(self):
        return not self.problems

    def to_dict(self):
        """The report as plain JSON-serialisable values."""
        return {
            "root": self.root,
            "image_root": self.image_root,
            "images_checked": self.images_checked,
            "masks_checked": self.masks_checked,
            "counts": self.counts,
            "ignored_keys": self.ignored_keys,
            "problems": list(self.problems),
        }

    def to_text(self):
        """The count table, then a summary line and every problem."""
        header = ("setting", "split", "object") + TYPE_COLUMNS + ("total",)
        lines = [
            f"Real-IAD at {self.root}, images in {self.image_root}",
            "",
            *_aligned_table(header, self._table_rows()),
            "",
            f"{self.images_checked} images and {self.masks_checked} masks "
            f"checked: {len(self.problems)} problems.",
            *self._ignored_keys_lines(),
            *self.problems,
        ]
        return "\n".join(lines)

    def _ignored_keys_lines(self):
        if not self.ignored_keys:
            return []
        keys = ", ".join(
            f"{key} (in {count} entries)" for key, count in sorted(self.ignored_keys.items())
        )
        return [f"Entry keys beyond {', '.join(ENTRY_KEYS)}, ignored: {keys}."]

    def _table_rows(self):
        rows = []
        for setting, splits in self.counts.items():
            for split, objects in splits.items():
                totals = dict.fromkeys(TYPE_COLUMNS, 0)
                for object_name, type_counts in objects.items():
                    rows.append(_count_row(setting, split, object_name, type_counts))
                    for code in TYPE_COLUMNS:
                        totals[code] += type_counts[code]
                rows.append(_count_row(setting, split, "(all)", totals))
        return rows


def _count_row(setting, split, object_name, type_counts):
    counts = [type_counts[code] for code in TYPE_COLUMNS]
    return (setting, split, object_name, *map(str, counts), str(sum(counts)))


def _aligned_table(header, rows):
    """Lines of a table: text columns left-aligned, counts right-aligned."""
    text_columns = 3
    widths = [max(map(len, column)) for column in zip(header, *rows)]
    return [
        "  ".join(
            cell.ljust(width) if column < text_columns else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths))
        ).rstrip()
        for row in (header, *rows)
    ]


def verify_dataset(root, resolution=None, workers=None, verbose=1):
    """Check every split of ``root`` and every image and mask they list.

    Every ``ROOT/realiad_jsons/<setting>/<object>.json`` is read as
    ``read_split`` would, and each distinct image and mask is decoded with
    OpenCV (in ``workers`` threads, with a progress bar when ``verbose``):
    it must exist and decode, a mask must have one channel and its image's
    size. Problems are collected, not raised, so one run lists them all.
    Entry keys beyond the four the reader uses are not problems: they are
    counted in ``ignored_keys``.

    Args:
        root: the data set root.
        resolution: the image folder, as in ``find_image_root``.
        workers: threads decoding images (default: one per CPU).
        verbose: 1 shows a ``keras.utils.Progbar``, 0 nothing.

    Returns:
        A ``VerificationReport``.
    """
    image_root = find_image_root(root, resolution)
    settings = _settings_in(root)
    if not settings:
        raise ValueError(
            f"{os.path.join(root, SPLITS_FOLDER)}: no setting folders (e.g. "
            "realiad_jsons_fuiad_0.1) in it."
        )
    counts, problems, listed_in = {}, [], {}
    ignored_keys = collections.Counter()
    for setting in settings:
        split_dir = os.path.join(root, SPLITS_FOLDER, setting)
        try:
            json_paths = _object_files(split_dir)
        except ValueError as error:
            problems.append(str(error))
            continue
        for object_name, json_path in json_paths.items():
            samples, file_problems, unknown_keys = _parse_split_file(
                json_path, image_root, len(DEFECT_CODES)
            )
            problems.extend(file_problems)
            ignored_keys.update(unknown_keys)
            for split, split_samples in samples.items():
                splits = counts.setdefault(setting, {}).setdefault(split, {})
                splits[object_name] = _count_types(split_samples)
                for sample in split_samples:
                    listed_in.setdefault(
                        (sample.image_path, sample.mask_path), f"{json_path} {split}"
                    )
    files = list(listed_in)
    file_problems = map_in_threads(
        _check_files, files, workers=workers, verbose=verbose, unit_name="image"
    )
    for pair, pair_problems in zip(files, file_problems):
        problems.extend(
            f"{problem} (listed in {listed_in[pair]})" for problem in pair_problems
        )
    return VerificationReport(
        root=root,
        image_root=image_root,
        counts=counts,
        problems=tuple(problems),
        images_checked=len({image_path for image_path, _ in files}),
        masks_checked=len({mask_path for _, mask_path in files if mask_path}),
        ignored_keys=dict(sorted(ignored_keys.items())),
    )


def _count_types(samples):
    type_counts = dict.fromkeys(TYPE_COLUMNS, 0)
    for sample in samples:
        type_counts[sample.anomaly_class] += 1
    return type_counts


def _check_files(image_and_mask_paths):
    """The problems of one image and its mask (``None`` for a normal image)."""
    image_path, mask_path = image_and_mask_paths
    image, problems = _decode(image_path, cv2.IMREAD_COLOR, "image")
    if mask_path is None:
        return problems
    mask, mask_problems = _decode(mask_path, cv2.IMREAD_UNCHANGED, "mask")
    problems += mask_problems
    if mask is None:
        return problems
    if mask.ndim != 2:
        problems.append(
            f"{mask_path}: mask has {mask.shape[2]} channels; expected one."
        )
    if image is not None and mask.shape[:2] != image.shape[:2]:
        problems.append(
            f"{mask_path}: mask is {_size(mask)} but its image {image_path} "
            f"is {_size(image)}."
        )
    return problems


def _decode(path, flags, kind):
    """The decoded file (or None) and its problems."""
    if not os.path.isfile(path):
        return None, [f"{path}: {kind} file is missing."]
    decoded = cv2.imread(path, flags)
    if decoded is None:
        return None, [f"{path}: {kind} file cannot be decoded by OpenCV."]
    return decoded, []


def _size(image):
    height, width = image.shape[:2]
    return f"{width}x{height}"
