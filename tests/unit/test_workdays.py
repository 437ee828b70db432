"""The working-time calendar (deadlines/workdays.py), domain.md §3, §4.1–4.4, §8.

The calendar here is built straight from the shipped official schedules
(2018–2026), without the holidays package, so these tests exercise only the pure
module.
"""
import json
from datetime import date, datetime, time
from pathlib import Path

import pytest

from deadlines.workdays import OfficeHours, WorkCalendar

DATA = json.loads(
    (Path(__file__).resolve().parents[2] / "deadlines" / "data" / "vn_offdays.json").read_text("utf-8")
)["years"]
OFF = [date.fromisoformat(d) for y in DATA.values() for d in y["off"]]
MAKEUP = [date.fromisoformat(d) for y in DATA.values() for d in y["makeup_workdays"]]
CAL = WorkCalendar(OFF, MAKEUP, first_year=2017, last_year=2027)


def dt(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M")


# -- working days ------------------------------------------------------------------------

WORKING_DAYS = [
    # (date, working?, why)
    ("2026-03-02", True, "an ordinary Monday"),
    ("2026-03-07", False, "an ordinary Saturday"),
    ("2026-03-08", False, "an ordinary Sunday"),
    ("2026-01-01", False, "New Year's Day"),
    ("2026-02-17", False, "the first day of Tết Bính Ngọ"),
    ("2026-02-13", True, "the last working day before Tết 2026"),
    ("2026-02-23", True, "the first working day after Tết 2026"),
    ("2019-01-05", True, "make-up Saturday for 31/12/2018"),
    ("2019-05-04", True, "make-up Saturday for 29/04/2019"),
    ("2024-05-04", True, "make-up Saturday for 29/04/2024"),
    ("2025-04-26", True, "make-up Saturday for 02/05/2025"),
    ("2026-01-10", True, "make-up Saturday for 02/01/2026"),
    ("2026-08-22", True, "make-up Saturday for 31/08/2026"),
    ("2018-12-31", False, "swapped day off 31/12/2018"),
    ("2019-04-29", False, "swapped day off 29/04/2019"),
    ("2024-04-29", False, "swapped day off 29/04/2024"),
    ("2025-05-02", False, "swapped day off 02/05/2025"),
    ("2026-01-02", False, "swapped day off 02/01/2026"),
    ("2026-08-31", False, "swapped day off 31/08/2026"),
    ("2026-11-24", True, "24/11/2026 is not an enacted day off in the official list"),
    ("2019-04-15", False, "Hùng Kings' day 2019 observed on Monday"),
]


@pytest.mark.parametrize("day, working, why", WORKING_DAYS, ids=[w[2] for w in WORKING_DAYS])
def test_a_day_is_a_working_day_by_weekday_days_off_and_make_up_days(day, working, why):
    assert CAL.is_working_day(date.fromisoformat(day)) is working


def test_every_official_day_off_is_not_a_working_day_and_every_make_up_day_is():
    assert not any(CAL.is_working_day(d) for d in OFF)
    assert all(CAL.is_working_day(d) for d in MAKEUP)


def test_next_working_day_is_strictly_after_the_date():
    assert CAL.next_working_day(date(2026, 3, 2)) == date(2026, 3, 3)
    assert CAL.next_working_day(date(2026, 3, 6)) == date(2026, 3, 9)
    assert CAL.next_working_day(date(2026, 2, 13)) == date(2026, 2, 23)
    assert CAL.next_working_day(date(2026, 1, 9)) == date(2026, 1, 10)
    assert CAL.next_working_day(date(2025, 12, 31)) == date(2026, 1, 5)


def test_working_day_on_or_after_keeps_a_working_day_and_skips_days_off():
    assert CAL.working_day_on_or_after(date(2026, 3, 2)) == date(2026, 3, 2)
    assert CAL.working_day_on_or_after(date(2026, 3, 7)) == date(2026, 3, 9)
    assert CAL.working_day_on_or_after(date(2026, 1, 10)) == date(2026, 1, 10)
    assert CAL.working_day_on_or_after(date(2026, 4, 30)) == date(2026, 5, 4)


def test_previous_working_day_and_working_days_in_a_range():
    assert CAL.previous_working_day(date(2026, 1, 5)) == date(2025, 12, 31)
    assert CAL.working_days_in(date(2026, 1, 1), date(2026, 1, 11)) == [
        date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7), date(2026, 1, 8),
        date(2026, 1, 9), date(2026, 1, 10),
    ]
    assert CAL.working_days_in(date(2026, 1, 11), date(2026, 1, 1)) == []


