"""An image file's bytes: its format, size and completeness, then its pixels.

Every image the package reads with OpenCV (``mtfcdd predict``, the LiteRT
runner, int8 calibration, ``mtfcdd data verify``, the checks before
training and evaluation, the server's uploads) goes through
``decode_image``, so one set of rules decides what a readable image is:

- the format comes from the file's signature (JPEG, PNG, BMP, the formats
  of ``IMAGE_EXTENSIONS``), not from its name;
- the size in pixels comes from the header (``image_header``), before
  anything is decoded;
- the file must be complete (``check_complete``): OpenCV only warns about a
  JPEG cut short and fills the missing rows with grey, so a truncated file
  would be read as a different picture. A JPEG must hold its end-of-image
  marker after its last scan, a PNG its ``IEND`` chunk, a BMP the bytes its
  header announces;
- a JPEG whose entropy data libjpeg finds corrupt (it only warns, "Corrupt
  JPEG data: ...", and fills what it cannot decode with grey or repeats)
  is damaged: libjpeg's warnings are read from the standard error it
  writes them to (``_decode_jpeg``);
- the pixels are taken as stored: an EXIF orientation tag is ignored
  (``IMREAD_IGNORE_ORIENTATION``), as TensorFlow's decoders ignore it; a
  camera's rotated file is scored as its sensor saw it;
- an image over ``max_pixels``: a baseline JPEG is decoded at 1/2, 1/4 or
  1/8 of its size, the first that fits (libjpeg scales while it decodes, so
  the full image never exists in memory; OpenCV's ``IMREAD_REDUCED_*``); a
  larger PNG or BMP, a progressive JPEG (libjpeg keeps every coefficient of
  the full-size image whatever the reduction: a 4 KB file whose header says
  40000x40000 would take 5 GB), or a JPEG over 64 times the limit, is
  refused, by the header's pixel count, before anything is decoded.

Errors are ``ImageFileError``s (a ``ValueError``) whose ``reason`` says what
is wrong, so that the server can answer with the right HTTP status.
"""

import dataclasses
import os
import struct
import tempfile
import threading

import cv2
import numpy as np

from mtfcdd.utils.standard_error import standard_error_to

# Formats the package reads (IMAGE_EXTENSIONS), by signature.
SIGNATURES = ((b"\xff\xd8\xff", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"BM", "bmp"))
# (size reduction, OpenCV's flag) per decoding mode, smallest reduction
# first; only JPEG decodes reduced, and "unchanged" (every channel as
# stored) never does.
_AS_STORED = cv2.IMREAD_IGNORE_ORIENTATION
DECODINGS = {
    "color": (
        (1, cv2.IMREAD_COLOR | _AS_STORED),
        (2, cv2.IMREAD_REDUCED_COLOR_2 | _AS_STORED),
        (4, cv2.IMREAD_REDUCED_COLOR_4 | _AS_STORED),
        (8, cv2.IMREAD_REDUCED_COLOR_8 | _AS_STORED),
    ),
    "grayscale": (
        (1, cv2.IMREAD_GRAYSCALE | _AS_STORED),
        (2, cv2.IMREAD_REDUCED_GRAYSCALE_2 | _AS_STORED),
        (4, cv2.IMREAD_REDUCED_GRAYSCALE_4 | _AS_STORED),
        (8, cv2.IMREAD_REDUCED_GRAYSCALE_8 | _AS_STORED),
    ),
    # IMREAD_UNCHANGED never applies the orientation.
    "unchanged": ((1, cv2.IMREAD_UNCHANGED),),
}
# JPEG start-of-frame markers (they hold the size): C0-CF except DHT (C4),
# JPG (C8) and DAC (CC).
JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Frame markers of progressive JPEGs (SOF2, SOF6, SOF10, SOF14).
JPEG_PROGRESSIVE_MARKERS = frozenset([0xC2, 0xC6, 0xCA, 0xCE])
# Markers without a length field: TEM and the restart markers RST0-RST7.
JPEG_STANDALONE_MARKERS = frozenset([0x01, *range(0xD0, 0xD8)])
JPEG_START_OF_SCAN = 0xDA
JPEG_END_OF_IMAGE = b"\xff\xd9"
PNG_END_CHUNK = b"IEND\xaeB`\x82"  # the IEND type and its CRC
# How libjpeg's warnings about damaged data begin (its JWRN_* messages).
LIBJPEG_DAMAGE_WARNINGS = (
    "Corrupt JPEG data", "Premature end of JPEG file", "Inconsistent progression sequence",
    "Invalid SOS parameters",
)
# Standard error is one per process: one JPEG decodes at a time while it is
# read.
_STANDARD_ERROR_LOCK = threading.Lock()


