"""The frozen feature extractor: InceptionResNetV2 cut after its block35 stage.

Paper 4.3.1 and docs/model.md: the stem, ``mixed_5b`` and the ten block35
repeats of ``keras.applications.InceptionResNetV2``, ending at the layer
``block35_10_ac`` (35x35x320 for a 299x299 input, 1,676,000 parameters), all
frozen.
"""

import copy
import os
import random

import keras

from mtfcdd.constants import DEFAULT_IMAGE_SIZE, MIN_IMAGE_SIZE
from mtfcdd.utils.image_size import image_size_pair

CUT_LAYER = "block35_10_ac"
# The file Keras downloads for InceptionResNetV2(include_top=False).
IMAGENET_NOTOP_FILE = "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5"

# Backbone weights that this package pre-trains on its own synthetic data and
# ships, for machines without network access (backbone_weights="synthetic";
# experiments/pretrain_synthetic_backbone.py made them, docs/model.md says how).
SYNTHETIC_WEIGHTS = "synthetic"
SYNTHETIC_WEIGHTS_FILE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "weights", "backbone_synthetic.weights.h5"
)


def build_backbone(image_size=DEFAULT_IMAGE_SIZE, weights="imagenet"):
    """Builds the frozen backbone as a Functional ``keras.Model``.

    Args:
        image_size: the input's side, or ``(height, width)``; sides >= 75.
        weights: ``"imagenet"`` (Keras downloads and caches the notop file),
            ``None`` (random initialisation), a path to a local
            ``inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5``
            (the whole notop network, for offline use), a path to a
            ``.weights.h5`` file of this cut backbone alone, or
            ``"synthetic"``: the offline weights shipped with the package,
            trained on its synthetic data only (not ImageNet).

    Returns:
        A non-trainable model mapping pre-processed images (values in
        [-1, 1]) to block35 features.
    """
    height, width = image_size_pair(image_size)
    if min(height, width) < MIN_IMAGE_SIZE:
        raise ValueError(
            f"image_size must be at least {MIN_IMAGE_SIZE} pixels on each side "
            f"(InceptionResNetV2's smallest input); got {image_size!r}."
        )
    full_network_weights, cut_weights = _resolve_weights(weights)
    if full_network_weights is None:
        backbone = keras.Model.from_config(_cut_config(height, width))
    else:
        backbone = _cut(_full_network(height, width, full_network_weights, weights))
    if cut_weights is not None:
        _load_cut_weights(backbone, cut_weights)
    # trainable=False also keeps every BatchNormalization in inference mode
    # during fit() (Keras 3 semantics), so the moving statistics stay frozen.
    backbone.trainable = False
    return backbone


# The cut backbone's Functional config per (height, width, dtype policy,
# data format): built from it, the backbone creates only its own 261 layers
# instead of the full network's 780 (a quarter of the time; the full network
# exists only to be cut).
_CUT_CONFIGS: dict[tuple[int, int, str, str], dict] = {}


def _cut_config(height, width):
    key = (height, width, keras.config.dtype_policy().name, keras.config.image_data_format())
    if key not in _CUT_CONFIGS:
        # Each layer draws its initializers' seeds from Python's random
        # module when it is created: drawn here for the full network's
        # layers, they would make the first build's weights differ from
        # later builds' under the same keras.utils.set_random_seed.
        state = random.getstate()
        try:
            _CUT_CONFIGS[key] = _cut(_full_network(height, width, None, None)).get_config()
        finally:
            random.setstate(state)
    return copy.deepcopy(_CUT_CONFIGS[key])


def _full_network(height, width, full_network_weights, weights):
    try:
        return keras.applications.InceptionResNetV2(
            include_top=False,
            weights=full_network_weights,
            input_shape=(height, width, 3),
        )
    except ValueError as error:
        raise ValueError(
            f"Could not load backbone weights from {weights!r}: expected "
            "Keras' InceptionResNetV2 notop weights (include_top=False) in "
            f"HDF5 format. Keras said: {error}"
        ) from error
    except Exception as error:
        # Keras reports a failed download as a bare Exception.
        if "URL fetch failure" not in str(error):
            raise
        raise ConnectionError(_download_failure(error)) from error


def _cut(full_network):
    return keras.Model(
        full_network.input,
        full_network.get_layer(CUT_LAYER).output,
        name="inception_resnet_v2_block35",
    )


def feature_map_size(image_size):
    """Side of the backbone's output grid (u or v) for an input side.

    The stem's valid 3x3 convolutions and 3x3 stride-2 poolings shrink the
    image; everything after ``mixed_5b`` keeps the size: 299 -> 35,
    128 -> 13, 75 -> 7.
    """
    size = (image_size - 3) // 2 + 1  # conv2d_1, 3x3 stride 2
    size -= 2  # conv2d_2, 3x3
    size = (size - 3) // 2 + 1  # max_pooling2d_1, 3x3 stride 2
    size -= 2  # conv2d_5, 3x3
    return (size - 3) // 2 + 1  # max_pooling2d_2, 3x3 stride 2


def _resolve_weights(weights):
    """Splits ``weights`` into (weights for the full network, cut-file path)."""
    if weights is None or weights == "imagenet":
        return weights, None
    if weights == SYNTHETIC_WEIGHTS:
        if not os.path.isfile(SYNTHETIC_WEIGHTS_FILE):
            raise FileNotFoundError(
                "The shipped synthetic backbone weights are missing from this "
                f"installation: expected {SYNTHETIC_WEIGHTS_FILE}."
            )
        return None, SYNTHETIC_WEIGHTS_FILE
    path = os.fspath(weights)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"Backbone weights file not found: {path!r}. Expected 'imagenet', "
            "None, 'synthetic', or the path of an InceptionResNetV2 notop "
            ".h5 file (see docs/model.md, 'ImageNet weights offline')."
        )
    if path.endswith(".weights.h5"):
        return None, path
    if path.endswith(".h5"):
        return path, None
    raise ValueError(
        f"Backbone weights file {path!r} must end in '.h5' (Keras' "
        "InceptionResNetV2 notop file) or '.weights.h5' (a saved cut "
        "backbone)."
    )


def _download_failure(error):
    """What to do when Keras cannot download the ImageNet weights."""
    cache = os.path.join(os.environ.get("KERAS_HOME", os.path.join("~", ".keras")), "models")
    return (
        f"The ImageNet weights of the backbone could not be downloaded ({' '.join(str(error).split())}). "
        f"Keras caches them in {cache}/: on a machine without network access, copy "
        f"{IMAGENET_NOTOP_FILE} there, or pass that file with --backbone-weights FILE "
        "(backbone_weights=FILE), or use --backbone-weights synthetic (shipped with mtfcdd, "
        "trained on synthetic images only; docs/model.md)."
    )


def _load_cut_weights(backbone, path):
    try:
        backbone.load_weights(path)
    except ValueError as error:
        raise ValueError(
            f"Could not load backbone weights from {path!r}: expected the "
            f"weights of InceptionResNetV2 cut at {CUT_LAYER!r}, as saved by "
            f"backbone.save_weights(). Keras said: {error}"
        ) from error
