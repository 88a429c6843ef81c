"""The citizen portal (CONTRACT.md §4): its page at GET /, its scripts and styles at
/assets/<name> (from web/assets/), socket.io's browser client at
/assets/vendor/socket.io.min.js (from web/node_modules, put there by `npm ci` in web/),
and /assets/labels.json: the words for codes the widget shows (online levels, statuses,
stages, report categories), from their one definition in data/.

Everything the page loads comes from here, and the chat from the Rasa server's socket.io
channel: the page names that address in `<meta name="zw-chat-url">` and its
Content-Security-Policy allows nothing else. The address is PORTAL_CHAT_URL when set (the
origin, scheme://host[:port], where browsers reach Rasa's /socket.io: the portal's own
origin behind a reverse proxy, say); otherwise the host the page was asked from, on the
port of RASA_URL. The widget speaks websocket only, so Rasa needs no CORS settings.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
from urllib.parse import urlsplit

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, raw

from backend.api.errors import ApiError
from backend.catalogue import sources
from backend.complaints.categories import read_complaint_codes
from backend.settings import DATA_DIR, ROOT, read_dotenv

log = logging.getLogger(__name__)
portal_routes = Blueprint("portal")

WEB_DIR = ROOT / "web"
ASSETS_DIR = WEB_DIR / "assets"
SOCKET_IO_CLIENT = WEB_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
CHAT_URL_PLACEHOLDER = "__ZW_CHAT_URL__"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}
ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\.[a-z]+$")
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _labels() -> bytes:
    """`{group: {code: {zh, en}}}` for the codes in the assistant's custom payloads."""
    catalogue = sources.read_labels()
    phrases = sources.read_yaml(DATA_DIR / "assistant" / "phrases.yml")
    codes = read_complaint_codes()

    def phrased(prefix: str) -> dict[str, dict[str, str]]:
        return {key[len(prefix) :]: dict(words) for key, words in phrases.items() if key.startswith(prefix)}

    labels = {
        "online_levels": catalogue["online_levels"],
        "tiers": catalogue["tiers"],
        "material_forms": catalogue["material_forms"],
        "application_stages": phrased("stage_"),
        "application_statuses": phrased("status_"),
        "next_steps": phrased("next_"),
        "complaint_statuses": phrased("complaint_status_"),
        "categories": {code: dict(category.name) for code, category in codes.categories.items()},
        "request_types": {code: dict(kind.name) for code, kind in codes.request_types.items()},
    }
    return json.dumps(labels, ensure_ascii=False).encode("utf-8")


def _read_assets() -> dict[str, tuple[bytes, str]]:
    """Every file of web/assets/ by name, with its content type; read once, at start-up."""
    assets = {
        path.name: (path.read_bytes(), CONTENT_TYPES[path.suffix])
        for path in sorted(ASSETS_DIR.iterdir())
        if path.is_file() and path.suffix in CONTENT_TYPES and ASSET_NAME.match(path.name)
    }
    assets["labels.json"] = (_labels(), CONTENT_TYPES[".json"])
    if SOCKET_IO_CLIENT.is_file():
        assets["vendor/socket.io.min.js"] = (SOCKET_IO_CLIENT.read_bytes(), CONTENT_TYPES[".js"])
    else:
        log.warning("%s is missing (run 'npm ci' in web/): the portal's chat will not connect", SOCKET_IO_CLIENT)
    return assets


ASSETS = _read_assets()
PAGE = (WEB_DIR / "index.html").read_text(encoding="utf-8")


def chat_url(request: Request) -> str:
    """Where the browser reaches Rasa's socket.io channel (see the module's docstring)."""
    configured = os.environ.get("PORTAL_CHAT_URL") or read_dotenv(ROOT / ".env").get("PORTAL_CHAT_URL")
    if configured:
        # An origin only: socket.io's client reads a path in the URL as a namespace.
        parts = urlsplit(configured)
        return f"{parts.scheme}://{parts.netloc}"
    rasa = urlsplit(request.app.ctx.settings.rasa_url)
    host = urlsplit(f"//{request.host}").hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    port = rasa.port or (443 if rasa.scheme == "https" else 80)
    return f"{request.scheme}://{host}:{port}"


def _content_security_policy(chat: str) -> str:
    parts = urlsplit(chat)
    websocket = ("wss" if parts.scheme == "https" else "ws") + f"://{parts.netloc}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
        f"connect-src 'self' {parts.scheme}://{parts.netloc} {websocket}; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


@portal_routes.get("/")
async def portal_page(request: Request) -> HTTPResponse:
    chat = chat_url(request)
    page = PAGE.replace(CHAT_URL_PLACEHOLDER, html.escape(chat, quote=True))
    headers = {**COMMON_HEADERS, "Content-Security-Policy": _content_security_policy(chat), "X-Frame-Options": "DENY"}
    return raw(page.encode("utf-8"), content_type=CONTENT_TYPES[".html"], headers=headers)


@portal_routes.get("/assets/<name:path>")
async def portal_asset(request: Request, name: str) -> HTTPResponse:
    if name not in ASSETS:
        raise ApiError(404, "not_found", "No such file.")
    body, content_type = ASSETS[name]
    return raw(body, content_type=content_type, headers=COMMON_HEADERS)
