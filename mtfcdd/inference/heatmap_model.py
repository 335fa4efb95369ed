"""One interface over every runtime of the model: Keras, LiteRT, ONNX Runtime.

Prediction, evaluation, the figures and the server need the same things of a
model: images in, heatmaps (paper Eq. 1) out, and the facts that turn
heatmaps into answers (type codes, input size, score reduction, thresholds)
or describe them (runtime, file). A ``HeatmapModel`` holds exactly that, and
``heatmap_model`` makes one from a Keras ``MultiTypeFCDD`` or a converted
file (``mtfcdd.deploy.runner.LiteRTModel``,
``mtfcdd.deploy.onnx_runner.OnnxModel``), telling them apart by what they
offer, so that no runtime is imported to recognise another.
"""

import dataclasses
from typing import Callable, Optional, Tuple

import numpy as np

from mtfcdd.data.preprocessor import Preprocessor


@dataclasses.dataclass(frozen=True)
class HeatmapModel:
    """What prediction needs of a model, whichever runtime runs it.

    Attributes:
        heatmaps: function from a sequence of RGB images (values 0..255,
            any sizes) to their float32 heatmaps (N, u, v, K); it resizes
            the images to ``image_size``.
        type_codes: the code of each heatmap channel.
        image_size: ``(height, width)`` of the model's input.
        score_reduction: ``"mean"`` or ``"max"``, what the thresholds were
            fitted with.
        thresholds: K decision thresholds, or None.
        weights_source: the weights the backbone started from.
        runtime: ``"Keras"``, ``"LiteRT"`` or ``"ONNX Runtime"``.
        model_file: the file the model was loaded from, when known.
        quantization: a converted file's (``"none"``, ``"int8"``, ...);
            None for a Keras model.
        threshold_source: where the thresholds come from, when recorded.
        preprocessor: the model's ``mtfcdd.data.preprocessor.Preprocessor``,
            which reads files for it and resizes arrays in ``heatmaps``;
            None gives the default one at ``image_size``.
    """

    heatmaps: Callable
    type_codes: Tuple[str, ...]
    image_size: Tuple[int, int]
    score_reduction: str
    thresholds: Optional[Tuple[float, ...]]
    weights_source: str
    runtime: str = "Keras"
    model_file: Optional[str] = None
    quantization: Optional[str] = None
    threshold_source: Optional[str] = None
    preprocessor: Optional[Preprocessor] = None

    def __post_init__(self):
        if self.preprocessor is None:
            object.__setattr__(self, "preprocessor", Preprocessor(self.image_size))


def heatmap_model(model):
    """``model`` as a ``HeatmapModel``.

    Args:
        model: a Keras ``MultiTypeFCDD``, a converted file
            (``mtfcdd.deploy.runner.LiteRTModel``,
            ``mtfcdd.deploy.onnx_runner.OnnxModel``), or a ``HeatmapModel``.
    """
    if isinstance(model, HeatmapModel):
        return model
    thresholds = getattr(model, "thresholds", None)
    thresholds = None if thresholds is None else tuple(float(value) for value in thresholds)
    # Told apart by what they offer, so that neither Keras nor LiteRT is
    # imported to recognise the other.
    if callable(getattr(model, "predict_on_batch", None)) and hasattr(model, "type_codes"):
        preprocessor = model.preprocessor
        return HeatmapModel(
            heatmaps=lambda images: np.asarray(
                model.predict_on_batch(preprocessor.batch(images).astype(np.float32)),
                np.float32,
            ),
            type_codes=tuple(model.type_codes),
            image_size=preprocessor.image_size,
            score_reduction=model.score_reduction,
            thresholds=thresholds,
            weights_source=model.weights_source,
            threshold_source=getattr(model, "threshold_source", None),
            preprocessor=preprocessor,
        )
    if callable(getattr(model, "heatmaps", None)) and hasattr(model, "metadata"):
        return HeatmapModel(
            heatmaps=model.heatmaps,
            type_codes=tuple(model.type_codes),
            image_size=tuple(model.image_size),
            score_reduction=model.score_reduction,
            thresholds=thresholds,
            weights_source=model.metadata["weights_source"],
            runtime=model.runtime,
            model_file=model.model_path,
            quantization=model.metadata["quantization"],
            threshold_source=model.threshold_source,
            preprocessor=model.preprocessor,
        )
    raise ValueError(
        "model must be a MultiTypeFCDD (Keras), a converted file (LiteRTModel, "
        f"OnnxModel) or a HeatmapModel; got a {type(model).__name__}."
    )


def channel_of(type_code, type_codes):
    """The channel that shows ``type_code``: its own, or the only one."""
    if type_code in type_codes:
        return type_codes.index(type_code)
    if len(type_codes) == 1:
        return 0
    raise ValueError(f"type code {type_code!r} is not one of the model's {list(type_codes)}.")
