"""Conversion of a MultiTypeFCDD model to LiteRT (TFLite) or ONNX, paper 5.3.

Keras 3's own route: ``model.export(..., format="tf_saved_model")`` writes a
SavedModel, ``tf.lite.TFLiteConverter.from_saved_model`` converts it. (Keras'
``format="litert"`` takes the same route but also admits TensorFlow "Flex"
ops, which ai-edge-litert on a board cannot run; here only LiteRT's builtin
ops are allowed, so such a model fails at conversion rather than on the
board.)

Quantisations (``QUANTIZATIONS``):

- ``"none"``: float32 weights and arithmetic; heatmaps equal Keras' to ~1e-5.
- ``"float16"``: float16 weights (half the file), float32 arithmetic.
- ``"dynamic"``: int8 weights, activations quantised on the fly.
- ``"int8"``: full-integer model calibrated on representative images. Its
  input is the uint8 RGB image itself (scale 1, zero point 0: the model's
  own pre-processing ``x / 127.5 - 1`` is folded into the first
  convolution); its output is float32: the converter dequantises the last
  int8 tensor in the graph, which costs nothing next to the network on a
  (u, v, K) map, and spares the runner a conversion.

Every file ends at the type projection phi_k, the input of the pseudo-Huber
layer (paper Eq. 1); the runner applies Eq. 1 in NumPy
(``mtfcdd.inference.postprocessing.pseudo_huber``), on a (u, v, K) map where it costs
nothing. In an int8 graph, Eq. 1's ``phi^2 + 1`` spans 1 to ~1,000 on one
8-bit scale (a step of ~3.4), which wipes out the small heatmap values that
separate normal from defective images: on an earlier demo model, 2.4 points
of mean I-AUROC against float32, and 0.2 points with Eq. 1 left to the
runner. One convention for every quantisation keeps the runner free of
special cases.

ONNX (``export_onnx``), for TensorRT on a Jetson, OpenVINO, onnxruntime and
anomalib users, takes Keras 3's own route too: ``model.export(...,
format="onnx")``, which converts the traced TensorFlow graph with tf2onnx
(the ``onnx`` extra). The file is float32 and ends at phi_k like the LiteRT
files; batch norm and the input scaling are folded into the convolutions.
The JAX backend would need jax2onnx instead; like LiteRT, ONNX export runs
on the TensorFlow backend (a ``.keras`` file from any backend loads there).

Every converted file gets a JSON sidecar beside it, ``<file>.json``, with
what the runner needs (type codes, input size, score reduction, thresholds)
and where the file came from (format, quantisation, weights, mtfcdd
version); its schema is in ``mtfcdd.deploy.sidecar`` and docs/deployment.md.

Both files are written to a temporary name and renamed, model first. The
SavedModel that the conversion goes through is written to a hidden folder
beside the output and removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import keras
import numpy as np
import tensorflow as tf

from mtfcdd import __version__
from mtfcdd.constants import FORMAT_QUANTIZATIONS, QUANTIZATIONS
from mtfcdd.deploy.sidecar import MODEL_OUTPUT, SCHEMA_VERSION, model_files, write_sidecar
from mtfcdd.inference.heatmap_model import model_facts
from mtfcdd.model.pseudo_huber import PseudoHuber
from mtfcdd.utils.atomic_files import atomic_path, remove_stale_partials, temporary_folder_beside, write_bytes
from mtfcdd.utils.optional_packages import import_optional

if TYPE_CHECKING:
    from mtfcdd.model.network import MultiTypeFCDD

RepresentativeImages = Sequence[str | os.PathLike[str]] | np.ndarray | Sequence[np.ndarray]
"""Calibration images: file paths, an array (N, H, W, 3), or (H, W, 3) arrays."""

ONNX_INPUT = "images"
"""The input name of the ONNX file (and of the OpenVINO file made from it)."""


def export_tflite(
    model: MultiTypeFCDD,
    output_path: str | os.PathLike[str],
    quantize: str = "none",
    representative_images: RepresentativeImages | None = None,
    num_calibration_images: int = 100,
) -> str | os.PathLike[str]:
    """Converts ``model`` to a ``.tflite`` file with its JSON sidecar.

    Args:
        model: a ``MultiTypeFCDD`` (``mtfcdd.build_model`` or a loaded
            ``.keras`` file), on the TensorFlow backend.
        output_path: the ``.tflite`` file to write; the sidecar is
            ``output_path + ".json"``.
        quantize: one of ``QUANTIZATIONS``, see the module docstring.
        representative_images: for ``"int8"`` only, and required there:
            RGB images like those the model will see, as a list of image
            file paths, or an array (N, H, W, 3), or a list of (H, W, 3)
            arrays, values 0..255. Resized like the runner resizes.
        num_calibration_images: how many of them calibrate the int8 model,
            taken evenly spaced through the list.

    Returns:
        ``output_path``.
    """
    export_tflite_variants(
        model, {quantize: output_path}, representative_images, num_calibration_images
    )
    return output_path


def export_tflite_variants(
    model,
    output_paths,
    representative_images=None,
    num_calibration_images=100,
):
    """Several quantisations of ``model`` from one SavedModel.

    Tracing the model and writing the SavedModel costs as much as a
    conversion; this shares them between the files.

    Args:
        model: see ``export_tflite``.
        output_paths: a dict from quantisation (``QUANTIZATIONS``) to the
            ``.tflite`` path to write.
        representative_images, num_calibration_images: see
            ``export_tflite``; used when ``"int8"`` is among the keys.

    Returns:
        ``output_paths``.
    """
    metadata = model_metadata(model)
    if not output_paths:
        raise ValueError("output_paths is empty; give at least one quantisation and its file.")
    for quantize in output_paths:
        if quantize not in QUANTIZATIONS:
            raise ValueError(
                f"quantize must be one of {QUANTIZATIONS}; got {quantize!r}."
            )
    calibration_images = None
    if "int8" in output_paths:
        calibration_images = _calibration_subset(
            representative_images, num_calibration_images
        )
    _require_tensorflow_backend("TFLite conversion")
    for output_path in output_paths.values():
        os.makedirs(os.path.dirname(os.path.abspath(output_path)), exist_ok=True)
    # Beside the first output, not in the system's temporary folder: on the
    # output's disk, and removed by the next export there if this one is killed.
    first_output = next(iter(output_paths.values()))
    remove_stale_partials(os.path.dirname(os.path.abspath(first_output)))
    with temporary_folder_beside(first_output) as saved_model_dir:
        type_projection_model(model).export(
            saved_model_dir, format="tf_saved_model", verbose=False
        )
        for quantize, output_path in output_paths.items():
            converter = _converter(
                saved_model_dir, quantize, calibration_images, model.preprocessor
            )
            write_bytes(output_path, converter.convert())
            _write_converted_sidecar(
                output_path, metadata, "tflite", quantize, calibration_images
            )
    return output_paths


def export_onnx(
    model: MultiTypeFCDD,
    output_path: str | os.PathLike[str],
    quantize: str = "none",
    representative_images: RepresentativeImages | None = None,
    num_calibration_images: int = 100,
) -> str | os.PathLike[str]:
    """Converts ``model`` to an ``.onnx`` file with its JSON sidecar.

    The file reads float32 RGB images, values 0..255, NHWC, of the model's
    size and any batch size (input ``"images"``), and outputs phi_k;
    ``mtfcdd.deploy.onnx_runner.OnnxModel`` runs it.

    Args:
        model: a ``MultiTypeFCDD`` (``mtfcdd.build_model`` or a loaded
            ``.keras`` file), on the TensorFlow backend.
        output_path: the ``.onnx`` file to write; the sidecar is
            ``output_path + ".json"``.
        quantize: ``"none"`` (float32) or ``"int8"``: onnxruntime's static
            quantisation in QDQ form (int8 weights per channel, int8
            activations), calibrated on ``representative_images``.
        representative_images, num_calibration_images: see
            ``export_tflite``; for ``"int8"`` only.

    Returns:
        ``output_path``.
    """
    metadata, calibration_images = _prepare_export(
        model, output_path, "onnx", quantize, representative_images, num_calibration_images
    )
    if quantize == "none":
        with atomic_path(output_path, suffix=".onnx") as temporary_path:
            _write_float_onnx(model, temporary_path)
    else:
        with temporary_folder_beside(output_path) as work_dir, atomic_path(
            output_path, suffix=".onnx"
        ) as temporary_path:
            float_path = os.path.join(work_dir, "float32.onnx")
            _write_float_onnx(model, float_path)
            batches = (batch for [batch] in _representative_dataset(calibration_images, model.preprocessor))
            quantize_onnx_int8(float_path, temporary_path, ONNX_INPUT, batches)
    _write_converted_sidecar(output_path, metadata, "onnx", quantize, calibration_images)
    return output_path


def export_openvino(
    model: MultiTypeFCDD,
    output_path: str | os.PathLike[str],
    quantize: str = "none",
    representative_images: RepresentativeImages | None = None,
    num_calibration_images: int = 100,
) -> str | os.PathLike[str]:
    """Converts ``model`` to OpenVINO's IR (``.xml`` + ``.bin``) with its sidecar.

    The route is the ONNX file's (``export_onnx``), converted by
    ``openvino.convert_model``; the IR reads and outputs what the ONNX file
    does, and ``mtfcdd.deploy.openvino_runner.OpenVinoModel`` runs it.

    Args:
        model: see ``export_onnx``.
        output_path: the ``.xml`` file to write; the weights go to the
            ``.bin`` beside it, the sidecar to ``output_path + ".json"``.
        quantize: ``"none"`` (float32 weights) or ``"int8"``: NNCF's
            post-training quantisation, calibrated on
            ``representative_images``.
        representative_images, num_calibration_images: see
            ``export_tflite``; for ``"int8"`` only.

    Returns:
        ``output_path``.
    """
    output_path = os.fspath(output_path)
    if not output_path.endswith(".xml"):
        raise ValueError(
            f"{output_path}: an OpenVINO model is an .xml file (its weights go to the .bin beside it)."
        )
    metadata, calibration_images = _prepare_export(
        model, output_path, "openvino", quantize, representative_images, num_calibration_images
    )
    openvino = import_optional("openvino", "openvino", "OpenVINO export", extra="openvino")
    with temporary_folder_beside(output_path) as work_dir:
        float_path = os.path.join(work_dir, "float32.onnx")
        _write_float_onnx(model, float_path)
        converted = openvino.convert_model(float_path)
        if quantize == "int8":
            batches = [batch for [batch] in _representative_dataset(calibration_images, model.preprocessor)]
            converted = quantize_openvino_int8(converted, batches)
        written = os.path.join(work_dir, "model.xml")
        openvino.save_model(converted, written, compress_to_fp16=False)
        # The weights first: the .xml is what a reader looks for.
        for source, target in zip(model_files(written), model_files(output_path)):
            os.replace(source, target)
    _write_converted_sidecar(output_path, metadata, "openvino", quantize, calibration_images)
    return output_path


def _write_float_onnx(model, path):
    """The float32 ONNX file of ``model`` at ``path`` (not atomic: a work file)."""
    import_optional("tf2onnx", "tf2onnx", "ONNX export", extra="onnx")
    height, width = model.image_size
    # Keras traces a model that was never called (one just loaded from a
    # file) only with an explicit signature; the batch stays dynamic.
    signature = [keras.InputSpec(shape=(None, height, width, 3), dtype="float32", name=ONNX_INPUT)]
    with warnings.catch_warnings():
        # Keras' tf2onnx glue sets np.object for tf2onnx, which NumPy warns about.
        warnings.filterwarnings("ignore", message=".*np.object.*", category=FutureWarning)
        type_projection_model(model).export(
            path, format="onnx", verbose=False, input_signature=signature
        )


def _prepare_export(model, output_path, file_format, quantize, representative_images, count):
    """Checks an ONNX or OpenVINO export's arguments and creates the output's folder.

    Returns:
        (the sidecar's fields from the model, the calibration images of an
        int8 export or None).
    """
    metadata = model_metadata(model)
    if quantize not in FORMAT_QUANTIZATIONS[file_format]:
        raise ValueError(
            f"quantize must be one of {FORMAT_QUANTIZATIONS[file_format]} for a "
            f"{file_format} file; got {quantize!r}."
        )
    calibration_images = None
    if quantize == "int8":
        calibration_images = _calibration_subset(representative_images, count)
    _require_tensorflow_backend(f"{file_format} export")
    os.makedirs(os.path.dirname(os.path.abspath(output_path)), exist_ok=True)
    return metadata, calibration_images


def _write_converted_sidecar(output_path, metadata, file_format, quantize, calibration_images):
    write_sidecar(
        output_path,
        {
            **metadata,
            "format": file_format,
            "quantization": quantize,
            "num_calibration_images": (
                len(calibration_images) if quantize == "int8" else None
            ),
        },
    )


def quantize_onnx_int8(float_path, output_path, input_name, batches):
    """onnxruntime's static quantisation of the ONNX file ``float_path`` to
    ``output_path`` (not atomic), calibrated on ``batches`` (arrays for its
    input ``input_name``): QDQ form, int8 activations, int8 weights per
    channel.

    Int8 activations and weights (S8S8) are onnxruntime's advice for QDQ on
    x86: U8S8 can saturate on AVX2 without VNNI.
    """
    quantization = import_optional("onnxruntime.quantization", "onnxruntime", "ONNX int8 quantisation", extra="onnx")
    quantization.quantize_static(
        float_path, output_path, _OnnxCalibrationReader(input_name, batches),
        quant_format=quantization.QuantFormat.QDQ, per_channel=True,
        activation_type=quantization.QuantType.QInt8, weight_type=quantization.QuantType.QInt8,
    )


def quantize_openvino_int8(model, batches):
    """NNCF's post-training int8 quantisation of the OpenVINO ``model``,
    calibrated on ``batches`` (a list of arrays for its one input)."""
    nncf = import_optional("nncf", "nncf", "OpenVINO int8 quantisation", extra="openvino")
    # NNCF draws progress bars on standard output, which belongs to the
    # result (`mtfcdd export --json`).
    with contextlib.redirect_stdout(sys.stderr):
        return nncf.quantize(model, nncf.Dataset(batches), subset_size=len(batches))


class _OnnxCalibrationReader:
    """onnxruntime's ``CalibrationDataReader``: ``batches`` one by one, as
    ``{input_name: batch}``."""

    def __init__(self, input_name, batches):
        self._input_name, self._batches = input_name, iter(batches)

    def get_next(self):
        batch = next(self._batches, None)
        return None if batch is None else {self._input_name: batch}


def type_projection_model(model):
    """``model`` without its pseudo-Huber layer: images in, phi_k out.

    What a converted file holds (module docstring); it shares the layers,
    and so the weights, of ``model``.
    """
    output_layers = [layer for layer in model.layers if isinstance(layer, PseudoHuber)]
    if len(output_layers) != 1:
        raise ValueError(
            f"expected one PseudoHuber layer (paper Eq. 1) in the model, found "
            f"{len(output_layers)}: not a MultiTypeFCDD."
        )
    return keras.Model(model.inputs, output_layers[0].input, name="type_projection")


def model_metadata(model):
    """The sidecar fields that come from the model (all but the file's format
    and quantisation): its config's ``MODEL_FACTS``, under the same names."""
    config = model.get_config() if callable(getattr(model, "get_config", None)) else {}
    return {
        "schema_version": SCHEMA_VERSION,
        "mtfcdd_version": __version__,
        "output": MODEL_OUTPUT,
        **model_facts(config),
    }


