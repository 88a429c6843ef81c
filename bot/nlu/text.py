"""How the NLU components read text: one unit per Chinese character or Latin word.

Offsets always refer to the citizen's original text; full-width letters and digits are
folded one-for-one so that 'ｐａｓｓｐｏｒｔ' reads as 'passport' without moving any offset.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

CJK = "\u3400-\u9fff"
LATIN_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
CJK_RUN = re.compile(rf"[{CJK}]+")
UNIT = re.compile(rf"{LATIN_WORD.pattern}|[{CJK}]")

_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def fold(text: str) -> str:
    """Lower case, full-width ASCII made half-width; same length as `text`."""
    folded = text.translate(_FULL_WIDTH)
    lowered = folded.lower()
    return lowered if len(lowered) == len(folded) else folded


class FingerprintedByCode:
    """Mixed into our components: a change of their code retrains what depends on them."""

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        return code_fingerprint()


def code_fingerprint(*extra: Path) -> str:
    """A digest of the NLU components' code (and `extra` files).

    Rasa caches what each component produced by its inputs and configuration only;
    adding this to a component's fingerprint (`fingerprint_addon`) makes a change of
    our code retrain what depends on it.
    """
    digest = hashlib.sha256()
    for path in (*sorted(Path(__file__).parent.glob("*.py")), *extra):
        digest.update(path.read_bytes())
    return digest.hexdigest()
