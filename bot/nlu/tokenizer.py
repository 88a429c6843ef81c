"""One tokenizer for Chinese and English in the same message.

Chinese runs are segmented by jieba (成都 / 武侯区 / 开个 / 面馆), Latin words and numbers
are whole tokens ('passport', '10'), punctuation and emoji are dropped. Rasa's
`JiebaTokenizer` alone would keep spaces and punctuation as tokens and requires
`language: zh`; `WhitespaceTokenizer` cannot read Chinese.
"""

from __future__ import annotations

import logging
from typing import Any

import jieba
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.text import CJK_RUN, LATIN_WORD, FingerprintedByCode, fold

logging.getLogger("jieba").setLevel(logging.WARNING)
_segmenter = jieba.Tokenizer()
NOTHING = "<empty>"


def tokens_of(text: str) -> list[tuple[str, int]]:
    """(token, start offset) pairs in the order they occur."""
    folded = fold(text)
    found = [(m.group(), m.start()) for m in LATIN_WORD.finditer(folded)]
    for run in CJK_RUN.finditer(folded):
        found.extend((word, run.start() + start) for word, start, _ in _segmenter.tokenize(run.group()))
    return sorted(found, key=lambda pair: pair[1])


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class ZhEnTokenizer(FingerprintedByCode, Tokenizer):
    """Tokens for mixed Chinese and English text, offsets into the original message."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"intent_tokenization_flag": False, "intent_split_symbol": "_", "token_pattern": None}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ZhEnTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        tokens = [Token(word, start, end=start + len(word)) for word, start in tokens_of(text)]
        if not tokens:
            # Emoji, punctuation or nothing: one token all the same, so that every message
            # has features and the classifier can tell such messages apart.
            symbol = text.strip() or NOTHING
            tokens = [Token(symbol, 0, end=len(symbol))]
        return self._apply_token_pattern(tokens)