def _require_tensorflow_backend(what):
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"{what} reads a TensorFlow graph: run with "
            f"KERAS_BACKEND=tensorflow (the backend is {keras.backend.backend()!r}). "
            "A model saved as .keras on any backend loads on TensorFlow."
        )


def _calibration_subset(representative_images, count):
    if representative_images is None:
        raise ValueError(
            "int8 quantisation needs representative_images (image file paths "
            "or an image array) to calibrate the activations' ranges."
        )
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"num_calibration_images must be a positive integer; got {count!r}.")
    if len(representative_images) == 0:
        raise ValueError("representative_images is empty; give at least one image.")
    # Evenly spaced, so that a list sorted by object or class is covered.
    indices = np.unique(
        np.linspace(0, len(representative_images) - 1, count).round().astype(int)
    )
    subset = [representative_images[index] for index in indices]
    # Checked here: inside the converter's calibration an error is harder to read.
    for image in subset:
        if isinstance(image, (str, os.PathLike)) and not os.path.isfile(image):
            raise FileNotFoundError(f"{os.fspath(image)}: calibration image not found.")
    return subset


def _converter(saved_model_dir, quantize, calibration_images, preprocessor):
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize == "none":
        return converter
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.representative_dataset = lambda: _representative_dataset(
            calibration_images, preprocessor
        )
    return converter


def _representative_dataset(images, preprocessor):
    """Yields the calibration images one by one, as the converter wants them,
    read by the model's preprocessor (as the runner will read images).

    The first image gets one black and one white pixel, so that the input's
    calibrated range is exactly 0..255: quantisation scale 1, zero point 0,
    and the uint8 pixels themselves are the int8 model's input.
    """
    for index, image in enumerate(images):
        if isinstance(image, (str, os.PathLike)):
            image = preprocessor.decode(image)
        batch = preprocessor.batch([image]).astype(np.float32)
        if index == 0:
            batch[0, 0, 0, 0], batch[0, 0, 1, 0] = 0.0, 255.0
        yield [batch]
