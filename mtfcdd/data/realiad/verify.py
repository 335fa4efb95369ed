"""Checking a Real-IAD download: every split, image and mask, all at once.

``verify_dataset`` reads every setting as ``mtfcdd.data.realiad.reader``
does, decodes every image and mask, and collects the problems instead of
stopping at the first, so that one run of ``mtfcdd data verify`` lists them
all, with a table of the images per setting, split, object and type.
"""

import collections
import dataclasses
import os
from typing import Dict, Tuple

from mtfcdd.constants import DEFECT_CODES, ENTRY_KEYS, IMAGE_CLASSES, SPLITS_FOLDER
from mtfcdd.data.realiad.reader import (
    find_image_root,
    object_files,
    parse_split_file,
    settings_in,
)
from mtfcdd.utils.image_files import image_and_mask_problems
from mtfcdd.utils.thread_map import map_in_threads

# Problems named in the message of check_sample_files; verify lists them all.
_PROBLEMS_SHOWN = 5
# Warnings printed by to_text; to_dict holds them all.
_WARNINGS_SHOWN = 20


@dataclasses.dataclass(frozen=True)
class VerificationReport:
    """What ``verify_dataset`` found.

    Attributes:
        root: the data set root.
        image_root: the image folder the splits were checked against.
        counts: ``counts[setting][split][object][type]``: number of entries,
            ``type`` one of ``IMAGE_CLASSES`` ("OK" and the eight codes).
        problems: one line per problem, each naming the file at fault.
        images_checked: distinct images decoded.
        masks_checked: distinct masks decoded.
        ignored_keys: entry keys beyond ``ENTRY_KEYS``, which the reader
            ignores, each with the number of entries that carry it.
        warnings: one line per image listed more than once in a setting
            without contradicting itself (``label_conflicts``): not
            problems, since Real-IAD itself has some.
    """

    root: str
    image_root: str
    counts: Dict[str, Dict[str, Dict[str, Dict[str, int]]]]
    problems: Tuple[str, ...]
    images_checked: int
    masks_checked: int
    ignored_keys: Dict[str, int]
    warnings: Tuple[str, ...] = ()

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
            "warnings": list(self.warnings),
        }

    def to_text(self):
        """The count table, then a summary line and every problem."""
        header = ("setting", "split", "object") + IMAGE_CLASSES + ("total",)
        lines = [
            f"Real-IAD at {self.root}, images in {self.image_root}",
            "",
            *_aligned_table(header, self._table_rows()),
            "",
            f"{self.images_checked} images and {self.masks_checked} masks "
            f"checked: {len(self.problems)} problems.",
            *self._ignored_keys_lines(),
            *self.problems,
            *self._warning_lines(),
        ]
        return "\n".join(lines)

    def _warning_lines(self):
        if not self.warnings:
            return []
        shown = self.warnings[:_WARNINGS_SHOWN]
        more = len(self.warnings) - len(shown)
        return [f"{len(self.warnings)} warnings:", *shown] + ([f"(and {more} more; --json lists them all)"] if more else [])

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
                totals = dict.fromkeys(IMAGE_CLASSES, 0)
                for object_name, type_counts in objects.items():
                    rows.append(_count_row(setting, split, object_name, type_counts))
                    for code in IMAGE_CLASSES:
                        totals[code] += type_counts[code]
                rows.append(_count_row(setting, split, "(all)", totals))
        return rows


