"""Problem reports kept on the assistant's side until the platform has them (issue 5).

A citizen who confirms a report must never lose it because the platform was down at that
moment. So the report is first written to a small SQLite outbox (`put`), and only then
sent (`POST /api/v1/complaints` with its Idempotency-Key, which the platform answers once).
The citizen gets a local reference ("LD20261126-7KQ3MX") at once; their real report
number reaches them in their conversation when the platform assigns it, through Rasa's
`trigger_intent` (EXTERNAL_complaint_filed), as backend/notify.py tells of later changes.

The file may be shared by several action-server processes: every change is a
`BEGIN IMMEDIATE` transaction, and a row is leased (owner and expiry) before it is sent
or told, so no two workers send the same row at the same moment. Failed attempts are
retried with a pause doubling from a second up to ZW_OUTBOX_MAX_DELAY (30 s).

The report holds personal data, so its body (and the platform's receipt, which may hold
an anonymous reporter's follow-up code) are stored encrypted with the key of
actions/sealed.py, but without its 24-hour expiry: a report may wait longer than a day
for the platform. The body is erased once the platform has the report. Logs name keys,
references, attempts and error classes, never what the citizen wrote.

Hand-over: the action that `put` a report normally `deliver`s it at once and tells the
citizen the number itself (then `mark_told`). The worker leaves such a row alone for
`handover_seconds`, so it neither races the action to send it nor tells the number twice.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import requests
from cryptography.fernet import InvalidToken

from actions.platform import Locked, PlatformClient, PlatformUnavailable, Rejected
from actions.sealed import _fernet, seal
from backend.settings import read_dotenv

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
FILED_INTENT = "EXTERNAL_complaint_filed"
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
BEIJING = timezone(timedelta(hours=8))
DEFAULT_RASA_URL = "http://localhost:5005"
DEFAULT_MAX_DELAY = 30.0
HANDOVER_SECONDS = 10.0
POLL_SECONDS = 5.0
LEASE_SECONDS = 60.0  # longer than any attempt: the platform client gives up within ~25 s, Rasa within 18 s
BUSY_TIMEOUT = 30.0
_RASA_TIMEOUT = (3.0, 15.0)
_MIN_PAUSE = 0.05

PENDING, DELIVERED, REFUSED = "pending", "delivered", "refused"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS complaints (
    key TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL,
    lang TEXT NOT NULL,
    body TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    error_code TEXT,
    complaint_id TEXT,
    receipt TEXT,
    delivered_at REAL,
    told_at REAL,
    tell_attempts INTEGER NOT NULL DEFAULT 0,
    next_tell_at REAL,
    lease_owner TEXT,
    lease_until REAL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS complaints_due ON complaints (state, next_attempt_at);
"""
_FREE = "(lease_until IS NULL OR lease_until < :now)"
_UNTOLD = f"state = '{DELIVERED}' AND told_at IS NULL"


@dataclass(frozen=True)
class Queued:
    reference: str
    """Shown to the citizen at once: LD + Beijing date + "-" + 6 characters."""
    key: str
    """The Idempotency-Key the report is sent with."""
    receipt: dict[str, Any] | None
    """The platform's answer when the report is already delivered, else None."""


def _var_dir() -> Path:
    return Path(os.environ.get("ZW_VAR_DIR") or ROOT / "var")


def default_path() -> Path:
    return _var_dir() / "complaint-outbox.db"


def _lock(text: str) -> str:
    """Encrypted with the sealing key. Not `seal`: its tokens expire after a day, and a
    report may wait longer than that for the platform."""
    return _fernet().encrypt(text.encode("utf-8")).decode("ascii")


def _unlock(token: str) -> str:
    """The plain text of `_lock`, whatever its age; InvalidToken if the key has changed."""
    return _fernet().decrypt(token.encode("ascii")).decode("utf-8")


