"""The model's preprocessor: training and the board read the same pixels."""

import cv2
import numpy as np
import pytest

from mtfcdd.data.pipeline import training_dataset
from mtfcdd.data.preprocessor import Preprocessor
from mtfcdd.data.sample import Sample
from mtfcdd.deploy.converted_model import ConvertedModel
from mtfcdd.deploy.sidecar import write_sidecar

MODEL_SIZE = (48, 40)
# (height, width) of the files: shrunk (area), enlarged (bilinear), one side
# each way, and the model's own size.
FILE_SIZES = ((120, 100), (31, 27), (20, 90), MODEL_SIZE)


class RecordingModel(ConvertedModel):
    """The runners' shared path (``ConvertedModel``), whose runtime only keeps
    the batches it is given."""

    runtime = "recording"
    file_format = "tflite"
    option = "--tflite"

    def __init__(self, model_path):
        super().__init__(model_path)
        self.batches = []

    def _type_projection(self, batch):
        self.batches.append(batch)
        return np.zeros((len(batch), 3, 3, len(self.type_codes)), np.float32)


def _texture(height, width, seed):
    """Smooth random colours: JPEG keeps them, and resizing has work to do."""
    noise = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (5, 5), 1.5)


@pytest.fixture(scope="module")
def image_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    paths = []
    for number, (height, width) in enumerate(FILE_SIZES):
        for extension in (".jpg", ".png"):
            path = str(folder / f"image_{number}{extension}")
            cv2.imwrite(path, _texture(height, width, number))
            paths.append(path)
    return paths


@pytest.fixture(scope="module")
def board_model(tmp_path_factory):
    model_path = str(tmp_path_factory.mktemp("board") / "model.tflite")
    with open(model_path, "wb") as file:
        file.write(b"a file the recording runtime never reads")
    write_sidecar(model_path, {
        "schema_version": 3, "mtfcdd_version": "0.1.0", "format": "tflite",
        "output": "type_projection", "type_codes": ["ANY"], "image_size": list(MODEL_SIZE),
        "score_reduction": "mean", "thresholds": None, "quantization": "int8",
        "num_calibration_images": 10, "weights_source": "None",
        "preprocessor": Preprocessor(MODEL_SIZE).get_config(),
    })
    return RecordingModel(model_path)


def test_training_stream_and_board_runner_read_bit_identical_pixels(image_files, board_model):
    # Labels one-hot by file, so that each streamed image names its file.
    samples = [
        Sample(path, None, "object", "OK", tuple(int(other == index) for other in range(len(image_files))))
        for index, path in enumerate(image_files)
    ]
    stream = training_dataset(
        samples, MODEL_SIZE, batch_size=len(samples), augmentation=None, balanced=False
    )
    images, labels = (tensor.numpy() for tensor in next(iter(stream)))
    trained_on = dict(zip(labels.argmax(axis=1), images))
    assert sorted(trained_on) == list(range(len(image_files)))
    for index, path in enumerate(image_files):
        board_model.predict_image(path)
        (board_batch,) = board_model.batches[-1:]
        assert board_batch.dtype == np.uint8 and board_batch.shape == (1, *MODEL_SIZE, 3)
        np.testing.assert_array_equal(trained_on[index], board_batch[0].astype(np.float32), err_msg=path)
    # The pixels are OpenCV's own: BGR files read as RGB, area shrinking.
    shrunk = cv2.resize(cv2.imread(image_files[1]), MODEL_SIZE[::-1], interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(trained_on[1], shrunk[..., ::-1].astype(np.float32))


def test_config_round_trips_and_refuses_what_it_cannot_read():
    preprocessor = Preprocessor((30, 20))
    assert preprocessor.get_config() == {"image_size": [30, 20], "decoder": "opencv", "resize": "area_bilinear"}
    assert Preprocessor.from_config(preprocessor.get_config(), (30, 20)) == preprocessor
    # A model or sidecar written before preprocessors were recorded.
    assert Preprocessor.from_config(None, 30) == Preprocessor((30, 30))
    with pytest.raises(ValueError, match=r"resize must be one of \('area_bilinear',\); got 'bicubic'"):
        Preprocessor(30, resize="bicubic")
    with pytest.raises(ValueError, match="decoder must be one of"):
        Preprocessor.from_config({"image_size": [30, 30], "decoder": "pillow", "resize": "area_bilinear"})
    with pytest.raises(ValueError, match=r"image_size \[30, 20\] is not the model's \[30, 30\]"):
        Preprocessor.from_config(preprocessor.get_config(), 30)
    with pytest.raises(ValueError, match="must be an object with image_size"):
        Preprocessor.from_config({"image_size": [30, 20], "colour": "bgr"})
    with pytest.raises(ValueError, match="image_size must be a positive integer"):
        Preprocessor(0)


def test_read_and_batch_give_the_model_input(image_files):
    preprocessor = Preprocessor(MODEL_SIZE)
    image = preprocessor.read(image_files[0])
    assert image.dtype == np.uint8 and image.shape == (*MODEL_SIZE, 3)
    decoded = preprocessor.decode(image_files[0])
    assert decoded.shape == (*FILE_SIZES[0], 3)
    batch = preprocessor.batch([decoded, decoded.astype(np.float32)])
    assert batch.dtype == np.float32 and batch.shape == (2, *MODEL_SIZE, 3)
    np.testing.assert_array_equal(preprocessor.batch([decoded])[0], image)
