"""The windowed store (bot/stores/windowed.py through RedactingTrackerStore `window:`) on
SQLite, PostgreSQL and Redis: a long conversation saved as Rasa saves it (read, add a
turn, save). The mechanism, not timings:

- every save appends exactly the turn's events, however long the conversation;
- every read returns at most 2 × window events plus the checkpoint's state;
- what a read gives is what the whole conversation gives: the same slots, the same open
  form and asked slot, the same dialogue states for the recent turns;
- the whole history is still there, redacted, and can be deleted at once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import redis
import sqlalchemy as sa
from rasa.core.tracker_store import RedisTrackerStore, SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot.stores import windowed
from bot.stores.redacting import RedactingTrackerStore, redact_events
from tests.conftest import POSTGRES_URL
from tests.test_redacting_store import DOMAIN, ID, NAME, PHONE, REDIS_HOST, REDIS_PORT, Clock, listen, turns, user

WINDOW = 20
FORM = "application_form"


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedactingTrackerStore]:
    if request.param == "sqlite":
        inner: Any = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"))
    elif request.param == "postgresql":
        url = urlparse(POSTGRES_URL)
        inner = SQLTrackerStore(
            DOMAIN, dialect="postgresql", host=url.hostname, port=url.port or 5432, db=url.path.strip("/")
        )
    else:
        prefix = "zwwin" + uuid.uuid4().hex[:8]
        inner = RedisTrackerStore(DOMAIN, host=REDIS_HOST, port=REDIS_PORT, key_prefix=prefix)
    made = RedactingTrackerStore(DOMAIN, store=inner, window=WINDOW, retention_days=30)
    yield made
    for sender in asyncio.run(made.keys()):
        if sender.startswith("window-"):
            asyncio.run(made.delete(sender))
    if request.param == "redis":
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
        assert not list(client.scan_iter(match=f"{inner.key_prefix}*")), "delete left keys behind"


def long_conversation(clock: Clock, repeats: int) -> list[list[Event]]:
    """A session start, the application form `repeats` times with its digressions, then the
    form opened once more and left open while the citizen asks about other things."""
    first = turns(clock)[0]
    conversation = [first]
    for _ in range(repeats):
        conversation += turns(clock)[1:]
    conversation.append(
        [
            user(clock, "再申请一次", "apply"),
            ActionExecuted(FORM, timestamp=clock()),
            ActiveLoop(FORM, timestamp=clock()),
            SlotSet("requested_slot", "applicant_name", timestamp=clock()),
            BotUttered("请问申请人姓名？", timestamp=clock()),
            listen(clock),
        ]
    )
    for number in range(12):  # longer than the window: the form's opening is cut off
        conversation.append(
            [
                user(clock, f"办理时间是几点 {number}"),
                ActionExecuted("utter_hours", timestamp=clock()),
                BotUttered("工作日 9:00-17:00。", timestamp=clock()),
                ActionExecuted(FORM, timestamp=clock()),
                BotUttered("请问申请人姓名？", timestamp=clock()),
                listen(clock),
            ]
        )
    return conversation


def test_a_long_conversation_costs_the_same_at_every_turn(
    store: RedactingTrackerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    appended: list[int] = []
    log = store._log
    assert log is not None
    original_append = log.append

    def counting_append(sender_id: str, events: Any) -> list[int]:
        appended.append(len(events))
        return original_append(sender_id, events)

    monkeypatch.setattr(log, "append", counting_append)
    sender = "window-" + uuid.uuid4().hex[:8]
    conversation = long_conversation(Clock(), repeats=15)
    happened: list[Event] = []
    read_sizes: list[int] = []

    async def play() -> DialogueStateTracker:
        tracker = None
        for turn in conversation:
            tracker = await store.get_or_create_tracker(sender, append_action_listen=False)
            read_sizes.append(len(tracker.events))
            tracker.update_with_events(turn, DOMAIN, override_timestamp=False)
            happened.extend(turn)
            await store.save(tracker)
        read = await store.retrieve(sender)
        assert read is not None
        return read

    read = asyncio.run(play())
    total = sum(len(turn) for turn in conversation)
    assert total > 10 * WINDOW

    # Writes: the turn's events, once each (the first read creates the conversation empty).
    assert appended == [0] + [len(turn) for turn in conversation]
    # Reads: bounded by the window, not by the conversation.
    state_size = len(DOMAIN.slots) + 3
    assert max(read_sizes) <= 2 * WINDOW + state_size
    assert len(read.events) <= 2 * WINDOW + state_size

    # The same conversation as a whole, redacted as the store redacts it.
    whole = DialogueStateTracker.from_events(sender, redact_events(happened), DOMAIN.slots)
    assert read.current_slot_values() == whole.current_slot_values()
    assert read.active_loop_name == whole.active_loop_name == FORM
    assert read.get_slot("requested_slot") == "applicant_name"
    assert read.get_slot("lang") == "zh"  # set once, at the start, hundreds of events ago
    assert read.get_slot("phone") == whole.get_slot("phone") and str(read.get_slot("phone")).startswith("sealed:")
    recent = 6
    assert read.past_states(DOMAIN)[-recent:] == whole.past_states(DOMAIN)[-recent:]
    assert read.latest_message is not None and read.latest_message.text == whole.latest_message.text

    # The history: all of it, in order, redacted.
    full = asyncio.run(store.retrieve_full_tracker(sender))
    assert full is not None
    assert [event.as_dict() for event in full.events] == [event.as_dict() for event in redact_events(happened)]
    everything = str([event.as_dict() for event in full.events]) + str([event.as_dict() for event in read.events])
    for secret in (NAME, ID, PHONE):
        assert secret not in everything

    # Deleted on request: the log and its checkpoint.
    assert asyncio.run(store.delete(sender)) is True
    assert asyncio.run(store.retrieve(sender)) is None and not asyncio.run(store.exists(sender))


def test_a_tracker_not_read_from_the_store_is_saved_by_what_is_new(store: RedactingTrackerStore) -> None:
    # The HTTP API can hand the store a tracker it built itself: the events after the
    # log's last one are appended, nothing twice.
    sender = "window-" + uuid.uuid4().hex[:8]
    clock = Clock()
    conversation = turns(clock)
    events = [event for turn in conversation[:3] for event in turn]
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, events, DOMAIN.slots)))
    more = events + [event for turn in conversation[3:] for event in turn]
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, more, DOMAIN.slots)))
    full = asyncio.run(store.retrieve_full_tracker(sender))
    assert full is not None
    assert [event.as_dict() for event in full.events] == [event.as_dict() for event in redact_events(more)]


def test_the_events_table_has_the_index_a_window_read_needs(tmp_path: Path) -> None:
    inner = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"))
    RedactingTrackerStore(DOMAIN, store=inner, window=WINDOW)
    RedactingTrackerStore(DOMAIN, store=inner, window=WINDOW)  # a second store: no second index
    indexes = sa.inspect(inner.engine).get_indexes("events")
    assert any(index["column_names"] == ["sender_id", "id"] for index in indexes)
    assert windowed.CHECKPOINTS_TABLE in sa.inspect(inner.engine).get_table_names()
