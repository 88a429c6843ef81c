"""bot.stores.redacting against Rasa's real stores: SQLTrackerStore on a SQLite file and
RedisTrackerStore on the Redis server of this machine (REDIS_TEST_URL, default
redis://127.0.0.1:6379, each test under a key prefix of its own).

A form conversation asks for a name, an ID number and a phone; after every turn the
tracker is saved as Rasa saves it. Then the bytes the store wrote are searched for the
personal data in every spelling, and what is read back is compared with what Rasa held.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import redis
import yaml
from cryptography.fernet import Fernet
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import FailSafeTrackerStore, RedisTrackerStore, SQLTrackerStore, TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    AgentUttered,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    DefinePrevUserUtteredFeaturization,
    EntitiesAdded,
    Event,
    FollowupAction,
    LoopInterrupted,
    ReminderCancelled,
    ReminderScheduled,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.stores.redacting import REDACTED, RedactingTrackerStore, redact_events, redact_tracker

REDIS_URL = urlparse(os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379"))
REDIS_HOST = REDIS_URL.hostname or "127.0.0.1"
REDIS_PORT = REDIS_URL.port or 6379

NAME = "王小明"
OTHER_NAME = "李四"
ID = "110101199003074514"
PHONE = "13800138000"
FRIEND_PHONE = "13912345678"
SECRETS = (NAME, OTHER_NAME, ID, PHONE, FRIEND_PHONE)

FERNET = Fernet(Fernet.generate_key())
SEALED_NAME = "sealed:abc"
SEALED_ID = "sealed:" + FERNET.encrypt(ID.encode()).decode("ascii")
SEALED_PHONE = "sealed:" + FERNET.encrypt(PHONE.encode()).decode("ascii")
SEALED_OTHER_NAME = "sealed:" + FERNET.encrypt(OTHER_NAME.encode()).decode("ascii")

SESSION_START = "action_session_start"

ENDPOINTS_SNIPPET = """
tracker_store:
  type: bot.stores.redacting.RedactingTrackerStore
  store:            # the real store, any Rasa type: SQL, redis, …
    type: SQL
    dialect: sqlite
    db: var/tracker.db
  pii_slots: [applicant_name, id_number, phone]   # optional; this is the default
"""


def custom(**slot: Any) -> dict[str, Any]:
    return {"influence_conversation": False, "mappings": [{"type": "custom"}], **slot}


DOMAIN = Domain.from_dict(
    {
        "intents": ["apply", "inform", "affirm"],
        "slots": {
            "requested_slot": custom(type="any"),
            "applicant_name": custom(type="text"),
            "id_number": custom(type="text"),
            "phone": custom(type="text"),
            "lang": custom(type="categorical", values=["zh", "en"]),
        },
        "forms": {"application_form": {"required_slots": ["applicant_name", "id_number", "phone"]}},
    }
)


class Clock:
    """Distinct, increasing timestamps: Rasa's stores find sessions and new events by them."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def user(clock: Clock, text: str, intent: str = "inform", entities: list[dict[str, Any]] | None = None) -> UserUttered:
    parse_data: dict[str, Any] = {
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
        "text": text,
        "intent_ranking": [{"name": intent, "confidence": 0.9}],
    }
    return UserUttered(
        text,
        parse_data["intent"],
        entities or [],
        parse_data,
        timestamp=clock(),
        input_channel="rest",
        message_id=uuid.uuid4().hex,
        metadata={"client": "web"},
    )


def listen(clock: Clock) -> ActionExecuted:
    return ActionExecuted("action_listen", timestamp=clock())


