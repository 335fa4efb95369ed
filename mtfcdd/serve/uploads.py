"""Uploaded image bytes to an RGB array, within limits: NumPy and OpenCV only.

``mtfcdd serve`` (``mtfcdd.serve.server``) decodes what a client sends with
``decode_upload``: the rules of ``mtfcdd.utils.image_bytes`` (the format
from the signature, the size from the header before anything is decoded, a
truncated file refused, a large JPEG decoded at 1/2, 1/4 or 1/8 of its size,
a larger PNG or BMP refused), the very decoder with which the model's
preprocessor (``mtfcdd.data.preprocessor``) reads files; the arrays are
then resized by that preprocessor, so the server's scores are ``mtfcdd
predict``'s.

Errors are ``UploadError``s, which carry the HTTP status to answer with.
"""

from mtfcdd.utils.image_bytes import ImageFileError, decode_image
from mtfcdd.utils.image_bytes import image_header as file_header

MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "bmp": "image/bmp"}
# The HTTP status of each ImageFileError reason.
STATUSES = {"empty": 400, "format": 415, "too_large": 413, "damaged": 422}
UPLOAD_NAME = "the upload"
LIMIT_NAME = "this server's limit"


class UploadError(ValueError):
    """An upload the server refuses.

    Attributes:
        status: the HTTP status that says why: 400 (empty), 413 (too
            large), 415 (not a JPEG, PNG or BMP), 422 (a damaged image).
    """

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def image_header(data):
    """``mtfcdd.utils.image_bytes.image_header`` of an upload: ``(format,
    height, width)``, or an ``UploadError``."""
    try:
        return file_header(data, UPLOAD_NAME)
    except ImageFileError as error:
        raise UploadError(str(error), STATUSES[error.reason]) from error


def decode_upload(data, max_pixels):
    """Decodes an uploaded image file to RGB, within ``max_pixels``.

    Returns:
        A ``mtfcdd.utils.image_bytes.DecodedImage``.

    Raises:
        UploadError: 400 for no bytes, 413 for an image too large to decode
            within the limit, 415 when the bytes are not a JPEG, PNG or BMP
            file, 422 when it is damaged or truncated.
    """
    try:
        return decode_image(data, max_pixels, name=UPLOAD_NAME, limit_name=LIMIT_NAME)
    except ImageFileError as error:
        raise UploadError(str(error), STATUSES[error.reason]) from error
