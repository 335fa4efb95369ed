"""MVTec AD's layout as downloaded (MPDD and BTAD use the same), one object or several.

::

    ROOT/<object>/train/good/*.png
    ROOT/<object>/test/good/*.png
    ROOT/<object>/test/<type>/*.png
    ROOT/<object>/ground_truth/<type>/<image stem>_mask.png

Its training split holds normal images only, and the method learns from
labelled defects (paper 3.1), so the reader moves a seeded, stratified
fraction of each object's and type's defective test images into training
(``defect_train_fraction``, 0.5 by default): the supervised protocol papers
use on these data sets. The images moved are never tested on, and their
list is recorded (``DataSet.record``, a run's ``data_files.json``). The split
is seeded by ``split_seed`` alone, not by the training seed, so that
``mtfcdd evaluate`` with the same fraction tests on the same images.

A type name met in several objects (``crack``) is one type and one channel.
"""

import os

from mtfcdd.constants import DEFAULT_NORMAL_NAME, NORMAL_CLASS
from mtfcdd.data.dataset import DataSet, channel_codes, hold_out, ordered_types
from mtfcdd.data.folder import SPLIT_FOLDERS, class_folders, is_folder_layout, read_class_folders

GROUND_TRUTH_FOLDER = "ground_truth"
MASK_NAME = "{stem}_mask.png"
DEFAULT_DEFECT_TRAIN_FRACTION = 0.5
"""The fraction of each type's test images moved into training by default."""


def object_folders(root):
    """``{object: folder}`` of the objects under ``root`` (each holds
    ``train/`` and ``test/``), sorted."""
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{root}: data set root not found.")
    return {
        name: os.path.join(root, name)
        for name in sorted(os.listdir(root))
        if not name.startswith(".") and is_folder_layout(os.path.join(root, name))
    }


def is_mvtec_layout(root):
    """Whether ``root`` holds object folders with ``train/`` and ``test/``."""
    return os.path.isdir(root) and bool(object_folders(root))


def load_mvtec(
    root, objects=None, types=None, normal_name=DEFAULT_NORMAL_NAME,
    defect_train_fraction=DEFAULT_DEFECT_TRAIN_FRACTION, split_seed=0, multi_class=False,
):
    """Read an MVTec-layout data set (see the module's docstring).

    Args:
        root: the folder of the object folders.
        objects: the objects to read (default: every one).
        types: the defect types in channel order (default: sorted).
        normal_name: the normal folders' name.
        defect_train_fraction: the fraction of each object's and type's
            test images moved into training, in (0, 1).
        split_seed: seeds which images move.
        multi_class: one "any defect" label (paper 5.2, K = 1).

    Returns:
        A ``DataSet`` with layout ``"mvtec"``; ``record["moved_to_train"]``
        lists the images moved, relative to ``root``.
    """
    if not 0 < defect_train_fraction < 1:
        raise ValueError(
            f"defect_train_fraction must lie in (0, 1): some of each type's test images train "
            f"the model, the rest test it; got {defect_train_fraction!r}."
        )
    root = os.path.abspath(root)
    available = object_folders(root)
    if not available:
        raise FileNotFoundError(f"{root}: no object folders holding train/ and test/ (MVTec AD's layout).")
    selected = sorted(available if objects is None else objects)
    unknown = [name for name in selected if name not in available]
    if unknown:
        raise ValueError(f"{root}: unknown objects {unknown}; available: {sorted(available)}.")
    classes = {name: class_folders(os.path.join(available[name], "test")) for name in selected}
    for name in selected:
        if normal_name not in class_folders(os.path.join(available[name], "train")):
            raise FileNotFoundError(
                f"{os.path.join(available[name], 'train', normal_name)}: no normal training folder "
                "(name the normal one with --normal-name)."
            )
    found = sorted({kind for folders in classes.values() for kind in folders if kind != normal_name})
    defect_types = ordered_types(found, types, root)
    samples = {split: [] for split in SPLIT_FOLDERS}
    moved = []
    for name in selected:
        train = read_class_folders(
            {normal_name: os.path.join(available[name], "train", normal_name)},
            os.path.join(available[name], GROUND_TRUTH_FOLDER), normal_name, defect_types, multi_class, name,
        )
        test = read_class_folders(
            classes[name], os.path.join(available[name], GROUND_TRUTH_FOLDER), normal_name,
            defect_types, multi_class, name, mask_name=MASK_NAME,
        )
        defective = [sample for sample in test if sample.anomaly_class != NORMAL_CLASS]
        kept, to_train = hold_out(defective, defect_train_fraction, [split_seed, selected.index(name)])
        samples["train"] += list(train) + list(to_train)
        samples["test"] += [sample for sample in test if sample.anomaly_class == NORMAL_CLASS] + list(kept)
        moved += [os.path.relpath(sample.image_path, root) for sample in to_train]
    return DataSet(
        train=tuple(samples["train"]), test=tuple(samples["test"]),
        type_codes=channel_codes(defect_types, multi_class), defect_types=defect_types,
        layout="mvtec", root=root,
        record={
            "defect_train_fraction": defect_train_fraction, "split_seed": split_seed,
            "moved_to_train": moved,
        },
    )
