"""The working-time calendar: working days, office hours and working-time arithmetic.

Pure module: standard library only, no Flask, SQLAlchemy or project imports
(``tests/test_architecture.py`` checks this). The official schedule of days off
and make-up days comes from ``deadlines.offdays``; this module only counts.

Rules (domain.md §3, §4, §8):

* A working day is Monday–Friday not in ``off_days``, or a date in
  ``makeup_days`` (a make-up Saturday, "ngày làm bù", has normal office hours).
* An instant is in office time when ``open <= t < close`` for one of the office
  periods of a working day (default 07:00–11:30 and 13:30–17:00).
* Adding ``N > 0`` of working time gives the *first* instant at which the whole
  amount has elapsed: when it runs out exactly at a close, the result is that
  close (11:30, 17:00), never the next opening. Adding 0 gives the next opening.

How it is fast: every instant maps to its *working position*, the office time
(in microseconds) elapsed between the start of the calendar and the instant.
Working day number ``k`` covers positions ``[k * day, (k + 1) * day)``. The
calendar precomputes, for every date in ``first_year..last_year``, how many
working days precede it, so an instant converts to a position and back with a
few index look-ups and a scan of the (two) office periods: no day-by-day or
minute-by-minute loop anywhere. Datetimes are naive local time
(Asia/Ho_Chi_Minh); seconds and microseconds are kept exactly.
"""
from __future__ import annotations

import calendar as _stdlib_calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from numbers import Real
from typing import Iterable

__all__ = ["OfficeHours", "WorkCalendar"]

_US_PER_SECOND = 1_000_000
_US_PER_MINUTE = 60 * _US_PER_SECOND
_US_PER_HOUR = 60 * _US_PER_MINUTE

_PERIOD_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _time_to_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US_PER_SECOND + t.microsecond


def _us_to_time(us: int) -> time:
    hours, rest = divmod(us, _US_PER_HOUR)
    minutes, rest = divmod(rest, _US_PER_MINUTE)
    seconds, micro = divmod(rest, _US_PER_SECOND)
    return time(hours, minutes, seconds, micro)


