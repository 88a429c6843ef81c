"""China's administrative divisions: look-up, search and place names for offices.

Pure: a `RegionDirectory` is built from plain `Region` records and never does I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

TIERS = ("province", "city", "county")
MUNICIPALITIES = frozenset({"110000", "120000", "310000", "500000"})
# Hong Kong, Macao and Taiwan run their own systems: mainland procedures do not apply there.
OUTSIDE_MAINLAND = frozenset({"710000", "810000", "820000"})

_SPACES = re.compile(r"[\s'’\-]+")


def normalize_place(text: str) -> str:
    """Case, width and spacing folded, so that 'Guang'an', 'guangan' and 'GUANG AN' meet."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text).lower())


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    name_en: str
    tier: str
    parent_code: str | None = None
    short: str = ""
    aliases: tuple[str, ...] = field(default=())

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Region:
        """From a row of regions.csv or of the regions table (aliases joined by '|')."""
        return cls(
            code=row["code"],
            name=row["name"],
            name_en=row["name_en"],
            tier=row["tier"],
            parent_code=row["parent_code"] or None,
            short=row["short"],
            aliases=tuple(alias for alias in row["aliases"].split("|") if alias),
        )

    def as_dict(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "tier": self.tier,
            "parent_code": self.parent_code,
        }


@dataclass(frozen=True)
class PlaceName:
    """How an office's place is written: 成都市武侯区 / Wuhou District, Chengdu."""

    zh: str
    en: str


