"""What every converted file offers, whichever runtime runs it (LiteRT, ONNX, OpenVINO).

A file written by ``mtfcdd export`` ends at the type projection phi_k and
has a JSON sidecar (``mtfcdd.deploy.sidecar``). ``ConvertedModel`` reads the
sidecar, checks the file against it, reads and resizes images with the
model's preprocessor (``mtfcdd.data.preprocessor``, the training stream's),
and hands phi_k to the model's ``Postprocessor`` (read from the sidecar):
paper Eq. 1, scores (Eq. 2) and detected types, the same code as the Keras
path. A
runtime adds only how phi_k is computed (``_type_projection``):
``mtfcdd.deploy.runner.LiteRTModel``,
``mtfcdd.deploy.onnx_runner.OnnxModel`` and
``mtfcdd.deploy.openvino_runner.OpenVinoModel``.

No Keras or TensorFlow here: a board has neither.
"""

import dataclasses
import os

from mtfcdd.data.preprocessor import Preprocessor
from mtfcdd.deploy.sidecar import model_files, read_sidecar
from mtfcdd.inference.postprocessing import upsample_heatmaps
from mtfcdd.inference.postprocessor import HasPostprocessor, Postprocessor


class ConvertedModel(HasPostprocessor):
    """A converted file and its sidecar, ready to predict (a base class).

    Args:
        model_path: the converted file, with ``<model_path>.json`` beside it.

    Attributes:
        model_path: the file.
        metadata: the sidecar, a dict (schema in ``mtfcdd.deploy.sidecar``).
        postprocessor: the model's ``Postprocessor``, from the sidecar; its
            ``threshold_source`` says the thresholds are the sidecar's, and
            how they were fitted when it records it. ``type_codes``,
            ``score_reduction``, ``thresholds`` and ``threshold_source``
            are its.
        image_size: ``(height, width)`` the images are resized to.
        quantization: how the file was converted (``"none"``, ``"int8"``, ...).
        preprocessor: the model's ``mtfcdd.data.preprocessor.Preprocessor``,
            from the sidecar (the default one at ``image_size`` for a
            sidecar written before it was recorded).
    """

    runtime: str | None = None
    """The runtime's name, as results and the server report it."""
    file_format: str | None = None
    """The sidecar's ``format`` of the files this class runs."""
    option: str | None = None
    """The command-line option that runs such files."""

    def __init__(self, model_path):
        model_path = os.fspath(model_path)
        for path in model_files(model_path):
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f"{path}: model file not found (expected a {self.file_format} model's file)."
                )
        self.model_path = model_path
        self.metadata = read_sidecar(model_path)
        if self.metadata["format"] != self.file_format:
            raise ValueError(
                f"{model_path}: its sidecar says it is a {self.metadata['format']} file; "
                f"{type(self).__name__} ({self.option}) runs {self.file_format} files."
            )
        self.image_size = tuple(self.metadata["image_size"])
        fitted_on = self.metadata.get("threshold_source") or "how they were fitted is not recorded"
        self.postprocessor = Postprocessor.from_config(
            {**self.metadata, "threshold_source": f"the sidecar's ({fitted_on})"}
        )
        self.quantization = self.metadata["quantization"]
        self.preprocessor = Preprocessor.from_config(
            self.metadata.get("preprocessor"), self.image_size
        )

    def _check_file_against_sidecar(self, height, width, channels):
        """Raises unless the file's input and output agree with the sidecar."""
        if (height, width) != self.image_size:
            raise ValueError(
                f"{self.model_path}: the model reads {height}x{width} images but its "
                f"sidecar says image_size {list(self.image_size)}; the two "
                "files do not belong together."
            )
        if channels != len(self.type_codes):
            raise ValueError(
                f"{self.model_path}: the model outputs {channels} "
                f"channels but its sidecar names {len(self.type_codes)} type "
                "codes; the two files do not belong together."
            )

    def _type_projection(self, batch):
        """phi_k (N, u, v, K) float32 of an (N, height, width, 3) batch."""
        raise NotImplementedError

    def heatmaps(self, images):
        """The anomaly heatmaps A_k (paper Eq. 1) of a batch of images.

        Args:
            images: RGB, values 0..255 (uint8 or float): an array
                (N, H, W, 3) or (H, W, 3), or a sequence of (H, W, 3) arrays
                of any sizes; each is resized to ``image_size``.

        Returns:
            float32 array (N, u, v, K).
        """
        return self.postprocessor.heatmaps(self._type_projection(self.preprocessor.batch(images)))

    def predict(self, images):
        """Heatmaps, scores and detected types of a batch of images.

        Args:
            images: see ``heatmaps``.

        Returns:
            A ``mtfcdd.inference.postprocessing.Prediction``.
        """
        return self.postprocessor.predict(self.heatmaps(images))

    def predict_image(self, path, full_resolution=False):
        """``predict`` for one image file (a batch of one).

        Args:
            path: a JPEG, PNG or BMP file (read by ``preprocessor``).
            full_resolution: upsample the heatmaps to the file's size
                (bilinear, paper 3.1) instead of the model's u x v grid.

        Returns:
            A ``mtfcdd.inference.postprocessing.Prediction`` of one image.
        """
        image = self.preprocessor.decode(path)
        prediction = self.predict(image)
        if not full_resolution:
            return prediction
        # Scores stay those of the u x v maps: paper Eq. 2 averages A_k
        # over the model's grid, not over the interpolated pixels.
        return dataclasses.replace(
            prediction, heatmaps=upsample_heatmaps(prediction.heatmaps, image.shape[:2])
        )