def turns(clock: Clock, session_start_action: bool = False) -> list[list[Event]]:
    """The events of each turn, as Rasa adds them between two saves.

    `session_start_action`: begin with the `action_session_start` Rasa logs before
    `SessionStarted`. Rasa's SQL store reads a session from its SessionStarted on and
    counts what it holds the same way, so a tracker kept in memory across saves with
    that event in it has one event saved twice; Rasa reads the tracker back at every
    message, which is what the tests that keep one tracker in memory stand for.
    """
    form = "application_form"
    return [
        [
            *([ActionExecuted(SESSION_START, timestamp=clock())] if session_start_action else []),
            SessionStarted(timestamp=clock()),
            SlotSet("lang", "zh", timestamp=clock()),
            listen(clock),
        ],
        [
            user(clock, "我要申请", "apply"),
            ActionExecuted(form, timestamp=clock()),
            ActiveLoop(form, timestamp=clock()),
            SlotSet("requested_slot", "applicant_name", timestamp=clock()),
            BotUttered("请问申请人姓名？", {"custom": {"ask": "applicant_name"}}, timestamp=clock()),
            listen(clock),
        ],
        [
            user(clock, NAME),
            SlotSet("applicant_name", SEALED_NAME, timestamp=clock()),
            ActionExecuted(form, timestamp=clock()),
            SlotSet("requested_slot", "id_number", timestamp=clock()),
            BotUttered("请提供身份证号。", timestamp=clock()),
            listen(clock),
        ],
        [
            user(clock, f"我的身份证是{ID}", entities=[{"entity": "id", "value": ID, "start": 6, "end": 24}]),
            EntitiesAdded([{"entity": "id_guess", "value": ID}], timestamp=clock()),
            SlotSet("id_number", SEALED_ID, timestamp=clock()),
            ActionExecuted(form, timestamp=clock()),
            SlotSet("requested_slot", "phone", timestamp=clock()),
            BotUttered("请提供手机号。", timestamp=clock()),
            listen(clock),
        ],
        [
            user(clock, "138 0013 8000"),
            SlotSet("phone", SEALED_PHONE, timestamp=clock()),
            ActionExecuted(form, timestamp=clock()),
            SlotSet("requested_slot", None, timestamp=clock()),
            ActiveLoop(None, timestamp=clock()),
            BotUttered(
                "请确认：王*明，身份证 1101**********4514，手机 138****8000",
                {"custom": {"applicant": "王*明", "id_number": "1101**********4514", "phone": "138****8000"}},
                timestamp=clock(),
            ),
            listen(clock),
        ],
        [
            # Outside the form: only the numbers can be found in it.
            user(clock, f"顺便问一下，我朋友的电话{FRIEND_PHONE}能代办吗"),
            ActionExecuted("utter_proxy", timestamp=clock()),
            BotUttered("可以代办。", timestamp=clock()),
            listen(clock),
        ],
        [
            # A name set in plain by a slot mapping, then sealed by the validation.
            user(clock, f"申请人改成{OTHER_NAME}"),
            SlotSet("applicant_name", OTHER_NAME, timestamp=clock()),
            SlotSet("applicant_name", SEALED_OTHER_NAME, timestamp=clock()),
            ActionExecuted("utter_changed", timestamp=clock()),
            BotUttered("已修改。", timestamp=clock()),
            listen(clock),
        ],
    ]


EXPECTED_USER_TEXTS = [
    "我要申请",
    REDACTED,
    REDACTED,
    REDACTED,
    "顺便问一下，我朋友的电话[phone]能代办吗",
    REDACTED,
]


# --- the stores -------------------------------------------------------------------------


