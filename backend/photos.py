"""Photos citizens attach to problem reports: what kind of image a file is, and the same
picture without what it says about its taker.

Pure: bytes in, bytes out. A file is taken only if its first bytes are those of a JPEG,
PNG or WebP image and it decodes as one; it is then drawn upright (the camera's
orientation tag applied) and written anew, so no Exif or XMP metadata (GPS position,
camera serial number, time) reaches the public link the photo gets.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 50_000_000
"""Larger than any phone's camera; a small file that claims more is a decompression bomb."""
MEDIA_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


class NotAPhoto(ValueError):
    """The bytes are not a JPEG, PNG or WebP image this platform takes."""


def sniff(data: bytes) -> str | None:
    """The media type the file's magic bytes announce, if it is one of MEDIA_TYPES."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def clean(data: bytes) -> tuple[bytes, str]:
    """The photo rewritten without metadata, and its media type; NotAPhoto if it is none."""
    media_type = sniff(data)
    if media_type is None:
        raise NotAPhoto("The file is not a JPEG, PNG or WebP image.")
    try:
        with Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[media_type]]) as image:
            if image.width * image.height > MAX_PIXELS:
                raise NotAPhoto("The image has too many pixels.")
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise NotAPhoto("The file could not be read as an image.") from error
    if media_type == "image/jpeg" and upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    written = io.BytesIO()
    options: dict[str, int | bool] = {"optimize": True} if media_type == "image/png" else {"quality": 90}
    upright.save(written, format=_PIL_FORMATS[media_type], **options)
    return written.getvalue(), media_type
