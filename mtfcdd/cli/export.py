"""`mtfcdd export`: convert a trained model to LiteRT (TFLite) or ONNX, paper 5.3.

    mtfcdd export MODEL.keras --format tflite --quantize none|float16|dynamic|int8
                  --out FILE.tflite [--calibration-images DIR_OR_GLOB]
                  [--num-calibration N]
    mtfcdd export MODEL.keras --format onnx --out FILE.onnx

Writes FILE and its sidecar FILE.json (docs/deployment.md).
"""

from mtfcdd.constants import EXPORT_FORMATS, QUANTIZATIONS

DEFAULT_CALIBRATION_IMAGES = 100


def register(subparsers):
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
    parser.add_argument("--out", required=True, help="the .tflite or .onnx file to write")
    parser.add_argument(
        "--calibration-images", metavar="DIR_OR_GLOB",
        help="images that calibrate int8: a folder (searched recursively; Real-IAD masks and "
        "hidden files left out) or a glob pattern, e.g. 'data/realiad_299/*/OK/**/*.jpg'",
    )
    parser.add_argument(
        "--num-calibration", type=int, default=DEFAULT_CALIBRATION_IMAGES, metavar="N",
        help="calibration images used, evenly spaced among those found "
        f"(default: {DEFAULT_CALIBRATION_IMAGES})",
    )
    parser.set_defaults(handler=run)


def run(arguments):
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
    from mtfcdd.utils.image_files import find_images
    from mtfcdd.model.saving import load_trained_model

    calibration_paths = None
    if arguments.calibration_images is not None:
        calibration_paths = find_images(arguments.calibration_images)
    model = load_trained_model(arguments.model)

    from mtfcdd.deploy.export import export_onnx, export_tflite
    from mtfcdd.deploy.sidecar import sidecar_path

    if arguments.format == "onnx":
        export_onnx(model, arguments.out)
    else:
        export_tflite(
            model, arguments.out, quantize=arguments.quantize,
            representative_images=calibration_paths,
            num_calibration_images=arguments.num_calibration,
        )
    print(f"wrote {arguments.out} and {sidecar_path(arguments.out)}")
