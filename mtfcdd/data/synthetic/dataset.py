"""Writing the synthetic data set: samples, images, masks and FUIAD split files.

``make_synthetic_iad`` plans the samples of each object of a preset,
renders them (``render``), writes their images and masks in Real-IAD's
folders under Real-IAD's file names, and the split files of every FUIAD
setting: a training split of the same size for every alpha, ``alpha`` of
it defective with labels, and one test split shared by all alphas.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
from typing import Optional

import cv2
import numpy as np

from mtfcdd.constants import (
    FUIAD_ALPHAS,
    IMAGE_FOLDER_PREFIX,
    MASK_EXTENSION,
    NORMAL_CLASS,
    SPLITS_FOLDER,
    fuiad_setting,
)
from mtfcdd.data.synthetic.camera import CAMERAS
from mtfcdd.data.synthetic.objects import SYNTHETIC_OBJECTS
from mtfcdd.data.synthetic.presets import PRESETS, SyntheticPreset
from mtfcdd.data.synthetic.render import (
    MIN_DEFECTIVE_VIEWS,
    ObjectRenderer,
    check_image_size,
    object_key,
)
from mtfcdd.utils.atomic_files import write_bytes, write_json
from mtfcdd.utils.progress import ProgressBar

JPEG_QUALITY = 92


@dataclasses.dataclass(frozen=True)
class _PlannedSample:
    number: int
    defect_code: Optional[str]  # None for a normal sample
    in_test: bool


def _round_half_up(value):
    return int(math.floor(value + 0.5))


def _defective_train_images(alpha, train_images):
    return _round_half_up(alpha * train_images)


def _plan_samples(object_name, preset, rng):
    """The samples of one object: normal ones first, then each defect type's.

    There are enough training samples for the largest alpha, counting the
    fewest defective views a defective sample can have.
    """
    codes = SYNTHETIC_OBJECTS[object_name].defect_codes
    largest = _defective_train_images(FUIAD_ALPHAS[-1], preset.train_images)
    per_type = math.ceil(largest / len(codes))
    train_defective = math.ceil(per_type / MIN_DEFECTIVE_VIEWS)
    groups = [(None, math.ceil(preset.train_images / CAMERAS), preset.test_normal_samples)]
    groups += [(code, train_defective, preset.test_defective_samples) for code in codes]
    samples = []
    for code, train_count, test_count in groups:
        in_test = np.zeros(train_count + test_count, bool)
        in_test[rng.permutation(len(in_test))[:test_count]] = True
        samples += [
            _PlannedSample(len(samples) + index + 1, code, bool(test))
            for index, test in enumerate(in_test)
        ]
    return samples


def _timestamp(object_name, sample_number, camera):
    """A 14-digit capture time: the five views of a sample a second apart."""
    start = datetime.datetime(2023, 9, 4, 8, 0, 0) + datetime.timedelta(
        minutes=object_key(object_name) % 9000
    )
    moment = start + datetime.timedelta(seconds=47 * sample_number + camera)
    return moment.strftime("%Y%m%d%H%M%S")


def _file_stem(object_name, sample, camera):
    timestamp = _timestamp(object_name, sample.number, camera)
    if sample.defect_code is None:
        return f"{object_name}_{sample.number:04d}_OK_C{camera}_{timestamp}"
    # Real-IAD names some objects' defective files with a double underscore.
    separator = "__" if SYNTHETIC_OBJECTS[object_name].double_underscore else "_"
    return (
        f"{object_name}{separator}{sample.number:04d}_NG_{sample.defect_code}_C{camera}_{timestamp}"
    )


def _sample_folder(sample):
    if sample.defect_code is None:
        return f"{NORMAL_CLASS}/S{sample.number:04d}"
    return f"NG/{sample.defect_code}/S{sample.number:04d}"


def _encode(extension, image, parameters=()):
    succeeded, encoded = cv2.imencode(extension, image, list(parameters))
    if not succeeded:
        raise RuntimeError(f"OpenCV could not encode a {extension} image")
    return encoded.tobytes()


def _write_sample(object_folder, object_name, sample, views):
    """Writes a sample's images and masks; returns its split entries."""
    folder = _sample_folder(sample)
    os.makedirs(os.path.join(object_folder, folder), exist_ok=True)
    entries = []
    for view in views:
        stem = f"{folder}/{_file_stem(object_name, sample, view.camera)}"
        bgr = cv2.cvtColor(view.image, cv2.COLOR_RGB2BGR)
        write_bytes(
            os.path.join(object_folder, f"{stem}.jpg"),
            _encode(".jpg", bgr, (cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY)),
        )
        mask_path = None
        if view.mask is not None:
            mask_path = f"{stem}{MASK_EXTENSION}"
            write_bytes(os.path.join(object_folder, mask_path), _encode(MASK_EXTENSION, view.mask))
        entries.append(
            {
                "category": object_name,
                "anomaly_class": sample.defect_code if view.mask is not None else NORMAL_CLASS,
                "image_path": f"{stem}.jpg",
                "mask_path": mask_path,
            }
        )
    return entries


