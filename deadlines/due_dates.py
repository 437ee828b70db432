"""Deadline rules of domain.md §4: when counting starts, each limit unit, supplements
(``restart`` / ``pause``), the single extension, early / on time / late, overdue and
due soon, and the forwarding deadline (the 15:00 rule).

Pure module: standard library and ``deadlines.workdays`` only (no Flask, SQLAlchemy
or other project imports). Deadlines are always *derived* from a dossier's events
(:func:`derive`), never stored by hand, so they can be recomputed when the calendar
changes; every derivation carries a Vietnamese explanation of each step.

Decisions where the rules leave a choice (documented for the callers):

* A procedure without a time limit (``LimitUnit.NONE``) never becomes late: a
  finished dossier of such a procedure is classified ``"on_time"`` so that
  "finished = early + on time + late" keeps holding in reports (domain.md §2, §7).
* An open supplement request (requested, not yet received) does not move the
  deadline: the deadline is reported as computed without that pause and
  :attr:`DeadlineResult.awaiting_supplement` is true; callers show the status
  ``awaiting_supplement`` (and reports count it as within time, domain.md §8).
* Under ``pause``, waiting time only counts when the request came before the
  deadline then in force: a request made after the deadline has already passed
  cannot make a late dossier on time again. For working-time units the paused
  working time is added; for calendar days and months the whole calendar days
  between the request's date and the completed dossier's date are added
  (domain.md §8).
* Under ``restart`` the whole limit counts again from the effective start of the
  *last* completed supplement (Decree 61/2018, Art. 19(4); domain.md §4.5).
* Events after a terminal event (finished, returned unprocessed, withdrawn,
  cancelled) do not move the deadline.
"""
from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Sequence

from deadlines.workdays import WorkCalendar

__all__ = [
    "LimitUnit",
    "LIMIT_UNIT_LABELS",
    "SupplementRule",
    "Limit",
    "Event",
    "EVENT_TYPES",
    "DeadlineResult",
    "effective_start",
    "compute_deadline",
    "forwarding_deadline",
    "classify",
    "derive",
    "is_overdue",
    "is_due_soon",
    "step_deadlines",
    "working_days_late",
    "supplement_request_deadline",
    "describe_limit",
]

FORWARDING_CUTOFF = time(15, 0)
"""Decree 61/2018, Art. 18: received at or after 15:00 → forwarded next working day."""

SUPPLEMENT_REQUEST_WORKING_DAYS = 3
"""Decree 61/2018, Art. 19(4): the handling unit asks for a supplement within 3 working days."""


class LimitUnit(str, Enum):
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    CALENDAR_DAYS = "calendar_days"
    MONTHS = "months"
    NONE = "none"


class SupplementRule(str, Enum):
    RESTART = "restart"
    PAUSE = "pause"


_WORKING_TIME_UNITS = frozenset({LimitUnit.WORKING_DAYS, LimitUnit.WORKING_HOURS})

LIMIT_UNIT_LABELS = {
    "working_days": "ngày làm việc",
    "working_hours": "giờ làm việc",
    "calendar_days": "ngày",
    "months": "tháng",
    "none": "không quy định thời hạn",
}
"""The limit units in Vietnamese (the one list: models, forms and slips read it)."""
_UNIT_VI = {unit: LIMIT_UNIT_LABELS[unit.value] for unit in LimitUnit if unit is not LimitUnit.NONE}


@dataclass(frozen=True)
class Limit:
    """A procedure's time limit (the committed one when set, domain.md §2).

    ``unit`` and ``supplement_rule`` accept their string values (``"working_days"``).
    For ``LimitUnit.NONE`` the amount is ignored and stored as ``None``.
    """

    amount: int | None
    unit: LimitUnit
    supplement_rule: SupplementRule = SupplementRule.RESTART

    def __post_init__(self) -> None:
        try:
            unit = LimitUnit(self.unit)
        except ValueError:
            known = ", ".join(u.value for u in LimitUnit)
            raise ValueError(f"unknown time-limit unit {self.unit!r}; expected one of {known}") from None
        try:
            rule = SupplementRule(self.supplement_rule)
        except ValueError:
            raise ValueError(
                f"unknown supplement rule {self.supplement_rule!r}; expected 'restart' or 'pause'"
            ) from None
        object.__setattr__(self, "unit", unit)
        object.__setattr__(self, "supplement_rule", rule)
        if unit is LimitUnit.NONE:
            object.__setattr__(self, "amount", None)
            return
        amount = self.amount
        if amount is None:
            raise ValueError(f"a time limit in {unit.value} needs an amount")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ValueError(f"the time-limit amount must be a whole number, got {amount!r}")
        if amount < 0:
            raise ValueError(f"the time-limit amount must not be negative, got {amount}")


