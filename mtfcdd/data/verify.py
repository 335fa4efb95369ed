"""Checking a data set in the folder, MVTec or manifest layout: every problem at once.

``verify_layout`` is what ``mtfcdd data verify`` runs on a data set that is
not Real-IAD's (``mtfcdd.data.realiad.verify`` checks those). Where a reader
stops at the first problem, this lists them all:

- a type folder with no images, and files in it that are not images;
- a mask without its image, or not of its image's size (and any image or
  mask that does not decode); a mask folder whose image folder does not
  exist;
- a type with test images but no training images (it cannot be scored);
- type names that differ only in case or spacing;
- a type with too few images to train on (how many there are).
"""

import collections
import dataclasses
import os
from typing import Dict, Tuple

from mtfcdd.constants import DEFAULT_NORMAL_NAME, IMAGE_EXTENSIONS, MASK_EXTENSION
from mtfcdd.data.dataset import name_key
from mtfcdd.data.folder import MASKS_FOLDER, SPLIT_FOLDERS, class_folders
from mtfcdd.data.layouts import detect_layout
from mtfcdd.data.manifest import read_rows
from mtfcdd.data.mvtec import GROUND_TRUTH_FOLDER, MASK_NAME, object_folders
from mtfcdd.utils.image_files import image_and_mask_problems
from mtfcdd.utils.thread_map import map_in_threads

MIN_TYPE_IMAGES = 2
"""The fewest images of a type that can train (the folder layout's training
images; MVTec's test images, of which some train and the rest test)."""


@dataclasses.dataclass(frozen=True)
class LayoutReport:
    """What ``verify_layout`` found.

    Attributes:
        root: the data set (a folder, or a manifest file).
        layout: ``"folder"``, ``"mvtec"`` or ``"manifest"``.
        counts: ``counts[object][split][class]``: images of each class
            (``object`` is the root's name outside the MVTec layout).
        problems: one line per problem, each naming the file or folder.
        images_checked: images decoded.
    """

    root: str
    layout: str
    counts: Dict[str, Dict[str, Dict[str, int]]]
    problems: Tuple[str, ...]
    images_checked: int

    @property
    def ok(self):
        return not self.problems

    def to_dict(self):
        """The report as plain JSON values."""
        return {**dataclasses.asdict(self), "problems": list(self.problems)}

    def to_text(self):
        """One line per object, split and class, then every problem."""
        lines = [f"{self.layout} layout at {self.root}", ""]
        for object_name, splits in self.counts.items():
            for split, classes in splits.items():
                counted = ", ".join(f"{name} {count}" for name, count in classes.items())
                lines.append(f"{object_name} {split}: {counted or 'no class folders'}")
        lines += ["", f"{self.images_checked} images checked: {len(self.problems)} problems.", *self.problems]
        return "\n".join(lines)


def verify_layout(root, layout="auto", normal_name=None, workers=None, verbose=1):
    """Check every folder, image and mask of the data set at ``root``.

    Args:
        root: the data set (a folder, or a manifest ``.csv``).
        layout: ``"auto"``, ``"folder"``, ``"mvtec"`` or ``"manifest"``.
        normal_name: the normal class's name (default ``"good"``).
        workers, verbose: threads decoding the files; 1 shows a progress bar.

    Returns:
        A ``LayoutReport``.
    """
    layout = detect_layout(root) if layout == "auto" else layout
    normal_name = normal_name or DEFAULT_NORMAL_NAME
    if layout == "manifest":
        counts, pairs, problems = _manifest_tree(root, normal_name)
    elif layout == "mvtec":
        counts, pairs, problems = _mvtec_tree(root, normal_name)
    elif layout == "folder":
        counts, pairs, problems = _folder_tree(root, normal_name)
    else:
        raise ValueError(f"{root}: verify_layout checks the folder, mvtec and manifest layouts; got {layout!r}.")
    file_problems = map_in_threads(
        lambda pair: image_and_mask_problems(*pair), pairs, "Checking images", workers, verbose, "image"
    )
    problems += [problem for found in file_problems for problem in found]
    return LayoutReport(os.path.abspath(root), layout, counts, tuple(problems), len(pairs))


def _folder_tree(root, normal_name):
    """(counts, (image, mask) pairs, problems) of the folder layout."""
    images, problems = _class_images(root, normal_name, SPLIT_FOLDERS)
    pairs, mask_problems = _masks(images, lambda split, name: os.path.join(root, MASKS_FOLDER, split, name), "{stem}")
    problems += mask_problems + _folders_without_images(os.path.join(root, MASKS_FOLDER), SPLIT_FOLDERS, root)
    for split in SPLIT_FOLDERS:
        problems += _folders_without_images(
            os.path.join(root, MASKS_FOLDER, split), images[split], os.path.join(root, split)
        )
    counts = _counted(images)
    problems += _type_problems(counts, normal_name, root, training_split="train")
    return {os.path.basename(os.path.abspath(root)): counts}, pairs, problems


def _mvtec_tree(root, normal_name):
    counts, pairs, problems = {}, [], []
    objects = object_folders(root)
    if not objects:
        return {}, [], [f"{root}: no object folders holding train/ and test/ (MVTec AD's layout)."]
    for object_name, folder in objects.items():
        images, found = _class_images(folder, normal_name, SPLIT_FOLDERS)
        object_pairs, mask_problems = _masks(
            {split: images[split] for split in ("test",)},
            lambda split, name: os.path.join(folder, GROUND_TRUTH_FOLDER, name), "{stem}_mask",
        )
        counts[object_name] = _counted(images)
        pairs += [(path, None) for path in images["train"].get(normal_name, ())] + object_pairs
        problems += found + mask_problems + _folders_without_images(
            os.path.join(folder, GROUND_TRUTH_FOLDER), images["test"], os.path.join(folder, "test")
        ) + [
            f"{os.path.join(folder, 'train', name)}: MVTec's training folder holds normal images "
            f"only ({normal_name}/); move these images to test/{name}/ or use the folder layout."
            for name in counts[object_name]["train"] if name != normal_name
        ]
        problems += _type_problems(counts[object_name], normal_name, folder, training_split="test")
    return counts, pairs, problems


