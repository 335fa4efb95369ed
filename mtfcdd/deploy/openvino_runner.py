"""Running a converted MultiTypeFCDD with OpenVINO: NumPy, OpenCV only.

``OpenVinoModel`` loads an OpenVINO IR (``.xml`` and the ``.bin`` beside
it) written by ``mtfcdd export --format openvino`` and its JSON sidecar
(``mtfcdd.deploy.sidecar``), and runs it with ``openvino`` on the CPU;
everything else (resizing, paper Eq. 1 and 2, thresholds) is
``mtfcdd.deploy.converted_model``'s, as for a LiteRT or ONNX file. The file
reads float32 RGB images, values 0..255, NHWC, any batch size, and outputs
phi_k, float32 or int8 file alike (an int8 file quantises inside the graph).

OpenVINO picks the CPU's fastest kernels itself (AVX2, AVX-512, VNNI for
int8, AMX); on a CPU with bfloat16 support it would also compute a float32
file in bfloat16 by default, so the runner asks for float32 unless told
otherwise (``inference_precision``).

This module must never import Keras or TensorFlow: a board has neither.
Without openvino, importing it raises a ``MissingPackageError`` that names
the extra to install.
"""

from __future__ import annotations

import os

import numpy as np

from mtfcdd.deploy.converted_model import ConvertedModel
from mtfcdd.utils.optional_packages import import_optional

openvino = import_optional("openvino", "openvino", "an OpenVINO model (--openvino)", extra="openvino")

INFERENCE_PRECISIONS = ("f32", "bf16", "f16")
"""OpenVINO's ``INFERENCE_PRECISION_HINT`` values the runner accepts."""


class OpenVinoModel(ConvertedModel):
    """A converted OpenVINO IR and its sidecar, ready to predict.

    Args:
        model_path: an ``.xml`` file with its ``.bin`` and
            ``<model_path>.json`` beside it.
        num_threads: CPU threads of one model call (OpenVINO's default, one
            per core, when None).
        inference_precision: what OpenVINO computes the float parts in:
            ``"f32"`` (heatmaps equal Keras' to ~1e-5), or ``"bf16"`` /
            ``"f16"`` where the CPU has them (AMX, AVX512-BF16), faster and
            less exact.
        device: OpenVINO's device name (default ``"CPU"``; ``"GPU"`` for an
            Intel GPU).

    Attributes:
        Those of ``ConvertedModel`` (metadata, type_codes, image_size,
        score_reduction, thresholds, quantization), and
        compiled_model: the ``openvino.CompiledModel``, for inspection.
    """

    runtime = "OpenVINO"
    file_format = "openvino"
    option = "--openvino"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        num_threads: int | None = None,
        inference_precision: str = "f32",
        device: str = "CPU",
    ) -> None:
        super().__init__(model_path)
        try:
            self.compiled_model = compile_openvino(self.model_path, num_threads, inference_precision, device)
        except RuntimeError as error:
            raise ValueError(
                f"{self.model_path}: OpenVINO cannot load this file ({' '.join(str(error).split())})."
            ) from error
        (model_input,), (model_output,) = self.compiled_model.inputs, self.compiled_model.outputs
        self._output = model_output
        # The batch dimension is dynamic; the others are fixed.
        height, width, _ = (dimension.get_length() for dimension in model_input.get_partial_shape()[1:])
        self._check_file_against_sidecar(height, width, model_output.get_partial_shape()[-1].get_length())

    def _type_projection(self, batch):
        # image_batch keeps uint8 images uint8; the file reads float32.
        return self.compiled_model(batch.astype(np.float32, copy=False))[self._output]


def compile_openvino(model, num_threads=None, inference_precision="f32", device="CPU"):
    """OpenVINO's compiled ``model`` (an ``.xml`` file or an ``openvino.Model``)
    on ``num_threads`` threads (None: OpenVINO's choice), computing in
    ``inference_precision`` (one of ``INFERENCE_PRECISIONS``; OpenVINO's own
    default is bf16 on CPUs with AMX or AVX512-BF16), as the runner and the
    benchmark's OpenVINO products run."""
    if inference_precision not in INFERENCE_PRECISIONS:
        raise ValueError(f"inference_precision must be one of {INFERENCE_PRECISIONS}; got {inference_precision!r}.")
    config: dict[str, str | int] = {"INFERENCE_PRECISION_HINT": inference_precision}
    if num_threads is not None:
        config["INFERENCE_NUM_THREADS"] = num_threads
    core = openvino.Core()
    network = core.read_model(os.fspath(model)) if isinstance(model, (str, os.PathLike)) else model
    return core.compile_model(network, device, config)
