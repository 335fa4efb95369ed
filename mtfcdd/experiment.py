"""One experiment of the paper: train, evaluate, write tables and figures.

``run_experiment`` is what every script in ``experiments/`` and the
``mtfcdd demo`` command run: train on the training split of one noise ratio
(paper 4.3), evaluate on the test split (paper 4.4), and write, in one
folder:

    model.keras, config.json, training_log.csv, checkpoint.keras   (training)
    results.json, results.md, results_table*.csv                   (Tables 3-5)
    heatmaps_per_type.png                                          (Figure 2)
"""

import argparse
import dataclasses
import os

from mtfcdd.cli.options import (
    add_paper_training_options,
    add_pixel_protocol_option,
    backbone_weights_argument,
    paper_training_settings,
)
from mtfcdd.data.realiad import load_realiad
from mtfcdd.evaluation import evaluate
from mtfcdd.model_io import load_trained_model
from mtfcdd.prediction import figure2_grid
from mtfcdd.reports import markdown, write_reports
from mtfcdd.training import TrainingConfig, train

FIGURE_FILE = "heatmaps_per_type.png"
RESULTS_STEM = "results"


@dataclasses.dataclass(frozen=True)
class ExperimentResult:
    """What ``run_experiment`` wrote and measured.

    Attributes:
        output_dir: the experiment's folder.
        model_path: the trained model.
        evaluation: the evaluation result (``mtfcdd.evaluation.evaluate``).
        report_paths: the JSON, Markdown and CSV tables.
        figure_path: the per-type heatmap grid (paper Figure 2).
    """

    output_dir: str
    model_path: str
    evaluation: dict
    report_paths: tuple
    figure_path: str

    @property
    def table(self):
        """The result tables as Markdown."""
        return markdown({self.evaluation["settings"]["alpha"]: self.evaluation})


def run_experiment(
    data_root, output_dir, config, resume=False, pixel_size=None, evaluation_batch_size=32,
    pixel_protocol="per-type", verbose=1,
):
    """Train, evaluate and report one setting.

    Args:
        data_root: Real-IAD-format data set root.
        output_dir: folder for everything the experiment writes.
        config: a ``TrainingConfig`` (its ``alpha`` picks the split).
        resume: continue an interrupted training in ``output_dir``.
        pixel_size: resolution of the pixel metrics; the model input if None.
        evaluation_batch_size: images per evaluation batch.
        pixel_protocol: ``"per-type"`` or ``"authors"`` (see
            ``mtfcdd.evaluation.evaluate``).
        verbose: 1 for progress bars.

    Returns:
        An ``ExperimentResult``.
    """
    training = train(data_root, output_dir, config=config, resume=resume, verbose=verbose)
    model = load_trained_model(training.model_path)
    test_samples = load_realiad(
        data_root, alpha=config.alpha, resolution=config.resolution,
        objects=config.objects, num_types=config.num_types,
    ).test
    evaluation = evaluate(
        model, test_samples, batch_size=evaluation_batch_size, pixel_size=pixel_size,
        pixel_protocol=pixel_protocol, verbose=verbose,
    )
    evaluation["settings"]["alpha"] = config.alpha
    evaluation["settings"]["training"] = {
        **config.to_dict(), "steps_per_epoch": training.steps_per_epoch,
        "training_images": training.training_images,
    }
    report_paths = write_reports({config.alpha: evaluation}, output_dir, stem=RESULTS_STEM)
    figure_path = os.path.join(output_dir, FIGURE_FILE)
    figure2_grid(model, test_samples, figure_path)
    return ExperimentResult(output_dir, training.model_path, evaluation, tuple(report_paths), figure_path)


def experiment_parser(name, alpha, multi_class):
    """The command line of a script in ``experiments/``; its defaults are
    the paper runs' (``mtfcdd.cli.options.add_paper_training_options``)."""
    parser = argparse.ArgumentParser(
        description=f"Paper experiment {name}: {'multi-class (K = 1)' if multi_class else 'multi-type (K = 8)'}, "
        f"alpha = {alpha}."
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="Real-IAD root (holds realiad_jsons/ and realiad_*/)")
    source.add_argument("--synthetic", action="store_true", help="run on the generated synthetic data set")
    parser.add_argument("--out", default=os.path.join("results", name), help="output folder (default: results/NAME)")
    parser.add_argument("--resolution", default=None, help="Real-IAD image folder, e.g. realiad_512")
    parser.add_argument("--image-size", type=int, default=299)
    parser.add_argument(
        "--backbone-weights", type=backbone_weights_argument, default="imagenet",
        help="imagenet (default), synthetic, none or a weights file",
    )
    add_paper_training_options(parser)
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="default: one balanced epoch (Eq. 4)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--pixel-size", type=int, default=None)
    add_pixel_protocol_option(parser)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true")
    return parser


def experiment_main(name, alpha, multi_class, argv=None):
    """Command line of a script in ``experiments/`` (one per setting).

    ``--data ROOT`` runs on Real-IAD; ``--synthetic`` generates the
    ``full`` synthetic data set and runs the same experiment on it.
    """
    arguments = experiment_parser(name, alpha, multi_class).parse_args(argv)
    data_root = arguments.data
    if arguments.synthetic:
        from mtfcdd.data.synthetic import make_synthetic_iad

        data_root = os.path.join(arguments.out, "synthetic_data")
        if not os.path.isdir(os.path.join(data_root, "realiad_jsons")):
            make_synthetic_iad(data_root, preset="full", seed=arguments.seed)
    config = TrainingConfig(
        alpha=alpha, multi_class=multi_class, image_size=arguments.image_size,
        backbone_weights=arguments.backbone_weights,
        batch_size=arguments.batch_size, learning_rate=arguments.learning_rate,
        steps_per_epoch=arguments.steps_per_epoch,
        seed=arguments.seed, resolution=arguments.resolution,
        **paper_training_settings(arguments),
    )
    result = run_experiment(
        data_root, arguments.out, config, resume=arguments.resume, pixel_size=arguments.pixel_size,
        pixel_protocol=arguments.pixel_protocol,
    )
    print(result.table)
    print(f"Results in {os.path.abspath(arguments.out)}")
    return result
