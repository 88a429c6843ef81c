"""bot/speedups.py: the action server's answers are validated as Rasa validates them,
with the schema compiled once."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

import bot.channels  # noqa: F401  (what the Rasa server imports; applies the speed-up)
from bot.speedups import action_response_validator, validate_action_result

ACTION = RemoteAction("action_find_service", EndpointConfig("http://127.0.0.1:1/webhook"))
GOOD = {
    "events": [{"event": "slot", "name": "service_id", "value": "passport", "timestamp": None}],
    "responses": [{"text": "好的", "buttons": [], "custom": {"type": "service_card"}}],
}


def test_the_rasa_server_uses_the_compiled_validator() -> None:
    assert RemoteAction._validate_action_result is validate_action_result
    action_response_validator.cache_clear()
    for _ in range(3):
        assert ACTION._validate_action_result(GOOD) is True
    assert action_response_validator.cache_info().misses == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"events": "not a list"},
        {"events": [{"name": "no event type"}]},
        {"events": [{"event": "slot", "name": "x"}], "responses": "text"},
    ],
)
def test_a_wrong_answer_is_refused_as_rasa_refuses_it(bad: dict) -> None:
    with pytest.raises(ValidationError) as ours:
        ACTION._validate_action_result(bad)
    from jsonschema import validate

    with pytest.raises(ValidationError) as rasas:
        validate(bad, RemoteAction.action_response_format_spec())
    assert ours.value.message.startswith(rasas.value.message)
    assert "Failed to validate Action server response" in ours.value.message


def test_events_read_back_find_their_classes_as_before() -> None:
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

    from bot.speedups import resolve_event_type

    assert Event.resolve_by_type is resolve_event_type
    for event in (SlotSet("lang", "zh"), ActionExecuted("action_listen"), UserUttered("你好")):
        again = Event.from_parameters(event.as_dict())
        assert type(again) is type(event) and again == event
    assert Event.resolve_by_type("no_such_event", SlotSet) is SlotSet
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")
