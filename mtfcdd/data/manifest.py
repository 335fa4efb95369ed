"""A CSV manifest: one row per image, for data that fits no folder tree.

::

    path,split,label,mask
    parts/0001.jpg,train,good,
    parts/0002.jpg,train,crack,masks/0002.png
    parts/0107.jpg,test,dent,

``path`` and ``mask`` are relative to the manifest's folder (``mask`` may be
empty or absent); ``split`` is ``train`` or ``test``; ``label`` is the normal
class's name (``good`` unless ``normal_name`` says otherwise) or a defect
type, kept as written. ``write_manifest`` writes one from any ``DataSet``.
"""

import csv
import io
import os

from mtfcdd.constants import DEFAULT_NORMAL_NAME, NORMAL_CLASS
from mtfcdd.data.dataset import DataSet, channel_codes, labelled_sample, ordered_types
from mtfcdd.utils.atomic_files import write_text

COLUMNS = ("path", "split", "label", "mask")
REQUIRED_COLUMNS = COLUMNS[:3]
SPLITS = ("train", "test")


def load_manifest(manifest_path, normal_name=DEFAULT_NORMAL_NAME, types=None, multi_class=False):
    """Read a CSV manifest (see the module's docstring).

    Returns:
        A ``DataSet`` with layout ``"manifest"``, rows in file order, each
        sample's category the manifest's folder name (as the folder
        layout's is its root's).

    Raises:
        ValueError: naming the file, the line and the field at fault.
    """
    manifest_path = os.path.abspath(manifest_path)
    rows = read_rows(manifest_path)
    found = sorted({row["label"] for _, row in rows if row["label"] != normal_name})
    unscored = sorted(
        {row["label"] for _, row in rows if row["split"] == "test"}
        - {row["label"] for _, row in rows if row["split"] == "train"} - {normal_name}
    )
    if unscored:
        raise ValueError(
            f"{manifest_path}: the type {unscored[0]!r} has test rows but no training rows, so no "
            "channel can score it."
        )
    defect_types = ordered_types(found, types, manifest_path)
    folder = os.path.dirname(manifest_path)
    samples = {split: [] for split in SPLITS}
    for _, row in rows:
        is_normal = row["label"] == normal_name
        samples[row["split"]].append(labelled_sample(
            os.path.join(folder, row["path"]),
            os.path.join(folder, row["mask"]) if row.get("mask") and not is_normal else None,
            os.path.basename(folder),
            NORMAL_CLASS if is_normal else row["label"], defect_types, multi_class,
        ))
    return DataSet(
        train=tuple(samples["train"]), test=tuple(samples["test"]),
        type_codes=channel_codes(defect_types, multi_class), defect_types=defect_types,
        layout="manifest", root=manifest_path,
    )


def read_rows(manifest_path):
    """``[(line number, row)]`` of the manifest, every field checked."""
    try:
        with open(manifest_path, newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            missing = [name for name in REQUIRED_COLUMNS if name not in (reader.fieldnames or ())]
            if missing:
                raise ValueError(
                    f"{manifest_path}: missing the columns {missing}; expected a header "
                    f"{','.join(COLUMNS)} (mask optional)."
                )
            rows = [(reader.line_num, row) for row in reader]
    except (UnicodeDecodeError, csv.Error) as error:
        raise ValueError(f"{manifest_path}: not a UTF-8 CSV file ({error}).") from None
    if not rows:
        raise ValueError(f"{manifest_path}: no rows; expected one row per image.")
    for line, row in rows:
        where = f"{manifest_path}, line {line}"
        if row["split"] not in SPLITS:
            raise ValueError(f"{where}: split {row['split']!r}; expected one of {SPLITS}.")
        for name in ("path", "mask"):
            value = row.get(name) or ""
            if os.path.isabs(value) or ".." in value.replace("\\", "/").split("/"):
                raise ValueError(
                    f"{where}: {name} {value!r} leaves the manifest's folder; expected a path "
                    "relative to it without '..'."
                )
        if not row["path"] or not row["label"]:
            raise ValueError(f"{where}: path and label must not be empty.")
    return rows


def write_manifest(data, manifest_path, normal_name=DEFAULT_NORMAL_NAME):
    """Write ``data``'s images as a manifest at ``manifest_path`` (atomically),
    paths relative to its folder; ``load_manifest`` reads the same samples."""
    folder = os.path.dirname(os.path.abspath(manifest_path))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for split, samples in (("train", data.train), ("test", data.test)):
        for sample in samples:
            writer.writerow([
                os.path.relpath(sample.image_path, folder), split,
                normal_name if sample.anomaly_class == NORMAL_CLASS else sample.anomaly_class,
                "" if sample.mask_path is None else os.path.relpath(sample.mask_path, folder),
            ])
    write_text(manifest_path, buffer.getvalue())
    return manifest_path
