"""Telling citizens in their conversation that their application or report moved on.

A change writes a row to the `notifications` outbox in the same transaction
(`queue_notification`, from backend/records.py and backend/complaints/records.py): the
intent to trigger, its entities and the change it tells of (`source`, one row per
change). The Notifier sends due rows to Rasa's HTTP API as an external
event, `POST /conversations/{id}/trigger_intent`, right after the change and then every
couple of seconds, with a growing pause between attempts for one row, until Rasa
answers 2xx or 50 attempts have failed. Rows still pending when the platform stopped are
sent after it starts again. Rows of one conversation are sent in order: a later change
waits while an earlier one is still undelivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import yarl
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine, RowMapping

from backend.store import notifications_table

log = logging.getLogger(__name__)

STATUS_CHANGED_INTENT = "EXTERNAL_application_status_changed"
COMPLAINT_UPDATED_INTENT = "EXTERNAL_complaint_updated"
MAX_ATTEMPTS = 50
POLL_SECONDS = 2.0
_MAX_PAUSE = timedelta(minutes=1)
# Rasa runs the bot's next actions before it answers trigger_intent, which can take a while.
_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=3)
_BATCH = 100
_CLAIM = timedelta(seconds=60)  # longer than any attempt takes


def outbox_row(
    source: str, conversation_id: str, intent: str, entities: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The notifications row telling of one change (`source`, as 'table:id'): due at once."""
    return {
        "source": source,
        "conversation_id": conversation_id,
        "intent": intent,
        "entities": json.dumps(dict(entities), ensure_ascii=False),
        "created_at": now,
        "next_attempt_at": now,
        "attempts": 0,
    }


def queue_notification(
    conn: Connection, source: str, conversation_id: str, intent: str, entities: Mapping[str, Any], now: datetime
) -> None:
    """Write the row in the caller's transaction, so that it exists exactly when the change does."""
    conn.execute(notifications_table.insert().values(outbox_row(source, conversation_id, intent, entities, now)))


def pause_after(attempts: int) -> timedelta:
    """2 s after each of the first three failures (a blip), then doubling up to a minute:
    50 attempts span about three quarters of an hour, enough for Rasa to restart."""
    doublings = min(max(0, attempts - 3), 5)
    return min(timedelta(seconds=2 * 2**doublings), _MAX_PAUSE)


def pending_notifications(engine: Engine, limit: int = _BATCH) -> list[RowMapping]:
    table = notifications_table
    with engine.connect() as conn:
        query = (
            select(table)
            .where(table.c.delivered_at.is_(None), table.c.gave_up_at.is_(None))
            .order_by(table.c.id)
            .limit(limit)
        )
        return list(conn.execute(query).mappings().all())


def claim(engine: Engine, row: RowMapping, now: datetime) -> bool:
    """Take the row for one attempt, unless another pass (or another platform process on
    the same database) took it since it was read: it is then not due again for a while."""
    table = notifications_table
    with engine.begin() as conn:
        taken = conn.execute(
            table.update()
            .where(table.c.id == row["id"], table.c.attempts == row["attempts"], table.c.delivered_at.is_(None))
            .where(table.c.next_attempt_at == row["next_attempt_at"])
            .values(next_attempt_at=now + _CLAIM)
        )
        return taken.rowcount == 1


def record_attempt(engine: Engine, row: RowMapping, error: str | None, now: datetime) -> None:
    attempts = row["attempts"] + 1
    if error is None:
        values: dict[str, Any] = {"attempts": attempts, "delivered_at": now, "last_error": None}
    else:
        values = {"attempts": attempts, "last_error": error[:200], "next_attempt_at": now + pause_after(attempts)}
        if attempts >= MAX_ATTEMPTS:
            values["gave_up_at"] = now
    with engine.begin() as conn:
        conn.execute(notifications_table.update().where(notifications_table.c.id == row["id"]).values(**values))


def _log_failure(notification_id: int, attempt: int, error: str) -> None:
    # The first failure and the last are worth a warning; the retries between are routine.
    if attempt == 1 or attempt >= MAX_ATTEMPTS:
        outcome = "giving up" if attempt >= MAX_ATTEMPTS else "will retry"
        log.warning("notification %d not delivered (attempt %d, %s): %s", notification_id, attempt, outcome, error)
    else:
        log.info("notification %d not delivered (attempt %d): %s", notification_id, attempt, error)


class Notifier:
    """Delivers the outbox to Rasa. One delivery pass at a time in a process, and each row
    claimed before it is sent, so that no row is sent twice at once."""

    def __init__(self, engine: Engine, rasa_url: str, rasa_token: str) -> None:
        self._engine = engine
        self._rasa_url = rasa_url.rstrip("/")
        self._rasa_token = rasa_token
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        self._loop_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=_TIMEOUT)
        self._loop_task = asyncio.create_task(self._retry_forever())

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._session is not None:
            await self._session.close()

    async def deliver_now(self) -> None:
        """Right after a change: send what is due, leaving any failure to the retry loop."""
        try:
            await self.deliver_due()
        except Exception:
            # The database may be briefly unreachable; the rows wait for the next pass.
            log.exception("notification pass failed")

    async def deliver_due(self) -> int:
        """Send every due row once; returns how many Rasa accepted."""
        async with self._lock:
            rows = await asyncio.to_thread(pending_notifications, self._engine)
            waiting: set[str] = set()
            delivered = 0
            for row in rows:
                conversation = row["conversation_id"]
                if conversation in waiting:
                    continue
                now = datetime.now(timezone.utc)
                if row["next_attempt_at"] > now or not await asyncio.to_thread(claim, self._engine, row, now):
                    waiting.add(conversation)
                    continue
                error = await self._send(row)
                await asyncio.to_thread(record_attempt, self._engine, row, error, datetime.now(timezone.utc))
                if error is None:
                    delivered += 1
                else:
                    waiting.add(conversation)
                    _log_failure(row["id"], row["attempts"] + 1, error)
            return delivered

    async def _send(self, row: RowMapping) -> str | None:
        """None when Rasa accepted the event; otherwise what went wrong, without the token."""
        if self._session is None or self._session.closed:
            return "the notifier is not running"
        path = f"/conversations/{quote(row['conversation_id'], safe='')}/trigger_intent"
        query = urlencode({"output_channel": "latest", "token": self._rasa_token})
        url = yarl.URL(f"{self._rasa_url}{path}?{query}", encoded=True)
        event = {"name": row["intent"], "entities": json.loads(row["entities"])}
        try:
            async with self._session.post(url, json=event) as answer:
                await answer.read()
                if 200 <= answer.status < 300:
                    return None
                return f"HTTP {answer.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            message = f"{type(error).__name__}: {error}"
            return message.replace(self._rasa_token, "***") if self._rasa_token else message

    async def _retry_forever(self) -> None:
        while True:
            await self.deliver_now()
            await asyncio.sleep(POLL_SECONDS)
