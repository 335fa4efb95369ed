"""One experiment of the paper: train, evaluate, write tables and figures.

``run_experiment`` is what every script in ``experiments/`` (through
``mtfcdd.cli.experiment``) and the ``mtfcdd demo`` command run: train on the training split of one noise ratio
(paper 4.3), evaluate on the test split (paper 4.4), and write, in one
folder:

    model.keras, config.json, training_log.csv, checkpoint.keras   (training)
    training_curves.png                                            (loss per epoch)
    results.json, results.md, results_table*.csv                   (Tables 3-5)
    curves_*.csv, curves_*.png      (ROC, precision-recall, PRO curves per type)
    heatmaps_per_type.png                                          (Figure 2)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any

from mtfcdd.constants import SPLITS_FOLDER
from mtfcdd.data.synthetic.dataset import make_synthetic_iad
from mtfcdd.evaluation.model_evaluation import evaluate
from mtfcdd.evaluation.presets import evaluation_settings
from mtfcdd.evaluation.reports import markdown, record_data_settings, results_key, write_reports
from mtfcdd.model.saving import load_trained_model
from mtfcdd.training.trainer import TrainingConfig, train
from mtfcdd.visualization.figures import figure2_grid

FIGURE_FILE = "heatmaps_per_type.png"
RESULTS_STEM = "results"


@dataclasses.dataclass(frozen=True)
class ExperimentResult:
    """What ``run_experiment`` wrote and measured.

    Attributes:
        output_dir: the experiment's folder.
        model_path: the trained model.
        evaluation: the evaluation result (``mtfcdd.evaluation.model_evaluation.evaluate``).
        report_paths: the JSON, Markdown and CSV tables.
        figure_path: the per-type heatmap grid (paper Figure 2).
    """

    output_dir: str | os.PathLike[str]
    model_path: str
    evaluation: dict
    report_paths: tuple
    figure_path: str

    @property
    def table(self):
        """The result tables as Markdown."""
        return markdown({results_key(self.evaluation["settings"]): self.evaluation})


def run_experiment(
    data_root: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    config: TrainingConfig,
    resume: bool = False,
    pixel_size: int | Sequence[int] | None = None,
    evaluation_batch_size: int = 32,
    pixel_protocol: str | None = None,
    verbose: int = 1,
    overwrite: bool = False,
    evaluation: Mapping[str, Any] | None = None,
) -> ExperimentResult | None:
    """Train, evaluate and report one setting.

    Args:
        data_root: the data set root, in any layout (``mtfcdd.data.layouts``).
        output_dir: folder for everything the experiment writes.
        config: a ``TrainingConfig`` (its ``alpha`` picks Real-IAD's split;
            its data fields read other layouts).
        resume: continue an interrupted training in ``output_dir``.
        overwrite: replace an earlier run in ``output_dir`` (see
            ``mtfcdd.training.trainer.train``).
        pixel_size: resolution of the pixel metrics; the model input if None.
        evaluation_batch_size: images per evaluation batch.
        pixel_protocol: ``"per-type"`` or ``"authors"`` (see
            ``mtfcdd.evaluation.model_evaluation.evaluate``); None: the one
            of ``config.preset``.
        evaluation: ``evaluate``'s settings
            (``mtfcdd.evaluation.presets.evaluation_settings``); None takes
            those of ``config.preset`` with ``pixel_protocol``.
        verbose: 1 for progress bars.

    Returns:
        An ``ExperimentResult``; None on a worker of a multi-worker run that
        is not the chief (the chief evaluates and writes everything).
    """
    training = train(
        data_root, output_dir, config=config, resume=resume, overwrite=overwrite, verbose=verbose
    )
    if training.model_path is None:
        return None
    model = load_trained_model(training.model_path)
    config, data = training.config, training.data
    test_samples = data.test
    evaluation = evaluate(
        model, test_samples, batch_size=evaluation_batch_size, pixel_size=pixel_size,
        verbose=verbose, curves_dir=output_dir,
        **(evaluation or _preset_evaluation(config.preset, pixel_protocol)),
    )
    record_data_settings(evaluation, data)
    evaluation["settings"]["training"] = {
        **config.to_dict(), "steps_per_epoch": training.steps_per_epoch,
        "training_images": training.training_images,
    }
    report_paths = write_reports({data.setting: evaluation}, output_dir, stem=RESULTS_STEM)
    figure_path = os.path.join(output_dir, FIGURE_FILE)
    figure2_grid(model, test_samples, figure_path)
    return ExperimentResult(output_dir, training.model_path, evaluation, tuple(report_paths), figure_path)


def _preset_evaluation(preset, pixel_protocol):
    """The evaluation settings of ``preset``, with ``pixel_protocol`` if given."""
    if pixel_protocol is None:
        return evaluation_settings(preset)
    return evaluation_settings(preset, pixel_protocol=pixel_protocol)


def synthetic_data(root, preset="full", seed=0, verbose=1):
    """The synthetic data set at ``root``, generated first if it is not there.

    Args:
        root: the data set root.
        preset, seed: as for ``mtfcdd.data.synthetic.dataset.make_synthetic_iad``.
        verbose: 1 shows the generator's progress bar.

    Returns:
        ``root``.
    """
    if not os.path.isdir(os.path.join(root, SPLITS_FOLDER)):
        make_synthetic_iad(root, preset=preset, seed=seed, progress=bool(verbose))
    return root
