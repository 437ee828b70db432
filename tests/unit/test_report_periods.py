"""Reporting periods (Decree 09/2019, Art. 12; domain.md §7, §8), one row per case."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from tthc.reports import periods
from tthc.reports.periods import CALENDAR, DECREE_09, PeriodError

CASES = [
    # (text, scheme, first day, last day)
    ("2025-03", DECREE_09, date(2025, 2, 15), date(2025, 3, 14)),
    ("2025-01", DECREE_09, date(2024, 12, 15), date(2025, 1, 14)),  # across the year boundary
    ("2026-03", DECREE_09, date(2026, 2, 15), date(2026, 3, 14)),  # across Tết 2026 (16–20/02)
    ("2024-03", DECREE_09, date(2024, 2, 15), date(2024, 3, 14)),  # leap year
    ("2025-Q1", DECREE_09, date(2024, 12, 15), date(2025, 3, 14)),
    ("2025-Q2", DECREE_09, date(2025, 3, 15), date(2025, 6, 14)),
    ("2025-q4", DECREE_09, date(2025, 9, 15), date(2025, 12, 14)),
    ("2025-H1", DECREE_09, date(2024, 12, 15), date(2025, 6, 14)),
    ("2025-H2", DECREE_09, date(2025, 6, 15), date(2025, 12, 14)),
    ("2025", DECREE_09, date(2024, 12, 15), date(2025, 12, 14)),
    ("2025-03", CALENDAR, date(2025, 3, 1), date(2025, 3, 31)),
    ("2024-02", CALENDAR, date(2024, 2, 1), date(2024, 2, 29)),
    ("2025-12", CALENDAR, date(2025, 12, 1), date(2025, 12, 31)),
    ("2025-Q1", CALENDAR, date(2025, 1, 1), date(2025, 3, 31)),
    ("2025-H2", CALENDAR, date(2025, 7, 1), date(2025, 12, 31)),
    ("2025", CALENDAR, date(2025, 1, 1), date(2025, 12, 31)),
]


@pytest.mark.parametrize("text, scheme, first, last", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_a_period_runs_from_its_first_to_its_last_day_included(text, scheme, first, last):
    p = periods.parse_period(text, scheme)
    assert (p.first_day, p.last_day) == (first, last)
    assert p.start == datetime.combine(first, datetime.min.time())


def test_the_monthly_period_2025_03_is_15_february_00_00_to_14_march_23_59_59():
    p = periods.parse_month("2025-03")
    assert p.start == datetime(2025, 2, 15, 0, 0)
    assert p.contains(datetime(2025, 2, 15, 0, 0))
    assert p.contains(datetime(2025, 3, 14, 23, 59, 59))
    assert not p.contains(datetime(2025, 3, 15, 0, 0))
    assert not p.contains(datetime(2025, 2, 14, 23, 59, 59))
    assert not p.contains(None)
    assert p.describe() == "từ ngày 15/02/2025 đến ngày 14/03/2025"
    assert p.label == "Tháng 03/2025"


def test_consecutive_months_tile_the_year_without_gap_or_overlap():
    months = [periods.month(2025, m) for m in range(1, 13)]
    for before, after in zip(months, months[1:]):
        assert before.end == after.start
    assert months[0].start == periods.year(2025).start and months[-1].end == periods.year(2025).end


def test_the_quarters_of_a_year_are_its_months_three_by_three():
    for q in range(1, 5):
        quarter = periods.quarter(2025, q)
        assert quarter.start == periods.month(2025, 3 * q - 2).start
        assert quarter.end == periods.month(2025, 3 * q).end


def test_a_custom_range_includes_both_days():
    p = periods.parse_range("2025-01-01", "2025-01-01")
    assert p.start == datetime(2025, 1, 1) and p.end == datetime(2025, 1, 2)
    assert p.describe() == "từ ngày 01/01/2025 đến ngày 01/01/2025"


@pytest.mark.parametrize("text, message", [
    ("2025-13", "month 13 out of range"),
    ("2025-00", "month 0 out of range"),
    ("25-03", "malformed period"),
    ("2025-Q5", "malformed period"),
    ("2025-H3", "malformed period"),
    ("", "malformed period"),
    ("1899", "year 1899 out of range"),
])
def test_a_malformed_period_is_refused_with_its_reason(text, message):
    with pytest.raises(PeriodError, match=message):
        periods.parse_period(text)


def test_the_cli_month_accepts_only_a_month():
    with pytest.raises(PeriodError, match="expected YYYY-MM"):
        periods.parse_month("2025-Q1")


@pytest.mark.parametrize("first, last, message", [
    ("2025-03-14", "2025-02-15", "before the start date"),
    ("2025-02-30", "2025-03-01", "malformed start date"),
    ("2025-02-01", "14/03/2025", "malformed end date"),
])
def test_a_bad_range_is_refused_with_its_reason(first, last, message):
    with pytest.raises(PeriodError, match=message):
        periods.parse_range(first, last)


def test_an_unknown_scheme_is_refused():
    with pytest.raises(PeriodError, match="unknown period scheme"):
        periods.month(2025, 3, "lunar")