EVENT_TYPES = (
    "received",
    "forwarded",
    "step_handed_over",
    "supplement_requested",
    "supplement_received",
    "extended",
    "finished",
    "handed_over",
    "returned_unprocessed",
    "withdrawn",
    "stopped",
    "cancelled",
)
"""The event types of a dossier's processing, in the order of the screens' action buttons: the one
list (``deadlines.lifecycle`` exposes it with the labels and the state machine)."""
_TERMINAL = frozenset({"finished", "returned_unprocessed", "withdrawn", "stopped", "cancelled"})


@dataclass(frozen=True)
class Event:
    """One event of a dossier (voided events are simply not passed in)."""

    type: str
    at: datetime
    new_deadline: datetime | None = None

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown dossier event type {self.type!r}")
        if not isinstance(self.at, datetime):
            raise TypeError(f"event time must be a datetime, got {self.at!r}")
        if self.type == "extended" and not isinstance(self.new_deadline, datetime):
            raise ValueError("an extension needs its new appointment (new_deadline)")


@dataclass(frozen=True)
class DeadlineResult:
    effective_start: datetime
    original_deadline: datetime | None
    deadline: datetime | None
    forwarding_deadline: datetime
    finished_at: datetime | None
    classification: str | None
    paused_minutes: int
    """Working minutes paused (working units) or calendar days (calendar units)."""
    supplement_count: int
    late_supplement_request: bool
    explanation: tuple[str, ...]
    awaiting_supplement: bool = False
    """A supplement was requested and not yet received (the deadline excludes that wait)."""
    counting_start: datetime | None = None
    """Where the limit counts from now: the effective start, or that of the last restart."""
    reception_deadline: datetime | None = None
    """The deadline computed at reception alone (what the first receipt printed)."""


# -- formatting ------------------------------------------------------------------------


def _fmt(dt: datetime) -> str:
    return dt.strftime("%H:%M %d/%m/%Y")


def describe_limit(limit: Limit) -> str:
    """The limit in Vietnamese, e.g. ``"3 ngày làm việc"``."""
    if limit.unit is LimitUnit.NONE:
        return "không quy định thời hạn"
    return f"{limit.amount} {_UNIT_VI[limit.unit]}"


def _fmt_working_minutes(minutes: int) -> str:
    hours, mins = divmod(minutes, 60)
    if hours and mins:
        return f"{hours} giờ {mins} phút làm việc"
    if hours:
        return f"{hours} giờ làm việc"
    return f"{mins} phút làm việc"


_CLASS_VI = {"early": "trước hạn", "on_time": "đúng hạn", "late": "quá hạn"}


# -- single rules ----------------------------------------------------------------------


def effective_start(cal: WorkCalendar, received_at: datetime) -> datetime:
    """Domain.md §4.1: the receipt instant if inside office hours, else the next opening."""
    return cal.next_opening(received_at)


def compute_deadline(cal: WorkCalendar, start: datetime, limit: Limit) -> datetime | None:
    """The deadline of ``limit`` counted from ``start`` (its effective start is applied).

    ``None`` for a procedure without a limit.
    """
    unit = limit.unit
    if unit is LimitUnit.WORKING_DAYS:
        return cal.add_working_days(start, limit.amount)
    if unit is LimitUnit.WORKING_HOURS:
        return cal.add_working_hours(start, limit.amount)
    if unit is LimitUnit.CALENDAR_DAYS:
        return cal.add_calendar_days(start, limit.amount)
    if unit is LimitUnit.MONTHS:
        return cal.add_months(start, limit.amount)
    return None


def forwarding_deadline(
    cal: WorkCalendar, received_at: datetime, *, cutoff: time = FORWARDING_CUTOFF
) -> datetime:
    """Domain.md §4.8 (Decree 61/2018, Art. 18): the close of the effective start's day
    when that start is before ``cutoff`` (15:00); otherwise the opening of the next
    working day plus 1 working hour. "At or after 15:00" means ``>= 15:00:00``."""
    start = cal.next_opening(received_at)
    if start.time() < cutoff:
        return cal.end_of_office(start.date())
    next_opening = cal.opening_of(cal.next_working_day(start.date()))
    return cal.add_working_hours(next_opening, 1)


