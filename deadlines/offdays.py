"""The yearly schedules of days off and make-up working days, and the calendar built from them.

Sources, in order of authority (domain.md §3):

1. administrators' edits (:class:`Override`, stored in the database by the caller);
2. the official schedules shipped in ``deadlines/data/vn_offdays.json`` (2018–2026,
   compiled from the government's yearly announcements): for a listed year the
   list is authoritative, even where the ``holidays`` package disagrees (2026:
   the package lacks the swap 02/01 off / Saturday 10/01 worked and adds 24/11);
3. for other years, an estimate from the statutory rules (Labour Code 2019,
   Art. 111–112) through the ``holidays`` package (country VN), marked
   ``"estimated"`` until an administrator confirms the year.

Imports only the standard library, ``holidays`` and ``deadlines.workdays``: no Flask
or SQLAlchemy (the admin page and CLI read the overrides and pass them in).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import Iterable

import holidays

from deadlines.workdays import OfficeHours, WorkCalendar

__all__ = [
    "DayEntry",
    "Override",
    "OFFICIAL_YEARS",
    "official_schedule",
    "estimated_schedule",
    "year_schedule",
    "build_calendar",
    "sources",
    "notes",
]

_DEFAULT_OFFICE_HOURS = OfficeHours()
_SUBSTITUTED_RE = re.compile(r"thay cho ngày (\d{2})/(\d{2})/(\d{4})")
_TET_DAY_NAME = "Tết Nguyên Đán"  # the package's name for the first day of the lunar year
_TET_WINDOW_DAYS = 7


@dataclass(frozen=True)
class DayEntry:
    """One listed day of a year's schedule: a weekday off or a make-up working day."""

    date: date
    kind: str  # "off" | "makeup"
    name: str  # Vietnamese
    source: str  # "official" | "estimated" | "admin"


@dataclass(frozen=True)
class Override:
    """An administrator's edit of the calendar (citing the official notice).

    ``working=False`` makes the day a day off (or cancels a make-up day);
    ``working=True`` makes it a working day (a make-up Saturday, or cancels a day off).
    """

    date: date
    working: bool
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.date, date) or isinstance(self.date, datetime):
            raise TypeError(f"an override's date must be a date, got {self.date!r}")
        if not isinstance(self.working, bool):
            raise TypeError(f"an override's 'working' must be True or False, got {self.working!r}")


# -- the shipped official data ---------------------------------------------------------


def _load() -> dict:
    text = resources.files("deadlines").joinpath("data", "vn_offdays.json").read_text("utf-8")
    return json.loads(text)["years"]


_DATA = _load()
# The compiler's notes are English; the calendar page shows their Vietnamese version.
_NOTES_VI: dict[str, str] = json.loads(
    resources.files("deadlines").joinpath("data", "vn_offdays_notes_vi.json").read_text("utf-8"))["notes"]
OFFICIAL_YEARS: frozenset[int] = frozenset(int(y) for y in _DATA)


def _official_dates(year: int) -> tuple[tuple[date, ...], tuple[date, ...]]:
    entry = _DATA.get(str(year))
    if entry is None:
        return (), ()
    off = tuple(sorted(date.fromisoformat(d) for d in entry["off"]))
    makeup = tuple(sorted(date.fromisoformat(d) for d in entry["makeup_workdays"]))
    return off, makeup


# -- the holidays package --------------------------------------------------------------


@lru_cache(maxsize=None)
def _package_names(year: int) -> dict[date, str]:
    """All dates the package lists for ``year`` (weekends included), Vietnamese names."""
    return dict(holidays.VN(years=year, language="vi").items())


def _names_around(year: int) -> dict[date, str]:
    names: dict[date, str] = {}
    for y in (year - 1, year, year + 1):
        names.update(_package_names(y))
    return names


def _substituted_from(name: str | None) -> date | None:
    """The make-up day named in the package's "Ngày nghỉ (thay cho ngày dd/mm/yyyy)"."""
    if not name:
        return None
    match = _SUBSTITUTED_RE.search(name)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    return date(year, month, day)


