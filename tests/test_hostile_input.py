"""Hostile and damaged input, second round: each test is named for what it checks.

Every test here failed before its fix. Files are made by hand (a header
patched, bytes damaged) so that each test knows exactly what is wrong.
"""

import json
import os
import shutil
import struct

import cv2
import numpy as np
import pytest

from mtfcdd.cli import main
from mtfcdd.data.sample import Sample
from mtfcdd.utils.image_bytes import ImageFileError, decode_image
from mtfcdd.utils.image_files import image_and_mask_problems

pytestmark = [pytest.mark.xdist_group("hostile_input")]

SIDE = 64


def error_line(capsys):
    """Standard error of a failed command: exactly one line, returned."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    return lines[0]


def jpeg_bytes(height=SIDE, width=SIDE, progressive=False):
    """A textured JPEG (noise, so that its entropy data is long)."""
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    encoded, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive)])
    assert encoded
    return data.tobytes()


def with_header_size(data, height, width):
    """A JPEG whose start-of-frame says ``height`` x ``width``: only the size field patched."""
    frame = next(
        position for position in range(2, len(data) - 1)
        if data[position] == 0xFF and data[position + 1] in (0xC0, 0xC1, 0xC2)
    )
    return data[:frame + 5] + struct.pack(">HH", height, width) + data[frame + 9:]


# --- 1, 4: decompression bombs --------------------------------------------------------


def test_a_progressive_jpeg_over_the_limit_is_refused_by_its_header_before_decoding():
    # libjpeg keeps every coefficient of a progressive image, whatever the
    # reduction: a 512x512 header with a limit of 64x64 would have been
    # "decoded at 1/8" through a full-size buffer.
    bomb = with_header_size(jpeg_bytes(progressive=True), 512, 512)
    with pytest.raises(ImageFileError, match="progressive") as raised:
        decode_image(bomb, max_pixels=SIDE * SIDE)
    assert raised.value.reason == "too_large"
    # The same size as a baseline JPEG still decodes reduced.
    baseline = cv2.imencode(".jpg", np.zeros((512, 512, 3), np.uint8))[1].tobytes()
    assert decode_image(baseline, max_pixels=SIDE * SIDE).reduction == 8


def test_verify_lists_a_huge_image_as_too_large_with_the_limit(tmp_path):
    path = tmp_path / "huge.jpg"
    path.write_bytes(with_header_size(jpeg_bytes(), 40000, 40000))
    for decode in (True, False):
        (problem,) = image_and_mask_problems(str(path), decode=decode)
        assert "too large" in problem and "25,000,000" in problem and str(path) in problem, problem


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """An untrained 75x75 model with thresholds."""
    import mtfcdd

    model = mtfcdd.build_model(8, 75, backbone_weights=None)
    model.thresholds = (0.5,) * 8
    path = tmp_path_factory.mktemp("model") / "model.keras"
    model.save(path)
    return str(path)


@pytest.fixture(scope="module")
def app(model_file):
    import keras

    from mtfcdd.serve.server import create_app

    return create_app(keras.saving.load_model(model_file))


@pytest.mark.slow
def test_the_40000_pixel_bomb_is_refused_by_predict_and_the_server(app, model_file, tmp_path, capsys):
    bomb = with_header_size(jpeg_bytes(progressive=True), 40000, 40000)
    assert len(bomb) < 16_000
    answer = app.test_client().post("/predict", data=bomb, content_type="image/jpeg")
    assert answer.status_code == 413 and "40000x40000" in answer.json["error"], answer.json
    (tmp_path / "bomb.jpg").write_bytes(bomb)
    # No image could be predicted: exit 1.
    assert main(["predict", model_file, str(tmp_path / "bomb.jpg"), "--out", str(tmp_path / "out")]) == 1
    assert "bomb.jpg is a progressive JPEG image of 40000x40000" in capsys.readouterr().err


@pytest.mark.slow
def test_the_server_decodes_at_most_two_uploads_at_once(app, monkeypatch):
    import threading

    from mtfcdd.serve import server

    # Three decodes at once would pass the barrier; with two slots it is
    # never reached by three, breaks, and every request goes on.
    barrier = threading.Barrier(3, timeout=2)
    lock, active, peak = threading.Lock(), [0], [0]
    real_decode = server.decode_upload

    def counting_decode(data, max_pixels):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        with lock:
            active[0] -= 1
        return real_decode(data, max_pixels)

    monkeypatch.setattr(server, "decode_upload", counting_decode)
    statuses = []
    requests = [
        threading.Thread(target=lambda: statuses.append(
            app.test_client().post("/predict", data=jpeg_bytes(), content_type="image/jpeg").status_code
        ))
        for _ in range(5)
    ]
    for request in requests:
        request.start()
    for request in requests:
        request.join()
    assert statuses == [200] * 5 and peak[0] == server.DECODE_SLOTS == 2


# --- 10: EXIF orientation -----------------------------------------------------------


def with_exif_orientation(data, orientation):
    """A JPEG with an EXIF block (APP1) saying ``orientation`` right after its start."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    segment = b"Exif\x00\x00" + tiff
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment + data[2:]