class ImageFileError(ValueError):
    """Image bytes that cannot be read as a picture.

    Attributes:
        reason: ``"empty"``, ``"format"`` (not a JPEG, PNG or BMP),
            ``"damaged"`` (a damaged header, a truncated file, or one OpenCV
            cannot decode) or ``"too_large"`` (over the pixel limit).
    """

    def __init__(self, message, reason):
        super().__init__(message)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class DecodedImage:
    """An image file, decoded.

    Attributes:
        image: (h, w, 3) uint8 RGB (mode ``"color"``), (h, w) uint8
            (``"grayscale"``), or as stored (``"unchanged"``).
        format: ``"jpeg"``, ``"png"`` or ``"bmp"``.
        size: ``(height, width)`` of the file's image, from its header.
        reduction: 1, or 2, 4, 8 when a large JPEG was decoded at that
            fraction of its size.
    """

    image: np.ndarray
    format: str
    size: tuple
    reduction: int


def image_header(data, name="the file"):
    """The format and size of a JPEG, PNG or BMP file, from its header only.

    Args:
        data: the file's bytes (its first bytes are enough if they hold the
            header).
        name: what the data is called in error messages (a path, "the
            upload").

    Returns:
        ``(format, height, width)``.

    Raises:
        ImageFileError: empty, not a JPEG, PNG or BMP, or a damaged header.
    """
    if not data:
        raise ImageFileError(f"{name} is empty (0 bytes).", "empty")
    image_format = next((label for signature, label in SIGNATURES if data.startswith(signature)), None)
    if image_format is None:
        raise ImageFileError(
            f"{name} is not a JPEG, PNG or BMP image (it starts with the bytes "
            f"{data[:8].hex(' ')}).", "format"
        )
    try:
        height, width = _HEADER_READERS[image_format](data)
    except (struct.error, IndexError) as error:
        raise ImageFileError(
            f"{name} is a {image_format.upper()} file whose header is damaged or cut short ({error}).",
            "damaged",
        ) from error
    if height < 1 or width < 1:
        raise ImageFileError(
            f"{name} is a {image_format.upper()} file whose header gives a size of "
            f"{width}x{height} pixels; it is damaged.", "damaged"
        )
    return image_format, height, width


def check_complete(data, image_format, name="the file"):
    """Raises ``ImageFileError`` when the file stops before its image ends.

    Trailing bytes after the end (padding, a camera's extra data) are
    allowed.
    """
    if image_format == "jpeg":
        # 0xFF is never followed by 0xD9 or 0xDA inside entropy-coded data
        # (it is stuffed with 0x00), so the last start-of-scan is the last
        # scan's, and its end-of-image marker must follow it.
        last_scan = data.rfind(b"\xff\xda")
        complete = last_scan >= 0 and data.find(JPEG_END_OF_IMAGE, last_scan) >= 0
        missing = "its JPEG data stops before the end-of-image marker"
    elif image_format == "png":
        complete = data.rfind(PNG_END_CHUNK) >= 0
        missing = "its PNG data stops before the IEND chunk"
    else:
        (declared,) = struct.unpack("<I", data[2:6])
        complete = len(data) >= declared
        missing = f"it holds {len(data):,} of the {declared:,} bytes its BMP header announces"
    if not complete:
        raise ImageFileError(
            f"{name} is damaged or truncated: {missing} (an interrupted copy or download?).",
            "damaged",
        )


def decoding_plan(data, max_pixels, mode="color", name="the file", limit_name="the limit", reduce=True):
    """Checks a file's header and completeness against the limit, decoding nothing.

    Args: see ``decode_image``.

    Returns:
        ``(format, (height, width), reduction, OpenCV flag)``.

    Raises:
        ImageFileError: as ``decode_image``, except for what only decoding
            finds.
    """
    image_format, height, width = image_header(data, name)
    check_complete(data, image_format, name)
    progressive = image_format == "jpeg" and _jpeg_frame(data)[0] in JPEG_PROGRESSIVE_MARKERS
    reducible = reduce and image_format == "jpeg" and not progressive
    candidates = DECODINGS[mode] if reducible else DECODINGS[mode][:1]
    if progressive:
        kind, advice = "progressive JPEG", " (libjpeg decodes a progressive JPEG only whole)"
    else:
        kind = image_format.upper()
        advice = " (a JPEG is decoded at a reduced size)" if reduce and image_format != "jpeg" else ""
    reduction, flag = _decoding(kind, height, width, max_pixels, candidates, name, limit_name, advice)
    return image_format, (height, width), reduction, flag


