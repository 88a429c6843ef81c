"""A request's Content-Length checked before Sanic reads the body, for the Rasa server
and the platform alike.

Sanic 21.12 (Rasa 3.6 pins it) takes the header with a bare `int()`: '-1' with a few
bytes of body sends its body reader into a loop that never yields, so one request stops
the whole process (it cannot even be told to stop); '²' or five thousand digits make
int() fail in a way that ends as a 500. Sanic signals `http.lifecycle.request` once the
headers are read and before that `int()`, so a handler there can refuse the request
with a 400 first. Anything but 1 to 18 ASCII digits is refused.

A blueprint's signal is its whole app's. Each of our channels installs the check on its
blueprint, so the Rasa server has it whichever channels are on; so does the platform's
app. (Sanic compiles signal dispatches it sees no handler for out of its HTTP code when
an app starts, for every app in the process: an app without the check started last in a
test process turns it off for the others too.)
"""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Sanic
from sanic.exceptions import InvalidUsage
from sanic.request import Request

EVENT = "http.lifecycle.request"


def check(request: Request) -> None:
    """Refuses (InvalidUsage, a 400) a Content-Length that is not a plain number of bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and not (declared.isascii() and declared.isdigit() and len(declared) <= 18):
        raise InvalidUsage("Content-Length must be a whole number of bytes.")


def install(where: Sanic | Blueprint) -> None:
    """Checks every request the app (or the blueprint's app) serves."""

    async def before_the_body(request: Request, **_: Any) -> None:
        check(request)

    where.signal(EVENT)(before_the_body)
