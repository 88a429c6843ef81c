"""Where Rasa 3.6 (and the libraries under it) spends CPU on every message for nothing
(measured with `python -m bench.pipeline`, cProfile and py-spy on a loaded Rasa worker),
changed here without changing what Rasa answers.

1. Rasa 3.6 checks every answer of the action server against a JSON schema with
`jsonschema.validate`, which first checks the schema itself against its metaschema and
builds a new validator: ~35 ms of CPU per action call on this machine, more than the NLU
pipeline and the policies together (`python -m bench.pipeline` shows the split). The
schema never changes, so here it is checked and compiled once per process; each answer
is then validated exactly as before (the same errors, the same message). And since each
event of an answer must satisfy exactly one of 23 branches, one per event type, an event
is first checked against its own type's branch only (16× faster); only an answer that
fails that is checked the whole way, for Rasa's own error.

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

6. CPython's garbage collector walks every object it tracks at each full collection: a
Rasa process holds millions once its model, TensorFlow and spaCy are loaded, none of them
ever garbage, and a message creates enough objects to set off collections all the time.
Here, once the model is loaded, what exists is moved out of the collector's sight
(`gc.freeze()`): each collection walks only what the messages created. Nothing is freed
later than before that could have been freed (the frozen objects are the model's own).
`ZW_GC_FREEZE=0` turns it off (to measure it: `python -m bench.load`).

7. scikit-learn's logistic regression scores a message as `X @ coef_.T`; with `coef_`
stored row by row, scipy copies the whole transposed matrix (26 intents × ~21,000
features) for every message before multiplying. Here the loaded `coef_` is stored
column by column, so that its transpose is used where it lies: the same numbers, the
same probabilities, ~8× less time in the classifier.

8. Every call to the action server carries the tracker with all its events (40 to 80 with
our store's window, each message with its whole parse) and, for the form validations
(`send_domain` in domain.yml), the whole domain, 63 KB of it the responses: encoded by
Rasa, decoded by the action server, for every call. Our actions read the events back to
the message before the latest one at most (actions/applying.py, actions/complaints.py)
and, from the domain, the slots and forms (rasa_sdk's FormValidationAction); here they
are sent from the second-to-last user message on and without the responses. The slots,
the latest message, the active loop and everything else the tracker carries are sent as
before.

9. RulePolicy checks all its rules (371 here) against the latest state, then the
survivors against the states before, several times a turn. Which rules survive depends
only on the last states as far back as the longest rule (4 turns here), and a conversation
passes through the same few states again and again: here the answer is remembered for
each run of states (up to 20,000 of them a lookup table, then forgotten and learnt again;
nothing is remembered while RulePolicy trains, since training removes rules as it goes).

Applied by `apply()` when the Rasa server imports this package (bot/__init__.py).
"""

from __future__ import annotations

import asyncio
import copy
import gc
import os
from functools import cache
from typing import Any

import aiohttp
import numpy as np
import rasa.core.agent
from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import ActionExtractSlots, RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.core.generator import TrackerWithCachedStates
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


@cache
def event_validators() -> tuple[Validator, dict[str, Validator]]:
    """The response schema without the events' `oneOf`, and one validator per branch of
    it, by the event type each branch requires (`const`, a different one in each)."""
    schema = copy.deepcopy(RemoteAction.action_response_format_spec())
    items = schema["properties"]["events"]["items"]
    branches = items.pop("oneOf")
    kind = validator_for(schema)
    by_type = {branch["properties"]["event"]["const"]: kind(branch) for branch in branches}
    return kind(schema), by_type


