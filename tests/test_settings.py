"""Configuration: environment over .env over embedded defaults; secrets generated privately."""

from __future__ import annotations

import stat
from pathlib import Path

from backend.settings import Settings, read_dotenv, secret_from_file


def test_defaults_use_sqlite_under_var_and_generate_a_private_staff_token(tmp_path: Path) -> None:
    settings = Settings.from_env({"ZW_VAR_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'platform.db'}"
    token_file = tmp_path / "staff-token"
    assert token_file.read_text().strip() == settings.staff_token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert Settings.from_env({"ZW_VAR_DIR": str(tmp_path)}).staff_token == settings.staff_token


def test_environment_wins(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"ZW_VAR_DIR": str(tmp_path), "PLATFORM_STAFF_TOKEN": "s3cret", "DATABASE_URL": "postgresql://db/x"}
    )
    assert settings.staff_token == "s3cret"
    assert settings.database_url == "postgresql://db/x"
    assert not (tmp_path / "staff-token").exists()


def test_dotenv_parsing(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("# comment\nexport A=1\nB = 'two'\n\nnot a pair\nC=\"x=y\"\n")
    assert read_dotenv(env) == {"A": "1", "B": "two", "C": "x=y"}


def test_secret_file_is_reused(tmp_path: Path) -> None:
    first = secret_from_file(tmp_path / "s")
    assert secret_from_file(tmp_path / "s") == first and len(first) > 30
