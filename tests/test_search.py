"""Service search ranks items for colloquial questions in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from backend.catalogue.catalogue import Catalogue

DEV_DIR = Path(__file__).parent / "data"


def top(catalogue: Catalogue, query: str, region: str | None = None, limit: int = 3) -> list[str]:
    found = catalogue.find_services(query, catalogue.regions.get(region) if region else None, limit)
    return [hit.item.id for hit in found]


@pytest.mark.parametrize(
    ("query", "region", "expected"),
    [
        ("我想开个面馆", None, "food-business-licence"),
        ("how do I renew my driver's license", None, "driving-licence-renewal"),
        ("孩子上户口", None, "birth-registration"),
        ("lost my ID card", "510107", "resident-id-card"),
        ("公积金怎么取出来", None, "housing-fund-withdrawal"),
        ("I want to register a trademark", None, "trademark-registration"),
    ],
)
def test_colloquial_questions_find_the_item(
    catalogue: Catalogue, query: str, region: str | None, expected: str
) -> None:
    assert top(catalogue, query, region=region, limit=1) == [expected]


def test_local_procedures_answer_in_their_own_district(catalogue: Catalogue) -> None:
    found = catalogue.find_services("lost my ID card", catalogue.regions.get("511602"), limit=3)
    assert {"resident-id-card"} & {hit.item.id for hit in found}
    assert any(hit.item.source == "local" and "lost ID card" in hit.item.name("en") for hit in found)


def test_local_items_only_show_for_their_own_district(catalogue: Catalogue) -> None:
    everywhere = top(catalogue, "适龄儿童延缓入学", limit=5)
    in_guangan = top(catalogue, "适龄儿童延缓入学", region="511602", limit=5)
    in_wuhou = top(catalogue, "适龄儿童延缓入学", region="510107", limit=5)
    assert any(i.startswith("guangan-") for i in everywhere)
    assert in_guangan[0].startswith("guangan-")
    assert not any(i.startswith("guangan-") for i in in_wuhou)


def test_scores_are_ranked_best_first(catalogue: Catalogue) -> None:
    found = catalogue.find_services("身份证丢了", limit=10)
    scores = [hit.score for hit in found]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0


@pytest.mark.parametrize("query", ["", "   ", "的了吗", "'; DROP TABLE service_items; --", "x" * 10000, "🙂🙂"])
def test_odd_queries_answer_without_error(catalogue: Catalogue, query: str) -> None:
    assert isinstance(catalogue.find_services(query, limit=5), list)


@pytest.mark.parametrize(
    ("name", "floor"), [("search_dev.yml", 0.9), ("search_dev_en.yml", 0.9), ("search_dev_local.yml", 0.7)]
)
def test_development_set_accuracy(catalogue: Catalogue, name: str, floor: float) -> None:
    """A regression guard on the development queries: most rank their item first.

    The acceptance figures come from bench/search.py on the held-out set, not from here.
    """
    queries = yaml.safe_load((DEV_DIR / name).read_text(encoding="utf-8"))["queries"]
    names = {item.content["name"]["zh"]: item.id for item in catalogue.items.values() if item.source == "local"}
    misses = []
    for case in queries:
        expected = {names.get(e[5:], e) if e.startswith("name:") else e for e in case["expect"]}
        got = top(catalogue, case["q"], limit=3)
        if not got or got[0] not in expected:
            misses.append((case["q"], sorted(expected), got))
    accuracy = 1 - len(misses) / len(queries)
    assert accuracy >= floor, f"top-1 {accuracy:.1%}; misses: {misses}"


def test_misspelt_english_words_read_as_the_words_search_knows(catalogue: Catalogue) -> None:
    speller = catalogue.search.speller
    assert [speller.correct_word(w) for w in ("pasport", "mariage", "tradmark", "residance")] == [
        "passport",
        "marriage",
        "trademark",
        "residence",
    ]
    assert speller.correct_word("hukou") == "hukou" and speller.correct_word("even") == "even"
    assert catalogue.find_services("pasport application first time")[0].item.id == "passport"
