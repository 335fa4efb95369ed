"""`mtfcdd serve`: a web page and a JSON endpoint for a trained model.

    mtfcdd serve MODEL.keras [--host 127.0.0.1] [--port 8080] [--images DIR] [--save DIR]
    mtfcdd serve --tflite MODEL.tflite [--delegate PATH] ...
    mtfcdd serve --onnx MODEL.onnx ...
    mtfcdd serve --openvino MODEL.xml ...

Runs ``mtfcdd.serve.server`` until Ctrl+C. Needs Flask (``pip install
"mtfcdd[serve]"``); with ``--tflite``, ``--onnx`` or ``--openvino`` neither Keras nor
TensorFlow is imported, so it runs on a board. Nothing heavy is imported
until the verb runs.
"""

from __future__ import annotations

import argparse
import os

from mtfcdd.cli.options import add_model_options, load_model, port_number, positive_float
from mtfcdd.constants import MAX_PIXELS, MAX_UPLOAD_BYTES

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
# Hosts that only this machine reaches.
LOCAL_HOSTS = (DEFAULT_HOST, "localhost", "::1")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve", help="a web page and a JSON endpoint (POST /predict) for a trained model"
    )
    parser.add_argument(
        "model", nargs="?", metavar="MODEL.keras",
        help="the trained model (mtfcdd train writes model.keras); omit it with --tflite, --onnx or --openvino",
    )
    add_model_options(parser)
    parser.add_argument(
        "--host", default=DEFAULT_HOST,
        help=f"address to listen on (default: {DEFAULT_HOST}, this machine only; 0.0.0.0 exposes the "
        "server to the network without authentication, see docs/deployment.md)",
    )
    parser.add_argument(
        "--port", type=port_number, default=DEFAULT_PORT,
        help=f"TCP port (default: {DEFAULT_PORT}; 0: any free one)",
    )
    parser.add_argument(
        "--images", metavar="DIR",
        help="a folder whose images the page offers, e.g. a test split (searched recursively)",
    )
    parser.add_argument(
        "--save", metavar="DIR",
        help="write each uploaded image and its JSON result to DIR (default: nothing is written)",
    )
    parser.add_argument(
        "--max-upload-mb", type=positive_float, default=MAX_UPLOAD_BYTES / 1e6, metavar="MB",
        help=f"largest upload accepted, in MB (default: {MAX_UPLOAD_BYTES / 1e6:g})",
    )
    parser.add_argument(
        "--max-megapixels", type=positive_float, default=MAX_PIXELS / 1e6, metavar="MP",
        help="most pixels decoded per image; a larger JPEG is decoded at 1/2, 1/4 or 1/8 of its "
        f"size, a larger PNG or BMP refused (default: {MAX_PIXELS / 1e6:g})",
    )
    parser.add_argument(
        "--allowed-host", action="append", default=[], metavar="NAME",
        help="a host name the server answers besides IP addresses and localhost (the Host header; "
        "others get 403, against DNS rebinding), e.g. the name a reverse proxy forwards; repeatable",
    )
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    from mtfcdd.utils.optional_packages import import_optional

    import_optional("flask", "Flask", "mtfcdd serve", extra="serve")
    server, _, facts = build_server(arguments)
    host = f"[{arguments.host}]" if ":" in arguments.host else arguments.host
    print(f"Serving {facts['file']} at http://{host}:{server.server_port}/ (Ctrl+C stops it)", flush=True)
    if arguments.host not in LOCAL_HOSTS:
        print(
            f"Listening on {arguments.host}: anyone who reaches this machine can use the page and "
            "the endpoint, without authentication or encryption (docs/deployment.md).",
            flush=True,
        )
    # Werkzeug's loop returns on Ctrl+C, and closes the socket.
    server.serve_forever()
    print("Stopped.")
    return 0


def build_server(arguments):
    """(the server, not yet running; the model; its facts) from the command line."""
    from mtfcdd.deploy.sidecar import model_files
    from mtfcdd.serve.server import create_app, make_server

    model = load_model(arguments, arguments.model)
    facts = {
        "file": os.path.basename(model.model_file),
        "file_size_bytes": sum(os.path.getsize(path) for path in model_files(model.model_file)),
        "runtime": model.runtime,
    }
    if model.quantization is not None:
        facts["quantization"] = model.quantization
    app = create_app(
        model, facts=facts, images_dir=arguments.images, save_dir=arguments.save,
        max_upload_bytes=int(arguments.max_upload_mb * 1e6),
        max_pixels=int(arguments.max_megapixels * 1e6), allowed_hosts=arguments.allowed_host,
    )
    return make_server(app, arguments.host, arguments.port), model, facts