def _in_tet_window(d: date) -> bool:
    for d_tet, name in _package_names(d.year).items():
        if name == _TET_DAY_NAME and abs((d - d_tet).days) <= _TET_WINDOW_DAYS:
            return True
    return False


def _fmt(d: date) -> str:
    return d.strftime("%d/%m/%Y")


# -- schedules -------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _official_entries(year: int) -> tuple[DayEntry, ...] | None:
    if year not in OFFICIAL_YEARS:
        return None
    offs: set[date] = set()
    makeups: set[date] = set()
    for y in (year - 1, year, year + 1):
        o, m = _official_dates(y)
        offs.update(o)
        makeups.update(m)
    names = _names_around(year)

    # Pair each swapped day off with its make-up day: first as the package names
    # them, then an unnamed official day off with the nearest unpaired make-up day.
    pairs: dict[date, date] = {}
    unpaired = set(makeups)
    for d in sorted(offs):
        m = _substituted_from(names.get(d))
        if m is not None and m in unpaired:
            pairs[d], pairs[m] = m, d
            unpaired.discard(m)
    for d in sorted(offs):
        if d in pairs or d in names:
            continue
        near = [m for m in unpaired if abs((m - d).days) <= 31]
        if near:
            m = min(near, key=lambda m: (abs((m - d).days), m))
            pairs[d], pairs[m] = m, d
            unpaired.discard(m)

    off, makeup = _official_dates(year)
    entries = []
    for d in off:
        name = names.get(d)
        if name is None:
            if _in_tet_window(d):
                name = "Tết Nguyên đán"
            elif d in pairs:
                name = f"Nghỉ hoán đổi (làm bù ngày {_fmt(pairs[d])})"
            else:
                name = "Nghỉ bù"
        entries.append(DayEntry(d, "off", name, "official"))
    for d in makeup:
        name = f"Làm bù (cho ngày nghỉ {_fmt(pairs[d])})" if d in pairs else "Làm bù"
        entries.append(DayEntry(d, "makeup", name, "official"))
    return tuple(sorted(entries, key=lambda e: e.date))


def official_schedule(year: int) -> list[DayEntry] | None:
    """The shipped official schedule of ``year``, or ``None`` if the year is not listed."""
    entries = _official_entries(_check_year(year))
    return None if entries is None else list(entries)


@lru_cache(maxsize=None)
def _estimated_entries(year: int) -> tuple[DayEntry, ...]:
    entries = [
        DayEntry(d, "off", name, "estimated")
        for d, name in _package_names(year).items()
        if d.weekday() < 5
    ]
    # The package also knows some historical swaps ("Ngày nghỉ (thay cho ngày
    # 04/05/2013)"): the Saturday named there is a make-up working day. Without it a
    # swapped year would lose a working day.
    for y in (year - 1, year, year + 1):
        for d, name in _package_names(y).items():
            m = _substituted_from(name)
            if m is not None and m.year == year and m.weekday() >= 5:
                entries.append(DayEntry(m, "makeup", f"Làm bù (cho ngày nghỉ {_fmt(d)})", "estimated"))
    return tuple(sorted(entries, key=lambda e: e.date))


def estimated_schedule(year: int) -> list[DayEntry]:
    """``year`` estimated from the statutory rules (``holidays.VN``): weekday holidays
    as days off, plus the make-up Saturdays of the swaps the package knows."""
    return list(_estimated_entries(_check_year(year)))


def _default_override_name(override: Override) -> str:
    return override.name or ("Làm việc (điều chỉnh)" if override.working else "Ngày nghỉ (điều chỉnh)")


