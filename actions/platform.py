"""The one HTTP client the actions use to reach the service platform (CONTRACT.md §3).

Every call has a timeout; safe calls (GETs, and submissions carrying an idempotency key,
which the platform answers once) are retried a bounded number of times on connection
errors and 502/503/504; anything else that goes wrong becomes
`PlatformUnavailable`, which actions turn into a polite answer. Calls are blocking
`requests` calls: actions run them in a thread (`in_thread`), never on the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import requests

DEFAULT_URL = "http://localhost:8000"
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
RETRIES = 2
RETRY_BACKOFF = 0.2
RETRY_STATUSES = frozenset({502, 503, 504})
MAX_QUERY_CHARS = 200

T = TypeVar("T")


class PlatformUnavailable(Exception):
    """The platform could not be reached or did not answer sensibly."""


class PlatformClient:
    def __init__(
        self,
        base_url: str | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        retries: int = RETRIES,
    ) -> None:
        self.base_url = (base_url or os.environ.get("PLATFORM_URL") or DEFAULT_URL).rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self._session = requests.Session()

    def find_services(self, query: str, region: str | None = None, lang: str = "zh", limit: int = 5) -> list[dict]:
        """Ranked `[{"service", "score"}]` for what the citizen said (longest queries cut)."""
        params = {"q": query[:MAX_QUERY_CHARS], "lang": lang, "limit": limit}
        if region:
            params["region"] = region
        results: list[dict] = self._get("/api/v1/services", params)["results"]
        return results

    def service(self, service_id: str, region: str | None = None, lang: str = "zh") -> dict | None:
        """One service item with its office for `region`, or None if there is no such item."""
        params = {"lang": lang, **({"region": region} if region else {})}
        try:
            return self._get(f"/api/v1/services/{service_id}", params)
        except NotFound:
            return None

    def region(self, code: str) -> dict | None:
        """The region with this 6-digit code, or None."""
        found = self._get("/api/v1/regions", {"q": code, "limit": 1})
        return next((region for region in found if region["code"] == code), None)

    def create_application(self, body: dict[str, Any], idempotency_key: str) -> dict:
        """Submits an application; retried safely, as the platform answers a repeated key once."""
        return self._send("POST", "/api/v1/applications", json=body, headers={"Idempotency-Key": idempotency_key})

    def book_appointment(self, body: dict[str, Any], idempotency_key: str) -> dict:
        return self._send("POST", "/api/v1/appointments", json=body, headers={"Idempotency-Key": idempotency_key})

    def appointment_slots(self, service_id: str, region: str, days: int = 5) -> list[dict]:
        """`[{"date", "slots": [{"time", "available"}]}]` over the coming working days."""
        found = self._get("/api/v1/appointments/slots", {"service_id": service_id, "region": region, "days": days})
        days_found: list[dict] = found["days"]
        return days_found

    def application(self, application_id: str, verification_code: str) -> dict:
        """The citizen's view of an application; `WrongCode` or `Locked` when the check fails."""
        return self._send(
            "GET",
            f"/api/v1/applications/{quote(application_id, safe='')}",
            headers={"X-Verify-Code": verification_code},
        )

    def create_complaint(self, body: dict[str, Any], idempotency_key: str) -> dict:
        """Files a problem report; a repeated key is answered with the report already filed."""
        return self._send("POST", "/api/v1/complaints", json=body, headers={"Idempotency-Key": idempotency_key})

    def complaint(self, complaint_id: str, verification_code: str) -> dict:
        """The reporter's view of a report; `WrongCode` or `Locked` when the check fails."""
        return self._send(
            "GET", f"/api/v1/complaints/{quote(complaint_id, safe='')}", headers={"X-Verify-Code": verification_code}
        )

    def rate_complaint(self, complaint_id: str, verification_code: str, rating: str, comment: str = "") -> dict:
        """The reporter's satisfaction with the response; `Rejected('not_responded')` if there is none yet."""
        body = {"rating": rating, **({"comment": comment} if comment else {})}
        return self._send(
            "POST",
            f"/api/v1/complaints/{quote(complaint_id, safe='')}/satisfaction",
            json=body,
            headers={"X-Verify-Code": verification_code},
        )

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        try:
            return self._send("GET", path, params=params)
        except PlatformRefused as error:
            raise PlatformUnavailable(f"GET {path} was refused: {error}") from error

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        for attempt in range(self.retries + 1):
            try:
                response = self._session.request(
                    method, self.base_url + path, params=params, json=json, headers=headers, timeout=self.timeout
                )
            except requests.RequestException as error:
                failure: str = f"{type(error).__name__}"
            else:
                if response.status_code not in RETRY_STATUSES:
                    return _answer(method, path, response)
                failure = f"status {response.status_code}"
            if attempt < self.retries:
                time.sleep(RETRY_BACKOFF * (2**attempt))
        raise PlatformUnavailable(f"{method} {path} failed after {self.retries + 1} attempts: {failure}")


def _answer(method: str, path: str, response: requests.Response) -> Any:
    try:
        body = response.json()
    except ValueError as error:
        raise PlatformUnavailable(f"{method} {path} answered {response.status_code} without JSON") from error
    if response.status_code in (200, 201):
        return body
    code = str(((body or {}).get("error") or {}).get("code", ""))
    if response.status_code == 404:
        raise NotFound(path)
    if response.status_code in (401, 403):
        raise WrongCode(code)
    if response.status_code == 429:
        raise Locked(int(response.headers.get("Retry-After") or 900))
    if response.status_code in (400, 409, 422):
        raise Rejected(code, str(body["error"].get("message", "")))
    raise PlatformUnavailable(f"{method} {path} answered {response.status_code}")


class NotFound(PlatformUnavailable):
    """The platform answered 404."""


class PlatformRefused(Exception):
    """The platform understood the request and said no: the citizen is told why."""


class WrongCode(PlatformRefused):
    """A status check with a code that does not match (or for a number that does not exist)."""


class Locked(PlatformRefused):
    """Too many wrong codes: checks on that number are refused for a while."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"locked for {retry_after_seconds}s")
        self.retry_after_seconds = retry_after_seconds


class Rejected(PlatformRefused):
    """The platform refused a submission (400/409), with its error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


async def in_thread(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs a blocking call in the default executor so the action server keeps serving."""
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(call, *args, **kwargs))