# -- office time -------------------------------------------------------------------------

OFFICE_TIME = [
    ("2026-03-02 07:00", True, "the opening instant is inside"),
    ("2026-03-02 06:59:59", False, "one second before opening"),
    ("2026-03-02 11:29:59", True, "the last second of the morning"),
    ("2026-03-02 11:30", False, "the morning close is outside"),
    ("2026-03-02 12:15", False, "the lunch break"),
    ("2026-03-02 13:30", True, "the afternoon opening"),
    ("2026-03-02 16:59:59", True, "the last second of the day"),
    ("2026-03-02 17:00", False, "the afternoon close is outside"),
    ("2026-03-07 09:00", False, "an ordinary Saturday morning"),
    ("2026-01-10 09:00", True, "a make-up Saturday morning"),
    ("2026-01-02 09:00", False, "a swapped Friday off"),
]


@pytest.mark.parametrize("instant, inside, why", OFFICE_TIME, ids=[o[2] for o in OFFICE_TIME])
def test_an_instant_is_office_time_when_open_is_at_or_before_it_and_close_after(instant, inside, why):
    assert CAL.is_office_time(dt(instant)) is inside


def test_is_office_time_handles_microseconds_at_the_close():
    assert CAL.is_office_time(datetime(2026, 3, 2, 11, 29, 59, 999999))
    assert not CAL.is_office_time(datetime(2026, 3, 2, 17, 0, 0, 1))


NEXT_OPENING = [
    ("2026-03-02 09:15:30", "2026-03-02 09:15:30", "inside office hours it is the instant itself"),
    ("2026-03-02 06:00", "2026-03-02 07:00", "before opening"),
    ("2026-03-02 11:30", "2026-03-02 13:30", "at the morning close"),
    ("2026-03-02 12:00", "2026-03-02 13:30", "in the lunch break"),
    ("2026-03-02 17:00", "2026-03-03 07:00", "at the afternoon close"),
    ("2026-03-06 21:00", "2026-03-09 07:00", "Friday night, online"),
    ("2026-02-13 17:30", "2026-02-23 07:00", "the eve of Tết"),
    ("2026-01-09 18:00", "2026-01-10 07:00", "Friday evening before a make-up Saturday"),
    ("2026-12-31 17:00", "2027-01-01 07:00", "the year boundary (2027 not listed here)"),
    ("2018-12-28 17:00", "2019-01-02 07:00", "the year boundary over two days off"),
]


@pytest.mark.parametrize("instant, expected, why", NEXT_OPENING, ids=[n[2] for n in NEXT_OPENING])
def test_next_opening_is_the_instant_itself_or_the_next_opening(instant, expected, why):
    assert CAL.next_opening(dt(instant)) == dt(expected)


# -- adding working time -------------------------------------------------------------------

