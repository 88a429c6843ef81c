"""Rasa's Redis lock store, made safe for several Rasa processes at once.

Rasa 3.6 serialises the messages of one conversation with a ticket lock kept as one JSON
value in Redis, but every change to it is a read, a change in Python and a write (Rasa
issue 9213): two processes taking a ticket at the same moment can both get the same
number, and one process deleting an empty lock can delete the ticket another has just
issued, whose message then fails with "Could not acquire lock". Here every change is one
Redis transaction (WATCH, then MULTI/EXEC, retried when another process changed the lock
in between), so tickets are unique and none is lost.

Also: a ticket lives `TICKET_SECONDS` (10 s), not Rasa's 60, and its holder renews it
every 2.5 s while its message waits or is handled. A ticket whose holder is gone — a Rasa
worker killed, or a Redis restarted from its append-only file while a message was in
flight, so that no one could remove the ticket — then holds the conversation up for 10 s
at most instead of a minute. The key expires shortly after its last ticket would have;
and a message waiting for its turn looks again every 50 ms instead of every second.

    lock_store:
      type: bot.stores.locks.AtomicRedisLockStore
      url: 127.0.0.1
      port: 6379
      db: 0
      key_prefix: zhengwu
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")
WAIT_BETWEEN_LOOKS = 0.05  # seconds
TICKET_SECONDS = 10.0  # a ticket not renewed for this long is dropped
RENEWALS_PER_LIFETIME = 4


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        # Rasa builds a lock store named by its module path with `endpoint_config=` only.
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = WAIT_BETWEEN_LOOKS,
    ) -> AsyncGenerator[TicketLock, None]:
        lifetime = min(float(lock_lifetime), TICKET_SECONDS)
        ticket = self.issue_ticket(conversation_id, lifetime)
        keeper = asyncio.create_task(self._keep(conversation_id, ticket, lifetime))
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            keeper.cancel()
            try:
                self.cleanup(conversation_id, ticket)
            except RedisError as error:
                # Redis went away: the ticket lapses within `lifetime` by itself, and the
                # turn's own outcome (an answer, or the error that stopped it) stands.
                logger.warning("Could not release a lock ticket of a conversation: %s", type(error).__name__)

    async def _keep(self, conversation_id: str, ticket: int, lifetime: float) -> None:
        """Renews the ticket until cancelled, so that it lasts as long as its message."""
        while True:
            await asyncio.sleep(lifetime / RENEWALS_PER_LIFETIME)
            try:
                self._change(conversation_id, lambda lock: _renew(lock, ticket, lifetime), create=False)
            except RedisError as error:
                logger.warning("Could not renew a lock ticket of a conversation: %s", type(error).__name__)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        ticket = self._change(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime))
        assert ticket is not None, "a lock is created when there is none"
        return ticket

    def update_lock(self, conversation_id: str) -> None:
        self._change(conversation_id, lambda lock: lock.remove_expired_tickets(), create=False)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number), create=False)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # Removing the ticket deletes the key once no ticket is left, in the same step:
        # there is no moment in which another process's new ticket could be deleted.
        self.finish_serving(conversation_id, ticket_number)

    def _change(self, conversation_id: str, change: Callable[[TicketLock], T], create: bool = True) -> T | None:
        key = self.key_prefix + conversation_id

        def transaction(pipe: Any) -> T | None:
            raw = pipe.get(key)
            if raw is None and not create:
                return None
            lock = TicketLock.from_dict(json.loads(raw)) if raw else self.create_lock(conversation_id)
            result = change(lock)
            lock.remove_expired_tickets()
            pipe.multi()
            if lock.tickets:
                last_expiry = max(ticket.expires for ticket in lock.tickets)
                pipe.set(key, lock.dumps(), ex=max(1, math.ceil(last_expiry - time.time()) + 5))
            else:
                pipe.delete(key)
            return result

        result: T | None = self.red.transaction(transaction, key, value_from_callable=True)
        return result


def _renew(lock: TicketLock, number: int, lifetime: float) -> None:
    for ticket in lock.tickets:
        if ticket.number == number:
            ticket.expires = time.time() + lifetime
