"""Pixels in: one image file or array -> the model's input, the same on every path.

A ``Preprocessor`` is owned by the model: ``MultiTypeFCDD`` keeps one
(``model.preprocessor``), saves its config with the model, and
``mtfcdd export`` writes it into every sidecar. The training stream
(``mtfcdd.data.pipeline``), evaluation, ``predict``, the server, int8
calibration and the LiteRT and ONNX runners all read images through it, so
a model is trained on exactly the pixels it is evaluated, calibrated and
deployed on (``tests/test_preprocessor.py`` checks training against the
runner bit for bit).

One decoder, one resize rule (docs/data.md, "Pixels in"):

- ``decoder="opencv"``: the file is decoded by
  ``mtfcdd.utils.image_bytes.decode_image`` (OpenCV's libjpeg, libpng), to
  RGB, EXIF orientation ignored; only complete JPEG, PNG and BMP files are
  read, and a damaged one is refused, naming it;
- ``resize="area_bilinear"``: area averaging when the image shrinks (which
  keeps fine scratches that plain bilinear would alias away), bilinear when
  it grows, with OpenCV, to uint8 (``mtfcdd.utils.image_files.resize_image``).

The model's input is (height, width, 3) uint8 RGB, values 0..255; the
model scales it itself. NumPy and OpenCV only: a board runs this module.
OpenCV is imported where an image is read or resized, because the model
holds a preprocessor and must build where OpenCV is not installed (a GPU
server with JAX alone, ``experiments/gpu_check.py``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from mtfcdd.utils.image_size import image_size_pair

DECODERS = ("opencv",)
RESIZE_RULES = ("area_bilinear",)


@dataclasses.dataclass(frozen=True)
class Preprocessor:
    """How an image file or array becomes the model's input.

    Args:
        image_size: the model's input, an int (a square) or
            ``(height, width)``.
        decoder: how files are decoded; one of ``DECODERS``.
        resize: how images are resized to ``image_size``; one of
            ``RESIZE_RULES``.

    Raises:
        ValueError: an unknown decoder or resize rule (a model or sidecar
            written by a newer mtfcdd), or a bad image size.
    """

    image_size: tuple[int, int]
    decoder: str = DECODERS[0]
    resize: str = RESIZE_RULES[0]

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_size", image_size_pair(self.image_size, "image_size"))
        for name, value, choices in (
            ("decoder", self.decoder, DECODERS), ("resize", self.resize, RESIZE_RULES)
        ):
            if value not in choices:
                raise ValueError(
                    f"preprocessor {name} must be one of {choices}; got {value!r} "
                    "(written by a newer mtfcdd?)."
                )

    def decode(self, path: str | os.PathLike[str], check_data: bool = True) -> np.ndarray:
        """An image file as (H, W, 3) uint8 RGB at its own size.

        Args:
            path: the file.
            check_data: also refuse a JPEG whose data libjpeg reports
                corrupt, which decodes one JPEG at a time in the process;
                False, for a file already read with the check, decodes in
                parallel (the same pixels).

        Raises:
            FileNotFoundError, ValueError: naming the file (see
                ``mtfcdd.utils.image_files.read_image_file``).
        """
        from mtfcdd.utils.image_files import read_rgb_image

        return read_rgb_image(path, check_data=check_data)

    def resize_image(self, image: np.ndarray) -> np.ndarray:
        """One (H, W, 3) RGB array resized to ``image_size`` (uint8 stays uint8)."""
        from mtfcdd.utils.image_files import resize_image

        return resize_image(image, self.image_size)

    def read(self, path: str | os.PathLike[str]) -> np.ndarray:
        """An image file as the model's input: (height, width, 3) uint8 RGB."""
        return self.resize_image(self.decode(path))

    def batch(self, images: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """RGB arrays (values 0..255, any sizes) as one input batch.

        Args:
            images: an array (N, H, W, 3) or (H, W, 3), or a sequence of
                (H, W, 3) arrays.

        Returns:
            (N, height, width, 3): uint8 when every image is uint8, float32
            otherwise (see ``mtfcdd.utils.image_files.image_batch``).
        """
        from mtfcdd.utils.image_files import image_batch

        return image_batch(images, self.image_size)

    def get_config(self) -> dict[str, Any]:
        """The fields a model's config and a sidecar record (JSON types)."""
        return {"image_size": list(self.image_size), "decoder": self.decoder, "resize": self.resize}

    @classmethod
    def from_config(
        cls, config: dict[str, Any] | None, image_size: int | Sequence[int] | None = None
    ) -> Preprocessor:
        """The preprocessor of a saved config.

        Args:
            config: ``get_config``'s dict, or None for a model or sidecar
                written before preprocessors were recorded: today's
                decoder and resize rule, which the deployed path always used.
            image_size: the model's input size; a config of another size
                is refused (it would feed the model images it cannot read).
        """
        if config is None:
            if image_size is None:
                raise ValueError("a preprocessor without a config needs the model's image_size.")
            return cls(image_size_pair(image_size, "image_size"))
        if not isinstance(config, dict) or set(config) - {"image_size", "decoder", "resize"}:
            raise ValueError(
                f"preprocessor must be an object with image_size, decoder and resize; got {config!r}."
            )
        preprocessor = cls(**{"image_size": image_size, **config})
        if image_size is not None and preprocessor.image_size != image_size_pair(image_size):
            raise ValueError(
                f"preprocessor image_size {list(preprocessor.image_size)} is not the model's "
                f"{list(image_size_pair(image_size))}."
            )
        return preprocessor
