"""A plan task's timing, its reporting periods and their status: pure, the standard library only.

The timings of plan 01A/KH-SKHCN (domain.md §11):
- "Tháng 01/2018": that calendar month;
- "Quý 1/2018" (or "Quý I/2018"): that calendar quarter;
- "Hàng năm" / "Hằng năm": each calendar year of the plan's period;
- "Thường xuyên": ongoing, reported every calendar quarter of the plan's period.
Periods of the plan's period never end before the plan was issued (a plan of 09/01/2018
for "giai đoạn 2017-2020" reports from 2018). A period is due ``due_working_days`` working
days after its last day; the working-day arithmetic is passed in (``next_working_day``),
so this module never imports the calendar.

Status of a period on a day: not due yet (before its last day), due (from its last day to
its due date), reported on time (first report on or before the due date), reported late
(after it), missing (past the due date, no report).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable, Optional

MONTH = "month"
QUARTER = "quarter"
YEARLY = "yearly"
ONGOING = "ongoing"
KINDS = (MONTH, QUARTER, YEARLY, ONGOING)
KIND_LABELS = {MONTH: "Một tháng", QUARTER: "Một quý", YEARLY: "Hằng năm", ONGOING: "Thường xuyên (báo cáo hằng quý)"}

NOT_DUE = "not_due"
DUE = "due"
ON_TIME = "on_time"
LATE = "late"
MISSING = "missing"
STATUS_LABELS = {NOT_DUE: "Chưa đến hạn", DUE: "Đến hạn báo cáo", ON_TIME: "Đã báo cáo đúng hạn",
                 LATE: "Báo cáo trễ hạn", MISSING: "Chưa báo cáo (quá hạn)"}

ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


class TimingError(ValueError):
    """A timing that cannot be understood; the message is shown to the user (Vietnamese)."""


@dataclass(frozen=True)
class Timing:
    kind: str
    year: Optional[int] = None  # month and quarter timings
    number: Optional[int] = None  # the month (1-12) or the quarter (1-4)

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass(frozen=True)
class Span:
    label: str
    start_date: date
    end_date: date


def _fold(text: str) -> str:
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return re.sub(r"\s+", " ", text).strip().lower()


_MONTH = re.compile(r"^thang (\d{1,2}) ?(?:/|-|nam) ?(\d{4})$")
_QUARTER = re.compile(r"^quy (\d|i{1,3}|iv) ?(?:/|-|nam) ?(\d{4})$")
_YEARLY = ("hang nam", "hangnam", "moi nam", "hang nam (thuong xuyen)")
_ONGOING = ("thuong xuyen", "thuongxuyen", "lien tuc")


def _year(text: str) -> int:
    y = int(text)
    if not EARLIEST_YEAR <= y <= LATEST_YEAR:
        raise TimingError(f"năm {y} nằm ngoài khoảng {EARLIEST_YEAR}–{LATEST_YEAR}")
    return y


def parse_timing(text: str) -> Timing:
    """"Tháng 01/2018", "Quý 1/2018", "Hàng năm", "Thường xuyên" -> Timing; otherwise TimingError."""
    folded = _fold(text).rstrip(".")
    if m := _MONTH.match(folded):
        month = int(m.group(1))
        if not 1 <= month <= 12:
            raise TimingError(f"tháng {month} không hợp lệ trong thời gian “{text}”")
        return Timing(MONTH, _year(m.group(2)), month)
    if m := _QUARTER.match(folded):
        raw = m.group(1)
        q = ROMAN.get(raw) or (int(raw) if raw.isdigit() else 0)
        if not 1 <= q <= 4:
            raise TimingError(f"quý {raw} không hợp lệ trong thời gian “{text}”")
        return Timing(QUARTER, _year(m.group(2)), q)
    if folded in _YEARLY:
        return Timing(YEARLY)
    if folded in _ONGOING:
        return Timing(ONGOING)
    raise TimingError(f"không hiểu thời gian thực hiện “{text}”: dùng “Tháng MM/YYYY”, “Quý N/YYYY”, "
                      "“Hàng năm” hoặc “Thường xuyên”")


def month_span(year: int, month: int) -> Span:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return Span(f"Tháng {month:02d}/{year}", date(year, month, 1), nxt - timedelta(days=1))


def quarter_span(year: int, q: int) -> Span:
    first = month_span(year, 3 * q - 2)
    last = month_span(year, 3 * q)
    return Span(f"Quý {q}/{year}", first.start_date, last.end_date)


def year_span(year: int) -> Span:
    return Span(f"Năm {year}", date(year, 1, 1), date(year, 12, 31))


def spans(timing: Timing, first_year: int, last_year: int, issued_date: date) -> list[Span]:
    """The reporting periods of a task, in order."""
    if timing.kind == MONTH:
        return [month_span(timing.year, timing.number)]
    if timing.kind == QUARTER:
        return [quarter_span(timing.year, timing.number)]
    years = range(max(first_year, issued_date.year), last_year + 1)
    if timing.kind == YEARLY:
        candidates = [year_span(y) for y in years]
    else:
        candidates = [quarter_span(y, q) for y in years for q in (1, 2, 3, 4)]
    return [s for s in candidates if s.end_date >= issued_date]


def due_date(end_date: date, due_working_days: int, next_working_day: Callable[[date], date]) -> date:
    """The ``due_working_days``-th working day after the period's last day (0: the last day itself)."""
    if due_working_days < 0:
        raise ValueError("due_working_days must be >= 0")
    d = end_date
    for _ in range(due_working_days):
        d = next_working_day(d)
    return d


def period_status(today: date, end_date: date, due: date, first_report: Optional[date]) -> str:
    """not_due / due / on_time / late / missing (see the module docstring)."""
    if first_report is not None:
        return ON_TIME if first_report <= due else LATE
    if today < end_date:
        return NOT_DUE
    if today <= due:
        return DUE
    return MISSING


_PERIOD = re.compile(r"^(\d{4})-q([1-4])$")
_YEAR_ONLY = re.compile(r"^(\d{4})$")


def parse_report_period(text: str) -> Span:
    """``YYYY-Qn`` (a calendar quarter) or ``YYYY`` (a calendar year): the range of a plan report."""
    raw = (text or "").strip().lower()
    if m := _PERIOD.match(raw):
        return quarter_span(_year(m.group(1)), int(m.group(2)))
    if m := _YEAR_ONLY.match(raw):
        return year_span(_year(m.group(1)))
    raise TimingError(f"kỳ báo cáo “{text}” không hợp lệ: dùng YYYY-Qn (ví dụ 2018-Q1) hoặc YYYY")


_PLAN_YEARS = re.compile(r"(?:giai doan|nam)\s*(\d{4})\s*(?:-|–|den)\s*(\d{4})")


def plan_years(title: str, issued_date: date) -> tuple[int, int]:
    """The plan's years from its title ("giai đoạn 2017-2020"); else the year it was issued."""
    if m := _PLAN_YEARS.search(_fold(title).replace("–", "-")):
        first, last = int(m.group(1)), int(m.group(2))
        if EARLIEST_YEAR <= first <= last <= LATEST_YEAR:
            return first, last
    return issued_date.year, issued_date.year
