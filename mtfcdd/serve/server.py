"""`mtfcdd serve`: a web page and a JSON endpoint for a trained model (Flask).

``create_app(model)`` is a WSGI application (Flask) with these routes
(schema in docs/deployment.md):

- ``GET /``: the page (``mtfcdd/serve/page/``: HTML, CSS and JavaScript
  shipped with the package, nothing from the internet). Upload images or
  pick one from the server's folder; each gets the heatmap of its most
  likely type over it, one small heatmap per type (paper Eq. 1, upsampled,
  3.1), the scores s_k (Eq. 2) against their thresholds, and the verdict.
- ``POST /predict``: one image, as the ``file`` field of a
  ``multipart/form-data`` form or as the request body (``Content-Type:
  image/jpeg``, ``image/png`` or ``image/bmp``), or ``?image=NAME`` for a
  file of the server's folder; returns the scores, detected types,
  thresholds and decision (with the open-set rule, ``"unknown defect"``
  where no type fires but the scores depart from normal,
  ``mtfcdd.inference.open_set``) as JSON, and the heatmaps with ``?heatmaps=png`` or ``array``.
- ``GET /model``, ``GET /health``, ``GET /images``: the model's facts, a
  liveness check with counters, the folder's images.

The model is anything ``mtfcdd.inference.heatmap_model.heatmap_model`` accepts (a Keras
``MultiTypeFCDD``, a ``LiteRTModel``, an ``OnnxModel``, a ``HeatmapModel``), and the numbers
come from ``HeatmapModel.predict``, as in ``mtfcdd predict`` (and
``mtfcdd.prediction.predict_images.predict_arrays``), on pixels decoded as ``predict`` decodes files
(``mtfcdd.serve.uploads``). One image runs at a time (a lock): neither a
LiteRT interpreter nor the CPU gains from running two.

Bad input gets a 4xx answer ``{"error": "..."}`` and the server goes on
serving. Uploads stay in memory (at most ``max_upload_bytes``) and nothing
is written to disk unless ``save_dir`` is given.

Flask because it is synchronous like the model, small (Werkzeug, Jinja2 and
three tiny packages), parses multipart uploads and enforces a request size
limit itself, and runs on any WSGI server. This module imports neither
Keras nor TensorFlow: it serves a LiteRT model on a board.
"""

import base64
import datetime
import http
import io
import ipaddress
import json
import os
import threading
import time
import urllib.parse

import flask
import numpy as np
import werkzeug.exceptions
import werkzeug.serving
import werkzeug.utils

from mtfcdd.constants import DEFECT_NAMES, MAX_PIXELS, MAX_UPLOAD_BYTES
from mtfcdd.inference.heatmap_model import heatmap_model
from mtfcdd.inference.open_set import open_set_summary
from mtfcdd.inference.postprocessing import most_likely_types, upsample_heatmaps
from mtfcdd.prediction.predict_images import describe_detection
from mtfcdd.serve.uploads import MEDIA_TYPES, UploadError, decode_upload
from mtfcdd.utils.atomic_files import write_bytes, write_json
from mtfcdd.utils.image_files import image_paths, png_bytes, shrink_to_longest_side
from mtfcdd.visualization.panels import overlay_heatmap

PAGE_FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "page")
# Longest side of the heatmap pictures (?heatmaps=png); smaller images keep
# their size. The page shows them at most this large.
PICTURE_SIDE = 384
HEATMAP_FORMATS = ("none", "png", "array")
# Colour scales of the heatmap pictures: "threshold" draws each type's map
# on [0, 2 t_k], so its threshold sits mid-scale (cool below, hot above) and
# a normal image stays cool; "image" on [0, the largest value of the K maps],
# as mtfcdd predict's panels, which compares the types of one image.
HEATMAP_SCALES = ("threshold", "image")
THRESHOLD_SCALE_TOP = 2.0
# Uploads decoded at once: each may take up to about 6 bytes per pixel of
# max_pixels (the decoded image and libjpeg's buffers), so the server's
# memory is bounded whatever the number of requests.
DECODE_SLOTS = 2
# Connections served at once (each a thread); more wait to be accepted.
MAX_CONNECTIONS = 32
# Seconds a client may stay silent while it sends a request.
READ_TIMEOUT = 10
# Host names answered besides IP addresses (which DNS rebinding cannot use).
LOCAL_HOST_NAMES = ("localhost",)
# Request bodies read as the image itself.
IMAGE_BODY_TYPES = tuple(MEDIA_TYPES.values()) + ("application/octet-stream",)


