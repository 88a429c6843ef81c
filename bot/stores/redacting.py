"""A tracker store that never writes personal data: it wraps the store Rasa would use
(SQL, Redis, any other) and hands it a redacted copy of each tracker to save.

Configured in endpoints.yml; the real store's settings go under `store`:

    tracker_store:
      type: bot.stores.redacting.RedactingTrackerStore
      store:
        type: SQL
        dialect: sqlite
        db: var/tracker.db
      pii_slots: [applicant_name, id_number, phone]   # optional; this is the default
      retention_days: 180   # optional; default CONVERSATION_RETENTION_DAYS, else 180; 0 keeps all
      window: 40            # optional; 0 (default): Rasa's own way of storing

With `window: N` the conversation is an append-only log read back as a window of N to 2N
events after a checkpoint of the state (bot/stores/windowed.py): a turn costs the same at
the thousandth message as at the first. Without it, Rasa's store saves as it always does.

Retention: a conversation no one has written to for `retention_days` is deleted — by
Redis itself (the store's `record_exp`, renewed at every save) or, for SQL, by a purge of
conversations whose last event is older, run when the store starts and then hourly.
`delete(sender_id)` removes one conversation at once (a citizen's request;
bot/channels/privacy.py serves it to operators).

What the copy holds instead of the conversation as it happened:

- a user message sent while the form asked for a personal slot (the `requested_slot` in
  force at that point), or followed in the same turn by a personal slot set to a value
  that is not sealed, becomes "[redacted]" whole, entities included: names cannot be found
  by a pattern, only by knowing what was asked;
- a personal slot keeps None and the action server's ciphertext ("sealed:…"); any other
  value becomes "[redacted]";
- every other string (user and bot texts, other slots, bot data, metadata) goes through
  bot.privacy.redact_text, which replaces ID numbers, mobile numbers and long digit runs.

The copy has the same events in the same order with the same timestamps, because Rasa's
stores decide what is new from what they already hold: the SQL store appends the events
beyond the count it has for the latest session, the Redis store rewrites the whole
tracker but first replays the new one up to the last stored timestamp and compares it
with the stored events (on a mismatch it merges and duplicates). Redacting the same
events therefore always gives the same result, and redacting twice changes nothing. The
one rule that looks ahead (a slot set after the message) is not applied to a message the
store already holds: Rasa saves once per message, after the actions, so a message and the
slots it fills arrive together; only a save in between (the HTTP API's /messages, then
/execute) separates them, and then the earlier message stays as it was saved.

Rasa reads the tracker back from the store at every message, so what the next turn sees
of a personal slot is its sealed value (or "[redacted]"), never the plain one. The
tracker Rasa holds in memory during a turn is not changed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import time
from collections import deque
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import sqlalchemy
import sqlalchemy.orm
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import InMemoryTrackerStore, RedisTrackerStore, SQLTrackerStore, TrackerStore
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SlotSet, UserUttered
from rasa.shared.core.trackers import AnySlotDict, DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import func

from bot.privacy import is_sealed, redact_value
from bot.stores.windowed import EventLog, SqlEventLog, cut_index, event_log, state_events

logger = logging.getLogger(__name__)

DEFAULT_PII_SLOTS = ("applicant_name", "id_number", "phone")
DEFAULT_RETENTION_DAYS = 180
PURGE_EVERY = 3600.0  # seconds between purges of expired SQL conversations
REDACTED = "[redacted]"

# Identify an event rather than say anything: the same for every citizen.
_KEPT_AS_IS = frozenset({"event", "timestamp", "message_id", "input_channel"})
# After these, slots start afresh, so a slot set next was not caused by the last message.
_NEW_START = frozenset({"session_started", "restart"})


def redact_events(
    events: Iterable[Event], pii_slots: Collection[str] = DEFAULT_PII_SLOTS, stored: Iterable[Event] | None = None
) -> list[Event]:
    """New events, one for each of `events` and in the same order, without personal data.

    `stored`: the events the store already holds for the conversation, if known; a user
    message among them is redacted as it was when it was saved.
    The events are taken through the JSON Rasa's stores write (`as_dict`), so the copies
    share nothing with the originals and equal what a store would give back.
    """
    return _Redaction(events, pii_slots).events(stored)


def redact_tracker(
    tracker: DialogueStateTracker, pii_slots: Collection[str] = DEFAULT_PII_SLOTS, stored: Iterable[Event] | None = None
) -> DialogueStateTracker:
    """A new tracker for the same conversation whose events are `redact_events` of the
    tracker's events, replayed so that its slots and latest message match them too."""
    return _tracker_with(tracker, redact_events(tracker.events, pii_slots, stored))


