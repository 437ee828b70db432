"""The time a finished dossier used, counted exactly as its deadline counts (domain.md §10).

Pure module: the standard library, ``deadlines.workdays`` and ``deadlines.due_dates`` only
(no Flask, SQLAlchemy or other project imports; ``tests/test_architecture.py`` checks this).

The yearly review of processing times (plan task 3) asks, per procedure, how much time its
dossiers actually used, in the procedure's committed unit:

* **Working days / working hours**: the working time from the counting start in force (the
  effective start, or under ``restart`` the effective start after the last completed
  supplement) to the finish, without the paused waits (``pause``), divided by the day's
  working time (or one hour). Counted through the deadline itself: the deadline sits exactly
  ``limit`` of working time after the counting start plus the excluded pauses, so the time used
  is ``limit + position(finish) - position(original deadline)``; whatever the deadline rule
  counts or excludes, the time used does too. Exact value (microseconds) for comparisons, two
  decimals for display.
* **Calendar days / months**: the smallest whole ``n`` whose deadline, counted from the same
  start with the same events, is at or after the finish. A dossier finished on the deadline of
  its limit therefore used that limit, or fewer when a smaller limit has the same deadline (the
  nominal last days fell on a weekend or a holiday and all move to the same working day).

Both definitions make the what-if exact: a dossier would have been late under a proposed limit
``P`` exactly when ``P`` is below its time used (for working units: ``P < value``), which
:func:`late_under` checks by replaying the real events against ``P``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Sequence

from deadlines.due_dates import Event, Limit, LimitUnit, _month_target, derive
from deadlines.workdays import WorkCalendar

__all__ = [
    "TimeUsed",
    "working_time_used",
    "calendar_time_used",
    "time_used",
    "late_under",
    "unit_microseconds",
]

_US_PER_HOUR = 3_600_000_000
WORKING_UNITS = frozenset({LimitUnit.WORKING_DAYS, LimitUnit.WORKING_HOURS})
CALENDAR_UNITS = frozenset({LimitUnit.CALENDAR_DAYS, LimitUnit.MONTHS})


@dataclass(frozen=True)
class TimeUsed:
    """The time used, in ``unit``. ``value`` is exact (a float of whole microseconds over the
    unit for working units, a whole number for calendar units); :attr:`rounded` is what reports show."""

    unit: LimitUnit
    value: float

    @property
    def rounded(self) -> float:
        if self.unit in CALENDAR_UNITS:
            return int(self.value)
        return round(self.value, 2)


def unit_microseconds(cal: WorkCalendar, unit: LimitUnit) -> int:
    """One working day (the configured daily working time) or one working hour, in microseconds."""
    unit = LimitUnit(unit)
    if unit is LimitUnit.WORKING_DAYS:
        return cal.day_minutes * 60_000_000
    if unit is LimitUnit.WORKING_HOURS:
        return _US_PER_HOUR
    raise ValueError(f"{unit.value} is not a working-time unit")


def working_time_used(cal: WorkCalendar, unit: LimitUnit, amount: int, original_deadline: datetime,
                      finished_at: datetime) -> float:
    """Working-unit time used from a dossier's original deadline under ``amount`` and its finish.

    The original deadline (extension left out, domain.md §4.6) is ``amount`` of working time after
    the counting start in force plus every pause the rule excluded, so the difference of working
    positions gives the time used without replaying the events again. Never below 0 (a dossier
    finished outside office hours before its clock started used nothing).
    """
    per_unit = unit_microseconds(cal, unit)
    used_us = amount * per_unit + cal.working_position(finished_at) - cal.working_position(original_deadline)
    return max(used_us, 0) / per_unit


def _calendar_deadline(cal: WorkCalendar, first: date, unit: LimitUnit, n: int) -> datetime:
    target = date.fromordinal(first.toordinal() + n) if unit is LimitUnit.CALENDAR_DAYS \
        else _month_target(first, n)
    return cal.end_of_office(cal.working_day_on_or_after(target))


def calendar_time_used(cal: WorkCalendar, unit: LimitUnit, counting_start: datetime, finished_at: datetime) -> int:
    """Calendar-unit time used when nothing was paused: the smallest whole ``n`` whose deadline
    counted from ``counting_start`` (domain.md §4.4) is at or after ``finished_at``."""
    unit = LimitUnit(unit)
    if unit not in CALENDAR_UNITS:
        raise ValueError(f"{unit.value} is not a calendar unit")
    first = cal.next_opening(counting_start).date()
    end = finished_at.date()
    if unit is LimitUnit.CALENDAR_DAYS:
        n = max((end - first).days, 0)
    else:
        n = max((end.year - first.year) * 12 + end.month - first.month, 0)
    # The guess is within a step or two of the answer (weekends, holidays, month ends): walk to it.
    while _calendar_deadline(cal, first, unit, n) < finished_at:
        n += 1
    while n > 0 and _calendar_deadline(cal, first, unit, n - 1) >= finished_at:
        n -= 1
    return n


def _with_amount(limit: Limit, amount: int) -> Limit:
    return Limit(amount=amount, unit=limit.unit, supplement_rule=limit.supplement_rule)


def _search_calendar(cal: WorkCalendar, limit: Limit, events: Sequence[Event], finished_at: datetime) -> int:
    """Smallest ``n`` whose replay gives an original deadline at or after the finish (the deadline
    is non-decreasing in ``n``: a larger limit also counts at least the same pauses)."""

    def deadline(n: int) -> datetime:
        return derive(cal, _with_amount(limit, n), events).original_deadline

    low, high = 0, max(limit.amount, 1)
    while deadline(high) < finished_at:
        low, high = high + 1, high * 2
    while low < high:
        middle = (low + high) // 2
        if deadline(middle) >= finished_at:
            high = middle
        else:
            low = middle + 1
    return low


def time_used(cal: WorkCalendar, limit: Limit, events: Sequence[Event]) -> TimeUsed | None:
    """The time a dossier used, from its (non-voided) events and the limit it was received under.

    ``None`` when it is not finished, or its procedure has no limit (nothing to count in).
    """
    if limit.unit is LimitUnit.NONE:
        return None
    result = derive(cal, limit, events)
    if result.finished_at is None:
        return None
    if limit.unit in WORKING_UNITS:
        return TimeUsed(limit.unit, working_time_used(cal, limit.unit, limit.amount, result.original_deadline,
                                                      result.finished_at))
    if result.supplement_count == 0:
        # No supplement: the counting start is the effective start and nothing was paused.
        return TimeUsed(limit.unit, calendar_time_used(cal, limit.unit, result.effective_start, result.finished_at))
    return TimeUsed(limit.unit, _search_calendar(cal, limit, events, result.finished_at))


def late_under(cal: WorkCalendar, limit: Limit, events: Sequence[Event], amount: int) -> bool:
    """What-if: would the dossier have been late with ``amount`` instead of its limit?

    A pure replay of its real events against the proposed amount (same unit and supplement rule),
    judged against the original deadline as the statistics are (domain.md §4.6).
    """
    if limit.unit is LimitUnit.NONE:
        return False
    return derive(cal, _with_amount(limit, amount), events).classification == "late"
