"""Personal data held in slots only as ciphertext: "sealed:<Fernet token>".

While a citizen fills in an application, their name, ID number and phone must survive
from turn to turn, but Rasa keeps slots in its tracker store, which must never hold
personal data (CONTRACT.md §3). So the action server seals a value before it becomes a
slot and unseals it when it needs it (the summary, the submission). The key is the action
server's alone: `ZW_SEAL_KEY`, or a key generated on first use into `var/seal-key` (0600).
Tokens expire after a day; a value that cannot be unsealed counts as not given.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "sealed:"
MAX_AGE_SECONDS = 24 * 3600
ROOT = Path(__file__).resolve().parent.parent


def _key_file() -> Path:
    return Path(os.environ.get("ZW_VAR_DIR") or ROOT / "var") / "seal-key"


@cache
def _fernet() -> Fernet:
    configured = os.environ.get("ZW_SEAL_KEY")
    if configured:
        return Fernet(configured.encode())
    path = _key_file()
    if not path.is_file() or not path.read_text(encoding="utf-8").strip():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(Fernet.generate_key().decode() + "\n")
    return Fernet(path.read_text(encoding="utf-8").strip().encode())


def seal(value: str) -> str:
    return PREFIX + _fernet().encrypt(value.encode("utf-8")).decode("ascii")


def unseal(value: object) -> str | None:
    """The plain value of a sealed slot, or None if there is none (or it cannot be read)."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return None
    try:
        return _fernet().decrypt(value[len(PREFIX) :].encode("ascii"), ttl=MAX_AGE_SECONDS).decode("utf-8")
    except (InvalidToken, ValueError):
        return None