class RedactingTrackerStore(TrackerStore):
    """Saves redacted copies into the configured store and reads everything back from it."""

    def __init__(
        self,
        domain: Domain | None = None,
        event_broker: EventBroker | None = None,
        store: Mapping[str, Any] | EndpointConfig | TrackerStore | None = None,
        pii_slots: Iterable[str] | str | None = None,
        retention_days: float | str | None = None,
        window: int | str | None = None,
        host: str | None = None,
        **kwargs: Any,
    ) -> None:
        # Rasa passes the endpoint's top-level `url` as `host` and every other key as a
        # keyword; settings meant for the real store would be silently ignored here.
        if store is None:
            raise ValueError("RedactingTrackerStore needs `store:`, the tracker store it saves into")
        if host or kwargs:
            unexpected = sorted({*kwargs, *(["url"] if host else [])})
            raise ValueError(f"RedactingTrackerStore: put {unexpected} under `store:`, the real store's settings")
        if isinstance(pii_slots, str):
            pii_slots = [pii_slots]
        self.pii_slots = frozenset(DEFAULT_PII_SLOTS if pii_slots is None else pii_slots)
        self._inner = _inner_store(store, domain, event_broker)
        self.retention_days = _retention_days(retention_days)
        if isinstance(self._inner, SQLTrackerStore) and self._inner.engine.dialect.name == "sqlite":
            _write_ahead(self._inner)
        self.window = int(window or 0)
        if self.window < 0:
            raise ValueError("window must be a number of events (0: Rasa's own way of storing)")
        expiry = getattr(self._inner, "record_exp", None)
        self._log: EventLog | None = event_log(self._inner, int(expiry) if expiry else None) if self.window else None
        if isinstance(self._inner, RedisTrackerStore) and self.retention_days and not self._inner.record_exp:
            self._inner.record_exp = int(self.retention_days * 86400)
        self._next_purge = 0.0  # the first save purges
        # The broker is the inner store's too: it publishes the redacted events it saves.
        # Keeping it here lets Rasa close it on shutdown.
        super().__init__(domain, event_broker)

    @property
    def inner(self) -> TrackerStore:
        """The store the redacted trackers are saved into."""
        return self._inner

    @property
    def domain(self) -> Domain:
        return self._inner.domain

    @domain.setter
    def domain(self, domain: Domain | None) -> None:
        # Rasa creates the store before it has loaded a model and sets the domain later;
        # the inner store needs it to know the slots of the trackers it reads back.
        self._inner.domain = domain or Domain.empty()

    async def save(self, tracker: DialogueStateTracker) -> None:
        if self._log is not None:
            await self._append(tracker, self._log)
        else:
            await self._inner.save(await self._redacted(tracker))
        if self.retention_days and isinstance(self._inner, SQLTrackerStore) and time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + PURGE_EVERY
            await asyncio.get_running_loop().run_in_executor(None, self.purge_expired)

    async def delete(self, sender_id: str) -> bool:
        """Remove every event of the conversation; True when there was one."""
        return await asyncio.get_running_loop().run_in_executor(None, self._delete, sender_id)

    def _delete(self, sender_id: str) -> bool:
        if self._log is not None:
            return self._log.delete(sender_id)
        inner = self._inner
        if isinstance(inner, RedisTrackerStore):
            return bool(inner.red.delete(inner.key_prefix + sender_id))
        if isinstance(inner, SQLTrackerStore):
            with inner.session_scope() as session:
                deleted = session.query(inner.SQLEvent).filter(inner.SQLEvent.sender_id == sender_id).delete()
                session.commit()
            return bool(deleted)
        if isinstance(inner, InMemoryTrackerStore):
            return inner.store.pop(sender_id, None) is not None
        raise NotImplementedError(f"deleting a conversation from a {type(inner).__name__}")

    def purge_expired(self, now: float | None = None) -> int:
        """Delete the SQL conversations last written before the retention period; how many.
        (Redis expires its own.)"""
        inner = self._inner
        if not self.retention_days or not isinstance(inner, SQLTrackerStore):
            return 0
        cutoff = (time.time() if now is None else now) - self.retention_days * 86400
        event = inner.SQLEvent
        with inner.session_scope() as session:
            expired = (
                session.query(event.sender_id).group_by(event.sender_id).having(func.max(event.timestamp) < cutoff)
            )
            senders = [row[0] for row in expired]
            for start in range(0, len(senders), 500):
                chunk = senders[start : start + 500]
                session.query(event).filter(event.sender_id.in_(chunk)).delete(synchronize_session=False)
                if isinstance(self._log, SqlEventLog):
                    self._log.delete_many(session, chunk)
            session.commit()
        if senders:
            logger.info("Deleted %d conversations older than %s days.", len(senders), self.retention_days)
        return len(senders)

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        if self._log is None:
            await self._inner.stream_events(await self._redacted(tracker))
        # (with a window, `save` publishes the events it appends)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        self._inner.max_event_history = self.max_event_history
        if self._log is not None:
            window = self._log.read_window(sender_id)
            if window is None:
                return None
            events = window.state + window.events
            read = DialogueStateTracker.from_events(sender_id, events, self.domain.slots, self.max_event_history)
            _remember_saved(read, events, [None] * len(window.state) + list(window.positions))
            return read
        tracker = await self._inner.retrieve(sender_id)
        if tracker is not None:
            # Its events are what the store holds, already redacted: a later save of this
            # tracker redacts only the events added after them.
            _remember_saved(tracker, list(tracker.events))
        return tracker

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        self._inner.max_event_history = self.max_event_history
        if self._log is not None:
            events = self._log.read_all(conversation_id)
            if events is None:
                return None
            return DialogueStateTracker.from_events(conversation_id, events, self.domain.slots, self.max_event_history)
        return await self._inner.retrieve_full_tracker(conversation_id)

    async def exists(self, conversation_id: str) -> bool:
        if self._log is not None:
            return self._log.exists(conversation_id)
        return await self._inner.exists(conversation_id)

    async def keys(self) -> Iterable[str]:
        if self._log is not None:
            return self._log.keys()
        return await self._inner.keys()

    async def _append(self, tracker: DialogueStateTracker, log: EventLog) -> None:
        """Window mode: append the turn's new events, redacted, to the log; move the
        checkpoint when the window has grown to twice its size."""
        saved = _saved_part(tracker, whole=False)
        if saved is not None:
            count, window, positions, requested_slot = saved
            new = list(itertools.islice(tracker.events, count, None))
        else:
            # A tracker not read from this store (a new conversation, the HTTP API's
            # replacement of events): what is new is what comes after the log's last event.
            read = log.read_window(tracker.sender_id)
            window = (read.state + read.events) if read else []
            positions = ([None] * len(read.state) + list(read.positions)) if read else []
            saved_until = max((event.timestamp for event in read.events), default=float("-inf")) if read else None
            new = [event for event in tracker.events if saved_until is None or event.timestamp > saved_until]
            requested_slot = (
                DialogueStateTracker.from_events("window", window, self.domain.slots).get_slot(REQUESTED_SLOT)
                if window
                else None
            )
        redacted = _Redaction(new, self.pii_slots, requested_slot).events(None)
        events = window + redacted
        positions = positions + list(log.append(tracker.sender_id, redacted))
        if len(events) > 2 * self.window:
            cut = cut_index(events, positions, self.window)
            if cut is not None:
                state = state_events(events[:cut], self.domain, events[cut].timestamp)
                position = positions[cut]
                assert position is not None, "cut_index cuts at a logged event"
                log.set_checkpoint(tracker.sender_id, position, state)
                events, positions = state + events[cut:], [None] * len(state) + positions[cut:]
        _remember_saved(tracker, events, positions)
        if self.event_broker is not None and redacted:
            await self._stream_new_events(self.event_broker, redacted, tracker.sender_id)

    async def _redacted(self, tracker: DialogueStateTracker) -> DialogueStateTracker:
        saved = _saved_part(tracker)
        if saved is not None:
            # The usual case: Rasa read this tracker from the store, added a turn's events
            # and saves it. The events read are kept as they were saved; only the new ones
            # are redacted, from the `requested_slot` in force where they begin. The work
            # grows with the turn, not with the conversation.
            saved_events, requested_slot = saved
            new = list(itertools.islice(tracker.events, len(saved_events), None))
            events = saved_events + _Redaction(new, self.pii_slots, requested_slot).events(None)
            _remember_saved(tracker, events)
            return _tracker_holding(tracker, events)
        redaction = _Redaction(tracker.events, self.pii_slots)
        stored = None
        if redaction.needs_saved_state:
            # Only when a message would be withheld because of a slot set after it: a
            # message saved before that slot was must be written as it was saved. The
            # SQL store only appends, so it could not be taken back, and a changed copy
            # would make the Redis store merge it in a second time at the end. Costs one
            # read, and only in that case.
            saved = await self._inner.retrieve_full_tracker(tracker.sender_id)
            stored = list(saved.events) if saved is not None else []
        events = redaction.events(stored)
        _remember_saved(tracker, events)
        return _tracker_with(tracker, events)

    def __getattr__(self, name: str) -> Any:
        # Anything else a particular store offers (delete, its engine or client, …).
        if name.startswith("__") or name == "_inner":
            raise AttributeError(name)
        return getattr(self._inner, name)