def _manifest_tree(manifest_path, normal_name):
    try:
        rows = read_rows(os.path.abspath(manifest_path))
    except ValueError as error:
        return {}, [], [str(error)]
    folder = os.path.dirname(os.path.abspath(manifest_path))
    counts = collections.defaultdict(collections.Counter)
    pairs, problems = [], []
    for line, row in rows:
        counts[row["split"]][row["label"]] += 1
        image = os.path.join(folder, row["path"])
        mask = os.path.join(folder, row["mask"]) if row.get("mask") else None
        if not os.path.isfile(image):
            problems.append(f"{manifest_path}, line {line}: {image}: no such image file.")
            continue
        if mask is not None and not os.path.isfile(mask):
            problems.append(f"{manifest_path}, line {line}: {mask}: no such mask file.")
            mask = None
        pairs.append((image, mask))
    counts = {split: dict(sorted(classes.items())) for split, classes in sorted(counts.items())}
    problems += _type_problems(counts, normal_name, manifest_path, training_split="train")
    return {os.path.basename(folder): counts}, pairs, problems


def _class_images(folder, normal_name, splits):
    """``({split: {class: [image paths]}}, problems)``: the image files of
    each class folder; empty folders and non-image files are problems."""
    images, problems = {}, []
    for split in splits:
        split_folder = os.path.join(folder, split)
        if not os.path.isdir(split_folder):
            problems.append(f"{split_folder}: no such folder; expected {split}/<class>/ folders.")
            images[split] = {}
            continue
        images[split] = {}
        for name, class_folder in class_folders(split_folder).items():
            files = sorted(
                os.path.join(path, file_name)
                for path, _, file_names in os.walk(class_folder) for file_name in file_names
                if not file_name.startswith(".")
            )
            images[split][name] = [path for path in files if path.lower().endswith(IMAGE_EXTENSIONS)]
            problems += [
                f"{path}: not an image file ({', '.join(IMAGE_EXTENSIONS)}); move it out of the data set."
                for path in files if not path.lower().endswith(IMAGE_EXTENSIONS)
            ]
            if not images[split][name]:
                problems.append(f"{class_folder}: a {'normal' if name == normal_name else 'type'} folder with no images.")
    return images, problems


def _masks(images, mask_folder_of, mask_stem):
    """((image, mask) pairs, problems): every image with its mask where it
    has one; a mask whose image is missing is a problem."""
    pairs, problems = [], []
    for split, classes in images.items():
        for name, paths in classes.items():
            mask_folder = mask_folder_of(split, name)
            by_mask_name = {
                mask_stem.format(stem=os.path.splitext(os.path.basename(path))[0]) + MASK_EXTENSION: path
                for path in paths
            }
            masks = sorted(os.listdir(mask_folder)) if os.path.isdir(mask_folder) else []
            problems += [
                f"{os.path.join(mask_folder, mask)}: a mask without its image (expected "
                f"{os.path.join(os.path.dirname(paths[0]) if paths else mask_folder, '<stem>.*')})."
                for mask in masks if mask not in by_mask_name and not mask.startswith(".")
            ]
            pairs += [
                (path, os.path.join(mask_folder, mask_name) if mask_name in masks else None)
                for mask_name, path in by_mask_name.items()
            ]
    return pairs, problems


def _folders_without_images(mask_folder, expected, image_folder):
    """A problem for each folder of ``mask_folder`` not named in ``expected``:
    masks whose images are not where the readers look (a misspelt or
    removed type, or a split that is neither train nor test)."""
    if not os.path.isdir(mask_folder):
        return []
    return [
        f"{os.path.join(mask_folder, name)}: masks without images: there is no folder "
        f"{os.path.join(image_folder, name)}/ (a type or split the data set does not have)."
        for name in sorted(os.listdir(mask_folder))
        if os.path.isdir(os.path.join(mask_folder, name)) and not name.startswith(".") and name not in expected
    ]


def _counted(images):
    return {split: {name: len(paths) for name, paths in classes.items()} for split, classes in images.items()}


def _type_problems(counts, normal_name, where, training_split):
    """Names that clash, types that cannot be scored or have too few images."""
    problems = []
    train, test = counts.get("train", {}), counts.get("test", {})
    names = sorted((set(train) | set(test)) - {normal_name})
    seen = {}
    for name in names:
        if name_key(name) in seen:
            problems.append(
                f"{where}: the types {seen[name_key(name)]!r} and {name!r} differ only in case or "
                "spacing; merge or rename them."
            )
        seen.setdefault(name_key(name), name)
    if normal_name not in train:
        problems.append(f"{where}: no normal training images ({normal_name!r}); name them with --normal-name.")
    if training_split == "train":
        problems += [
            f"{where}: the type {name!r} has {test[name]} test images but no training images, so no "
            "channel can score it."
            for name in names if test.get(name) and not train.get(name)
        ]
    for name in names:
        count = counts.get(training_split, {}).get(name, 0)
        if 0 < count < MIN_TYPE_IMAGES:
            problems.append(
                f"{where}: the type {name!r} has {count} {training_split} image"
                f"{'s' if count != 1 else ''}; at least {MIN_TYPE_IMAGES} are needed to train on it."
            )
    return problems
