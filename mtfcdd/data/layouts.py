"""Any data set layout in, one ``DataSet`` out: ``load_dataset``.

The layouts, each read by its own module:

- ``realiad``: Real-IAD's JSON splits (``mtfcdd.data.realiad``), its eight
  codes and FUIAD noise ratios alpha.
- ``folder``: ``ROOT/train/<class>/``, ``ROOT/test/<class>/``
  (``mtfcdd.data.folder``).
- ``mvtec``: MVTec AD's (MPDD's, BTAD's) ``ROOT/<object>/train|test|ground_truth``,
  a fraction of each type's test images moved into training (``mtfcdd.data.mvtec``).
- ``manifest``: a CSV file, one row per image (``mtfcdd.data.manifest``).

``layout="auto"`` tells them apart by what ``root`` holds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from mtfcdd.constants import ANY_DEFECT_CODE, DATA_LAYOUTS, DEFAULT_NORMAL_NAME, SPLITS_FOLDER
from mtfcdd.data.dataset import DataSet, with_label_noise, without_types
from mtfcdd.data.folder import is_folder_layout, load_folder
from mtfcdd.data.manifest import load_manifest
from mtfcdd.data.mvtec import DEFAULT_DEFECT_TRAIN_FRACTION, is_mvtec_layout, load_mvtec

REALIAD_DEFAULT_ALPHA = 0.1
"""The FUIAD split read when no alpha is given (the paper's main setting)."""


def detect_layout(root):
    """The layout of the data set at ``root``, from the folders it holds
    (or ``"manifest"`` for a ``.csv`` file)."""
    if os.path.isfile(root) and root.lower().endswith(".csv"):
        return "manifest"
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{root}: data set root not found.")
    if os.path.isdir(os.path.join(root, SPLITS_FOLDER)):
        return "realiad"
    if is_folder_layout(root):
        return "folder"
    if is_mvtec_layout(root):
        return "mvtec"
    raise ValueError(
        f"{root}: not a known data set layout; expected {SPLITS_FOLDER}/ (Real-IAD), "
        "train/ and test/ class folders (the folder layout) or object folders holding them "
        "(MVTec AD's layout); docs/data.md."
    )


def load_dataset(
    root: str | os.PathLike[str],
    layout: str = "auto",
    multi_class: bool = False,
    alpha: float | None = None,
    resolution: str | None = None,
    objects: str | Sequence[str] | None = None,
    types: Sequence[str] | None = None,
    normal_name: str | None = None,
    label_noise: float | None = None,
    seed: int = 0,
    defect_train_fraction: float | None = None,
    exclude_types: Sequence[str] | None = None,
) -> DataSet:
    """Read the data set at ``root`` in any layout.

    Args:
        root: the data set root.
        layout: one of ``DATA_LAYOUTS``.
        multi_class: one "any defect" channel (paper 5.2, K = 1).
        alpha: Real-IAD's FUIAD noise ratio (default 0.1); only for Real-IAD.
        resolution: Real-IAD's image folder.
        objects: the objects to read, of Real-IAD or the MVTec layout.
        types: the defect types in channel order (default: sorted); not for
            Real-IAD, whose order is fixed (paper Table 1).
        normal_name: the normal class folder (default ``"good"``).
        label_noise: relabel this fraction of the defective training images
            normal, seeded by ``seed`` (``with_label_noise``); not for Real-IAD.
        defect_train_fraction: the MVTec layout's fraction of each type's
            test images moved into training (default 0.5).
        exclude_types: defect types left out of both splits and of the
            channels (``without_types``; their test images are kept in
            ``excluded_test``): to train a model that has never seen them.

    Returns:
        A ``DataSet``.
    """
    if exclude_types:
        # Read whole, then the types left out: ``types`` orders the kept ones.
        data = load_dataset(
            root, layout, multi_class, alpha, resolution, objects, None, normal_name, label_noise,
            seed, defect_train_fraction,
        )
        return without_types(data, exclude_types, types)
    if layout not in DATA_LAYOUTS:
        raise ValueError(f"layout must be one of {DATA_LAYOUTS}; got {layout!r}.")
    root = os.fspath(root)
    if layout == "auto":
        layout = detect_layout(root)
    if layout == "realiad":
        _refuse_options(
            root, "Real-IAD", types=types, normal_name=normal_name, label_noise=label_noise,
            defect_train_fraction=defect_train_fraction,
        )
        from mtfcdd.data.realiad.reader import realiad_dataset

        return realiad_dataset(
            root, alpha=REALIAD_DEFAULT_ALPHA if alpha is None else alpha,
            resolution=resolution, objects=objects, multi_class=multi_class,
        )
    normal_name = normal_name or DEFAULT_NORMAL_NAME
    if layout == "mvtec":
        _refuse_options(root, "the mvtec layout", alpha=alpha, resolution=resolution)
        data = load_mvtec(
            root, objects=objects, types=types, normal_name=normal_name, multi_class=multi_class,
            defect_train_fraction=defect_train_fraction or DEFAULT_DEFECT_TRAIN_FRACTION,
        )
    else:
        _refuse_options(
            root, f"the {layout} layout", alpha=alpha, resolution=resolution, objects=objects,
            defect_train_fraction=defect_train_fraction,
        )
        reader = load_manifest if layout == "manifest" else load_folder
        data = reader(root, normal_name=normal_name, types=types, multi_class=multi_class)
    return data if label_noise is None else with_label_noise(data, label_noise, seed)


def _refuse_options(root, layout_name, **options):
    """A ``ValueError`` for an option the layout has no use for."""
    given = [name for name, value in options.items() if value is not None]
    if given:
        raise ValueError(
            f"{root}: {given[0]}={options[given[0]]!r} does not apply to {layout_name}"
            + (
                " (its FUIAD splits set the noise: use alpha)" if given[0] == "label_noise"
                else " (alpha is Real-IAD's FUIAD split; emulate noise with label_noise)"
                if given[0] == "alpha" else ""
            ) + "."
        )


def load_for_model(root, type_codes, **options):
    """The data set at ``root`` read for a trained model whose channels are
    ``type_codes``: its multi-class setting, its own channel order, without
    the types the model was trained without.

    Args:
        options: ``load_dataset``'s, but ``multi_class`` and ``types``
            (the model decides them); ``types`` may be given when it names
            the model's types in the model's order.

    Raises:
        ValueError: the data set's types are not the model's, naming both.
    """
    multi_class = tuple(type_codes) == (ANY_DEFECT_CODE,)
    types = options.pop("types", None)
    if types is not None and tuple(types) != tuple(type_codes):
        raise ValueError(
            f"--types {','.join(types)} differs from the model's types {list(type_codes)} "
            "(the model's channel order is fixed when it is trained); leave --types out."
        )
    layout = options.pop("layout", None) or "auto"
    data = load_dataset(root, layout=layout, multi_class=multi_class, **options)
    # A model trained without some of the data set's types (exclude_types)
    # is evaluated on the rest; their test images stay in excluded_test.
    excluded = [name for name in data.defect_types if name not in type_codes]
    if not multi_class and set(type_codes) <= set(data.defect_types):
        realiad = data.layout == "realiad"
        data = without_types(data, excluded, None if realiad else tuple(type_codes))
    if not multi_class and data.type_codes != tuple(type_codes):
        raise ValueError(
            f"{root}: the data set's types {list(data.type_codes)} are not the model's "
            f"{list(type_codes)}; evaluate a model on data with its own types."
        )
    return data