def test_every_reader_ignores_exif_orientation_as_tensorflow_does(tmp_path):
    import tensorflow as tf

    from mtfcdd.utils.image_files import read_rgb_image

    # Orientation 6: "rotate 90 degrees to view"; a 128x256 file.
    path = tmp_path / "rotated.jpg"
    path.write_bytes(with_exif_orientation(jpeg_bytes(128, 256), 6))
    opencv = read_rgb_image(str(path))
    tensorflow_size = tf.io.decode_jpeg(path.read_bytes()).shape[:2]
    assert opencv.shape[:2] == tuple(tensorflow_size) == (128, 256)
    plain = cv2.imdecode(np.frombuffer(jpeg_bytes(128, 256), np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(opencv, cv2.cvtColor(plain, cv2.COLOR_BGR2RGB))


# --- 11: corrupt JPEG data ------------------------------------------------------------


def damaged_entropy_data(kind):
    """A 128x128 JPEG whose entropy data is damaged in the middle, its end marker kept."""
    data = jpeg_bytes(128, 128)
    scan = data.rfind(b"\xff\xda")
    start = scan + 2 + struct.unpack(">H", data[scan + 2:scan + 4])[0]
    end = data.rfind(b"\xff\xd9")
    middle = (start + end) // 2
    if kind == "zeroed":
        return data[:middle] + bytes(200) + data[middle + 200:]
    if kind == "cut":
        return data[:middle] + data[end:]
    return data[:middle] + bytes([data[middle] ^ 0x10]) + data[middle + 1:]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["zeroed", "cut", "flipped"])
def test_corrupt_entropy_data_is_damage_for_every_reader(kind, app, tmp_path):
    data = damaged_entropy_data(kind)
    with pytest.raises(ImageFileError, match="Corrupt JPEG data") as raised:
        decode_image(data, max_pixels=25_000_000)
    assert raised.value.reason == "damaged"
    path = tmp_path / "damaged.jpg"
    path.write_bytes(data)
    (problem,) = image_and_mask_problems(str(path))
    assert str(path) in problem and "Corrupt JPEG data" in problem
    answer = app.test_client().post("/predict", data=data, content_type="image/jpeg")
    assert answer.status_code == 422 and "Corrupt JPEG data" in answer.json["error"]
    # The training stream, through the model's preprocessor.
    import tensorflow as tf

    from mtfcdd.data.pipeline import pipeline_error_message, training_dataset

    sample = Sample(str(path), None, "object", "OK", (1,))
    stream = training_dataset([sample], 32, batch_size=1, augmentation=None, balanced=False)
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        next(iter(stream))
    assert pipeline_error_message(error.value).startswith(
        f"{path} is a damaged JPEG file: libjpeg reports \"Corrupt JPEG data"
    )
    # Without the check (a file already read with it), libjpeg's grey fill is decoded.
    assert decode_image(data, max_pixels=25_000_000, check_data=False).image.shape == (128, 128, 3)
    # The undamaged file decodes, and libjpeg's other output is not swallowed.
    assert decode_image(jpeg_bytes(128, 128), max_pixels=25_000_000).image.shape == (128, 128, 3)


# --- 3: evaluation memory -------------------------------------------------------------


def test_the_evaluation_memory_estimate_counts_the_pixel_size():
    from mtfcdd.utils.memory import check_evaluation_batch_fits, evaluation_bytes_per_image

    # Per image: two batches of uint8 RGB inputs, then per pixel of the
    # pixel size the K float32 maps and 18 bytes of work (see the module).
    per_image = evaluation_bytes_per_image((75, 75), (4000, 4000), 8)
    assert per_image == 2 * 3 * 75 * 75 + 4000 * 4000 * (4 * 8 + 18)
    with pytest.raises(ValueError, match=r"batch_size 32 .* 4000x4000 pixel size.* at most 29"):
        check_evaluation_batch_fits((75, 75), (4000, 4000), 8, 32, available=22 * 2**30)
    check_evaluation_batch_fits((75, 75), (4000, 4000), 8, 29, available=22 * 2**30)


@pytest.mark.slow
def test_evaluate_refuses_a_pixel_size_that_cannot_fit_before_reading_images(model_file, tiny_dataset, capsys):
    argv = ["evaluate", model_file, "--data", tiny_dataset, "--alpha", "0.1", "--pixel-size", "100000"]
    assert main(argv) == 1
    line = error_line(capsys)
    assert "100000x100000 pixel size" in line and "GiB" in line, line


# --- 5-7: a resume with another run's checkpoint or data -------------------------------


def train_argv(root, run, *options):
    return ["train", "--data", root, "--out", str(run), "--image-size", "75", "--backbone-weights", "none",
            "--batch-size", "4", "--epochs", "1", "--steps-per-epoch", "1", *options]


@pytest.fixture(scope="module")
def two_runs(tiny_dataset, tmp_path_factory):
    """Two finished one-step runs on the tiny set, with different seeds."""
    folder = tmp_path_factory.mktemp("runs")
    for name, seed in (("first", "0"), ("second", "1")):
        assert main(train_argv(tiny_dataset, folder / name, "--seed", seed)) == 0
    return folder


@pytest.fixture
def run_copy(two_runs, tmp_path):
    return shutil.copytree(two_runs / "first", tmp_path / "run")


def snapshot(folder):
    return {name: (folder / name).read_bytes() for name in os.listdir(folder) if (folder / name).is_file()}


@pytest.mark.slow
def test_resume_refuses_a_checkpoint_that_is_not_a_multitypefcdd(tiny_dataset, run_copy, capsys):
    import keras

    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    other.save(run_copy / "checkpoint.keras")
    before = snapshot(run_copy)
    capsys.readouterr()
    assert main(["train", "--data", tiny_dataset, "--out", str(run_copy), "--resume", "--epochs", "2"]) == 1
    line = error_line(capsys)
    assert "checkpoint.keras" in line and "not a MultiTypeFCDD training checkpoint" in line and "Sequential" in line
    assert snapshot(run_copy) == before


@pytest.mark.slow
def test_resume_refuses_another_runs_checkpoint(tiny_dataset, two_runs, run_copy, capsys):
    first = json.loads((run_copy / "config.json").read_text())["run_id"]
    second = json.loads((two_runs / "second" / "config.json").read_text())["run_id"]
    assert len(first) == 32 and first != second
    shutil.copy(two_runs / "second" / "checkpoint.keras", run_copy / "checkpoint.keras")
    before = snapshot(run_copy)
    capsys.readouterr()
    assert main(["train", "--data", tiny_dataset, "--out", str(run_copy), "--resume", "--epochs", "2"]) == 1
    line = error_line(capsys)
    assert f"belongs to run {second}" in line and f"run {first}" in line, line
    assert snapshot(run_copy) == before


@pytest.mark.slow
def test_resume_refuses_other_data_and_accepts_the_same_data_moved(tiny_dataset, run_copy, tmp_path, capsys):
    moved = shutil.copytree(tiny_dataset, tmp_path / "moved")
    assert main(["train", "--data", str(moved), "--out", str(run_copy), "--resume", "--epochs", "2"]) == 0
    # Another data set: the first training entry of each object left out.
    other = shutil.copytree(tiny_dataset, tmp_path / "other")
    for split_file in (other / "realiad_jsons").glob("*/*.json"):
        split = json.loads(split_file.read_text())
        split["train"] = split["train"][1:]
        split_file.write_text(json.dumps(split))
    before = snapshot(run_copy)
    capsys.readouterr()
    assert main(["train", "--data", str(other), "--out", str(run_copy), "--resume", "--epochs", "3"]) == 1
    line = error_line(capsys)
    assert "other data" in line and str(other) in line and "fingerprint" in line, line
    assert snapshot(run_copy) == before


# --- 13: TF_CONFIG ----------------------------------------------------------------------


@pytest.mark.slow
def test_multi_worker_training_refuses_a_tf_config_without_a_cluster(tiny_dataset, tmp_path):
    import subprocess
    import sys

    environment = {**os.environ, "TF_CONFIG": json.dumps({"task": {"type": "worker", "index": 0}})}
    finished = subprocess.run(
        [sys.executable, "-m", "mtfcdd", *train_argv(tiny_dataset, tmp_path / "run", "--strategy", "multi-worker")],
        env=environment, capture_output=True, text=True, timeout=600,
    )
    assert finished.returncode == 1, finished.stderr[-2000:]
    # TensorFlow's own start-up lines come first.
    line = finished.stderr.strip().splitlines()[-1]
    assert "TF_CONFIG" in line and "cluster" in line and "Traceback" not in finished.stderr, line
    assert not (tmp_path / "run" / "model.keras").exists()


@pytest.mark.parametrize("value, message", [
    ("[]", "a JSON object"),
    ("{not json", "not valid JSON"),
    ('{"cluster": {}, "task": {"type": "worker", "index": 0}}', "no machines"),
    ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}', "index 2"),
    ('{"cluster": {"worker": ["a:1", "b:1"]}}', "task"),
])
def test_a_malformed_tf_config_is_named_with_what_is_wrong(value, message):
    from mtfcdd.training.distribution import check_tf_config

    with pytest.raises(ValueError, match=f"TF_CONFIG.*{message}"):
        check_tf_config(value)
    check_tf_config(None)  # no TF_CONFIG: this machine alone
    check_tf_config('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}')


