"""Text analysis: normalisation, stemming and synonym groups."""

from __future__ import annotations

from backend.catalogue.catalogue import Catalogue
from backend.search.text import detect_lang, normalize, stem


def test_normalize_folds_width_case_and_apostrophes() -> None:
    assert normalize("Driver’s  LICENSE") == "drivers license"
    assert normalize("ＩＤ　Ｃａｒｄ") == "id card"


def test_detect_lang() -> None:
    assert detect_lang("我想开个面馆") == "zh"
    assert detect_lang("open a noodle shop") == "en"
    assert detect_lang("ID card 丢了") == "zh"


def test_stem_meets_plurals_and_verb_forms() -> None:
    assert stem("licences") == "licence"
    assert stem("renewing") == "renew"
    assert stem("registered") == "register"
    assert stem("businesses") == "business"
    assert stem("bus") == "bus"


def test_synonyms_join_colloquial_and_official_words(catalogue: Catalogue) -> None:
    analyze = catalogue.search.analyzer.analyze
    shared = {t for t in analyze("驾照") if t.startswith("syn:")} & {
        t for t in analyze("机动车驾驶证") if t.startswith("syn:")
    }
    assert shared
    en = {t for t in analyze("driver's license") if t.startswith("syn:")}
    assert en & {t for t in analyze("Driving licence renewal") if t.startswith("syn:")}


def test_stopwords_are_dropped(catalogue: Catalogue) -> None:
    tokens = catalogue.search.analyzer.analyze("我想怎么办")
    assert not [t for t in tokens if not t.startswith("b:")]
    assert not catalogue.search.analyzer.analyze("how do I")