ADD_WORKING_DAYS = [
    # (received, days, deadline, why)
    ("2026-03-02 09:15", 3, "2026-03-05 09:15", "Monday 09:15 plus 3 days is Thursday 09:15"),
    ("2026-03-02 16:30", 1, "2026-03-03 16:30", "16:30 plus 1 day is 16:30 the next working day"),
    ("2026-03-02 07:00", 1, "2026-03-02 17:00", "Monday 07:00 plus 1 day is Monday 17:00"),
    ("2026-03-06 16:00", 1, "2026-03-09 16:00", "Friday afternoon runs into Monday"),
    ("2026-03-02 12:00", 1, "2026-03-03 11:30", "in the lunch break: counts from 13:30, runs out at 11:30"),
    ("2026-03-02 11:30", 1, "2026-03-03 11:30", "exactly at the morning close"),
    ("2026-03-02 18:00", 1, "2026-03-03 17:00", "after hours: counts from 07:00 the next day"),
    ("2026-03-06 21:00", 1, "2026-03-09 17:00", "Friday 21:00 online starts Monday 07:00"),
    ("2026-03-06 21:00", 3, "2026-03-11 17:00", "Friday 21:00 online, 3 days"),
    ("2026-03-07 10:00", 2, "2026-03-10 17:00", "received on an ordinary Saturday"),
    ("2026-02-13 10:00", 1, "2026-02-23 10:00", "the eve of Tết 2026 skips the whole Tết week"),
    ("2026-02-13 16:00", 2, "2026-02-24 16:00", "the last afternoon before Tết"),
    ("2026-02-17 09:00", 1, "2026-02-23 17:00", "received online during Tết"),
    ("2025-01-24 15:00", 1, "2025-02-03 15:00", "the eve of Tết 2025"),
    ("2026-01-09 16:00", 1, "2026-01-10 16:00", "Friday into the make-up Saturday 10/01/2026"),
    ("2026-01-10 09:00", 1, "2026-01-12 09:00", "received on a make-up Saturday"),
    ("2026-01-17 09:00", 1, "2026-01-19 17:00", "an ordinary Saturday after it is not worked"),
    ("2026-12-31 10:00", 1, "2027-01-01 10:00", "the year boundary, no official 2027 list here"),
    ("2018-12-28 10:00", 1, "2019-01-02 10:00", "the year boundary over 31/12/2018 and 01/01/2019"),
    ("2020-12-31 10:00", 1, "2021-01-04 10:00", "the year boundary over New Year's Day 2021"),
    ("2026-03-02 09:15", 0, "2026-03-02 09:15", "zero days is the effective start"),
    ("2026-03-06 21:00", 0, "2026-03-09 07:00", "zero days after hours is the next opening"),
    ("2026-03-02 07:00", 10, "2026-03-13 17:00", "two whole weeks"),
]


@pytest.mark.parametrize(
    "received, days, expected, why", ADD_WORKING_DAYS, ids=[a[3] for a in ADD_WORKING_DAYS]
)
def test_adding_working_days_gives_the_first_instant_the_whole_limit_has_elapsed(received, days, expected, why):
    assert CAL.add_working_days(dt(received), days) == dt(expected)


# Every official swap 2019–2026: (the day off, the make-up Saturday, a deadline across
# the day off, a deadline onto the make-up Saturday).
SWAPS = [
    ("2018-12-31", "2019-01-05", ("2018-12-28 10:00", "2019-01-02 10:00"), ("2019-01-04 10:00", "2019-01-05 10:00")),
    ("2019-04-29", "2019-05-04", ("2019-04-26 10:00", "2019-05-02 10:00"), ("2019-05-03 10:00", "2019-05-04 10:00")),
    ("2024-04-29", "2024-05-04", ("2024-04-26 10:00", "2024-05-02 10:00"), ("2024-05-03 10:00", "2024-05-04 10:00")),
    ("2025-05-02", "2025-04-26", ("2025-04-29 10:00", "2025-05-05 10:00"), ("2025-04-25 10:00", "2025-04-26 10:00")),
    ("2026-01-02", "2026-01-10", ("2025-12-31 10:00", "2026-01-05 10:00"), ("2026-01-09 10:00", "2026-01-10 10:00")),
    ("2026-08-31", "2026-08-22", ("2026-08-28 10:00", "2026-09-03 10:00"), ("2026-08-21 10:00", "2026-08-22 10:00")),
]


