"""What every data set layout is read into: ``DataSet``, the package's one
description of the training and test images and of the defect types.

Each layout's reader (``realiad``, ``folder``, ``mvtec``, ``manifest``)
produces a ``DataSet``; training, evaluation and the reports consume it and
never look at the layout. The data set's ``type_codes`` are the names of the
model's K heatmap channels in order (paper 3.1: any K): Real-IAD's eight
codes, or a user's own names (``"crack"``, ``"dent"``...), which the trained
model carries into its config, its exported files and every output.
"""

import dataclasses
import unicodedata
from typing import Optional, Tuple

import numpy as np

from mtfcdd.constants import ANY_DEFECT_CODE, DEFECTIVE_CLASS, NORMAL_CLASS, fuiad_setting
from mtfcdd.data.sample import Sample


@dataclasses.dataclass(frozen=True)
class DataSet:
    """The training and test images of one data set, read from any layout.

    Attributes:
        train: the training ``Sample``s.
        test: the test ``Sample``s.
        type_codes: the defect type of each model channel, in channel order
            (``(ANY_DEFECT_CODE,)`` when read for the multi-class setting).
        defect_types: the data set's own defect types in order, whatever the
            setting (``type_codes`` of the multi-type model).
        layout: ``"realiad"``, ``"folder"``, ``"mvtec"`` or ``"manifest"``.
        root: the folder (or manifest file) read.
        alpha: Real-IAD's FUIAD noise ratio; None for every other layout.
        label_noise: the fraction of defective training images relabelled
            normal to emulate FUIAD's noise (``with_label_noise``), or None.
        record: the file lists a reader or ``with_label_noise`` decided on
            (plain JSON values), which a run keeps in ``data_files.json``:
            e.g. the training images relabelled normal.
        excluded_test: the test images of the defect types left out
            (``without_types``), with labels of zeros (no channel is
            theirs) and their own ``anomaly_class``: images of a type the
            model has never seen, which only an open-set decision
            (``mtfcdd.inference.open_set``) can flag.
    """

    train: Tuple[Sample, ...]
    test: Tuple[Sample, ...]
    type_codes: Tuple[str, ...]
    defect_types: Tuple[str, ...]
    layout: str
    root: str
    alpha: Optional[float] = None
    label_noise: Optional[float] = None
    record: Optional[dict] = None
    excluded_test: Tuple[Sample, ...] = ()

    @property
    def setting(self):
        """The key of this data set's results: alpha for Real-IAD (as ever),
        else the layout and any emulated noise, e.g. ``"folder, noise 0.2"``."""
        if self.layout == "realiad":
            return self.alpha
        return self.layout + ("" if self.label_noise is None else f", noise {self.label_noise:g}")

    def description(self, split="training"):
        """``"training images of the folder data set at ROOT"``, for messages."""
        if self.layout == "realiad":
            return f"{split} images of {fuiad_setting(self.alpha)} (alpha {self.alpha}) in {self.root}"
        return f"{split} images of the {self.layout}-layout data set {self.root}"

    def settings(self):
        """The data set's entry in ``results.json`` (custom layouts only:
        Real-IAD's results keep their alpha and nothing more)."""
        return {
            "layout": self.layout,
            "root": self.root,
            "defect_types": list(self.defect_types),
            "label_noise": self.label_noise,
        }


def labelled_sample(image_path, mask_path, category, anomaly_class, defect_types, multi_class):
    """The ``Sample`` of one image of a data set whose types are ``defect_types``.

    Args:
        anomaly_class: ``NORMAL_CLASS`` or one of ``defect_types``.
        multi_class: one "any defect" label (paper 5.2) instead of one per type.
    """
    if multi_class:
        labels = (int(anomaly_class != NORMAL_CLASS),)
    else:
        labels = tuple(int(name == anomaly_class) for name in defect_types)
    return Sample(
        image_path=image_path, mask_path=mask_path, category=category,
        anomaly_class=anomaly_class, labels=labels,
    )


def without_types(data, excluded, types=None):
    """``data`` without the defect types ``excluded``: their images leave both
    splits (the test ones go to ``excluded_test``) and their channels the
    labels, as if the data set had never had them.

    Args:
        data: a ``DataSet``.
        excluded: names of some of ``data.defect_types``.
        types: the kept types in channel order (``--types``); None keeps
            the data set's order.
    """
    excluded = tuple(excluded)
    unknown = [name for name in excluded if name not in data.defect_types]
    if unknown:
        raise ValueError(
            f"{data.root}: cannot exclude {unknown}: not a defect type of the data set "
            f"{list(data.defect_types)}."
        )
    kept = tuple(name for name in data.defect_types if name not in excluded)
    if not kept:
        raise ValueError(f"{data.root}: excluding {list(excluded)} leaves no defect type to train.")
    if types is not None:
        kept = ordered_types(kept, types, data.root)
    multi_class = data.type_codes == (ANY_DEFECT_CODE,)
    columns = [data.defect_types.index(name) for name in kept]

    def relabelled(samples):
        if multi_class:
            return samples
        return tuple(
            dataclasses.replace(sample, labels=tuple(sample.labels[column] for column in columns))
            for sample in samples
        )

    def split(samples, left_out):
        return tuple(sample for sample in samples if (sample.anomaly_class in excluded) == left_out)

    return dataclasses.replace(
        data, train=relabelled(split(data.train, False)), test=relabelled(split(data.test, False)),
        excluded_test=relabelled(split(data.test, True)), type_codes=channel_codes(kept, multi_class),
        defect_types=kept,
    )


