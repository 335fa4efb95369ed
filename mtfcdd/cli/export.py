"""`mtfcdd export`: convert a trained model to LiteRT (TFLite) or ONNX, paper 5.3.

    mtfcdd export MODEL.keras --format tflite --quantize none|float16|dynamic|int8
                  --out FILE.tflite [--calibration-images DIR_OR_GLOB]
                  [--num-calibration N]
    mtfcdd export MODEL.keras --format onnx --out FILE.onnx

Writes FILE and its sidecar FILE.json (docs/deployment.md).
"""

from __future__ import annotations

import argparse
import os

from mtfcdd.cli.json_output import add_json_option, print_result
from mtfcdd.cli.options import positive_int
from mtfcdd.constants import EXPORT_FORMATS, QUANTIZATIONS

DEFAULT_CALIBRATION_IMAGES = 100


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "export", help="convert a .keras model to LiteRT or ONNX (the file + a .json sidecar)"
    )
    parser.add_argument("model", metavar="MODEL", help="the trained model, a .keras file")
    parser.add_argument(
        "--format", choices=EXPORT_FORMATS, default=EXPORT_FORMATS[0],
        help="tflite (LiteRT) or onnx (float32; needs tf2onnx: pip install \"mtfcdd[onnx]\"); "
        "default: %(default)s",
    )
    parser.add_argument(
        "--quantize", choices=QUANTIZATIONS, default="none",
        help="LiteRT only: none (float32), float16 (half-size weights), dynamic (int8 weights) "
        "or int8 (full integer, needs --calibration-images); default: none",
    )
    parser.add_argument(
        "--out", required=True,
        help="the .tflite or .onnx file to write (its sidecar is OUT.json); never the input model",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace --out and its sidecar if they exist"
    )
    parser.add_argument(
        "--calibration-images", metavar="DIR_OR_GLOB",
        help="images that calibrate int8: a folder (searched recursively; Real-IAD masks and "
        "hidden files left out) or a glob pattern, e.g. 'data/realiad_299/*/OK/**/*.jpg'",
    )
    parser.add_argument(
        "--num-calibration", type=positive_int, default=DEFAULT_CALIBRATION_IMAGES, metavar="N",
        help="calibration images used, evenly spaced among those found "
        f"(default: {DEFAULT_CALIBRATION_IMAGES})",
    )
    add_json_option(parser)
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> None:
    # Cheap checks first: loading the model and TensorFlow takes seconds.
    if arguments.format == "onnx" and (arguments.quantize != "none" or arguments.calibration_images):
        raise ValueError(
            "--format onnx writes a float32 file: --quantize and --calibration-images "
            "apply to --format tflite only."
        )
    if arguments.quantize == "int8" and arguments.calibration_images is None:
        raise ValueError(
            "--quantize int8 needs --calibration-images DIR_OR_GLOB: images "
            "like those the model will see (e.g. training images) to "
            "calibrate the int8 ranges."
        )
    from mtfcdd.deploy.sidecar import sidecar_path

    _check_output(arguments.model, arguments.out, sidecar_path(arguments.out), arguments.overwrite)
    from mtfcdd.utils.image_files import masks_left_out_note, select_images
    from mtfcdd.model.saving import load_trained_model

    calibration_paths = None
    if arguments.calibration_images is not None:
        selection = select_images(arguments.calibration_images)
        calibration_paths = list(selection.paths)
        if selection.masks_left_out:
            print(masks_left_out_note(selection.masks_left_out))
    model = load_trained_model(arguments.model)

    from mtfcdd.deploy.export import export_onnx, export_tflite

    if arguments.format == "onnx":
        export_onnx(model, arguments.out)
    else:
        export_tflite(
            model, arguments.out, quantize=arguments.quantize,
            representative_images=calibration_paths,
            num_calibration_images=arguments.num_calibration,
        )
    document = {
        "file": arguments.out,
        "sidecar": sidecar_path(arguments.out),
        "format": arguments.format,
        "quantization": arguments.quantize,
        "file_size_bytes": os.path.getsize(arguments.out),
    }
    print_result(arguments, document, f"wrote {arguments.out} and {sidecar_path(arguments.out)}")


def _check_output(model_path, output_path, sidecar, overwrite):
    """Refuses to write over the input model, or over existing files without ``overwrite``."""
    for path in (output_path, sidecar):
        if os.path.exists(path) and os.path.exists(model_path) and os.path.samefile(path, model_path):
            raise ValueError(
                f"--out {output_path} would write over the input model {model_path}; "
                "give another file name (e.g. model.tflite)."
            )
    if os.path.isdir(output_path):
        raise IsADirectoryError(f"--out {output_path} is a folder; give the .tflite file to write.")
    existing = [path for path in (output_path, sidecar) if os.path.exists(path)]
    if existing and not overwrite:
        raise FileExistsError(
            f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
            "add --overwrite to replace, or give another --out."
        )
