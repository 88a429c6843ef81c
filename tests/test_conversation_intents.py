"""The trained model understands the conversation tests' messages as the stories say.

`rasa test core` replays the intents written in a story, so a story can pass while the
model would read its message differently; this reads every message with the real model.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
import yaml
from rasa.core.agent import Agent

from tools.stack import ROOT
from tools.train import ensure_model

BAR = 0.95
_ANNOTATION = re.compile(r"\[([^\]]*)\]\{[^}]*\}")


def story_messages() -> list[tuple[str, str]]:
    found = []
    for path in sorted(Path(ROOT / "tests" / "conversations").glob("*.yml")):
        for story in yaml.safe_load(path.read_text(encoding="utf-8"))["stories"]:
            for step in story["steps"]:
                if "user" in step and "intent" in step:
                    found.append((_ANNOTATION.sub(r"\1", step["user"]).strip(), step["intent"]))
    return found


@pytest.fixture(scope="module")
def agent() -> Agent:
    return Agent.load(str(ensure_model()))


def test_story_messages_are_classified_as_written(agent: Agent) -> None:
    messages = story_messages()

    async def classify() -> list[str]:
        return [(await agent.parse_message(text))["intent"]["name"] for text, _ in messages]

    predicted = asyncio.run(classify())
    misses = [(text, want, got) for (text, want), got in zip(messages, predicted, strict=True) if want != got]
    accuracy = 1 - len(misses) / len(messages)
    assert accuracy >= BAR, f"{accuracy:.1%} of {len(messages)}; misses: {misses}"
