"""Names the whole package shares: Real-IAD's, and the choices of settings.

Real-IAD (paper 4.1, docs/data.md): its defect types in their fixed
channel order, its classes, its folders and files. Every per-type tensor in
the package (labels, heatmap channels, scores, thresholds) uses the order of
``DEFECT_CODES``: channel ``k`` of a model's output is the heatmap of
``DEFECT_CODES[k]`` (paper Table 1).

The choices of the package's settings (score reductions, quantisations, ...)
are here too, so that the command line offers them without importing the
modules that implement them (and Keras or TensorFlow with those).

Nothing here imports anything: importing this module costs nothing.
"""

# === Real-IAD's defect types and classes ===

DEFECT_CODES = ("AK", "BX", "CH", "HS", "PS", "QS", "YW", "ZW")
"""Real-IAD's defect type codes in channel order (paper Table 1)."""

DEFECT_NAMES = {
    "AK": "Pit",
    "BX": "Deformation",
    "CH": "Abrasion",
    "HS": "Scratch",
    "PS": "Damage",
    "QS": "Missing Parts",
    "YW": "Foreign Objects",
    "ZW": "Contamination",
}
"""The English name of each defect code, e.g. ``"AK"`` is ``"Pit"``."""

NORMAL_CLASS = "OK"
"""Real-IAD's class of defect-free images (its ``OK`` folders)."""

IMAGE_CLASSES = (NORMAL_CLASS,) + DEFECT_CODES
"""The class of a training image: normal, or one defect type (paper 4.2)."""

ANY_DEFECT_CODE = "ANY"
"""The one channel of the multi-class setting (paper 5.2): any defect."""

TYPE_NAMES = {**DEFECT_NAMES, ANY_DEFECT_CODE: "Any defect"}
"""The name of each heatmap channel's code, for tables and plots; a code of
your own data set (not listed) is its own name."""

DEFECTIVE_CLASS = "defective"
"""The class of every defective image when sampling is normal/defective."""

SAMPLING_CLASSES = {
    "types": IMAGE_CLASSES,
    "binary": (NORMAL_CLASS, DEFECTIVE_CLASS),
}
"""The classes that balanced sampling draws uniformly (paper 4.2): normal and
each defect type (the paper's 9), or normal and defective (FCDD's 50/50)."""

# === Real-IAD's folders and files ===

SPLITS_FOLDER = "realiad_jsons"
"""Folder of the split settings under a data set root."""

IMAGE_FOLDER_PREFIX = "realiad_"
"""Image folders are ``realiad_256``, ``realiad_512``, ``realiad_1024``..."""

FUIAD_ALPHAS = (0.0, 0.1, 0.2, 0.4)
"""The noise ratios of Real-IAD's FUIAD splits: the fraction of the training
images that are defective, with their labels."""

SPLIT_NAMES = ("train", "test")
"""The splits of each ``<object>.json``."""

ENTRY_KEYS = ("anomaly_class", "category", "image_path", "mask_path")
"""The keys of an entry of a split."""

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
"""File extensions read as images."""

MASK_EXTENSION = ".png"
"""A mask is a PNG with its image's stem, beside it; any value > 0 is defect."""

# === Other layouts (mtfcdd.data.layouts) ===

DATA_LAYOUTS = ("auto", "realiad", "folder", "mvtec", "manifest")
"""The data set layouts read; ``"auto"`` finds which one a root holds."""

DEFAULT_NORMAL_NAME = "good"
"""The normal class folder of the folder layout when none is given (MVTec AD's)."""

# === The model ===

DEFAULT_IMAGE_SIZE = 299
"""The paper's model input side: InceptionResNetV2's 299x299 (paper 4.3.1)."""

MIN_IMAGE_SIZE = 75
"""The smallest input side InceptionResNetV2 takes."""

INPUT_SCALINGS = {"inception": (1 / 127.5, -1.0), "unit": (1 / 255, 0.0)}
"""(scale, offset) taking pixels in 0..255 to the backbone's input: [-1, 1],
what Keras' InceptionResNetV2 weights expect, or [0, 1], what the authors'
code feeds timm's (``ToTensor`` without normalisation)."""

BACKBONE_BATCHNORM_MODES = ("frozen", "batch-statistics")
"""The frozen backbone's BatchNorm layers during training: inference mode
(the paper: nothing in the backbone changes), or the authors' code's
``model.train()``: batch statistics, running averages updated (their other
weights stay frozen)."""

HEAD_BATCHNORMS = {"keras": (0.99, 1e-3), "pytorch": (0.9, 1e-5)}
"""(momentum, epsilon) of the head's BatchNorm layers in Keras' terms:
Keras' defaults, or PyTorch's (its momentum 0.1 is Keras' 0.9), the
authors' code's."""

