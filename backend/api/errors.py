"""JSON errors: `{"error": {"code", "message"}}` with a fitting status, never a 5xx for bad input."""

from __future__ import annotations

import logging

from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse, json

log = logging.getLogger(__name__)

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "too_many_requests",
}


class ApiError(SanicException):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, status_code=status)
        self.code = code


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def install_error_handlers(app: Sanic) -> None:
    @app.exception(SanicException)
    async def known_error(request: Request, error: SanicException) -> HTTPResponse:
        status = getattr(error, "status_code", 500) or 500
        code = getattr(error, "code", None) or _CODES_BY_STATUS.get(status, "error")
        return json(error_body(code, str(error) or code.replace("_", " ")), status=status)

    @app.exception(Exception)
    async def unexpected_error(request: Request, error: Exception) -> HTTPResponse:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return json(error_body("internal_error", "Something went wrong on our side."), status=500)
