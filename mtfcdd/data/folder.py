"""The folder layout: a tree of class folders, read as it is.

::

    ROOT/train/<class>/*.jpg|png|bmp     <class>: the normal folder or a defect type
    ROOT/test/<class>/...
    ROOT/masks/test/<type>/<image stem>.png     optional, > 0 is defect
    ROOT/masks/train/<type>/<image stem>.png    optional; the model never needs them

The normal folder is ``good`` unless ``normal_name`` says otherwise (``OK``,
``normal``...). Every other folder is a defect type, named as written; the
model's channels follow the sorted names, or ``types``. Image-level labels
are all training needs; the pixel metrics use the masks that exist.
"""

import os

from mtfcdd.constants import DEFAULT_NORMAL_NAME, MASK_EXTENSION, NORMAL_CLASS
from mtfcdd.data.dataset import DataSet, channel_codes, labelled_sample, ordered_types
from mtfcdd.utils.image_files import find_images

SPLIT_FOLDERS = ("train", "test")
MASKS_FOLDER = "masks"


def is_folder_layout(root):
    """Whether ``root`` holds ``train/`` and ``test/`` folders."""
    return all(os.path.isdir(os.path.join(root, split)) for split in SPLIT_FOLDERS)


def class_folders(split_folder):
    """``{class name: folder}`` of one split folder, sorted by name."""
    return {
        name: os.path.join(split_folder, name)
        for name in sorted(os.listdir(split_folder))
        if os.path.isdir(os.path.join(split_folder, name)) and not name.startswith(".")
    }


def load_folder(root, normal_name=DEFAULT_NORMAL_NAME, types=None, multi_class=False):
    """Read a folder-layout data set (see the module's docstring).

    Args:
        root: the folder that holds ``train/`` and ``test/``.
        normal_name: the name of the normal folders.
        types: the defect types in channel order (None: sorted).
        multi_class: one "any defect" label (paper 5.2, K = 1).

    Returns:
        A ``DataSet`` with layout ``"folder"``.

    Raises:
        ValueError, FileNotFoundError: naming the folder at fault; ``mtfcdd
            data verify`` lists every problem at once.
    """
    root = os.path.abspath(root)
    if not is_folder_layout(root):
        raise FileNotFoundError(f"{root}: expected the folders train/ and test/ (the folder layout).")
    classes = {split: class_folders(os.path.join(root, split)) for split in SPLIT_FOLDERS}
    train_normal = os.path.join(root, "train", normal_name)
    if normal_name not in classes["train"]:
        raise FileNotFoundError(
            f"{train_normal}: no normal training folder; the folders of {os.path.join(root, 'train')} "
            f"are {list(classes['train'])} (name the normal one with --normal-name)."
        )
    found = [name for name in classes["train"] if name != normal_name]
    unscored = sorted(set(classes["test"]) - set(classes["train"]))
    if unscored:
        raise ValueError(
            f"{os.path.join(root, 'test', unscored[0])}: the type {unscored[0]!r} has test images "
            "but no training folder, so no channel can score it; add training images of it or "
            "remove it from test/."
        )
    defect_types = ordered_types(found, types, os.path.join(root, "train"))
    category = os.path.basename(root)
    samples = {
        split: read_class_folders(
            classes[split], os.path.join(root, MASKS_FOLDER, split), normal_name,
            defect_types, multi_class, category,
        )
        for split in SPLIT_FOLDERS
    }
    return DataSet(
        train=samples["train"], test=samples["test"],
        type_codes=channel_codes(defect_types, multi_class), defect_types=defect_types,
        layout="folder", root=root,
    )


def read_class_folders(folders, mask_folder, normal_name, defect_types, multi_class, category,
                       mask_name="{stem}" + MASK_EXTENSION):
    """The ``Sample``s of one split's class folders, in class then file order.

    A defect image's mask is ``mask_folder/<type>/<mask_name>`` when that
    file exists (``mask_name`` formats the image's ``stem``); masks are
    optional.
    """
    samples = []
    for name, folder in folders.items():
        is_normal = name == normal_name
        for image_path in find_images(folder):
            stem = os.path.splitext(os.path.basename(image_path))[0]
            mask_path = os.path.join(mask_folder, name, mask_name.format(stem=stem))
            samples.append(labelled_sample(
                image_path,
                None if is_normal or not os.path.isfile(mask_path) else mask_path,
                category, NORMAL_CLASS if is_normal else name, defect_types, multi_class,
            ))
    return tuple(samples)
