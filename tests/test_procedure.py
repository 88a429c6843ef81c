"""Working-day arithmetic over Chinese public holidays, and applicant ID and phone checks."""

from __future__ import annotations

from datetime import date

import pytest

from backend.catalogue.sources import read_holidays
from backend.procedure.identity import check_character, check_id_number, mask_id_number, normalize_mobile
from backend.procedure.workdays import WorkCalendar


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar.from_data(read_holidays())


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        (date(2026, 2, 13), 1, date(2026, 2, 14)),  # Saturday 14 February is a make-up working day
        (date(2026, 2, 13), 2, date(2026, 2, 24)),  # 15-23 February: Spring Festival
        (date(2026, 2, 13), 5, date(2026, 2, 27)),
        (date(2026, 2, 13), 6, date(2026, 2, 28)),  # Saturday 28 February is worked too
        (date(2025, 1, 24), 1, date(2025, 1, 26)),  # Sunday 26 January 2025, worked
        (date(2025, 1, 24), 3, date(2025, 2, 5)),  # 28 January - 4 February off
        (date(2026, 9, 18), 1, date(2026, 9, 20)),  # Sunday 20 September, worked before National Day
        (date(2026, 9, 30), 1, date(2026, 10, 8)),  # 1-7 October off
        (date(2026, 9, 30), 3, date(2026, 10, 10)),  # Saturday 10 October, worked
        (date(2025, 9, 30), 1, date(2025, 10, 9)),  # 2025: National Day and Mid-Autumn, 1-8 October
        (date(2026, 11, 27), 1, date(2026, 11, 30)),  # an ordinary Friday: due on Monday
        (date(2026, 11, 25), 0, date(2026, 11, 25)),
    ],
)
def test_time_limits_count_working_days_only(calendar: WorkCalendar, received: date, days: int, due: date) -> None:
    assert calendar.add_working_days(received, days) == due


def test_holidays_and_make_up_days(calendar: WorkCalendar) -> None:
    assert not calendar.is_working_day(date(2026, 10, 1)) and calendar.is_working_day(date(2026, 10, 10))
    assert not calendar.is_working_day(date(2026, 2, 21)) and calendar.is_working_day(date(2026, 2, 14))
    assert calendar.knows(date(2026, 5, 1)) and not calendar.knows(date(2030, 5, 1))
    assert calendar.working_days_from(date(2026, 9, 30), 2) == [date(2026, 10, 8), date(2026, 10, 9)]
    with pytest.raises(ValueError):
        calendar.add_working_days(date(2026, 1, 5), -1)


def test_a_year_without_a_notice_counts_weekdays(calendar: WorkCalendar) -> None:
    assert calendar.add_working_days(date(2030, 10, 4), 1) == date(2030, 10, 7)


GOOD = "11010519491231002X"  # the example of GB 11643-1999


def test_good_id_numbers_pass() -> None:
    assert check_character("11010519491231002") == "X"
    assert check_id_number(GOOD).valid
    assert check_id_number("440304198512310038").valid


def test_lower_case_x_and_spaces_are_normalised() -> None:
    checked = check_id_number(" 110105 19491231 002x ")
    assert checked.valid and checked.number == GOOD


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("110105194912310021", "checksum"),
        ("11010519490230002X", "birth_date"),  # 30 February
        ("11010520991231002X", "birth_date"),  # not born yet
        ("11010518001231002X", "birth_date"),  # too old to be alive
        ("11010519491231002", "length"),
        ("1101051949123100AX", "characters"),
    ],
)
def test_bad_id_numbers_say_what_is_wrong(number: str, problem: str) -> None:
    assert check_id_number(number, today=date(2026, 11, 26)).problem == problem


def test_a_checksum_error_is_caught_for_every_single_digit_change() -> None:
    for position in range(17):
        digit = GOOD[position]
        changed = GOOD[:position] + str((int(digit) + 1) % 10) + GOOD[position + 1 :]
        assert not check_id_number(changed).valid


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [("13800138000", "13800138000"), ("+86 138-0013-8000", "13800138000"), ("12800138000", None), ("1380013800", None)],
)
def test_mobile_numbers(raw: str, normalised: str | None) -> None:
    assert normalize_mobile(raw) == normalised


def test_masked_id_number_keeps_only_the_ends() -> None:
    assert mask_id_number(GOOD) == "1101**********002X"
