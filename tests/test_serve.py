"""`mtfcdd serve`: the endpoint, bad input, the page in a real browser, LiteRT without Keras.

One server (built by the verb's own code, a small Keras model, the `tiny`
set's pcb folder offered) runs in a thread for the whole module. The page
test drives the system's Chromium through Selenium and chromedriver; without
them it skips, saying why, except where ``MTFCDD_REQUIRE_BROWSER=1`` (CI):
there a missing browser fails.

``MTFCDD_SERVE_SCREENSHOT=docs/images/serve_page.png`` makes the page test
write its screenshot there, and ``MTFCDD_SERVE_MODEL=PATH.keras`` serves a
trained model instead of the small random one (docs/deployment.md).
"""

import base64
import builtins
import http.client
import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading

import cv2
import numpy as np
import pytest
from conftest import blocking_imports
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

import mtfcdd
from mtfcdd.cli import build_parser, main
from mtfcdd.cli.serve import build_server
from mtfcdd.inference.heatmap_model import heatmap_model
from mtfcdd.inference.postprocessing import most_likely_types, upsample_heatmaps
from mtfcdd.prediction.predict_images import predict_arrays
from mtfcdd.serve.server import create_app
from mtfcdd.serve.uploads import UploadError, decode_upload, image_header
from mtfcdd.utils.image_files import image_paths
from mtfcdd.utils.image_files import read_rgb_image
from mtfcdd.visualization.panels import overlay_heatmap

pytestmark = [pytest.mark.xdist_group("serve")]

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIDE = 75
MAX_UPLOAD_MB = 1
MAX_MEGAPIXELS = 0.25
BLOCKED_PACKAGES = ("keras", "tensorflow", "tf_keras", "jax")
BROWSER_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,900",
)
# Significant digits of the numbers the page shows (page.js, DIGITS).
PAGE_DIGITS = 4


@pytest.fixture(scope="module")
def test_samples(tiny_dataset):
    samples = mtfcdd.load_realiad(tiny_dataset, alpha=0.1).test
    defective = [sample for sample in samples if sample.mask_path is not None]
    normal = [sample for sample in samples if sample.anomaly_class == "OK"]
    return {"defective": defective[0].image_path, "normal": normal[0].image_path,
            "others": [sample.image_path for sample in defective[1:4] + normal[1:4]]}


@pytest.fixture(scope="module")
def model_path(tmp_path_factory, test_samples):
    """MTFCDD_SERVE_MODEL, or a small random model with thresholds at the median score of 8 images."""
    if os.environ.get("MTFCDD_SERVE_MODEL"):
        return os.environ["MTFCDD_SERVE_MODEL"]
    import keras

    keras.utils.set_random_seed(0)
    model = mtfcdd.build_model(8, SIDE, backbone_weights=None)
    paths = [test_samples["defective"], test_samples["normal"], *test_samples["others"]]
    scores = predict_arrays(model, [read_rgb_image(path) for path in paths]).scores
    model.thresholds = tuple(float(value) for value in np.median(scores, axis=0))
    path = str(tmp_path_factory.mktemp("serve_model") / "model.keras")
    model.save(path)
    return path


@pytest.fixture(scope="module")
def images_dir(tiny_dataset):
    return os.path.join(tiny_dataset, "realiad_128", "pcb")


@pytest.fixture(scope="module")
def server(model_path, images_dir):
    """`mtfcdd serve MODEL --port 0 --images DIR` with small limits, in a thread."""
    arguments = build_parser().parse_args([
        "serve", model_path, "--port", "0", "--images", images_dir,
        "--max-upload-mb", str(MAX_UPLOAD_MB), "--max-megapixels", str(MAX_MEGAPIXELS),
    ])
    http_server, model, _ = build_server(arguments)
    thread = threading.Thread(target=http_server.serve_forever, daemon=True)
    thread.start()
    yield {"port": http_server.server_port, "model": model}
    http_server.shutdown()
    http_server.server_close()


