"""Rasa 3.6 checks every answer of the action server against a JSON schema with
`jsonschema.validate`, which first checks the schema itself against its metaschema and
builds a new validator: ~35 ms of CPU per action call on this machine, more than the NLU
pipeline and the policies together (`python -m bench.pipeline` shows the split). The
schema never changes, so here it is checked and compiled once per process; each answer
is then validated exactly as before (the same errors, the same message), in well under a
millisecond.

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


def apply() -> None:
    global _applied
    if not _applied:
        RemoteAction._validate_action_result = validate_action_result
        _applied = True
