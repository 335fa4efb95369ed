"""Running a converted MultiTypeFCDD on a board: LiteRT, NumPy, OpenCV only.

``LiteRTModel`` loads a ``.tflite`` file written by ``mtfcdd export`` and its
JSON sidecar (``mtfcdd.deploy.sidecar``), resizes RGB images to the model's
input size, runs ``ai_edge_litert``'s interpreter (XNNPACK on the CPU, or
external delegates such as a Coral Edge TPU or a GPU), turns its output
phi_k into heatmaps (paper Eq. 1; a converted file ends before it,
``mtfcdd.deploy.export`` says why) and reads image scores (paper Eq. 2) and
detected types from them with ``mtfcdd.inference.postprocessing``, the same
code as the Keras prediction path (``mtfcdd.deploy.converted_model``).

This module must never import Keras or TensorFlow (``tests/test_deploy.py``
checks it): a board has neither. Without ai-edge-litert, importing it raises
a ``MissingPackageError`` that names the extra to install.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from mtfcdd.deploy.converted_model import ConvertedModel
from mtfcdd.utils.optional_packages import import_optional

litert = import_optional(
    "ai_edge_litert.interpreter", "ai-edge-litert", "a LiteRT model (--tflite)", extra="litert"
)


class LiteRTModel(ConvertedModel):
    """A converted LiteRT file and its sidecar, ready to predict.

    Args:
        model_path: a ``.tflite`` file with ``<model_path>.json`` beside it.
        num_threads: CPU threads of the interpreter (LiteRT's default when
            None).
        delegates: LiteRT external delegates, each a shared library's path
            or name (e.g. ``"libedgetpu.so.1"`` for a Coral Edge TPU), loaded
            with ``ai_edge_litert.interpreter.load_delegate``, or a delegate
            object already loaded (to give it options). The ops a delegate
            does not take run on the CPU.

    Attributes:
        Those of ``ConvertedModel`` (metadata, type_codes, image_size,
        score_reduction, thresholds, quantization), and
        interpreter: the ``ai_edge_litert`` interpreter, for inspection
            (input and output details, ops).
    """

    runtime = "LiteRT"
    file_format = "tflite"
    option = "--tflite"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        num_threads: int | None = None,
        delegates: Sequence[str | object] | None = None,
    ) -> None:
        super().__init__(model_path)
        delegates = [load_delegate(delegate) for delegate in delegates or ()]
        try:
            self.interpreter = litert.Interpreter(
                model_path=self.model_path,
                num_threads=num_threads,
                experimental_delegates=delegates or None,
            )
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise ValueError(
                f"{model_path} cannot be read as a LiteRT (.tflite) model: "
                f"{' '.join(str(error).split())}"
            ) from error
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        integer_input = self._input["dtype"] != np.float32
        if integer_input != (self.metadata["quantization"] == "int8"):
            raise ValueError(
                f"{model_path}: the model reads {np.dtype(self._input['dtype']).name} images but "
                f"its sidecar says quantization {self.metadata['quantization']!r} (int8 models "
                "read uint8, the others float32); the two files do not belong together."
            )
        _, height, width, _ = self._input["shape"]
        self._check_file_against_sidecar(height, width, self._output["shape"][-1])

    def _type_projection(self, batch):
        batch = self._quantize_input(batch)
        if tuple(self._input["shape"]) != batch.shape:
            self.interpreter.resize_tensor_input(self._input["index"], batch.shape)
            self.interpreter.allocate_tensors()
            self._input = self.interpreter.get_input_details()[0]
        self.interpreter.set_tensor(self._input["index"], batch)
        self.interpreter.invoke()
        return self._dequantize_output(self.interpreter.get_tensor(self._output["index"]))

    def _quantize_input(self, batch):
        input_type = self._input["dtype"]
        if input_type == np.float32:
            return batch.astype(np.float32, copy=False)
        scale, zero_point = self._input["quantization"]
        # mtfcdd's int8 models read uint8 pixels with scale 1 and zero point
        # 0 (mtfcdd.deploy.export): the pixels are the quantised input.
        if batch.dtype == input_type and scale == 1.0 and zero_point == 0:
            return batch
        if scale == 0:
            raise ValueError(
                f"the model's {np.dtype(input_type).name} input has no "
                "quantisation scale; cannot convert images to it."
            )
        limits = np.iinfo(input_type)
        quantized = np.round(batch.astype(np.float32) / scale) + zero_point
        return np.clip(quantized, limits.min, limits.max).astype(input_type)

    def _dequantize_output(self, output):
        if output.dtype == np.float32:
            return output
        scale, zero_point = self._output["quantization"]
        return (output.astype(np.float32) - zero_point) * np.float32(scale)


def load_delegate(delegate):
    """A LiteRT delegate: ``delegate`` itself, or the library it names, loaded.

    Raises:
        FileNotFoundError: a path (with a folder in it) that is no file.
        ValueError: a library that LiteRT cannot load as a delegate, in one
            line that names it.
    """
    if not isinstance(delegate, (str, os.PathLike)):
        return delegate
    library = os.fspath(delegate)
    # A bare name (libedgetpu.so.1) is looked up by the system's loader.
    if os.path.dirname(library) and not os.path.isfile(library):
        raise FileNotFoundError(f"{library}: LiteRT delegate library not found.")
    try:
        return litert.load_delegate(library)
    except (ValueError, OSError, RuntimeError) as error:
        reason = " ".join(str(error).split())
        raise ValueError(f"{library}: LiteRT cannot load this delegate ({reason}).") from error
