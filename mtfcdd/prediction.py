"""Prediction on image files: scores, detected types, pictures (paper Eq. 2, 3.1).

``predict`` runs a model on image files and writes, per image, a panel of
its K heatmaps (``mtfcdd.visualization.prediction_panel``) and, for the run,
``predictions.json`` and ``predictions.csv``. ``figure2_grid`` draws the
paper's Figure 2 from test samples with masks.

Both take a Keras ``MultiTypeFCDD`` or a converted model
(``mtfcdd.deploy.runner.LiteRTModel``): ``heatmap_model`` wraps either in a
``HeatmapModel`` (images in, heatmaps and metadata out), and everything after
the network is ``mtfcdd.postprocessing``, the same code the LiteRT runner
uses. Images are read and resized with ``mtfcdd.deploy.images`` (OpenCV:
area interpolation when shrinking), as the runner and the int8 calibration
read them.

This module needs neither Keras nor TensorFlow (only the progress bar,
when asked for, uses Keras), so a LiteRT model predicts on a machine
without them.
"""

import csv
import dataclasses
import io
import os
from typing import Callable, Dict, Optional, Tuple

import cv2
import numpy as np

from mtfcdd.atomic_files import write_bytes, write_json, write_text
from mtfcdd.defect_types import DEFECT_CODES
from mtfcdd.deploy.images import find_images, image_batch, read_rgb_image
from mtfcdd.postprocessing import prediction_from_heatmaps, upsample
from mtfcdd.visualization import GridExample, GridRow, heatmap_grid, png_bytes, prediction_panel

PREDICTIONS_JSON = "predictions.json"
PREDICTIONS_CSV = "predictions.csv"
# Real-IAD stores each mask as a PNG beside its JPEG image, with the same stem.
MASK_IMAGE_EXTENSIONS = (".jpg", ".jpeg")


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
    """

    heatmaps: Callable
    type_codes: Tuple[str, ...]
    image_size: Tuple[int, int]
    score_reduction: str
    thresholds: Optional[Tuple[float, ...]]
    weights_source: str


@dataclasses.dataclass(frozen=True)
class ImagePrediction:
    """The result for one image file.

    Attributes:
        path: the image file.
        scores: type code -> image score s_k (paper Eq. 2).
        detected_types: the codes whose score reaches its threshold (empty
            for a normal image); None without thresholds.
        panel_path: the panel PNG, or None when no output folder was given.
    """

    path: str
    scores: Dict[str, float]
    detected_types: Optional[Tuple[str, ...]]
    panel_path: Optional[str]


@dataclasses.dataclass(frozen=True)
class PredictionResults:
    """What ``predict`` did.

    Attributes:
        predictions: one ``ImagePrediction`` per readable image, in input order.
        failures: ``(path, reason)`` of each image that could not be read;
            ``reason`` is the error message, which names the file.
        type_codes, image_size, weights_source: of the model.
        score_reduction: the reduction that produced the scores.
        thresholds: the thresholds applied, or None (none in the model, or
            a reduction other than the one they were fitted with).
    """

    predictions: Tuple[ImagePrediction, ...]
    failures: Tuple[Tuple[str, str], ...]
    type_codes: Tuple[str, ...]
    image_size: Tuple[int, int]
    weights_source: str
    score_reduction: str
    thresholds: Optional[Tuple[float, ...]]

    def to_dict(self):
        """The content of ``predictions.json``."""
        return {
            "model": {
                "type_codes": list(self.type_codes),
                "input_size": list(self.image_size),
                "weights_source": self.weights_source,
            },
            "score_reduction": self.score_reduction,
            "thresholds": None if self.thresholds is None else list(self.thresholds),
            "images": [
                {
                    "path": prediction.path,
                    "scores": prediction.scores,
                    "detected_types": _optional_list(prediction.detected_types),
                    "panel": prediction.panel_path,
                }
                for prediction in self.predictions
            ],
            "failures": [{"path": path, "reason": reason} for path, reason in self.failures],
        }

    def to_csv(self):
        """One row per image: path, detected types, a score per type, panel.

        ``detected_types`` is "normal", codes joined by ";", or empty when
        no thresholds were applied.
        """
        output = io.StringIO()
        writer = csv.writer(output, lineterminator="\n")
        writer.writerow(["path", "detected_types", *self.type_codes, "panel"])
        for prediction in self.predictions:
            writer.writerow([
                prediction.path,
                describe_detection(prediction.detected_types, none=""),
                *(f"{prediction.scores[code]:.9g}" for code in self.type_codes),
                prediction.panel_path or "",
            ])
        return output.getvalue()


def heatmap_model(model):
    """``model`` as a ``HeatmapModel``.

    Args:
        model: a Keras ``MultiTypeFCDD``, a
            ``mtfcdd.deploy.runner.LiteRTModel``, or a ``HeatmapModel``.
    """
    if isinstance(model, HeatmapModel):
        return model
    thresholds = getattr(model, "thresholds", None)
    thresholds = None if thresholds is None else tuple(float(value) for value in thresholds)
    # Told apart by what they offer, so that neither Keras nor LiteRT is
    # imported to recognise the other.
    if callable(getattr(model, "predict_on_batch", None)) and hasattr(model, "type_codes"):
        image_size = tuple(model.image_shape[:2])
        return HeatmapModel(
            heatmaps=lambda images: np.asarray(
                model.predict_on_batch(image_batch(images, image_size).astype(np.float32)),
                np.float32,
            ),
            type_codes=tuple(model.type_codes),
            image_size=image_size,
            score_reduction=model.score_reduction,
            thresholds=thresholds,
            weights_source=model.weights_source,
        )
    if callable(getattr(model, "heatmaps", None)) and hasattr(model, "metadata"):
        return HeatmapModel(
            heatmaps=model.heatmaps,
            type_codes=tuple(model.type_codes),
            image_size=tuple(model.image_size),
            score_reduction=model.score_reduction,
            thresholds=thresholds,
            weights_source=model.metadata["weights_source"],
        )
    raise ValueError(
        "model must be a MultiTypeFCDD (Keras), a mtfcdd.deploy.runner.LiteRTModel "
        f"or a HeatmapModel; got a {type(model).__name__}."
    )


def image_paths(inputs, exclude=None):
    """The image files named by ``inputs``, in order, each once.

    Args:
        inputs: a path or a list of paths. A folder contributes its files
            with an extension of ``mtfcdd.deploy.images.IMAGE_EXTENSIONS``,
            searched recursively and sorted; so does a glob pattern. Within
            folders and patterns, hidden files (a leading ".", e.g. a write
            in progress) and Real-IAD masks are left out: a ``.png`` is a
            mask when a ``.jpg`` or ``.jpeg`` of the same stem lies beside
            it. Any other path is taken as an image file as it is, so a
            missing or unreadable one is reported by ``predict``.
        exclude: a folder whose files are left out (``predict``'s output
            folder, when it lies inside an input folder).

    Raises:
        FileNotFoundError: a folder or pattern without image files.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    excluded = None if exclude is None else os.path.join(os.path.abspath(exclude), "")
    paths, seen = [], set()
    for entry in map(os.fspath, inputs):
        is_pattern = not os.path.isfile(entry) and any(character in entry for character in "*?[")
        if os.path.isdir(entry) or is_pattern:
            found = [
                path for path in find_images(entry)
                if not os.path.basename(path).startswith(".") and not _is_realiad_mask(path)
                and not (excluded and os.path.abspath(path).startswith(excluded))
            ]
        else:
            found = [entry]
        for path in found:
            if os.path.abspath(path) not in seen:
                seen.add(os.path.abspath(path))
                paths.append(path)
    if not paths:
        raise ValueError("No input images: give image files, folders or glob patterns.")
    return paths