def year_schedule(
    year: int, overrides: Iterable[Override] = (), confirmed_years: Iterable[int] = ()
) -> list[DayEntry]:
    """The weekdays off and make-up days of ``year``, sorted by date.

    Official years use the shipped list; other years the estimate, whose entries are
    marked ``"official"`` once an administrator has confirmed the year (it is then the
    announced schedule). Overrides of that year are applied in the given order (the
    last one for a date wins) and marked ``"admin"``. Weekends that are not make-up
    days are never listed.
    """
    year = _check_year(year)
    official = _official_entries(year)
    if official is not None:
        base = official
    elif year in set(confirmed_years):
        base = tuple(
            DayEntry(e.date, e.kind, e.name, "official") for e in _estimated_entries(year)
        )
    else:
        base = _estimated_entries(year)
    return _apply_overrides(base, [o for o in overrides if o.date.year == year])


def _apply_overrides(base: Iterable[DayEntry], overrides: Iterable[Override]) -> list[DayEntry]:
    by_date = {e.date: e for e in base}
    for o in overrides:
        weekday = o.date.weekday() < 5
        if o.working:
            if weekday:
                by_date.pop(o.date, None)  # cancels a day off: an ordinary working day again
            else:
                by_date[o.date] = DayEntry(o.date, "makeup", _default_override_name(o), "admin")
        else:
            if weekday:
                by_date[o.date] = DayEntry(o.date, "off", _default_override_name(o), "admin")
            else:
                by_date.pop(o.date, None)  # cancels a make-up day: an ordinary weekend again
    return sorted(by_date.values(), key=lambda e: e.date)


def sources(year: int) -> list[str]:
    """Where the schedule of ``year`` comes from (addresses for official years)."""
    entry = _DATA.get(str(_check_year(year)))
    if entry is not None:
        return list(entry["sources"])
    return [
        "Ước tính theo Bộ luật Lao động 2019, Điều 111–112 "
        f"(gói holidays {holidays.__version__}, quốc gia VN)"
    ]


def notes(year: int) -> str:
    """The compiler's notes for an official year (in Vietnamese); a warning for an estimated one."""
    entry = _DATA.get(str(_check_year(year)))
    if entry is not None:
        return _NOTES_VI.get(str(year), "")
    return (
        f"Lịch năm {year} là lịch ước tính theo quy định của Bộ luật Lao động, chưa có thông báo "
        "chính thức về ngày nghỉ và ngày làm bù; quản trị viên cần đối chiếu và xác nhận."
    )


# -- the calendar ----------------------------------------------------------------------


def build_calendar(
    overrides: Iterable[Override] = (),
    office_hours: OfficeHours = _DEFAULT_OFFICE_HOURS,
    first_year: int = 2000,
    last_year: int = 2100,
) -> WorkCalendar:
    """The working calendar: official years from the shipped data, other years
    estimated from ``holidays``, then the administrators' overrides (in order).

    Cached on the overrides and office hours: a built :class:`WorkCalendar` is
    immutable, so the same object is safely shared between requests.
    """
    normalised = tuple(overrides)
    for o in normalised:
        if not isinstance(o, Override):
            raise TypeError(f"overrides must be Override objects, got {o!r}")
    return _build_calendar(normalised, office_hours, first_year, last_year)


@lru_cache(maxsize=8)
def _build_calendar(
    overrides: tuple[Override, ...], office_hours: OfficeHours, first_year: int, last_year: int
) -> WorkCalendar:
    by_year: dict[int, list[Override]] = {}
    for o in overrides:
        by_year.setdefault(o.date.year, []).append(o)
    off: list[date] = []
    makeup: list[date] = []
    for year in range(first_year, last_year + 1):
        base = _official_entries(year)
        if base is None:
            base = _estimated_entries(year)
        entries = _apply_overrides(base, by_year[year]) if year in by_year else base
        for e in entries:
            (off if e.kind == "off" else makeup).append(e.date)
    return WorkCalendar(off, makeup, office_hours, first_year, last_year)


def _check_year(year: int) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9998:
        raise ValueError(f"year must be a whole number between 1 and 9998, got {year!r}")
    return year
