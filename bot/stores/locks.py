"""Rasa's Redis lock store, made safe for several Rasa processes at once.

Rasa 3.6 serialises the messages of one conversation with a ticket lock kept as one JSON
value in Redis, but every change to it is a read, a change in Python and a write (Rasa
issue 9213): two processes taking a ticket at the same moment can both get the same
number, and one process deleting an empty lock can delete the ticket another has just
issued, whose message then fails with "Could not acquire lock". Here every change is one
Lua script run by Redis (`CHANGE`: read, change and write or delete the lock in one
step, which nothing else can interleave with), so tickets are unique and none is lost;
and a change is one round trip to Redis instead of Rasa's two, or the three and more of
a WATCH/MULTI transaction. The lock keeps Rasa's format (tickets as JSON strings in a
JSON list), which Rasa's `get_lock` reads as before.

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
import logging
import time
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

WAIT_BETWEEN_LOOKS = 0.05  # seconds
TICKET_SECONDS = 10.0  # a ticket not renewed for this long is dropped
RENEWALS_PER_LIFETIME = 4


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        # Rasa builds a lock store named by its module path with `endpoint_config=` only.
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)
        self._script = self.red.register_script(CHANGE)

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
                self._change("renew", conversation_id, ticket, lifetime)
            except RedisError as error:
                logger.warning("Could not renew a lock ticket of a conversation: %s", type(error).__name__)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        ticket = self._change("issue", conversation_id, lifetime=lock_lifetime)
        assert ticket is not None, "a lock is created when there is none"
        return ticket

    def update_lock(self, conversation_id: str) -> None:
        self._change("expire", conversation_id)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._change("remove", conversation_id, ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # Removing the ticket deletes the key once no ticket is left, in the same step:
        # there is no moment in which another process's new ticket could be deleted.
        self.finish_serving(conversation_id, ticket_number)

    def _change(self, change: str, conversation_id: str, ticket: int = 0, lifetime: float = 0.0) -> int | None:
        """One change to the lock, in Redis: the ticket issued by "issue", else None."""
        # The clock of this process, as Rasa's TicketLock uses it to tell expired tickets.
        args = [change, repr(time.time()), repr(float(lifetime)), ticket, conversation_id]
        result = self._script(keys=[self.key_prefix + conversation_id], args=args)
        return int(result) if result is not None else None


# KEYS[1] the lock; ARGV: change ("issue", "renew", "remove" or "expire"), now, lifetime,
# ticket number, conversation id. As TicketLock: expired tickets dropped, a new ticket
# numbered after the last one left (0 when none), the key deleted when no ticket is left
# and otherwise expiring 5 s after its last ticket.
CHANGE = """
local raw = redis.call('GET', KEYS[1])
local change = ARGV[1]
if not raw and change ~= 'issue' then return nil end
local now, lifetime, number = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local conversation_id = ARGV[5]
local tickets = {}
if raw then
  local lock = cjson.decode(raw)
  conversation_id = lock.conversation_id
  for _, encoded in ipairs(lock.tickets or {}) do
    local ticket = cjson.decode(encoded)
    if ticket.expires >= now then table.insert(tickets, ticket) end
  end
end
local result = nil
if change == 'issue' then
  result = 0
  if #tickets > 0 then result = tickets[#tickets].number + 1 end
  table.insert(tickets, {number = result, expires = now + lifetime})
elseif change == 'renew' or change == 'remove' then
  for index, ticket in ipairs(tickets) do
    if ticket.number == number then
      if change == 'renew' then ticket.expires = now + lifetime else table.remove(tickets, index) end
      break
    end
  end
end
if #tickets == 0 then
  redis.call('DEL', KEYS[1])
  return result
end
local encoded, last = {}, now
for index, ticket in ipairs(tickets) do
  encoded[index] = cjson.encode({number = ticket.number, expires = ticket.expires})
  if ticket.expires > last then last = ticket.expires end
end
local lock = cjson.encode({conversation_id = conversation_id, tickets = encoded})
redis.call('SET', KEYS[1], lock, 'EX', math.max(1, math.ceil(last - now) + 5))
return result
"""