def masks_for(samples):
    """The ``masks`` argument of ``predict`` for Real-IAD ``Sample``s."""
    return {
        sample.image_path: (sample.mask_path, sample.anomaly_class)
        for sample in samples if sample.mask_path is not None
    }


def predict(
    model,
    inputs,
    output_dir=None,
    batch_size=8,
    reduction=None,
    masks=None,
    tile_size=224,
    verbose=0,
):
    """Scores, detected types and pictures of image files.

    Images are read with OpenCV, resized to the model's input and run in
    batches; an image that cannot be read is recorded in ``failures`` and
    skipped, the rest are processed.

    Args:
        model: a Keras ``MultiTypeFCDD``, a ``LiteRTModel`` or a
            ``HeatmapModel`` (see ``heatmap_model``).
        inputs: image files, folders or glob patterns (see ``image_paths``).
        output_dir: folder for ``<stem>.png`` panels (``_2``, ``_3``...
            appended to a stem met again), ``predictions.json`` and
            ``predictions.csv``; nothing is written when None.
        batch_size: images per model call.
        reduction: ``"mean"`` or ``"max"`` (paper Eq. 2); the model's own
            ``score_reduction`` when None. The thresholds were fitted on the
            model's reduction, so with another one no types are detected
            (``detected_types`` None).
        masks: optional mapping from an image path (as in ``inputs``' files)
            to ``(mask_path, type_code)``; the mask's contour is drawn on
            that type's tile. ``masks_for(samples)`` builds it.
        tile_size: width of a panel tile in pixels.
        verbose: 1 shows a ``keras.utils.Progbar``, 0 nothing.

    Returns:
        A ``PredictionResults``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
    source = heatmap_model(model)
    reduction = reduction or source.score_reduction
    thresholds = applied_thresholds(source, reduction)
    paths = image_paths(inputs, exclude=output_dir)
    mask_lookup = _mask_lookup(masks or {}, source.type_codes)
    panel_paths = dict.fromkeys(paths)
    if output_dir is not None:
        os.makedirs(output_dir, exist_ok=True)
        panel_paths = _panel_paths(paths, output_dir)
    predictions, failures = [], []
    progress = _progress_bar(len(paths), verbose)
    for start in range(0, len(paths), batch_size):
        images = {}
        for path in paths[start:start + batch_size]:
            try:
                images[path] = read_rgb_image(path)
            except (ValueError, FileNotFoundError) as error:
                failures.append((path, str(error)))
        if images:
            predictions += _predict_batch(
                source, images, reduction, thresholds, panel_paths, mask_lookup, tile_size
            )
        if progress is not None:
            progress.add(len(paths[start:start + batch_size]))
    results = PredictionResults(
        predictions=tuple(predictions),
        failures=tuple(failures),
        type_codes=source.type_codes,
        image_size=source.image_size,
        weights_source=source.weights_source,
        score_reduction=reduction,
        thresholds=thresholds,
    )
    if output_dir is not None:
        write_json(os.path.join(output_dir, PREDICTIONS_JSON), results.to_dict())
        write_text(os.path.join(output_dir, PREDICTIONS_CSV), results.to_csv())
    return results


def predict_arrays(model, images, reduction=None):
    """Heatmaps, scores and detected types of RGB images, as ``predict`` computes them.

    ``predict`` calls it on each batch of files it reads; ``mtfcdd serve``
    on each uploaded image, so that both give the same numbers.

    Args:
        model: see ``predict``.
        images: RGB images, values 0..255: an array (N, H, W, 3) or a
            sequence of (H, W, 3) arrays of any sizes (resized to the
            model's input, see ``HeatmapModel``).
        reduction: see ``predict``.

    Returns:
        A ``mtfcdd.postprocessing.Prediction``: heatmaps A_k (N, u, v, K)
        on the model's grid (paper Eq. 1), scores s_k (N, K) (Eq. 2), and
        detected types, None when no thresholds apply
        (``applied_thresholds``).
    """
    source = heatmap_model(model)
    reduction = reduction or source.score_reduction
    return prediction_from_heatmaps(
        source.heatmaps(images), source.type_codes, reduction, applied_thresholds(source, reduction)
    )


def applied_thresholds(source, reduction):
    """The thresholds of a ``HeatmapModel`` that apply to ``reduction``'s scores.

    The model's own when it fitted them on that reduction, else None.
    """
    return source.thresholds if reduction == source.score_reduction else None


def describe_detection(detected_types, separator=";", none="no thresholds"):
    """"normal", the detected codes joined by ``separator``, or ``none`` for None."""
    if detected_types is None:
        return none
    return separator.join(detected_types) or "normal"


def select_examples(samples, type_codes, examples_per_type=4):
    """The test samples each row of ``figure2_grid`` shows, deterministically.

    For each defect type, its samples with a mask are grouped by object;
    objects are taken in turn (sorted by name), each giving its next image
    in path order, so that a row shows as many objects as it can.

    Args:
        samples: ``Sample``s (a test split).
        type_codes: the model's codes; with one channel (multi-class,
            paper 5.2) every Real-IAD defect type gets a row.
        examples_per_type: most examples per row.

    Returns:
        A list of ``(type_code, samples)``, types in channel order (Real-IAD
        order for one channel), types without samples left out.
    """
    if examples_per_type < 1:
        raise ValueError(f"examples_per_type must be >= 1; got {examples_per_type}.")
    row_codes = DEFECT_CODES if len(type_codes) == 1 else type_codes
    ordered = sorted(samples, key=lambda sample: (sample.category, sample.image_path))
    rows = []
    for code in row_codes:
        by_object = {}
        for sample in ordered:
            if sample.anomaly_class == code and sample.mask_path is not None:
                by_object.setdefault(sample.category, []).append(sample)
        chosen = []
        for turn in range(examples_per_type):
            chosen += [queue[turn] for queue in by_object.values() if turn < len(queue)]
        if chosen:
            rows.append((code, chosen[:examples_per_type]))
    return rows


def figure2_grid(
    model, samples, output_path, examples_per_type=4, tile_size=160, batch_size=8, alpha=0.5
):
    """Writes a figure like the paper's Figure 2 to ``output_path`` (PNG).

    One row per defect type: ``examples_per_type`` test images of that type
    (``select_examples``), each with that type's heatmap over it, the
    ground-truth contour in white and a caption "<object>  s=<score>". The
    colour scale is shared along a row (``mtfcdd.visualization``).

    Args:
        model: see ``predict``.
        samples: test ``Sample``s; those with a mask are candidates.
        output_path: the PNG to write.
        examples_per_type: images per row.
        tile_size: width of a cell in pixels.
        batch_size: images per model call.
        alpha: weight of the heatmap colours.

    Returns:
        The figure, a uint8 RGB array.
    """
    source = heatmap_model(model)
    rows = select_examples(samples, source.type_codes, examples_per_type)
    if not rows:
        raise ValueError(
            "No sample has a defect type of the model and a mask: the figure "
            "needs defective test images with their masks."
        )
    chosen = [sample for _, row_samples in rows for sample in row_samples]
    images = [read_rgb_image(sample.image_path) for sample in chosen]
    heatmaps = np.concatenate([
        source.heatmaps(images[start:start + batch_size])
        for start in range(0, len(images), batch_size)
    ])
    scores = prediction_from_heatmaps(heatmaps, source.type_codes, source.score_reduction).scores
    grid_rows, index = [], 0
    for code, row_samples in rows:
        channel = _channel_of(code, source.type_codes)
        examples = []
        for sample in row_samples:
            examples.append(GridExample(
                image=images[index],
                heatmap=upsample(heatmaps[index:index + 1, ..., channel:channel + 1],
                                 images[index].shape[:2])[0, ..., 0],
                mask=_read_mask(sample.mask_path),
                caption=f"{sample.category}  s={scores[index, channel]:.3g}",
            ))
            index += 1
        grid_rows.append(GridRow(code, examples))
    figure = heatmap_grid(grid_rows, tile_size=tile_size, alpha=alpha)
    os.makedirs(os.path.dirname(os.path.abspath(output_path)), exist_ok=True)
    write_bytes(output_path, png_bytes(figure, output_path))
    return figure


def _predict_batch(source, images, reduction, thresholds, panel_paths, mask_lookup, tile_size):
    prediction = predict_arrays(source, list(images.values()), reduction)
    results = []
    for index, (path, image) in enumerate(images.items()):
        detected = None if prediction.detected_types is None else prediction.detected_types[index]
        if panel_paths[path] is not None:
            mask_path, mask_type = mask_lookup.get(os.path.abspath(path), (None, None))
            panel = prediction_panel(
                image,
                upsample(prediction.heatmaps[index:index + 1], image.shape[:2])[0],
                prediction.scores[index],
                source.type_codes,
                thresholds=thresholds,
                mask=None if mask_path is None else _read_mask(mask_path),
                mask_type=mask_type,
                title=os.path.basename(path),
                tile_size=tile_size,
            )
            write_bytes(panel_paths[path], png_bytes(panel, panel_paths[path]))
        results.append(ImagePrediction(
            path=path,
            scores=dict(zip(source.type_codes, prediction.scores[index].tolist())),
            detected_types=detected,
            panel_path=panel_paths[path],
        ))
    return results


def _is_realiad_mask(path):
    stem, extension = os.path.splitext(path)
    return extension.lower() == ".png" and any(
        os.path.isfile(stem + image_extension) for image_extension in MASK_IMAGE_EXTENSIONS
    )


def _panel_paths(paths, output_dir):
    """``output_dir/<stem>.png`` per image; a stem met again gets ``_2``, ``_3``..."""
    panel_paths, used = {}, set()
    for path in paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        name, count = stem, 1
        while name in used:
            count += 1
            name = f"{stem}_{count}"
        used.add(name)
        panel_paths[path] = os.path.join(output_dir, f"{name}.png")
    return panel_paths


def _mask_lookup(masks, type_codes):
    """Absolute image path -> (mask path, code of the channel showing it)."""
    lookup = {}
    for image_path, (mask_path, type_code) in masks.items():
        if not os.path.isfile(mask_path):
            raise FileNotFoundError(f"{mask_path}: mask of {image_path} not found.")
        channel = _channel_of(type_code, type_codes)
        lookup[os.path.abspath(image_path)] = (mask_path, type_codes[channel])
    return lookup


def _channel_of(type_code, type_codes):
    """The channel that shows ``type_code``: its own, or the only one."""
    if type_code in type_codes:
        return type_codes.index(type_code)
    if len(type_codes) == 1:
        return 0
    raise ValueError(f"type code {type_code!r} is not one of the model's {list(type_codes)}.")


def _read_mask(path):
    mask = cv2.imread(os.fspath(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise ValueError(f"{path}: OpenCV cannot decode this mask file.")
    return mask


def _optional_list(values):
    return None if values is None else list(values)


def _progress_bar(total, verbose):
    if not verbose:
        return None
    # Imported only here, so that a LiteRT model predicts without Keras.
    import keras

    return keras.utils.Progbar(total, unit_name="image")