def supplement_request_deadline(cal: WorkCalendar, forwarded_or_received_at: datetime) -> datetime:
    """Decree 61/2018, Art. 19(4): the latest instant for a supplement request
    (3 working days after forwarding, or after reception when not forwarded)."""
    return cal.add_working_days(forwarded_or_received_at, SUPPLEMENT_REQUEST_WORKING_DAYS)


def classify(finished_at: datetime | None, deadline: datetime | None) -> str | None:
    """Domain.md §4.7: ``"early"``, ``"on_time"``, ``"late"``, or ``None`` if unfinished.

    At or before the deadline instant on an earlier calendar day → early; at or
    before it on its own day → on time; after it → late. Without a limit
    (``deadline is None``) a finished dossier is on time: it can never be late.
    """
    if finished_at is None:
        return None
    if deadline is None:
        return "on_time"
    if finished_at > deadline:
        return "late"
    if finished_at.date() < deadline.date():
        return "early"
    return "on_time"


def is_overdue(now: datetime, deadline: datetime | None, finished_at: datetime | None = None) -> bool:
    """Unfinished and the deadline has passed (``deadline < now``)."""
    return finished_at is None and deadline is not None and deadline < now


def is_due_soon(
    cal: WorkCalendar,
    now: datetime,
    deadline: datetime | None,
    horizon_days: int = 2,
    finished_at: datetime | None = None,
) -> bool:
    """Unfinished, not overdue, and due within ``horizon_days`` working days of ``now``."""
    if finished_at is not None or deadline is None or deadline < now:
        return False
    return deadline <= cal.add_working_days(now, horizon_days)


def step_deadlines(
    cal: WorkCalendar, handovers: Sequence[tuple[datetime, int]], unit: LimitUnit
) -> list[datetime | None]:
    """Each step's quota (in the procedure's unit) counted from its actual hand-over
    (domain.md §2, liên thông). ``None`` entries for a procedure without a limit."""
    unit = LimitUnit(unit)
    return [compute_deadline(cal, at, Limit(amount, unit)) for at, amount in handovers]


def working_days_late(cal: WorkCalendar, deadline: datetime | None, finished_or_now: datetime) -> float:
    """Working time after the deadline, in working days (2 decimals); 0 if not late.

    Time outside office hours does not count: finished at 17:30 on the deadline's
    day is late (``classify``) but 0 working days late.
    """
    if deadline is None or finished_or_now <= deadline:
        return 0.0
    late_us = cal.working_microseconds_between(deadline, finished_or_now)
    return round(late_us / (cal.day_minutes * 60_000_000), 2)


# -- derivation from events ----------------------------------------------------------


def _month_target(d: date, months: int) -> date:
    """The same day number ``months`` later, clamped to the month's end (domain.md §4.4)."""
    year, month0 = divmod(d.month - 1 + months, 12)
    year += d.year
    return date(year, month0 + 1, min(d.day, monthrange(year, month0 + 1)[1]))


def _calendar_deadline(cal: WorkCalendar, start: datetime, limit: Limit, paused_days: int) -> datetime:
    """Calendar-unit deadline moved by ``paused_days`` whole calendar days (domain.md §8).

    The pause moves the nominal N-th day (before the next-working-day rule), so a
    nominal day that fell on a holiday is not counted twice.
    """
    first = cal.next_opening(start).date()
    if limit.unit is LimitUnit.CALENDAR_DAYS:
        target = first + timedelta(days=limit.amount + paused_days)
    else:
        target = _month_target(first, limit.amount) + timedelta(days=paused_days)
    return cal.end_of_office(cal.working_day_on_or_after(target))


