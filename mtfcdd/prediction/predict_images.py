"""Prediction on image files: scores, detected types, pictures (paper Eq. 2, 3.1).

``predict`` runs a model on image files and writes, per image, a panel of
its K heatmaps (``mtfcdd.visualization.panels.prediction_panel``) and, for
the run, ``predictions.json`` and ``predictions.csv``.

It takes a Keras ``MultiTypeFCDD`` or a converted model
(``mtfcdd.deploy.runner.LiteRTModel``, ``mtfcdd.deploy.onnx_runner.OnnxModel``) through
``mtfcdd.inference.heatmap_model``, and everything after the network is
``mtfcdd.inference.postprocessing``, the same code the LiteRT runner uses.
Images are found, read and resized with ``mtfcdd.utils.image_files``
(OpenCV: area interpolation when shrinking), as the runner and the int8
calibration read them. Nothing here needs Keras or TensorFlow, so a LiteRT
model predicts on a machine without them.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Dict, Optional, Tuple

from mtfcdd.inference.heatmap_model import channel_of, heatmap_model
from mtfcdd.inference.open_set import open_set_summary
from mtfcdd.inference.postprocessing import upsample_heatmaps
from mtfcdd.utils.atomic_files import make_output_folder, write_json, write_text
from mtfcdd.utils.image_files import (
    mask_size_problem,
    read_image_size,
    read_mask,
    select_images,
    shrink_to_longest_side,
    write_png,
)
from mtfcdd.utils.progress import ProgressBar
from mtfcdd.visualization.panels import prediction_panel

if TYPE_CHECKING:
    from mtfcdd.deploy.onnx_runner import OnnxModel
    from mtfcdd.deploy.runner import LiteRTModel
    from mtfcdd.inference.heatmap_model import HeatmapModel
    from mtfcdd.model.network import MultiTypeFCDD

PREDICTIONS_JSON = "predictions.json"
PREDICTIONS_CSV = "predictions.csv"
# A panel's image is at most this many tiles on its longest side: a tile
# shows no more detail.
PANEL_SIDE_TILES = 2


@dataclasses.dataclass(frozen=True)
class ImagePrediction:
    """The result for one image file.

    Attributes:
        path: the image file.
        scores: type code -> image score s_k (paper Eq. 2).
        detected_types: the codes whose score reaches its threshold (empty
            for a normal image); None without thresholds.
        panel_path: the panel PNG, or None when no output folder was given.
        open_set_score: the image's open-set score
            (``mtfcdd.inference.open_set``), or None without an open-set rule.
        decision: the detected types, else ``("unknown defect",)`` when the
            open-set rule flags the image, else ``()`` (normal); None
            without thresholds.
    """

    path: str
    scores: Dict[str, float]
    detected_types: Optional[Tuple[str, ...]]
    panel_path: Optional[str]
    open_set_score: Optional[float] = None
    decision: Optional[Tuple[str, ...]] = None


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
        open_set: the open-set rule applied (its method and threshold), or
            None (none in the model, or no thresholds applied).
        masks_left_out: Real-IAD masks found in the input folders and
            patterns and left out (``mtfcdd.utils.image_files.select_images``).
    """

    predictions: Tuple[ImagePrediction, ...]
    failures: Tuple[Tuple[str, str], ...]
    type_codes: Tuple[str, ...]
    image_size: Tuple[int, int]
    weights_source: str
    score_reduction: str
    thresholds: Optional[Tuple[float, ...]]
    masks_left_out: Tuple[str, ...] = ()
    open_set: Optional[Dict[str, object]] = None

    def to_dict(self):
        """The content of ``predictions.json``."""
        return {
            "model": {
                "type_codes": list(self.type_codes),
                "image_size": list(self.image_size),
                "weights_source": self.weights_source,
            },
            "score_reduction": self.score_reduction,
            "thresholds": None if self.thresholds is None else list(self.thresholds),
            "open_set": self.open_set,
            "images": [
                {
                    "path": prediction.path,
                    "scores": prediction.scores,
                    "detected_types": _optional_list(prediction.detected_types),
                    "decision": _optional_list(prediction.decision),
                    "open_set_score": prediction.open_set_score,
                    "panel": prediction.panel_path,
                }
                for prediction in self.predictions
            ],
            "failures": [{"path": path, "reason": reason} for path, reason in self.failures],
            "masks_left_out": list(self.masks_left_out),
        }

    def to_csv(self):
        """One row per image: path, decision, a score per type, open-set score, panel.

        ``detected_types`` is the decision: "normal", codes joined by ";",
        "unknown defect", or empty when no thresholds were applied.
        ``open_set_score`` is empty without an open-set rule.
        """
        output = io.StringIO()
        writer = csv.writer(output, lineterminator="\n")
        writer.writerow(["path", "detected_types", *self.type_codes, "open_set_score", "panel"])
        for prediction in self.predictions:
            writer.writerow([
                prediction.path,
                describe_detection(prediction.decision, none=""),
                *(f"{prediction.scores[code]:.9g}" for code in self.type_codes),
                "" if prediction.open_set_score is None else f"{prediction.open_set_score:.9g}",
                prediction.panel_path or "",
            ])
        return output.getvalue()


def masks_for(samples):
    """The ``masks`` argument of ``predict`` for Real-IAD ``Sample``s."""
    return {
        sample.image_path: (sample.mask_path, sample.anomaly_class)
        for sample in samples if sample.mask_path is not None
    }


