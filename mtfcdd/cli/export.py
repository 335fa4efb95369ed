"""`mtfcdd export`: convert a trained model to LiteRT (TFLite), ONNX or OpenVINO, paper 5.3.

    mtfcdd export MODEL.keras --format tflite --quantize none|float16|dynamic|int8
                  --out FILE.tflite [--calibration-images DIR_OR_GLOB]
                  [--num-calibration N]
    mtfcdd export MODEL.keras --format onnx --quantize none|int8 --out FILE.onnx [...]
    mtfcdd export MODEL.keras --format openvino --quantize none|int8 --out FILE.xml [...]

Writes FILE and its sidecar FILE.json (docs/deployment.md); an OpenVINO
FILE.xml has its weights in FILE.bin beside it.
"""

from __future__ import annotations

import argparse
import os

from mtfcdd.cli.json_output import add_json_option, print_result
from mtfcdd.cli.options import positive_int
from mtfcdd.constants import EXPORT_FORMATS, FORMAT_QUANTIZATIONS, QUANTIZATIONS

DEFAULT_CALIBRATION_IMAGES = 100


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "export", help="convert a .keras model to LiteRT, ONNX or OpenVINO (the file + a .json sidecar)"
    )
    parser.add_argument("model", metavar="MODEL", help="the trained model, a .keras file")
    parser.add_argument(
        "--format", choices=EXPORT_FORMATS, default=EXPORT_FORMATS[0],
        help="tflite (LiteRT), onnx (needs tf2onnx: pip install \"mtfcdd[onnx]\") or openvino "
        "(OpenVINO's .xml + .bin; pip install \"mtfcdd[onnx,openvino]\"); default: %(default)s",
    )
    parser.add_argument(
        "--quantize", choices=QUANTIZATIONS, default="none",
        help="none (float32), float16 (half-size weights; LiteRT only), dynamic (int8 weights; "
        "LiteRT only) or int8 (int8 weights and activations, needs --calibration-images); "
        "default: none",
    )
    parser.add_argument(
        "--out", required=True,
        help="the .tflite, .onnx or .xml (OpenVINO) file to write (its sidecar is OUT.json); "
        "never the input model",
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
    offered = FORMAT_QUANTIZATIONS[arguments.format]
    if arguments.quantize not in offered:
        raise ValueError(
            f"--format {arguments.format} offers --quantize {' or '.join(offered)}; "
            f"got {arguments.quantize}."
        )
    if arguments.format != "tflite" and arguments.calibration_images and arguments.quantize != "int8":
        raise ValueError("--calibration-images applies to --quantize int8 only.")
    if arguments.format == "openvino" and not arguments.out.endswith(".xml"):
        raise ValueError(
            f"--out {arguments.out}: an OpenVINO model is an .xml file (its weights go to the "
            ".bin beside it); give e.g. model.xml."
        )
    if arguments.quantize == "int8" and arguments.calibration_images is None:
        raise ValueError(
            "--quantize int8 needs --calibration-images DIR_OR_GLOB: images "
            "like those the model will see (e.g. training images) to "
            "calibrate the int8 ranges."
        )
    from mtfcdd.deploy.sidecar import model_files, sidecar_path

    _check_output(
        arguments.model, arguments.out, [*model_files(arguments.out), sidecar_path(arguments.out)],
        arguments.overwrite,
    )
    from mtfcdd.utils.image_files import masks_left_out_note, select_images
    from mtfcdd.model.saving import load_trained_model

    calibration_paths = None
    if arguments.calibration_images is not None:
        selection = select_images(arguments.calibration_images)
        calibration_paths = list(selection.paths)
        if selection.masks_left_out:
            print(masks_left_out_note(selection.masks_left_out))
    model = load_trained_model(arguments.model)

    from mtfcdd.deploy import export

    exporters = {
        "tflite": export.export_tflite, "onnx": export.export_onnx, "openvino": export.export_openvino,
    }
    exporters[arguments.format](
        model, arguments.out, quantize=arguments.quantize,
        representative_images=calibration_paths,
        num_calibration_images=arguments.num_calibration,
    )
    document = {
        "file": arguments.out,
        "sidecar": sidecar_path(arguments.out),
        "format": arguments.format,
        "quantization": arguments.quantize,
        "file_size_bytes": sum(os.path.getsize(path) for path in model_files(arguments.out)),
    }
    print_result(arguments, document, f"wrote {arguments.out} and {sidecar_path(arguments.out)}")


def _check_output(model_path, output_path, written_paths, overwrite):
    """Refuses to write over the input model, or over existing files without ``overwrite``."""
    for path in written_paths:
        if os.path.exists(path) and os.path.exists(model_path) and os.path.samefile(path, model_path):
            raise ValueError(
                f"--out {output_path} would write over the input model {model_path}; "
                "give another file name (e.g. model.tflite)."
            )
    if os.path.isdir(output_path):
        raise IsADirectoryError(f"--out {output_path} is a folder; give the .tflite file to write.")
    existing = [path for path in written_paths if os.path.exists(path)]
    if existing and not overwrite:
        raise FileExistsError(
            f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
            "add --overwrite to replace, or give another --out."
        )
