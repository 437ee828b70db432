"""Official and estimated schedules, overrides and the built calendar (deadlines/offdays.py)."""
import json
from datetime import date, datetime
from pathlib import Path

import pytest

from deadlines import offdays
from deadlines.offdays import (
    OFFICIAL_YEARS,
    DayEntry,
    Override,
    build_calendar,
    estimated_schedule,
    notes,
    official_schedule,
    sources,
    year_schedule,
)
from deadlines.workdays import OfficeHours, WorkCalendar

SHARED = json.loads(Path("/work/shared/data/vn_offdays.json").read_text("utf-8"))["years"] if Path(
    "/work/shared/data/vn_offdays.json"
).exists() else None
SHIPPED = json.loads(
    (Path(__file__).resolve().parents[2] / "deadlines" / "data" / "vn_offdays.json").read_text("utf-8")
)["years"]
YEARS = list(range(2018, 2027))


def test_the_shipped_data_lists_the_official_years_2018_to_2026():
    assert OFFICIAL_YEARS == frozenset(YEARS)


@pytest.mark.skipif(SHARED is None, reason="the shared data folder is not mounted")
def test_the_shipped_data_is_a_faithful_copy_of_the_shared_data():
    assert SHIPPED == SHARED


@pytest.mark.parametrize("year", YEARS)
def test_each_official_year_lists_exactly_the_official_days_off_and_make_up_days(year):
    entries = year_schedule(year)
    assert [e.date.isoformat() for e in entries if e.kind == "off"] == sorted(SHIPPED[str(year)]["off"])
    assert [e.date.isoformat() for e in entries if e.kind == "makeup"] == sorted(
        SHIPPED[str(year)]["makeup_workdays"]
    )
    assert {e.source for e in entries} == {"official"}
    assert entries == sorted(entries, key=lambda e: e.date)
    assert all(e.name for e in entries)
    assert official_schedule(year) == entries


@pytest.mark.parametrize("year", YEARS)
def test_the_built_calendar_follows_the_official_schedule_in_every_official_year(year):
    cal = build_calendar()
    for d in SHIPPED[str(year)]["off"]:
        assert not cal.is_working_day(date.fromisoformat(d)), d
    for d in SHIPPED[str(year)]["makeup_workdays"]:
        assert cal.is_working_day(date.fromisoformat(d)), d
    # Every other weekday is a working day and every other weekend day is not.
    listed = set(SHIPPED[str(year)]["off"]) | set(SHIPPED[str(year)]["makeup_workdays"])
    day = date(year, 1, 1)
    while day.year == year:
        if day.isoformat() not in listed:
            assert cal.is_working_day(day) is (day.weekday() < 5), day
        day = date.fromordinal(day.toordinal() + 1)


def test_the_official_2026_list_wins_over_the_holidays_package():
    days = {e.date: e for e in year_schedule(2026)}
    assert date(2026, 1, 2) in days  # the swap the package lacks
    assert days[date(2026, 1, 10)].kind == "makeup"
    assert date(2026, 11, 24) not in days  # in the package, not yet enacted
    assert build_calendar().is_working_day(date(2026, 11, 24))


NAMES = [
    ("2026-01-02", "Nghỉ hoán đổi (làm bù ngày 10/01/2026)"),
    ("2026-01-10", "Làm bù (cho ngày nghỉ 02/01/2026)"),
    ("2026-08-22", "Làm bù (cho ngày nghỉ 31/08/2026)"),
    ("2026-08-31", "Ngày nghỉ (thay cho ngày 22/08/2026)"),
    ("2019-01-05", "Làm bù (cho ngày nghỉ 31/12/2018)"),
    ("2019-05-04", "Làm bù (cho ngày nghỉ 29/04/2019)"),
    ("2024-05-04", "Làm bù (cho ngày nghỉ 29/04/2024)"),
    ("2025-04-26", "Làm bù (cho ngày nghỉ 02/05/2025)"),
    ("2026-02-17", "Tết Nguyên Đán"),
    ("2025-09-02", "Quốc khánh"),
    ("2023-01-02", "Tết Dương lịch (nghỉ bù)"),
]


@pytest.mark.parametrize("day, name", NAMES, ids=[n[0] for n in NAMES])
def test_official_days_have_vietnamese_names(day, name):
    d = date.fromisoformat(day)
    assert {e.date: e.name for e in year_schedule(d.year)}[d] == name


def test_an_unlisted_year_is_estimated_from_the_statutory_rules():
    entries = year_schedule(2027)
    assert official_schedule(2027) is None
    assert entries == estimated_schedule(2027)
    assert {e.source for e in entries} == {"estimated"}
    days = {e.date: e for e in entries}
    assert days[date(2027, 1, 1)].name == "Tết Dương lịch"
    assert days[date(2027, 9, 2)].kind == "off"
    assert all(e.date.weekday() < 5 for e in entries if e.kind == "off")
    assert all(e.date.year == 2027 for e in entries)
    assert "ước tính" in notes(2027)
    assert "Bộ luật Lao động" in sources(2027)[0]


def test_a_confirmed_estimated_year_is_shown_as_official():
    assert {e.source for e in year_schedule(2027, confirmed_years=[2027])} == {"official"}
    assert {e.source for e in year_schedule(2027, confirmed_years=[2028])} == {"estimated"}