def create_app(
    model,
    facts=None,
    images_dir=None,
    save_dir=None,
    max_upload_bytes=MAX_UPLOAD_BYTES,
    max_pixels=MAX_PIXELS,
    allowed_hosts=(),
):
    """The server's WSGI application.

    Args:
        model: a Keras ``MultiTypeFCDD``, a ``LiteRTModel``, an
            ``OnnxModel`` or a ``HeatmapModel``. It runs once on a blank image here, so that
            the first request does not pay for tracing.
        facts: more facts about the model for ``GET /model`` and the page,
            e.g. ``{"file": "model.keras", "file_size_bytes": 22760000,
            "runtime": "Keras"}``.
        images_dir: a folder whose images the page offers (searched
            recursively, Real-IAD masks left out), or None.
        save_dir: a folder where each uploaded image and its JSON result
            are written, or None: then nothing is written.
        max_upload_bytes: the largest request accepted (413 above).
        max_pixels: the most pixels an image is decoded to
            (``mtfcdd.serve.uploads``).
        allowed_hosts: host names answered besides IP addresses and
            ``localhost`` (the ``Host`` header; 403 otherwise, against DNS
            rebinding), e.g. the name a reverse proxy forwards.

    Returns:
        A ``flask.Flask`` application.
    """
    if max_upload_bytes < 1 or max_pixels < 1:
        raise ValueError(
            f"max_upload_bytes and max_pixels must be >= 1; got {max_upload_bytes} and {max_pixels}."
        )
    service = _Service(heatmap_model(model), dict(facts or {}), images_dir, save_dir, max_upload_bytes,
                       max_pixels)
    app = flask.Flask(__name__, static_folder=PAGE_FOLDER, static_url_path="/static")
    app.request_class = _InMemoryRequest
    app.config["MAX_CONTENT_LENGTH"] = max_upload_bytes
    app.json.sort_keys = False
    app.before_request(_RequestChecks(max_upload_bytes, allowed_hosts))
    app.add_url_rule("/", view_func=lambda: app.send_static_file("index.html"))
    app.add_url_rule("/health", view_func=service.health)
    app.add_url_rule("/model", view_func=service.model_facts)
    app.add_url_rule("/images", view_func=service.folder_images)
    app.add_url_rule("/predict", view_func=service.predict, methods=["POST"])
    app.register_error_handler(UploadError, service.upload_error)
    app.register_error_handler(werkzeug.exceptions.HTTPException, service.http_error)
    app.register_error_handler(Exception, service.internal_error)
    return app


def make_server(app, host, port, max_connections=MAX_CONNECTIONS, read_timeout=READ_TIMEOUT):
    """A threaded Werkzeug server for ``app``; ``serve_forever()`` runs it.

    Args:
        app: ``create_app``'s application.
        host: the address to listen on: ``"127.0.0.1"`` answers this
            machine only (docs/deployment.md says what another exposes).
        port: the TCP port; 0 picks a free one (``server.server_port``).
        max_connections: connections served at once, each by a thread;
            more wait to be accepted, so a flood of connections cannot
            start unbounded threads.
        read_timeout: seconds a client may stay silent while sending a
            request before the server closes the connection.
    """
    handler = type("RequestHandler", (_RequestHandler,), {"timeout": read_timeout})
    return _BoundedServer(host, port, app, handler, max_connections)


class _BoundedServer(werkzeug.serving.ThreadedWSGIServer):
    """Werkzeug's threaded server with at most ``max_connections`` threads."""

    def __init__(self, host, port, app, handler, max_connections):
        super().__init__(host, port, app, handler=handler)
        self.connection_slots = threading.BoundedSemaphore(max_connections)

    def process_request(self, request, client_address):
        # Blocks the accepting loop at the cap: the kernel queues the rest.
        self.connection_slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.connection_slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connection_slots.release()


