"""Running a model over a list of samples: heatmaps, labels, masks, scores.

What training (fitting the decision thresholds, the held-out I-AUROC of
each epoch) and evaluation share: the samples' files are read in batches
(``mtfcdd.data.sample_batches``, as prediction, the server and the
runners read images), run through any model ``heatmap_model`` accepts
(Keras, LiteRT, ONNX Runtime), and scored (paper Eq. 2).
"""

import numpy as np

from mtfcdd.data.sample_batches import sample_batches
from mtfcdd.inference.heatmap_model import heatmap_model
from mtfcdd.utils.progress import ProgressBar


def predict_batches(source, samples, batch_size=32, mask_size=None, verbose=0, mask_resizing="nearest", label="Scoring"):
    """Heatmaps of ``samples`` in order, one batch at a time.

    Args:
        source: a ``HeatmapModel`` (``heatmap_model(model)``, made once by
            the caller).
        samples: ``Sample``s (image path, mask path or None, labels).
        batch_size: images per model call.
        mask_size: (height, width) of the masks; None reads no masks
            (scores need none).
        verbose: 1 shows a progress bar, 0 nothing.
        mask_resizing: see ``sample_batches``.
        label: what the pass is, on the progress bar.

    Yields:
        (heatmaps (B, u, v, K) float32, labels (B, K), masks (B, h, w)
        uint8 0/1 or None) as NumPy arrays.
    """
    progress = ProgressBar(len(samples), label, unit_name="image", verbose=verbose)
    for images, labels, masks in sample_batches(
        samples, source.preprocessor, mask_size, batch_size, mask_resizing=mask_resizing
    ):
        heatmaps = source.heatmaps(images)
        progress.add(len(heatmaps))
        yield heatmaps, labels, masks


def predict_scores(model, samples, batch_size=32, reduction=None, verbose=0, label="Scoring"):
    """Image scores of ``samples``: (labels (N, K), scores (N, K)).

    ``model`` is anything ``heatmap_model`` accepts; ``reduction`` defaults
    to the model's own ``score_reduction``; ``verbose`` and ``label`` as for
    ``predict_batches``.
    """
    source = heatmap_model(model)
    labels, scores = [], []
    for heatmaps, batch_labels, _ in predict_batches(source, samples, batch_size, verbose=verbose, label=label):
        labels.append(batch_labels)
        scores.append(source.postprocessor.scores(heatmaps, reduction))
    return np.concatenate(labels), np.concatenate(scores)