def test_an_estimated_year_keeps_the_make_up_saturdays_of_swaps_the_package_knows():
    # 2013: 29/04 off in exchange for Saturday 04/05 (a year before the shipped data).
    entries = {e.date: e for e in estimated_schedule(2013)}
    assert entries[date(2013, 4, 29)].kind == "off"
    assert entries[date(2013, 5, 4)].kind == "makeup"
    assert entries[date(2013, 5, 4)].name == "Làm bù (cho ngày nghỉ 29/04/2013)"
    cal = build_calendar()
    assert cal.is_working_day(date(2013, 5, 4))
    assert not cal.is_working_day(date(2013, 4, 29))
    # 2015: 02/01/2015 off in exchange for Saturday 27/12/2014 (across the year boundary).
    assert {e.date: e.kind for e in estimated_schedule(2014)}[date(2014, 12, 27)] == "makeup"


def test_official_years_have_their_sources_and_notes():
    assert sources(2026)[0].startswith("https://")
    assert "12729/VPCP-KGVX" in notes(2026)


# -- overrides ----------------------------------------------------------------------------


def test_an_override_adds_a_day_off_on_a_weekday():
    override = Override(date(2026, 11, 24), working=False, name="Ngày Văn hóa Việt Nam")
    entries = {e.date: e for e in year_schedule(2026, [override])}
    assert entries[date(2026, 11, 24)] == DayEntry(date(2026, 11, 24), "off", "Ngày Văn hóa Việt Nam", "admin")
    cal = build_calendar([override])
    assert not cal.is_working_day(date(2026, 11, 24))
    assert cal.add_working_days(datetime(2026, 11, 23, 10, 0), 1) == datetime(2026, 11, 25, 10, 0)


def test_an_override_adds_a_make_up_saturday():
    override = Override(date(2027, 1, 9), working=True, name="Làm bù cho 04/01/2027")
    entries = {e.date: e for e in year_schedule(2027, [override])}
    assert entries[date(2027, 1, 9)].kind == "makeup"
    assert entries[date(2027, 1, 9)].source == "admin"
    assert build_calendar([override]).is_working_day(date(2027, 1, 9))


def test_an_override_cancels_a_day_off_and_a_make_up_day():
    overrides = [Override(date(2027, 11, 24), working=True), Override(date(2026, 1, 10), working=False)]
    assert date(2027, 11, 24) not in {e.date for e in year_schedule(2027, overrides)}
    assert date(2026, 1, 10) not in {e.date for e in year_schedule(2026, overrides)}
    cal = build_calendar(overrides)
    assert cal.is_working_day(date(2027, 11, 24))
    assert not cal.is_working_day(date(2026, 1, 10))


def test_a_weekend_that_is_not_a_make_up_day_is_never_listed():
    entries = year_schedule(2026, [Override(date(2026, 3, 7), working=False, name="x")])
    assert all(e.date.weekday() < 5 or e.kind == "makeup" for e in entries)
    assert date(2026, 3, 7) not in {e.date for e in entries}


def test_the_last_override_for_a_date_wins_and_other_years_are_ignored():
    overrides = [
        Override(date(2026, 3, 3), working=False, name="first"),
        Override(date(2026, 3, 3), working=True),
        Override(date(2025, 3, 3), working=False),
    ]
    assert date(2026, 3, 3) not in {e.date for e in year_schedule(2026, overrides)}
    assert build_calendar(overrides).is_working_day(date(2026, 3, 3))
    assert not build_calendar(overrides).is_working_day(date(2025, 3, 3))
    assert {e.date: e.name for e in year_schedule(2025, overrides)}[date(2025, 3, 3)] == "Ngày nghỉ (điều chỉnh)"


def test_an_override_needs_a_date_and_a_boolean():
    with pytest.raises(TypeError):
        Override(datetime(2026, 3, 3, 10, 0), working=False)
    with pytest.raises(TypeError):
        Override(date(2026, 3, 3), working="no")
    with pytest.raises(TypeError):
        build_calendar([("2026-03-03", False)])


# -- the built calendar ------------------------------------------------------------------------


def test_the_built_calendar_is_cached_and_immutable():
    assert build_calendar() is build_calendar(())
    overrides = [Override(date(2026, 3, 3), working=False)]
    assert build_calendar(overrides) is build_calendar(tuple(overrides))
    assert build_calendar(overrides) is not build_calendar()
    hours = OfficeHours.parse("07:30-11:30,13:30-17:30")
    assert build_calendar((), hours).office_hours == hours
    assert build_calendar((), hours) is not build_calendar()
    cal = build_calendar()
    assert isinstance(cal, WorkCalendar)
    with pytest.raises(AttributeError):
        cal._off = frozenset()


def test_the_built_calendar_covers_2000_to_2100_by_default():
    cal = build_calendar()
    assert (cal.first_year, cal.last_year) == (2000, 2100)
    assert not cal.is_working_day(date(2100, 1, 1))
    with pytest.raises(ValueError, match="outside"):
        cal.is_working_day(date(1999, 12, 31))


def test_the_tet_window_inference_names_an_unlisted_day_near_the_lunar_new_year():
    assert offdays._in_tet_window(date(2026, 2, 23))
    assert not offdays._in_tet_window(date(2026, 3, 30))