def channel_codes(defect_types, multi_class):
    """The model's channel names: the defect types, or the one "any defect"."""
    return (ANY_DEFECT_CODE,) if multi_class else tuple(defect_types)


def check_type_names(names, where):
    """Refuse type names a model cannot tell apart or that mean something else.

    Names are kept as written (any UTF-8), but two that differ only in case
    or spacing would be two channels for one defect, and the reserved class
    names would be read as normal images or the sampler's defective class.
    """
    seen = {}
    for name in names:
        if not name.strip():
            raise ValueError(f"{where}: an empty defect type name; give every type a name.")
        if name in (NORMAL_CLASS, DEFECTIVE_CLASS, ANY_DEFECT_CODE):
            raise ValueError(
                f"{where}: the defect type name {name!r} is reserved (the package's name for "
                "normal images, all defects, or any defect); rename that type."
            )
        key = name_key(name)
        if key in seen:
            raise ValueError(
                f"{where}: the defect types {seen[key]!r} and {name!r} differ only in case or "
                "spacing; merge or rename them."
            )
        seen[key] = name


def name_key(name):
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def ordered_types(found, requested, where):
    """The channel order: ``requested`` (``--types a,b,c``) or ``found`` sorted.

    Args:
        found: the defect types the layout holds.
        requested: None, or the names in the order the user wants; they must
            be exactly the types found.
    """
    check_type_names(found, where)
    if requested is None:
        return tuple(sorted(found))
    requested = tuple(requested)
    missing = sorted(set(found) - set(requested))
    extra = [name for name in requested if name not in found]
    if missing or extra or len(set(requested)) != len(requested):
        raise ValueError(
            f"{where}: --types {','.join(requested)} must name each defect type of the data "
            f"set once; the data set has {sorted(found)}"
            + (f", not {extra}" if extra else "") + (f", missing {missing}" if missing else "") + "."
        )
    return requested


def with_label_noise(data, fraction, seed):
    """``data`` with ``fraction`` of its defective training images relabelled
    normal, chosen per type and seeded: FUIAD's noise (paper 4.1) emulated
    on a clean data set. Their masks are dropped, as a normal image has none.
    """
    if data.layout == "realiad":
        raise ValueError(
            "label_noise emulates FUIAD's noise on your own data; Real-IAD has its own "
            "FUIAD splits: choose one with alpha."
        )
    if not 0 <= fraction < 1:
        raise ValueError(f"label_noise must be a fraction in [0, 1); got {fraction!r}.")
    rng = np.random.default_rng([seed, 4])
    relabelled = set()
    for name in data.defect_types:
        indices = [index for index, sample in enumerate(data.train) if sample.anomaly_class == name]
        count = round(fraction * len(indices))
        relabelled.update(rng.choice(indices, size=count, replace=False).tolist() if count else ())
    train = tuple(
        dataclasses.replace(sample, anomaly_class=NORMAL_CLASS, mask_path=None, labels=(0,) * len(sample.labels))
        if index in relabelled else sample
        for index, sample in enumerate(data.train)
    )
    record = dict(data.record or {})
    record["relabelled_normal"] = sorted(data.train[index].image_path for index in relabelled)
    return dataclasses.replace(data, train=train, label_noise=fraction, record=record)


def hold_out(samples, fraction, seed):
    """Split ``samples`` into (kept, held-out) per class, seeded.

    Each class (normal, each defect type) gives ``round(fraction * n)`` of
    its images, at least one when it has two or more: so that every type
    present in training can have a threshold (the trainer's held-out
    images), or be both trained and tested on (MVTec's test images moved
    into training). ``seed`` is anything ``numpy.random.default_rng`` takes.
    """
    if fraction == 0:
        return tuple(samples), ()
    rng = np.random.default_rng(seed)
    by_class = {}
    for index, sample in enumerate(samples):
        by_class.setdefault(sample.anomaly_class, []).append(index)
    held_out = set()
    for anomaly_class in sorted(by_class):
        indices = by_class[anomaly_class]
        count = max(round(fraction * len(indices)), 1) if len(indices) > 1 else 0
        held_out.update(rng.choice(indices, size=count, replace=False).tolist())
    training = tuple(sample for index, sample in enumerate(samples) if index not in held_out)
    return training, tuple(samples[index] for index in sorted(held_out))
