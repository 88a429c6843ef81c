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

Applied by `apply()` when the Rasa server imports this package (bot/__init__.py).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event

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


def apply() -> None:
    global _applied
    if not _applied:
        RemoteAction._validate_action_result = validate_action_result
        Event.resolve_by_type = staticmethod(resolve_event_type)
        _applied = True
