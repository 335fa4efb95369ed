"""Time per image of `mtfcdd serve`'s endpoint against `mtfcdd predict`'s, at batch 1.

    python experiments/serve_speed.py MODEL.keras --images DIR [--count 20] [--repeats 5]
    python experiments/serve_speed.py --tflite MODEL.tflite --images DIR

Starts the server of `mtfcdd serve` (the verb's own code) in a thread of
this process, then for each of ``--count`` images of DIR (read into memory
first), ``--repeats`` times, in turn:

- model: ``mtfcdd.prediction.predict_images.predict_arrays`` on the decoded image, a batch
  of one: what `mtfcdd predict` runs per image once the file is read (the
  network, Eq. 1 and 2, the thresholds);
- predict: ``mtfcdd.predict`` on the image file, batch size 1, no output
  folder (reading and decoding the file included);
- endpoint: ``POST /predict`` with the file as ``multipart/form-data``
  (what ``curl -F file=@part.jpg`` sends) over HTTP on this machine, until
  the JSON answer is parsed; "in_server" is the part the server itself
  reports (``timing_ms.total``: decoding, the model, the answer), the rest
  is HTTP, Werkzeug and Flask.

``--stand-in`` serves a model that returns zero heatmaps at once instead:
what remains is the endpoint's own cost. Prints the median milliseconds of
each and the endpoint's ratio to the model's time (docs/deployment.md:
target at most 1.2), and writes them to ``--json`` when given. One warm-up
round runs first.
"""

import argparse
import dataclasses
import http.client
import io
import json
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from werkzeug.datastructures import FileStorage  # noqa: E402
from werkzeug.test import encode_multipart  # noqa: E402

from mtfcdd.cli import build_parser  # noqa: E402
from mtfcdd.cli.serve import build_server  # noqa: E402
from mtfcdd.inference.heatmap_model import heatmap_model  # noqa: E402
from mtfcdd.prediction.predict_images import predict, predict_arrays  # noqa: E402
from mtfcdd.serve.server import create_app, make_server  # noqa: E402
from mtfcdd.utils.image_files import image_paths  # noqa: E402
from mtfcdd.utils.image_files import read_rgb_image  # noqa: E402


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", help="a .keras model (or give --tflite)")
    parser.add_argument("--tflite", help="a converted model with its sidecar")
    parser.add_argument("--images", required=True, help="a folder of images (searched recursively)")
    parser.add_argument("--count", type=int, default=20, help="images taken from the folder (default: 20)")
    parser.add_argument("--repeats", type=int, default=5, help="rounds over the images (default: 5)")
    parser.add_argument(
        "--stand-in", action="store_true",
        help="serve a stand-in with the model's interface whose heatmaps are zeros, computed in no "
        "time: the endpoint's own cost",
    )
    parser.add_argument("--json", help="write the results to this file")
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(argv)
    model_arguments = ["--tflite", arguments.tflite] if arguments.tflite else [arguments.model]
    server, model, facts = build_server(build_parser().parse_args(["serve", *model_arguments, "--port", "0"]))
    if arguments.stand_in:
        server.server_close()
        model = _stand_in(heatmap_model(model))
        server = make_server(create_app(model, facts=facts), "127.0.0.1", 0)
        facts = {**facts, "runtime": "stand-in for " + facts["runtime"]}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    paths = image_paths(arguments.images)[:arguments.count]
    files = {}
    for path in paths:
        with open(path, "rb") as file:
            files[path] = file.read()
    images = {path: read_rgb_image(path) for path in paths}
    timings = {"model": [], "predict": [], "endpoint": [], "in_server": []}
    for round_number in range(arguments.repeats + 1):
        for path in paths:
            answers = []
            measured = {
                "model": _seconds(lambda: predict_arrays(model, [images[path]])),
                "predict": _seconds(lambda: predict(model, [path], batch_size=1)),
                "endpoint": _seconds(lambda: answers.append(_post(server.server_port, path, files[path]))),
            }
            measured["in_server"] = answers[0]["timing_ms"]["total"] / 1000
            if round_number > 0:  # the first round warms up
                for name, seconds in measured.items():
                    timings[name].append(seconds)
    server.shutdown()
    server.server_close()
    medians = {name: round(1000 * statistics.median(values), 2) for name, values in timings.items()}
    result = {
        "model_file": facts["file"],
        "runtime": facts["runtime"] + (f" {facts['quantization']}" if "quantization" in facts else ""),
        "images": len(paths),
        "repeats": arguments.repeats,
        "ms_per_image": medians,
        "endpoint_over_model": round(medians["endpoint"] / medians["model"], 3),
        "endpoint_over_predict": round(medians["endpoint"] / medians["predict"], 3),
    }
    print(
        f"{result['runtime']}, {len(paths)} images x {arguments.repeats}: ms per image "
        f"model {medians['model']}, predict {medians['predict']}, endpoint {medians['endpoint']} "
        f"(in the server {medians['in_server']}); "
        f"endpoint / model {result['endpoint_over_model']}, "
        f"endpoint / predict {result['endpoint_over_predict']}"
    )
    if arguments.json:
        with open(arguments.json, "w", encoding="utf-8") as file:
            json.dump(result, file, indent=2)
    return result


def _stand_in(source):
    """``source``'s interface, with zero heatmaps on a 1x1 grid."""
    return dataclasses.replace(
        source, heatmaps=lambda images: np.zeros((len(images), 1, 1, len(source.type_codes)), np.float32)
    )


def _seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _post(port, path, data):
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), os.path.basename(path))})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        connection.request("POST", "/predict", body, headers)
        response = connection.getresponse()
        answer = json.loads(response.read())
    finally:
        connection.close()
    if response.status != 200:
        raise ValueError(f"{path}: the endpoint answered {response.status}: {answer['error']}")
    return answer


if __name__ == "__main__":
    main()