@pytest.mark.parametrize("off, makeup, across_off, onto_makeup", SWAPS, ids=[f"swap {s[0]} for {s[1]}" for s in SWAPS])
def test_each_official_swap_makes_the_saturday_a_working_day_and_the_weekday_a_day_off(
    off, makeup, across_off, onto_makeup
):
    assert not CAL.is_working_day(date.fromisoformat(off))
    assert CAL.is_working_day(date.fromisoformat(makeup))
    assert date.fromisoformat(makeup).weekday() == 5
    assert CAL.add_working_days(dt(across_off[0]), 1) == dt(across_off[1])
    assert CAL.add_working_days(dt(onto_makeup[0]), 1) == dt(onto_makeup[1])
    # A make-up Saturday has the normal office hours.
    saturday = date.fromisoformat(makeup)
    assert CAL.is_office_time(datetime.combine(saturday, time(7, 0)))
    assert not CAL.is_office_time(datetime.combine(saturday, time(12, 0)))
    assert CAL.is_office_time(datetime.combine(saturday, time(16, 59)))
    assert CAL.working_minutes_between(
        datetime.combine(saturday, time(0, 0)), datetime.combine(saturday, time(23, 59))
    ) == 480


ADD_WORKING_MINUTES = [
    ("2026-03-02 07:00", 270, "2026-03-02 11:30", "a limit running out exactly at 11:30 stays 11:30"),
    ("2026-03-02 13:30", 210, "2026-03-02 17:00", "a limit running out exactly at 17:00 stays 17:00"),
    ("2026-03-02 11:00", 31, "2026-03-02 13:31", "one minute over the morning runs into the afternoon"),
    ("2026-03-02 09:15:30", 60, "2026-03-02 10:15:30", "seconds are kept"),
    ("2026-03-02 11:29:30", 1, "2026-03-02 13:30:30", "half a minute before the break"),
    ("2026-03-02 12:00", 0, "2026-03-02 13:30", "zero minutes in the lunch break is the next opening"),
]


@pytest.mark.parametrize(
    "start, minutes, expected, why", ADD_WORKING_MINUTES, ids=[a[3] for a in ADD_WORKING_MINUTES]
)
def test_adding_working_minutes_counts_office_time_only(start, minutes, expected, why):
    assert CAL.add_working_minutes(dt(start), minutes) == dt(expected)


def test_microseconds_are_kept_when_adding_working_time():
    start = datetime(2026, 3, 2, 9, 15, 30, 250000)
    assert CAL.add_working_minutes(start, 60) == datetime(2026, 3, 2, 10, 15, 30, 250000)
    assert CAL.add_working_days(start, 1) == datetime(2026, 3, 3, 9, 15, 30, 250000)


ADD_WORKING_HOURS = [
    ("2026-03-02 16:00", 2, "2026-03-03 08:00", "two hours from 16:00 end at 08:00 the next day"),
    ("2026-03-02 11:00", 1, "2026-03-02 14:00", "an hour across the lunch break"),
    ("2026-03-02 10:00", 1.5, "2026-03-02 11:30", "one and a half hours end at the morning close"),
    ("2026-03-02 16:00", 1, "2026-03-02 17:00", "the last hour of the day ends at 17:00"),
    ("2026-03-02 07:00", 0.25, "2026-03-02 07:15", "a quarter of an hour"),
    ("2026-03-06 16:30", 8, "2026-03-09 16:30", "8 working hours are one working day"),
    ("2026-02-13 16:00", 4, "2026-02-23 10:00", "working hours skip Tết"),
]


@pytest.mark.parametrize("start, hours, expected, why", ADD_WORKING_HOURS, ids=[a[3] for a in ADD_WORKING_HOURS])
def test_adding_working_hours_counts_office_time_only(start, hours, expected, why):
    assert CAL.add_working_hours(dt(start), hours) == dt(expected)


ADD_CALENDAR_DAYS = [
    ("2026-03-02 10:00", 10, "2026-03-12 17:00", "the N-th calendar day after the start's date, at 17:00"),
    ("2026-03-02 10:00", 5, "2026-03-09 17:00", "landing on a Saturday moves to Monday's 17:00"),
    ("2026-04-20 10:00", 10, "2026-05-04 17:00", "landing on 30/4 moves past 1/5 and the weekend"),
    ("2026-03-06 21:00", 1, "2026-03-10 17:00", "counted from the effective start's date (Monday)"),
    ("2026-03-02 10:00", 0, "2026-03-02 17:00", "zero days is the close of the start's day"),
    ("2025-12-25 10:00", 7, "2026-01-05 17:00", "the year boundary onto a swapped day off"),
    ("2026-01-03 10:00", 7, "2026-01-12 17:00", "a weekend receipt counts from Monday 05/01"),
    ("2026-01-05 10:00", 5, "2026-01-10 17:00", "landing on a make-up Saturday stays there"),
]


