"""Problem reports kept by the assistant until the platform has them (actions/outbox.py).

Against the real platform process, started late on a port chosen beforehand where a test
needs it down first, and the fake of Rasa's `trigger_intent` (tests/conftest.py): a report
is filed once and told once, however often it is retried, from however many workers, and
across a restart; the outbox file never holds what the citizen wrote in plain text.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet

from actions import outbox as outbox_module
from actions import sealed
from actions.outbox import FILED_INTENT, ComplaintOutbox, notice_entities, pause_after
from actions.platform import PlatformClient
from tests.conftest import FakeRasa, RunningPlatform, wait_for
from tools.stack import Process, free_port, platform_command

PHONE = "13987654321"
NAME = "欧阳晓梅"
DESCRIPTION = "楼下烧烤店每晚营业到凌晨三点，油烟和噪音扰民严重。"
ADDRESS = "武侯祠大街231号"
RASA_TOKEN = "rasa-token-for-outbox"
STAFF_TOKEN = "staff-token-for-tests"  # RunningPlatform's, and that of platforms started here
REFERENCE = re.compile(r"^LD\d{8}-[2-9A-HJ-NP-Z]{6}$")


@pytest.fixture(autouse=True)
def sealing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ZW_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ZW_SEAL_KEY", Fernet.generate_key().decode())
    for name in ("RASA_AUTH_TOKEN", "RASA_URL", "PLATFORM_URL", "ZW_OUTBOX_MAX_DELAY"):
        monkeypatch.delenv(name, raising=False)
    sealed._fernet.cache_clear()
    yield
    sealed._fernet.cache_clear()


@pytest.fixture(scope="module")
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa(free_port()).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    var_dir = tmp_path_factory.mktemp("outbox-platform")
    running = RunningPlatform(f"sqlite:///{var_dir / 'platform.db'}", var_dir)
    yield running
    running.stop()


@contextmanager
def platform_at(port: int, var_dir: Path) -> Iterator[str]:
    """A platform started on a port that was handed out while nobody listened on it."""
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {"PLATFORM_STAFF_TOKEN": STAFF_TOKEN, "RASA_URL": "http://127.0.0.1:9"}
    process = Process(platform_command(port, var_dir, f"sqlite:///{var_dir / 'platform.db'}", env), var_dir / "p.log")
    try:
        process.wait_until_up(timeout=60)
        yield process.url
    finally:
        process.stop()


def nobody_listening() -> str:
    return f"http://127.0.0.1:{free_port()}"


def report(conversation_id: str, anonymous: bool = False, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "noise",
        "request_type": "complaint",
        "description": DESCRIPTION,
        "region_code": "510107",
        "location": {"region_code": "510107", "address": ADDRESS},
        "contact": None if anonymous else {"name": NAME, "phone": PHONE},
        "channel": "rest",
        "conversation_id": conversation_id,
        "lang": "zh",
    }
    body.update(changes)
    return body


def new_conversation() -> str:
    return f"outbox-{uuid.uuid4().hex[:12]}"


def make_outbox(path: Path, platform_url: str, rasa: FakeRasa, **options: Any) -> ComplaintOutbox:
    client = PlatformClient(platform_url, retries=0)
    rasa_url = f"http://127.0.0.1:{rasa.port}"
    return ComplaintOutbox(path, client, rasa_url, options.pop("rasa_token", RASA_TOKEN), **options)


def queue(box: ComplaintOutbox, conversation_id: str, **report_changes: Any) -> str:
    """Puts a report of `conversation_id` under a new key, returned."""
    key = f"key-{uuid.uuid4().hex}"
    box.put(key, conversation_id, "zh", report(conversation_id, **report_changes))
    return key


def reports_on(platform_url: str, conversation_id: str) -> list[dict[str, Any]]:
    """The platform's reports from one conversation, through the staff list."""
    found: list[dict[str, Any]] = []
    offset = 0
    while True:
        answer = requests.get(
            f"{platform_url}/api/v1/complaints",
            params={"limit": 50, "offset": offset},
            headers={"Authorization": f"Bearer {STAFF_TOKEN}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        found += [entry for entry in page["results"] if entry["conversation_id"] == conversation_id]
        offset += 50
        if offset >= page["total"]:
            return found


def stored(path: Path, key: str) -> dict[str, Any]:
    with closing(sqlite3.connect(path)) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM complaints WHERE key = ?", (key,)).fetchone()
    assert row is not None
    return dict(row)


def delivered_all(box: ComplaintOutbox) -> bool:
    box.run_once()
    return box.pending() == 0


# Pure parts


def test_a_reference_is_ld_the_beijing_date_and_six_unambiguous_characters() -> None:
    late_in_utc = datetime(2026, 11, 25, 17, 30, tzinfo=timezone.utc)  # already the 26th in Beijing
    reference = outbox_module.new_reference(late_in_utc)
    assert REFERENCE.match(reference) and reference.startswith("LD20261126-")


def test_the_pause_doubles_from_a_second_up_to_the_cap() -> None:
    assert [pause_after(attempts, 30) for attempts in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert pause_after(1000, 30) == 30


def test_the_follow_up_code_is_only_in_the_notice_sealed() -> None:
    receipt = {
        "complaint_id": "GD20261126-ABCDEF",
        "category": "noise",
        "status": "dispatched",
        "follow_up_code": "4821",
    }
    entities = notice_entities("LD20261126-7KQ3MX", "GD20261126-ABCDEF", receipt)
    assert entities["follow_up"].startswith("sealed:") and "4821" not in entities["follow_up"]
    assert sealed.unseal(entities["follow_up"]) == "4821"
    named = notice_entities("LD20261126-7KQ3MX", "GD20261126-ABCDEF", {**receipt, "follow_up_code": None})
    assert "follow_up" not in named and named["complaint_id"] == "GD20261126-ABCDEF"


# With the platform up


def test_a_report_put_and_delivered_is_filed_once_and_answered_again_from_the_outbox(
    tmp_path: Path, platform: RunningPlatform, rasa: FakeRasa
) -> None:
    box = make_outbox(tmp_path / "outbox.db", platform.url, rasa)
    conversation = new_conversation()
    key = f"key-{uuid.uuid4().hex}"
    queued = box.put(key, conversation, "zh", report(conversation))
    assert REFERENCE.match(queued.reference) and queued.key == key and queued.receipt is None
    assert box.pending() == 1
    receipt = box.deliver(key)
    assert receipt is not None and receipt["complaint_id"].startswith("GD") and receipt["status"] == "dispatched"
    assert box.pending() == 0
    again = box.put(key, conversation, "zh", report(conversation))
    assert again == outbox_module.Queued(queued.reference, key, receipt)
    assert box.deliver(key) == receipt
    assert [entry["complaint_id"] for entry in reports_on(platform.url, conversation)] == [receipt["complaint_id"]]
    assert stored(tmp_path / "outbox.db", key)["attempts"] == 1


def test_the_caller_that_told_the_number_gets_no_notice_and_one_that_did_not_gets_one(
    tmp_path: Path, platform: RunningPlatform, rasa: FakeRasa
) -> None:
    box = make_outbox(tmp_path / "outbox.db", platform.url, rasa, handover_seconds=0.5)
    told, untold = new_conversation(), new_conversation()
    told_key, untold_key = queue(box, told), queue(box, untold)
    assert box.run_once() == 0  # both still left to the caller that put them
    assert box.deliver(told_key) is not None and box.deliver(untold_key) is not None
    assert box.refusal(told_key) is None
    box.mark_told(told_key)
    box.run_once()
    assert rasa.calls_for(untold) == []  # the caller may yet tell it
    time.sleep(0.6)
    assert box.run_once() == 1
    assert rasa.calls_for(told) == [] and len(rasa.calls_for(untold)) == 1


def test_a_refused_report_is_kept_refused_and_never_sent_again(
    tmp_path: Path, platform: RunningPlatform, rasa: FakeRasa
) -> None:
    path = tmp_path / "outbox.db"
    box = make_outbox(path, platform.url, rasa, handover_seconds=0)
    conversation = new_conversation()
    key = queue(box, conversation, category="no-such-category")
    assert box.deliver(key) is None
    row = stored(path, key)
    assert (row["state"], row["error_code"], row["attempts"]) == ("refused", "unknown_category", 1)
    assert box.refusal(key) == "unknown_category" and box.pending() == 0
    assert box.run_once() == 0 and box.deliver(key) is None and box.run_once() == 0
    assert stored(path, key)["attempts"] == 1
    assert box.put(key, conversation, "zh", report(conversation)).receipt is None
    assert reports_on(platform.url, conversation) == [] and rasa.calls_for(conversation) == []


def test_a_row_leased_by_another_worker_is_left_to_it_until_its_lease_runs_out(
    tmp_path: Path, platform: RunningPlatform, rasa: FakeRasa
) -> None:
    path = tmp_path / "outbox.db"
    box = make_outbox(path, platform.url, rasa, handover_seconds=0)
    conversation = new_conversation()
    key = queue(box, conversation)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE complaints SET lease_owner = 'other', lease_until = ?", (time.time() + 60,))
    assert box.deliver(key) is None and box.run_once() == 0
    assert reports_on(platform.url, conversation) == []
    with closing(sqlite3.connect(path)) as conn, conn:  # the other worker died holding it
        conn.execute("UPDATE complaints SET lease_until = ?", (time.time() - 1,))
    assert box.run_once() == 2  # delivered, then told
    assert len(reports_on(platform.url, conversation)) == 1 and len(rasa.calls_for(conversation)) == 1


def test_two_workers_at_once_file_and_tell_each_report_once(
    tmp_path: Path, platform: RunningPlatform, rasa: FakeRasa
) -> None:
    path = tmp_path / "outbox.db"
    boxes = [make_outbox(path, platform.url, rasa, handover_seconds=0) for _ in range(2)]
    conversations = [new_conversation() for _ in range(5)]
    for conversation in conversations:
        queue(boxes[0], conversation)
    start = threading.Barrier(4)
    changed: list[int] = []

    def work(box: ComplaintOutbox) -> None:
        start.wait()
        changed.append(box.run_once())

    threads = [threading.Thread(target=work, args=(box,)) for box in boxes * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(changed) == 10  # five delivered, five told, each by one worker
    assert boxes[0].run_once() == boxes[1].run_once() == 0
    for conversation in conversations:
        assert len(reports_on(platform.url, conversation)) == 1
        assert len(rasa.calls_for(conversation)) == 1


def test_the_file_never_holds_the_reporters_details_in_plain_text(
    tmp_path: Path, platform: RunningPlatform, rasa: FakeRasa
) -> None:
    path = tmp_path / "var" / "outbox.db"
    box = make_outbox(path, platform.url, rasa)
    conversation = new_conversation()
    key = queue(box, conversation)

    def raw_bytes() -> bytes:
        return b"".join(file.read_bytes() for file in path.parent.glob("outbox.db*"))

    def assert_nothing_readable() -> None:
        raw = raw_bytes()
        for secret in (PHONE, NAME, DESCRIPTION, ADDRESS):
            assert secret.encode() not in raw
            assert json.dumps(secret).strip('"').encode() not in raw  # as json.dumps escapes it

    assert_nothing_readable()
    receipt = box.deliver(key)
    assert receipt is not None and receipt["contact"]["phone"] == "139****4321"
    assert_nothing_readable()
    assert b"139****4321" not in raw_bytes()
    assert stored(path, key)["body"] is None
    for file in path.parent.glob("outbox.db*"):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name


def test_no_rasa_token_leaves_the_notice_waiting_but_the_report_is_delivered(
    tmp_path: Path, platform: RunningPlatform, rasa: FakeRasa, caplog: pytest.LogCaptureFixture
) -> None:
    box = make_outbox(tmp_path / "outbox.db", platform.url, rasa, handover_seconds=0, rasa_token=None)
    conversation = new_conversation()
    key = queue(box, conversation)
    with caplog.at_level(logging.WARNING, logger="actions.outbox"):
        assert box.run_once() == 1 and box.run_once() == 0
    assert box.pending() == 0 and rasa.calls_for(conversation) == []
    assert sum("no Rasa token" in record.getMessage() for record in caplog.records) == 1
    token_file = tmp_path / "var" / "rasa-token"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text("token-from-the-platform\n", encoding="utf-8")
    rasa.failures_to_answer = 1
    assert box.run_once() == 0  # Rasa answered 500: told later
    wait_for(lambda: box.run_once() == 1, timeout=10)
    first, second = rasa.calls_for(conversation)
    assert (first.status, second.status) == (500, 200)
    assert second.query == {"output_channel": ["latest"], "token": ["token-from-the-platform"]}
    assert stored(tmp_path / "outbox.db", key)["told_at"] is not None


# With the platform down first


def test_a_report_made_while_the_platform_is_down_is_filed_and_told_once_when_it_is_back(
    tmp_path: Path, rasa: FakeRasa
) -> None:
    port = free_port()
    box = make_outbox(tmp_path / "outbox.db", f"http://127.0.0.1:{port}", rasa, handover_seconds=0)
    conversation = new_conversation()
    key = f"key-{uuid.uuid4().hex}"
    queued = box.put(key, conversation, "zh", report(conversation, anonymous=True))
    assert box.deliver(key) is None and box.pending() == 1
    assert box.put(key, conversation, "zh", report(conversation, anonymous=True)).reference == queued.reference
    with platform_at(port, tmp_path / "platform") as url:
        wait_for(lambda: delivered_all(box), timeout=30)
        box.run_once()
        receipt = box.put(key, conversation, "zh", report(conversation, anonymous=True)).receipt
        assert receipt is not None
        filed = reports_on(url, conversation)
        assert [entry["complaint_id"] for entry in filed] == [receipt["complaint_id"]]
        code = receipt["follow_up_code"]
        check = requests.get(
            f"{url}/api/v1/complaints/{receipt['complaint_id']}", headers={"X-Verify-Code": code}, timeout=10
        )
        assert check.status_code == 200  # the code kept is the one the platform holds
    (call,) = rasa.calls_for(conversation)
    assert call.query == {"output_channel": ["latest"], "token": [RASA_TOKEN]}
    assert call.body["name"] == FILED_INTENT
    entities = call.body["entities"]
    assert entities["reference"] == queued.reference and entities["complaint_id"] == receipt["complaint_id"]
    assert (entities["category"], entities["request_type"], entities["status"]) == ("noise", "complaint", "dispatched")
    assert entities["response_due"] == receipt["response_due"]
    assert entities["follow_up"].startswith("sealed:") and code not in entities["follow_up"]
    assert sealed.unseal(entities["follow_up"]) == code


def test_the_worker_files_and_tells_every_report_queued_while_the_platform_was_down(
    tmp_path: Path, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZW_OUTBOX_MAX_DELAY", "2")
    path = tmp_path / "outbox.db"
    port = free_port()
    box = make_outbox(path, f"http://127.0.0.1:{port}", rasa, handover_seconds=0)
    conversations = [new_conversation() for _ in range(5)]
    box.start_worker(poll_seconds=0.5)
    try:
        keys = [queue(box, conversation) for conversation in conversations]
        wait_for(lambda: all(stored(path, key)["attempts"] >= 2 for key in keys), timeout=30)
        assert box.pending() == 5
        with platform_at(port, tmp_path / "platform") as url:
            wait_for(lambda: box.pending() == 0, timeout=30)
            wait_for(lambda: all(rasa.calls_for(conversation) for conversation in conversations), timeout=30)
            time.sleep(1)  # room for a second notice or report, were one sent
            for conversation in conversations:
                assert len(reports_on(url, conversation)) == 1
                assert len(rasa.calls_for(conversation)) == 1
    finally:
        box.stop_worker()


def test_a_new_outbox_on_the_same_file_takes_over_what_the_old_one_left(
    tmp_path: Path, platform: RunningPlatform, rasa: FakeRasa
) -> None:
    path = tmp_path / "outbox.db"
    before = make_outbox(path, nobody_listening(), rasa, handover_seconds=0)
    conversations = [new_conversation() for _ in range(2)]
    keys = [queue(before, conversation) for conversation in conversations]
    assert [before.deliver(key) for key in keys] == [None, None]
    references = [stored(path, key)["reference"] for key in keys]
    del before
    after = make_outbox(path, platform.url, rasa)
    assert after.pending() == 2
    wait_for(lambda: delivered_all(after), timeout=30)
    for key, reference, conversation in zip(keys, references, conversations, strict=True):
        assert after.put(key, conversation, "zh", report(conversation)).reference == reference
        assert len(reports_on(platform.url, conversation)) == 1
        (call,) = rasa.calls_for(conversation)
        assert call.body["entities"]["reference"] == reference


def test_the_action_server_resumes_undelivered_reports_when_it_starts(
    tmp_path: Path, platform: RunningPlatform, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_module, "_outbox", None)
    assert outbox_module.resume_pending_deliveries() is False  # no file yet
    conversation = new_conversation()
    before = ComplaintOutbox(platform=PlatformClient(nobody_listening(), retries=0), handover_seconds=0)
    key = queue(before, conversation)
    assert before.deliver(key) is None
    assert outbox_module.default_path() == tmp_path / "var" / "complaint-outbox.db"
    monkeypatch.setenv("PLATFORM_URL", platform.url)
    monkeypatch.setenv("RASA_URL", f"http://127.0.0.1:{rasa.port}")
    monkeypatch.setenv("RASA_AUTH_TOKEN", RASA_TOKEN)
    try:
        assert outbox_module.resume_pending_deliveries() is True
        wait_for(lambda: len(rasa.calls_for(conversation)) == 1, timeout=30)
        assert outbox_module.outbox().pending() == 0
        assert len(reports_on(platform.url, conversation)) == 1
        assert outbox_module.resume_pending_deliveries() is False  # nothing left
    finally:
        if outbox_module._outbox is not None:
            outbox_module._outbox.stop_worker()
