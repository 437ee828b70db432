"""Reporting periods (kỳ báo cáo): pure date arithmetic, the standard library only.

Decree 09/2019/NĐ-CP, Art. 12: a monthly report runs from the 15th of the previous
month to the 14th of the month; a quarterly one from the 15th of the month before
the quarter to the 14th of its last month; the half-year from 15/12 to 14/06; the
year from 15/12 to 14/12. The calendar-month scheme is the configurable alternative
(``REPORT_PERIOD_SCHEME = "calendar"``).

A period is half-open: ``start <= t < end``. ``--period 2025-03`` is therefore
15/02/2025 00:00 <= t < 15/03/2025 00:00, i.e. up to 14/03/2025 23:59:59.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

DECREE_09 = "decree09"
CALENDAR = "calendar"
SCHEMES = (DECREE_09, CALENDAR)
CUTOFF_DAY = 15  # Decree 09/2019, Art. 12: the period closes on the 14th
EARLIEST_YEAR = 2000
LATEST_YEAR = 2100


class PeriodError(ValueError):
    """Malformed or impossible period; the message is shown to the user as is."""


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive, 00:00 of the first day
    end: datetime  # exclusive, 00:00 of the day after the last day
    label: str

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    def describe(self) -> str:
        return f"từ ngày {self.first_day:%d/%m/%Y} đến ngày {self.last_day:%d/%m/%Y}"

    def contains(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end


def _check_scheme(scheme: str) -> str:
    if scheme not in SCHEMES:
        raise PeriodError(f"unknown period scheme {scheme!r}: expected {' or '.join(SCHEMES)}")
    return scheme


def _check_year(year: int) -> int:
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise PeriodError(f"year {year} out of range {EARLIEST_YEAR}–{LATEST_YEAR}")
    return year


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _span(first_year: int, first_month: int, last_year: int, last_month: int, scheme: str, label: str) -> Period:
    """From the first month to the last month inclusive, under the scheme."""
    if scheme == CALENDAR:
        start = datetime(first_year, first_month, 1)
        ny, nm = _shift_month(last_year, last_month, 1)
        return Period(start, datetime(ny, nm, 1), label)
    py, pm = _shift_month(first_year, first_month, -1)
    return Period(datetime(py, pm, CUTOFF_DAY), datetime(last_year, last_month, CUTOFF_DAY), label)


def month(year: int, month_: int, scheme: str = DECREE_09) -> Period:
    _check_scheme(scheme)
    _check_year(year)
    if not 1 <= month_ <= 12:
        raise PeriodError(f"month {month_} out of range 1–12")
    return _span(year, month_, year, month_, scheme, f"Tháng {month_:02d}/{year}")


def quarter(year: int, q: int, scheme: str = DECREE_09) -> Period:
    _check_scheme(scheme)
    _check_year(year)
    if not 1 <= q <= 4:
        raise PeriodError(f"quarter {q} out of range 1–4")
    return _span(year, 3 * q - 2, year, 3 * q, scheme, f"Quý {['I', 'II', 'III', 'IV'][q - 1]}/{year}")


def half_year(year: int, half: int, scheme: str = DECREE_09) -> Period:
    _check_scheme(scheme)
    _check_year(year)
    if half not in (1, 2):
        raise PeriodError(f"half-year {half} out of range 1–2")
    label = f"6 tháng đầu năm {year}" if half == 1 else f"6 tháng cuối năm {year}"
    return _span(year, 6 * half - 5, year, 6 * half, scheme, label)


def year(year_: int, scheme: str = DECREE_09) -> Period:
    _check_scheme(scheme)
    _check_year(year_)
    return _span(year_, 1, year_, 12, scheme, f"Năm {year_}")


def custom(first_day: date, last_day: date) -> Period:
    """Any range of whole days, both ends included."""
    if last_day < first_day:
        raise PeriodError(f"the end date {last_day:%d/%m/%Y} is before the start date {first_day:%d/%m/%Y}")
    _check_year(first_day.year)
    _check_year(last_day.year)
    start = datetime.combine(first_day, datetime.min.time())
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time())
    return Period(start, end, f"Từ {first_day:%d/%m/%Y} đến {last_day:%d/%m/%Y}")


def parse_date(text: str, what: str = "date") -> date:
    try:
        return datetime.strptime((text or "").strip(), "%Y-%m-%d").date()
    except ValueError:
        raise PeriodError(f"malformed {what} {text!r}: expected YYYY-MM-DD") from None


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_HALF = re.compile(r"^(\d{4})-H([12])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")


def parse_period(text: str, scheme: str = DECREE_09) -> Period:
    """``2025-03`` (month), ``2025-Q1`` (quarter), ``2025-H1`` (half-year) or ``2025`` (year)."""
    raw = (text or "").strip()
    if m := _MONTH.match(raw):
        return month(int(m.group(1)), int(m.group(2)), scheme)
    if m := _QUARTER.match(raw):
        return quarter(int(m.group(1)), int(m.group(2)), scheme)
    if m := _HALF.match(raw):
        return half_year(int(m.group(1)), int(m.group(2)), scheme)
    if m := _YEAR.match(raw):
        return year(int(m.group(1)), scheme)
    raise PeriodError(f"malformed period {text!r}: expected YYYY-MM, YYYY-Qn, YYYY-Hn or YYYY")


def parse_month(text: str, scheme: str = DECREE_09) -> Period:
    """Only a month, ``YYYY-MM`` (the CLI's ``--period``)."""
    raw = (text or "").strip()
    m = _MONTH.match(raw)
    if not m:
        raise PeriodError(f"malformed period {text!r}: expected YYYY-MM")
    return month(int(m.group(1)), int(m.group(2)), scheme)


def parse_range(first: str, last: str) -> Period:
    return custom(parse_date(first, "start date"), parse_date(last, "end date"))
