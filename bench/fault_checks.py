"""What must hold after a fault (bench/faults.py, tests/test_faults.py): every application
and report a citizen confirmed is on the platform exactly once, and the citizen was told
its number exactly once.

The platform is asked through its database (the tables of backend/store.py), so that
nothing here depends on the staff API's paging; a conversation's receipts are read from
its tracker through Rasa's HTTP API, where the answers of a turn and the notices of a
report filed late both end up.
"""

from __future__ import annotations

import time
from typing import Any

import requests
from sqlalchemy import select

from backend.store import applications_table, complaints_table, make_engine
from bench.patient_citizens import Citizen
from tools.stack import Stack

RECEIPTS = {"application": "application_receipt", "report": "complaint_receipt"}


def platform_records(database_url: str, senders: list[str]) -> dict[str, list[str]]:
    """Application and report numbers on the platform, per conversation."""
    engine = make_engine(database_url)
    found: dict[str, list[str]] = {sender: [] for sender in senders}
    try:
        with engine.connect() as connection:
            for table in (applications_table, complaints_table):
                query = select(table.c.id, table.c.conversation_id).where(table.c.conversation_id.in_(senders))
                for number, sender in connection.execute(query):
                    found[sender].append(number)
    finally:
        engine.dispose()
    return found


def receipts_told(stack: Stack, sender: str, kind: str) -> list[dict[str, Any]]:
    """The receipts of `kind` the conversation holds (told in an answer or by a later notice)."""
    answer = requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": stack.token}, timeout=30)
    answer.raise_for_status()
    return [
        event["data"]["custom"]
        for event in answer.json()["events"]
        if event.get("event") == "bot" and ((event.get("data") or {}).get("custom") or {}).get("type") == kind
    ]


def wait_for_the_outbox(stack: Stack, queued: list[Citizen], timeout: float) -> float:
    """Seconds until every report kept for later is on the platform and told (or the timeout)."""
    started = time.monotonic()
    while queued and time.monotonic() - started < timeout:
        records = platform_records(stack.database_url, [citizen.sender for citizen in queued])
        if all(records[c.sender] and receipts_told(stack, c.sender, "complaint_receipt") for c in queued):
            break
        time.sleep(1)
    return time.monotonic() - started


CHECKS = ("unfinished", "lost", "duplicated", "not_told", "told_twice", "told_another_number")
WARNINGS = ("receipt_missing_from_conversation",)


def verdicts(stack: Stack, people: list[Citizen]) -> dict[str, list[str]]:
    """Per check, the conversations that fail it (CHECKS fail a round; WARNINGS are noted).

    Told means the receipt reached the citizen: in an answer, or in the conversation
    (a report filed late is told by a notice). A receipt seen in an answer but missing from
    the conversation's tracker is a turn answered but not saved (WARNINGS)."""
    records = platform_records(stack.database_url, [citizen.sender for citizen in people])
    problems: dict[str, list[str]] = {name: [] for name in CHECKS + WARNINGS}
    for citizen in people:
        numbers = records[citizen.sender]
        kept = [
            str(receipt.get("application_id") or receipt.get("complaint_id"))
            for receipt in receipts_told(stack, citizen.sender, RECEIPTS[citizen.flow])
        ]
        seen = citizen.receipt_number
        told = set(kept) | ({seen} if seen else set())
        if not citizen.done:
            problems["unfinished"].append(citizen.sender)
        if not numbers and (citizen.confirmations or citizen.done):
            problems["lost"].append(citizen.sender)
        if len(numbers) > 1:
            problems["duplicated"].append(f"{citizen.sender}: {numbers}")
        if numbers and not told:
            problems["not_told"].append(citizen.sender)
        if len(kept) > 1:
            problems["told_twice"].append(f"{citizen.sender}: {kept}")
        if told and numbers and not told <= set(numbers):
            problems["told_another_number"].append(f"{citizen.sender}: told {sorted(told)}, filed {numbers}")
        if seen and not kept:
            problems["receipt_missing_from_conversation"].append(citizen.sender)
    return problems


def where_it_stands(stack: Stack, sender: str, last: int = 14) -> dict[str, Any]:
    """What the conversation's tracker says now: the form, the slot asked, the last events."""
    answer = requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": stack.token}, timeout=30)
    if answer.status_code != 200:
        return {"error": f"HTTP {answer.status_code}"}
    tracker = answer.json()
    events = []
    for event in tracker["events"][-last:]:
        kind = event.get("event")
        detail = event.get("name") or ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
        events.append(f"{kind}:{detail}" if detail else str(kind))
    return {
        "active_loop": (tracker.get("active_loop") or {}).get("name"),
        "requested_slot": (tracker.get("slots") or {}).get("requested_slot"),
        "last_events": events,
    }
