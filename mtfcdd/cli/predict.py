"""`mtfcdd predict`: scores, detected types and heatmap panels of image files.

    mtfcdd predict MODEL.keras INPUT... --out DIR [--batch-size N] [--reduction mean|max]
    mtfcdd predict --tflite MODEL.tflite [--delegate PATH] INPUT... --out DIR
    mtfcdd predict --onnx MODEL.onnx INPUT... --out DIR
    mtfcdd predict --openvino MODEL.xml INPUT... --out DIR

With ``--tflite``, ``--onnx`` or ``--openvino`` every positional is an input (files,
folders, glob patterns), and neither Keras nor TensorFlow is imported;
without them the first one is the Keras model. Exit status 0 when every
image was processed, ``SOME_INPUTS_FAILED`` (3) when some could not be (the
others' results are written, the failures listed), 1 when none could be or
on an error.
"""

from __future__ import annotations

import argparse
import os
import sys

from mtfcdd.cli.json_output import add_json_option, print_result
from mtfcdd.cli.options import add_model_options, converted_model_given, load_model, positive_int
from mtfcdd.constants import SCORE_REDUCTIONS

SOME_INPUTS_FAILED = 3

TOP_SCORES = 3
# Images listed one a line; predictions.csv holds them all (a folder of
# hundreds would bury the summary, and flood a notebook's cell).
SHOWN_PREDICTIONS = 10


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "predict", help="per-type scores, detected defect types and heatmap panels of images",
        epilog=f"exit status: 0 every image predicted; {SOME_INPUTS_FAILED} some images failed "
        "(the others' results are written, the failures listed); 1 no image could be predicted, "
        "or an error",
    )
    add_model_options(parser)
    parser.add_argument(
        "inputs", nargs="+", metavar="[MODEL.keras] INPUT",
        help="the trained model (mtfcdd train writes model.keras), unless --tflite, --onnx or "
        "--openvino is given, then image files, folders (searched recursively; Real-IAD mask PNGs skipped) or "
        "glob patterns",
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR",
        help="output folder: one <stem>.png panel per image, predictions.json, predictions.csv",
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=8, metavar="N", help="images per model call (default: 8)"
    )
    parser.add_argument(
        "--reduction", choices=SCORE_REDUCTIONS, default=None,
        help="image score: mean (paper Eq. 2) or max (default: the model's own; "
        "with another one, no types are detected since the thresholds do not apply)",
    )
    add_json_option(parser)
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    from mtfcdd.prediction.predict_images import describe_detection, predict
    from mtfcdd.utils.image_files import masks_left_out_note

    model_path, inputs = None, arguments.inputs
    if not converted_model_given(arguments):
        model_path, inputs = inputs[0], inputs[1:]
    if not inputs:
        raise ValueError(
            "Give the model file and at least one image, file or folder (or --tflite / --onnx / --openvino FILE)."
        )
    model = load_model(arguments, model_path)
    results = predict(
        model, inputs, output_dir=arguments.out,
        batch_size=arguments.batch_size, reduction=arguments.reduction, verbose=0 if arguments.json else 1,
    )
    if model.thresholds is not None and results.thresholds is None:
        print(
            f"The model's thresholds were fitted on {model.score_reduction} scores: "
            f"with --reduction {results.score_reduction} no types are detected."
        )
    for prediction in results.predictions[:SHOWN_PREDICTIONS]:
        top = sorted(prediction.scores.items(), key=lambda item: -item[1])[:TOP_SCORES]
        print(
            f"{os.path.basename(prediction.path)}: "
            f"{describe_detection(prediction.decision, separator=' ')}  "
            f"(top scores: {', '.join(f'{code} {score:.4g}' for code, score in top)})"
        )
    if len(results.predictions) > SHOWN_PREDICTIONS:
        print(f"... and {len(results.predictions) - SHOWN_PREDICTIONS} more (predictions.csv lists them all)")
    for _, reason in results.failures:
        print(f"failed: {reason}", file=sys.stderr)
    masks_note = masks_left_out_note(results.masks_left_out)
    if masks_note:
        print(masks_note)
    print_result(
        arguments, results.to_dict(),
        f"{_images(len(results.predictions))} predicted, {len(results.failures)} unreadable; "
        f"panels and predictions.json in {arguments.out}",
    )
    if not results.failures:
        return 0
    return SOME_INPUTS_FAILED if results.predictions else 1


def _images(count):
    return f"{count} image{'' if count == 1 else 's'}"
