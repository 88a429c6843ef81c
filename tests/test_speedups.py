"""bot/speedups.py: the action server's answers are validated as Rasa validates them,
with the schema compiled once."""

from __future__ import annotations

from typing import Any

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
    from bot.speedups import event_validators

    event_validators.cache_clear()
    for _ in range(3):
        assert ACTION._validate_action_result(GOOD) is True
    assert event_validators.cache_info().misses == 1
    action_response_validator.cache_clear()
    for _ in range(3):
        with pytest.raises(ValidationError):
            ACTION._validate_action_result({"events": [{"event": "slot", "name": 1}]})
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


def sample_answers() -> list[dict]:
    """Answers with events of every kind Rasa knows, and the same spoilt in many ways."""
    from rasa.shared.core import events as ev

    good_events = [
        ev.UserUttered("你好", {"name": "greet", "confidence": 0.9}, [{"entity": "region", "value": "510107"}]),
        ev.BotUttered("好的", {"buttons": [{"title": "1", "payload": "/x"}]}),
        ev.SlotSet("service_id", "passport"),
        ev.SlotSet("lang", None),
        ev.ActionExecuted("action_listen"),
        ev.ActiveLoop("application_form"),
        ev.ActiveLoop(None),
        ev.LoopInterrupted(True),
        ev.ActionExecutionRejected("validate_application_form"),
        ev.FollowupAction("action_show_service"),
        ev.Restarted(),
        ev.AllSlotsReset(),
        ev.ConversationPaused(),
        ev.ConversationResumed(),
        ev.UserUtteranceReverted(),
        ev.ActionReverted(),
        ev.SessionStarted(),
        ev.StoryExported(),
        ev.ReminderScheduled("EXTERNAL_x", __import__("datetime").datetime(2026, 1, 1)),
        ev.ReminderCancelled("reminder"),
        ev.EntitiesAdded([{"entity": "region", "value": "510107"}]),
        ev.AgentUttered("hi"),
    ]
    good = [event.as_dict() for event in good_events]
    bad = [
        {"event": "no_such_event"},
        {"event": 3},
        {"name": "no event type"},
        {"event": "slot", "name": "x", "timestamp": "yesterday"},
        {"event": "slot", "name": "x", "metadata": []},
        {"event": "user", "text": 5},
        {"event": "user", "parse_data": {"entities": [{"entity": "region"}]}},
        {"event": "user", "parse_data": {"intent": {"name": 1}}},
        {"event": "bot", "text": ["list"]},
        {"event": "action", "name": None, "policy": 3},
        {"event": "active_loop", "name": 7},
        "not an event",
    ]
    answers: list[Any] = [{"events": [event], "responses": []} for event in good + bad]
    answers += [{"events": good}, {"events": [*good, bad[0]]}, {"events": "not a list"}, {"responses": "text"}]
    answers += [{"events": [], "responses": [{"text": "x"}]}, {}, {"events": None}, []]
    return answers


def test_each_event_checked_by_its_own_branch_agrees_with_the_whole_schema() -> None:
    from bot.speedups import surely_valid

    answers = sample_answers()
    agree = [surely_valid(answer) == action_response_validator().is_valid(answer) for answer in answers]
    assert all(agree), [answer for answer, same in zip(answers, agree, strict=False) if not same]
    assert sum(surely_valid(answer) for answer in answers) >= 23  # the good ones pass the quick way


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

    from bot.speedups import possible_rule_keys, rasas_possible_rule_keys, remembered_rule_keys
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
            # Remembered: the same keys the first time and again (states as Rasa makes
            # them, with tuples; JSON's lists cannot be remembered and are worked out).
            as_rasa_makes_them = [
                {part: {k: tuple(v) if isinstance(v, list) else v for k, v in f.items()} for part, f in state.items()}
                for state in history
            ]
            expected = rasas_possible_rule_keys(policy, lookup, as_rasa_makes_them)
            for _ in range(2):
                assert remembered_rule_keys(policy, lookup, as_rasa_makes_them) == expected
                assert remembered_rule_keys(policy, lookup, history) == found
    assert matched > 100
    assert RulePolicy._get_possible_keys is remembered_rule_keys
    remembered = policy.__dict__["_zhengwu_rule_keys"]
    assert sum(len(entry[-1]) for entry in remembered.values()) > 100


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


