"""Redis stops in the middle of conversations (issue "Production readiness"; the full
set of faults under load is bench/faults.py). Conversations and the conversation locks
of the two Rasa workers live in Redis: while it is down every citizen gets the polite
"try again in a moment", in both languages; once it is back, each conversation goes on
from where it was, as if nothing had happened, and every application and report is on
the platform exactly once, its number told exactly once.

A redis-server of the test's own (tools/redis_server.py), killed with SIGKILL and started
again on its append-only file, so that the machine's shared Redis is never touched.

And, without servers: a turn whose conversation cannot be read or saved fails (and gets
the polite answer) rather than being answered from an empty or in-memory conversation
(bot/store_failures.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bench.fault_checks import RECEIPTS, platform_records, receipts_told
from bench.faults import exchange
from bench.patient_citizens import Answers, Citizen, Responses, citizens, is_polite
from bot.channels.rest import NO_ANSWER
from bot.store_failures import ConversationStoreUnavailable, refuse_silent_fallback
from tools.redis_server import RedisServer, redis_server_binary
from tools.stack import Stack
from tools.train import ensure_model

NEEDS_REDIS_SERVER = pytest.mark.skipif(redis_server_binary() is None, reason="needs redis-server")

# Where each conversation is when Redis stops: the question it was last asked.
WAITING_FOR = {
    "application": ("utter_ask_id_number", "utter_ask_phone"),  # asked the ID number; the phone comes next
    "report": ("utter_ask_complaint_contact", "utter_complaint_summary"),  # asked a contact; the summary next
}


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis: RedisServer) -> Iterator[Stack]:
    var_dir = Path(tmp_path_factory.mktemp("faults"))
    with Stack(var_dir, ensure_model(), redis_url=redis.url, rasa_workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def responses() -> Responses:
    return Responses()


def say(stack: Stack, sender: str, message: str) -> Answers:
    said = exchange(stack.rasa_url, sender, message, timeout=60)
    assert said.answers is not None, f"{sender}: {said.outcome} {said.detail}"
    return said.answers


def walk_until(stack: Stack, citizen: Citizen, responses: Responses, question: str) -> str:
    """Talks until the assistant asks `question`; the citizen's answer to it (not yet sent)."""
    message = citizen.first()
    for _ in range(20):
        answers = say(stack, citizen.sender, message)
        assert not is_polite(answers, responses), f"{citizen.sender}: {answers}"
        reply = citizen.reply(answers, responses)
        assert reply is not None and citizen.stalls == 0, f"{citizen.sender}: {answers}"
        message = reply
        if question in responses.names(answers):
            return message
    raise AssertionError(f"{citizen.sender} was never asked {question}")


def finish(stack: Stack, citizen: Citizen, responses: Responses, message: str) -> None:
    for _ in range(20):
        answers = say(stack, citizen.sender, message)
        assert not is_polite(answers, responses), f"{citizen.sender}: {answers}"
        reply = citizen.reply(answers, responses)
        if reply is None:
            return
        assert citizen.stalls == 0, f"{citizen.sender}: {answers}"
        message = reply
    raise AssertionError(f"{citizen.sender} did not finish")


@NEEDS_REDIS_SERVER
def test_redis_stopped_mid_conversation_then_back_the_conversations_go_on(
    stack: Stack, redis: RedisServer, responses: Responses
) -> None:
    people = citizens("redis-down", 4)  # an application and a report in each language
    assert {(citizen.flow, citizen.lang) for citizen in people} == {
        (flow, lang) for flow in WAITING_FOR for lang in ("zh", "en")
    }
    pending = {
        citizen.sender: walk_until(stack, citizen, responses, WAITING_FOR[citizen.flow][0]) for citizen in people
    }

    redis.kill()
    try:
        for citizen in people:
            answers = say(stack, citizen.sender, pending[citizen.sender])
            assert [answer.get("text") for answer in answers] == [NO_ANSWER], "the polite answer, in both languages"
        newcomer = say(stack, "redis-down-newcomer", "你好")
        assert [answer.get("text") for answer in newcomer] == [NO_ANSWER]
    finally:
        redis.start()

    for citizen in people:
        # The same answer again: taken as the answer to the question asked before Redis stopped.
        answers = say(stack, citizen.sender, pending[citizen.sender])
        assert WAITING_FOR[citizen.flow][1] in responses.names(answers), f"{citizen.sender}: {answers}"
        message = citizen.reply(answers, responses)
        assert message is not None
        finish(stack, citizen, responses, message)
        assert citizen.receipt is not None, f"{citizen.sender} got no receipt"
    assert not is_polite(say(stack, "redis-down-newcomer", "你好"), responses), "a new conversation starts normally"

    filed = platform_records(stack.database_url, [citizen.sender for citizen in people])
    for citizen in people:
        number = citizen.receipt_number
        assert filed[citizen.sender] == [number], f"{citizen.sender}: exactly once on the platform"
        told = receipts_told(stack, citizen.sender, RECEIPTS[citizen.flow])
        assert [receipt.get("application_id") or receipt.get("complaint_id") for receipt in told] == [number]


class BrokenStore(InMemoryTrackerStore):
    """A tracker store whose server has just gone away."""

    async def save(self, tracker: DialogueStateTracker) -> None:
        raise ConnectionError("the store is down")

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        raise ConnectionError("the store is down")


def test_a_store_that_fails_fails_the_turn_instead_of_answering_from_memory() -> None:
    """Rasa's FailSafeTrackerStore would read a new conversation and save into memory;
    with bot.store_failures the turn fails, and the channel answers its polite NO_ANSWER."""
    agent = SimpleNamespace(tracker_store=FailSafeTrackerStore(BrokenStore(Domain.empty())))
    refuse_silent_fallback(agent)
    tracker = DialogueStateTracker("citizen", [])
    with pytest.raises(ConversationStoreUnavailable):
        asyncio.run(agent.tracker_store.save(tracker))
    with pytest.raises(ConversationStoreUnavailable):
        asyncio.run(agent.tracker_store.retrieve("citizen"))