# --- 9: a model whose own config is broken -----------------------------------------------


def with_model_config(model_file, path, **changes):
    """A copy of a .keras file with ``changes`` made to the model's config."""
    import zipfile

    with zipfile.ZipFile(model_file) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                config["config"].update(changes)
                data = json.dumps(config).encode()
            target.writestr(item, data)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("changes, message", [
    ({"thresholds": [0.5] * 7 + [float("nan")]}, "thresholds must be finite numbers"),
    ({"type_codes": ["AK"] * 8}, "type_codes must be distinct"),
])
def test_a_model_file_with_a_broken_config_is_refused(model_file, tmp_path, capsys, changes, message):
    from mtfcdd.model.saving import load_model_file

    edited = with_model_config(model_file, tmp_path / "edited.keras", **changes)
    with pytest.raises(ValueError, match=message):
        load_model_file(str(edited))
    image = tmp_path / "part.jpg"
    image.write_bytes(jpeg_bytes(75, 75))
    assert main(["predict", str(edited), str(image), "--out", str(tmp_path / "out")]) == 1
    assert message in error_line(capsys)
    assert not (tmp_path / "out" / "predictions.json").exists()


def test_json_files_never_hold_nan(tmp_path):
    from mtfcdd.utils.atomic_files import write_json

    path = tmp_path / "scores.json"
    with pytest.raises(ValueError, match=f"{path}.*NaN"):
        write_json(str(path), {"scores": {"AK": float("nan")}})
    assert os.listdir(tmp_path) == []


