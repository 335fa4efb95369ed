"""The resized copy of a Real-IAD image folder (`resize_image_root`)."""

import importlib.util
import os

import cv2
import numpy as np
import pytest

from mtfcdd.data.resize_cache import resize_image_root

IMAGE = os.path.join("audiojack", "OK", "S0001", "audiojack_0001_OK_C1_20231021130124.jpg")
DEFECT_IMAGE = os.path.join(
    "audiojack", "NG", "HS", "S0064", "audiojack__0064_NG_HS_C1_20231021150000.jpg"
)
MASK = DEFECT_IMAGE[: -len(".jpg")] + ".png"
SOURCE_SIZE = 64
SIZE = 20


def write(path, image):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, image)


@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "realiad_1024"
    columns = np.arange(SOURCE_SIZE, dtype=np.uint8) * 4
    gradient = np.tile(columns[None, :, None], (SOURCE_SIZE, 1, 3))
    write(str(folder / IMAGE), gradient)
    # Not square: the copy is squashed to the model's square input.
    write(str(folder / DEFECT_IMAGE), gradient[:48])
    mask = np.zeros((48, SOURCE_SIZE), np.uint8)
    mask[:, : SOURCE_SIZE // 2] = 255
    write(str(folder / MASK), mask)
    (folder / "audiojack" / "readme.txt").write_text("not an image")
    return str(folder)


def test_copies_have_the_size_and_layout_and_masks_stay_binary(source, tmp_path):
    destination = str(tmp_path / "realiad_20")
    result = resize_image_root(source, destination, SIZE, workers=2, verbose=0)
    assert (result.written, result.skipped) == (3, 0)
    written = sorted(
        os.path.relpath(os.path.join(folder, name), destination)
        for folder, _, names in os.walk(destination)
        for name in names
    )
    assert written == sorted([IMAGE, DEFECT_IMAGE, MASK])
    image = cv2.imread(os.path.join(destination, DEFECT_IMAGE), cv2.IMREAD_UNCHANGED)
    assert image.shape == (SIZE, SIZE, 3)
    # Area resizing keeps the horizontal gradient: dark left, bright right.
    assert image[:, 0].mean() < 20 and image[:, -1].mean() > 230
    mask = cv2.imread(os.path.join(destination, MASK), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (SIZE, SIZE)
    assert set(np.unique(mask)) == {0, 255}
    assert (mask[:, : SIZE // 2] == 255).all() and (mask[:, SIZE // 2:] == 0).all()


def test_second_run_skips_files_already_written(source, tmp_path):
    destination = str(tmp_path / "realiad_20")
    resize_image_root(source, destination, SIZE, verbose=0)
    marker = np.full((5, 5, 3), 77, np.uint8)
    write(os.path.join(destination, IMAGE), marker)
    os.remove(os.path.join(destination, MASK))

    result = resize_image_root(source, destination, SIZE, verbose=0)

    assert (result.written, result.skipped) == (1, 2)
    assert cv2.imread(os.path.join(destination, IMAGE)).shape == (5, 5, 3)
    mask = cv2.imread(os.path.join(destination, MASK), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (SIZE, SIZE)


def test_leftover_partial_file_of_a_killed_run_is_not_taken_as_done(source, tmp_path):
    destination = str(tmp_path / "realiad_20")
    resize_image_root(source, destination, SIZE, verbose=0)
    final_path = os.path.join(destination, DEFECT_IMAGE)
    os.remove(final_path)
    folder, name = os.path.split(final_path)
    partial_path = os.path.join(folder, f".{name}.partial")
    with open(partial_path, "wb") as file:
        file.write(b"\xff\xd8 half a JPEG")

    result = resize_image_root(source, destination, SIZE, verbose=0)

    assert (result.written, result.skipped) == (1, 2)
    assert cv2.imread(final_path).shape == (SIZE, SIZE, 3)
    assert not os.path.exists(partial_path)


def test_undecodable_source_is_named_after_the_others_are_written(source, tmp_path):
    broken = os.path.join(source, IMAGE)
    with open(broken, "wb") as file:
        file.write(b"not a JPEG")
    destination = str(tmp_path / "realiad_20")
    message = rf"1 source files cannot be read \(damaged, truncated or not an image\): {broken}$"
    with pytest.raises(ValueError, match=message):
        resize_image_root(source, destination, SIZE, verbose=0)
    assert os.path.isfile(os.path.join(destination, MASK))
    assert not os.path.exists(os.path.join(destination, IMAGE))


def test_bad_arguments(source, tmp_path):
    with pytest.raises(ValueError, match="inside source"):
        resize_image_root(source, os.path.join(source, "small"), SIZE, verbose=0)
    with pytest.raises(ValueError, match="size must be a positive"):
        resize_image_root(source, str(tmp_path / "out"), 0, verbose=0)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        resize_image_root(str(tmp_path / "nowhere"), str(tmp_path / "out"), SIZE, verbose=0)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no image files"):
        resize_image_root(str(empty), str(tmp_path / "out"), SIZE, verbose=0)


def test_data_prep_script(source, tmp_path, capsys):
    repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = os.path.join(repository, "data_prep", "resize_realiad.py")
    spec = importlib.util.spec_from_file_location("resize_realiad", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    destination = str(tmp_path / "realiad_20")
    assert module.main([source, destination, "--size", str(SIZE), "--workers", "2"]) == 0
    assert "3 files written, 0 already there." in capsys.readouterr().out
    assert module.main([source, destination, "--size", "-3"]) == 1
    assert "size must be a positive" in capsys.readouterr().err
