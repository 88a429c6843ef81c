"""Configuration from the environment, a `.env` file and embedded defaults."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines; comments and blank lines are ignored, quotes stripped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        values[key] = value.strip().strip("'\"")
    return values


def secret_from_file(path: Path) -> str:
    """Return the secret stored at `path`, creating it (mode 0600) on first use. Several
    processes starting at once all get the one secret that was written first."""
    if path.is_file():
        stored = path.read_text(encoding="utf-8").strip()
        if stored:
            return stored
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    try:
        os.link(draft, path)  # fails if another process got there first: theirs is kept
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    database_url: str
    staff_token: str
    rasa_url: str = "http://localhost:5005"
    """Rasa's HTTP API, where status changes are told to citizens (trigger_intent)."""
    rasa_token: str = ""
    open311_api_keys: tuple[str, ...] = ()
    """Keys that may file reports through Open311 (POST /open311/v2/requests.json)."""
    host: str = "0.0.0.0"
    port: int = 8000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = {**read_dotenv(ROOT / ".env"), **(os.environ if environ is None else environ)}
        var_dir = Path(env.get("ZW_VAR_DIR") or ROOT / "var")
        var_dir.mkdir(parents=True, exist_ok=True)
        database_url = env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'platform.db'}"
        staff_token = env.get("PLATFORM_STAFF_TOKEN") or secret_from_file(var_dir / "staff-token")
        # One token for both ends: the Rasa server is to be started with var/rasa-token too (CONTRACT.md §1).
        rasa_token = env.get("RASA_AUTH_TOKEN") or secret_from_file(var_dir / "rasa-token")
        open311_keys = tuple(key.strip() for key in (env.get("OPEN311_API_KEYS") or "").split(",") if key.strip())
        return cls(
            var_dir=var_dir,
            database_url=database_url,
            staff_token=staff_token,
            rasa_url=(env.get("RASA_URL") or "http://localhost:5005").rstrip("/"),
            rasa_token=rasa_token,
            open311_api_keys=open311_keys or (secret_from_file(var_dir / "open311-api-key"),),
            host=env.get("PLATFORM_HOST", "0.0.0.0"),
            port=int(env.get("PLATFORM_PORT", "8000")),
        )
