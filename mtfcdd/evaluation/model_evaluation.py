"""Streaming evaluation on a test split (paper 4.4, Tables 3-5).

The test split is run through the model batch by batch; image scores and
upsampled heatmaps go straight into ``mtfcdd.metrics.MultiTypeEvaluator``,
whose pixel statistics live in fixed memory, so the full Real-IAD test split
(30,000 images x 8 heatmaps, ~86 GB as float32 at 299x299) is evaluated in a
few hundred MiB. The curves under the metrics (ROC, precision-recall, PRO)
come from the same fixed-memory state (``curves_dir``).
"""

import keras
import numpy as np
import tensorflow as tf

from mtfcdd.data.pipeline import evaluation_dataset, pipeline_error_message
from mtfcdd.data.realiad.verify import check_sample_files
from mtfcdd.evaluation.curve_reports import write_curves
from mtfcdd.inference.postprocessing import image_scores, upsample
from mtfcdd.metrics import MultiTypeEvaluator
from mtfcdd.model.batch_memory import check_batch_fits
from mtfcdd.utils.progress import ProgressBar


def predict_batches(model, samples, batch_size=32, mask_size=None, verbose=0):
    """Heatmaps of ``samples`` in order, one batch at a time.

    Yields:
        (heatmaps (B, u, v, K), labels (B, K), masks (B, h, w) uint8 0/1)
        as NumPy arrays; ``masks`` at ``mask_size`` (the model input size if
        None).
    """
    image_size = model.image_size
    check_batch_fits(model, min(batch_size, len(samples)))
    dataset = evaluation_dataset(
        samples, image_size, batch_size=batch_size, mask_size=mask_size or image_size
    )
    progress = ProgressBar(len(samples), unit_name="image", verbose=verbose)
    batches = iter(dataset)
    while True:
        try:
            images, labels, masks, _ = next(batches)
        except StopIteration:
            return
        except tf.errors.OpError as error:
            raise ValueError(pipeline_error_message(error)) from error
        heatmaps = keras.ops.convert_to_numpy(model.predict_on_batch(images))
        progress.add(len(heatmaps))
        yield heatmaps, labels.numpy(), masks.numpy()


def predict_scores(model, samples, batch_size=32, reduction=None, verbose=0):
    """Image scores of ``samples``: (labels (N, K), scores (N, K)).

    ``reduction`` defaults to the model's own ``score_reduction``.
    """
    reduction = reduction or model.score_reduction
    labels, scores = [], []
    for heatmaps, batch_labels, _ in predict_batches(model, samples, batch_size, verbose=verbose):
        labels.append(batch_labels)
        scores.append(image_scores(heatmaps, reduction))
    return np.concatenate(labels), np.concatenate(scores)


def evaluate(
    model,
    samples,
    batch_size=32,
    pixel_size=None,
    reduction=None,
    fpr_limit=0.3,
    pixel_protocol="per-type",
    verbose=1,
    curves_dir=None,
):
    """Per-type image and pixel metrics of ``model`` on ``samples``.

    Args:
        model: a ``MultiTypeFCDD``.
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

    Returns:
        The ``MultiTypeEvaluator`` result (per-type metrics, the Mean row,
        type classification) with a ``settings`` entry recording what
        produced it.
    """
    if not samples:
        raise ValueError("The test split is empty: there is nothing to evaluate.")
    # Headers and ends only: a truncated image or a mask of another size
    # must not pass; TensorFlow's decoders catch the rest by name.
    check_sample_files(samples, "test images", decode=False, verbose=verbose)
    reduction = reduction or model.score_reduction
    if pixel_size is None:
        pixel_size = model.image_size
    elif isinstance(pixel_size, int):
        pixel_size = (pixel_size, pixel_size)
    evaluator = MultiTypeEvaluator(
        model.type_codes, fpr_limit=fpr_limit, pixel_protocol=pixel_protocol
    )
    for heatmaps, labels, masks in predict_batches(
        model, samples, batch_size, mask_size=pixel_size, verbose=verbose
    ):
        evaluator.update(
            image_scores(heatmaps, reduction), upsample(heatmaps, pixel_size), labels, masks
        )
    result = evaluator.result()
    result["settings"] = {
        "backbone_weights": model.weights_source,
        "image_size": list(model.image_size),
        "score_reduction": reduction,
        "pixel_size": list(pixel_size),
        "pixel_protocol": pixel_protocol,
        "decision_thresholds": _thresholds_record(model),
        "test_images": len(samples),
    }
    if curves_dir is not None:
        write_curves(evaluator.curves(), curves_dir, fpr_limit)
    return result


def _thresholds_record(model):
    """Where the model's decision thresholds come from, for the settings."""
    if model.thresholds is None:
        return "none"
    return model.threshold_source or "not recorded"