@pytest.mark.parametrize(
    "received, days, expected, why", ADD_CALENDAR_DAYS, ids=[a[3] for a in ADD_CALENDAR_DAYS]
)
def test_adding_calendar_days_ends_at_the_close_of_a_working_day(received, days, expected, why):
    assert CAL.add_calendar_days(dt(received), days) == dt(expected)


ADD_MONTHS = [
    ("2026-03-02 10:00", 1, "2026-04-02 17:00", "the same day number a month later"),
    ("2026-01-30 10:00", 1, "2026-03-02 17:00", "30/01 clamps to 28/02 (a Saturday), then Monday"),
    ("2024-01-31 10:00", 1, "2024-02-29 17:00", "31/01 clamps to 29/02 in a leap year"),
    ("2025-03-31 10:00", 1, "2025-05-05 17:00", "31/03 clamps to 30/04, a holiday, then 05/05"),
    ("2025-12-15 10:00", 1, "2026-01-15 17:00", "across the year boundary"),
    ("2024-02-29 10:00", 12, "2025-02-28 17:00", "29/02 plus a year clamps to 28/02"),
    ("2026-03-06 21:00", 1, "2026-04-09 17:00", "counted from the effective start's date"),
    ("2026-03-02 10:00", 0, "2026-03-02 17:00", "zero months is the close of the start's day"),
]


@pytest.mark.parametrize("received, months, expected, why", ADD_MONTHS, ids=[a[3] for a in ADD_MONTHS])
def test_adding_months_clamps_to_the_month_end_and_moves_to_a_working_day(received, months, expected, why):
    assert CAL.add_months(dt(received), months) == dt(expected)


WORKING_MINUTES_BETWEEN = [
    ("2026-03-02 07:00", "2026-03-02 17:00", 480, "a whole working day"),
    ("2026-03-02 16:30", "2026-03-03 07:30", 60, "across the night"),
    ("2026-03-06 16:00", "2026-03-09 08:00", 120, "across the weekend"),
    ("2026-02-13 16:00", "2026-02-23 08:00", 120, "across Tết"),
    ("2026-03-02 11:00", "2026-03-02 14:00", 60, "across the lunch break"),
    ("2026-03-02 12:00", "2026-03-02 13:00", 0, "inside the lunch break"),
    ("2026-03-02 10:00", "2026-03-02 09:00", 0, "a reversed interval"),
    ("2026-03-02 10:00", "2026-03-02 10:00", 0, "an empty interval"),
    ("2026-03-02 10:00:30", "2026-03-02 10:02:00", 1, "whole minutes only (1.5 minutes is 1)"),
]


@pytest.mark.parametrize("a, b, minutes, why", WORKING_MINUTES_BETWEEN, ids=[w[3] for w in WORKING_MINUTES_BETWEEN])
def test_working_minutes_between_counts_office_time_in_the_half_open_interval(a, b, minutes, why):
    assert CAL.working_minutes_between(dt(a), dt(b)) == minutes


def test_end_of_office_is_the_last_close_of_the_day():
    assert CAL.end_of_office(date(2026, 3, 2)) == datetime(2026, 3, 2, 17, 0)
    assert CAL.opening_of(date(2026, 3, 2)) == datetime(2026, 3, 2, 7, 0)


# -- errors --------------------------------------------------------------------------------


def test_negative_amounts_are_rejected():
    start = dt("2026-03-02 09:00")
    for call in (
        lambda: CAL.add_working_minutes(start, -1),
        lambda: CAL.add_working_hours(start, -0.5),
        lambda: CAL.add_working_days(start, -1),
        lambda: CAL.add_calendar_days(start, -1),
        lambda: CAL.add_months(start, -1),
    ):
        with pytest.raises(ValueError, match="negative"):
            call()