def predict(
    model: MultiTypeFCDD | LiteRTModel | OnnxModel | HeatmapModel,
    inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 8,
    reduction: str | None = None,
    masks: Mapping[str, tuple[str, str]] | None = None,
    tile_size: int = 224,
    verbose: int = 0,
) -> PredictionResults:
    """Scores, detected types and pictures of image files.

    Images are read with OpenCV, resized to the model's input and run in
    batches; an image that cannot be read is recorded in ``failures`` and
    skipped, the rest are processed.

    Args:
        model: a Keras ``MultiTypeFCDD``, a ``LiteRTModel``, an
            ``OnnxModel`` or a ``HeatmapModel`` (see ``heatmap_model``).
        inputs: image files, folders or glob patterns (see
            ``mtfcdd.utils.image_files.select_images``).
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
        verbose: 1 shows a progress bar, 0 nothing.

    Returns:
        A ``PredictionResults``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
    source = heatmap_model(model)
    reduction = reduction or source.score_reduction
    thresholds = source.postprocessor.applied_thresholds(reduction)
    selection = select_images(inputs, exclude=output_dir)
    paths = list(selection.paths)
    mask_lookup = _mask_lookup(masks or {}, source.type_codes)
    panel_paths = dict.fromkeys(paths)
    if output_dir is not None:
        make_output_folder(output_dir)
        panel_paths = _panel_paths(paths, output_dir)
    predictions, failures = [], []
    progress = ProgressBar(len(paths), "Predicting", unit_name="image", verbose=verbose)
    for start in range(0, len(paths), batch_size):
        images = {}
        for path in paths[start:start + batch_size]:
            try:
                images[path] = source.preprocessor.decode(path)
            except (ValueError, FileNotFoundError) as error:
                failures.append((path, str(error)))
        if images:
            predictions += _predict_batch(
                source, images, reduction, thresholds, panel_paths, mask_lookup, tile_size
            )
        progress.add(len(paths[start:start + batch_size]))
    results = PredictionResults(
        predictions=tuple(predictions),
        failures=tuple(failures),
        type_codes=source.type_codes,
        image_size=source.image_size,
        weights_source=source.weights_source,
        score_reduction=reduction,
        thresholds=thresholds,
        masks_left_out=selection.masks_left_out,
        open_set=None if thresholds is None else open_set_summary(source.open_set),
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
        A ``mtfcdd.inference.postprocessing.Prediction``: heatmaps A_k (N, u, v, K)
        on the model's grid (paper Eq. 1), scores s_k (N, K) (Eq. 2), and
        detected types, None when no thresholds apply
        (``Postprocessor.applied_thresholds``).
    """
    return heatmap_model(model).predict(images, reduction)


def describe_detection(detected_types, separator=";", none="no thresholds"):
    """"normal", the detected codes (or "unknown defect") joined by
    ``separator``, or ``none`` for None: of a ``Prediction``'s ``decisions``."""
    if detected_types is None:
        return none
    return separator.join(detected_types) or "normal"


def _predict_batch(source, images, reduction, thresholds, panel_paths, mask_lookup, tile_size):
    prediction = source.predict(list(images.values()), reduction)
    results = []
    for index, (path, image) in enumerate(images.items()):
        detected = None if prediction.detected_types is None else prediction.detected_types[index]
        decision = None if detected is None else prediction.decisions[index]
        open_set_score = None if prediction.open_set_scores is None else float(prediction.open_set_scores[index])
        if panel_paths[path] is not None:
            mask_path, mask_type = mask_lookup.get(os.path.abspath(path), (None, None))
            # Heatmaps at a panel tile's scale, not the file's: at 25
            # megapixels, K full-size maps would take gigabytes.
            image = shrink_to_longest_side(image, PANEL_SIDE_TILES * tile_size)
            panel = prediction_panel(
                image,
                upsample_heatmaps(prediction.heatmaps[index:index + 1], image.shape[:2])[0],
                prediction.scores[index],
                source.type_codes,
                thresholds=thresholds,
                decision=decision,
                open_set_score=open_set_score,
                mask=None if mask_path is None else read_mask(mask_path),
                mask_type=mask_type,
                title=os.path.basename(path),
                tile_size=tile_size,
            )
            write_png(panel_paths[path], panel)
        results.append(ImagePrediction(
            path=path,
            scores=dict(zip(source.type_codes, prediction.scores[index].tolist())),
            detected_types=detected,
            panel_path=panel_paths[path],
            open_set_score=open_set_score,
            decision=decision,
        ))
    return results


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


def _mask_size_problem(image_path, mask_path):
    """Why the mask cannot be drawn on its image, or None (an unreadable
    image is reported when it is read, as any input)."""
    try:
        image_size = read_image_size(image_path)
    except (OSError, ValueError):
        return None
    return mask_size_problem(mask_path, read_image_size(mask_path), image_path, image_size)


def _mask_lookup(masks, type_codes):
    """Absolute image path -> (mask path, code of the channel showing it)."""
    lookup = {}
    for image_path, (mask_path, type_code) in masks.items():
        if not os.path.isfile(mask_path):
            raise FileNotFoundError(f"{mask_path}: mask of {image_path} not found.")
        problem = _mask_size_problem(image_path, mask_path)
        if problem:
            raise ValueError(problem)
        channel = channel_of(type_code, type_codes)
        lookup[os.path.abspath(image_path)] = (mask_path, type_codes[channel])
    return lookup


def _optional_list(values):
    return None if values is None else list(values)