def _write_ahead(store: SQLTrackerStore) -> None:
    """SQLite with a write-ahead log, synced at checkpoints rather than at every commit,
    and connections kept open (SQLAlchemy 1.4 opens and closes one per session for a file
    database, and closing the last one checkpoints and syncs): a turn's save is a write,
    not an fsync. A power cut may lose the last turns; nothing is corrupted
    (https://www.sqlite.org/wal.html)."""
    engine = sqlalchemy.create_engine(
        store.engine.url, poolclass=sqlalchemy.pool.QueuePool, connect_args={"check_same_thread": False}
    )

    def configure(connection: Any, record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    sqlalchemy.event.listen(engine, "connect", configure)
    store.engine.dispose()
    store.engine = engine
    store.sessionmaker = sqlalchemy.orm.session.sessionmaker(bind=engine)


def _retention_days(configured: float | str | None) -> float:
    value = configured if configured is not None else os.environ.get("CONVERSATION_RETENTION_DAYS")
    if value is None or value == "":
        return DEFAULT_RETENTION_DAYS
    days = float(value)
    if days < 0:
        raise ValueError("retention_days must be 0 (keep everything) or a number of days")
    return days


def _inner_store(
    store: Mapping[str, Any] | EndpointConfig | TrackerStore, domain: Domain | None, event_broker: EventBroker | None
) -> TrackerStore:
    if isinstance(store, TrackerStore):
        return store
    config = store if isinstance(store, EndpointConfig) else EndpointConfig.from_dict(dict(store))
    # Rasa's own factory, so that every store type, plugin and connection check it knows
    # works here as it would at the top level.
    return TrackerStore.create(config, domain, event_broker)


class _Redaction:
    """The events of one tracker as JSON and which user messages to keep no text of."""

    def __init__(self, events: Iterable[Event], pii_slots: Collection[str], requested_slot: Any = None) -> None:
        """`requested_slot`: the one in force before the first of `events`."""
        self.pii_slots = pii_slots
        self.serialised = [json.dumps(event.as_dict()) for event in events]
        self.asked: set[int] = set()
        """Messages sent while the form asked for a personal slot."""
        self.told: dict[int, float] = {}
        """Messages followed by a personal slot set in plain, with their timestamps."""
        # The `requested_slot` in force at each message comes from replaying the events
        # on a tracker of its own, so that restarts, session starts, slot resets and
        # rewinds count exactly as they do for Rasa.
        scratch = DialogueStateTracker("redaction", None)  # knows every slot, needs no domain
        if requested_slot is not None:
            scratch.update(SlotSet(REQUESTED_SLOT, requested_slot))
        last_message: int | None = None
        for index, text in enumerate(self.serialised):
            data = json.loads(text)
            kind = data.get("event")
            if kind == "user":
                last_message = index
                if scratch.get_slot(REQUESTED_SLOT) in pii_slots:
                    self.asked.add(index)
            elif kind in _NEW_START:
                last_message = None
            elif kind == "slot" and last_message is not None and self._set_in_plain(data):
                # Set from the message by a slot mapping or a validation that did not
                # seal it: the message held the value.
                self.told[last_message] = float(json.loads(self.serialised[last_message])["timestamp"])
            scratch.update(_event(data))

    @property
    def needs_saved_state(self) -> bool:
        return any(index not in self.asked for index in self.told)

    def events(self, stored: Iterable[Event] | None) -> list[Event]:
        withheld = self.asked | set(self.told)
        if stored is not None:
            stored = list(stored)
            saved_until = max((event.timestamp for event in stored), default=float("-inf"))
            saved_withheld = {e.timestamp for e in stored if isinstance(e, UserUttered) and e.text == REDACTED}
            withheld = self.asked | {
                index
                for index, timestamp in self.told.items()
                if timestamp > saved_until or timestamp in saved_withheld
            }
        redacted: list[Event] = []
        withholding = False
        for index, text in enumerate(self.serialised):
            data = json.loads(text)
            if data.get("event") == "user":
                withholding = index in withheld
            redacted.append(_event(self._redact(data, withholding, index in withheld)))
        return redacted

    def _set_in_plain(self, data: dict[str, Any]) -> bool:
        value = data.get("value")
        return data.get("name") in self.pii_slots and value is not None and not is_sealed(value)

    def _redact(self, data: dict[str, Any], withholding: bool, withhold_this: bool) -> dict[str, Any]:
        """One serialised event without personal data. `withholding`: the latest user
        message is withheld; `withhold_this`: this event is that message."""
        redacted = {key: value if key in _KEPT_AS_IS else redact_value(value) for key, value in data.items()}
        kind = data.get("event")
        if kind == "slot" and data.get("name") in self.pii_slots:
            value = data.get("value")
            redacted["value"] = value if value is None or is_sealed(value) else REDACTED
        elif kind == "user" and withhold_this:
            if data.get("text") is not None:
                redacted["text"] = REDACTED
            parse_data = redacted.get("parse_data")
            if isinstance(parse_data, dict):
                if parse_data.get("text") is not None:
                    parse_data["text"] = REDACTED
                _withhold_entity_values(parse_data.get("entities"))
        elif kind == "entities" and withholding:
            # Entities a policy added to the withheld message are parts of its text.
            _withhold_entity_values(redacted.get("entities"))
        return redacted


_SAVED = "_zhengwu_saved"
"""Attribute of a tracker read from or saved to the store: (the tracker's last event then,
the events the store holds for it, the `requested_slot` in force after them)."""


def _remember_saved(
    tracker: DialogueStateTracker, stored: list[Event], positions: list[int | None] | None = None
) -> None:
    last = tracker.events[-1] if tracker.events else None
    requested_slot = tracker.get_slot(REQUESTED_SLOT)
    setattr(tracker, _SAVED, (len(tracker.events), last, stored, positions, requested_slot))


def _saved_part(tracker: DialogueStateTracker, whole: bool = True) -> Any:
    """For a tracker that still begins with the events it had when it was read or last
    saved (the same objects), else None: with `whole`, (the events the store holds for
    them, the requested slot after them); without (window mode), (how many events were
    saved, the window held, its positions in the log, the requested slot)."""
    remembered = getattr(tracker, _SAVED, None)
    if remembered is None:
        return None
    count, last, stored, positions, requested_slot = remembered
    events = tracker.events
    if len(events) < count or (count and events[count - 1] is not last):
        return None
    if whole:
        return (stored, requested_slot) if positions is None and len(stored) == count else None
    return (count, stored, positions, requested_slot) if positions is not None else None


def _tracker_holding(tracker: DialogueStateTracker, events: list[Event]) -> DialogueStateTracker:
    """A tracker of the same conversation with `events`, not replayed: Rasa's stores save
    a tracker's events and never read its slots or its latest message."""
    copy = DialogueStateTracker(
        tracker.sender_id,
        None,
        tracker._max_event_history,
        tracker.sender_source,
        is_rule_tracker=tracker.is_rule_tracker,
    )
    copy.events = deque(events, maxlen=tracker._max_event_history)
    return copy


def _tracker_with(tracker: DialogueStateTracker, events: list[Event]) -> DialogueStateTracker:
    slots = None if isinstance(tracker.slots, AnySlotDict) else tracker.slots.values()
    copy = DialogueStateTracker(
        tracker.sender_id,
        slots,
        tracker._max_event_history,
        tracker.sender_source,
        is_rule_tracker=tracker.is_rule_tracker,
    )
    for event in events:
        copy.update(event)
    return copy


def _withhold_entity_values(entities: Any) -> None:
    for entity in entities if isinstance(entities, list) else []:
        if isinstance(entity, dict) and entity.get("value") is not None:
            entity["value"] = REDACTED


def _event(data: dict[str, Any]) -> Event:
    event = Event.from_parameters(data)
    if event is None:
        # Dropping it would shift the events the store counts; keeping it could leak.
        raise ValueError(f"cannot rebuild a {data.get('event')!r} event from its own serialisation")
    return event
