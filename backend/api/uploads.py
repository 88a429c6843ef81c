"""Photos for problem reports (the web widget's upload): `POST /api/v1/uploads` takes one
JPEG, PNG or WebP image of at most 5 MB as the raw request body (`Content-Type: image/…`)
and answers 201 `{url, media_type, size}`; `GET /api/v1/uploads/<name>` serves it back.

The file is checked by its magic bytes and by decoding it, rewritten without its
metadata (backend/photos.py), and stored under var/uploads/ with a random name. The URL
is absolute, built from the request's host, because a report's `photo_urls` must be
http(s) links. Anyone may upload, as anyone may report, so each client address may
upload at most UPLOADS_PER_WINDOW photos in WINDOW_SECONDS.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections import defaultdict, deque
from pathlib import Path

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, file, json

from backend import photos
from backend.api.errors import ApiError

upload_routes = Blueprint("uploads", url_prefix="/api/v1")

UPLOADS_PER_WINDOW = 30
WINDOW_SECONDS = 600
MAX_CLIENTS_TRACKED = 10_000
UPLOAD_NAME = re.compile(r"^[A-Za-z0-9_-]{22}\.(jpg|png|webp)$")
MEDIA_TYPE_OF = {extension: media_type for media_type, extension in photos.MEDIA_TYPES.items()}
SERVED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "public, max-age=31536000, immutable",
}
_recent: defaultdict[str, deque[float]] = defaultdict(deque)


def uploads_dir(request: Request) -> Path:
    path: Path = request.app.ctx.settings.var_dir / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _count_upload(client: str, now: float) -> None:
    """429 once the client has uploaded UPLOADS_PER_WINDOW photos in the last WINDOW_SECONDS."""
    if len(_recent) > MAX_CLIENTS_TRACKED:
        for quiet in [address for address, times in _recent.items() if times[-1] <= now - WINDOW_SECONDS]:
            del _recent[quiet]
    recent = _recent[client]
    while recent and recent[0] <= now - WINDOW_SECONDS:
        recent.popleft()
    if len(recent) >= UPLOADS_PER_WINDOW:
        raise ApiError(429, "too_many_uploads", "Too many photos from this address; try again later.")
    recent.append(now)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > photos.MAX_BYTES:
        raise ApiError(413, "payload_too_large", "A photo may be at most 5 MB.")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.stream.read() if request.stream else None
        if chunk is None:
            break
        size += len(chunk)
        if size > photos.MAX_BYTES:
            raise ApiError(413, "payload_too_large", "A photo may be at most 5 MB.")
        chunks.append(chunk)
    return b"".join(chunks)


@upload_routes.post("/uploads", stream=True)
async def upload_photo(request: Request) -> HTTPResponse:
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type not in photos.MEDIA_TYPES:
        raise ApiError(415, "unsupported_media_type", "Send one image/jpeg, image/png or image/webp as the body.")
    _count_upload(request.remote_addr or request.ip, time.monotonic())
    data = await _read_body(request)
    if photos.sniff(data) != content_type:
        raise ApiError(415, "unsupported_media_type", f"The body is not an {content_type} image.")
    try:
        cleaned, media_type = await asyncio.get_running_loop().run_in_executor(None, photos.clean, data)
    except photos.NotAPhoto as error:
        raise ApiError(415, "unsupported_media_type", str(error)) from error
    name = f"{secrets.token_urlsafe(16)}.{photos.MEDIA_TYPES[media_type]}"
    (uploads_dir(request) / name).write_bytes(cleaned)
    url = f"{request.scheme}://{request.host}/api/v1/uploads/{name}"
    return json({"url": url, "media_type": media_type, "size": len(cleaned)}, status=201)


@upload_routes.get("/uploads/<name:str>")
async def get_photo(request: Request, name: str) -> HTTPResponse:
    path = uploads_dir(request) / name
    if not UPLOAD_NAME.match(name) or not path.is_file():
        raise ApiError(404, "not_found", "No such photo.")
    return await file(path, mime_type=MEDIA_TYPE_OF[path.suffix[1:]], headers=SERVED_HEADERS)