def _fuiad_train(samples, entries_by_sample, alpha, train_images, codes):
    """The FUIAD training split of one object at ``alpha`` (paper 4.1).

    Defective images are taken one type at a time in turn, so every type is
    present even at alpha 0.1; the normal images are first the unlabelled
    views of those defective samples, then the views of normal samples.
    """
    defective_count = _defective_train_images(alpha, train_images)
    queues = {code: [] for code in codes}
    for sample in samples:
        if sample.defect_code is not None and not sample.in_test:
            queues[sample.defect_code] += [
                (sample.number, entry)
                for entry in entries_by_sample[sample.number]
                if entry["anomaly_class"] != NORMAL_CLASS
            ]
    chosen = []
    while len(chosen) < defective_count and any(queues.values()):
        for code in codes:
            if queues[code] and len(chosen) < defective_count:
                chosen.append(queues[code].pop(0))
    if len(chosen) < defective_count:
        raise RuntimeError(
            f"only {len(chosen)} defective training images for {defective_count} wanted"
        )
    used_samples = sorted({number for number, _ in chosen})
    normal_pool = [
        (number, entry)
        for number in used_samples
        for entry in entries_by_sample[number]
        if entry["anomaly_class"] == NORMAL_CLASS
    ] + [
        (sample.number, entry)
        for sample in samples
        if sample.defect_code is None and not sample.in_test
        for entry in entries_by_sample[sample.number]
    ]
    chosen += normal_pool[: train_images - defective_count]
    if len(chosen) < train_images:
        raise RuntimeError(f"only {len(chosen)} training images for {train_images} wanted")
    return [entry for _, entry in sorted(chosen, key=lambda item: (item[0], item[1]["image_path"]))]


def _write_splits(root, object_name, samples, entries_by_sample, preset):
    codes = SYNTHETIC_OBJECTS[object_name].defect_codes
    test = [
        entry for sample in samples if sample.in_test for entry in entries_by_sample[sample.number]
    ]
    for alpha in FUIAD_ALPHAS:
        folder = os.path.join(root, SPLITS_FOLDER, fuiad_setting(alpha))
        os.makedirs(folder, exist_ok=True)
        split = {
            "meta": {"prefix": f"{object_name}/", "normal_class": NORMAL_CLASS},
            "train": _fuiad_train(samples, entries_by_sample, alpha, preset.train_images, codes),
            "test": test,
        }
        write_json(os.path.join(folder, f"{object_name}.json"), split)


def _resolve_preset(preset):
    if isinstance(preset, SyntheticPreset):
        chosen = preset
    elif preset in PRESETS:
        chosen = PRESETS[preset]
    else:
        raise ValueError(
            f"unknown preset {preset!r}; expected one of {sorted(PRESETS)} or a SyntheticPreset"
        )
    unknown = [name for name in chosen.objects if name not in SYNTHETIC_OBJECTS]
    if unknown:
        raise ValueError(
            f"preset objects {unknown} are not in SYNTHETIC_OBJECTS {sorted(SYNTHETIC_OBJECTS)}"
        )
    check_image_size(chosen.image_size)
    if chosen.train_images < 1:
        raise ValueError(f"preset train_images must be positive, got {chosen.train_images}")
    return chosen


def make_synthetic_iad(
    output_dir: str | os.PathLike[str],
    preset: str | SyntheticPreset = "demo",
    seed: int = 0,
    progress: bool = True,
) -> str:
    """Writes a synthetic data set in Real-IAD's layout (docs/data.md).

    ``output_dir`` receives ``realiad_<size>/<object>/{OK,NG}/...`` (JPEG
    images, PNG masks of 0/255) and
    ``realiad_jsons/realiad_jsons_fuiad_<alpha>/<object>.json`` for alpha
    0.0, 0.1, 0.2 and 0.4.

    Args:
        output_dir: folder to write to; created if missing. Its image folder
            must not exist yet or be empty, so sets never mix.
        preset: ``"tiny"`` (2 objects, 128 px, 220 images: for tests),
            ``"demo"`` (6 objects, 256 px, about 2,600 images), ``"full"``
            (10 objects, 256 px, about 15,000 images), or a
            ``SyntheticPreset``.
        seed: random seed; the same seed writes the same bytes.
        progress: show a progress bar.

    Returns:
        The data set root (absolute ``output_dir``): the folder that holds
        ``realiad_jsons``.
    """
    chosen = _resolve_preset(preset)
    root = os.path.abspath(output_dir)
    image_folder = os.path.join(root, f"{IMAGE_FOLDER_PREFIX}{chosen.image_size}")
    if os.path.isdir(image_folder) and os.listdir(image_folder):
        raise ValueError(f"{image_folder} already holds files; choose an empty output folder")
    plans = {
        name: _plan_samples(name, chosen, np.random.default_rng([seed, object_key(name), 3]))
        for name in chosen.objects
    }
    progress_bar = ProgressBar(
        sum(len(samples) for samples in plans.values()), "Generating", unit_name="sample", verbose=int(progress)
    )
    for name, samples in plans.items():
        renderer = ObjectRenderer(name, chosen.image_size, seed)
        object_folder = os.path.join(image_folder, name)
        entries_by_sample = {}
        for sample in samples:
            views = renderer.render(sample.number, sample.defect_code)
            entries_by_sample[sample.number] = _write_sample(object_folder, name, sample, views)
            progress_bar.add(1)
        _write_splits(root, name, samples, entries_by_sample, chosen)
    return root
