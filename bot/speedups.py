"""Two places where Rasa 3.6 spends CPU on every message for nothing (measured with
`python -m bench.pipeline` and cProfile), changed here without changing what Rasa does.

1. Rasa 3.6 checks every answer of the action server against a JSON schema with
`jsonschema.validate`, which first checks the schema itself against its metaschema and
builds a new validator: ~35 ms of CPU per action call on this machine, more than the NLU
pipeline and the policies together (`python -m bench.pipeline` shows the split). The
schema never changes, so here it is checked and compiled once per process; each answer
is then validated exactly as before (the same errors, the same message), in well under a
millisecond.

2. Every event read back from a store (JSON → Event) finds its class by walking all
subclasses of Event, recursively, each time: ~0.25 ms an event, a dozen ms a message.
Here each event type's class is remembered once found (the walk still answers anything
new, and unknown types fail as before).

3. RulePolicy matches its rules against the conversation's states from the latest back,
and goes on to the very first state of the conversation even when no rule is left or
every rule left is shorter than the distance already checked (a rule is satisfied by any
state beyond its length): the work grows with the conversation. Here the loop stops
there; the keys found are the same.

4. Every call to the action server opens a new HTTP client session, so a new TCP
connection: under load, bursts of connections overflow the action server's listen queue
("Can not write request body", a turn's events lost). Here each endpoint keeps one
session per event loop: connections are reused (dropped after 2 s idle, before Sanic's
5 s keep-alive ends them from the other side) and at most 100 are open at once, the
others wait their turn.

5. The slot `lang` is filled at every message by a custom slot mapping,
`action_detect_language`: one more call to the action server for every message, for a
pure function of the message (bot/language.py). The Rasa server runs that one itself;
the answer is the same, and the action server keeps the action for anything else.

Applied by `apply()` when the Rasa server imports this package (bot/__init__.py).
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

import aiohttp
from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import ActionExtractSlots, RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.domain import State
from rasa.shared.core.events import Event, SlotSet
from rasa.utils.endpoints import EndpointConfig

from bot.language import choose_language

_applied = False


@cache
def action_response_validator() -> Validator:
    schema = RemoteAction.action_response_format_spec()
    kind = validator_for(schema)
    kind.check_schema(schema)
    validator: Validator = kind(schema)
    return validator


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result with the validator compiled once."""
    error = best_match(action_response_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


_find_event_class = Event.resolve_by_type
_event_classes: dict[str, type[Event]] = {}


def resolve_event_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """Event.resolve_by_type, remembering what it found."""
    found = _event_classes.get(type_name)
    if found is None:
        found = _find_event_class(type_name, default)
        if found is not None and found.type_name == type_name:
            _event_classes[type_name] = found
    return found


rasas_possible_rule_keys = RulePolicy._get_possible_keys


def possible_rule_keys(self: RulePolicy, lookup: dict[str, str], states: list[State]) -> set[str]:
    """RulePolicy._get_possible_keys, stopping once the answer cannot change."""
    possible = set(lookup)
    longest = max((len(self._rule_key_to_state(key)) for key in possible), default=0)
    for turn_index, state in enumerate(reversed(states)):
        if not possible or turn_index >= longest:
            break  # beyond every rule's length each remaining rule is applicable
        possible = {key for key in possible if self._is_rule_applicable(key, turn_index, state)}
        longest = max((len(self._rule_key_to_state(key)) for key in possible), default=0)
    return possible


SESSION_ATTRIBUTE = "_zhengwu_sessions"


class _Kept:
    """`async with endpoint.session() as session` without closing the session at the end."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *_: Any) -> None:
        return None


def kept_session(self: EndpointConfig) -> Any:
    """EndpointConfig.session, one per endpoint and event loop, kept open."""
    loop = asyncio.get_running_loop()
    sessions: dict[int, aiohttp.ClientSession] = self.__dict__.setdefault(SESSION_ATTRIBUTE, {})
    session = sessions.get(id(loop))
    if session is None or session.closed:
        # As Rasa's EndpointConfig.session, with a connector that keeps connections.
        basic = self.basic_auth
        session = aiohttp.ClientSession(
            headers=self.headers,
            auth=aiohttp.BasicAuth(basic["username"], basic["password"]) if basic else None,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=2.0),
        )
        sessions[id(loop)] = session
    return _Kept(session)


_run_mapping_action = ActionExtractSlots._run_custom_action
LOCAL_MAPPING_ACTION = "action_detect_language"


async def run_mapping_action(
    self: ActionExtractSlots, custom_action: str, output_channel: Any, nlg: Any, tracker: Any, domain: Any
) -> list[Event]:
    """ActionExtractSlots._run_custom_action, with the language found here."""
    if custom_action != LOCAL_MAPPING_ACTION:
        return await _run_mapping_action(self, custom_action, output_channel, nlg, tracker, domain)
    message = tracker.latest_message
    lang = choose_language(
        (message.text if message else None) or "",
        ((message.metadata if message else None) or {}).get("lang"),
        ((message.intent if message else None) or {}).get("name"),
        tracker.get_slot("lang"),
    )
    return [SlotSet("lang", lang)]


def apply() -> None:
    global _applied
    if not _applied:
        RemoteAction._validate_action_result = validate_action_result
        Event.resolve_by_type = staticmethod(resolve_event_type)
        RulePolicy._get_possible_keys = possible_rule_keys
        EndpointConfig.session = kept_session
        ActionExtractSlots._run_custom_action = run_mapping_action
        _applied = True
