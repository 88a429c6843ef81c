"""Actions against a real platform process, and the platform client against a fake one."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.cards import card_payload, detail_args
from actions.language import ActionDetectLanguage, choose_language
from actions.matching import decide, ordinal
from actions.platform import PlatformClient, PlatformUnavailable
from tests.conftest import RunningPlatform
from tools.stack import free_port

# --- pure parts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "forced", "intent", "current", "expected"),
    [
        ("我想办护照", None, None, None, "zh"),
        ("how do I get a passport", None, None, "zh", "en"),
        ("我要办passport", None, None, None, "zh"),
        ("how do I get a 居住证 in Shenzhen", None, None, None, "en"),
        ("🙂", None, None, "en", "en"),
        ("", None, None, None, "zh"),
        ("我想办护照", "en", None, None, "en"),
        ("please reply in Chinese", None, "switch_language", "en", "zh"),
        ("能用英文回答吗", None, "switch_language", "zh", "en"),
    ],
)
def test_language_follows_the_latest_message(
    text: str, forced: str | None, intent: str | None, current: str | None, expected: str
) -> None:
    assert choose_language(text, forced, intent, current) == expected


def test_language_action_reads_metadata_from_the_latest_message() -> None:
    tracker = _tracker(text="我想办护照", metadata={"lang": "en"})
    events = asyncio.run(ActionDetectLanguage().run(CollectingDispatcher(), tracker, {}))
    assert events == [{"event": "slot", "timestamp": None, "name": "lang", "value": "en"}]


def _result(service_id: str, score: float) -> dict[str, Any]:
    return {"service": {"id": service_id, "name": service_id}, "score": score}


def test_a_clear_winner_is_a_card_alone() -> None:
    decision = decide([_result("passport", 40), _result("visa", 12)])
    assert decision.card == {"id": "passport", "name": "passport"} and decision.alternatives == []


def test_close_runners_up_are_offered_beside_the_card() -> None:
    decision = decide([_result("a", 40), _result("b", 36), _result("c", 10)])
    assert decision.card is not None and decision.card["id"] == "a"
    assert [found["service"]["id"] for found in decision.alternatives] == ["a", "b"]


def test_weak_matches_are_candidates_not_a_card() -> None:
    decision = decide([_result("a", 6), _result("b", 5)])
    assert decision.card is None and len(decision.alternatives) == 2
    assert decide([]).card is None and decide([]).alternatives == []


@pytest.mark.parametrize(
    ("text", "position"),
    [("第二个", 1), ("选3", 2), ("2", 1), ("就第一个吧", 0), ("最后一个", 2), ("the second one", 1),
     ("number three", 2), ("option 1", 0), ("the last one", 2), ("第五个", None), ("护照那个", None)],
)  # fmt: skip
def test_position_of_a_choice(text: str, position: int | None) -> None:
    assert ordinal(text, 3) == position


def test_card_carries_the_contract_fields(catalogue: Any) -> None:
    view = catalogue.service_view(catalogue.items["passport"], "en", catalogue.find_region("海淀"))
    payload = card_payload(view)
    assert payload["type"] == "service_card"
    assert {"id", "name", "tier", "department", "online_level", "time_limit_days", "fee", "materials", "steps"} <= set(
        payload["service"]
    )
    assert payload["office"]["region_code"] == "110000"
    assert "\n\n" not in detail_args(view, "materials", "en")["details"]


# --- actions against the real platform ------------------------------------------------


@pytest.fixture(scope="module")
def running_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    var_dir = tmp_path_factory.mktemp("actions-platform")
    running = RunningPlatform(f"sqlite:///{var_dir / 'platform.db'}", var_dir)
    yield running
    running.stop()


@pytest.fixture
def use_platform(running_platform: RunningPlatform, monkeypatch: pytest.MonkeyPatch) -> RunningPlatform:
    monkeypatch.setattr(services, "_platform", PlatformClient(running_platform.url))
    return running_platform


def _tracker(
    text: str = "",
    intent: str = "find_service",
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities or []}
    if metadata:
        latest["metadata"] = metadata
    return Tracker("citizen", slots or {}, latest, [], False, None, {}, "action_listen")


def _run(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def _customs(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["custom"] for m in messages if m.get("custom")]


def _slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def test_need_with_region_gets_the_card_with_the_county_office(use_platform: RunningPlatform) -> None:
    entities = [{"entity": "region", "value": "510107", "start": 1, "end": 4}]
    tracker = _tracker("在武侯区开个面馆要办什么证", slots={"lang": "zh", "region": "510107"}, entities=entities)
    messages, events = _run(services.ActionFindService(), tracker)
    card = _customs(messages)[0]
    assert card["type"] == "service_card" and card["service"]["id"] == "food-business-licence"
    assert card["office"]["region_code"] == "510107"
    assert card["office"]["department"] == "成都市武侯区市场监督管理局"
    assert messages[0]["response"] == "utter_service_card" and "成都市武侯区市场监督管理局" in messages[0]["office"]
    assert _slots(events)["service_id"] == "food-business-licence"
    assert "utter_ask_region" not in [m.get("response") for m in messages]


def test_need_without_region_asks_for_it_once(use_platform: RunningPlatform) -> None:
    messages, events = _run(services.ActionFindService(), _tracker("passport renewal", slots={"lang": "en"}))
    assert _customs(messages)[0]["office"] is None
    assert messages[-1]["response"] == "utter_ask_region" and _slots(events)["region_asked"] is True
    asked = {"lang": "en", "region_asked": True}
    messages, _ = _run(services.ActionFindService(), _tracker("passport renewal", slots=asked))
    assert "utter_ask_region" not in [m.get("response") for m in messages]


def test_region_given_later_sends_the_card_again_with_its_office(use_platform: RunningPlatform) -> None:
    slots = {"lang": "en", "region": "110108", "service_id": "passport"}
    entities = [{"entity": "region", "value": "110108", "start": 0, "end": 7}]
    messages, _ = _run(services.ActionSetRegion(), _tracker("Haidian", "inform_region", slots, entities))
    card = _customs(messages)[0]
    assert card["service"]["id"] == "passport" and card["office"]["region_code"] == "110000"
    assert card["office"]["department"] == "Exit-Entry Administration Corps, Beijing Municipal Public Security Bureau"


def test_follow_up_answers_about_the_current_item(use_platform: RunningPlatform) -> None:
    slots = {"lang": "zh", "service_id": "passport"}
    messages, _ = _run(services.ActionServiceDetail(), _tracker("要带什么材料", "ask_materials", slots))
    assert messages[0]["response"] == "utter_detail_materials" and messages[0]["name"] == "普通护照签发"
    assert _customs(messages)[0] == {**_customs(messages)[0], "type": "service_detail", "aspect": "materials"}
    assert "居民身份证" in messages[0]["details"]


def test_follow_up_naming_another_item_switches_to_it(use_platform: RunningPlatform) -> None:
    slots = {"lang": "zh", "service_id": "passport"}
    messages, events = _run(services.ActionServiceDetail(), _tracker("结婚登记要多少钱", "ask_fee", slots))
    assert _customs(messages)[0]["type"] == "service_card"
    assert _slots(events)["service_id"] != "passport"
    assert messages[1]["response"] == "utter_detail_fee"


def test_follow_up_without_any_item_asks_which(use_platform: RunningPlatform) -> None:
    messages, _ = _run(services.ActionServiceDetail(), _tracker("how much does it cost", "ask_fee", {"lang": "en"}))
    assert [m["response"] for m in messages] == ["utter_ask_which_service"]


def test_candidates_are_chosen_by_button_position_or_words(use_platform: RunningPlatform) -> None:
    slots = {"lang": "zh", "candidates": ["company-registration", "individual-business-registration"]}
    by_button = [{"entity": "service_id", "value": "individual-business-registration"}]
    for text, entities in (("/choose_candidate", by_button), ("第二个", []), ("个体户那个", [])):
        messages, events = _run(services.ActionChooseCandidate(), _tracker(text, "choose_candidate", slots, entities))
        assert _customs(messages)[0]["service"]["id"] == "individual-business-registration", text
        assert _slots(events)["candidates"] is None


def test_an_unclear_choice_is_asked_again(use_platform: RunningPlatform) -> None:
    slots = {"lang": "en", "candidates": ["company-registration", "individual-business-registration"]}
    messages, _ = _run(services.ActionChooseCandidate(), _tracker("the ninth", "choose_candidate", slots))
    assert [m["response"] for m in messages] == ["utter_choose_again"]


def test_low_confidence_offers_candidates_or_the_menu(use_platform: RunningPlatform) -> None:
    messages, _ = _run(services.ActionClarify(), _tracker("护照 签证 出国", "nlu_fallback", {"lang": "zh"}))
    assert messages[0]["response"] == "utter_did_you_mean" and _customs(messages)[0]["type"] == "service_candidates"
    assert messages[0]["buttons"][0]["payload"].startswith("/choose_candidate{")
    messages, _ = _run(services.ActionClarify(), _tracker("🙂", "nlu_fallback", {"lang": "zh"}))
    assert [m["response"] for m in messages] == ["utter_default"]


def test_platform_down_gets_a_polite_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_platform", PlatformClient(f"http://127.0.0.1:{free_port()}", retries=1))
    messages, events = _run(services.ActionFindService(), _tracker("我想办护照", slots={"lang": "zh"}))
    assert [m["response"] for m in messages] == ["utter_platform_unavailable"] and events == []


# --- the client against a fake platform -------------------------------------------------


class FakePlatform:
    """Answers each GET with the next (status, delay) of its script, recording the calls."""

    def __init__(self, script: list[tuple[int, float]]) -> None:
        self.script = list(script)
        self.calls = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, delay = fake.script[min(fake.calls, len(fake.script) - 1)]
                fake.calls += 1
                time.sleep(delay)
                body = b'{"results": []}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake() -> Iterator[Any]:
    made: list[FakePlatform] = []

    def make(script: list[tuple[int, float]]) -> FakePlatform:
        made.append(FakePlatform(script))
        return made[-1]

    yield make
    for server in made:
        server.close()


def test_client_retries_safe_calls_on_unavailable_and_then_succeeds(fake: Any) -> None:
    server = fake([(503, 0), (502, 0), (200, 0)])
    assert PlatformClient(server.url, retries=2).find_services("护照") == []
    assert server.calls == 3


def test_client_gives_up_after_bounded_retries(fake: Any) -> None:
    server = fake([(503, 0)])
    with pytest.raises(PlatformUnavailable):
        PlatformClient(server.url, retries=2).find_services("护照")
    assert server.calls == 3


def test_client_does_not_retry_a_server_error(fake: Any) -> None:
    server = fake([(500, 0), (200, 0)])
    with pytest.raises(PlatformUnavailable):
        PlatformClient(server.url).find_services("护照")
    assert server.calls == 1


def test_client_times_out_on_a_hanging_platform(fake: Any) -> None:
    server = fake([(200, 2.0)])
    client = PlatformClient(server.url, timeout=(0.5, 0.3), retries=0)
    with pytest.raises(PlatformUnavailable):
        client.find_services("护照")


def test_unknown_item_is_none_not_an_error(fake: Any) -> None:
    assert PlatformClient(fake([(404, 0)]).url).service("no-such-item") is None


def test_actions_do_not_block_the_event_loop_while_the_platform_is_slow(
    fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake([(200, 0.6)])
    monkeypatch.setattr(services, "_platform", PlatformClient(server.url, retries=0))

    async def scenario() -> tuple[int, list[dict[str, Any]]]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        ticking = asyncio.create_task(ticker())
        dispatcher = CollectingDispatcher()
        await services.ActionFindService().run(dispatcher, _tracker("我想办护照", slots={"lang": "zh"}), {})
        stop.set()
        await ticking
        return ticks, dispatcher.messages

    ticks, messages = asyncio.run(scenario())
    assert server.calls == 1 and [m["response"] for m in messages] == ["utter_ask_rephrase"]
    assert ticks >= 10, "the loop kept running while the platform answered"


def test_longest_queries_are_cut_to_what_the_platform_accepts(use_platform: RunningPlatform) -> None:
    client = PlatformClient(use_platform.url)
    assert isinstance(client.find_services("护照" * 5000), list)


def test_out_of_scope_that_names_an_item_gets_its_card(use_platform: RunningPlatform) -> None:
    messages, _ = _run(services.ActionOutOfScope(), _tracker("passport for my trip", "out_of_scope", {"lang": "en"}))
    assert _customs(messages)[0]["service"]["id"] == "passport"
    messages, _ = _run(services.ActionOutOfScope(), _tracker("tell me a joke", "out_of_scope", {"lang": "en"}))
    assert [m["response"] for m in messages] == ["utter_out_of_scope"]


def test_without_a_region_a_close_national_item_takes_the_card_from_a_local_one() -> None:
    local = {"service": {"id": "guangan-x", "source": "local"}, "score": 40.0}
    national = {"service": {"id": "resident-id-card", "source": "national"}, "score": 36.0}
    unknown = decide([local, national], region_known=False)
    assert unknown.card is not None and unknown.card["id"] == "resident-id-card"
    assert [found["service"]["id"] for found in unknown.alternatives] == ["resident-id-card", "guangan-x"]
    known = decide([local, national], region_known=True)
    assert known.card is not None and known.card["id"] == "guangan-x"
    far = {"service": {"id": "passport", "source": "national"}, "score": 20.0}
    assert decide([local, far], region_known=False).card == local["service"]


def test_unsure_only_which_aspect_of_a_clear_item_gets_its_card(use_platform: RunningPlatform) -> None:
    tracker = _tracker("set up a limited company, steps and costs", "nlu_fallback", {"lang": "en"})
    tracker.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 0.25},
        {"name": "find_service", "confidence": 0.34},
        {"name": "ask_steps", "confidence": 0.31},
    ]
    messages, _ = _run(services.ActionClarify(), tracker)
    assert _customs(messages)[0]["type"] == "service_card"
    assert _customs(messages)[0]["service"]["id"] == "company-registration"
