"""A plan task's timing -> its reporting periods, their due dates and their status (tthc/plans/timing.py)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tthc.plans import timing as t

ISSUED = date(2018, 1, 9)


@pytest.mark.parametrize("text, expected", [
    ("Tháng 01/2018", t.Timing(t.MONTH, 2018, 1)),
    ("tháng 1 năm 2018", t.Timing(t.MONTH, 2018, 1)),
    ("Quý 1/2018", t.Timing(t.QUARTER, 2018, 1)),
    ("Quý IV/2019", t.Timing(t.QUARTER, 2019, 4)),
    ("Hàng năm", t.Timing(t.YEARLY)),
    ("Hằng năm", t.Timing(t.YEARLY)),
    ("  Thường   xuyên ", t.Timing(t.ONGOING)),
    ("THƯỜNG XUYÊN", t.Timing(t.ONGOING)),
])
def test_timings_of_the_plan_are_understood(text, expected):
    assert t.parse_timing(text) == expected


@pytest.mark.parametrize("text", ["", "Sớm", "Tháng 13/2018", "Quý 5/2018", "Quý 1/1850", "Tháng 01"])
def test_a_timing_that_cannot_be_understood_is_refused_in_vietnamese(text):
    with pytest.raises(t.TimingError, match="không|nằm ngoài"):
        t.parse_timing(text)


def test_a_month_task_has_one_period_that_calendar_month():
    assert t.spans(t.Timing(t.MONTH, 2018, 1), 2017, 2020, ISSUED) == [
        t.Span("Tháng 01/2018", date(2018, 1, 1), date(2018, 1, 31))]


def test_a_quarter_task_has_one_period_that_calendar_quarter():
    assert t.spans(t.Timing(t.QUARTER, 2018, 1), 2017, 2020, ISSUED) == [
        t.Span("Quý 1/2018", date(2018, 1, 1), date(2018, 3, 31))]


def test_a_yearly_task_reports_each_calendar_year_of_the_plan_from_its_issue():
    got = t.spans(t.Timing(t.YEARLY), 2017, 2020, ISSUED)
    assert [(s.start_date, s.end_date) for s in got] == [(date(y, 1, 1), date(y, 12, 31)) for y in (2018, 2019, 2020)]


def test_an_ongoing_task_reports_every_quarter_of_the_plan_from_its_issue():
    got = t.spans(t.Timing(t.ONGOING), 2017, 2020, ISSUED)
    assert len(got) == 12 and got[0] == t.Span("Quý 1/2018", date(2018, 1, 1), date(2018, 3, 31))
    assert got[-1].end_date == date(2020, 12, 31)
    assert all(b.start_date == a.end_date + timedelta(days=1) for a, b in zip(got, got[1:]))


def _weekdays(d: date) -> date:
    d += timedelta(days=1)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


@pytest.mark.parametrize("end, n, due", [
    (date(2018, 3, 31), 5, date(2018, 4, 6)),  # a Saturday: Mon 2 .. Fri 6
    (date(2018, 1, 31), 5, date(2018, 2, 7)),  # a Wednesday
    (date(2018, 1, 31), 0, date(2018, 1, 31)),
])
def test_a_period_is_due_n_working_days_after_its_end(end, n, due):
    assert t.due_date(end, n, _weekdays) == due


END, DUE = date(2018, 3, 31), date(2018, 4, 6)


@pytest.mark.parametrize("today, report, status", [
    (date(2018, 3, 30), None, t.NOT_DUE),
    (date(2018, 3, 31), None, t.DUE),
    (date(2018, 4, 6), None, t.DUE),
    (date(2018, 4, 7), None, t.MISSING),
    (date(2018, 4, 7), date(2018, 3, 20), t.ON_TIME),
    (date(2018, 4, 7), date(2018, 4, 6), t.ON_TIME),
    (date(2018, 5, 1), date(2018, 4, 9), t.LATE),
])
def test_status_of_a_period_on_a_day(today, report, status):
    assert t.period_status(today, END, DUE, report) == status


def test_report_periods_are_calendar_quarters_or_years():
    assert t.parse_report_period("2018-Q1") == t.Span("Quý 1/2018", date(2018, 1, 1), date(2018, 3, 31))
    assert t.parse_report_period("2019") == t.Span("Năm 2019", date(2019, 1, 1), date(2019, 12, 31))
    with pytest.raises(t.TimingError):
        t.parse_report_period("2018-03")


def test_plan_years_come_from_the_title_else_the_issue_year():
    assert t.plan_years("Kế hoạch ... giai đoạn 2017-2020 của Sở", ISSUED) == (2017, 2020)
    assert t.plan_years("Kế hoạch cải cách hành chính năm 2019", date(2019, 1, 2)) == (2019, 2019)


def test_a_measured_one_off_task_reported_in_a_later_quarter_is_measured_over_that_quarter(monkeypatch):
    from datetime import datetime
    from types import SimpleNamespace

    from tthc.plans import queries

    period = SimpleNamespace(label="Tháng 01/2018", start_date=date(2018, 1, 1), end_date=date(2018, 1, 31),
                             due_date=date(2018, 2, 7), progress=[])
    task = SimpleNamespace(number=1, content="Ban hành", lead="", timing="Tháng 01/2018", measure="x", periods=[period])
    plan = SimpleNamespace(tasks=[task])
    seen = []
    monkeypatch.setattr(queries, "measure", lambda session, key, first, last, now: seen.append((first, last)))
    rows = queries.report_rows(None, plan, t.quarter_span(2018, 2), date(2018, 7, 1), datetime(2018, 7, 1))
    assert seen == [(date(2018, 4, 1), date(2018, 6, 30))]
    assert rows[0].status == "Tháng 01/2018: Chưa báo cáo (quá hạn)"