def test_the_intent_classifier_scores_as_before_with_its_weights_stored_by_column(tmp_path) -> None:
    import numpy as np
    import scipy.sparse
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier

    from bot.speedups import _load_classifier
    from tools.train import ensure_model

    storage, _ = LocalModelStorage.from_model_archive(tmp_path, ensure_model())
    name = next(p.name for p in tmp_path.rglob("train_LogisticRegressionClassifier*") if p.is_dir())
    resource = Resource(name)
    context = ExecutionContext(GraphSchema({}), "test")
    config = {**LogisticRegressionClassifier.get_default_config()}
    ours = LogisticRegressionClassifier.load(config, storage, resource, context)
    rasas = _load_classifier(LogisticRegressionClassifier, config, storage, resource, context)
    assert ours.clf.coef_.flags["F_CONTIGUOUS"] and not rasas.clf.coef_.flags["F_CONTIGUOUS"]
    features = scipy.sparse.random(40, rasas.clf.coef_.shape[1], density=0.01, format="csr", random_state=7)
    assert np.array_equal(ours.clf.predict_proba(features), rasas.clf.predict_proba(features))


def test_the_action_server_gets_the_recent_events_and_the_domain_without_responses() -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from tools.stack import ROOT

    domain = Domain.load(str(ROOT / "domain.yml"))
    events = [ActionExecuted("action_listen")]
    for number in range(5):
        events += [
            UserUttered(f"消息{number}", {"name": "find_service", "confidence": 0.9}),
            SlotSet("lang", "zh"),
            ActionExecuted("action_find_service"),
            BotUttered(f"回答{number}"),
            ActionExecuted("action_listen"),
        ]
    tracker = DialogueStateTracker.from_events("citizen", events, domain.slots)
    endpoint = EndpointConfig("http://127.0.0.1:1/webhook", enable_selective_domain=True)
    validation = RemoteAction("validate_application_form", endpoint)._action_call_format(tracker, domain)
    sent = validation["tracker"]["events"]
    assert [e.get("text") for e in sent if e["event"] == "user"] == ["消息3", "消息4"]
    assert sent == [event.as_dict() for event in events[-10:]]
    assert validation["tracker"]["latest_message"]["text"] == "消息4"
    assert validation["tracker"]["slots"]["lang"] == "zh"
    assert "responses" not in validation["domain"]
    assert validation["domain"]["slots"] == domain.as_dict()["slots"]
    assert validation["domain"]["forms"] == domain.as_dict()["forms"]
    assert "responses" in domain.as_dict()  # Rasa's own copy untouched
    search = RemoteAction("action_find_service", endpoint)._action_call_format(tracker, domain)
    assert "domain" not in search and len(search["tracker"]["events"]) == 10


def test_remembered_rules_follow_a_changed_lookup_and_nothing_is_remembered_while_training(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rasa.core.policies.rule_policy import RulePolicy

    import bot.speedups as speedups

    rule = '[{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}]'
    other = '[{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "thank"}}]'
    lookup = {rule: "utter_greet", other: "utter_thank"}
    states = [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}]
    policy = RulePolicy.__new__(RulePolicy)
    assert speedups.remembered_rule_keys(policy, lookup, states) == {rule}
    del lookup[rule]  # as RulePolicy's training removes contradicting rules
    assert speedups.remembered_rule_keys(policy, lookup, states) == set()

    seen: list[bool] = []

    def training(self: RulePolicy, trackers: list, domain: object, **kwargs: object) -> str:
        lookup[rule] = "utter_greet"
        speedups.remembered_rule_keys(self, lookup, states)
        seen.append(speedups.RULE_KEYS_ATTRIBUTE in self.__dict__)
        return "resource"

    monkeypatch.setattr(speedups, "_train_rule_policy", training)
    policy = RulePolicy.__new__(RulePolicy)
    assert RulePolicy.train(policy, [], None) == "resource"
    assert seen == [False] and speedups.TRAINING_ATTRIBUTE not in policy.__dict__
