"""Running a converted MultiTypeFCDD on a board: LiteRT, NumPy, OpenCV only.

``LiteRTModel`` loads a ``.tflite`` file written by ``mtfcdd export`` and its
JSON sidecar (``mtfcdd.deploy.sidecar``), resizes RGB images to the model's
input size, runs ``ai_edge_litert``'s interpreter (XNNPACK on the CPU),
turns its output phi_k into heatmaps (paper Eq. 1; a converted file ends
before it, ``mtfcdd.deploy.export`` says why) and reads image scores (paper
Eq. 2) and detected types from them with ``mtfcdd.inference.postprocessing``, the same
code as the Keras prediction path.

This module must never import Keras or TensorFlow (``tests/test_deploy.py``
checks it): a board has neither.
"""

import dataclasses
import os

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from mtfcdd.deploy.sidecar import read_sidecar
from mtfcdd.inference.postprocessing import prediction_from_heatmaps, pseudo_huber, upsample
from mtfcdd.utils.image_files import image_batch, read_rgb_image


class LiteRTModel:
    """A converted model and its sidecar, ready to predict.

    Args:
        model_path: a ``.tflite`` file with ``<model_path>.json`` beside it.
        num_threads: CPU threads of the interpreter (LiteRT's default when
            None).

    Attributes:
        metadata: the sidecar, a dict (schema in ``mtfcdd.deploy.sidecar``).
        type_codes: the code of each heatmap channel.
        image_size: ``(height, width)`` the images are resized to.
        score_reduction: ``"mean"`` or ``"max"``.
        thresholds: one threshold per type, or None.
        interpreter: the ``ai_edge_litert`` interpreter, for inspection
            (input and output details, ops).
    """

    def __init__(self, model_path, num_threads=None):
        if not os.path.isfile(model_path):
            raise FileNotFoundError(f"{model_path}: model file not found (expected a .tflite file).")
        self.metadata = read_sidecar(model_path)
        self.type_codes = tuple(self.metadata["type_codes"])
        self.image_size = tuple(self.metadata["image_size"])
        self.score_reduction = self.metadata["score_reduction"]
        self.thresholds = self.metadata["thresholds"]
        try:
            self.interpreter = Interpreter(
                model_path=str(model_path), num_threads=num_threads
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
        if (height, width) != self.image_size:
            raise ValueError(
                f"{model_path}: the model reads {height}x{width} images but its "
                f"sidecar says image_size {list(self.image_size)}; the two "
                "files do not belong together."
            )
        if self._output["shape"][-1] != len(self.type_codes):
            raise ValueError(
                f"{model_path}: the model outputs {self._output['shape'][-1]} "
                f"channels but its sidecar names {len(self.type_codes)} type "
                "codes; the two files do not belong together."
            )

    def heatmaps(self, images):
        """The anomaly heatmaps A_k (paper Eq. 1) of a batch of images.

        Args:
            images: RGB, values 0..255 (uint8 or float): an array
                (N, H, W, 3) or (H, W, 3), or a sequence of (H, W, 3) arrays
                of any sizes; each is resized to ``image_size``.

        Returns:
            float32 array (N, u, v, K).
        """
        batch = self._quantize_input(image_batch(images, self.image_size))
        if tuple(self._input["shape"]) != batch.shape:
            self.interpreter.resize_tensor_input(self._input["index"], batch.shape)
            self.interpreter.allocate_tensors()
            self._input = self.interpreter.get_input_details()[0]
        self.interpreter.set_tensor(self._input["index"], batch)
        self.interpreter.invoke()
        projection = self._dequantize_output(self.interpreter.get_tensor(self._output["index"]))
        return pseudo_huber(projection)

    def predict(self, images):
        """Heatmaps, scores and detected types of a batch of images.

        Args:
            images: see ``heatmaps``.

        Returns:
            A ``mtfcdd.inference.postprocessing.Prediction``.
        """
        return prediction_from_heatmaps(
            self.heatmaps(images), self.type_codes, self.score_reduction, self.thresholds
        )

    def predict_image(self, path, full_resolution=False):
        """``predict`` for one image file (a batch of one).

        Args:
            path: an image file OpenCV reads (JPEG, PNG, ...).
            full_resolution: upsample the heatmaps to the file's size
                (bilinear, paper 3.1) instead of the model's u x v grid.

        Returns:
            A ``mtfcdd.inference.postprocessing.Prediction`` of one image.
        """
        image = read_rgb_image(path)
        prediction = self.predict(image)
        if not full_resolution:
            return prediction
        # Scores stay those of the u x v maps: paper Eq. 2 averages A_k
        # over the model's grid, not over the interpolated pixels.
        return dataclasses.replace(
            prediction, heatmaps=upsample(prediction.heatmaps, image.shape[:2])
        )

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
