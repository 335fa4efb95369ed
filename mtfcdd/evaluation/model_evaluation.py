"""Streaming evaluation on a test split (paper 4.4, Tables 3-5).

The test split is run through the model batch by batch; image scores and
upsampled heatmaps go straight into ``mtfcdd.metrics.MultiTypeEvaluator``,
whose pixel statistics live in fixed memory, so the full Real-IAD test split
(30,000 images x 8 heatmaps, ~86 GB as float32 at 299x299) is evaluated in a
few hundred MiB. The curves under the metrics (ROC, precision-recall, PRO)
come from the same fixed-memory state (``curves_dir``).

Any model ``mtfcdd.inference.heatmap_model`` accepts is evaluated the same
way: a Keras ``MultiTypeFCDD``, a LiteRT or an ONNX file, so that "is my
int8 file as good as my Keras model?" has one answer. Images are read by
the model's preprocessor (``mtfcdd.data.sample_batches``), as training,
prediction and the server read them; a converted file is evaluated
without TensorFlow.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mtfcdd.constants import NORMAL_DECISION, UNKNOWN_ROW
from mtfcdd.data.realiad.verify import check_sample_files
from mtfcdd.evaluation.curve_reports import write_curves
from mtfcdd.inference.heatmap_model import heatmap_model
from mtfcdd.inference.open_set import UNKNOWN_DEFECT, open_set_summary
from mtfcdd.inference.postprocessing import most_likely_types, upsample_heatmaps
from mtfcdd.inference.scoring import predict_batches, predict_scores
from mtfcdd.metrics import MultiTypeEvaluator
from mtfcdd.metrics.type_classification import decision_matrix
from mtfcdd.utils.image_size import image_size_pair
from mtfcdd.utils.memory import check_evaluation_batch_fits

if TYPE_CHECKING:
    from mtfcdd.data.sample import Sample
    from mtfcdd.deploy.onnx_runner import OnnxModel
    from mtfcdd.deploy.runner import LiteRTModel
    from mtfcdd.inference.heatmap_model import HeatmapModel
    from mtfcdd.model.network import MultiTypeFCDD


def evaluate(
    model: MultiTypeFCDD | LiteRTModel | OnnxModel | HeatmapModel,
    samples: Sequence[Sample],
    batch_size: int = 32,
    pixel_size: int | Sequence[int] | None = None,
    reduction: str | None = None,
    fpr_limit: float = 0.3,
    pixel_protocol: str = "per-type",
    verbose: int = 1,
    curves_dir: str | os.PathLike[str] | None = None,
    aupro: str = "exact",
    mask_resizing: str = "nearest",
    preset: str = "paper",
    unknown_samples: Sequence[Sample] = (),
) -> dict[str, Any]:
    """Per-type image and pixel metrics of ``model`` on ``samples``.

    Args:
        model: a Keras ``MultiTypeFCDD``, a converted file
            (``mtfcdd.deploy.runner.LiteRTModel``,
            ``mtfcdd.deploy.onnx_runner.OnnxModel``) or a ``HeatmapModel``
            (see ``mtfcdd.inference.heatmap_model``).
        samples: the test ``Sample``s.
        batch_size: images per batch.
        pixel_size: side (or (height, width)) at which heatmaps and masks are
            compared for P-AUROC and AUPRO; the model input size if None.
        reduction: ``"mean"`` (paper Eq. 2) or ``"max"``; the model's
            ``score_reduction`` if None.
        fpr_limit: AUPRO's false positive rate limit (0.3 in the paper).
        pixel_protocol: ``"per-type"`` (channel k on the normal and type-k
            images against the type-k masks) or ``"authors"`` (channel k on
            every image against every mask, as the authors' evaluate.py);
            see ``mtfcdd.metrics.evaluator`` and docs/evaluation.md.
        verbose: 1 for a progress bar.
        curves_dir: if given, the ROC, precision-recall and PRO curves of
            every type are written there (CSV, and PNG plots with
            Matplotlib; ``mtfcdd.evaluation.curve_reports``).
        aupro: ``"exact"`` (MVTec AD's integration) or ``"authors"`` (the
            authors' evaluate.py's; ``mtfcdd.metrics.aupro``).
        mask_resizing: ``"nearest"`` or ``"bicubic"`` (then ``> 0``, the
            authors'); see ``mtfcdd.data.sample_batches``.
        preset: the name of the evaluation preset these settings come from,
            recorded in the result (``mtfcdd.evaluation.presets``: pass
            ``**evaluation_settings(name)`` to use one).
        unknown_samples: test images of defect types the model was trained
            without (``DataSet.excluded_test``): not in the metrics, only in
            the decisions' matrix, as its ``"unknown"`` row.

    Returns:
        The ``MultiTypeEvaluator`` result (per-type metrics, the Mean row,
        type classification) with a ``settings`` entry recording what
        produced it: the runtime, the model file (when known) and a
        converted file's quantisation among them; with thresholds that
        apply, ``decisions``: the defective images' decisions at the
        thresholds (``decision_counts``).
    """
    if not samples:
        raise ValueError("The test split is empty: there is nothing to evaluate.")
    # Headers and ends only, before a long run: a truncated image or a mask
    # of another size must not pass.
    check_sample_files(samples, "test images", "test images", decode=False, verbose=verbose)
    source = heatmap_model(model)
    reduction = reduction or source.score_reduction
    pixel_size = source.image_size if pixel_size is None else image_size_pair(pixel_size, "pixel_size")
    check_evaluation_batch_fits(source.image_size, pixel_size, len(source.type_codes), batch_size)
    evaluator = MultiTypeEvaluator(
        source.type_codes, fpr_limit=fpr_limit, pixel_protocol=pixel_protocol, aupro=aupro
    )
    all_scores, all_labels = [], []
    for heatmaps, labels, masks in predict_batches(
        source, samples, batch_size, mask_size=pixel_size, verbose=verbose, mask_resizing=mask_resizing,
        label="Evaluating",
    ):
        scores = source.postprocessor.scores(heatmaps, reduction)
        evaluator.update(scores, upsample_heatmaps(heatmaps, pixel_size), labels, masks)
        all_scores.append(scores)
        all_labels.append(labels)
    result = evaluator.result()
    if source.postprocessor.applied_thresholds(reduction) is not None:
        unknown_scores = predict_scores(source, unknown_samples, batch_size, reduction)[1] if unknown_samples else None
        result["decisions"] = decision_counts(
            source.postprocessor, np.concatenate(all_labels), np.concatenate(all_scores), unknown_scores,
            reduction,
        )
    result["settings"] = {
        "preset": preset,
        "runtime": source.runtime,
        "model_file": source.model_file,
        "quantization": source.quantization,
        "backbone_weights": source.weights_source,
        "image_size": list(source.image_size),
        "score_reduction": reduction,
        "pixel_size": list(pixel_size),
        "pixel_protocol": pixel_protocol,
        "aupro": aupro,
        "mask_resizing": mask_resizing,
        "decision_thresholds": _thresholds_record(source),
        "test_images": len(samples),
    }
    if curves_dir is not None:
        write_curves(evaluator.curves(), curves_dir, fpr_limit)
    return result


def decision_counts(postprocessor, labels, scores, unknown_scores=None, reduction=None):
    """The defective test images' decisions at the thresholds, by true type.

    Rows: each type of the model, then ``"unknown"`` (the images of types
    absent from training, when given). Columns: the type decided (of the
    detected ones, the largest multiple of its threshold), ``"unknown
    defect"`` (the open-set rule, ``mtfcdd.inference.open_set``) and
    ``"normal"``.

    Args:
        postprocessor: the model's ``Postprocessor``, with thresholds.
        labels, scores: (N, K) of the known types' test images.
        unknown_scores: (M, K) scores of the images of left-out types, or None.
        reduction: of the scores; the model's own when None.

    Returns:
        ``{"rows", "columns", "matrix", "open_set"}`` as JSON values;
        ``open_set`` is the rule's method and threshold, or None.
    """
    codes = postprocessor.type_codes
    defective = np.asarray(labels).any(axis=1)
    true_classes = [codes[index] for index in np.asarray(labels)[defective].argmax(axis=1)]
    scores = np.asarray(scores)[defective]
    rows = list(codes)
    if unknown_scores is not None and len(unknown_scores):
        true_classes += [UNKNOWN_ROW] * len(unknown_scores)
        scores = np.concatenate([scores, unknown_scores])
        rows.append(UNKNOWN_ROW)
    detected, _, unknown = postprocessor.decide(scores, reduction)
    likely = most_likely_types(scores, postprocessor.applied_thresholds(reduction), codes)
    decided = [
        likely[index] if detected[index] else UNKNOWN_DEFECT if unknown is not None and unknown[index]
        else NORMAL_DECISION
        for index in range(len(scores))
    ]
    columns = [*codes, UNKNOWN_DEFECT, NORMAL_DECISION]
    return {
        "rows": rows, "columns": columns,
        "matrix": decision_matrix(true_classes, decided, rows, columns).tolist(),
        "open_set": open_set_summary(postprocessor.open_set),
    }


def _thresholds_record(source):
    """Where the model's decision thresholds come from, for the settings."""
    if source.thresholds is None:
        return "none"
    return source.threshold_source or "not recorded"
