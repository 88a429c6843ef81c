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


def test_rules_found_as_rasa_finds_them() -> None:
    # Histories made of the trained model's own rules, one after another, so that many
    # rules match at the end: the keys must be exactly those Rasa's loop finds.
    import json
    import random
    import tarfile

    from rasa.core.policies.rule_policy import RulePolicy

    from bot.speedups import possible_rule_keys, rasas_possible_rule_keys
    from tools.train import ensure_model

    with tarfile.open(ensure_model()) as model:
        member = next(m for m in model.getmembers() if m.name.endswith("train_RulePolicy0/rule_policy.json"))
        handle = model.extractfile(member)
        assert handle is not None
        stored = json.load(handle)
    lookups = stored.get("lookup", stored)
    policy = RulePolicy.__new__(RulePolicy)
    chance = random.Random(7)
    matched = 0
    for name in ("rules", "rules_for_loop_unhappy_path"):
        lookup = lookups[name]
        keys = sorted(lookup)
        for _ in range(200):
            history = [state for key in chance.sample(keys, chance.randint(1, 6)) for state in json.loads(key)]
            found = possible_rule_keys(policy, lookup, history)
            assert found == rasas_possible_rule_keys(policy, lookup, history)
            matched += bool(found)
    assert matched > 100


def test_calls_to_an_endpoint_reuse_one_connection() -> None:
    import asyncio

    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    from tools.stack import free_port

    peers: list[object] = []

    async def answer(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        return web.json_response({"events": [], "responses": []})

    async def main() -> list[object]:
        app = web.Application()
        app.router.add_post("/webhook", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        try:
            answers = [await endpoint.request(json={"n": number}, method="post") for number in range(5)]
            assert answers == [{"events": [], "responses": []}] * 5
            # at once: as many connections as needed, then kept
            await asyncio.gather(*(endpoint.request(json={}, method="post") for _ in range(3)))
        finally:
            await runner.cleanup()
        return peers

    seen = asyncio.run(main())
    assert len(seen) == 8
    assert len(set(seen[:5])) == 1  # one after another: one connection
    assert len(set(seen)) <= 3


def test_the_language_slot_is_filled_in_the_rasa_server_as_the_action_would() -> None:
    import asyncio

    from rasa.core.actions.action import ActionExtractSlots
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.slots import TextSlot
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.language import choose_language

    extract = ActionExtractSlots(action_endpoint=None)  # no action server: it must not be called

    def filled(text: str, current: str | None = None, metadata: dict | None = None) -> list:
        events = [UserUttered(text, {"name": "find_service"}, metadata=metadata or {})]
        if current:
            events.insert(0, SlotSet("lang", current))
        tracker = DialogueStateTracker.from_events("x", events, [TextSlot("lang", mappings=[])])
        coroutine = extract._run_custom_action("action_detect_language", None, None, tracker, Domain.empty())
        return asyncio.run(coroutine)

    assert filled("how do I get a passport") == [SlotSet("lang", "en")]
    assert filled("我要办 passport") == [SlotSet("lang", "zh")]
    assert filled("👍", current="en") == [SlotSet("lang", "en")]
    assert filled("/apply", current="en") == [SlotSet("lang", "en")]
    assert filled("hello", metadata={"lang": "zh"}) == [SlotSet("lang", "zh")]
    assert choose_language("how do I get a passport") == "en"