@dataclass(frozen=True)
class OfficeHours:
    """The daily office periods, e.g. 07:00–11:30 and 13:30–17:00 (8 working hours).

    Periods are on whole minutes, sorted, and separated by a break (touching or
    overlapping periods are rejected: write them as one period).
    """

    periods: tuple[tuple[time, time], ...] = (
        (time(7, 0), time(11, 30)),
        (time(13, 30), time(17, 0)),
    )

    def __post_init__(self) -> None:
        periods = tuple(tuple(p) for p in self.periods)
        if not periods:
            raise ValueError("office hours need at least one period")
        previous_end: time | None = None
        for period in periods:
            if len(period) != 2 or not all(isinstance(t, time) for t in period):
                raise ValueError(f"an office period is a pair of times, got {period!r}")
            start, end = period
            for t in (start, end):
                if t.tzinfo is not None:
                    raise ValueError("office hours are naive local times")
                if t.second or t.microsecond:
                    raise ValueError(f"office hours are on whole minutes, got {t.isoformat()}")
            if not start < end:
                raise ValueError(
                    f"office period {start:%H:%M}-{end:%H:%M} must end after it starts"
                )
            if previous_end is not None and not previous_end < start:
                raise ValueError(
                    f"office periods must be sorted and separated by a break: "
                    f"{start:%H:%M} does not come after {previous_end:%H:%M}"
                )
            previous_end = end
        object.__setattr__(self, "periods", periods)

    @classmethod
    def parse(cls, text: str) -> "OfficeHours":
        """Parse ``"07:00-11:30,13:30-17:00"`` (periods separated by commas)."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("office hours are empty; expected e.g. '07:00-11:30,13:30-17:00'")
        periods = []
        for chunk in text.split(","):
            match = _PERIOD_RE.match(chunk)
            if not match:
                raise ValueError(
                    f"cannot read office period {chunk.strip()!r}; expected HH:MM-HH:MM, "
                    "e.g. '07:00-11:30,13:30-17:00'"
                )
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            try:
                periods.append((time(h1, m1), time(h2, m2)))
            except ValueError as exc:
                raise ValueError(f"invalid time in office period {chunk.strip()!r}: {exc}") from None
        return cls(tuple(periods))

    @property
    def day_minutes(self) -> int:
        """Working minutes in one working day (480 by default)."""
        return sum(_time_to_us(e) - _time_to_us(s) for s, e in self.periods) // _US_PER_MINUTE

    @property
    def opening(self) -> time:
        return self.periods[0][0]

    @property
    def closing(self) -> time:
        return self.periods[-1][1]

    def __str__(self) -> str:
        return ",".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in self.periods)


_DEFAULT_OFFICE_HOURS = OfficeHours()


def _check_amount(value, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{what} must be a number, got {value!r}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")


class WorkCalendar:
    """An immutable working-time calendar for ``first_year..last_year``.

    Dates outside that range raise ``ValueError``. All operations are O(1) or
    O(log n) look-ups in precomputed tables.
    """

    __slots__ = (
        "_off",
        "_makeup",
        "_hours",
        "_first_year",
        "_last_year",
        "_base",
        "_ndays",
        "_rank",
        "_wd_date",
        "_nwd",
        "_day_us",
        "_periods",
        "_opening",
        "_closing",
        "_times",
    )

    def __init__(
        self,
        off_days: Iterable[date] = (),
        makeup_days: Iterable[date] = (),
        office_hours: OfficeHours = _DEFAULT_OFFICE_HOURS,
        first_year: int = 1990,
        last_year: int = 2100,
    ) -> None:
        if not isinstance(office_hours, OfficeHours):
            raise TypeError("office_hours must be an OfficeHours")
        for name, year in (("first_year", first_year), ("last_year", last_year)):
            if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9998:
                raise ValueError(f"{name} must be a year between 1 and 9998, got {year!r}")
        if first_year > last_year:
            raise ValueError(f"first_year {first_year} is after last_year {last_year}")
        off = frozenset(off_days)
        makeup = frozenset(makeup_days)
        for d in off | makeup:
            if not isinstance(d, date) or isinstance(d, datetime):
                raise TypeError(f"days off and make-up days must be dates, got {d!r}")
        both = off & makeup
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"a date cannot be both a day off and a make-up day: {listed}")

        base = date(first_year, 1, 1).toordinal()
        ndays = date(last_year, 12, 31).toordinal() - base + 1
        off_ord = {d.toordinal() for d in off}
        makeup_ord = {d.toordinal() for d in makeup}
        rank = [0] * (ndays + 1)
        wd_ord = []
        count = 0
        for i in range(ndays):
            o = base + i
            rank[i] = count
            # date(1, 1, 1) (ordinal 1) is a Monday, so (o - 1) % 7 is the weekday.
            if o in makeup_ord or ((o - 1) % 7 < 5 and o not in off_ord):
                wd_ord.append(o)
                count += 1
        rank[ndays] = count

        periods = []
        cumulative = 0
        for start, end in office_hours.periods:
            s, e = _time_to_us(start), _time_to_us(end)
            periods.append((s, e, cumulative, cumulative + e - s))
            cumulative += e - s
        # Every whole-minute time of day inside (or at the end of) a period, so
        # that results on whole minutes (nearly all) need no time() construction.
        times = {}
        for s, e, _c, _ce in periods:
            for us in range(s, e + 1, _US_PER_MINUTE):
                times[us] = _us_to_time(us)

        setattr_ = object.__setattr__
        setattr_(self, "_off", off)
        setattr_(self, "_makeup", makeup)
        setattr_(self, "_hours", office_hours)
        setattr_(self, "_first_year", first_year)
        setattr_(self, "_last_year", last_year)
        setattr_(self, "_base", base)
        setattr_(self, "_ndays", ndays)
        setattr_(self, "_rank", tuple(rank))
        setattr_(self, "_wd_date", tuple(date.fromordinal(o) for o in wd_ord))
        setattr_(self, "_nwd", len(wd_ord))
        setattr_(self, "_day_us", cumulative)
        setattr_(self, "_periods", tuple(periods))
        setattr_(self, "_opening", office_hours.opening)
        setattr_(self, "_closing", office_hours.closing)
        setattr_(self, "_times", times)

    # -- immutability and identity -------------------------------------------------

    def __setattr__(self, name, value):
        raise AttributeError("WorkCalendar is immutable")

    def __delattr__(self, name):
        raise AttributeError("WorkCalendar is immutable")

    def _key(self):
        return (self._first_year, self._last_year, self._hours, self._off, self._makeup)

    def __eq__(self, other):
        if not isinstance(other, WorkCalendar):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return (
            f"WorkCalendar({self._first_year}-{self._last_year}, {len(self._off)} days off, "
            f"{len(self._makeup)} make-up days, office hours {self._hours})"
        )

    # -- read-only properties ------------------------------------------------------

    @property
    def off_days(self) -> frozenset[date]:
        return self._off

    @property
    def makeup_days(self) -> frozenset[date]:
        return self._makeup

    @property
    def office_hours(self) -> OfficeHours:
        return self._hours

    @property
    def day_minutes(self) -> int:
        return self._day_us // _US_PER_MINUTE

    @property
    def first_year(self) -> int:
        return self._first_year

    @property
    def last_year(self) -> int:
        return self._last_year

    # -- internals -------------------------------------------------------------------

    def _range_error(self, value) -> ValueError:
        shown = value.isoformat() if hasattr(value, "isoformat") else repr(value)
        return ValueError(
            f"{shown} is outside the working calendar, which covers "
            f"{self._first_year}-01-01 to {self._last_year}-12-31"
        )

    def _beyond_error(self) -> ValueError:
        return ValueError(
            f"the result falls after the last working day of the calendar "
            f"({self._last_year}-12-31); extend last_year"
        )

    def _day_index(self, d: date) -> int:
        i = d.toordinal() - self._base
        if i < 0 or i >= self._ndays:
            raise self._range_error(d)
        return i

    def working_position(self, dt: datetime) -> int:
        """Office time, in microseconds, from the calendar's start to ``dt``.

        Non-decreasing in ``dt`` and constant outside office hours; the basis of
        all working-time arithmetic (exposed for ``due_dates``).
        """
        if dt.tzinfo is not None:
            raise ValueError("datetimes must be naive local time (Asia/Ho_Chi_Minh)")
        i = dt.toordinal() - self._base
        if i < 0 or i >= self._ndays:
            raise self._range_error(dt)
        rank = self._rank
        r = rank[i]
        day_us = self._day_us
        if rank[i + 1] == r:  # not a working day: everything before it has elapsed
            return r * day_us
        tod = dt.hour * 3_600_000_000 + dt.minute * 60_000_000 + dt.second * 1_000_000 + dt.microsecond
        for s, e, c, _ce in self._periods:
            if tod < e:
                return r * day_us + (c + tod - s if tod > s else c)
        return (r + 1) * day_us

    def instant_at(self, position: int, *, at_close: bool = True) -> datetime:
        """The instant at a working position.

        A position on a boundary between two office periods (or two working
        days) is both a close and an opening: ``at_close=True`` gives the close
        (the deadline reading), ``at_close=False`` the opening.
        """
        if position < 0:
            raise self._range_error(position)
        day_us = self._day_us
        idx, off = divmod(position, day_us)
        if at_close:
            if off == 0:
                if idx == 0:
                    return self.instant_at(0, at_close=False)
                idx -= 1
                off = day_us
            for s, _e, c, ce in self._periods:
                if off <= ce:
                    tod = s + off - c
                    break
        else:
            for s, _e, c, ce in self._periods:
                if off < ce:
                    tod = s + off - c
                    break
        if idx >= self._nwd:
            raise self._beyond_error()
        t = self._times.get(tod)
        if t is None:
            t = _us_to_time(tod)
        return datetime.combine(self._wd_date[idx], t)

    def _add_us(self, start: datetime, amount_us: int) -> datetime:
        """Hot path: the first instant at which ``amount_us`` of office time has elapsed."""
        # working_position() inlined for speed (the bench calls this a million times).
        if start.tzinfo is not None:
            raise ValueError("datetimes must be naive local time (Asia/Ho_Chi_Minh)")
        i = start.toordinal() - self._base
        if i < 0 or i >= self._ndays:
            raise self._range_error(start)
        rank = self._rank
        r = rank[i]
        day_us = self._day_us
        periods = self._periods
        if rank[i + 1] == r:
            pos = r * day_us
        else:
            tod = (
                start.hour * 3_600_000_000
                + start.minute * 60_000_000
                + start.second * 1_000_000
                + start.microsecond
            )
            for s, e, c, _ce in periods:
                if tod < e:
                    pos = r * day_us + (c + tod - s if tod > s else c)
                    break
            else:
                pos = (r + 1) * day_us
        if amount_us <= 0:
            if amount_us == 0:
                return self.instant_at(pos, at_close=False)
            raise ValueError("working time to add must not be negative")
        idx, off = divmod(pos + amount_us, day_us)
        if off == 0:  # runs out exactly at the close of a working day
            idx -= 1
            off = day_us
        for s, _e, c, ce in periods:
            if off <= ce:
                tod = s + off - c
                break
        if idx >= self._nwd:
            raise self._beyond_error()
        t = self._times.get(tod)
        if t is None:
            t = _us_to_time(tod)
        return datetime.combine(self._wd_date[idx], t)

    # -- days ------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        i = self._day_index(d)
        return self._rank[i + 1] != self._rank[i]

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        i = self._day_index(d)
        r = self._rank[i + 1]
        if r >= self._nwd:
            raise self._beyond_error()
        return self._wd_date[r]

    def working_day_on_or_after(self, d: date) -> date:
        i = self._day_index(d)
        r = self._rank[i]
        if r >= self._nwd:
            raise self._beyond_error()
        return self._wd_date[r]

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before ``d``."""
        i = self._day_index(d)
        r = self._rank[i]
        if r == 0:
            raise ValueError(
                f"no working day before {d.isoformat()} in the calendar "
                f"(starts {self._first_year}-01-01)"
            )
        return self._wd_date[r - 1]

    def working_days_in(self, start: date, end: date) -> list[date]:
        """Working days in ``[start, end]`` (inclusive), e.g. for a month grid."""
        if end < start:
            return []
        lo = self._rank[self._day_index(start)]
        hi = self._rank[self._day_index(end) + 1]
        return list(self._wd_date[lo:hi])

    def end_of_office(self, d: date) -> datetime:
        """The close of office hours (17:00 by default) on ``d``."""
        if isinstance(d, datetime):
            d = d.date()
        self._day_index(d)
        return datetime.combine(d, self._closing)

    def opening_of(self, d: date) -> datetime:
        """The first opening of office hours (07:00 by default) on ``d``."""
        if isinstance(d, datetime):
            d = d.date()
        self._day_index(d)
        return datetime.combine(d, self._opening)

    # -- instants --------------------------------------------------------------------

    def is_office_time(self, dt: datetime) -> bool:
        i = self._day_index(dt)
        if self._rank[i + 1] == self._rank[i]:
            return False
        tod = _time_to_us(dt.time())
        for s, e, _c, _ce in self._periods:
            if s <= tod < e:
                return True
        return False

    def next_opening(self, dt: datetime) -> datetime:
        """``dt`` itself when inside office hours, else the next opening instant."""
        if self.is_office_time(dt):
            return dt
        return self.instant_at(self.working_position(dt), at_close=False)

    def add_working_minutes(self, start: datetime, minutes: int) -> datetime:
        if type(minutes) is int:
            us = minutes * _US_PER_MINUTE
        else:
            _check_amount(minutes, "minutes")
            us = round(minutes * _US_PER_MINUTE)
        if us < 0:
            raise ValueError(f"working minutes to add must not be negative, got {minutes}")
        return self._add_us(start, us)

    def add_working_hours(self, start: datetime, hours: int | float) -> datetime:
        if type(hours) is int:
            us = hours * _US_PER_HOUR
        else:
            _check_amount(hours, "hours")
            us = round(hours * _US_PER_HOUR)
        if us < 0:
            raise ValueError(f"working hours to add must not be negative, got {hours}")
        return self._add_us(start, us)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """``days`` × the daily working time (8 h by default), domain.md §4.2."""
        if type(days) is not int:
            _check_amount(days, "days")
            if days != int(days):
                raise ValueError(f"working days must be a whole number, got {days}")
            days = int(days)
        if days < 0:
            raise ValueError(f"working days to add must not be negative, got {days}")
        return self._add_us(start, days * self._day_us)

    def add_working_microseconds(self, start: datetime, microseconds: int) -> datetime:
        """Exact form of :meth:`add_working_minutes` (used for pauses)."""
        if microseconds < 0:
            raise ValueError("working time to add must not be negative")
        return self._add_us(start, int(microseconds))

    def add_calendar_days(self, start: datetime, days: int) -> datetime:
        """Domain.md §4.4: the close of office hours on the ``days``-th calendar day
        after the effective start's date (that date itself is not counted), moved to
        the next working day's close when that day is not a working day."""
        _check_whole(days, "calendar days")
        first = self.next_opening(start).date()
        try:
            target = first + timedelta(days=days)
        except OverflowError:
            raise self._beyond_error() from None
        return self.end_of_office(self.working_day_on_or_after(target))

    def add_months(self, start: datetime, months: int) -> datetime:
        """Domain.md §4.4: the same day number ``months`` later (clamped to the
        month's end), at the close of office hours, or the next working day's close."""
        _check_whole(months, "months")
        first = self.next_opening(start).date()
        year, month0 = divmod(first.month - 1 + months, 12)
        year += first.year
        if year > 9999:
            raise self._beyond_error()
        day = min(first.day, _stdlib_calendar.monthrange(year, month0 + 1)[1])
        target = date(year, month0 + 1, day)
        return self.end_of_office(self.working_day_on_or_after(target))

    def working_minutes_between(self, a: datetime, b: datetime) -> int:
        """Whole office-time minutes in ``[a, b)``; 0 when ``b <= a``."""
        if b <= a:
            return 0
        return (self.working_position(b) - self.working_position(a)) // _US_PER_MINUTE

    def working_microseconds_between(self, a: datetime, b: datetime) -> int:
        """Exact office time in ``[a, b)`` in microseconds; 0 when ``b <= a``."""
        if b <= a:
            return 0
        return self.working_position(b) - self.working_position(a)


def _check_whole(value, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
