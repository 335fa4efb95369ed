"""The synthetic data set in the other layouts, with the user's type names.

``make_synthetic_dataset`` renders the synthetic set in Real-IAD's layout
(``make_synthetic_iad``), then lays its images out as the folder layout
(``mtfcdd.data.folder``) or MVTec AD's (``mtfcdd.data.mvtec``, one folder
per object) under the user's names. In each object, type ``k`` of ``types``
is drawn with the object's defect kind ``k`` modulo its kinds (Real-IAD's
codes in their order); where several names share a kind, its defective
images go to them in turn. The training images are the FUIAD split with the
most labelled defects (alpha 0.4); the test images are its test split
(MVTec's layout puts every defective image in test, as MVTec AD does). The set is built in a temporary folder beside ``OUT`` and
renamed into place, so an interrupted run leaves no half-written set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence

from mtfcdd.constants import DEFAULT_NORMAL_NAME, DEFECT_CODES, FUIAD_ALPHAS, MASK_EXTENSION
from mtfcdd.data.dataset import check_type_names
from mtfcdd.data.folder import MASKS_FOLDER
from mtfcdd.data.mvtec import GROUND_TRUTH_FOLDER, MASK_NAME
from mtfcdd.data.realiad.reader import load_realiad
from mtfcdd.data.synthetic.dataset import make_synthetic_iad
from mtfcdd.data.synthetic.presets import SyntheticPreset

SYNTHETIC_LAYOUTS = ("realiad", "folder", "mvtec")
"""The layouts ``make_synthetic_dataset`` writes."""


def make_synthetic_dataset(
    output_dir: str | os.PathLike[str],
    layout: str = "folder",
    types: Sequence[str] | None = None,
    preset: str | SyntheticPreset = "demo",
    seed: int = 0,
    progress: bool = True,
) -> str:
    """Writes a synthetic data set in ``layout`` with defect types ``types``.

    Args:
        output_dir: a new or empty folder.
        layout: one of ``SYNTHETIC_LAYOUTS``.
        types: the defect type names (default: the renderer's codes, e.g.
            ``AK``); not for ``"realiad"``, whose codes are fixed.
        preset, seed, progress: as for ``make_synthetic_iad``.

    Returns:
        The data set root (absolute ``output_dir``).
    """
    if layout not in SYNTHETIC_LAYOUTS:
        raise ValueError(f"layout must be one of {SYNTHETIC_LAYOUTS}; got {layout!r}.")
    if layout == "realiad":
        if types is not None:
            raise ValueError("Real-IAD's layout has its eight fixed codes; --types needs --layout folder or mvtec.")
        return make_synthetic_iad(output_dir, preset=preset, seed=seed, progress=progress)
    root = os.path.abspath(output_dir)
    if os.path.exists(root) and (not os.path.isdir(root) or os.listdir(root)):
        raise ValueError(f"{root}: already exists and is not an empty folder; choose a new output folder.")
    if types is not None:
        types = tuple(types)
        check_type_names(types, "--types")
    parent = os.path.dirname(root)
    os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent, prefix=".synth-") as work:
        realiad_root = make_synthetic_iad(os.path.join(work, "realiad"), preset=preset, seed=seed, progress=progress)
        split = load_realiad(realiad_root, alpha=FUIAD_ALPHAS[-1])
        names = _names_by_image(split, types)
        staging = os.path.join(work, "out")
        place = _place_mvtec if layout == "mvtec" else _place_folder
        for split_name, samples in (("train", split.train), ("test", split.test)):
            for sample in samples:
                if sample.is_normal or sample.image_path in names:
                    place(sample, staging, split_name, names.get(sample.image_path, DEFAULT_NORMAL_NAME))
        if os.path.isdir(root):
            os.rmdir(root)
        os.rename(staging, root)
    return root


def _names_by_image(split, types):
    """``{image path: type name}`` of the defective images that are kept.

    Without ``types`` a type is named by its kind's code. Otherwise, in each
    object, type ``k`` takes the object's kind ``k % (its kinds)``; a kind
    shared by several names deals its images out to them in turn, in each
    split apart so that every name trains; a kind no name takes is left out.
    """
    samples = split.train + split.test
    names = {}
    for category in sorted({sample.category for sample in samples}):
        kinds = [code for code in DEFECT_CODES if any(
            sample.category == category and sample.anomaly_class == code for sample in samples
        )]
        names_of_kind = {
            kind: [kind] if types is None else [
                name for index, name in enumerate(types) if kinds[index % len(kinds)] == kind
            ]
            for kind in kinds
        }
        for split_samples in (split.train, split.test):
            dealt = dict.fromkeys(kinds, 0)
            for sample in split_samples:
                kind_names = names_of_kind.get(sample.anomaly_class) if sample.category == category else None
                if kind_names:
                    names[sample.image_path] = kind_names[dealt[sample.anomaly_class] % len(kind_names)]
                    dealt[sample.anomaly_class] += 1
    return names


def _place_folder(sample, staging, split_name, class_name):
    """Copy one image (and its mask) into the folder layout."""
    _copy(sample.image_path, os.path.join(staging, split_name, class_name))
    if sample.mask_path is not None:
        _copy(sample.mask_path, os.path.join(staging, MASKS_FOLDER, split_name, class_name), _stem(sample) + MASK_EXTENSION)


def _place_mvtec(sample, staging, split_name, class_name):
    """Copy one image (and its mask) into MVTec AD's layout: its training
    split normal images only, every defective image a test image."""
    split_name = "train" if split_name == "train" and sample.is_normal else "test"
    object_folder = os.path.join(staging, sample.category)
    _copy(sample.image_path, os.path.join(object_folder, split_name, class_name))
    if sample.mask_path is not None:
        _copy(sample.mask_path, os.path.join(object_folder, GROUND_TRUTH_FOLDER, class_name),
              MASK_NAME.format(stem=_stem(sample)))


def _stem(sample):
    return os.path.splitext(os.path.basename(sample.image_path))[0]


def _copy(path, folder, name=None):
    os.makedirs(folder, exist_ok=True)
    shutil.copyfile(path, os.path.join(folder, name or os.path.basename(path)))
