"""The MultiTypeFCDD network (paper 3.1 and 4.3.1)."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from typing import Any

import keras

from mtfcdd.constants import (
    BACKBONE_BATCHNORM_MODES,
    DEFECT_CODES,
    DEFAULT_IMAGE_SIZE,
    HEAD_BATCHNORMS,
    INITIALIZERS,
    INPUT_SCALINGS,
    type_codes_for,
)
from mtfcdd.data.preprocessor import Preprocessor
from mtfcdd.inference.postprocessor import Postprocessor
from mtfcdd.model.backbone import build_backbone
from mtfcdd.model.pseudo_huber import PseudoHuber
from mtfcdd.utils.image_size import image_size_pair

HEAD_FILTERS = 512


@keras.saving.register_keras_serializable(package="mtfcdd")
class MultiTypeFCDD(keras.Model):
    """Frozen InceptionResNetV2 features, a small head, one heatmap per type.

    A Functional model: raw RGB images (N, H, W, 3) with values in 0..255 in,
    heatmaps (N, u, v, K) out, where ``u, v`` is the block35 grid (35x35 for a
    299x299 input) and channel ``k`` belongs to ``type_codes[k]``.

        x / 127.5 - 1                         InceptionResNetV2 pre-processing
                                              (input_scaling)
        backbone (frozen)                     backbone.build_backbone
        2 x [Conv2D 512 3x3 -> BN -> ReLU]    the trainable head
        Conv2D K 1x1 (with bias)              phi(X; W); its bias plays the
                                              role of FCDD's hypersphere centre
        PseudoHuber                           A_k(X), paper Eq. 1

    Pre-processing lives inside the model so that a saved or converted model
    takes plain images.

    Args:
        num_types: K, the number of heatmaps: 8 for Real-IAD's defect types
            (paper Tables 3, 4), 1 for "any defect" (paper Table 5), or
            any K (paper 3.1): one per defect type of your own data.
        image_size: the input's side (``299``: 299x299, the paper's) or
            ``(height, width)``; sides >= 75.
        backbone_weights: see ``mtfcdd.model.backbone.build_backbone``. Used only
            when the model is first built; a saved model carries its weights.
        type_codes: the name of each channel (any UTF-8, e.g.
            ``("crack", "dent")``), shown in every output; by default
            ``mtfcdd.constants.type_codes_for(num_types)``: Real-IAD's codes
            for K = 8, ``("ANY",)`` for K = 1, and placeholders ``TYPE1``,
            ``TYPE2``... for any other K. A model trained on your own data
            has its data set's names.
        weights_source: a record of the weights the backbone started from;
            defaults to ``str(backbone_weights)``. Saved with the model so
            that every result can say which weights produced it.
        score_reduction: ``"mean"`` (paper Eq. 2) or ``"max"``: how image
            scores are read from the heatmaps at prediction time.
        thresholds: per-type decision thresholds on the image scores (one
            float per type) or ``None``; set after training and saved with
            the model so that prediction uses them.
        threshold_source: how the thresholds were fitted, in words (see
            ``mtfcdd.training.config.TrainingConfig.threshold_source``), or
            ``None`` (no thresholds, or a model saved before this was
            recorded).
        train_backbone: train the backbone too (BatchNorm in training mode).
            False in the paper; True only to pre-train a backbone from
            scratch (see docs/model.md, "Offline backbone").
        dtype: the dtype policy of the head (e.g. ``"mixed_bfloat16"``), as
            for any Keras layer; None follows Keras' global policy, which
            the backbone follows too. The type projection and the
            pseudo-Huber output are always float32.
        image_shape: deprecated, ``(height, width, 3)``: the name mtfcdd
            0.1 used (and wrote into saved models); use ``image_size``.
        input_scaling: ``"inception"`` (``x / 127.5 - 1``, what the Keras
            weights expect) or ``"unit"`` (``x / 255``, the authors' code);
            see ``mtfcdd.constants.INPUT_SCALINGS``.
        backbone_batchnorm: ``"frozen"`` (the paper) or
            ``"batch-statistics"``: during training the backbone's
            BatchNorm layers normalise with the batch's statistics and update
            their moving averages, every other backbone weight frozen (the
            authors' ``model.train()``).
        head_batchnorm: ``"keras"`` (momentum 0.99, epsilon 1e-3) or
            ``"pytorch"`` (0.9, 1e-5: PyTorch's defaults, the authors').
        initializer: ``"glorot"`` (Keras') or ``"kaiming"`` (PyTorch's
            convolution defaults, the authors'); see
            ``mtfcdd.constants.INITIALIZERS``.
        run_id: the id of the training run that made the model (its run
            folder's ``config.json``), or None; a resume refuses a
            checkpoint of another run.
        preprocessor: how an image file or array becomes the model's input
            (``mtfcdd.data.preprocessor.Preprocessor`` or its config dict);
            None for the default decoder and resize rule at ``image_size``
            (also what a model saved before this was recorded gets). Saved
            with the model and written into every sidecar, so that training,
            evaluation and every runtime read images alike.
        open_set: the open-set rule that calls an image no type fires on an
            ``"unknown defect"`` (``mtfcdd.inference.open_set.OpenSetRule``'s
            config), or None (off; also what a model saved before it existed
            gets). Needs ``thresholds``; fitted after them by training.
    """

    def __init__(
        self,
        num_types: int = 8,
        image_size: int | Sequence[int] = DEFAULT_IMAGE_SIZE,
        backbone_weights: str | os.PathLike[str] | None = "imagenet",
        type_codes: Sequence[str] | None = None,
        weights_source: str | None = None,
        score_reduction: str = "mean",
        thresholds: Sequence[float] | None = None,
        train_backbone: bool = False,
        threshold_source: str | None = None,
        dtype: str | keras.DTypePolicy | None = None,
        image_shape: Sequence[int] | None = None,
        input_scaling: str = "inception",
        backbone_batchnorm: str = "frozen",
        head_batchnorm: str = "keras",
        initializer: str = "glorot",
        run_id: str | None = None,
        preprocessor: Preprocessor | dict | None = None,
        open_set: dict | None = None,
        **kwargs: Any,
    ) -> None:
        if image_shape is not None:
            warnings.warn(
                "MultiTypeFCDD(image_shape=(height, width, 3)) is deprecated; "
                "use image_size=(height, width).",
                DeprecationWarning,
                stacklevel=2,
            )
            image_size = tuple(image_shape)[:2]
        if num_types < 1:
            raise ValueError(f"num_types must be >= 1; got {num_types}.")
        type_codes = tuple(type_codes or type_codes_for(num_types))
        if len(type_codes) != num_types:
            raise ValueError(
                f"type_codes has {len(type_codes)} codes for {num_types} "
                "types; give one code per type."
            )
        image_size = image_size_pair(image_size)
        if isinstance(preprocessor, Preprocessor):
            preprocessor = preprocessor.get_config()
        preprocessor = Preprocessor.from_config(preprocessor, image_size)
        # Checks the fields that turn heatmaps into answers.
        postprocessor = Postprocessor(type_codes, score_reduction, thresholds, threshold_source, open_set)
        _check_choice("input_scaling", input_scaling, tuple(INPUT_SCALINGS))
        _check_choice("backbone_batchnorm", backbone_batchnorm, BACKBONE_BATCHNORM_MODES)
        _check_choice("head_batchnorm", head_batchnorm, tuple(HEAD_BATCHNORMS))
        _check_choice("initializer", initializer, INITIALIZERS)
        if train_backbone and backbone_batchnorm != "frozen":
            raise ValueError(
                "train_backbone=True trains every backbone layer, BatchNorm included; "
                f"backbone_batchnorm={backbone_batchnorm!r} needs train_backbone=False."
            )
        if run_id is not None and not isinstance(run_id, str):
            raise ValueError(f"run_id must be a string or None; got {run_id!r}.")

        # === Functional model ===
        images = keras.Input(shape=(*image_size, 3), name="images")
        scale, offset = INPUT_SCALINGS[input_scaling]
        x = keras.layers.Rescaling(
            scale=scale, offset=offset, name="preprocessing", dtype=dtype
        )(images)
        backbone = build_backbone(image_size, weights=backbone_weights)
        # A non-trainable backbone also keeps its BatchNorm layers in
        # inference mode during fit() (Keras 3), so nothing in it changes.
        backbone.trainable = train_backbone
        if backbone_batchnorm == "batch-statistics":
            _train_batchnorm_statistics_only(backbone)
        x = backbone(x)
        momentum, epsilon = HEAD_BATCHNORMS[head_batchnorm]
        for index in (1, 2):
            x = keras.layers.Conv2D(
                HEAD_FILTERS, 3, padding="same", name=f"head_conv{index}", dtype=dtype,
                **_convolution_initializers(initializer, x.shape[-1] * 3 * 3),
            )(x)
            x = keras.layers.BatchNormalization(
                momentum=momentum, epsilon=epsilon, name=f"head_bn{index}", dtype=dtype
            )(x)
            x = keras.layers.ReLU(name=f"head_relu{index}", dtype=dtype)(x)
        # phi and Eq. 1 in float32 whatever the policy: the square overflows
        # float16, and bfloat16 rounds small heatmap values to zero. The 1x1
        # projection costs under 0.1 % of the FLOPs.
        x = keras.layers.Conv2D(
            num_types, 1, name="type_projection", dtype="float32",
            **_convolution_initializers(initializer, x.shape[-1]),
        )(x)
        heatmaps = PseudoHuber(name="heatmaps", dtype="float32")(x)
        super().__init__(inputs=images, outputs=heatmaps, dtype=dtype, **kwargs)

        # === Config ===
        self.num_types = num_types
        self.image_size = image_size
        self.type_codes = type_codes
        self.weights_source = (
            weights_source if weights_source is not None else str(backbone_weights)
        )
        self.score_reduction = postprocessor.score_reduction
        self.thresholds = postprocessor.thresholds
        self.threshold_source = postprocessor.threshold_source
        self.open_set = postprocessor.open_set
        self.train_backbone = train_backbone
        self.input_scaling = input_scaling
        self.backbone_batchnorm = backbone_batchnorm
        self.head_batchnorm = head_batchnorm
        self.initializer = initializer
        self.run_id = run_id
        self.preprocessor = preprocessor
        self.backbone = backbone

    def get_config(self) -> dict[str, Any]:
        # A saved model carries its own weights, so from_config builds the
        # architecture without fetching any (like keras-hub's backbones).
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            "num_types": self.num_types,
            "image_size": self.image_size,
            "backbone_weights": None,
            "type_codes": self.type_codes,
            "weights_source": self.weights_source,
            "score_reduction": self.score_reduction,
            "thresholds": self.thresholds,
            "threshold_source": self.threshold_source,
            "train_backbone": self.train_backbone,
            "input_scaling": self.input_scaling,
            "backbone_batchnorm": self.backbone_batchnorm,
            "head_batchnorm": self.head_batchnorm,
            "initializer": self.initializer,
            "run_id": self.run_id,
            "preprocessor": self.preprocessor.get_config(),
            "open_set": self.open_set,
        }

    @property
    def postprocessor(self) -> Postprocessor:
        """The model's answers out: a ``mtfcdd.inference.postprocessor.Postprocessor``
        of its config's ``type_codes``, ``score_reduction``, ``thresholds``,
        ``threshold_source`` and ``open_set`` (the fields every sidecar copies)."""
        return Postprocessor.from_config(self.get_config())

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MultiTypeFCDD:
        # Never fetch weights while loading, whatever a (hand-edited) config
        # says: the trained weights are in the file.
        return cls(**{**config, "backbone_weights": None})


def rebuilt_model(model: MultiTypeFCDD, **config_changes: Any) -> MultiTypeFCDD:
    """A copy of ``model`` built from its config with ``config_changes``,
    holding the same weights (no optimizer). Every weight's shape must be
    unchanged: a dtype policy or an input size, not K."""
    copy = type(model).from_config({**model.get_config(), **config_changes})
    copy.set_weights(model.get_weights())
    return copy


def model_at_image_size(model: MultiTypeFCDD, image_size: int | Sequence[int]) -> MultiTypeFCDD:
    """``model``'s weights reading ``image_size`` inputs.

    The network is fully convolutional (paper 3.1), so the same weights run at
    any input size, with a heatmap of that size's feature map: a model trained
    at 96x96 timed at 299x299 costs what a 299x299 model costs. Its scores are
    not those of a model trained at the new size (each receptive field sees a
    smaller part of the object), and its thresholds are still the trained
    size's; for a deployment, train at the size you run at.
    """
    side = image_size_pair(image_size)
    preprocessor = {**model.preprocessor.get_config(), "image_size": list(side)}
    return rebuilt_model(model, image_size=side, preprocessor=preprocessor)


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {value!r}.")


def _train_batchnorm_statistics_only(backbone):
    """BatchNorm layers in training mode (batch statistics, moving averages
    updated) while every weight of the backbone stays frozen.

    Keras 3 runs a BatchNorm layer in training mode only when the layer is
    trainable, and trains every trainable variable: so the BatchNorm layers
    stay trainable and their own offset and scale variables do not.
    """
    backbone.trainable = True
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            for variable in layer.trainable_variables:
                variable.trainable = False
        else:
            layer.trainable = False


def _convolution_initializers(initializer, fan_in):
    """Keras' defaults, or PyTorch's ``Conv2d`` ones: Kaiming-uniform with
    a = sqrt(5) for the kernel and the same bound for the bias, both
    uniform in +-1 / sqrt(fan_in)."""
    if initializer == "glorot":
        return {}
    bound = 1 / math.sqrt(fan_in)
    return {
        "kernel_initializer": keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform"),
        "bias_initializer": keras.initializers.RandomUniform(-bound, bound),
    }


def build_model(
    num_types: int | None = None,
    image_size: int | Sequence[int] = DEFAULT_IMAGE_SIZE,
    backbone_weights: str | os.PathLike[str] | None = "imagenet",
    input_shape: Sequence[int] | None = None,
    type_codes: Sequence[str] | None = None,
) -> MultiTypeFCDD:
    """Builds MultiTypeFCDD (paper 3.1), see ``MultiTypeFCDD``.

    Example: ``build_model(type_codes=("crack", "dent", "stain"))`` has
    three heatmaps, named as given.

    Args:
        num_types: K, the number of heatmaps; by default one per name of
            ``type_codes``, else 8 (one per Real-IAD type).
        image_size: the input's side, or ``(height, width)``.
        backbone_weights: ``"imagenet"`` (the paper's), ``"synthetic"``,
            None or a weights file (``mtfcdd.model.backbone.build_backbone``).
        input_shape: deprecated, ``(height, width, 3)``; use ``image_size``.
            The 0.1 docs' ``build_model(8, (299, 299, 3))``, which passed it
            second, is read the same way.
        type_codes: the name of each heatmap (any UTF-8), in channel order;
            by default ``TYPE1``, ``TYPE2``... for a K other than 8 or 1
            (see ``MultiTypeFCDD``).

    Returns:
        A ``keras.Model`` mapping RGB images (N, H, W, 3) in 0..255 to
        heatmaps (N, u, v, num_types). ``num_types=8`` at 299x299 has
        5,519,080 parameters, 1,676,000 of them in the frozen backbone.
    """
    if input_shape is None and isinstance(image_size, (tuple, list)) and len(image_size) == 3:
        input_shape = image_size
    if input_shape is not None:
        warnings.warn(
            f"build_model's input_shape {tuple(input_shape)!r} is deprecated; use image_size=(height, width).",
            DeprecationWarning,
            stacklevel=2,
        )
        image_size = tuple(input_shape)[:2]
    if num_types is None:
        num_types = len(type_codes) if type_codes else len(DEFECT_CODES)
    return MultiTypeFCDD(
        num_types=num_types,
        image_size=image_size,
        backbone_weights=backbone_weights,
        type_codes=type_codes,
        name="multi_type_fcdd",
    )