# --- 14: smaller ones -------------------------------------------------------------------


@pytest.mark.slow
def test_loading_a_model_whose_config_says_imagenet_fetches_nothing(model_file, tmp_path, monkeypatch):
    import keras

    from mtfcdd.model.saving import load_model_file

    edited = with_model_config(model_file, tmp_path / "edited.keras", backbone_weights="imagenet")

    def no_download(*arguments, **keywords):
        raise AssertionError("loading a model tried to fetch weights")

    monkeypatch.setattr(keras.utils, "get_file", no_download)
    monkeypatch.setattr("keras.src.utils.file_utils.get_file", no_download)
    loaded = load_model_file(str(edited))
    original = keras.saving.load_model(model_file)
    image = np.random.default_rng(0).uniform(0, 255, (1, 75, 75, 3)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(image, verbose=0), original.predict(image, verbose=0))


def test_verify_reports_symbolic_links_that_leave_the_data_root(tiny_dataset, tmp_path):
    from mtfcdd.data.realiad.reader import load_realiad
    from mtfcdd.data.realiad.verify import verify_dataset

    data = shutil.copytree(tiny_dataset, tmp_path / "data")
    image = load_realiad(str(data), alpha=0.1).train[0].image_path
    outside = tmp_path / "outside.jpg"
    shutil.move(image, outside)
    os.symlink(outside, image)
    problems = [problem for problem in verify_dataset(str(data), verbose=0).problems if image in problem]
    assert problems and all("outside the data root" in problem and str(outside) in problem for problem in problems)