class _RequestHandler(werkzeug.serving.WSGIRequestHandler):
    """Answers the errors found before the application (a URL too long, a
    malformed request line) with JSON like every other error."""

    def send_error(self, code, message=None, explain=None):
        if code == http.HTTPStatus.REQUEST_URI_TOO_LONG:
            reason = (
                f"the request line is over {_REQUEST_LINE_LIMIT:,} bytes (a URL too long); "
                "send the image as the request body or a form, not in the URL."
            )
        else:
            reason = f"{http.HTTPStatus(code).phrase}: {explain or message or 'a malformed request'}."
        body = json.dumps({"error": reason}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200:
            self.wfile.write(body)


# http.server's limit on the request line (BaseHTTPRequestHandler).
_REQUEST_LINE_LIMIT = 65536


class _RequestChecks:
    """Runs before every route: the ``Host`` header, the ``Origin`` of a
    write, the size of a chunked body."""

    def __init__(self, max_upload_bytes, allowed_hosts):
        self.max_upload_bytes = max_upload_bytes
        self.allowed_hosts = {name.lower() for name in (*LOCAL_HOST_NAMES, *allowed_hosts)}

    def __call__(self):
        request = flask.request
        if not self._allowed(request.host):
            raise UploadError(
                f"Host {request.host!r} is not this server's: it answers IP addresses, "
                f"{', '.join(sorted(self.allowed_hosts))} (mtfcdd serve --allowed-host NAME adds a "
                "name, e.g. a reverse proxy's).", 403
            )
        origin = request.headers.get("Origin")
        if request.method == "POST" and origin and urllib.parse.urlsplit(origin).netloc != request.host:
            raise UploadError(
                f"a cross-origin POST (Origin {origin!r}, server {request.host!r}) is refused: a web "
                "page of another site must not send uploads (or, with --save, write files) here.", 403
            )
        if request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            self._buffer_chunked_body(request)

    def _allowed(self, host):
        name = urllib.parse.urlsplit(f"//{host}").hostname or ""
        try:
            ipaddress.ip_address(name)
            return True
        except ValueError:
            return name.lower() in self.allowed_hosts

    def _buffer_chunked_body(self, request):
        """Reads a chunked body whole (at most the limit, else 413), so that the
        routes see it as a body of known length: Werkzeug would cut it at the
        limit and parse the part."""
        stream, data = request.environ["wsgi.input"], bytearray()
        while len(data) <= self.max_upload_bytes:
            chunk = stream.read(min(65536, self.max_upload_bytes + 1 - len(data)))
            if not chunk:
                break
            data += chunk
        if len(data) > self.max_upload_bytes:
            raise werkzeug.exceptions.RequestEntityTooLarge()
        request.environ.pop("wsgi.input_terminated", None)
        request.environ["wsgi.input"] = io.BytesIO(bytes(data))
        request.environ["CONTENT_LENGTH"] = str(len(data))


class _InMemoryRequest(flask.Request):
    """Keeps uploads in memory: Werkzeug would spool those over 500 KB to a
    temporary file, and images must not reach the disk unless asked."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return io.BytesIO()


class _Service:
    """The routes' state: the model, its lock, counters, the folder's images."""

    def __init__(self, source, facts, images_dir, save_dir, max_upload_bytes, max_pixels):
        self.source = source
        self.facts = facts
        self.save_dir = save_dir
        self.max_upload_bytes = max_upload_bytes
        self.max_pixels = max_pixels
        # One model call at a time (a Keras or LiteRT model is not
        # reentrant); the counts have their own lock, so that an error
        # answer never waits for a prediction.
        self.model_lock = threading.Lock()
        self.decode_slots = threading.BoundedSemaphore(DECODE_SLOTS)
        self.counts_lock = threading.Lock()
        self.started = time.monotonic()
        self.counts = {"predictions": 0, "errors": 0}
        self.images = {}
        if images_dir is not None and not os.path.isdir(images_dir):
            raise FileNotFoundError(f"{images_dir}: images folder not found (expected a folder of images).")
        if images_dir is not None:
            for path in image_paths(images_dir):
                name = os.path.relpath(path, images_dir).replace(os.sep, "/")
                self.images[name] = path
        if save_dir is not None:
            os.makedirs(save_dir, exist_ok=True)
        height, width = source.image_size
        source.heatmaps([np.zeros((height, width, 3), np.uint8)])

    def health(self):
        return {"status": "ok", "uptime_s": round(time.monotonic() - self.started, 1), **self.counts}

    def model_facts(self):
        source = self.source
        return {
            **self.facts,
            "type_codes": list(source.type_codes),
            "type_names": {code: DEFECT_NAMES.get(code, code) for code in source.type_codes},
            "image_size": list(source.image_size),
            "weights_source": source.weights_source,
            "score_reduction": source.score_reduction,
            "thresholds": _by_type(source, source.thresholds),
            "open_set": open_set_summary(source.open_set),
            "limits": {"max_upload_bytes": self.max_upload_bytes, "max_pixels": self.max_pixels},
            "folder_images": len(self.images),
            "saves_uploads": self.save_dir is not None,
        }

    def folder_images(self):
        return {"images": list(self.images)}

    def predict(self):
        heatmaps_format = flask.request.args.get("heatmaps", "none")
        if heatmaps_format not in HEATMAP_FORMATS:
            raise UploadError(
                f"heatmaps={heatmaps_format!r} is not one of {', '.join(HEATMAP_FORMATS)}.", 400
            )
        scale = flask.request.args.get("scale", HEATMAP_SCALES[0])
        if scale not in HEATMAP_SCALES:
            raise UploadError(f"scale={scale!r} is not one of {', '.join(HEATMAP_SCALES)}.", 400)
        data, name, origin = self._request_image()
        started = time.perf_counter()
        with self.decode_slots:
            decoded = decode_upload(data, self.max_pixels)
        decoded_at = time.perf_counter()
        with self.model_lock:
            prediction = self.source.predict([decoded.image])
            predicted_at = time.perf_counter()
        result = self._result(decoded, name, origin, prediction, heatmaps_format, scale)
        result["timing_ms"] = {
            "decode": _milliseconds(decoded_at - started),
            "model": _milliseconds(predicted_at - decoded_at),
            "total": _milliseconds(time.perf_counter() - started),
        }
        if self.save_dir is not None and origin == "upload":
            self._save(data, name, decoded.format, result)
        with self.counts_lock:
            self.counts["predictions"] += 1
        return result

    def upload_error(self, error):
        return self._error(str(error), error.status)

    def http_error(self, error):
        length = flask.request.content_length
        if error.code == 413 and (length is None or length > self.max_upload_bytes):
            return self._error(
                f"the upload is over this server's limit of {self.max_upload_bytes:,} bytes; "
                "send a smaller image.", 413
            )
        if error.code == 413:
            return self._error(
                f"the form has more than {flask.request.max_form_parts:,} parts (fields and files), "
                f"or over {flask.request.max_form_memory_size:,} bytes of fields besides its files; "
                "send one 'file' field.", 413
            )
        return self._error(f"{error.name}: {error.description}", error.code)

    def internal_error(self, error):
        flask.current_app.logger.exception("request failed")
        return self._error(f"internal error ({type(error).__name__}: {error}); the server goes on.", 500)

    def _error(self, message, status):
        with self.counts_lock:
            self.counts["errors"] += 1
        return {"error": message}, status

    def _request_image(self):
        """(bytes, name, "upload" or "folder") of the image a request sends."""
        request = flask.request
        folder_name = request.args.get("image")
        if folder_name is None and request.mimetype == "multipart/form-data":
            folder_name = request.form.get("image")
        if folder_name is not None:
            if folder_name not in self.images:
                raise UploadError(f"{folder_name!r} is not one of the server's images (GET /images).", 404)
            with open(self.images[folder_name], "rb") as file:
                return file.read(), folder_name, "folder"
        if request.mimetype == "multipart/form-data":
            uploads = request.files.getlist("file")
            if len(uploads) != 1:
                raise UploadError(
                    f"the form has {len(uploads)} files in its 'file' field; send one image per request.",
                    400,
                )
            return uploads[0].read(), uploads[0].filename or "upload", "upload"
        if request.mimetype in IMAGE_BODY_TYPES:
            return request.get_data(cache=False), request.args.get("name", "upload"), "upload"
        raise UploadError(
            f"Content-Type {request.mimetype or 'none'!r} is not an image upload: send the image "
            "as the 'file' field of a multipart/form-data form (curl -F file=@part.jpg) or as the "
            f"request body with Content-Type {', '.join(MEDIA_TYPES.values())}.", 415
        )

    def _result(self, decoded, name, origin, prediction, heatmaps_format, scale):
        source = self.source
        scores = prediction.scores[0]
        detected = None if prediction.detected_types is None else prediction.detected_types[0]
        decision = None if detected is None else prediction.decisions[0]
        height, width = decoded.size
        notes = []
        if decoded.reduction > 1:
            notes.append(
                f"decoded at 1/{decoded.reduction} of its size: {width}x{height} pixels is over "
                f"this server's limit of {self.max_pixels:,}."
            )
        result = {
            "image": {
                "name": name,
                "source": origin,
                "format": decoded.format,
                "size": [height, width],
                "decoded_size": list(decoded.image.shape[:2]),
            },
            "scores": dict(zip(source.type_codes, scores.tolist())),
            "thresholds": _by_type(source, source.thresholds),
            "detected_types": None if detected is None else list(detected),
            "decision": None if decision is None else list(decision),
            "open_set_score": None if prediction.open_set_scores is None else float(prediction.open_set_scores[0]),
            "verdict": describe_detection(decision, separator=" "),
            "most_likely_type": most_likely_types(
                scores[np.newaxis], source.thresholds, source.type_codes
            )[0],
            "score_reduction": source.score_reduction,
            "notes": notes,
        }
        if heatmaps_format == "png":
            result["heatmaps"] = _heatmap_pictures(
                decoded.image, prediction.heatmaps[0], source.type_codes, source.thresholds, scale
            )
        elif heatmaps_format == "array":
            maps = prediction.heatmaps[0]
            result["heatmaps"] = {
                "format": "array",
                "size": list(maps.shape[:2]),
                "types": {code: maps[..., index].tolist() for index, code in enumerate(source.type_codes)},
            }
        return result

    def _save(self, data, name, image_format, result):
        stem = werkzeug.utils.secure_filename(os.path.splitext(name)[0]) or "upload"
        moment = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        base = os.path.join(self.save_dir, f"{moment}_{stem}")
        write_bytes(f"{base}.{image_format}", data)
        write_json(f"{base}.json", result)


def _heatmap_pictures(image, heatmaps, type_codes, thresholds, scale):
    """The image with each type's heatmap over it, as base64 PNGs.

    ``scale`` "threshold": type k's map on ``[0, 2 t_k]`` (its threshold
    mid-scale); "image", or a model without thresholds: one scale
    ``[0, max over the K maps]`` for all, as in ``mtfcdd predict``'s panels.
    """
    picture = shrink_to_longest_side(image, PICTURE_SIDE)
    size = picture.shape[:2]
    maps = upsample_heatmaps(heatmaps[np.newaxis], size)[0]
    if scale == "threshold" and thresholds is not None:
        value_ranges = [(0.0, THRESHOLD_SCALE_TOP * float(threshold)) for threshold in thresholds]
    else:
        scale = "image"
        value_ranges = [(0.0, float(maps.max()))] * len(type_codes)
    return {
        "format": "png",
        "size": list(size),
        "scale": scale,
        "value_ranges": {code: list(value_range) for code, value_range in zip(type_codes, value_ranges)},
        "types": {
            code: base64.b64encode(png_bytes(overlay_heatmap(picture, maps[..., index], value_range), code))
            .decode("ascii")
            for index, (code, value_range) in enumerate(zip(type_codes, value_ranges))
        },
    }


def _by_type(source, values):
    """``values`` as a dict from the model's type codes, or None."""
    return None if values is None else dict(zip(source.type_codes, values))


def _milliseconds(seconds):
    return round(1000 * seconds, 2)
