"""Conversations kept as append-only event logs, read back as a bounded window: the cost
of a turn does not grow with the conversation.

A WeChat or Weibo follower keeps one sender id for years. Rasa 3.6's stores read a
conversation's whole session at every message (SQL) or the whole tracker, rewritten at
every save (Redis), and the policies and the action server then walk all of it. Here:

- the log: every event ever saved, in order, never rewritten — rows of Rasa's own
  `events` table (SQL, so Rasa's tools and `retrieve_full_tracker` read it as ever), or a
  Redis list per conversation. A save appends the turn's new events: O(turn).
- the checkpoint: once the window read back would exceed `2 × window` events, the state
  the conversation had at an `action_listen` about `window` events back — every slot set,
  the active form, a pause — is written as a handful of events, with the position in the
  log where the tail begins (a row of `zhengwu_checkpoints`, or a Redis key).
- a read returns the checkpoint's events followed by the log from that position:
  between `window` and `2 × window` events plus the state, whatever the conversation's
  length. The policies see the recent turns exactly as they happened (the checkpoint is
  the state *at* the cut, so every state in the tail is the true one); the form, the
  service, the region, the language, a pending report or application are slots and come
  through. The earlier history stays in the log for staff and audits
  (`retrieve_full_tracker`, Rasa's `GET /conversations/<id>/tracker`).

Used by bot.stores.redacting.RedactingTrackerStore (`window:` in endpoints.yml), which
redacts the events before they reach the log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from rasa.core.tracker_store import RedisTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    Event,
    LoopInterrupted,
    SlotSet,
)
from rasa.shared.core.trackers import DialogueStateTracker

CHECKPOINTS_TABLE = "zhengwu_checkpoints"
EVENTS_INDEX = "zhengwu_events_sender_id_id"


@dataclass
class Window:
    """What a read gives: the checkpoint's state events, then the logged events from the
    checkpoint on with their positions in the log."""

    state: list[Event]
    events: list[Event]
    positions: list[int]


class EventLog(Protocol):
    def read_window(self, sender_id: str) -> Window | None: ...

    def read_all(self, sender_id: str) -> list[Event] | None: ...

    def append(self, sender_id: str, events: Sequence[Event]) -> list[int]:
        """Add `events` at the end of the log; their positions."""
        ...

    def set_checkpoint(self, sender_id: str, position: int, state: Sequence[Event]) -> None: ...

    def delete(self, sender_id: str) -> bool: ...

    def exists(self, sender_id: str) -> bool: ...

    def keys(self) -> list[str]: ...


def event_log(store: Any, expiry_seconds: int | None) -> EventLog:
    """The log kept in the database or Redis server of one of Rasa's stores."""
    if isinstance(store, SQLTrackerStore):
        return SqlEventLog(store)
    if isinstance(store, RedisTrackerStore):
        return RedisEventLog(store, expiry_seconds)
    raise ValueError(f"a windowed conversation log needs an SQL or Redis store, not {type(store).__name__}")


def state_events(events: Iterable[Event], domain: Domain, timestamp: float) -> list[Event]:
    """Events that bring a new tracker to the state `events` leave one in: slots that
    differ from their initial values, the active form (and whether it was interrupted), a
    pause. All at `timestamp`, which must not be after the events that follow them."""
    scratch = DialogueStateTracker.from_events("checkpoint", list(events), domain.slots)
    state: list[Event] = []
    for slot in scratch.slots.values():
        if slot.value != slot.initial_value:
            state.append(SlotSet(slot.name, slot.value, timestamp=timestamp))
    if scratch.active_loop_name:
        state.append(ActiveLoop(scratch.active_loop_name, timestamp=timestamp))
        if scratch.active_loop is not None and scratch.active_loop.is_interrupted:
            state.append(LoopInterrupted(True, timestamp=timestamp))
    if scratch.is_paused():
        state.append(ConversationPaused(timestamp=timestamp))
    return state


def cut_index(events: Sequence[Event], positions: Sequence[int | None], keep: int) -> int | None:
    """Where to begin the next window: the last `action_listen` that leaves at least
    `keep` events after it (and is in the log, not part of a checkpoint); None if none."""
    for index in range(len(events) - keep, 0, -1):
        event = events[index]
        if positions[index] is not None and isinstance(event, ActionExecuted) and event.action_name == "action_listen":
            return index
    return None


def _dump(event: Event) -> str:
    return json.dumps(event.as_dict(), ensure_ascii=False)


def _load(text: str | bytes) -> Event:
    return Event.from_parameters(json.loads(text))