INITIALIZERS = ("glorot", "kaiming")
"""The head's convolutions' initialisation: Keras' (Glorot-uniform kernels,
zero biases) or PyTorch's, the authors' code's (Kaiming-uniform with
a = sqrt(5), i.e. uniform +-1 / sqrt(fan_in) kernels and biases)."""

# === Choices of the package's settings ===

SCORE_REDUCTIONS = ("mean", "max")
"""How an image score is read from a heatmap: the mean (paper Eq. 2) or the
maximum (the authors' code)."""

QUANTIZATIONS = ("none", "float16", "dynamic", "int8")
"""Conversions (``mtfcdd.deploy.export``); ``FORMAT_QUANTIZATIONS`` says
which each file format offers."""

EXPORT_FORMATS = ("tflite", "onnx", "openvino")
"""Converted files (``mtfcdd.deploy.export``): LiteRT, ONNX, or OpenVINO's IR
(an ``.xml`` file and its ``.bin`` weights)."""

FORMAT_QUANTIZATIONS = {
    "tflite": QUANTIZATIONS,
    "onnx": ("none", "int8"),
    "openvino": ("none", "int8"),
}
"""The quantisations of each export format: ONNX and OpenVINO files are
float32 or int8 (static, calibrated like LiteRT's int8)."""

BALANCED_EPOCH_METHODS = ("exact", "monte_carlo")
"""How E[T] of a balanced epoch is computed: Eq. 4 exactly, or Eq. 5."""

STRATEGIES = ("default", "mirrored", "multi-worker")
"""tf.distribute strategies of training: one device, every local GPU
(``MirroredStrategy``), or several machines (``MultiWorkerMirroredStrategy``
configured by ``TF_CONFIG``)."""

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
"""Keras dtype policies of training: float32, or mixed precision with
float32 variables and bfloat16 or float16 computation (the pseudo-Huber
output, the scores and the loss stay float32)."""

SUPERVISIONS = ("image", "pixel")
"""Training labels: image level (the paper, Eq. 3) or masks per heatmap cell."""

PIXEL_PROTOCOLS = ("per-type", "authors")
"""Which images and masks the pixel metrics of channel k use
(``mtfcdd.metrics.evaluator``): the normal and type-k images against the
type-k masks, or every image against its own mask (the authors' code)."""

MASK_RESIZINGS = ("nearest", "bicubic")
"""How evaluation resizes the masks to the pixel metrics' size: nearest
neighbour with half-pixel centres (keeps their area), or bicubic then
``> 0`` (the authors' PIL default, which grows them by up to a pixel)."""

AUPRO_INTEGRATIONS = ("exact", "authors")
"""How AUPRO integrates its curve (``mtfcdd.metrics.aupro``): every distinct
score a threshold, interpolated at the FPR limit (MVTec AD), or the authors'
evaluate.py: 1,000 equally spaced thresholds, the point past the limit kept,
the area clipped to [0, 1]."""


# === Serving (mtfcdd serve) ===

MAX_UPLOAD_BYTES = 25_000_000
"""The server's default limit on an upload's size: a phone photo passes."""

MAX_PIXELS = 25_000_000
"""The limit on the pixels decoded from an image file or upload (12 to 24
megapixel photos pass whole; a larger JPEG is decoded at 1/2, 1/4 or 1/8 of
its size, a larger PNG or BMP refused; ``mtfcdd.utils.image_bytes``)."""


def fuiad_setting(alpha):
    """The split folder name of the FUIAD setting with noise ratio ``alpha``.

    Example: ``fuiad_setting(0.1)`` is ``"realiad_jsons_fuiad_0.1"``.
    """
    if alpha not in FUIAD_ALPHAS:
        raise ValueError(
            f"alpha must be one of {FUIAD_ALPHAS} (the FUIAD splits Real-IAD "
            f"ships), got {alpha!r}."
        )
    return f"realiad_jsons_fuiad_{alpha:.1f}"


def type_codes_for(num_types):
    """The default type code of each output channel of a model with
    ``num_types`` channels, used where no names are given.

    Args:
        num_types: 8 for the multi-type setting, 1 for the multi-class one;
            any other count gets placeholders ``TYPE1``, ``TYPE2``...: the
            names of a bare ``build_model(num_types=3)`` only, as a model
            trained on your own data set has its types' names (its folder
            names, or ``--types``).

    Returns:
        A tuple of ``num_types`` codes.
    """
    if num_types == len(DEFECT_CODES):
        return DEFECT_CODES
    if num_types == 1:
        return (ANY_DEFECT_CODE,)
    return tuple(f"TYPE{index}" for index in range(1, num_types + 1))

# evaluate's matrix of decisions at the thresholds: the row of the test
# images of types absent from training, and the column of no defect found.
UNKNOWN_ROW = "unknown"
NORMAL_DECISION = "normal"