def new_reference(now: datetime) -> str:
    suffix = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
    return f"LD{now.astimezone(BEIJING):%Y%m%d}-{suffix}"


def pause_after(attempts: int, max_delay: float) -> float:
    """1 s after the first failure, doubling up to `max_delay`."""
    return float(min(2.0 ** min(max(attempts - 1, 0), 30), max_delay))


def _max_delay() -> float:
    try:
        configured = float(os.environ.get("ZW_OUTBOX_MAX_DELAY") or DEFAULT_MAX_DELAY)
    except ValueError:
        return DEFAULT_MAX_DELAY
    return configured if configured > 0 else DEFAULT_MAX_DELAY


def _setting(name: str) -> str:
    return os.environ.get(name) or read_dotenv(ROOT / ".env").get(name) or ""


def _file_complaint(platform: PlatformClient, body: dict[str, Any], key: str) -> dict[str, Any]:
    receipt = platform.create_complaint(body, key)
    if not isinstance(receipt, dict) or not receipt.get("complaint_id"):
        raise PlatformUnavailable("the platform answered without a report number")
    return receipt


def _receipt(row: sqlite3.Row) -> dict[str, Any] | None:
    if row["receipt"] is None:
        return None
    try:
        receipt: dict[str, Any] = json.loads(_unlock(row["receipt"]))
    except (InvalidToken, ValueError):
        log.error("complaint %s: its stored receipt cannot be read (has the seal key changed?)", row["reference"])
        return None
    return receipt


def notice_entities(reference: str, complaint_id: str, receipt: dict[str, Any]) -> dict[str, str]:
    """What EXTERNAL_complaint_filed carries; an anonymous reporter's follow-up code only sealed."""
    entities = {"reference": reference, "complaint_id": complaint_id}
    for name in ("category", "request_type", "status", "response_due"):
        if receipt.get(name) is not None:
            entities[name] = str(receipt[name])
    if receipt.get("follow_up_code"):
        entities["follow_up"] = seal(str(receipt["follow_up_code"]))
    return entities