def test_dates_outside_the_calendar_years_are_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="outside the working calendar.*2017-01-01 to 2027-12-31"):
        CAL.is_working_day(date(2016, 12, 31))
    with pytest.raises(ValueError, match="outside the working calendar"):
        CAL.add_working_days(datetime(2028, 1, 3, 9, 0), 1)
    with pytest.raises(ValueError, match="after the last working day"):
        CAL.add_working_days(datetime(2027, 12, 30, 9, 0), 5)


def test_timezone_aware_datetimes_are_rejected():
    from datetime import timedelta, timezone

    aware = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=7)))
    with pytest.raises(ValueError, match="naive"):
        CAL.add_working_days(aware, 1)


def test_a_date_cannot_be_both_a_day_off_and_a_make_up_day():
    with pytest.raises(ValueError, match="both"):
        WorkCalendar([date(2026, 1, 10)], [date(2026, 1, 10)], first_year=2026, last_year=2026)


def test_a_calendar_is_immutable_and_compares_by_content():
    with pytest.raises(AttributeError):
        CAL._rank = ()
    with pytest.raises(AttributeError):
        CAL.anything = 1
    same = WorkCalendar(OFF, MAKEUP, first_year=2017, last_year=2027)
    assert same == CAL and hash(same) == hash(CAL)
    assert WorkCalendar(first_year=2017, last_year=2027) != CAL
    assert CAL.off_days == frozenset(OFF)
    assert CAL.makeup_days == frozenset(MAKEUP)
    assert CAL.day_minutes == 480


# -- office hours ----------------------------------------------------------------------------


def test_default_office_hours_are_eight_hours_from_seven_to_five():
    hours = OfficeHours()
    assert hours.day_minutes == 480
    assert hours.opening == time(7, 0)
    assert hours.closing == time(17, 0)
    assert OfficeHours.parse("07:00-11:30,13:30-17:00") == hours
    assert str(hours) == "07:00-11:30,13:30-17:00"


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("7-11", "HH:MM-HH:MM"),
        ("07:00-11:30;13:30-17:00", "HH:MM-HH:MM"),
        ("11:30-07:00", "end after it starts"),
        ("07:00-07:00", "end after it starts"),
        ("13:30-17:00,07:00-11:30", "sorted"),
        ("07:00-12:00,11:30-17:00", "sorted"),
        ("07:00-11:30,11:30-17:00", "separated by a break"),
        ("07:00-25:00", "invalid time"),
    ],
    ids=["empty", "no minutes", "wrong separator", "reversed", "empty period", "unsorted",
         "overlapping", "touching", "hour 25"],
)
def test_parsing_bad_office_hours_raises_a_clear_error(text, message):
    with pytest.raises(ValueError, match=message):
        OfficeHours.parse(text)


def test_configured_office_hours_change_the_deadline_edges():
    hours = OfficeHours.parse("08:00-12:00, 13:00-16:30")
    cal = WorkCalendar(OFF, MAKEUP, office_hours=hours, first_year=2025, last_year=2027)
    assert cal.day_minutes == 450
    assert cal.add_working_minutes(dt("2026-03-02 08:00"), 240) == dt("2026-03-02 12:00")
    assert cal.add_working_days(dt("2026-03-02 08:00"), 1) == dt("2026-03-02 16:30")
    assert cal.add_working_days(dt("2026-03-02 07:00"), 1) == dt("2026-03-02 16:30")
    assert cal.next_opening(dt("2026-03-02 12:30")) == dt("2026-03-02 13:00")
    assert cal.add_calendar_days(dt("2026-03-02 10:00"), 1) == dt("2026-03-03 16:30")
    single = WorkCalendar(office_hours=OfficeHours.parse("08:00-16:00"), first_year=2026, last_year=2026)
    assert single.add_working_days(dt("2026-03-02 12:00"), 1) == dt("2026-03-03 12:00")
    assert single.add_working_hours(dt("2026-03-02 12:00"), 4) == dt("2026-03-02 16:00")