def _count_row(setting, split, object_name, type_counts):
    counts = [type_counts[code] for code in IMAGE_CLASSES]
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
    it must exist, be complete (not truncated) and decode, a mask must have
    one channel and its image's size (``image_and_mask_problems``). A split
    of an object file without entries is a problem too, and so is a file
    that a symbolic link leads out of ``root`` and its image folder.
    Problems are collected, not raised, so one run lists them all.
    Entry keys beyond the four the reader uses are not problems: they are
    counted in ``ignored_keys``.

    Args:
        root: the data set root.
        resolution: the image folder, as in ``find_image_root``.
        workers: threads decoding images (default: one per CPU).
        verbose: 1 shows a progress bar, 0 nothing.

    Returns:
        A ``VerificationReport``.
    """
    image_root = find_image_root(root, resolution)
    settings = settings_in(root)
    if not settings:
        raise ValueError(
            f"{os.path.join(root, SPLITS_FOLDER)}: no setting folders (e.g. "
            "realiad_jsons_fuiad_0.1) in it."
        )
    counts, problems, warnings, listed_in = {}, [], [], {}
    ignored_keys = collections.Counter()
    for setting in settings:
        setting_samples = collections.defaultdict(list)
        split_dir = os.path.join(root, SPLITS_FOLDER, setting)
        try:
            json_paths = object_files(split_dir)
        except ValueError as error:
            problems.append(str(error))
            continue
        for object_name, json_path in json_paths.items():
            samples, file_problems, unknown_keys = parse_split_file(
                json_path, image_root, len(DEFECT_CODES)
            )
            problems.extend(file_problems)
            ignored_keys.update(unknown_keys)
            # A file with bad entries is reported for them; emptiness only
            # for a file without any.
            problems.extend(
                f"{json_path}: the {split} split has no entries; training and "
                "evaluation need at least one."
                for split, split_samples in samples.items()
                if not split_samples and not file_problems
            )
            for split, split_samples in samples.items():
                setting_samples[split] += split_samples
                splits = counts.setdefault(setting, {}).setdefault(split, {})
                splits[object_name] = _count_types(split_samples)
                for sample in split_samples:
                    listed_in.setdefault(
                        (sample.image_path, sample.mask_path), f"{json_path} {split}"
                    )
        setting_problems, setting_warnings = label_conflicts(setting_samples)
        problems.extend(f"{line} (in {setting})" for line in setting_problems)
        warnings.extend(f"{line} (in {setting})" for line in setting_warnings)
    files = list(listed_in)
    file_problems = map_in_threads(
        _check_files, files, "Checking images", workers=workers, verbose=verbose, unit_name="image"
    )
    for pair, pair_problems in zip(files, file_problems):
        problems.extend(
            f"{problem} (listed in {listed_in[pair]})"
            for problem in pair_problems + _links_leaving(root, image_root, pair)
        )
    return VerificationReport(
        root=root,
        image_root=image_root,
        counts=counts,
        problems=tuple(problems),
        images_checked=len({image_path for image_path, _ in files}),
        masks_checked=len({mask_path for _, mask_path in files if mask_path}),
        ignored_keys=dict(sorted(ignored_keys.items())),
        warnings=tuple(warnings),
    )


def label_conflicts(samples_by_split):
    """``(problems, warnings)`` of the images one setting lists more than once.

    An image listed with two classes (normal in train and defective in
    test, or two classes in train) contradicts itself: a problem. One
    listed twice with one class is a warning: in one split it is drawn more
    often, in train and test its test result is not held out (Real-IAD's
    own lists have such entries).

    Args:
        samples_by_split: ``{"train": [Sample, ...], "test": [...]}``.
    """
    listed = collections.defaultdict(list)
    for split, samples in samples_by_split.items():
        for sample in samples:
            listed[sample.image_path].append((split, sample.anomaly_class))
    problems, warnings = [], []
    for path, entries in listed.items():
        if len(entries) < 2:
            continue
        where = ", ".join(f"{split} as {anomaly_class}" for split, anomaly_class in entries)
        if len({anomaly_class for _, anomaly_class in entries}) > 1:
            problems.append(f"{path}: listed with contradicting labels ({where}); an image has one class.")
        elif len({split for split, _ in entries}) > 1:
            warnings.append(f"{path}: in both the train and the test split ({where}); its test result is not held out.")
        else:
            warnings.append(f"{path}: listed {len(entries)} times ({where}); it is drawn more often.")
    return problems, warnings


def _links_leaving(root, image_root, paths):
    """The problems of the files of ``paths`` that symbolic links lead out of
    ``root`` and out of ``image_root`` (which may itself be a link to another
    disk).

    A data set that reaches outside its folders is not what they hold: it
    changes when something else moves, and a copy of the folder loses those
    files.
    """
    inside = tuple(os.path.join(os.path.realpath(folder), "") for folder in (root, image_root))
    return [
        f"{path}: a symbolic link to {os.path.realpath(path)}, outside the data root {root}; "
        "copy the file into the data set."
        for path in paths
        if path is not None and not os.path.realpath(path).startswith(inside)
    ]


def _count_types(samples):
    type_counts = dict.fromkeys(IMAGE_CLASSES, 0)
    for sample in samples:
        type_counts[sample.anomaly_class] += 1
    return type_counts


def _check_files(image_and_mask_paths):
    """The problems of one image and its mask (``None`` for a normal image)."""
    return image_and_mask_problems(*image_and_mask_paths, decode=True)


def check_sample_files(samples, description, files_name="images", decode=True, workers=None, verbose=1):
    """Raises a ``ValueError`` listing the samples whose files cannot be used.

    The rules are ``verify_dataset``'s (``image_and_mask_problems``): each
    image and mask exists and is complete, a mask has one channel and its
    image's size, and with ``decode`` every file decodes. Run before
    training and evaluation, so that a bad file stops them before the first
    step rather than hours in, with every bad file named at once.

    Args:
        samples: ``Sample``s.
        description: what they are, for the message (e.g. "training images
            of realiad_jsons_fuiad_0.1").
        files_name: what they are on the progress bar, e.g. "training images".
        decode: also decode every file (slower; without it, damaged
            image data is found only when the file is read: for training,
            when the training stream first draws it).
        workers, verbose: see ``verify_dataset``.
    """
    pairs = list(dict.fromkeys((sample.image_path, sample.mask_path) for sample in samples))
    found = map_in_threads(
        _check_files if decode else _check_headers, pairs, f"Checking {files_name}", workers=workers,
        verbose=verbose, unit_name="image",
    )
    problems = [problem for pair_problems in found for problem in pair_problems]
    if problems:
        shown = "; ".join(problem.rstrip(".") for problem in problems[:_PROBLEMS_SHOWN])
        more = len(problems) - _PROBLEMS_SHOWN
        raise ValueError(
            f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in the {len(pairs)} "
            f"{description}: {shown}" + (f" (and {more} more)" if more > 0 else "")
            + ". `mtfcdd data verify` lists every problem of a data set."
        )


def _check_headers(image_and_mask_paths):
    return image_and_mask_problems(*image_and_mask_paths, decode=False)
