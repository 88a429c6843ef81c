"""Region entity extractor: every division of China, by name, alias, pinyin or English.

A spaCy `PhraseMatcher` holds every name of the platform's region data
(data/regions/regions.csv, the file the platform serves) and finds them in a message
read as units (a Chinese character or a Latin word, so Latin names match whole words
only). `RegionDirectory.choose` then decides which place the message means:
'Wuhou, Chengdu' -> 武侯区 510107. The entity `region` carries the 6-digit code, and
the featurizers that follow see the place's tokens as one symbol, `PLACE`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import spacy
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from backend.catalogue.regions import Mention, Region, RegionDirectory, normalize_place
from backend.catalogue.sources import read_not_places, read_regions
from bot.nlu.text import UNIT, code_fingerprint, fold

ENTITY = "region"
PLACE = "__place__"
REGION_FILES = ("regions/regions.csv", "regions/not_places.yml")
_MAX_MATCH_UNITS = 14


class RegionMatcher:
    """Finds the region a text names; pure apart from spaCy, no Rasa."""

    def __init__(self, directory: RegionDirectory) -> None:
        self.directory = directory
        self._vocab = spacy.blank("xx").vocab
        self._matcher = PhraseMatcher(self._vocab, attr="ORTH")
        self._regions: dict[str, list[Region]] = {}
        for name, region in directory.names():
            key = " ".join(_units(name))
            if key and len(key.split()) <= _MAX_MATCH_UNITS:
                self._regions.setdefault(key, []).append(region)
        patterns = [Doc(self._vocab, words=key.split()) for key in self._regions]
        self._matcher.add("REGION", patterns)

    def find(self, text: str) -> tuple[Region, int, int] | None:
        """The region `text` names and the character span naming it, or None."""
        found = [(normalize_place(m.group()), m.start(), m.end()) for m in UNIT.finditer(fold(text))]
        if not found:
            return None
        doc = Doc(self._vocab, words=[unit for unit, _, _ in found])
        longest: dict[int, int] = {}
        for _, start, end in self._matcher(doc):
            longest[start] = max(end, longest.get(start, end))
        mentions = []
        for start, end in longest.items():
            key = " ".join(unit for unit, _, _ in found[start:end])
            mentions.append(Mention(start, end, len(key.replace(" ", "")), tuple(self._regions[key])))
        chosen = self.directory.choose(mentions)
        if chosen is None:
            return None
        region, mention = chosen
        return region, found[mention.start][1], found[mention.end - 1][2]


def _units(name: str) -> list[str]:
    return [normalize_place(m.group()) for m in UNIT.finditer(fold(name))]


# Also a featurizer: only tokenizers and featurizers see the training data on its way to
# the classifier, and the places in it must be masked as in messages.
@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER],
    is_trainable=True,
)
class RegionEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Adds the entity `region` (value: 6-digit division code) to messages that name a place.

    Training copies the region data into the model, so a model always answers with the
    regions it was trained with; changing the data files retrains it.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"data_dir": "data"}

    @classmethod
    def _data_dir(cls, config: dict[str, Any]) -> Path:
        # Rasa passes the fingerprint hook the configuration without the defaults.
        return Path(config.get("data_dir") or cls.get_default_config()["data_dir"])

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        return code_fingerprint(*(cls._data_dir(config) / name for name in REGION_FILES))

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        data_dir: Path | None = None,
    ) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._matcher: RegionMatcher | None = None
        if data_dir is not None:
            self._matcher = RegionMatcher(RegionDirectory(read_regions(data_dir), read_not_places(data_dir)))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RegionEntityExtractor:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        with self._storage.write_to(self._resource) as directory:
            for name in REGION_FILES:
                (directory / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(self._data_dir(self._config) / name, directory / name)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> RegionEntityExtractor:
        with model_storage.read_from(resource) as directory:
            return cls(config, model_storage, resource, directory)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            found = self._find(message)
            if found is None:
                continue
            region, start, end = found
            entity = {"entity": ENTITY, "value": region.code, "start": start, "end": end, "confidence": 1.0}
            message.set(ENTITIES, message.get(ENTITIES, []) + self.add_extractor_name([entity]), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Masks the places of training examples as `process` does those of messages."""
        for example in training_data.training_examples:
            self._find(example)
        return training_data

    def _find(self, message: Message) -> tuple[Region, int, int] | None:
        """The region a message names; its tokens' lemmas become PLACE for the featurizers.

        The classifier then learns '我在PLACE' and 'open a shop in PLACE' from a few
        examples instead of learning 3,000 place names, and a place never sways the intent.
        """
        text = message.get(TEXT)
        if not text or self._matcher is None:
            return None
        found = self._matcher.find(text)
        if found is not None:
            _, start, end = found
            tokens = message.get(TOKENS_NAMES[TEXT]) or []
            for token in tokens:
                if token.start < end and token.end > start:
                    token.lemma = PLACE
            message.set(TOKENS_NAMES[TEXT], tokens)  # set anew: the message's fingerprint changes
        return found
