"""Running a converted MultiTypeFCDD with ONNX Runtime: NumPy, OpenCV only.

``OnnxModel`` loads an ``.onnx`` file written by ``mtfcdd export --format
onnx`` and its JSON sidecar (``mtfcdd.deploy.sidecar``), and runs it with
``onnxruntime``; everything else (resizing, paper Eq. 1 and 2, thresholds)
is ``mtfcdd.deploy.converted_model``'s, as for a LiteRT file. The file reads
float32 RGB images, values 0..255, NHWC, any batch size (the model's own
pre-processing is inside it), and outputs phi_k.

ONNX is where TensorRT (Jetson), OpenVINO and other runtimes start; they
take the same file. This module must never import Keras or TensorFlow: a
board has neither. Without onnxruntime, importing it raises a
``MissingPackageError`` that names the extra to install.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from mtfcdd.deploy.converted_model import ConvertedModel
from mtfcdd.utils.optional_packages import import_optional

onnxruntime = import_optional("onnxruntime", "onnxruntime", "an ONNX model (--onnx)", extra="onnx")

DEFAULT_PROVIDERS = ("CPUExecutionProvider",)
# What onnxruntime raises for a file that is not an ONNX model it can run.
_LOAD_ERRORS = tuple(
    getattr(onnxruntime.capi.onnxruntime_pybind11_state, name)
    for name in ("Fail", "InvalidArgument", "InvalidGraph", "InvalidProtobuf", "NoSuchFile")
)


class OnnxModel(ConvertedModel):
    """A converted ONNX file and its sidecar, ready to predict.

    Args:
        model_path: an ``.onnx`` file with ``<model_path>.json`` beside it.
        num_threads: CPU threads of one model call (onnxruntime's default,
            one per core, when None).
        providers: onnxruntime's execution providers, in order of
            preference, e.g. ``["CUDAExecutionProvider",
            "CPUExecutionProvider"]`` with onnxruntime-gpu (default: the CPU).

    Attributes:
        Those of ``ConvertedModel`` (metadata, type_codes, image_size,
        score_reduction, thresholds, quantization), and
        session: the ``onnxruntime.InferenceSession``, for inspection.
    """

    runtime = "ONNX Runtime"
    file_format = "onnx"
    option = "--onnx"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        num_threads: int | None = None,
        providers: Sequence[str] = DEFAULT_PROVIDERS,
    ) -> None:
        super().__init__(model_path)
        try:
            self.session = onnx_session(self.model_path, num_threads, providers)
        except _LOAD_ERRORS as error:
            raise ValueError(f"{self.model_path}: onnxruntime cannot load this file ({error}).") from error
        (model_input,), (model_output,) = self.session.get_inputs(), self.session.get_outputs()
        # Read from the file rather than assumed: tf2onnx names the output
        # after the TensorFlow graph ("Identity:0").
        self._input_name, self._output_name = model_input.name, model_output.name
        _, height, width, _ = model_input.shape
        self._check_file_against_sidecar(height, width, model_output.shape[-1])

    def _type_projection(self, batch):
        # image_batch keeps uint8 images uint8; the file reads float32.
        (projection,) = self.session.run(
            [self._output_name], {self._input_name: batch.astype(np.float32, copy=False)}
        )
        return projection


def onnx_session(model_path, num_threads=None, providers=DEFAULT_PROVIDERS):
    """An ``onnxruntime.InferenceSession`` of the file ``model_path`` on
    ``num_threads`` threads (None: onnxruntime's choice), as the runner and
    the benchmark's ONNX Runtime products run."""
    options = onnxruntime.SessionOptions()
    if num_threads is not None:
        options.intra_op_num_threads = num_threads
    return onnxruntime.InferenceSession(os.fspath(model_path), options, providers=list(providers))
