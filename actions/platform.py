"""The one HTTP client the actions use to reach the service platform (CONTRACT.md §3).

Every call has a timeout; safe (GET) calls are retried a bounded number of times on
connection errors and 502/503/504; anything else that goes wrong becomes
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

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        for attempt in range(self.retries + 1):
            try:
                response = self._session.get(self.base_url + path, params=params, timeout=self.timeout)
            except requests.RequestException as error:
                failure: str = f"{type(error).__name__}"
            else:
                if response.status_code == 404:
                    raise NotFound(path)
                if response.status_code not in RETRY_STATUSES:
                    if response.status_code != 200:
                        raise PlatformUnavailable(f"GET {path} answered {response.status_code}")
                    try:
                        return response.json()
                    except ValueError as error:
                        raise PlatformUnavailable(f"GET {path} answered no JSON") from error
                failure = f"status {response.status_code}"
            if attempt < self.retries:
                time.sleep(RETRY_BACKOFF * (2**attempt))
        raise PlatformUnavailable(f"GET {path} failed after {self.retries + 1} attempts: {failure}")


class NotFound(PlatformUnavailable):
    """The platform answered 404."""


async def in_thread(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs a blocking call in the default executor so the action server keeps serving."""
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(call, *args, **kwargs))
