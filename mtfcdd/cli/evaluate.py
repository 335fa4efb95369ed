"""`mtfcdd evaluate`: per-type metrics of a model on a test split.

    mtfcdd evaluate MODEL.keras --data ROOT --alpha A
    mtfcdd evaluate --tflite MODEL.tflite [--delegate PATH] --data ROOT --alpha A
    mtfcdd evaluate --onnx MODEL.onnx --data ROOT --alpha A
    mtfcdd evaluate --openvino MODEL.xml --data ROOT --alpha A

A converted file is evaluated exactly as the Keras model (the same images,
read the same way, the same metrics), without Keras or TensorFlow.
"""

from __future__ import annotations

import argparse

from mtfcdd.cli.json_output import add_json_option, print_result
from mtfcdd.cli.options import (
    add_data_options,
    add_evaluation_options,
    add_model_options,
    add_preset_option,
    load_model,
    positive_int,
    requested_evaluation_settings,
)
from mtfcdd.constants import SCORE_REDUCTIONS


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="per-type I-AUROC, AP, F1-max, P-AUROC, AUPRO on a test split (paper Tables 3-5)"
    )
    parser.add_argument(
        "model", nargs="?", metavar="MODEL", help="a trained model (.keras); omit it with --tflite, --onnx or --openvino"
    )
    add_model_options(parser)
    add_data_options(parser)
    parser.add_argument(
        "--batch-size", type=positive_int, default=32, metavar="N", help="images per model call (default: %(default)s)"
    )
    parser.add_argument(
        "--pixel-size", type=positive_int, default=None, metavar="PIXELS",
        help="side at which heatmaps and masks are compared (default: the model input size)",
    )
    parser.add_argument(
        "--reduction", choices=SCORE_REDUCTIONS, default=None,
        help="image score from a heatmap: mean (paper Eq. 2) or max (default: the preset's; "
        "the model's own with the paper preset)",
    )
    add_evaluation_options(parser)
    add_preset_option(parser)
    parser.add_argument(
        "--out", default=None, metavar="DIR",
        help="also write the tables (JSON, CSV, Markdown) and the ROC, precision-recall and PRO "
        "curves of every type (CSV, and PNG with the plots extra) to DIR",
    )
    add_json_option(parser)
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    from mtfcdd.utils.optional_packages import import_optional

    # The metrics' own dependencies, which a board installed without the
    # package's dependencies (docs/deployment.md) may lack.
    for module_name, package in (("scipy.ndimage", "scipy"), ("sklearn.metrics", "scikit-learn")):
        import_optional(module_name, package, "mtfcdd evaluate (the metrics)")
    from mtfcdd.evaluation.model_evaluation import evaluate
    from mtfcdd.evaluation.reports import markdown, record_data_settings, write_reports

    model = load_model(arguments, arguments.model)
    data = _test_data(arguments, model)
    result = evaluate(
        model, data.test, batch_size=arguments.batch_size,
        pixel_size=arguments.pixel_size, verbose=0 if arguments.json else 1, curves_dir=arguments.out,
        **requested_evaluation_settings(arguments, arguments.given_options),
        unknown_samples=data.excluded_test,
    )
    record_data_settings(result, data)
    results = {data.setting: result}
    if arguments.out:
        for path in write_reports(results, arguments.out, stem="evaluation"):
            print(f"Wrote {path}", flush=True)
        print(f"Wrote the curves under the metrics to {arguments.out} (curves_*)", flush=True)
    print_result(arguments, result, markdown(results))
    return 0


def _test_data(arguments, model):
    from mtfcdd.data.layouts import load_for_model

    return load_for_model(
        arguments.data, model.type_codes, layout=arguments.layout, alpha=arguments.alpha,
        resolution=arguments.resolution, objects=arguments.objects, types=arguments.types,
        normal_name=arguments.normal_name, defect_train_fraction=arguments.defect_train_fraction,
    )
