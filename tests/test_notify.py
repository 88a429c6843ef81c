"""Citizens are told of status changes in their conversation, through Rasa's HTTP API.

A small fake of Rasa's `trigger_intent` endpoint (tests/conftest.py) records what the
platform sends; it can be down, or fail, to show that the outbox delivers late but
exactly once.
"""

from __future__ import annotations

import json
import sqlite3
import stat
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from backend.notify import MAX_ATTEMPTS, STATUS_CHANGED_INTENT, outbox_row, pause_after
from backend.procedure.identity import check_character
from backend.settings import Settings
from backend.store import make_engine, notifications_table
from tests.conftest import POSTGRES_URL, FakeRasa, RunningPlatform, fresh_engine, wait_for
from tools.stack import free_port

RASA_TOKEN = "rasa-token-for-tests"
ID_NUMBER = "44030419870215683" + check_character("44030419870215683")
PHONE = "15811112222"
NAME = "司马相如"


@pytest.fixture(scope="module")
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa(free_port())
    yield fake
    fake.stop()


def platform_env(rasa: FakeRasa) -> dict[str, str]:
    return {"RASA_URL": f"http://127.0.0.1:{rasa.port}", "RASA_AUTH_TOKEN": RASA_TOKEN}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, rasa: FakeRasa
) -> Iterator[RunningPlatform]:
    var_dir = tmp_path_factory.mktemp(f"notify-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{var_dir / 'platform.db'}"
    else:
        fresh_engine(POSTGRES_URL).dispose()
        url = POSTGRES_URL
    running = RunningPlatform(url, var_dir, env=platform_env(rasa))
    yield running
    running.stop()


def conversation_at(platform: RunningPlatform, name: str) -> str:
    """A conversation id of one platform's tests: the fake Rasa outlives each platform."""
    return f"{name}@{urlsplit(platform.url).port}"


def submit(platform: RunningPlatform, conversation_id: str | None) -> str:
    body = {
        "service_id": "passport",
        "region_code": "440304",
        "applicant": {"name": NAME, "id_number": ID_NUMBER, "phone": PHONE},
        "delivery": "window",
        "conversation_id": conversation_id,
    }
    answer = platform.post("/api/v1/applications", json=body)
    assert answer.status_code == 201
    application_id: str = answer.json()["application_id"]
    return application_id


def move(platform: RunningPlatform, application_id: str, status: str, note: str = "") -> None:
    body = {"status": status, "note": note}
    answer = platform.post(f"/api/v1/applications/{application_id}/transitions", json=body, headers=platform.staff)
    assert answer.status_code == 200


def outbox(database_url: str, conversation_id: str) -> list[dict[str, Any]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            query = select(notifications_table).where(notifications_table.c.conversation_id == conversation_id)
            return [dict(row) for row in conn.execute(query.order_by(notifications_table.c.id)).mappings()]
    finally:
        engine.dispose()


def test_a_status_change_is_told_in_the_conversation(platform: RunningPlatform, rasa: FakeRasa) -> None:
    rasa.start()
    try:
        conversation = conversation_at(platform, "wechat:o6_bmjrPTlm6_2sgVt7hMZOPfL2M/1")
        application_id = submit(platform, conversation)
        move(platform, application_id, "in_review", note="材料齐全")
        move(platform, application_id, "approved")
        wait_for(lambda: len(rasa.calls_for(conversation)) == 2)
    finally:
        rasa.stop()
    first, second = rasa.calls_for(conversation)
    assert first.query == {"output_channel": ["latest"], "token": [RASA_TOKEN]}
    assert first.body == {
        "name": STATUS_CHANGED_INTENT,
        "entities": {"application_id": application_id, "status": "in_review", "stage": "approval", "note": "材料齐全"},
    }
    assert second.body["entities"]["status"] == "approved" and second.body["entities"]["note"] == ""


def test_an_application_without_a_conversation_is_not_told(platform: RunningPlatform) -> None:
    application_id = submit(platform, None)
    move(platform, application_id, "in_review")
    engine = make_engine(platform.database_url)
    with engine.connect() as conn:
        queued = conn.execute(select(notifications_table.c.entities)).scalars().all()
    engine.dispose()
    assert not any(application_id in entities for entities in queued)


def test_a_notification_waits_for_rasa_and_arrives_once(platform: RunningPlatform, rasa: FakeRasa) -> None:
    conversation = conversation_at(platform, "late")
    application_id = submit(platform, conversation)
    move(platform, application_id, "in_review", note="waiting")
    wait_for(lambda: any(row["attempts"] >= 1 for row in outbox(platform.database_url, conversation)))
    rasa.failures_to_answer = 1
    rasa.start()
    try:
        wait_for(lambda: any(call.status == 200 for call in rasa.calls_for(conversation)), timeout=15)
        time.sleep(2.5)  # a further retry pass would have sent it again by now
    finally:
        rasa.stop()
    calls = rasa.calls_for(conversation)
    assert [call.status for call in calls] == [500, 200]
    assert calls[-1].body["entities"]["application_id"] == application_id
    (row,) = outbox(platform.database_url, conversation)
    assert row["delivered_at"] is not None and row["attempts"] >= 3 and row["last_error"] is None


def test_notifications_pending_at_a_restart_are_sent_after_it(tmp_path: Path, rasa: FakeRasa) -> None:
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    first = RunningPlatform(url, tmp_path, env=platform_env(rasa))
    try:
        application_id = submit(first, "restarted")
        move(first, application_id, "supplement_required", note="补充材料")
        wait_for(lambda: outbox(url, "restarted")[0]["attempts"] >= 1)
    finally:
        first.stop()
    rasa.start()
    second = RunningPlatform(url, tmp_path, env=platform_env(rasa))
    try:
        wait_for(lambda: bool(rasa.calls_for("restarted")))
        assert rasa.calls_for("restarted")[0].body["entities"]["status"] == "supplement_required"
        assert outbox(url, "restarted")[0]["delivered_at"] is not None
    finally:
        second.stop()
        rasa.stop()
    for log in (first.log(), second.log()):
        assert RASA_TOKEN not in log


def test_the_log_holds_no_personal_data_and_no_token(platform: RunningPlatform) -> None:
    log = platform.log()
    assert "not delivered" in log
    for secret in (ID_NUMBER, PHONE, NAME, RASA_TOKEN):
        assert secret not in log


def test_retries_slow_down_to_a_minute_and_stop() -> None:
    assert [pause_after(n).total_seconds() for n in range(1, 10)] == [2, 2, 2, 4, 8, 16, 32, 60, 60]
    assert 30 * 60 < sum(pause_after(n).total_seconds() for n in range(1, MAX_ATTEMPTS)) < 60 * 60


def test_an_outbox_row_is_due_at_once() -> None:
    now = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
    entities = {"application_id": "ZW20261126-7KQ3MX", "note": "好"}
    row = outbox_row("application_history:7", "c-1", STATUS_CHANGED_INTENT, entities, now)
    assert row["next_attempt_at"] == now and row["attempts"] == 0 and row["intent"] == STATUS_CHANGED_INTENT
    assert row["source"] == "application_history:7"
    assert json.loads(row["entities"])["note"] == "好"


def test_an_outbox_of_an_older_database_is_kept_keyed_by_its_source(tmp_path: Path) -> None:
    path = tmp_path / "platform.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE notifications (id INTEGER PRIMARY KEY, history_id INTEGER NOT NULL UNIQUE, "
            "conversation_id VARCHAR(200) NOT NULL, intent VARCHAR(64) NOT NULL, entities TEXT NOT NULL, "
            "created_at DATETIME NOT NULL, next_attempt_at DATETIME NOT NULL, attempts INTEGER NOT NULL, "
            "last_error VARCHAR(200), delivered_at DATETIME, gave_up_at DATETIME)"
        )
        db.executemany(
            "INSERT INTO notifications (history_id, conversation_id, intent, entities, created_at, next_attempt_at, "
            "attempts) VALUES (?, ?, ?, ?, '2026-11-26 08:00:00.000000', '2026-11-26 08:00:02.000000', ?)",
            [(5, "c-1", STATUS_CHANGED_INTENT, "{}", 1), (9, "c-2", STATUS_CHANGED_INTENT, "{}", 0)],
        )
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(notifications_table).order_by(notifications_table.c.id)).mappings().all()
    finally:
        engine.dispose()
    assert [(row["source"], row["conversation_id"], row["attempts"]) for row in rows] == [
        ("application_history:5", "c-1", 1),
        ("application_history:9", "c-2", 0),
    ]
    assert rows[0]["next_attempt_at"] == datetime(2026, 11, 26, 8, 0, 2, tzinfo=timezone.utc)


def test_rasa_is_reached_on_its_default_port_with_a_generated_private_token(tmp_path: Path) -> None:
    settings = Settings.from_env({"ZW_VAR_DIR": str(tmp_path)})
    assert settings.rasa_url == "http://localhost:5005"
    token_file = tmp_path / "rasa-token"
    assert token_file.read_text().strip() == settings.rasa_token and len(settings.rasa_token) > 30
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert Settings.from_env({"ZW_VAR_DIR": str(tmp_path)}).rasa_token == settings.rasa_token


def test_rasa_url_and_token_from_the_environment(tmp_path: Path) -> None:
    environ = {"ZW_VAR_DIR": str(tmp_path), "RASA_URL": "http://rasa:5005/", "RASA_AUTH_TOKEN": "t0ken"}
    settings = Settings.from_env(environ)
    assert (settings.rasa_url, settings.rasa_token) == ("http://rasa:5005", "t0ken")
    assert not (tmp_path / "rasa-token").exists()
