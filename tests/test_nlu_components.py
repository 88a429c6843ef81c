"""The custom NLU components: tokenizer, region extractor (spaCy), wordless messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from backend.catalogue.regions import RegionDirectory
from backend.catalogue.sources import DATA_DIR, read_not_places, read_regions
from bot.nlu.regions import RegionEntityExtractor, RegionMatcher
from bot.nlu.tokenizer import NOTHING, ZhEnTokenizer, tokens_of
from bot.nlu.wordless import WordlessMessageClassifier


@pytest.fixture(scope="module")
def directory() -> RegionDirectory:
    return RegionDirectory(read_regions(DATA_DIR), read_not_places(DATA_DIR))


@pytest.fixture(scope="module")
def matcher(directory: RegionDirectory) -> RegionMatcher:
    return RegionMatcher(directory)


def test_tokens_segment_chinese_and_keep_latin_words_whole() -> None:
    assert tokens_of("我想在成都武侯区开个面馆") == [
        ("我", 0), ("想", 1), ("在", 2), ("成都", 3), ("武侯区", 5), ("开个", 8), ("面馆", 10)
    ]  # fmt: skip
    assert tokens_of("how do I 办社保卡?") == [("how", 0), ("do", 4), ("i", 7), ("办", 9), ("社保卡", 10)]


def test_full_width_letters_are_folded_without_moving_offsets() -> None:
    assert tokens_of("ＰＡＳＳＰＯＲＴ 护照") == [("passport", 0), ("护照", 9)]


def test_a_message_without_words_still_gets_one_token() -> None:
    tokenizer = ZhEnTokenizer(ZhEnTokenizer.get_default_config())
    for text, token in (("😀😀", "😀😀"), ("   ", NOTHING), ("", NOTHING)):
        assert [t.text for t in tokenizer.tokenize(Message(data={"text": text}), "text")] == [token]


@pytest.mark.parametrize(
    ("text", "code", "span"),
    [
        ("我在成都武侯区", "510107", "成都武侯区"),
        ("actually I live in Haidian", "110108", "Haidian"),
        ("Wuhou, Chengdu", "510107", "Wuhou"),
        ("Chaoyang, Beijing", "110105", "Chaoyang"),
        ("我在辽宁朝阳", "211300", "辽宁朝阳"),
        ("I need a residence permit in Shenzhen", "440300", "Shenzhen"),
        ("户口在河南郑州", "410100", "河南郑州"),
        ("ＨＡＩＤＩＡＮ", "110108", "ＨＡＩＤＩＡＮ"),
        ("moving to Pudong New Area", "310115", "Pudong New Area"),
        ("黑龙江", "230000", "黑龙江"),
        ("Chengde, Hebei", "130800", "Chengde"),
    ],
)
def test_region_named_in_any_form_is_found_with_its_code(
    matcher: RegionMatcher, text: str, code: str, span: str
) -> None:
    region, start, end = matcher.find(text) or (None, 0, 0)
    assert region is not None and region.code == code
    assert text[start:end] == span


@pytest.mark.parametrize("text", ["我想办护照", "hello there", "户口迁移怎么办", "how do I transfer my hukou", ""])
def test_text_without_a_place_names_no_region(matcher: RegionMatcher, text: str) -> None:
    assert matcher.find(text) is None


def test_every_division_is_recognised_by_name_and_with_its_parent_in_both_languages(
    matcher: RegionMatcher, directory: RegionDirectory
) -> None:
    missed = []
    for region in directory:
        named = matcher.find(region.name)
        if named is None or named[0].name != region.name:
            missed.append(region.name)
        parent = directory.parent(region)
        if parent is None:
            continue
        for text in (parent.name + region.name, f"{region.name_en}, {parent.name_en}"):
            found = matcher.find(text)
            if found is None or found[0].code != region.code:
                missed.append(text)
    assert len(directory) > 3000
    assert missed == []


def test_region_extractor_trains_into_the_model_and_loads_from_it(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("regions")
    context = ExecutionContext(GraphSchema({}), "test")
    config = {**RegionEntityExtractor.get_default_config(), "data_dir": str(DATA_DIR)}
    trained = RegionEntityExtractor.create(config, storage, resource, context)
    trained.train(TrainingData())
    loaded = RegionEntityExtractor.load(config, storage, resource, context)
    message = Message(data={"text": "I'm in Wuhou, Chengdu"})
    loaded.process([message])
    assert message.get("entities") == [
        {
            "entity": "region",
            "value": "510107",
            "start": 7,
            "end": 12,
            "confidence": 1.0,
            "extractor": "RegionEntityExtractor",
        }
    ]


def test_region_extractor_fingerprint_follows_the_region_data(tmp_path: Path) -> None:
    (tmp_path / "regions").mkdir()
    for name in ("regions.csv", "not_places.yml"):
        (tmp_path / "regions" / name).write_bytes((DATA_DIR / "regions" / name).read_bytes())
    before = RegionEntityExtractor.fingerprint_addon({"data_dir": str(tmp_path)})
    with (tmp_path / "regions" / "not_places.yml").open("a") as handle:
        handle.write("- 东方\n")
    assert RegionEntityExtractor.fingerprint_addon({"data_dir": str(tmp_path)}) != before


@pytest.mark.parametrize(
    ("text", "wordless"),
    [("", True), ("🙂🙂", True), ("\x00\x07", True), ("？？", True), ("1", False), ("护照", False)],
)
def test_messages_without_words_are_not_understood(text: str, wordless: bool) -> None:
    message = Message(data={"text": text, "intent": {"name": "goodbye", "confidence": 0.9}})
    WordlessMessageClassifier().process([message])
    assert (message.get("intent")["name"] == "nlu_fallback") is wordless
