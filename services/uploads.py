"""Lead images: checked with Pillow, re-encoded, stored under a random name.

Nothing of the uploaded file name is kept (so no path traversal, no clashes,
no guessable names), SVG is refused (it is a document that can carry script,
not a picture), and anything Pillow cannot decode is refused. The browser is
served a copy Pillow re-encoded itself, resized and without metadata (EXIF can
hold the GPS position of the photographer).
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

# A generous limit for a news photo straight from a camera; larger files get 413.
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
# Pixel count above which decoding is refused (a "decompression bomb" is a small
# file that expands to gigabytes in memory).
MAX_PIXELS = 50_000_000
# The published copy: wide enough for the article page on a large screen.
RESIZED_WIDTH = 1600
FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
ACCEPT = "image/jpeg,image/png,image/gif,image/webp"


class UploadError(Exception):
    """An upload that was refused; nothing was stored. ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class StoredImage:
    original: str  # file name of the verified original, under the upload directory
    resized: str  # file name of the resized copy: what Article.lead_image holds
    width: int
    height: int


def max_bytes() -> int:
    return int(current_app.config.get("UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES))


def human_size(n: int) -> str:
    """8388608 -> '8 MB', 30000 -> '29 KB' (binary units, as file managers show them)."""
    if n >= 1024 * 1024:
        value = n / (1024 * 1024)
        return f"{value:.0f} MB" if value >= 10 or value == int(value) else f"{value:.1f} MB"
    return f"{max(1, round(n / 1024))} KB"


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _size_of(stream: BinaryIO) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def _looks_like_svg(head: bytes, filename: str, mimetype: str) -> bool:
    sniff = head.lstrip()[:512].lower()
    return (
        filename.lower().endswith((".svg", ".svgz"))
        or "svg" in (mimetype or "").lower()
        or sniff.startswith(b"<?xml")
        or b"<svg" in sniff
    )


def save_image(stream: BinaryIO, filename: str = "", mimetype: str = "") -> StoredImage:
    """Verify an uploaded image and store it plus a resized copy; raises UploadError."""
    limit = max_bytes()
    size = _size_of(stream)
    if size == 0:
        raise UploadError("The image file is empty. Choose a JPEG, PNG, GIF or WebP picture.")
    if size > limit:
        raise UploadError(
            f"The image is {human_size(size)}; the limit is {human_size(limit)}. Choose a smaller file.",
            status=413,
        )
    head = stream.read(1024)
    stream.seek(0)
    if _looks_like_svg(head, filename, mimetype):
        raise UploadError("SVG files are not accepted (they can contain scripts). Upload a JPEG, PNG, GIF or WebP.")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as probe:
                fmt = probe.format or ""
                width, height = probe.size
                if fmt not in FORMATS:
                    raise UploadError(f"{fmt or 'That'} images are not accepted. Upload a JPEG, PNG, GIF or WebP.")
                if width * height > MAX_PIXELS:
                    raise UploadError("The image has too many pixels. Resize it below 50 megapixels first.")
                probe.verify()  # checks the file's structure without decoding all of it
            stream.seek(0)
            with Image.open(stream) as img:
                img.load()
                img = ImageOps.exif_transpose(img)
                original, resized = _encode(img, fmt)
    except UploadError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError, ValueError):
        raise UploadError("That file is not an image we can read. Upload a JPEG, PNG, GIF or WebP picture.") from None

    token = secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
    original_name = f"{token}.{FORMATS[fmt]}"
    resized_name = f"{token}-w{resized.size[0]}.{resized.ext}"
    folder = upload_dir()
    (folder / original_name).write_bytes(original)
    (folder / resized_name).write_bytes(resized.data)
    return StoredImage(original_name, resized_name, resized.size[0], resized.size[1])


@dataclass
class _Encoded:
    size: tuple[int, int]
    data: bytes
    ext: str


def _encode(img: Image.Image, fmt: str) -> tuple[bytes, _Encoded]:
    """The original re-encoded in its own format (dropping metadata), and a resized copy."""
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    out = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(out, "JPEG", quality=92, optimize=True)
    else:
        img.save(out, fmt)
    copy = img.copy()
    copy.thumbnail((RESIZED_WIDTH, RESIZED_WIDTH * 4), Image.Resampling.LANCZOS)
    small = io.BytesIO()
    if has_alpha:
        copy.convert("RGBA").save(small, "PNG", optimize=True)
        return out.getvalue(), _Encoded(copy.size, small.getvalue(), "png")
    copy.convert("RGB").save(small, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue(), _Encoded(copy.size, small.getvalue(), "jpg")


def remove(name: str | None) -> None:
    """Delete a stored file by the name we gave it (never a path from outside)."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return
    path = upload_dir() / name
    try:
        path.unlink()
    except OSError:
        return
