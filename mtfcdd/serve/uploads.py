"""Uploaded image bytes to an RGB array, within limits: NumPy and OpenCV only.

``mtfcdd serve`` (``mtfcdd.serve.server``) decodes what a client sends with
``decode_upload``. The pixels are those ``mtfcdd.utils.image_files.read_rgb_image``
reads from the same file (``cv2.imdecode`` and ``cv2.imread`` share their
decoders), so the server's scores are ``mtfcdd predict``'s.

Limits. An upload's bytes say little about its pixels: a 25 MB PNG of one
colour can hold billions of them. So the size in pixels is read from the
file's header first (``image_header``), before anything is decoded:

- up to ``max_pixels``: decoded as it is;
- a larger JPEG: decoded at 1/2, 1/4 or 1/8 of its size, the first that
  fits (libjpeg scales while it decodes, so the full image never exists in
  memory; OpenCV's ``IMREAD_REDUCED_COLOR_*``), and the result says so;
- a larger PNG or BMP, or a JPEG over 64 times the limit: refused.

Errors are ``UploadError``s, which carry the HTTP status to answer with.
"""

import dataclasses
import struct

import cv2
import numpy as np

from mtfcdd.constants import MAX_PIXELS, MAX_UPLOAD_BYTES
# Formats the package reads (mtfcdd.utils.image_files.IMAGE_EXTENSIONS), by signature.
SIGNATURES = ((b"\xff\xd8\xff", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"BM", "bmp"))
MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "bmp": "image/bmp"}
# (size reduction, OpenCV's flag), smallest first; only JPEG decodes reduced.
DECODINGS = (
    (1, cv2.IMREAD_COLOR),
    (2, cv2.IMREAD_REDUCED_COLOR_2),
    (4, cv2.IMREAD_REDUCED_COLOR_4),
    (8, cv2.IMREAD_REDUCED_COLOR_8),
)
# JPEG start-of-frame markers (they hold the size): C0-CF except DHT (C4),
# JPG (C8) and DAC (CC).
JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM and the restart markers RST0-RST7.
JPEG_STANDALONE_MARKERS = frozenset([0x01, *range(0xD0, 0xD8)])
JPEG_START_OF_SCAN = 0xDA


class UploadError(ValueError):
    """An upload the server refuses.

    Attributes:
        status: the HTTP status that says why: 400 (empty), 413 (too
            large), 415 (not a JPEG, PNG or BMP), 422 (a damaged image).
    """

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


@dataclasses.dataclass(frozen=True)
class DecodedUpload:
    """An uploaded image, decoded.

    Attributes:
        image: (h, w, 3) uint8 RGB.
        format: ``"jpeg"``, ``"png"`` or ``"bmp"``.
        size: ``(height, width)`` of the file's image, from its header.
        reduction: 1, or 2, 4, 8 when a large JPEG was decoded at that
            fraction of its size.
    """

    image: np.ndarray
    format: str
    size: tuple
    reduction: int


def image_header(data):
    """The format and size of a JPEG, PNG or BMP file, from its header only.

    Args:
        data: the file's bytes.

    Returns:
        ``(format, height, width)``.

    Raises:
        UploadError: 400 for no bytes, 415 when the bytes are not a JPEG,
            PNG or BMP file, 422 when the header is damaged.
    """
    if not data:
        raise UploadError("the upload is empty (0 bytes); send an image file.", 400)
    image_format = next((name for signature, name in SIGNATURES if data.startswith(signature)), None)
    if image_format is None:
        raise UploadError(
            "the upload is not a JPEG, PNG or BMP image (it starts with the bytes "
            f"{data[:8].hex(' ')}); send a photo in one of these formats.", 415
        )
    try:
        height, width = _HEADER_READERS[image_format](data)
    except (struct.error, IndexError) as error:
        raise UploadError(
            f"the {image_format.upper()} file's header is damaged or cut short ({error}).", 422
        ) from error
    if height < 1 or width < 1:
        raise UploadError(
            f"the {image_format.upper()} header gives a size of {width}x{height} pixels; "
            "the file is damaged.", 422
        )
    return image_format, height, width


def decode_upload(data, max_pixels):
    """Decodes an uploaded image file to RGB, within ``max_pixels``.

    Args:
        data: the file's bytes.
        max_pixels: most pixels to decode (see the module docstring).

    Returns:
        A ``DecodedUpload``.

    Raises:
        UploadError: see ``image_header``; 413 for an image too large to
            decode within the limit; 422 when OpenCV cannot decode it.
    """
    image_format, height, width = image_header(data)
    reduction, flag = _decoding(image_format, height, width, max_pixels)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    if decoded is None:
        raise UploadError(
            f"OpenCV cannot decode this {image_format.upper()} file of {width}x{height} "
            "pixels; it is damaged or truncated.", 422
        )
    return DecodedUpload(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), image_format, (height, width), reduction)


def _decoding(image_format, height, width, max_pixels):
    """(reduction, OpenCV flag) that decodes the image within ``max_pixels``."""
    candidates = DECODINGS if image_format == "jpeg" else DECODINGS[:1]
    for reduction, flag in candidates:
        # libjpeg rounds a reduced size up.
        if -(-height // reduction) * -(-width // reduction) <= max_pixels:
            return reduction, flag
    largest = candidates[-1][0]
    how = f" even at 1/{largest} of its size" if largest > 1 else ""
    raise UploadError(
        f"the {image_format.upper()} image is {width}x{height} = {height * width:,} pixels, "
        f"over this server's limit of {max_pixels:,}{how}; send a smaller image"
        + ("" if image_format == "jpeg" else " (a JPEG is decoded at a reduced size)") + ".",
        413,
    )


def _png_size(data):
    # IHDR is always the first chunk: length, "IHDR", width, height (big-endian).
    if data[12:16] != b"IHDR":
        raise struct.error("no IHDR chunk")
    width, height = struct.unpack(">II", data[16:24])
    return height, width


def _bmp_size(data):
    (header_size,) = struct.unpack("<I", data[14:18])
    if header_size == 12:  # BITMAPCOREHEADER: 16-bit sizes
        width, height = struct.unpack("<HH", data[18:22])
    else:  # BITMAPINFOHEADER and later; a negative height is a top-down image
        width, height = struct.unpack("<ii", data[18:26])
    return abs(height), width


def _jpeg_size(data):
    """Walks the markers to the first start-of-frame, which holds the size."""
    position = 2
    while True:
        if data[position] != 0xFF:
            raise struct.error("expected a marker")
        while data[position] == 0xFF:  # fill bytes
            position += 1
        marker = data[position]
        position += 1
        if marker in JPEG_STANDALONE_MARKERS:
            continue
        if marker == JPEG_START_OF_SCAN:
            raise struct.error("image data before the frame header")
        (length,) = struct.unpack(">H", data[position:position + 2])
        if marker in JPEG_FRAME_MARKERS:
            height, width = struct.unpack(">HH", data[position + 3:position + 7])
            return height, width
        position += length


_HEADER_READERS = {"jpeg": _jpeg_size, "png": _png_size, "bmp": _bmp_size}
