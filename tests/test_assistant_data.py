"""The assistant's data: training examples, responses and actions fit together, and no
test or benchmark phrase was copied into training."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Action

import actions
import actions.language
from tools.stack import ROOT

for _module in pkgutil.iter_modules(actions.__path__):
    # The action server loads every module of the package; so does this check.
    importlib.import_module(f"actions.{_module.name}")

CJK = re.compile(r"[\u3400-\u9fff]")
ANNOTATION = re.compile(r"\[([^\]]+)\]\{[^}]*\}")


def _normal(text: str) -> str:
    return re.sub(r"[\W_]+", "", ANNOTATION.sub(r"\1", text).lower())


def _training_examples() -> dict[str, list[str]]:
    examples: dict[str, list[str]] = {}
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            lines = [line[2:].strip() for line in block["examples"].splitlines() if line.strip().startswith("- ")]
            examples.setdefault(block["intent"], []).extend(lines)
    return examples


@pytest.fixture(scope="module")
def domain() -> dict:
    loaded: dict = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return loaded


def _test_phrases() -> list[str]:
    phrases = []
    for path in sorted((ROOT / "tests" / "conversations").glob("*.yml")):
        for story in yaml.safe_load(path.read_text(encoding="utf-8"))["stories"]:
            phrases += [step["user"].strip() for step in story["steps"] if "user" in step]
    bench = ROOT / "bench" / "queries"
    phrases += [m["text"] for m in yaml.safe_load((bench / "assistant.yml").read_text(encoding="utf-8"))["messages"]]
    phrases += [q["q"] for q in yaml.safe_load((bench / "heldout.yml").read_text(encoding="utf-8"))["queries"]]
    return [p for p in phrases if not p.startswith("/") and _normal(p)]


def test_no_test_or_benchmark_phrase_is_in_the_training_data() -> None:
    trained = {_normal(text) for texts in _training_examples().values() for text in texts}
    copied = [phrase for phrase in _test_phrases() if _normal(phrase) in trained]
    assert copied == []


def test_every_intent_is_trained_in_both_languages(domain: dict) -> None:
    examples = _training_examples()
    for intent in domain["intents"]:
        if intent.startswith("EXTERNAL_") or intent == "report_emergency":
            continue  # triggered by the platform, or recognised by its cues (bot/nlu/emergency.py)
        texts = examples.get(intent, [])
        chinese = sum(1 for text in texts if CJK.search(text))
        assert chinese >= 20 and len(texts) - chinese >= 20, intent


def test_training_examples_are_unique() -> None:
    texts = [_normal(text) for examples in _training_examples().values() for text in examples]
    assert len(texts) == len(set(texts))


def test_every_response_speaks_both_languages(domain: dict) -> None:
    for name, variations in domain["responses"].items():
        plain = [v for v in variations if not v.get("condition")]
        english = [v for v in variations if v.get("condition") == [{"type": "slot", "name": "lang", "value": "en"}]]
        assert plain and CJK.search(plain[0]["text"]), name
        assert english and not CJK.search(english[0]["text"]), name
        assert "\n\n" not in plain[0]["text"] + english[0]["text"], f"{name}: a blank line splits the message"


def test_responses_the_actions_use_are_in_the_domain(domain: dict) -> None:
    used = set()
    for path in (ROOT / "actions").glob("*.py"):
        used |= set(re.findall(r"\"(utter_[a-z_]*[a-z])\"", path.read_text(encoding="utf-8")))
    used |= {f"utter_detail_{aspect}" for aspect in ("materials", "fee", "time_limit", "where", "online", "steps")}
    assert used - set(domain["responses"]) == set()


def action_names(domain: dict) -> set[str]:
    """The domain's actions: names, or {name: {send_domain: true}} for those that get the domain."""
    return {name for entry in domain["actions"] for name in ([entry] if isinstance(entry, str) else entry)}


def test_every_custom_action_of_the_domain_is_implemented(domain: dict) -> None:
    def subclasses(cls: type) -> list[type]:
        found: list[type] = []
        direct: list[type] = cls.__subclasses__()
        for sub in direct:
            found += [sub, *subclasses(sub)]
        return found

    implemented = set()
    for cls in subclasses(Action):
        if cls.__module__.startswith("actions.") and "name" in vars(cls):
            implemented.add(cls().name())
    assert action_names(domain) == implemented


def test_rules_name_only_known_intents_and_actions(domain: dict) -> None:
    rules = yaml.safe_load(Path(ROOT / "data" / "rules" / "rules.yml").read_text(encoding="utf-8"))["rules"]
    known = action_names(domain) | set(domain["responses"])
    for rule in rules:
        intent, action = rule["steps"][0]["intent"], rule["steps"][1]["action"]
        assert intent in domain["intents"] or intent == "nlu_fallback"
        assert action in known
    assert actions.language.ActionDetectLanguage().name() in action_names(domain)


def test_only_the_form_validations_get_the_domain(domain: dict) -> None:
    # enable_selective_domain (endpoints.yml): the others are called without it
    getting = {name for entry in domain["actions"] if isinstance(entry, dict) for name in entry}
    assert getting == {name for name in action_names(domain) if name.startswith("validate_")}