def test_an_empty_objects_option_is_refused(tiny_dataset, tmp_path, capsys):
    for value in ("", " , "):
        with pytest.raises(SystemExit) as exited:
            main(train_argv(tiny_dataset, tmp_path / "run", "--objects", value))
        assert exited.value.code == 2
        assert "--objects" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_directory_listed_as_an_image_is_called_a_directory(tmp_path):
    from mtfcdd.utils.image_files import read_image_file

    folder = tmp_path / "part.jpg"
    folder.mkdir()
    (problem,) = image_and_mask_problems(str(folder))
    assert problem == f"{folder}: image is a directory, not an image file."
    with pytest.raises(ValueError, match="is a directory, not an image file"):
        read_image_file(folder)


# --- 2: server connections --------------------------------------------------------------


@pytest.fixture(scope="module")
def live_server(app):
    """The module's app behind make_server on 127.0.0.1, with a 2 s read timeout and 4 workers."""
    import threading

    from mtfcdd.serve.server import make_server

    server = make_server(app, "127.0.0.1", 0, max_connections=4, read_timeout=2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()


def raw_request(port, data, timeout=30):
    """Status line and JSON body of a hand-written HTTP request."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(data)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.mark.slow
def test_half_sent_requests_time_out_and_the_workers_are_capped(live_server):
    import socket

    # Eight half-sent requests against four workers and a 2 s read timeout:
    # each is closed by the server (recv returns b"" or an answer), never
    # held open for ever, and the server still answers afterwards.
    half_open = [socket.create_connection(("127.0.0.1", live_server)) for _ in range(8)]
    for connection in half_open:
        connection.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\npart")
    for connection in half_open:
        connection.settimeout(60)
        connection.recv(65536)  # returns once the server gives up on the request
        connection.close()
    status, answer = raw_request(live_server, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert status == 200 and answer["status"] == "ok"


@pytest.mark.slow
def test_other_hosts_and_cross_origin_writes_are_refused(app, model_file):
    from mtfcdd.serve.server import create_app

    client = app.test_client()
    assert client.get("/model", headers={"Host": "attacker.example:8080"}).status_code == 403
    assert client.get("/model", headers={"Host": "localhost:8080"}).status_code == 200
    assert client.get("/model", headers={"Host": "192.168.1.20:8080"}).status_code == 200
    answer = client.post("/predict", data=jpeg_bytes(), content_type="image/jpeg",
                         headers={"Host": "127.0.0.1:8080", "Origin": "http://attacker.example"})
    assert answer.status_code == 403 and "cross-origin" in answer.json["error"]
    same_origin = client.post("/predict", data=jpeg_bytes(), content_type="image/jpeg",
                              headers={"Host": "127.0.0.1:8080", "Origin": "http://127.0.0.1:8080"})
    assert same_origin.status_code == 200
    import keras

    proxied = create_app(keras.saving.load_model(model_file), allowed_hosts=["parts.example.com"])
    assert proxied.test_client().get("/model", headers={"Host": "parts.example.com"}).status_code == 200


@pytest.mark.slow
def test_a_chunked_upload_over_the_limit_gets_413(live_server, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = jpeg_bytes() + bytes(limit)
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[start:start + 65536]), body[start:start + 65536])
        for start in range(0, len(body), 65536)
    ) + b"0\r\n\r\n"
    request = (b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n") + chunks
    status, answer = raw_request(live_server, request)
    assert status == 413 and "limit" in answer["error"]


@pytest.mark.slow
def test_too_many_form_fields_and_too_long_urls_get_json_with_the_reason(live_server, app):
    from werkzeug.test import encode_multipart

    boundary, body = encode_multipart({f"field{index}": "x" for index in range(1500)})
    answer = app.test_client().post("/predict", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    error = answer.json["error"]
    assert answer.status_code == 413 and "1,000 parts" in error and "upload is over" not in error, error
    status, answer = raw_request(
        live_server, b"GET /model?" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    )
    assert status == 414 and "URL" in answer["error"]


# --- 8: a model file and a sidecar that do not belong together ------------------------------


def sidecar_fields(**changes):
    from mtfcdd import __version__
    from mtfcdd.constants import DEFECT_CODES

    return {
        "schema_version": 3, "mtfcdd_version": __version__, "output": "type_projection", "format": "onnx",
        "type_codes": list(DEFECT_CODES), "image_size": [75, 75], "score_reduction": "mean",
        "thresholds": [0.5] * 8, "quantization": "none", "num_calibration_images": None,
        "weights_source": "None", **changes,
    }


def test_a_sidecar_holds_its_files_fingerprint_and_refuses_another_file_or_an_edit(tmp_path):
    import hashlib

    from mtfcdd.deploy.sidecar import read_sidecar, sidecar_path, write_sidecar

    model = tmp_path / "model.onnx"
    model.write_bytes(b"the first run's model")
    write_sidecar(str(model), sidecar_fields())
    written = json.loads(open(sidecar_path(str(model))).read())
    bound = {field: written[field] for field in
             ("format", "type_codes", "image_size", "score_reduction", "thresholds")}
    expected = hashlib.sha256(b"the first run's model" + json.dumps(bound, sort_keys=True).encode()).hexdigest()
    assert written["fingerprint"] == expected
    assert read_sidecar(str(model)) == {field: value for field, value in written.items() if field != "fingerprint"}
    # A second run's file of the same size beside the first run's sidecar.
    model.write_bytes(b"the other run's model")
    with pytest.raises(ValueError, match="do not belong together.*fingerprint"):
        read_sidecar(str(model))
    model.write_bytes(b"the first run's model")
    for field, value in (("score_reduction", "max"), ("thresholds", [0.6] * 8)):
        with open(sidecar_path(str(model)), "w") as file:
            json.dump({**written, field: value}, file)
        with pytest.raises(ValueError, match="do not belong together"):
            read_sidecar(str(model))
    # A sidecar written before fingerprints existed is still read.
    with open(sidecar_path(str(model)), "w") as file:
        json.dump(sidecar_fields(), file)
    assert read_sidecar(str(model))["score_reduction"] == "mean"


# --- 12: contradicting labels ------------------------------------------------------------


def test_verify_and_train_report_duplicates_contradictions_and_overlap(tiny_dataset, tmp_path, capsys):
    from mtfcdd.data.realiad.verify import verify_dataset

    data = shutil.copytree(tiny_dataset, tmp_path / "data")
    split_file = data / "realiad_jsons" / "realiad_jsons_fuiad_0.1" / "audiojack.json"
    split = json.loads(split_file.read_text())
    normal = next(entry for entry in split["train"] if entry["anomaly_class"] == "OK")
    defective = next(entry for entry in split["test"] if entry["anomaly_class"] != "OK")
    twice = split["train"][-1]
    split["train"].append(dict(twice))  # the same entry twice: a warning
    split["test"].append({**normal, "anomaly_class": defective["anomaly_class"],
                          "mask_path": defective["mask_path"]})  # normal in train, defective in test
    split_file.write_text(json.dumps(split))
    report = verify_dataset(str(data), verbose=0)
    normal_path = str(data / "realiad_128" / "audiojack" / normal["image_path"])
    twice_path = str(data / "realiad_128" / "audiojack" / twice["image_path"])
    contradictions = [problem for problem in report.problems if "contradicting labels" in problem]
    assert len(contradictions) == 1 and normal_path in contradictions[0], report.problems
    assert any(twice_path in warning and "listed 2 times" in warning for warning in report.warnings), report.warnings
    assert "warnings" in report.to_dict() and "contradicting labels" in report.to_text()
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "run"), "--image-size", "75",
                 "--backbone-weights", "none", "--batch-size", "4", "--epochs", "1", "--steps-per-epoch", "1"]) == 1
    line = error_line(capsys)
    assert "contradicting labels" in line and normal_path in line, line