class Backend:
    """A real Rasa store behind the wrapper, and every byte it has written."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.prefix = "redaction" + uuid.uuid4().hex
        if kind == "sql":
            self.config: dict[str, Any] = {"type": "SQL", "dialect": "sqlite", "db": str(tmp_path / "tracker.db")}
        else:
            self.config = {"type": "redis", "url": REDIS_HOST, "port": REDIS_PORT, "key_prefix": self.prefix}
        self.client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)

    def store(self, **kwargs: Any) -> RedactingTrackerStore:
        return RedactingTrackerStore(DOMAIN, store=dict(self.config), **kwargs)

    def raw(self) -> bytes:
        if self.kind == "sql":
            return b"".join(path.read_bytes() for path in sorted(self.tmp_path.glob("tracker.db*")))
        keys = sorted(self.client.scan_iter(match=f"{self.prefix}:*"))
        assert keys, "nothing was written"
        return b"\n".join(key + b"=" + (self.client.get(key) or b"") for key in keys)

    def clean(self) -> None:
        if self.kind == "redis":
            for key in self.client.scan_iter(match=f"{self.prefix}:*"):
                self.client.delete(key)
        self.client.close()


@pytest.fixture(params=["sql", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made = Backend(request.param, tmp_path)
    yield made
    made.clean()


def assert_absent(raw: bytes, secret: str) -> None:
    """Not in UTF-8, not as JSON escapes (how both stores write non-ASCII), and for numbers
    not with anything of up to three characters between the digits."""
    text = raw.decode("latin-1")
    if secret.isdigit():
        spaced = r"\D{0,3}".join(secret)
        assert not re.search(spaced, text), f"{secret} was written"
    else:
        assert secret.encode("utf-8") not in raw, f"{secret} was written"
        escaped = json.dumps(secret)[1:-1]
        assert escaped not in text and escaped.upper() not in text, f"{secret} was written escaped"


def snapshot(tracker: DialogueStateTracker) -> str:
    return json.dumps([event.as_dict() for event in tracker.events], sort_keys=True, ensure_ascii=False)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


# --- one in-memory tracker saved after every turn -------------------------------------


def test_no_personal_data_reaches_the_store(backend: Backend) -> None:
    store = backend.store()
    clock = Clock()
    memory = DialogueStateTracker.from_events("citizen-1", [], DOMAIN.slots)
    for turn in turns(clock):
        memory.update_with_events(turn, DOMAIN, override_timestamp=False)
        before = snapshot(memory)
        run(store.save(memory))
        assert snapshot(memory) == before, "the tracker Rasa holds was changed"

    raw = backend.raw()
    for secret in SECRETS:
        assert_absent(raw, secret)
    # The sealed values are there, whole.
    for sealed in (SEALED_ID, SEALED_PHONE, SEALED_OTHER_NAME):
        assert sealed.encode("ascii") in raw

    # Rasa's own tracker still has everything as it happened.
    assert NAME in snapshot(memory) and ID in snapshot(memory)


def test_what_is_read_back(backend: Backend) -> None:
    store = backend.store()
    clock = Clock()
    memory = DialogueStateTracker.from_events("citizen-2", [], DOMAIN.slots)
    for turn in turns(clock):
        memory.update_with_events(turn, DOMAIN, override_timestamp=False)
        run(store.save(memory))

    stored = run(store.retrieve("citizen-2"))
    assert stored is not None
    assert len(stored.events) == len(memory.events)
    assert [type(event) for event in stored.events] == [type(event) for event in memory.events]
    assert [event.timestamp for event in stored.events] == [event.timestamp for event in memory.events]
    assert [event.text for event in stored.events if isinstance(event, UserUttered)] == EXPECTED_USER_TEXTS

    assert stored.get_slot("applicant_name") == SEALED_OTHER_NAME
    assert stored.get_slot("id_number") == SEALED_ID
    assert stored.get_slot("phone") == SEALED_PHONE
    assert stored.get_slot("lang") == "zh"
    assert stored.get_slot("requested_slot") is None
    assert stored.active_loop_name is None
    plain_name_sets = [e.value for e in stored.events if isinstance(e, SlotSet) and e.key == "applicant_name"]
    assert plain_name_sets == [SEALED_NAME, REDACTED, SEALED_OTHER_NAME]

    withheld = [e for e in stored.events if isinstance(e, UserUttered) and e.text == REDACTED]
    assert all(e.parse_data["text"] == REDACTED for e in withheld)
    assert all(entity["value"] == REDACTED for e in withheld for entity in e.entities)
    assert all(e.intent_name == "inform" for e in withheld)  # what was meant is kept
    added = [e for e in stored.events if isinstance(e, EntitiesAdded)]
    assert [entity["value"] for e in added for entity in e.entities] == [REDACTED]

    bot = [e for e in stored.events if isinstance(e, BotUttered)]
    assert bot[3].text == "请确认：王*明，身份证 1101**********4514，手机 138****8000"
    assert bot[3].data["custom"]["id_number"] == "1101**********4514"


def test_saving_again_adds_nothing(backend: Backend) -> None:
    store = backend.store()
    clock = Clock()
    memory = DialogueStateTracker.from_events("citizen-3", [], DOMAIN.slots)
    for turn in turns(clock):
        memory.update_with_events(turn, DOMAIN, override_timestamp=False)
        run(store.save(memory))
        run(store.save(memory))
    stored = run(store.retrieve("citizen-3"))
    assert stored is not None
    assert len(stored.events) == len(memory.events)
    raw = backend.raw()
    run(store.save(memory))
    assert len(run(store.retrieve("citizen-3")).events) == len(memory.events)
    if backend.kind == "redis":
        assert backend.raw() == raw


# --- as Rasa does it: the tracker read back from the store at every message -----------


def test_a_conversation_read_back_at_every_turn(backend: Backend) -> None:
    store = backend.store()
    clock = Clock()
    happened: list[Event] = []

    def read_back() -> list[tuple[type, float]]:
        # The SQL store leaves out the action_session_start logged before SessionStarted.
        events = happened
        if backend.kind == "sql":
            events = [e for e in happened if not (isinstance(e, ActionExecuted) and e.action_name == SESSION_START)]
        return [(type(e), e.timestamp) for e in events]

    for turn in turns(clock, session_start_action=True):
        tracker = run(store.get_or_create_tracker("citizen-4", append_action_listen=False))
        assert [(type(e), e.timestamp) for e in tracker.events] == read_back()
        tracker.update_with_events(turn, DOMAIN, override_timestamp=False)
        happened += turn
        run(store.save(tracker))

    stored = run(store.retrieve("citizen-4"))
    assert [(type(e), e.timestamp) for e in stored.events] == read_back()
    assert [e.text for e in stored.events if isinstance(e, UserUttered)] == EXPECTED_USER_TEXTS
    assert stored.get_slot("phone") == SEALED_PHONE and stored.get_slot("lang") == "zh"
    raw = backend.raw()
    for secret in SECRETS:
        assert_absent(raw, secret)


def test_each_save_redacts_only_the_turns_new_events(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    # Read, add a turn, save — as Rasa does at every message: the work of a save follows
    # the turn, not the conversation, and the result is what redacting it all would give.
    import bot.stores.redacting as redacting

    redacted_per_save: list[int] = []
    original = redacting._Redaction.__init__

    def counting(self: Any, events: Any, *args: Any) -> None:
        events = list(events)
        redacted_per_save.append(len(events))
        original(self, events, *args)

    monkeypatch.setattr(redacting._Redaction, "__init__", counting)
    store = backend.store()
    clock = Clock()
    happened: list[Event] = []
    all_turns = [turn for _ in range(3) for turn in turns(clock)]
    for turn in all_turns:
        tracker = run(store.get_or_create_tracker("citizen-8", append_action_listen=False))
        tracker.update_with_events(turn, DOMAIN, override_timestamp=False)
        happened += turn
        run(store.save(tracker))

    # (the first read creates the conversation and saves it empty)
    assert redacted_per_save == [0] + [len(turn) for turn in all_turns]
    stored = run(store.retrieve_full_tracker("citizen-8"))
    expected = redact_events(happened)
    assert [e.as_dict() for e in stored.events] == [e.as_dict() for e in expected]
    raw = backend.raw()
    for secret in SECRETS:
        assert_absent(raw, secret)


def test_a_slot_set_in_a_later_save_does_not_rewrite_a_saved_message(backend: Backend) -> None:
    # Rasa saves once per message, after the actions; only the HTTP API (/messages, then
    # /execute) saves between a message and the slots it fills. The saved message stays
    # as it was saved: the SQL store cannot take it back, and the Redis store would merge a
    # changed copy in a second time.
    store = backend.store()
    clock = Clock()
    memory = DialogueStateTracker.from_events("citizen-5", turns(clock)[0], DOMAIN.slots)
    run(store.save(memory))
    memory.update(user(clock, "call me on 138 0013 8000"))
    run(store.save(memory))
    memory.update_with_events(
        [SlotSet("phone", PHONE, timestamp=clock()), listen(clock)], DOMAIN, override_timestamp=False
    )
    run(store.save(memory))
    run(store.save(memory))

    stored = run(store.retrieve("citizen-5"))
    assert len(stored.events) == len(memory.events)
    assert [e.text for e in stored.events if isinstance(e, UserUttered)] == ["call me on [phone]"]
    assert stored.get_slot("phone") == REDACTED
    assert_absent(backend.raw(), PHONE)


# --- configured as in endpoints.yml -----------------------------------------------------


def test_created_by_rasa_from_the_endpoints_snippet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "var").mkdir()
    config = yaml.safe_load(ENDPOINTS_SNIPPET)["tracker_store"]
    store = TrackerStore.create(EndpointConfig.from_dict(config), DOMAIN)

    assert isinstance(store, RedactingTrackerStore)  # async throughout: not wrapped by Rasa
    assert isinstance(store.inner, SQLTrackerStore)
    assert store.pii_slots == {"applicant_name", "id_number", "phone"}

    clock = Clock()
    memory = DialogueStateTracker.from_events("citizen-6", [e for t in turns(clock)[:3] for e in t], DOMAIN.slots)
    run(store.save(memory))
    assert (tmp_path / "var" / "tracker.db").is_file()
    assert_absent((tmp_path / "var" / "tracker.db").read_bytes(), NAME)
    assert len(run(store.retrieve("citizen-6")).events) == len(memory.events)
    assert run(store.keys()) == ["citizen-6"]
    assert run(store.exists("citizen-6"))


def test_read_from_an_endpoints_file_as_the_rasa_server_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The server creates the store without a domain, wraps it, and sets the domain once a
    # model is loaded; the SQL store needs it to know the slots it reads back.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "var").mkdir()
    (tmp_path / "endpoints.yml").write_text(ENDPOINTS_SNIPPET, encoding="utf-8")
    endpoints = AvailableEndpoints.read_endpoints(str(tmp_path / "endpoints.yml"))
    store = FailSafeTrackerStore(TrackerStore.create(endpoints.tracker_store, event_broker=None))
    store.domain = DOMAIN

    clock = Clock()
    memory = DialogueStateTracker.from_events("citizen-7", [e for t in turns(clock) for e in t], DOMAIN.slots)
    run(store.save(memory))
    stored = run(store.retrieve("citizen-7"))
    assert stored is not None
    assert stored.get_slot("phone") == SEALED_PHONE and stored.get_slot("lang") == "zh"


def test_created_by_rasa_with_a_redis_store() -> None:
    prefix = "redaction" + uuid.uuid4().hex
    config = yaml.safe_load(ENDPOINTS_SNIPPET)["tracker_store"]
    config["store"] = {"type": "redis", "url": REDIS_HOST, "port": REDIS_PORT, "key_prefix": prefix}
    store = TrackerStore.create(EndpointConfig.from_dict(config), DOMAIN)
    assert isinstance(store, RedactingTrackerStore) and isinstance(store.inner, RedisTrackerStore)
    try:
        clock = Clock()
        memory = DialogueStateTracker.from_events("citizen-8", [e for t in turns(clock) for e in t], DOMAIN.slots)
        run(store.save(memory))
        assert [key.split(":")[-1] for key in run(store.keys())] == ["citizen-8"]
        assert store.red is store.inner.red  # what only this store has is reached through
    finally:
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        client.close()


@pytest.mark.parametrize(
    "config",
    [
        {"type": "bot.stores.redacting.RedactingTrackerStore"},
        {"type": "bot.stores.redacting.RedactingTrackerStore", "dialect": "sqlite", "store": {"type": "SQL"}},
        {"type": "bot.stores.redacting.RedactingTrackerStore", "url": "localhost", "store": {"type": "redis"}},
    ],
)
def test_misconfiguration_is_refused(config: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="RedactingTrackerStore"):
        TrackerStore.create(EndpointConfig.from_dict(config), DOMAIN)


# --- the event broker --------------------------------------------------------------------


class ListBroker(EventBroker):
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)


def test_the_event_broker_gets_only_redacted_events(tmp_path: Path) -> None:
    broker = ListBroker()
    store = RedactingTrackerStore(
        DOMAIN, event_broker=broker, store={"type": "SQL", "dialect": "sqlite", "db": str(tmp_path / "t.db")}
    )
    assert store.event_broker is broker  # so that Rasa closes it on shutdown
    clock = Clock()
    memory = DialogueStateTracker.from_events("citizen-9", [], DOMAIN.slots)
    for turn in turns(clock):
        memory.update_with_events(turn, DOMAIN, override_timestamp=False)
        run(store.save(memory))
    assert len(broker.published) == len(memory.events)
    published = json.dumps(broker.published, ensure_ascii=False).encode("utf-8")
    for secret in SECRETS:
        assert_absent(published, secret)


# --- the redaction itself ------------------------------------------------------------------


def all_events(clock: Clock) -> list[Event]:
    return [event for turn in turns(clock) for event in turn]


def test_redaction_is_idempotent_and_keeps_count_order_and_timestamps() -> None:
    events = all_events(Clock())
    once = redact_events(events)
    twice = redact_events(once)
    assert [e.as_dict() for e in twice] == [e.as_dict() for e in once]
    assert [(type(e), e.timestamp) for e in once] == [(type(e), e.timestamp) for e in events]


def test_a_prefix_is_redacted_as_it_was_within_the_whole() -> None:
    # What the Redis store checks before it rewrites a tracker, and what makes the SQL
    # store's counting right: the events already saved come out the same again.
    events = all_events(Clock())
    whole = redact_events(events)
    for end in range(len(events)):
        if isinstance(events[end], UserUttered):
            assert redact_events(events[:end]) == whole[:end]


def test_the_copy_has_the_slots_of_the_redacted_events() -> None:
    memory = DialogueStateTracker.from_events("citizen-10", all_events(Clock()), DOMAIN.slots)
    copy = redact_tracker(memory)
    assert copy is not memory and copy.sender_id == memory.sender_id
    assert copy.get_slot("applicant_name") == SEALED_OTHER_NAME
    assert copy.latest_message is not None and copy.latest_message.text == REDACTED
    assert memory.latest_message is not None and memory.latest_message.text == f"申请人改成{OTHER_NAME}"


def test_the_pii_slots_can_be_configured() -> None:
    clock = Clock()
    events: list[Event] = [
        SlotSet("requested_slot", "email", timestamp=clock()),
        user(clock, "wang@example.cn"),
        SlotSet("email", "wang@example.cn", timestamp=clock()),
        SlotSet("phone", "guess", timestamp=clock()),
    ]
    redacted = redact_events(events, pii_slots=["email"])
    assert [e.as_dict().get("text") or e.as_dict().get("value") for e in redacted] == [
        "email",
        REDACTED,
        REDACTED,
        "guess",
    ]


def test_restart_and_session_start_end_the_question() -> None:
    clock = Clock()
    events: list[Event] = [
        SlotSet("requested_slot", "applicant_name", timestamp=clock()),
        Restarted(timestamp=clock()),
        user(clock, "hello"),
        SlotSet("requested_slot", "phone", timestamp=clock()),
        *turns(clock)[0],
        user(clock, "我要申请"),
    ]
    assert [e.text for e in redact_events(events) if isinstance(e, UserUttered)] == ["hello", "我要申请"]


PHONE_ENTITY = [{"entity": "phone", "value": PHONE}]


def test_every_kind_of_event_comes_through_once_and_without_the_numbers() -> None:
    clock = Clock()
    events: list[Event] = [
        SessionStarted(timestamp=clock()),
        user(clock, f"提醒我{PHONE}"),
        DefinePrevUserUtteredFeaturization(False, timestamp=clock()),
        EntitiesAdded(PHONE_ENTITY, timestamp=clock()),
        ActionExecuted("action_remind", policy="RulePolicy", confidence=1.0, timestamp=clock()),
        ReminderScheduled("remind", datetime(2026, 11, 26, 9), name="r1", entities=PHONE_ENTITY, timestamp=clock()),
        ReminderCancelled(name="r1", entities=PHONE_ENTITY, timestamp=clock()),
        BotUttered(f"已记下{ID}", {"buttons": [{"title": PHONE, "payload": "/affirm"}]}, timestamp=clock()),
        AgentUttered(f"agent {PHONE}", timestamp=clock()),
        FollowupAction("action_listen", timestamp=clock()),
        ActiveLoop("application_form", timestamp=clock()),
        LoopInterrupted(True, timestamp=clock()),
        ActionExecutionRejected("application_form", timestamp=clock()),
        ActionReverted(timestamp=clock()),
        UserUtteranceReverted(timestamp=clock()),
        ConversationPaused(timestamp=clock()),
        ConversationResumed(timestamp=clock()),
        SlotSet("lang", "zh", timestamp=clock()),
        AllSlotsReset(timestamp=clock()),
        Restarted(timestamp=clock()),
    ]
    redacted = redact_events(events)
    assert [(type(e), e.timestamp) for e in redacted] == [(type(e), e.timestamp) for e in events]
    written = json.dumps([e.as_dict() for e in redacted], ensure_ascii=False).encode("utf-8")
    assert_absent(written, PHONE)
    assert_absent(written, ID)