def decode_image(
    data, max_pixels, mode="color", name="the file", limit_name="the limit", reduce=True, check_data=True
):
    """Decodes a complete JPEG, PNG or BMP file within ``max_pixels``.

    Args:
        data: the file's bytes.
        max_pixels: most pixels to decode (see the module docstring).
        mode: ``"color"`` (RGB), ``"grayscale"`` or ``"unchanged"``.
        name: what the data is called in error messages.
        limit_name: what ``max_pixels`` is called in error messages.
        reduce: False refuses an image over ``max_pixels`` instead of
            decoding it reduced (files that must be read whole: masks, and
            training images, which the checks before training read so).
        check_data: refuse a JPEG whose data libjpeg reports corrupt
            (``_decode_jpeg``: one JPEG decodes at a time, since libjpeg
            reports on the process's standard error); False decodes in
            parallel, for a file already decoded with the check.

    Returns:
        A ``DecodedImage``.

    Raises:
        ImageFileError: see ``image_header`` and ``check_complete``; an
            image too large to decode within the limit; one OpenCV cannot
            decode.
    """
    image_format, (height, width), reduction, flag = decoding_plan(
        data, max_pixels, mode, name, limit_name, reduce
    )
    buffer = np.frombuffer(data, np.uint8)
    if image_format == "jpeg" and check_data:
        decoded = _decode_jpeg(buffer, flag, name)
    else:
        decoded = cv2.imdecode(buffer, flag)
    if decoded is None:
        raise ImageFileError(
            f"OpenCV cannot decode {name}, a {image_format.upper()} file of {width}x{height} "
            "pixels; it is damaged or truncated.", "damaged"
        )
    if mode == "color":
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    return DecodedImage(decoded, image_format, (height, width), reduction)


def _decode_jpeg(buffer, flag, name):
    """``cv2.imdecode`` of a JPEG; raises ``ImageFileError`` when libjpeg warns of damage.

    OpenCV neither returns libjpeg's warnings nor stops on them: libjpeg
    writes them to standard error (file descriptor 2), which is redirected
    to a temporary file while it decodes. Other output is passed on.
    """
    with _STANDARD_ERROR_LOCK, tempfile.TemporaryFile() as captured:
        with standard_error_to(captured.fileno()):
            decoded = cv2.imdecode(buffer, flag)
        captured.seek(0)
        lines = captured.read().decode("utf-8", "replace").splitlines()
    damage = [line for line in lines if line.startswith(LIBJPEG_DAMAGE_WARNINGS)]
    others = [line for line in lines if line not in damage]
    if others:
        os.write(2, ("\n".join(others) + "\n").encode())
    if damage:
        raise ImageFileError(
            f"{name} is a damaged JPEG file: libjpeg reports \"{damage[0]}\" and would fill "
            "what it cannot decode with grey.", "damaged"
        )
    return decoded


def _decoding(kind, height, width, max_pixels, candidates, name, limit_name, advice):
    """(reduction, OpenCV flag) of ``candidates`` that decodes the image within ``max_pixels``.

    ``kind`` names the format in the error, ``advice`` ends it.
    """
    for reduction, flag in candidates:
        # libjpeg rounds a reduced size up.
        if -(-height // reduction) * -(-width // reduction) <= max_pixels:
            return reduction, flag
    largest = candidates[-1][0]
    how = f" even at 1/{largest} of its size" if largest > 1 else ""
    raise ImageFileError(
        f"{name} is a {kind} image of {width}x{height} = {height * width:,} pixels, "
        f"over {limit_name} of {max_pixels:,}{how}: too large; use a smaller image{advice}.",
        "too_large",
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
    _, height, width = _jpeg_frame(data)
    return height, width


def _jpeg_frame(data):
    """``(marker, height, width)`` of the first start-of-frame: the markers walked to it."""
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
            return marker, height, width
        position += length


_HEADER_READERS = {"jpeg": _jpeg_size, "png": _png_size, "bmp": _bmp_size}