class ComplaintOutbox:
    """The outbox in one SQLite file: `put` and `deliver` for the form actions, a worker
    (`start_worker`) for what they could not deliver and for the notices.

    A row is `pending` until the platform has it, then `delivered` (its body erased, its
    receipt kept sealed, `told_at` set once the citizen knows the number); or `refused`
    when the platform refuses it (4xx): that is final, and the sealed body is kept, since
    it is the only copy of a report the citizen believes made and an operator must see to it.
    """

    def __init__(
        self,
        path: Path | None = None,
        platform: PlatformClient | None = None,
        rasa_url: str | None = None,
        rasa_token: str | None = None,
        *,
        handover_seconds: float = HANDOVER_SECONDS,
    ) -> None:
        self.path = path or default_path()
        self.platform = platform or PlatformClient()
        self.rasa_url = (rasa_url or _setting("RASA_URL") or DEFAULT_RASA_URL).rstrip("/")
        self.handover_seconds = handover_seconds
        self.max_delay = _max_delay()
        self._rasa_token = rasa_token
        self._warned_no_token = False
        self._ready = False
        self._prepare_lock = threading.Lock()
        self._worker_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()

    # Storage

    def _prepare(self) -> None:
        with self._prepare_lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
            self._ready = True

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self._prepare()
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA secure_delete=ON")
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _update(self, key: str, owner: str, values: dict[str, Any]) -> bool:
        """Changes the row and frees its lease, if `owner` still holds it."""
        assignments = ", ".join(f"{name} = :{name}" for name in values)
        sql = f"UPDATE complaints SET {assignments}, lease_owner = NULL, lease_until = NULL"
        with self._transaction() as conn:
            changed = conn.execute(
                sql + " WHERE key = :key AND lease_owner = :owner", {**values, "key": key, "owner": owner}
            )
            return changed.rowcount == 1

    def _claim(self, where: str, params: dict[str, Any]) -> tuple[sqlite3.Row, str] | None:
        """Leases the first row matching `where` whose lease is free."""
        owner = uuid.uuid4().hex
        now = time.time()
        with self._transaction() as conn:
            query = f"SELECT * FROM complaints WHERE {where} AND {_FREE} ORDER BY created_at LIMIT 1"
            row = conn.execute(query, {**params, "now": now}).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE complaints SET lease_owner = ?, lease_until = ? WHERE key = ?",
                (owner, now + LEASE_SECONDS, row["key"]),
            )
        return row, owner

    # The API of the form actions

    def put(self, key: str, conversation_id: str, lang: str, body: dict[str, Any]) -> Queued:
        """Durably records the report (idempotent on key: same key -> same row and reference)."""
        if not key:
            raise ValueError("a report needs an idempotency key")
        sealed_body = _lock(json.dumps(body))
        now = time.time()
        with self._transaction() as conn:
            row = conn.execute("SELECT * FROM complaints WHERE key = ?", (key,)).fetchone()
            if row is not None:
                queued = Queued(row["reference"], key, _receipt(row))
            else:
                reference = self._unused_reference(conn)
                conn.execute(
                    "INSERT INTO complaints (key, reference, conversation_id, lang, body, state, next_attempt_at,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, reference, conversation_id, lang, sealed_body, PENDING, now + self.handover_seconds, now),
                )
                queued = Queued(reference, key, None)
        if row is None:
            log.info("complaint %s queued (key %s)", queued.reference, key)
        self._wake.set()
        return queued

    @staticmethod
    def _unused_reference(conn: sqlite3.Connection) -> str:
        while True:
            reference = new_reference(datetime.now(timezone.utc))
            if conn.execute("SELECT 1 FROM complaints WHERE reference = ?", (reference,)).fetchone() is None:
                return reference

    def deliver(self, key: str) -> dict[str, Any] | None:
        """One attempt now, whatever the pause due after earlier failures: the receipt, or
        None if the platform is unavailable, refused the report or another worker has it.
        A delivered report answers its stored receipt without sending again. Blocking:
        callers run it in a thread. KeyError for a key never put."""
        row = self._row(key)
        if row is None:
            raise KeyError(key)
        if row["state"] == DELIVERED:
            return _receipt(row)
        claimed = self._claim(f"key = :key AND state = '{PENDING}'", {"key": key})
        if claimed is None:
            return None
        _, receipt = self._attempt(*claimed, tell_in=self.handover_seconds)
        self._wake.set()
        return receipt

    def mark_told(self, key: str) -> None:
        """The citizen has been given their number in the conversation (no notice needed).
        Only a delivered row can be told: before that there is no number to give."""
        with self._transaction() as conn:
            conn.execute(f"UPDATE complaints SET told_at = ? WHERE key = ? AND {_UNTOLD}", (time.time(), key))

    def refusal(self, key: str) -> str | None:
        """The platform's error code if it refused the report (final), else None."""
        row = self._row(key)
        return str(row["error_code"] or "refused") if row is not None and row["state"] == REFUSED else None

    def pending(self) -> int:
        """Rows not yet delivered (refused rows are not counted: they never will be)."""
        with closing(self._connect()) as conn:
            count: int = conn.execute(f"SELECT COUNT(*) FROM complaints WHERE state = '{PENDING}'").fetchone()[0]
        return count

    # Sending

    def _attempt(self, row: sqlite3.Row, owner: str, tell_in: float) -> tuple[str, dict[str, Any] | None]:
        """Sends a leased row once and records the outcome: the row's state, and the receipt."""
        key, reference, attempts = row["key"], row["reference"], row["attempts"] + 1
        try:
            receipt = _file_complaint(self.platform, json.loads(_unlock(row["body"])), key)
        except Rejected as refusal:
            self._update(key, owner, {"state": REFUSED, "attempts": attempts, "error_code": refusal.code})
            log.warning("complaint %s (key %s) refused by the platform: %s", reference, key, refusal.code)
            return REFUSED, None
        except Exception as error:
            # Unavailable, locked, or a fault of ours: the report waits for the next attempt.
            pause = pause_after(attempts, self.max_delay)
            if isinstance(error, Locked):
                pause = max(pause, float(error.retry_after_seconds))
            failure = type(error).__name__
            values = {"attempts": attempts, "last_error": failure, "next_attempt_at": time.time() + pause}
            self._update(key, owner, values)
            level = logging.WARNING if attempts == 1 or not isinstance(error, PlatformUnavailable) else logging.INFO
            log.log(
                level,
                "complaint %s not delivered (attempt %d, %s); retry in %.0fs",
                reference,
                attempts,
                failure,
                pause,
            )
            return PENDING, None
        now = time.time()
        values = {
            "state": DELIVERED,
            "attempts": attempts,
            "body": None,
            "complaint_id": str(receipt["complaint_id"]),
            "receipt": _lock(json.dumps(receipt)),
            "delivered_at": now,
            "last_error": None,
            "next_tell_at": now + tell_in,
            # Nobody to tell when the report came from no conversation.
            "told_at": None if row["conversation_id"] else now,
        }
        if not self._update(key, owner, values):
            log.warning("complaint %s: lease lost while it was sent; the other attempt's answer stands", reference)
            stored = self._row(key)
            if stored is None or stored["state"] != DELIVERED:
                return PENDING, None
            return DELIVERED, _receipt(stored)
        log.info("complaint %s delivered as %s (attempt %d)", reference, receipt["complaint_id"], attempts)
        return DELIVERED, receipt

    def _row(self, key: str) -> sqlite3.Row | None:
        with closing(self._connect()) as conn:
            row: sqlite3.Row | None = conn.execute("SELECT * FROM complaints WHERE key = ?", (key,)).fetchone()
        return row

    # Telling

    def _token(self) -> str | None:
        if self._rasa_token:
            return self._rasa_token
        token = _setting("RASA_AUTH_TOKEN")
        if not token:
            # Written by the platform (backend/settings.py) and tools/stack.py: read, never made here.
            try:
                token = (_var_dir() / "rasa-token").read_text(encoding="utf-8").strip()
            except OSError:
                token = ""
        if not token and not self._warned_no_token:
            self._warned_no_token = True
            log.warning(
                "no Rasa token (RASA_AUTH_TOKEN or var/rasa-token): report numbers are not told in conversations"
            )
        return token or None

    def _tell(self, row: sqlite3.Row, owner: str, token: str) -> bool:
        """Triggers EXTERNAL_complaint_filed in the row's conversation; True when Rasa took it."""
        key, reference, attempts = row["key"], row["reference"], row["tell_attempts"] + 1
        entities = notice_entities(reference, row["complaint_id"], _receipt(row) or {})
        path = f"/conversations/{quote(row['conversation_id'], safe='')}/trigger_intent"
        url = f"{self.rasa_url}{path}?{urlencode({'output_channel': 'latest', 'token': token})}"
        try:
            answer = requests.post(url, json={"name": FILED_INTENT, "entities": entities}, timeout=_RASA_TIMEOUT)
            failure = None if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}"
        except requests.RequestException as error:
            # The message would hold the URL, and with it the token.
            failure = type(error).__name__
        now = time.time()
        if failure is None:
            self._update(key, owner, {"told_at": now, "tell_attempts": attempts})
            log.info("complaint %s: number told in its conversation", reference)
            return True
        pause = pause_after(attempts, self.max_delay)
        self._update(key, owner, {"tell_attempts": attempts, "next_tell_at": now + pause})
        level = logging.WARNING if attempts == 1 else logging.INFO
        log.log(
            level, "complaint %s: number not told (attempt %d, %s); retry in %.0fs", reference, attempts, failure, pause
        )
        return False

    # The worker

    def run_once(self) -> int:
        """Delivers every due row, then tells each delivered-but-not-told conversation via
        Rasa; returns how many rows changed state (delivered, refused or told)."""
        # Each loop takes only rows due when it began: a failed row is due later, so it ends.
        changed = 0
        due = {"start": time.time()}
        while claimed := self._claim(f"state = '{PENDING}' AND next_attempt_at <= :start", due):
            state, _ = self._attempt(*claimed, tell_in=0.0)
            changed += state != PENDING
        token = self._token()
        due = {"start": time.time()}
        while token and (claimed := self._claim(f"{_UNTOLD} AND next_tell_at <= :start", due)):
            changed += self._tell(*claimed, token)
        return changed

    def _seconds_to_next_due(self) -> float | None:
        """Until the next row is due (its pause over and its lease free), or None if none waits."""
        telling = f" OR ({_UNTOLD})" if self._token() else ""
        due_at = f"CASE WHEN state = '{PENDING}' THEN next_attempt_at ELSE next_tell_at END"
        with closing(self._connect()) as conn:
            found = conn.execute(
                f"SELECT MIN(MAX({due_at}, COALESCE(lease_until, 0))) FROM complaints"
                f" WHERE state = '{PENDING}'{telling}"
            ).fetchone()[0]
        return None if found is None else max(float(found) - time.time(), 0.0)

    def start_worker(self, poll_seconds: float = POLL_SECONDS) -> None:
        """A daemon thread calling run_once until stopped: at once after put(), when the
        next row is due, and every `poll_seconds` for rows other processes added."""
        with self._worker_lock:
            if self._worker is not None and self._worker.is_alive():
                return
            self._stopping.clear()
            self._worker = threading.Thread(
                target=self._work, args=(poll_seconds,), name="complaint-outbox", daemon=True
            )
            self._worker.start()

    def stop_worker(self, timeout: float = 30.0) -> None:
        with self._worker_lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            self._stopping.set()
            self._wake.set()
            worker.join(timeout)

    def _work(self, poll_seconds: float) -> None:
        """Passes until stopped; between them, a wait that put() or deliver() cut short."""
        while not self._stopping.is_set():
            self._wake.clear()
            pause = poll_seconds
            try:
                self.run_once()
                due_in = self._seconds_to_next_due()
                if due_in is not None:
                    pause = min(pause, due_in)
            except Exception:
                # The file may be briefly locked or the disk full: the rows wait for the next pass.
                log.exception("complaint outbox pass failed")
            self._wake.wait(max(pause, _MIN_PAUSE))

    def waiting(self) -> int:
        """Rows still to deliver or to tell."""
        with closing(self._connect()) as conn:
            count: int = conn.execute(
                f"SELECT COUNT(*) FROM complaints WHERE state = '{PENDING}' OR ({_UNTOLD})"
            ).fetchone()[0]
        return count


_outbox: ComplaintOutbox | None = None
_outbox_lock = threading.Lock()


def outbox() -> ComplaintOutbox:
    """The process's outbox, its worker started on first use."""
    global _outbox
    with _outbox_lock:
        if _outbox is None:
            _outbox = ComplaintOutbox()
            _outbox.start_worker()
        return _outbox


def resume_pending_deliveries() -> bool:
    """At the action server's start: reports left undelivered or untold by an earlier run
    are sent without waiting for a new one. True when the worker was started for them."""
    if not default_path().is_file():
        return False
    try:
        waiting = ComplaintOutbox(default_path()).waiting()
    except sqlite3.Error as error:
        log.warning("complaint outbox could not be read at start: %s", type(error).__name__)
        return False
    if waiting:
        log.info("complaint outbox: %d report(s) to deliver or tell from before the restart", waiting)
        outbox()
    return waiting > 0
