"""One interface over every runtime of the model: Keras, LiteRT, ONNX Runtime.

Prediction, evaluation, the figures and the server need the same things of a
model: images in, heatmaps (paper Eq. 1) out, and the facts that turn
heatmaps into answers (the model's ``Postprocessor``, its input size) or
describe them (runtime, file). A ``HeatmapModel`` holds exactly that, read
from the same fields of a Keras model's config or a converted file's sidecar
(``MODEL_FACTS``). ``heatmap_model`` makes one from a Keras ``MultiTypeFCDD``
or a converted file (``mtfcdd.deploy.runner.LiteRTModel``,
``mtfcdd.deploy.onnx_runner.OnnxModel``), telling them apart by what they
offer, so that no runtime is imported to recognise another.
"""

import dataclasses
from typing import Callable, Optional, Tuple

import numpy as np

from mtfcdd.data.preprocessor import Preprocessor
from mtfcdd.inference.postprocessor import HasPostprocessor, Postprocessor

MODEL_FACTS = ("image_size", "weights_source", "preprocessor") + Postprocessor.FIELDS
"""What a model is, beside its weights: the fields of ``MultiTypeFCDD``'s
config that turn pixels into its input, its heatmaps into answers, or
describe them. Every sidecar
copies them under the same names (``mtfcdd.deploy.export.model_metadata``),
and ``heatmap_model`` reads them from either."""


def model_facts(config):
    """The ``MODEL_FACTS`` of a model's config or of a sidecar, as JSON values, checked."""
    # Files from before these fields existed get their defaults.
    optional = ("threshold_source", "preprocessor", "open_set")
    missing = [field for field in MODEL_FACTS if field not in config and field not in optional]
    if missing:
        raise ValueError(
            f"the model's config has no {missing[0]!r}: expected a MultiTypeFCDD "
            "(mtfcdd.build_model, or a .keras file it saved)."
        )
    height, width = config["image_size"]
    return {
        "image_size": [int(height), int(width)],
        "weights_source": str(config["weights_source"]),
        "preprocessor": Preprocessor.from_config(config.get("preprocessor"), (height, width)).get_config(),
        **Postprocessor.from_config(config).get_config(),
    }


@dataclasses.dataclass(frozen=True)
class HeatmapModel(HasPostprocessor):
    """What prediction needs of a model, whichever runtime runs it.

    Attributes:
        heatmaps: function from a sequence of RGB images (values 0..255,
            any sizes) to their float32 heatmaps (N, u, v, K); it resizes
            the images to ``image_size``.
        postprocessor: the model's ``Postprocessor``: heatmaps to scores and
            detected types; ``type_codes``, ``score_reduction``,
            ``thresholds`` and ``threshold_source`` are its.
        image_size: ``(height, width)`` of the model's input.
        weights_source: the weights the backbone started from.
        runtime: ``"Keras"``, ``"LiteRT"`` or ``"ONNX Runtime"``.
        model_file: the file the model was loaded from, when known.
        quantization: a converted file's (``"none"``, ``"int8"``, ...); a
            Keras model's mixed-precision policy (``"mixed_bfloat16"``,
            ``mtfcdd.training.precision.model_in_precision``), or None for
            a float32 one.
        preprocessor: the model's ``mtfcdd.data.preprocessor.Preprocessor``,
            which reads files for it and resizes arrays in ``heatmaps``;
            None gives the default one at ``image_size``.
    """

    heatmaps: Callable
    postprocessor: Postprocessor
    image_size: Tuple[int, int]
    weights_source: str
    runtime: str = "Keras"
    model_file: Optional[str] = None
    quantization: Optional[str] = None
    preprocessor: Optional[Preprocessor] = None

    def __post_init__(self):
        if self.preprocessor is None:
            object.__setattr__(self, "preprocessor", Preprocessor(self.image_size))

    def predict(self, images, reduction=None):
        """Heatmaps, scores and detected types of RGB images (values 0..255,
        any sizes): ``heatmaps`` then ``Postprocessor.predict``."""
        return self.postprocessor.predict(self.heatmaps(images), reduction)


def heatmap_model(model):
    """``model`` as a ``HeatmapModel``.

    Call it once where a model comes in (a public function, the command
    line); what it hands on takes the ``HeatmapModel``.

    Args:
        model: a Keras ``MultiTypeFCDD``, a converted file
            (``mtfcdd.deploy.runner.LiteRTModel``,
            ``mtfcdd.deploy.onnx_runner.OnnxModel``), or a ``HeatmapModel``.
    """
    if isinstance(model, HeatmapModel):
        return model
    # Told apart by what they offer, so that neither Keras nor LiteRT is
    # imported to recognise the other.
    if callable(getattr(model, "predict_on_batch", None)) and hasattr(model, "type_codes"):
        facts = model_facts(model.get_config())
        preprocessor = model.preprocessor
        return HeatmapModel(
            heatmaps=lambda images: np.asarray(
                model.predict_on_batch(preprocessor.batch(images).astype(np.float32)),
                np.float32,
            ),
            postprocessor=Postprocessor.from_config(facts),
            image_size=preprocessor.image_size,
            weights_source=facts["weights_source"],
            quantization=None if model.dtype_policy.name == "float32" else model.dtype_policy.name,
            preprocessor=preprocessor,
        )
    if callable(getattr(model, "heatmaps", None)) and hasattr(model, "metadata"):
        return HeatmapModel(
            heatmaps=model.heatmaps,
            postprocessor=model.postprocessor,
            image_size=tuple(model.image_size),
            weights_source=model.metadata["weights_source"],
            runtime=model.runtime,
            model_file=model.model_path,
            quantization=model.metadata["quantization"],
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
