"""Who may see and change a record: staff with the bearer token, or the citizen who
proves ownership with a verification code, within the wrong-code lockout."""

from __future__ import annotations

import asyncio
import hmac
import math
from collections.abc import Callable
from datetime import datetime, timezone

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json

from backend.api.errors import ApiError, error_body
from backend.verification import lockout_ends, record_wrong_code

MAX_CODE_CHARS = 32


class LockedOut(ApiError):
    """429 with Retry-After: the seconds until checks of the record are allowed again."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(429, "locked", "Too many wrong verification codes; try again later.")
        self.retry_after = retry_after


def install_lockout_handler(app: Sanic) -> None:
    @app.exception(LockedOut)
    async def locked_out(request: Request, error: LockedOut) -> HTTPResponse:
        headers = {"Retry-After": str(error.retry_after)}
        return json(error_body(error.code, str(error)), status=429, headers=headers)


def _same(supplied: str, expected: str) -> bool:
    """Constant-time, so the time taken tells nothing about how much of a secret was right.
    Sanic reads header bytes that are not UTF-8 (a latin-1 '²') as surrogates: back to those bytes."""
    return hmac.compare_digest(supplied.encode("utf-8", "surrogateescape"), expected.encode())


def bearer_token(request: Request) -> str | None:
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def is_staff(request: Request) -> bool:
    """True for the staff token; False without a bearer token; a wrong token is a 403."""
    token = bearer_token(request)
    if token is None:
        return False
    if not _same(token, request.app.ctx.settings.staff_token):
        raise ApiError(403, "invalid_token", "The bearer token is not valid.")
    return True


def require_staff(request: Request) -> None:
    if not is_staff(request):
        raise ApiError(401, "unauthorized", "Staff only: send 'Authorization: Bearer <staff token>'.")


async def verify_citizen(request: Request, kind: str, subject_id: str, expected_code: str | None) -> None:
    """Let the request through when X-Verify-Code matches `expected_code`.

    `expected_code` is None when no record has that id: the answer is then the same as
    for a wrong code, and the attempt counts against the id just the same.
    """
    await verify_citizen_by(request, kind, subject_id, None if expected_code is None else code_is(expected_code))


def code_is(expected: str) -> Callable[[str], bool]:
    """A check of the supplied code against a known one, letter case aside."""
    return lambda supplied: _same(supplied, expected.upper())


async def verify_citizen_by(
    request: Request, kind: str, subject_id: str, accepts: Callable[[str], bool] | None
) -> None:
    """As `verify_citizen`, for records that keep only a way to check the code (a hash):
    `accepts` tells whether a supplied code (upper-cased) is the right one."""
    supplied = (request.headers.get("X-Verify-Code") or "").strip().upper()
    if not supplied:
        raise ApiError(401, "verification_required", "Send the verification code in the X-Verify-Code header.")
    engine = request.app.ctx.engine
    now = datetime.now(timezone.utc)
    until = await asyncio.to_thread(lockout_ends, engine, kind, subject_id, now)
    if until is not None:
        raise LockedOut(max(1, math.ceil((until - now).total_seconds())))
    right = accepts is not None and len(supplied) <= MAX_CODE_CHARS and accepts(supplied)
    if not right:
        await asyncio.to_thread(record_wrong_code, engine, kind, subject_id, now)
        raise ApiError(403, "verification_failed", "The number or the verification code is not right.")