def derive(cal: WorkCalendar, limit: Limit, events: Sequence[Event]) -> DeadlineResult:
    """Derive a dossier's deadlines from its (non-voided) events.

    Events are taken in time order (a stable sort, so events at the same instant
    keep the order given). The first must be ``received``.
    """
    if not events:
        raise ValueError("a dossier's events must start with 'received'")
    ordered = sorted(events, key=lambda e: e.at)
    if ordered[0].type != "received":
        raise ValueError(
            f"a dossier's events must start with 'received', got {ordered[0].type!r} first"
        )
    if any(e.type == "received" for e in ordered[1:]):
        raise ValueError("a dossier is received only once")

    received_at = ordered[0].at
    start = effective_start(cal, received_at)
    unit = limit.unit
    working_units = unit in _WORKING_TIME_UNITS
    calendar_units = unit in (LimitUnit.CALENDAR_DAYS, LimitUnit.MONTHS)
    pause_rule = limit.supplement_rule is SupplementRule.PAUSE

    counting_start = start
    deadline = compute_deadline(cal, start, limit)
    reception_deadline = deadline
    # pause state: working units keep a target working position, calendar units
    # a number of paused calendar days.
    target_pos = cal.working_position(start) + _limit_us(cal, limit) if working_units else None
    paused_us = 0
    paused_days = 0

    fwd_deadline = forwarding_deadline(cal, received_at)
    explanation = [
        f"Tiếp nhận {_fmt(received_at)}; bắt đầu tính {_fmt(start)}; "
        + (
            f"thời hạn {describe_limit(limit)} → hạn {_fmt(deadline)}"
            if deadline is not None
            else "thủ tục không quy định thời hạn giải quyết: hồ sơ không bao giờ quá hạn"
        ),
        f"Hạn chuyển xử lý {_fmt(fwd_deadline)} "
        + (
            "(bắt đầu tính trước 15:00: chuyển trong ngày)"
            if start.time() < FORWARDING_CUTOFF
            else "(bắt đầu tính từ 15:00: chuyển đầu ngày làm việc tiếp theo)"
        ),
    ]

    last_forwarded: datetime | None = None
    open_request: datetime | None = None
    supplement_count = 0
    late_request = False
    extension: Event | None = None
    finished_at: datetime | None = None
    terminal: str | None = None

    for event in ordered[1:]:
        kind, at = event.type, event.at
        if terminal is not None and kind != "handed_over":
            explanation.append(
                f"Bỏ qua sự kiện {kind} lúc {_fmt(at)}: hồ sơ đã kết thúc, không làm thay đổi hạn"
            )
            continue
        if kind == "forwarded":
            last_forwarded = at
            note = " (quá hạn chuyển xử lý)" if at > fwd_deadline else ""
            explanation.append(f"Chuyển xử lý {_fmt(at)}{note}")
        elif kind == "step_handed_over":
            explanation.append(f"Chuyển bước xử lý tiếp theo {_fmt(at)}")
        elif kind == "supplement_requested":
            supplement_count += 1
            reference = last_forwarded if last_forwarded is not None else received_at
            limit_at = supplement_request_deadline(cal, reference)
            sentence = f"Yêu cầu bổ sung lần {supplement_count} lúc {_fmt(at)}"
            if at > limit_at:
                late_request = True
                basis = "chuyển xử lý" if last_forwarded is not None else "tiếp nhận"
                sentence += (
                    f"; quá {SUPPLEMENT_REQUEST_WORKING_DAYS} ngày làm việc kể từ khi {basis} "
                    f"(hạn yêu cầu {_fmt(limit_at)}): bị đánh dấu yêu cầu bổ sung muộn"
                )
            if supplement_count >= 2:
                late_request = True
                sentence += "; yêu cầu bổ sung lần thứ hai: bị đánh dấu (chỉ được hướng dẫn một lần)"
            if open_request is None:
                open_request = at
            explanation.append(sentence)
        elif kind == "supplement_received":
            if open_request is None:
                raise ValueError(
                    f"supplement received at {at.isoformat()} without an open supplement request"
                )
            requested_at, open_request = open_request, None
            if deadline is None:
                explanation.append(f"Nhận hồ sơ bổ sung {_fmt(at)}")
            elif not pause_rule:
                counting_start = effective_start(cal, at)
                deadline = compute_deadline(cal, at, limit)
                if working_units:
                    target_pos = cal.working_position(counting_start) + _limit_us(cal, limit)
                paused_us = 0
                paused_days = 0
                explanation.append(
                    f"Nhận hồ sơ bổ sung {_fmt(at)}; tính lại toàn bộ thời hạn "
                    f"{describe_limit(limit)} từ {_fmt(counting_start)} → hạn {_fmt(deadline)}"
                )
            elif requested_at >= deadline:
                explanation.append(
                    f"Nhận hồ sơ bổ sung {_fmt(at)}; yêu cầu bổ sung lúc {_fmt(requested_at)} "
                    f"sau khi đã hết hạn nên thời gian chờ không được trừ, hạn giữ {_fmt(deadline)}"
                )
            elif working_units:
                pause = cal.working_position(at) - cal.working_position(requested_at)
                paused_us += pause
                target_pos += pause
                deadline = cal.instant_at(target_pos, at_close=True)
                explanation.append(
                    f"Nhận hồ sơ bổ sung {_fmt(at)}; không tính "
                    f"{_fmt_working_minutes(pause // 60_000_000)} chờ bổ sung → hạn {_fmt(deadline)}"
                )
            else:
                days = (at.date() - requested_at.date()).days
                paused_days += days
                deadline = _calendar_deadline(cal, counting_start, limit, paused_days)
                explanation.append(
                    f"Nhận hồ sơ bổ sung {_fmt(at)}; không tính {days} ngày chờ bổ sung "
                    f"→ hạn {_fmt(deadline)}"
                )
        elif kind == "extended":
            extension = event
            explanation.append(
                f"Gia hạn (phiếu xin lỗi và hẹn lại) lúc {_fmt(at)} → hẹn mới "
                f"{_fmt(event.new_deadline)}; thống kê vẫn so với hạn ban đầu"
            )
        elif kind == "finished":
            terminal = kind
            finished_at = at
        elif kind == "handed_over":
            explanation.append(f"Trả kết quả cho người nộp {_fmt(at)}")
        elif kind == "returned_unprocessed":
            terminal = kind
            explanation.append(
                f"Trả lại hồ sơ không giải quyết {_fmt(at)}: không tính vào tỷ lệ đúng hạn"
            )
        elif kind == "withdrawn":
            terminal = kind
            explanation.append(f"Người nộp rút hồ sơ {_fmt(at)}: không tính vào tỷ lệ đúng hạn")
        elif kind == "stopped":
            terminal = kind
            explanation.append(f"Dừng giải quyết hồ sơ {_fmt(at)}: không tính vào tỷ lệ đúng hạn")
        elif kind == "cancelled":
            terminal = kind
            explanation.append(f"Hủy hồ sơ (nhập nhầm) {_fmt(at)}: ngoài thống kê")

        if kind == "finished":
            classification = classify(at, deadline)
            against = f" (so với hạn ban đầu {_fmt(deadline)})" if deadline is not None else ""
            sentence = f"Hoàn thành {_fmt(at)}: {_CLASS_VI[classification]}{against}"
            if classification == "late":
                late_days = f"{working_days_late(cal, deadline, at):g}".replace(".", ",")
                sentence += f", trễ {late_days} ngày làm việc"
            explanation.append(sentence)

    if open_request is not None and deadline is not None:
        explanation.append(
            f"Đang chờ bổ sung từ {_fmt(open_request)}: hạn {_fmt(deadline)} chưa tính thời gian chờ"
        )

    original_deadline = deadline
    current_deadline = extension.new_deadline if extension is not None else original_deadline
    if (extension is not None and original_deadline is not None
            and current_deadline is not None and current_deadline < original_deadline):
        # An extension granted while awaiting a supplement can be overtaken by the restart
        # (or pause) that follows: the dossier is then not late before its legal deadline,
        # so the later of the two is watched (domain.md §4.5, §4.6).
        explanation.append(
            f"Hẹn lại {_fmt(current_deadline)} sớm hơn hạn tính lại sau bổ sung "
            f"{_fmt(original_deadline)}: theo dõi theo hạn {_fmt(original_deadline)}"
        )
        current_deadline = original_deadline
    if working_units:
        paused = paused_us // 60_000_000
    elif calendar_units:
        paused = paused_days
    else:
        paused = 0
    return DeadlineResult(
        effective_start=start,
        original_deadline=original_deadline,
        deadline=current_deadline,
        forwarding_deadline=fwd_deadline,
        finished_at=finished_at,
        classification=classify(finished_at, original_deadline),
        paused_minutes=paused,
        supplement_count=supplement_count,
        late_supplement_request=late_request,
        explanation=tuple(explanation),
        awaiting_supplement=open_request is not None and terminal is None,
        counting_start=counting_start,
        reception_deadline=reception_deadline,
    )


def _limit_us(cal: WorkCalendar, limit: Limit) -> int:
    if limit.unit is LimitUnit.WORKING_DAYS:
        return limit.amount * cal.day_minutes * 60_000_000
    return limit.amount * 3_600_000_000
