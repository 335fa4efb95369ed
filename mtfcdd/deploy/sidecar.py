"""The JSON sidecar of a converted model: what a board needs beside the weights.

``mtfcdd.deploy.export`` writes it next to each ``.tflite``, ``.onnx`` or
OpenVINO ``.xml`` file, named after it with ``.json`` appended (``model.tflite`` ->
``model.tflite.json``), and the runners (``mtfcdd.deploy.runner``,
``mtfcdd.deploy.onnx_runner``, ``mtfcdd.deploy.openvino_runner``) read it. Schema, version 3
(docs/deployment.md)::

    {
      "schema_version": 3,
      "mtfcdd_version": "0.1.0",           the package that wrote the file
      "format": "tflite",                  "tflite" (LiteRT), "onnx" or "openvino"
      "output": "type_projection",         the file outputs phi_k; Eq. 1 follows
      "type_codes": ["AK", ..., "ZW"],     code of each heatmap channel, in order
      "image_size": [299, 299],            the model's input [height, width]
      "score_reduction": "mean",           "mean" (paper Eq. 2) or "max"
      "thresholds": [0.21, ...] or null,   one decision threshold per type
      "threshold_source": "10 % of ...",   how they were fitted, or null;
                                           optional (older files lack it)
      "open_set": {"method": "normal_distance", "threshold": 4.2,
                   "parameters": {...}} or null
                                           the rule that calls an image no type
                                           fires on an "unknown defect"
                                           (mtfcdd.inference.open_set); optional:
                                           older files lack it (off)
      "quantization": "int8",              "none", "float16", "dynamic", "int8";
                                           "none" or "int8" for ONNX and OpenVINO
      "num_calibration_images": 100,       images that calibrated int8, else null
      "weights_source": "imagenet",        the weights the backbone started from
      "preprocessor": {"image_size": [299, 299], "decoder": "opencv",
                       "resize": "area_bilinear"}
                                           how images become the input
                                           (mtfcdd.data.preprocessor); optional:
                                           older files lack it and get this one
    }

``image_size``, ``weights_source`` and the postprocessor's fields
(``type_codes``, ``score_reduction``, ``thresholds``, ``threshold_source``,
``open_set``)
are copied from the model's own config, under its names
(``mtfcdd.inference.heatmap_model.MODEL_FACTS``), and read back into the
same ``Postprocessor`` (``mtfcdd.deploy.converted_model``).

Version 2 (mtfcdd 0.1) named the input size ``input_size``; such files are
read as version 3. ``format`` came with ONNX export, within version 3; a
sidecar without it describes a LiteRT file, the only kind written before.

No Keras or TensorFlow here: the runner reads sidecars on a board.
"""

import hashlib
import json
import math
import numbers
import os

from mtfcdd.constants import (
    DEFECT_CODES, EXPORT_FORMATS, FORMAT_QUANTIZATIONS, QUANTIZATIONS, SCORE_REDUCTIONS,
)
from mtfcdd.data.preprocessor import DECODERS, RESIZE_RULES, Preprocessor
from mtfcdd.inference.open_set import OPEN_SET_METHODS, OpenSetRule
from mtfcdd.utils.atomic_files import write_json

SCHEMA_VERSION = 3
# Older versions that read as this one once their renamed fields are renamed.
_RENAMED_FIELDS = {2: {"input_size": "image_size"}}
# What the .tflite file outputs: phi_k, the input of the pseudo-Huber layer
# (paper Eq. 1), which the runner applies (mtfcdd.deploy.export says why).
MODEL_OUTPUT = "type_projection"
SIDECAR_SUFFIX = ".json"
# The fields that must match the model file's bytes: its fingerprint covers
# them with the file, so that a file of another run, or a sidecar edited
# against its file or thresholds, is refused. (The runner checks the
# quantization against the file's input type itself.)
FINGERPRINT_FIELDS = ("format", "type_codes", "image_size", "score_reduction", "thresholds")
# Covered by the fingerprint once present: a sidecar written before them keeps its fingerprint.
OPTIONAL_FINGERPRINT_FIELDS = ("preprocessor", "open_set")


def sidecar_path(model_path):
    """The sidecar's path for a model file's path: the same name plus ``.json``."""
    return os.fspath(model_path) + SIDECAR_SUFFIX


def write_sidecar(model_path, metadata):
    """Checks ``metadata`` against the schema and writes it atomically.

    Without a ``format`` field, the sidecar describes a LiteRT file.
    """
    path = sidecar_path(model_path)
    metadata = _upgraded(metadata)
    check_sidecar(metadata, path)
    if os.path.isfile(model_path):
        metadata = {**metadata, "fingerprint": model_fingerprint(model_path, metadata)}
    write_json(path, metadata)
    return path


def model_files(model_path):
    """The files of a converted model: itself, and for an OpenVINO ``.xml``
    the ``.bin`` beside it that holds the weights (OpenVINO's own naming)."""
    model_path = os.fspath(model_path)
    stem, extension = os.path.splitext(model_path)
    return (model_path, stem + ".bin") if extension == ".xml" else (model_path,)


def model_fingerprint(model_path, metadata):
    """SHA-256 of the model's files' bytes (``model_files``) followed by the
    JSON of its ``FINGERPRINT_FIELDS`` (keys sorted)."""
    digest = hashlib.sha256()
    for path in model_files(model_path):
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    fields = {field: metadata.get(field) for field in FINGERPRINT_FIELDS}
    for field in OPTIONAL_FINGERPRINT_FIELDS:
        if field in metadata:
            fields[field] = metadata[field]
    digest.update(json.dumps(fields, sort_keys=True).encode())
    return digest.hexdigest()