class RegionDirectory:
    def __init__(self, regions: Iterable[Region], not_places: Iterable[str] = ()) -> None:
        self._not_places = frozenset(normalize_place(word) for word in not_places)
        self._by_code: dict[str, Region] = {}
        self._children: dict[str, list[Region]] = {}
        self._keys: dict[str, list[Region]] = {}
        for region in regions:
            self._by_code[region.code] = region
        for region in self._by_code.values():
            if region.parent_code:
                self._children.setdefault(region.parent_code, []).append(region)
            names = (region.name, region.short, region.name_en, *region.aliases)
            for key in {normalize_place(name) for name in names if name}:
                self._keys.setdefault(key, []).append(region)

    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[Region]:
        return iter(self._by_code.values())

    def get(self, code: str) -> Region | None:
        return self._by_code.get(code)

    def children(self, code: str) -> list[Region]:
        return sorted(self._children.get(code, []), key=lambda r: r.code)

    def parent(self, region: Region) -> Region | None:
        return self._by_code.get(region.parent_code or "")

    def lineage(self, region: Region) -> list[Region]:
        """The region and its ancestors, province first."""
        chain = [region]
        while (up := self.parent(chain[0])) is not None:
            chain.insert(0, up)
        return chain

    def province_of(self, region: Region) -> Region:
        return self.lineage(region)[0]

    def city_of(self, region: Region) -> Region | None:
        """The prefecture-level unit that acts as 'city' for this region.

        A municipality is its own city; a county-level city governed directly by its
        province (济源市, 仙桃市) acts as a city too.
        """
        chain = self.lineage(region)
        province = chain[0]
        if province.code in MUNICIPALITIES:
            return province
        for item in chain[1:]:
            if item.tier == "city":
                return item
        if region.tier == "county":
            return region
        return None

    def place_name(self, region: Region) -> PlaceName:
        """Full place name as offices use it: the county with its city, or the city alone."""
        if region.tier == "province" and region.name.endswith("省"):
            return PlaceName(region.name, f"{region.name_en} Province")
        if region.tier != "county":
            return PlaceName(region.name, region.name_en)
        parent = self.parent(region)
        if parent is None:
            return PlaceName(region.name, region.name_en)
        if parent.tier == "province" and parent.code not in MUNICIPALITIES:
            return PlaceName(region.name, f"{region.name_en}, {parent.name_en}")
        return PlaceName(parent.name + region.name, f"{region.name_en}, {parent.name_en}")

    def lookup(self, text: str) -> list[Region]:
        """Regions whose code, name, alias, pinyin or English name is exactly `text`."""
        text = text.strip()
        if text in self._by_code:
            return [self._by_code[text]]
        return sorted(self._keys.get(normalize_place(text), []), key=_prominence)

    def search(self, query: str, limit: int = 20) -> list[Region]:
        """Exact matches first, then names and aliases that start with, then contain, the query."""
        key = normalize_place(query)
        if not key:
            return []
        found: dict[str, tuple[int, Region]] = {}
        for region in self.lookup(query):
            found[region.code] = (0, region)
        for candidate, regions in self._keys.items():
            if key == candidate:
                continue
            if candidate.startswith(key):
                rank = 1
            elif key in candidate:
                rank = 2
            else:
                continue
            for region in regions:
                if region.code not in found or found[region.code][0] > rank:
                    found[region.code] = (rank, region)
        ordered = sorted(found.values(), key=lambda pair: (pair[0], *_prominence(pair[1])))
        return [region for _, region in ordered[:limit]]

    def names(self) -> Iterator[tuple[str, Region]]:
        """Every name a region goes by (name, short name, English, aliases), not-places left out."""
        for region in self._by_code.values():
            for name in dict.fromkeys((region.name, region.short, region.name_en, *region.aliases)):
                if name and normalize_place(name) not in self._not_places:
                    yield name, region

    def find_in_text(self, text: str) -> Region | None:
        """The most specific region named in free text ('在成都武侯区开个面馆' -> 武侯区).

        Text is read as units (a Chinese character or a Latin word) so that Latin names
        match whole words only; at each unit the longest name wins.
        """
        units = _UNITS.findall(unicodedata.normalize("NFKC", text).lower())
        mentions: list[Mention] = []
        for start in range(len(units)):
            for end in range(min(len(units), start + _MAX_UNITS), start, -1):
                key = normalize_place("".join(units[start:end]))
                if key in self._keys and key not in self._not_places:
                    mentions.append(Mention(start, end, len(key), tuple(self._keys[key])))
                    break
        chosen = self.choose(mentions)
        return chosen[0] if chosen else None

    def choose(self, mentions: Iterable[Mention]) -> tuple[Region, Mention] | None:
        """The region the mentions of a text most likely mean, and the mention naming it.

        A place backed by another name in the text ('Wuhou, Chengdu': Chengdu is Wuhou's
        city) beats one standing alone (a name never backs itself: 'Chengde, Hebei' is the
        city, not Chengde County); then longer names win; a name shared by several
        places goes to the most prominent.
        """
        # A name inside a longer one is not a mention of its own (龙江 in 黑龙江).
        found = list(mentions)
        mentions = [m for m in found if not any(o.start <= m.start and m.end <= o.end and o != m for o in found)]
        best: tuple[int, int, Region, Mention] | None = None
        for mention in mentions:
            for region in mention.regions:
                ancestors = {r.code for r in self.lineage(region)[:-1]}
                support = sum(
                    1 for other in mentions if other is not mention and any(o.code in ancestors for o in other.regions)
                )
                score = (support, mention.length)
                if (
                    best is None
                    or score > best[:2]
                    or (score == best[:2] and _prominence(region) < _prominence(best[2]))
                ):
                    best = (*score, region, mention)
        return (best[2], best[3]) if best else None


@dataclass(frozen=True)
class Mention:
    """A place name found in a text: where (in the finder's units) and which regions bear it."""

    start: int
    end: int
    length: int
    regions: tuple[Region, ...]


_UNITS = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[\u3400-\u9fff]")
_MAX_UNITS = 14


def contains(outer_code: str, inner_code: str) -> bool:
    """Whether division `outer_code` contains `inner_code` (by the MCA code's structure)."""
    if outer_code.endswith("0000"):
        return inner_code[:2] == outer_code[:2]
    if outer_code.endswith("00"):
        return inner_code[:4] == outer_code[:4]
    return inner_code == outer_code


def _prominence(region: Region) -> tuple[int, str]:
    return (TIERS.index(region.tier), region.code)