def surely_valid(result: Any) -> bool:
    """True only when the whole schema holds: an event satisfies `oneOf` exactly when the
    branch of its own type holds, since every other branch requires another type."""
    shell, by_type = event_validators()
    if not shell.is_valid(result):
        return False
    for event in result.get("events") or ():
        branch = by_type.get(event["event"])
        if branch is None or not branch.is_valid(event):
            return False
    return True


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result with the validator compiled once, and each
    event checked only against the branch of its type (anything that fails is checked
    again the whole way, so that the error is the one Rasa reports)."""
    if surely_valid(result):
        return True
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


RULE_KEYS_ATTRIBUTE = "_zhengwu_rule_keys"
REMEMBERED_RULE_KEYS = 20_000


def _frozen(state: State) -> tuple[Any, ...]:
    return tuple(sorted((part, tuple(sorted(features.items()))) for part, features in state.items()))


def remembered_rule_keys(self: RulePolicy, lookup: dict[str, str], states: list[State]) -> set[str]:
    """possible_rule_keys, remembered for the states that decide it."""
    if self.__dict__.get(TRAINING_ATTRIBUTE):  # training removes rules from the lookup as it goes
        return possible_rule_keys(self, lookup, states)
    memory: dict[int, tuple[dict[str, str], int, int, dict[Any, frozenset[str]]]]
    memory = self.__dict__.setdefault(RULE_KEYS_ATTRIBUTE, {})
    known = memory.get(id(lookup))
    if known is None or known[0] is not lookup or known[1] != len(lookup):  # kept: its id stays its own
        longest = max((len(self._rule_key_to_state(key)) for key in lookup), default=0)
        known = memory[id(lookup)] = (lookup, len(lookup), longest, {})
    _, _, longest, answers = known
    try:
        key = tuple(_frozen(state) for state in states[-longest:]) if longest else ()
        hash(key)
    except TypeError:  # a feature value that cannot be remembered: worked out again
        return possible_rule_keys(self, lookup, states)
    found = answers.get(key)
    if found is None:
        if len(answers) >= REMEMBERED_RULE_KEYS:
            answers.clear()
        found = answers[key] = frozenset(possible_rule_keys(self, lookup, states))
    return set(found)


_train_rule_policy = RulePolicy.train
TRAINING_ATTRIBUTE = "_zhengwu_training"


def train_rule_policy(  # type: ignore[no-untyped-def]
    self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
) -> Resource:
    """RulePolicy.train (its signature too, `self` unannotated: Rasa's graph checks the
    annotations), with nothing remembered while the rules change."""
    self.__dict__[TRAINING_ATTRIBUTE] = True
    try:
        return _train_rule_policy(self, training_trackers, domain, **kwargs)
    finally:
        del self.__dict__[TRAINING_ATTRIBUTE]
        self.__dict__.pop(RULE_KEYS_ATTRIBUTE, None)


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


_load_agent = rasa.core.agent.load_agent


async def load_agent_then_freeze(*args: Any, **kwargs: Any) -> Any:
    """rasa.core.agent.load_agent, then the loaded objects out of the collector's sight."""
    agent = await _load_agent(*args, **kwargs)
    if os.environ.get("ZW_GC_FREEZE", "1") != "0":
        gc.collect()
        gc.freeze()
    return agent


_load_classifier = LogisticRegressionClassifier.load.__func__


def load_classifier(cls: type[LogisticRegressionClassifier], *args: Any, **kwargs: Any) -> Any:
    """LogisticRegressionClassifier.load, with the weights stored for `X @ coef_.T`."""
    component = _load_classifier(cls, *args, **kwargs)
    coef = getattr(getattr(component, "clf", None), "coef_", None)
    if coef is not None:
        component.clf.coef_ = np.asfortranarray(coef)
    return component


_action_call_format = RemoteAction._action_call_format
DOMAIN_ATTRIBUTE = "_zhengwu_action_domain"


def action_call_format(self: RemoteAction, tracker: Any, domain: Any) -> dict[str, Any]:
    """RemoteAction._action_call_format, with the events from the second-to-last user
    message on and the domain without its responses."""
    call = _action_call_format(self, tracker, domain)
    events = call["tracker"].get("events") or []
    users = [index for index, event in enumerate(events) if event.get("event") == "user"]
    if len(users) >= 2:
        call["tracker"]["events"] = events[users[-2] :]
    if "domain" in call:
        trimmed = domain.__dict__.get(DOMAIN_ATTRIBUTE)
        if trimmed is None or trimmed[0] is not call["domain"]:
            whole = call["domain"]
            trimmed = (whole, {key: value for key, value in whole.items() if key != "responses"})
            domain.__dict__[DOMAIN_ATTRIBUTE] = trimmed
        call["domain"] = trimmed[1]
    return call


def apply() -> None:
    global _applied
    if not _applied:
        RemoteAction._validate_action_result = validate_action_result
        Event.resolve_by_type = staticmethod(resolve_event_type)
        RulePolicy._get_possible_keys = remembered_rule_keys
        RulePolicy.train = train_rule_policy
        RemoteAction._action_call_format = action_call_format
        EndpointConfig.session = kept_session
        ActionExtractSlots._run_custom_action = run_mapping_action
        rasa.core.agent.load_agent = load_agent_then_freeze
        LogisticRegressionClassifier.load = classmethod(load_classifier)
        _applied = True