def _request(server, method, path, body=None, headers=None):
    """(status, JSON answer) of a request to the module's server."""
    connection = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _post_file(server, path, query=""):
    with open(path, "rb") as file:
        return _request(server, "POST", f"/predict{query}", file.read(), {"Content-Type": "image/jpeg"})


def _encoded(image_rgb, extension, parameters=()):
    encoded, data = cv2.imencode(extension, cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR), list(parameters))
    assert encoded
    return data.tobytes()


def _gradient(height, width):
    """A smooth image: small as a JPEG or PNG however large it is."""
    rows = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    columns = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    return np.stack([rows + 0 * columns, 0 * rows + columns, (rows + columns) / 2], axis=-1).astype(np.uint8)


def _missing(what):
    """Skips the test for want of a system tool; fails where CI sets MTFCDD_REQUIRE_BROWSER=1."""
    message = f"this test needs {what}; .ci/run installs it"
    if os.environ.get("MTFCDD_REQUIRE_BROWSER") == "1":
        pytest.fail(f"MTFCDD_REQUIRE_BROWSER=1 but {message}")
    pytest.skip(message)


def _claiming_size(jpeg, height, width):
    """A JPEG whose frame header claims another size: the server must refuse it unread."""
    frame = jpeg.index(b"\xff\xc0")  # OpenCV writes baseline JPEGs
    return jpeg[:frame + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + jpeg[frame + 9:]


# --- Uploads: headers and decoding, without a server ---------------------------


def test_upload_sizes_come_from_the_header_and_pixels_match_predict(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (123, 457, 3), dtype=np.uint8)
    for extension, parameters, image_format in (
        (".jpg", (), "jpeg"), (".jpg", (cv2.IMWRITE_JPEG_PROGRESSIVE, 1), "jpeg"),
        (".png", (), "png"), (".bmp", (), "bmp"),
    ):
        data = _encoded(image, extension, parameters)
        assert image_header(data) == (image_format, 123, 457)
        path = tmp_path / f"image{extension}"
        path.write_bytes(data)
        decoded = decode_upload(data, max_pixels=123 * 457)
        # The pixels `mtfcdd predict` reads from the same file.
        np.testing.assert_array_equal(decoded.image, read_rgb_image(path))
        assert (decoded.format, decoded.size, decoded.reduction) == (image_format, (123, 457), 1)
        with pytest.raises(UploadError, match="damaged or cut short") as error:
            image_header(data[:20])
        assert error.value.status == 422
    # A top-down BMP stores a negative height.
    bmp = bytearray(_encoded(image, ".bmp"))
    bmp[22:26] = (-123).to_bytes(4, "little", signed=True)
    assert image_header(bytes(bmp)) == ("bmp", 123, 457)


def test_large_jpeg_decodes_reduced_and_other_uploads_are_refused():
    jpeg = _encoded(_gradient(800, 600), ".jpg")
    # 480,000 pixels; 1/2 gives 120,000, 1/4 gives 30,000.
    for max_pixels, reduction in ((480_000, 1), (479_999, 2), (120_000, 2), (119_999, 4), (7_500, 8)):
        decoded = decode_upload(jpeg, max_pixels)
        assert decoded.reduction == reduction
        assert decoded.image.shape == (800 // reduction, 600 // reduction, 3)
    with pytest.raises(UploadError, match="over this server's limit of 7,499 even at 1/8") as error:
        decode_upload(jpeg, 7_499)
    assert error.value.status == 413
    with pytest.raises(UploadError, match="a JPEG is decoded at a reduced size") as error:
        decode_upload(_encoded(_gradient(800, 600), ".png"), 479_999)
    assert error.value.status == 413
    for data, status, message in (
        (b"", 400, "empty"),
        (b"%PDF-1.7 not an image", 415, "not a JPEG, PNG or BMP image .* 25 50 44 46"),
        (jpeg[:600], 422, "damaged or truncated"),
    ):
        with pytest.raises(UploadError, match=message) as error:
            decode_upload(data, 480_000)
        assert error.value.status == status


def test_most_likely_type_is_the_largest_multiple_of_its_threshold():
    scores = np.array([[0.2, 0.9, 0.5], [0.0, 0.0, 0.3]], np.float32)
    assert most_likely_types(scores, None, ("A", "B", "C")) == ["B", "C"]
    # 0.2 / 0.1 = 2 beats 0.9 / 0.6 = 1.5 and 0.5 / 0.4 = 1.25.
    assert most_likely_types(scores, (0.1, 0.6, 0.4), ("A", "B", "C")) == ["A", "C"]
    # A zero threshold ranks its type first wherever it scores above 0.
    assert most_likely_types(scores, (0.1, 0.0, 0.4), ("A", "B", "C")) == ["B", "C"]
    with pytest.raises(ValueError, match="thresholds must hold 3 values"):
        most_likely_types(scores, (0.1, 0.6), ("A", "B", "C"))


# --- The endpoint ---------------------------------------------------------------


@pytest.mark.slow
def test_endpoint_answers_what_predict_says(server, test_samples, model_path, images_dir):
    model = server["model"]
    path = test_samples["defective"]
    expected = mtfcdd.predict(model, [path]).predictions[0]
    status, answer = _post_file(server, path, "?heatmaps=array&name=part.jpg")
    assert status == 200, answer
    assert answer["scores"] == expected.scores
    assert answer["detected_types"] == list(expected.detected_types)
    assert answer["thresholds"] == dict(zip(model.type_codes, model.thresholds))
    assert answer["verdict"] == (" ".join(expected.detected_types) or "normal")
    assert answer["image"] == {"name": "part.jpg", "source": "upload", "format": "jpeg",
                               "size": [128, 128], "decoded_size": [128, 128]}
    # The heatmaps A_k on the model's grid, as the model computes them.
    heatmaps = predict_arrays(model, [read_rgb_image(path)]).heatmaps[0]
    arrays = answer["heatmaps"]
    assert arrays["size"] == list(heatmaps.shape[:2])
    for index, code in enumerate(model.type_codes):
        np.testing.assert_array_equal(np.array(arrays["types"][code], np.float32), heatmaps[..., index])
        # Eq. 2: the score is the mean of the map.
        assert np.mean(arrays["types"][code]) == pytest.approx(answer["scores"][code], rel=1e-5)

    image = read_rgb_image(path)
    largest = float(upsample_heatmaps(heatmaps[np.newaxis], (128, 128)).max())
    for query, scale in (("?heatmaps=png", "threshold"), ("?heatmaps=png&scale=image", "image")):
        status, pictures = _post_file(server, path, query)
        assert status == 200
        pictures = pictures["heatmaps"]
        assert pictures["size"] == [128, 128] and pictures["scale"] == scale
        for index, (code, threshold) in enumerate(zip(model.type_codes, model.thresholds)):
            # By default each type's threshold sits mid-scale; per image, one scale up to the largest value.
            expected_range = [0.0, 2 * threshold] if scale == "threshold" else [0.0, largest]
            assert pictures["value_ranges"][code] == pytest.approx(expected_range, rel=1e-6)
            png = np.frombuffer(base64.b64decode(pictures["types"][code]), np.uint8)
            picture = cv2.cvtColor(cv2.imdecode(png, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            # The grid map, drawn over the image by the package's own overlay.
            np.testing.assert_array_equal(
                picture, overlay_heatmap(image, heatmaps[..., index], tuple(pictures["value_ranges"][code]))
            )
    status, answer = _post_file(server, path, "?heatmaps=png&scale=rainbow")
    assert status == 400 and "scale='rainbow' is not one of threshold, image" in answer["error"]

    status, facts = _request(server, "GET", "/model")
    assert status == 200
    assert facts["file"] == os.path.basename(model_path)
    assert facts["file_size_bytes"] == os.path.getsize(model_path)
    assert facts["runtime"] == "Keras"
    assert facts["type_codes"] == list(model.type_codes)
    assert facts["type_names"]["HS"] == "Scratch"
    assert facts["image_size"] == list(model.image_size)
    assert facts["weights_source"] == model.weights_source
    assert facts["limits"] == {"max_upload_bytes": MAX_UPLOAD_MB * 10**6,
                               "max_pixels": int(MAX_MEGAPIXELS * 10**6)}
    status, listing = _request(server, "GET", "/images")
    assert listing["images"] == [
        os.path.relpath(found, images_dir) for found in image_paths(images_dir)
    ]
    name = listing["images"][0]
    status, folder_answer = _request(server, "POST", f"/predict?image={name}")
    assert status == 200
    assert folder_answer["image"]["source"] == "folder"
    expected_folder = mtfcdd.predict(model, [os.path.join(images_dir, name)]).predictions[0]
    assert folder_answer["scores"] == expected_folder.scores
    status, health = _request(server, "GET", "/health")
    assert status == 200 and health["status"] == "ok" and health["predictions"] >= 3


@pytest.mark.slow
def test_bad_requests_get_4xx_json_and_the_server_keeps_serving(server, test_samples):
    with open(test_samples["normal"], "rb") as file:
        good = file.read()
    jpeg, png = "image/jpeg", "image/png"
    bad_requests = (
        ("empty body", "/predict", b"", jpeg, 400, "empty"),
        ("text, not an image", "/predict", b"hello, world", jpeg, 415, "not a JPEG, PNG or BMP"),
        ("wrong content type", "/predict", good, "application/json", 415, "Content-Type 'application/json'"),
        ("no content type", "/predict", good, None, 415, "Content-Type"),
        ("truncated JPEG", "/predict", good[:len(good) // 3], jpeg, 422, "damaged or truncated"),
        ("over the byte limit", "/predict", b"\xff\xd8\xff" + bytes(MAX_UPLOAD_MB * 10**6), jpeg, 413,
         "over this server's limit of 1,000,000 bytes"),
        ("PNG over the pixel limit", "/predict", _encoded(_gradient(600, 500), ".png"), png, 413,
         "600 = 300,000 pixels"),
        ("JPEG over 64 times the pixel limit", "/predict", _claiming_size(good, 4100, 4000), jpeg,
         413, "4000x4100 = 16,400,000 pixels, over this server's limit of 250,000 even at 1/8"),
        ("unknown heatmap format", "/predict?heatmaps=gif", good, jpeg, 400, "heatmaps='gif'"),
        ("image not in the folder", "/predict?image=../../etc/passwd", b"", None, 404,
         "not one of the server's images"),
        ("GET on predict", "/predict", None, None, 405, "Method Not Allowed"),
    )
    _, before = _request(server, "GET", "/health")
    for what, path, body, content_type, status, message in bad_requests:
        headers = {} if content_type is None else {"Content-Type": content_type}
        answer_status, answer = _request(server, "GET" if body is None else "POST", path, body, headers)
        assert answer_status == status, (what, answer)
        assert re.search(message, answer["error"]), (what, answer)
        status_after, good_answer = _request(server, "POST", "/predict", good, {"Content-Type": jpeg})
        assert status_after == 200, f"after {what}: {good_answer}"
    _, after = _request(server, "GET", "/health")
    assert after["errors"] - before["errors"] == len(bad_requests)
    assert after["predictions"] - before["predictions"] == len(bad_requests)


@pytest.mark.slow
def test_large_jpeg_is_decoded_reduced_and_says_so(server):
    model = server["model"]
    image = _gradient(800, 600)
    status, answer = _request(
        server, "POST", "/predict", _encoded(image, ".jpg"), {"Content-Type": "image/jpeg"}
    )
    assert status == 200, answer
    assert answer["image"]["size"] == [800, 600]
    assert answer["image"]["decoded_size"] == [400, 300]
    assert answer["notes"] == [
        "decoded at 1/2 of its size: 600x800 pixels is over this server's limit of 250,000."
    ]
    reduced = cv2.imdecode(np.frombuffer(_encoded(image, ".jpg"), np.uint8), cv2.IMREAD_REDUCED_COLOR_2)
    expected = predict_arrays(model, [cv2.cvtColor(reduced, cv2.COLOR_BGR2RGB)]).scores[0]
    assert answer["scores"] == dict(zip(model.type_codes, expected.tolist()))


def files_opened_for_writing(monkeypatch):
    """Records the files this process opens for writing, through Python or os.open."""
    opened = []
    real_open, real_os_open = builtins.open, os.open

    def spy_open(file, mode="r", *arguments, **keywords):
        if any(letter in mode for letter in "wax+"):
            opened.append(file)
        return real_open(file, mode, *arguments, **keywords)

    def spy_os_open(path, flags, *arguments, **keywords):
        if flags & (os.O_WRONLY | os.O_RDWR):
            opened.append(path)
        return real_os_open(path, flags, *arguments, **keywords)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    return opened


@pytest.mark.slow
def test_uploads_stay_in_memory_unless_save_is_given(server, images_dir, tmp_path, monkeypatch):
    # Noise: a PNG over 500 KB, which Werkzeug would spool to a temporary file.
    noise = np.random.default_rng(1).integers(0, 256, (480, 480, 3), dtype=np.uint8)
    data = _encoded(noise, ".png")
    assert 500_000 < len(data) < MAX_UPLOAD_MB * 10**6
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(data), "noise.png", content_type="image/png")}
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    folder_before = sorted(os.walk(images_dir))
    with monkeypatch.context() as patch:
        opened = files_opened_for_writing(patch)
        status, answer = _request(server, "POST", "/predict", body, headers)
    assert status == 200, answer
    assert answer["image"]["name"] == "noise.png"
    assert opened == []
    assert sorted(os.walk(images_dir)) == folder_before

    save_dir = tmp_path / "saved"
    client = create_app(server["model"], save_dir=str(save_dir)).test_client()
    response = client.post("/predict", data={"file": (io.BytesIO(data), "../noise part.png")})
    assert response.status_code == 200, response.json
    saved = sorted(os.listdir(save_dir))
    assert len(saved) == 2 and saved[0].endswith("_noise_part.json") and saved[1].endswith("_noise_part.png")
    assert (save_dir / saved[1]).read_bytes() == data
    with open(save_dir / saved[0], encoding="utf-8") as file:
        assert json.load(file)["scores"] == response.json["scores"]


@pytest.mark.slow
def test_the_curl_example_of_the_docs_answers_what_predict_says(server, test_samples):
    if shutil.which("curl") is None:
        _missing("curl (Debian package curl)")
    with open(os.path.join(REPOSITORY, "docs", "deployment.md"), encoding="utf-8") as file:
        page = file.read()
    block = re.search(r"```bash\n(curl [^\n]*/predict[^\n]*)\n", page)
    assert block, "docs/deployment.md shows a `curl ... /predict` example"
    command = shlex.split(block.group(1))
    command = [
        word.replace("127.0.0.1:8080", f"127.0.0.1:{server['port']}") for word in command
    ]
    command = [re.sub(r"=@\S+", f"=@{test_samples['defective']}", word) for word in command]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout)
    expected = mtfcdd.predict(server["model"], [test_samples["defective"]]).predictions[0]
    assert answer["scores"] == expected.scores
    assert answer["image"]["name"] == os.path.basename(test_samples["defective"])


# --- The page, in Chromium ------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("the selenium package (pip install -e \".[test]\")")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        _missing("Chromium and chromedriver (Debian packages chromium and chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in BROWSER_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium_profile')}")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


@pytest.mark.slow
@pytest.mark.browser
def test_page_shows_per_type_heatmaps_and_the_scores_of_predict(server, browser, test_samples, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    model = server["model"]
    not_an_image = tmp_path / "notes.txt"
    not_an_image.write_text("not an image")
    # Newest first on the page: the defective image on top, the refusal last.
    uploads = [str(not_an_image), test_samples["normal"], test_samples["defective"]]
    browser.get(f"http://127.0.0.1:{server['port']}/")
    wait = WebDriverWait(browser, 60)
    wait.until(lambda driver: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
    # Offline: everything the page loads comes from the server.
    origin = f"http://127.0.0.1:{server['port']}/"
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(entry => entry.name)")
    assert {"static/page.js", "static/page.css", "model"} <= {url[len(origin):] for url in loaded}
    assert all(url.startswith(origin) for url in loaded), loaded
    facts = browser.find_element(By.ID, "model-facts").text
    height, width = model.image_size
    assert "Keras" in facts and f"{height} x {width} pixels" in facts and "HS Scratch" in facts
    browser.find_element(By.ID, "file-input").send_keys("\n".join(os.path.abspath(path) for path in uploads))
    wait.until(lambda driver: driver.find_element(By.ID, "status").text.startswith("Done: 3 images"))
    *result_cards, error_card = browser.find_elements(By.CSS_SELECTOR, "#results .result")
    assert error_card.find_element(By.CLASS_NAME, "message").text.startswith(
        "Refused (415): the upload is not a JPEG, PNG or BMP image"
    )
    screenshot = os.environ.get("MTFCDD_SERVE_SCREENSHOT")
    if screenshot:
        # The whole page: the window's height is the page's plus the window's own frame.
        height = browser.execute_script(
            "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight"
        )
        browser.set_window_size(1280, height)
        browser.save_screenshot(screenshot)
    expected = mtfcdd.predict(model, uploads[1:]).predictions
    for card, prediction in zip(result_cards, reversed(expected)):
        assert card.find_element(By.CLASS_NAME, "name").text == os.path.basename(prediction.path)
        verdict = card.find_element(By.CLASS_NAME, "verdict").text
        if prediction.detected_types:
            assert verdict == "detected: " + " ".join(prediction.detected_types)
        else:
            assert verdict == "normal: no type reaches its threshold"
        tiles = card.find_elements(By.CLASS_NAME, "type-tile")
        assert [tile.get_attribute("data-type") for tile in tiles] == list(model.type_codes)
        for tile, code, threshold in zip(tiles, model.type_codes, model.thresholds):
            _assert_shown(tile.find_element(By.CLASS_NAME, "score").text, prediction.scores[code])
            _assert_shown(tile.find_element(By.CLASS_NAME, "threshold").text, threshold)
            assert ("detected" in tile.get_attribute("class").split()) == (code in prediction.detected_types)
            picture = tile.find_element(By.TAG_NAME, "img")
            assert browser.execute_script("return arguments[0].naturalWidth", picture) == 128
        likely = most_likely_types(
            np.array([[prediction.scores[code] for code in model.type_codes]]),
            model.thresholds, model.type_codes,
        )[0]
        assert card.find_element(By.CSS_SELECTOR, ".type-tile.shown").get_attribute("data-type") == likely
        main = card.find_element(By.CLASS_NAME, "main-picture")
        assert main.get_attribute("src") == tiles[model.type_codes.index(likely)].find_element(
            By.TAG_NAME, "img").get_attribute("src")
    # Another type's tile, clicked, becomes the large picture.
    tile = result_cards[0].find_elements(By.CLASS_NAME, "type-tile")[0]
    tile.click()
    assert "shown" in tile.get_attribute("class").split()
    assert result_cards[0].find_element(By.CLASS_NAME, "main-picture").get_attribute("src") == (
        tile.find_element(By.TAG_NAME, "img").get_attribute("src")
    )


def _assert_shown(text, value):
    """``text`` is ``value`` to the page's printed precision."""
    assert float(text) == pytest.approx(value, rel=0.5 * 10 ** (1 - PAGE_DIGITS)), (text, value)
    assert len(re.sub(r"e.*|^0\.0*|\.", "", text)) == PAGE_DIGITS, text


# (the page's width, the view's, the elements that reach past the view).
_WIDER_THAN_THE_VIEW = """
const view = document.documentElement.clientWidth;
const wide = [...document.querySelectorAll("body *")].filter((element) => element.getBoundingClientRect().right > view);
return [document.documentElement.scrollWidth, view, wide.map((element) => element.tagName + "." + element.className + " " + Math.round(element.getBoundingClientRect().left) + "-" + Math.round(element.getBoundingClientRect().right))];
"""


@pytest.mark.slow
@pytest.mark.browser
def test_page_colours_against_the_thresholds_and_fits_a_phone(server, browser, test_samples):
    """The default scale: a map at its threshold is mid-scale; at 420 pixels wide
    nothing scrolls sideways and every tile is whole."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    screenshots = os.environ.get("MTFCDD_SERVE_SCREENSHOT")
    for width, scale in ((1280, "threshold"), (420, "threshold"), (420, "image")):
        browser.set_window_size(width, 900)
        browser.get(f"http://127.0.0.1:{server['port']}/")
        wait = WebDriverWait(browser, 60)
        wait.until(lambda driver: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
        assert Select(browser.find_element(By.ID, "colour-scale")).first_selected_option.get_attribute("value") == (
            "threshold"
        )
        Select(browser.find_element(By.ID, "colour-scale")).select_by_value(scale)
        browser.find_element(By.ID, "file-input").send_keys(os.path.abspath(test_samples["normal"]))
        wait.until(lambda driver: driver.find_element(By.ID, "status").text.startswith("Done: 1 image"))
        card = browser.find_element(By.CSS_SELECTOR, "#results .result")
        assert card.get_attribute("data-scale") == scale
        shown = card.find_element(By.CSS_SELECTOR, ".type-tile.shown").get_attribute("data-type")
        threshold = server["model"].thresholds[server["model"].type_codes.index(shown)]
        legend = card.find_element(By.CLASS_NAME, "legend").text
        if scale == "threshold":
            _assert_shown(card.find_element(By.CSS_SELECTOR, ".colour-scale .high").text, 2 * threshold)
            assert legend.startswith(f"Against {shown}'s threshold t = ") and "(normal)" in legend and "(defect)" in legend
        else:
            assert legend.startswith("One scale for all types of this image")
        page_width, view_width, too_wide = browser.execute_script(_WIDER_THAN_THE_VIEW)
        assert page_width <= view_width, (width, page_width, view_width, too_wide)
        for tile in card.find_elements(By.CLASS_NAME, "type-tile"):
            left, right = browser.execute_script(
                "const box = arguments[0].getBoundingClientRect(); return [box.left, box.right]", tile
            )
            assert 0 <= left and right <= view_width, (width, left, right)
        if screenshots and scale == "threshold":
            # The whole page at this width: the window as tall as the page.
            height = browser.execute_script(
                "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight"
            )
            browser.set_window_size(width, height)
            stem, extension = os.path.splitext(screenshots)
            browser.save_screenshot(f"{stem}_{width}px{extension}")
    browser.set_window_size(1280, 900)


@pytest.mark.slow
@pytest.mark.browser
def test_page_predicts_a_folder_image_and_refuses_a_large_file(server, browser, images_dir, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(f"http://127.0.0.1:{server['port']}/")
    wait = WebDriverWait(browser, 60)
    wait.until(lambda driver: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
    select = Select(browser.find_element(By.ID, "folder-images"))
    assert [option.text for option in select.options] == [
        os.path.relpath(found, images_dir) for found in image_paths(images_dir)
    ]
    name = select.options[2].text
    select.select_by_visible_text(name)
    browser.find_element(By.ID, "folder-predict").click()
    wait.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#results .result"))
    card = browser.find_element(By.CSS_SELECTOR, "#results .result")
    assert card.find_element(By.CLASS_NAME, "name").text == name
    expected = mtfcdd.predict(server["model"], [os.path.join(images_dir, name)]).predictions[0]
    for code in server["model"].type_codes:
        _assert_shown(card.find_element(By.CSS_SELECTOR, f'[data-type="{code}"] .score').text,
                      expected.scores[code])

    large = tmp_path / "large.jpg"
    large.write_bytes(b"\xff\xd8\xff" + bytes(MAX_UPLOAD_MB * 10**6))
    browser.find_element(By.ID, "file-input").send_keys(str(large))
    wait.until(lambda driver: driver.find_element(By.ID, "status").text.startswith("Done: 1 image"))
    refusal = browser.find_element(By.CSS_SELECTOR, "#results .result.error .message").text
    assert refusal == "Refused: 1,000,003 bytes is over this server's limit of 1,000,000 bytes per upload."


# --- The verb, and LiteRT without Keras ----------------------------------------


@pytest.mark.slow
def test_serve_needs_one_model_and_an_existing_folder(server, tmp_path, capsys):
    assert main(["serve"]) == 1
    assert main(["serve", "model.keras", "--tflite", "model.tflite"]) == 1
    assert "Give the model: a .keras file, --tflite FILE, --onnx FILE or --openvino FILE (one of them)." in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="missing: images folder not found"):
        create_app(server["model"], images_dir=str(tmp_path / "missing"))


def _stand_in_litert_file(path, type_codes, thresholds):
    """A small .tflite file with the interface of an exported model, and its sidecar.

    Average pooling and a 1x1 convolution to K channels stand in for the
    network: converting a MultiTypeFCDD takes half a minute, and what is
    tested here is the server around any LiteRT file.
    """
    import tensorflow as tf

    from mtfcdd.deploy.sidecar import MODEL_OUTPUT, SCHEMA_VERSION, write_sidecar

    kernel = tf.constant(np.random.default_rng(0).normal(size=(1, 1, 3, len(type_codes))) / 255, tf.float32)

    @tf.function(input_signature=[tf.TensorSpec((1, SIDE, SIDE, 3), tf.float32)])
    def type_projection(images):
        return tf.nn.conv2d(tf.nn.avg_pool2d(images, 8, 8, "VALID"), kernel, 1, "VALID")

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [type_projection.get_concrete_function()], type_projection
    )
    with open(path, "wb") as file:
        file.write(converter.convert())
    write_sidecar(path, {
        "schema_version": SCHEMA_VERSION, "mtfcdd_version": mtfcdd.__version__, "output": MODEL_OUTPUT,
        "type_codes": list(type_codes), "image_size": [SIDE, SIDE], "score_reduction": "mean",
        "thresholds": list(thresholds), "quantization": "none", "num_calibration_images": None,
        "weights_source": "stand-in",
    })
    return path


def test_serve_tflite_runs_with_keras_and_tensorflow_blocked(tmp_path, test_samples):
    from mtfcdd.deploy.runner import LiteRTModel
    from mtfcdd.constants import DEFECT_CODES

    path = _stand_in_litert_file(str(tmp_path / "model.tflite"), DEFECT_CODES, [1e-3] * 8)
    script = blocking_imports(BLOCKED_PACKAGES) + """
import sys
from mtfcdd.cli import main
assert "flask" not in sys.modules, "the CLI imports Flask before the verb runs"
sys.exit(main(["serve", "--tflite", sys.argv[1], "--port", "0"]))
"""
    process = subprocess.Popen(
        [sys.executable, "-c", script, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first_line = process.stdout.readline()
        started = re.search(r"Serving model\.tflite at http://127\.0\.0\.1:(\d+)/", first_line)
        assert started, first_line + process.stderr.read()
        status, answer = _post_file({"port": int(started.group(1))}, test_samples["defective"])
        assert status == 200, answer
        _, facts = _request({"port": int(started.group(1))}, "GET", "/model")
    finally:
        process.send_signal(signal.SIGINT)
        output, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert "Stopped." in output
    expected = mtfcdd.predict(heatmap_model(LiteRTModel(path)), [test_samples["defective"]]).predictions[0]
    assert answer["scores"] == expected.scores
    assert answer["detected_types"] == list(expected.detected_types)
    assert facts["runtime"] == "LiteRT"
    assert (facts["quantization"], facts["weights_source"]) == ("none", "stand-in")
    assert facts["file_size_bytes"] == os.path.getsize(path)
