"""The three-stage procedure's statuses, transitions and the status-check lockout."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest

from backend.procedure.applications import (
    STATUSES,
    TRANSITIONS,
    can_move,
    locked_until,
    new_application_id,
    stage_of,
    verification_code,
)

NOW = datetime(2026, 11, 26, 10, 0, 0)


def test_every_status_has_its_stage_and_its_transitions() -> None:
    assert set(TRANSITIONS) == set(STATUSES)
    assert [stage_of(s) for s in ("received", "in_review", "ready_for_collection")] == [
        "reception",
        "approval",
        "completion",
    ]
    with pytest.raises(ValueError):
        stage_of("lost")


@pytest.mark.parametrize(
    ("current", "to", "allowed"),
    [
        ("received", "in_review", True),
        ("received", "supplement_required", True),
        ("supplement_required", "received", True),
        ("in_review", "approved", True),
        ("approved", "ready_for_collection", True),
        ("approved", "completed", True),
        ("ready_for_collection", "completed", True),
        ("received", "completed", False),
        ("received", "approved", False),
        ("completed", "in_review", False),
        ("rejected", "received", False),
        ("in_review", "in_review", False),
    ],
)
def test_only_allowed_transitions(current: str, to: str, allowed: bool) -> None:
    assert can_move(current, to) is allowed


def test_application_ids_carry_the_day_and_are_unguessable() -> None:
    first = new_application_id(date(2026, 11, 26), random.SystemRandom())
    assert first.startswith("ZW20261126-") and len(first) == 17
    assert len({new_application_id(date(2026, 11, 26)) for _ in range(200)}) == 200


def test_verification_code_is_the_last_four_characters_upper_case() -> None:
    assert verification_code("11010519491231002x") == "002X"


def test_five_wrong_codes_within_fifteen_minutes_lock_for_fifteen_minutes() -> None:
    wrong = [NOW - timedelta(minutes=minutes) for minutes in (14, 10, 6, 3, 0)]
    assert locked_until(wrong, NOW) == NOW + timedelta(minutes=15)
    assert locked_until(wrong, NOW + timedelta(minutes=14)) is not None
    assert locked_until(wrong, NOW + timedelta(minutes=15, seconds=1)) is None


def test_four_wrong_codes_or_five_spread_out_do_not_lock() -> None:
    assert locked_until([NOW - timedelta(minutes=m) for m in (4, 3, 2, 1)], NOW) is None
    spread = [NOW - timedelta(minutes=m) for m in (40, 30, 20, 10, 0)]
    assert locked_until(spread, NOW) is None