def read_sidecar(model_path):
    """Reads and checks the sidecar of ``model_path`` (its fields, and its
    fingerprint against the model file); returns its fields as a dict,
    without the fingerprint."""
    path = sidecar_path(model_path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path}: sidecar not found. A converted model needs the JSON file "
            "that `mtfcdd export` writes beside it (type codes, input size, "
            "thresholds); copy it with the model file."
        )
    with open(path, encoding="utf-8") as file:
        try:
            metadata = json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON ({error}).") from error
    metadata = _upgraded(metadata)
    check_sidecar(metadata, path)
    # A sidecar written before fingerprints existed has none to check. The
    # fingerprint is checked here and not returned: it describes the files,
    # not the model.
    fingerprint = metadata.pop("fingerprint", None)
    if (
        fingerprint is not None and os.path.isfile(model_path)
        and fingerprint != model_fingerprint(model_path, metadata)
    ):
        raise ValueError(
            f"{model_path} and its sidecar {path} do not belong together: the sidecar's "
            f"fingerprint (SHA-256 of the model file and its {', '.join(FINGERPRINT_FIELDS)}) is "
            "not theirs, so the file was replaced or the sidecar edited. Export the model again, "
            "or copy the sidecar written with this file."
        )
    return metadata


def _upgraded(metadata):
    """A sidecar of an older schema, or without ``format``, as today's."""
    if not isinstance(metadata, dict):
        return metadata
    if metadata.get("schema_version") in _RENAMED_FIELDS:
        renames = _RENAMED_FIELDS[metadata["schema_version"]]
        metadata = {renames.get(field, field): value for field, value in metadata.items()}
        metadata["schema_version"] = SCHEMA_VERSION
    if "format" not in metadata:
        # Written before ONNX export existed: a LiteRT file.
        metadata = {**metadata, "format": EXPORT_FORMATS[0]}
    return metadata


def check_sidecar(metadata, source):
    """Raises ``ValueError`` naming the first field of ``metadata`` at fault."""
    if not isinstance(metadata, dict):
        raise ValueError(f"{source}: a sidecar must be a JSON object.")
    if metadata.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(
            f"{source}: schema_version is {metadata.get('schema_version')!r}; "
            f"this mtfcdd reads version {SCHEMA_VERSION}."
        )
    type_codes = metadata.get("type_codes")
    checks = {
        "mtfcdd_version": (_is_string, "a string"),
        "format": (lambda value: value in EXPORT_FORMATS, f"one of {EXPORT_FORMATS}"),
        "output": (lambda value: value == MODEL_OUTPUT, repr(MODEL_OUTPUT)),
        "type_codes": (
            _are_type_codes,
            "a non-empty list of distinct type codes (Real-IAD's in their channel order "
            f"{list(DEFECT_CODES)})",
        ),
        "image_size": (
            lambda value: isinstance(value, list) and len(value) == 2
            and all(_is_positive_integer(side) for side in value),
            "[height, width] in pixels",
        ),
        "score_reduction": (
            lambda value: value in SCORE_REDUCTIONS, f"one of {SCORE_REDUCTIONS}"
        ),
        "thresholds": (
            lambda value: value is None or (
                isinstance(value, list) and isinstance(type_codes, list)
                and len(value) == len(type_codes)
                and all(_is_number(threshold) and math.isfinite(threshold) for threshold in value)
            ),
            "null or one finite number per type code",
        ),
        "quantization": (
            lambda value: value in FORMAT_QUANTIZATIONS.get(metadata.get("format"), ()),
            f"one of {FORMAT_QUANTIZATIONS.get(metadata.get('format'), QUANTIZATIONS)} "
            f"for a {metadata.get('format')} file",
        ),
        "num_calibration_images": (
            lambda value: value is None or _is_positive_integer(value),
            "null or a positive integer",
        ),
        "weights_source": (_is_string, "a string"),
    }
    # Added within version 3: a sidecar may lack them.
    optional_checks = {
        "threshold_source": (lambda value: value is None or _is_string(value), "null or a string"),
        "preprocessor": (
            lambda value: _is_preprocessor(value, metadata.get("image_size")),
            f"an object with image_size {metadata.get('image_size')} (the sidecar's), decoder "
            f"one of {DECODERS} and resize one of {RESIZE_RULES}",
        ),
        "open_set": (
            lambda value: value is None or _is_open_set_rule(value),
            "null or an object with method (one of "
            f"{OPEN_SET_METHODS}), threshold and the method's parameters",
        ),
    }
    for field, (is_valid, expected) in {**checks, **optional_checks}.items():
        if field not in metadata:
            if field in optional_checks:
                continue
            raise ValueError(f"{source}: field {field!r} is missing; expected {expected}.")
        if not is_valid(metadata[field]):
            raise ValueError(
                f"{source}: field {field!r} is {metadata[field]!r}; expected {expected}."
            )


def _are_type_codes(value):
    """Distinct strings; Real-IAD's codes only in ``DEFECT_CODES`` order (the
    order the model's channels were trained in: a reordered list would name
    every heatmap wrongly)."""
    if not isinstance(value, list) or not value or not all(_is_string(code) for code in value):
        return False
    realiad_codes = [code for code in value if code in DEFECT_CODES]
    return len(set(value)) == len(value) and realiad_codes == sorted(realiad_codes, key=DEFECT_CODES.index)


def _is_preprocessor(value, image_size):
    try:
        Preprocessor.from_config(value, image_size)
    except (TypeError, ValueError):
        return False
    return value is not None


def _is_open_set_rule(value):
    try:
        OpenSetRule.from_config(value)
    except (TypeError, ValueError):
        return False
    return True


def _is_string(value):
    return isinstance(value, str)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_positive_integer(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