class SqlEventLog:
    """Rasa's `events` table (rows as Rasa's SQL store writes them), an index on
    (sender_id, id) so that a window is one range scan, and a table of checkpoints."""

    def __init__(self, store: SQLTrackerStore) -> None:
        self.store = store
        self.event = store.SQLEvent
        metadata = sa.MetaData()
        self.checkpoints = sa.Table(
            CHECKPOINTS_TABLE,
            metadata,
            sa.Column("sender_id", sa.String(255), primary_key=True),
            sa.Column("event_id", sa.Integer, nullable=False),
            sa.Column("events", sa.Text, nullable=False),
        )
        metadata.create_all(store.engine, checkfirst=True)
        table = self.event.__table__
        index = next((index for index in table.indexes if index.name == EVENTS_INDEX), None)
        if index is None:  # one definition per process, however many stores
            index = sa.Index(EVENTS_INDEX, self.event.sender_id, self.event.id)
        index.create(store.engine, checkfirst=True)

    def read_window(self, sender_id: str) -> Window | None:
        with self.store.session_scope() as session:
            row = session.execute(
                sa.select(self.checkpoints.c.event_id, self.checkpoints.c.events).where(
                    self.checkpoints.c.sender_id == sender_id
                )
            ).first()
            start, state = (row[0], [_load(data) for data in json.loads(row[1])]) if row else (0, [])
            rows = (
                session.query(self.event.id, self.event.data)
                .filter(self.event.sender_id == sender_id, self.event.id >= start)
                .order_by(self.event.id)
                .all()
            )
        if not rows and not state:
            return None
        return Window(state, [_load(data) for _, data in rows], [position for position, _ in rows])

    def read_all(self, sender_id: str) -> list[Event] | None:
        with self.store.session_scope() as session:
            rows = session.query(self.event.data).filter(self.event.sender_id == sender_id).order_by(self.event.id)
            events = [_load(data) for (data,) in rows]
        return events or None

    def append(self, sender_id: str, events: Sequence[Event]) -> list[int]:
        if not events:
            return []
        with self.store.session_scope() as session:
            rows = []
            for event in events:
                data = event.as_dict()
                intent = (data.get("parse_data") or {}).get("intent") or {}
                rows.append(
                    self.event(
                        sender_id=sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=intent.get("name") if isinstance(intent, dict) else None,
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.add_all(rows)
            session.flush()
            positions = [int(row.id) for row in rows]
            session.commit()
        return positions

    def set_checkpoint(self, sender_id: str, position: int, state: Sequence[Event]) -> None:
        data = json.dumps([_dump(event) for event in state], ensure_ascii=False)
        with self.store.session_scope() as session:
            table = self.checkpoints
            updated = session.execute(
                table.update().where(table.c.sender_id == sender_id).values(event_id=position, events=data)
            )
            if not updated.rowcount:
                session.execute(table.insert().values(sender_id=sender_id, event_id=position, events=data))
            session.commit()

    def delete(self, sender_id: str) -> bool:
        with self.store.session_scope() as session:
            deleted = session.query(self.event).filter(self.event.sender_id == sender_id).delete()
            session.execute(self.checkpoints.delete().where(self.checkpoints.c.sender_id == sender_id))
            session.commit()
        return bool(deleted)

    def delete_many(self, session: Any, sender_ids: Sequence[str]) -> None:
        session.execute(self.checkpoints.delete().where(self.checkpoints.c.sender_id.in_(list(sender_ids))))

    def exists(self, sender_id: str) -> bool:
        with self.store.session_scope() as session:
            return session.query(self.event.id).filter(self.event.sender_id == sender_id).first() is not None

    def keys(self) -> list[str]:
        with self.store.session_scope() as session:
            return [sender for (sender,) in session.query(self.event.sender_id).distinct()]


class RedisEventLog:
    """A Redis list of the events' JSON per conversation (`<prefix>log:<sender>`) and the
    checkpoint beside it (`<prefix>checkpoint:<sender>`), both expiring together after the
    retention period since the last save."""

    def __init__(self, store: RedisTrackerStore, expiry_seconds: int | None) -> None:
        self.red = store.red
        self.prefix = store.key_prefix
        self.expiry = expiry_seconds

    def _log(self, sender_id: str) -> str:
        return f"{self.prefix}log:{sender_id}"

    def _checkpoint(self, sender_id: str) -> str:
        return f"{self.prefix}checkpoint:{sender_id}"

    def read_window(self, sender_id: str) -> Window | None:
        checkpoint = self.red.get(self._checkpoint(sender_id))
        start, state = 0, []
        if checkpoint is not None:
            saved = json.loads(checkpoint)
            start, state = int(saved["position"]), [_load(data) for data in saved["events"]]
        items = self.red.lrange(self._log(sender_id), start, -1)
        if not items and not state:
            return None
        return Window(state, [_load(item) for item in items], list(range(start, start + len(items))))

    def read_all(self, sender_id: str) -> list[Event] | None:
        return [_load(item) for item in self.red.lrange(self._log(sender_id), 0, -1)] or None

    def append(self, sender_id: str, events: Sequence[Event]) -> list[int]:
        if not events:
            return []
        pipe = self.red.pipeline(transaction=True)
        pipe.rpush(self._log(sender_id), *[_dump(event) for event in events])
        if self.expiry:
            pipe.expire(self._log(sender_id), self.expiry)
            pipe.expire(self._checkpoint(sender_id), self.expiry)
        length = int(pipe.execute()[0])
        return list(range(length - len(events), length))

    def set_checkpoint(self, sender_id: str, position: int, state: Sequence[Event]) -> None:
        value = json.dumps({"position": position, "events": [_dump(event) for event in state]}, ensure_ascii=False)
        self.red.set(self._checkpoint(sender_id), value, ex=self.expiry or None)

    def delete(self, sender_id: str) -> bool:
        return bool(self.red.delete(self._log(sender_id), self._checkpoint(sender_id)))

    def exists(self, sender_id: str) -> bool:
        return bool(self.red.exists(self._log(sender_id)))

    def keys(self) -> list[str]:
        start = len(self.prefix) + len("log:")
        keys = self.red.scan_iter(match=f"{self.prefix}log:*")
        return [(key.decode("utf-8") if isinstance(key, bytes) else key)[start:] for key in keys]
