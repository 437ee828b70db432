"""One life per dossier: the vocabulary, the state machine, the replay and the watch rules.

A dossier's status, the unit holding it, its hand-over rows (the control slip, form 05), its
deadlines, the appointment the applicant holds, its classification and the flags its events
decide are all *derived* from its events, here and only here (architecture.md, domain.md §4,
§8, §9). ``deadlines.store.write_life`` is the one writer that stores what :func:`replay` says;
everything else reads.

Pure module: the standard library, ``deadlines.workdays`` and ``deadlines.due_dates`` only (no
Flask, SQLAlchemy or other project imports), so that ``tthc`` (models, public pages, reports)
may import it at module level as the domain's vocabulary.

Contents:

* the vocabulary: event types, statuses, their labels, the groups of statuses (open, running,
  finished, closed otherwise), classifications, channels, roles;
* the transition table (event -> from which states, which roles, whether a note is required),
  the single source of the services' checks and of the screens' action buttons;
* :func:`replay` (rule snapshot, events, calendar) -> :class:`Life`, everything the events imply;
* the watch rules (overdue, due soon, not forwarded, apology missing, finished late), stated once
  as small condition trees over a dossier's derived columns and the thresholds of an instant:
  :func:`holds` evaluates them in Python (badges, the property tests), ``deadlines.scan.sql_condition``
  turns the same tree into SQL (the scan, the list filters, the dashboard).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

from deadlines.due_dates import (
    EVENT_TYPES as ENGINE_EVENT_TYPES,
    LIMIT_UNIT_LABELS,
    Event,
    Limit,
    LimitUnit,
    SupplementRule,
    classify,
    derive,
    step_deadlines,
)
from deadlines.workdays import WorkCalendar

__all__ = [
    "EVENT_TYPES", "META_EVENT_TYPES", "EVENT_LABELS", "PUBLIC_EVENT_LABELS", "STATUSES", "STATUS_LABELS",
    "OPEN_STATUSES", "RUNNING_STATUSES", "FINISHED_STATUSES", "CLOSED_OTHER_STATUSES", "CLASSIFICATION_LABELS",
    "LIMIT_UNITS", "LIMIT_UNIT_LABELS", "CHANNELS", "CHANNEL_LABELS", "ROLES", "ROLE_LABELS", "Transition",
    "TRANSITIONS", "LifeEvent", "HandoverRow", "Life", "LifecycleError", "replay", "limit_from_rule",
    "Thresholds", "thresholds", "WATCH_RULES", "WATCH_KINDS", "holds", "watch_flags", "REISSUE_MARK",
]

# -- vocabulary ------------------------------------------------------------------------------------

#: The events of the state machine, in the order of the screens' action buttons. The deadline engine
#: (``deadlines.due_dates``) owns the list, since it must know every type it counts; this module is
#: where everybody else reads it.
EVENT_TYPES: tuple[str, ...] = tuple(ENGINE_EVENT_TYPES)
#: Events that record something about the record itself, not the dossier's processing.
META_EVENT_TYPES = ("voided", "corrected")

EVENT_LABELS = {
    "received": "Tiếp nhận hồ sơ",
    "forwarded": "Chuyển xử lý",
    "step_handed_over": "Chuyển bước xử lý tiếp theo",
    "supplement_requested": "Yêu cầu bổ sung, hoàn thiện hồ sơ",
    "supplement_received": "Nhận hồ sơ bổ sung",
    "extended": "Gia hạn, xin lỗi và hẹn lại",
    "finished": "Có kết quả giải quyết",
    "handed_over": "Trả kết quả cho người nộp",
    "returned_unprocessed": "Trả lại hồ sơ (không giải quyết)",
    "withdrawn": "Người nộp rút hồ sơ",
    "stopped": "Dừng giải quyết hồ sơ",
    "cancelled": "Hủy hồ sơ (nhập nhầm)",
    "voided": "Hủy bỏ một sự kiện",
    "corrected": "Sửa thông tin hồ sơ",
}

#: The steps of the history a citizen sees (public look-up), in the citizen's words. Internal
#: events (voided, corrected) and voided events are never shown.
PUBLIC_EVENT_LABELS = {
    "received": "Tiếp nhận hồ sơ",
    "forwarded": "Chuyển đơn vị chuyên môn xử lý",
    "step_handed_over": "Chuyển bước xử lý tiếp theo",
    "supplement_requested": "Yêu cầu bổ sung, hoàn thiện hồ sơ",
    "supplement_received": "Nhận hồ sơ bổ sung",
    "extended": "Gia hạn, hẹn lại ngày trả kết quả",
    "finished": "Đã có kết quả, chờ trả",
    "handed_over": "Đã trả kết quả",
    "returned_unprocessed": "Trả lại hồ sơ",
    "withdrawn": "Rút hồ sơ",
    "stopped": "Dừng giải quyết hồ sơ",
    "cancelled": "Hủy hồ sơ (nhập nhầm)",
}

STATUSES = ("received", "in_progress", "awaiting_supplement", "finished", "handed_over", "returned_unprocessed",
            "withdrawn", "stopped", "cancelled")
STATUS_LABELS = {
    "received": "Đã tiếp nhận",
    "in_progress": "Đang xử lý",
    "awaiting_supplement": "Chờ bổ sung",
    "finished": "Đã có kết quả",
    "handed_over": "Đã trả kết quả",
    "returned_unprocessed": "Trả lại hồ sơ",
    "withdrawn": "Đã rút hồ sơ",
    "stopped": "Dừng giải quyết",
    "cancelled": "Đã hủy (nhập nhầm)",
}
OPEN_STATUSES = ("received", "in_progress", "awaiting_supplement")
#: Open dossiers whose clock runs. While the applicant supplements papers the deadline is recomputed
#: on arrival, so such a dossier is never overdue or due soon (domain.md §8).
RUNNING_STATUSES = ("received", "in_progress")
FINISHED_STATUSES = ("finished", "handed_over")
#: Closed without a result: counted together in reports, outside the on-time rate (domain.md §7, §8).
CLOSED_OTHER_STATUSES = ("returned_unprocessed", "withdrawn", "stopped")

CLASSIFICATIONS = ("early", "on_time", "late")
CLASSIFICATION_LABELS = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}

LIMIT_UNITS = tuple(u.value for u in LimitUnit)
SUPPLEMENT_RULES = tuple(r.value for r in SupplementRule)

CHANNELS = ("direct", "online", "postal")
CHANNEL_LABELS = {"direct": "Trực tiếp", "online": "Trực tuyến", "postal": "Bưu chính công ích"}

ROLES = ("reception", "handler", "supervisor", "admin")
ROLE_LABELS = {
    "reception": "Tiếp nhận (Một cửa)",
    "handler": "Chuyên viên xử lý",
    "supervisor": "Lãnh đạo / giám sát",
    "admin": "Quản trị hệ thống",
}

#: The mark of form 01 re-issued with the new appointment after a supplement (domain.md §9).
REISSUE_MARK = "Cấp lại sau khi bổ sung hồ sơ"

# -- the state machine (domain.md §8) --------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """Who may record an event, from which states, and what it needs."""

    event: str
    from_states: tuple[str, ...]
    roles: tuple[str, ...]
    status_after: str | None  # None: the status does not change
    state_reason: str  # why it is refused from another state (Vietnamese)
    note_required: str | None = None  # the message when the note is missing (Vietnamese)
    unit_head_only: bool = False  # a handler must be the head of the unit holding the dossier

    def __iter__(self):
        """``states, roles = TRANSITIONS[event]``: the shape of the table before issue 10 (kept for callers)."""
        return iter((self.from_states, self.roles))


_ANY_BUT_HANDED_OVER = ("received", "in_progress", "awaiting_supplement", "finished", "returned_unprocessed",
                        "withdrawn", "stopped")

TRANSITIONS: dict[str, Transition] = {t.event: t for t in (
    Transition("forwarded", ("received",), ("reception",), "in_progress",
               "Chỉ chuyển xử lý được hồ sơ vừa tiếp nhận (chưa chuyển)."),
    Transition("step_handed_over", ("in_progress",), ("handler", "supervisor"), None,
               "Chỉ chuyển bước xử lý được hồ sơ đang xử lý."),
    Transition("supplement_requested", ("in_progress",), ("handler",), "awaiting_supplement",
               "Chỉ yêu cầu bổ sung được hồ sơ đang xử lý (đã chuyển đến đơn vị xử lý).",
               note_required="Ghi rõ lý do yêu cầu bổ sung, hoàn thiện hồ sơ."),
    Transition("supplement_received", ("awaiting_supplement",), ("reception",), "in_progress",
               "Hồ sơ không ở trạng thái chờ bổ sung."),
    Transition("extended", ("in_progress", "awaiting_supplement"), ("handler", "supervisor"), None,
               "Chỉ gia hạn được hồ sơ đang xử lý hoặc đang chờ bổ sung.", unit_head_only=True),
    Transition("finished", ("in_progress",), ("handler",), "finished",
               "Chỉ ghi nhận kết quả được cho hồ sơ đang xử lý."),
    Transition("handed_over", ("finished",), ("reception",), "handed_over",
               "Chỉ trả kết quả được cho hồ sơ đã có kết quả."),
    Transition("returned_unprocessed", OPEN_STATUSES, ("reception", "supervisor"), "returned_unprocessed",
               "Chỉ trả lại được hồ sơ chưa có kết quả.", note_required="Ghi rõ lý do trả lại hồ sơ."),
    Transition("withdrawn", OPEN_STATUSES, ("reception",), "withdrawn",
               "Chỉ rút được hồ sơ chưa có kết quả.", note_required="Ghi rõ lý do rút hồ sơ."),
    # Circular 03/2025, form 05 "Thông báo dừng giải quyết hồ sơ": the reason and its legal ground.
    Transition("stopped", ("in_progress", "awaiting_supplement"), ("handler", "supervisor"), "stopped",
               "Chỉ dừng giải quyết được hồ sơ đang xử lý hoặc đang chờ bổ sung.",
               note_required="Ghi rõ lý do và căn cứ pháp lý dừng giải quyết hồ sơ.", unit_head_only=True),
    Transition("cancelled", _ANY_BUT_HANDED_OVER, ("supervisor",), "cancelled",
               "Không hủy được hồ sơ đã trả kết quả hoặc đã hủy.", note_required="Ghi rõ lý do hủy hồ sơ."),
)}
assert set(TRANSITIONS) | {"received"} == set(EVENT_TYPES), "every event type has its transition"

_TRANSFERS = ("forwarded", "step_handed_over")


class LifecycleError(ValueError):
    """The events do not follow the state machine (the message is Vietnamese, for the user)."""


# -- the replay ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LifeEvent:
    """One stored event as the replay reads it.

    ``unit_id`` is the unit it sends the dossier to (forwarded, step hand-over); ``actor_unit_id``
    the unit of the officer who recorded it (the giver of a forwarding). Voided events and the
    meta events (voided, corrected) are skipped by the replay.
    """

    type: str
    at: datetime
    id: int | None = None
    seq: int = 0
    unit_id: int | None = None
    user_id: int | None = None
    actor_unit_id: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    voided: bool = False
    ref: Any = field(default=None, compare=False, repr=False)  # the stored event, for the writer


@dataclass(frozen=True)
class HandoverRow:
    """A row of the control slip: one hand-over between units, its quota and its result."""

    event_id: int | None
    position: int
    handed_at: datetime
    from_unit_id: int | None
    to_unit_id: int | None
    giver_id: int | None
    receiver_name: str
    quota_deadline_at: datetime | None
    completed_at: datetime | None
    result: str | None
    event_ref: Any = field(default=None, compare=False, repr=False)  # the stored event it comes from


@dataclass(frozen=True)
class Life:
    """Everything a dossier's standing events imply (the derived columns and the hand-over rows)."""

    status: str
    current_unit_id: int | None
    first_unit_id: int | None  # the unit it was first forwarded to
    forwarded_at: datetime | None
    finished_at: datetime | None
    handed_over_at: datetime | None
    closed_at: datetime | None  # returned, withdrawn, stopped, cancelled
    result: str | None  # approved | refused
    extended: bool
    supplement_count: int
    effective_start_at: datetime
    counting_start_at: datetime
    forwarding_deadline_at: datetime
    original_deadline_at: datetime | None
    deadline_at: datetime | None
    appointment_at: datetime | None
    appointment_event_id: int | None  # the event that gave the appointment the applicant holds
    receipt_appointment_at: datetime | None  # what the latest receipt (form 01, maybe re-issued) says
    receipt_event_id: int | None  # the event of that receipt: received, or a supplement that re-issued it
    classification: str | None
    awaiting_supplement: bool
    late_supplement_request: bool
    second_supplement_request: bool
    late_apology: bool
    finished_late: bool
    handovers: tuple[HandoverRow, ...]
    explanation: tuple[str, ...]


def limit_from_rule(rule: Mapping[str, Any] | None) -> Limit:
    """The dossier's limit from the rule snapshot taken at reception."""
    rule = rule or {}
    unit = rule.get("limit_unit") or "none"
    amount = rule.get("limit_amount")
    return Limit(amount=None if unit == "none" else amount, unit=LimitUnit(unit),
                 supplement_rule=SupplementRule(rule.get("supplement_rule") or "restart"))


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def standing(events: Iterable[LifeEvent]) -> list[LifeEvent]:
    """The processing events that stand (not voided, not meta), in time order (ties by sequence)."""
    return sorted((e for e in events if not e.voided and (e.type in TRANSITIONS or e.type == "received")),
                  key=lambda e: (e.at, e.seq))


def _check_machine(events: Sequence[LifeEvent]) -> None:
    status: str | None = None
    extended = False
    for e in events:
        if e.type == "received":
            if status is not None:
                raise LifecycleError("Hồ sơ chỉ được tiếp nhận một lần.")
            status = "received"
            continue
        if status is None:
            raise LifecycleError("Sự kiện đầu tiên phải là tiếp nhận.")
        t = TRANSITIONS[e.type]
        if status not in t.from_states:
            raise LifecycleError(
                f"Sau khi bỏ thao tác, sự kiện “{EVENT_LABELS[e.type]}” lúc {e.at:%H:%M %d/%m/%Y} không còn hợp lệ "
                "(các thao tác sau phụ thuộc vào thao tác này)."
            )
        if e.type == "extended":
            if extended:
                raise LifecycleError("Hồ sơ chỉ được gia hạn một lần.")
            extended = True
        status = t.status_after or status
    if status is None:
        raise LifecycleError("Hồ sơ không có sự kiện tiếp nhận.")


def replay(rule: Mapping[str, Any] | None, events: Iterable[LifeEvent], calendar: WorkCalendar) -> Life:
    """Everything a dossier's events imply, from its rule snapshot and the calendar in force.

    Raises :class:`LifecycleError` when the standing events do not follow the state machine, and
    ``ValueError`` when a deadline falls outside the calendar's years.
    """
    live = standing(events)
    _check_machine(live)
    limit = limit_from_rule(rule)
    engine = derive(calendar, limit, [
        Event(e.type, e.at, _when(e.data.get("new_deadline")) if e.type == "extended" else None) for e in live
    ])

    status = "received"
    current_unit = first_unit = None
    forwarded_at = handed_over_at = closed_at = result = None
    extended = late_apology = False
    appointment: datetime | None = None
    appointment_event: int | None = None
    receipt: datetime | None = None
    receipt_event: int | None = None
    counting_start = engine.effective_start
    for e in live:
        data = e.data or {}
        t = TRANSITIONS.get(e.type)
        if t is not None and t.status_after:
            status = t.status_after
        if e.type == "received":
            if "appointment" in data:
                appointment = _when(data.get("appointment"))
            else:  # a dossier stored before appointments were kept in the event: the reception deadline
                appointment = engine.reception_deadline
            appointment_event = e.id
            receipt, receipt_event = appointment, e.id
        elif e.type == "forwarded":
            forwarded_at = forwarded_at or e.at
            current_unit = e.unit_id
            first_unit = first_unit if first_unit is not None else e.unit_id
        elif e.type == "step_handed_over":
            current_unit = e.unit_id
        elif e.type == "supplement_received":
            if "appointment" in data:  # the re-issued receipt (domain.md §9)
                appointment, appointment_event = _when(data.get("appointment")), e.id
                receipt, receipt_event = appointment, e.id
        elif e.type == "extended":
            extended = True
            late_apology = late_apology or bool(data.get("late_apology"))
            appointment, appointment_event = _when(data.get("new_deadline")), e.id
        elif e.type == "finished":
            result = data.get("result")
        elif e.type == "handed_over":
            handed_over_at = e.at
        elif e.type in ("returned_unprocessed", "withdrawn", "stopped", "cancelled"):
            closed_at = e.at
    if engine.counting_start is not None:
        counting_start = engine.counting_start

    handovers = _handovers(rule or {}, live, calendar, limit, engine.original_deadline, engine.finished_at)
    # The watch rule "finished late" (no instant: the clock cannot change it, so the writer stores it).
    finished_late = _holds(WATCH_RULES["finished_late"], _Columns(status=status, finished_at=engine.finished_at,
                                                                  original_deadline_at=engine.original_deadline), None)
    return Life(
        status=status,
        current_unit_id=current_unit,
        first_unit_id=first_unit,
        forwarded_at=forwarded_at,
        finished_at=engine.finished_at,
        handed_over_at=handed_over_at,
        closed_at=closed_at,
        result=result,
        extended=extended,
        supplement_count=engine.supplement_count,
        effective_start_at=engine.effective_start,
        counting_start_at=counting_start,
        forwarding_deadline_at=engine.forwarding_deadline,
        original_deadline_at=engine.original_deadline,
        deadline_at=engine.deadline,
        appointment_at=appointment,
        appointment_event_id=appointment_event,
        receipt_appointment_at=receipt,
        receipt_event_id=receipt_event,
        classification=engine.classification,
        awaiting_supplement=engine.awaiting_supplement,
        late_supplement_request=engine.late_supplement_request,
        second_supplement_request=engine.supplement_count >= 2,
        late_apology=late_apology,
        finished_late=finished_late,
        handovers=handovers,
        explanation=engine.explanation,
    )


def _handovers(rule: Mapping[str, Any], live: Sequence[LifeEvent], cal: WorkCalendar, limit: Limit,
               original_deadline: datetime | None, finished_at: datetime | None) -> tuple[HandoverRow, ...]:
    """The control slip's rows: one per standing hand-over. Each row's quota runs from its actual
    hand-over (domain.md §2): the step's share when the procedure has steps, else the dossier's
    deadline. A row is completed by the next hand-over or by the result (finished)."""
    transfers = [e for e in live if e.type in _TRANSFERS]
    steps = rule.get("steps") or []
    rows = []
    previous_unit = None
    for position, e in enumerate(transfers, start=1):
        quota = None
        if steps:
            if position <= len(steps) and limit.unit is not LimitUnit.NONE:
                try:
                    quota = step_deadlines(cal, [(e.at, int(steps[position - 1]["share_amount"]))], limit.unit)[0]
                except (TypeError, KeyError):
                    quota = None
        else:
            quota = original_deadline
        nxt = transfers[position] if position < len(transfers) else None
        completed = nxt.at if nxt is not None else finished_at
        rows.append(HandoverRow(
            event_id=e.id, position=position, handed_at=e.at,
            from_unit_id=e.actor_unit_id if e.type == "forwarded" else previous_unit,
            to_unit_id=e.unit_id, giver_id=e.user_id, receiver_name=str((e.data or {}).get("receiver_name") or ""),
            quota_deadline_at=quota, completed_at=completed,
            result=classify(completed, quota) if completed is not None and quota is not None else None,
            event_ref=e.ref if e.ref is not None else e,
        ))
        previous_unit = e.unit_id
    return tuple(rows)


# -- the watch rules (domain.md §4.6–§4.8) ---------------------------------------------------------
#
# A rule is a small tree: All(...) of conditions over a dossier's derived columns ("deadline_at")
# and the thresholds of an instant ("now", "due_soon_until", "apology_until"). holds() evaluates
# it on any object with those attributes; deadlines.scan.sql_condition() turns it into SQL.
# A comparison with a missing value (None) is false, as SQL's NULL makes it.


@dataclass(frozen=True)
class Col:
    name: str


@dataclass(frozen=True)
class At:
    """A threshold of the instant (see :class:`Thresholds`)."""

    name: str


@dataclass(frozen=True)
class In:
    col: Col
    values: tuple


@dataclass(frozen=True)
class Cmp:
    op: str  # "<", "<=", ">", ">="
    left: Col | At
    right: Col | At


@dataclass(frozen=True)
class IsFalse:
    col: Col


@dataclass(frozen=True)
class All:
    parts: tuple


@dataclass(frozen=True)
class Thresholds:
    """The instants a pass compares deadlines with, computed once with the calendar."""

    now: datetime
    due_soon_until: datetime | None
    apology_until: datetime | None
    horizon_working_days: int = 2


def thresholds(cal: WorkCalendar, now: datetime, horizon_days: int = 2) -> Thresholds:
    """Due soon: within ``horizon_days`` working days; apology missing: due within 1 working day
    (the apology is due at the latest 1 working day before the deadline, domain.md §4.6)."""
    def ahead(days: int) -> datetime | None:
        try:
            return cal.add_working_days(now, days)
        except ValueError:  # beyond the calendar's years
            return None
    return Thresholds(now=now, due_soon_until=ahead(horizon_days), apology_until=ahead(1),
                      horizon_working_days=horizon_days)


_STATUS, _DEADLINE = Col("status"), Col("deadline_at")
_RUNNING = In(_STATUS, RUNNING_STATUSES)

WATCH_RULES: dict[str, All] = {
    # Watched against the current deadline: the extension's new appointment if any (domain.md §4.6).
    "overdue": All((_RUNNING, Cmp("<", _DEADLINE, At("now")))),
    "due_soon": All((_RUNNING, Cmp(">=", _DEADLINE, At("now")), Cmp("<=", _DEADLINE, At("due_soon_until")))),
    # Decree 61/2018, Art. 18 (domain.md §4.8): the desk forwards by the forwarding deadline.
    "not_forwarded": All((In(_STATUS, ("received",)), Cmp("<", Col("forwarding_deadline_at"), At("now")))),
    # Domain.md §4.6: the apology is due at the latest 1 working day before the deadline.
    "apology_missing": All((_RUNNING, IsFalse(Col("extended")), Cmp("<=", _DEADLINE, At("apology_until")))),
    # Judged against the original deadline, whatever the extension (domain.md §4.6).
    "finished_late": All((In(_STATUS, FINISHED_STATUSES),
                          Cmp(">", Col("finished_at"), Col("original_deadline_at")))),
}
WATCH_KINDS = tuple(WATCH_RULES)


@dataclass(frozen=True)
class _Columns:
    """The columns the rule "finished late" reads, for the replay to apply it before the Life exists."""

    status: str
    finished_at: datetime | None
    original_deadline_at: datetime | None


def _value(operand, state, th: Thresholds):
    return getattr(th, operand.name) if isinstance(operand, At) else getattr(state, operand.name)


def _holds(cond, state, th: Thresholds) -> bool:
    if isinstance(cond, All):
        return all(_holds(c, state, th) for c in cond.parts)
    if isinstance(cond, In):
        return getattr(state, cond.col.name) in cond.values
    if isinstance(cond, IsFalse):
        return not getattr(state, cond.col.name)
    if isinstance(cond, Cmp):
        left, right = _value(cond.left, state, th), _value(cond.right, state, th)
        if left is None or right is None:
            return False
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[cond.op]
    raise TypeError(f"not a watch condition: {cond!r}")


def holds(kind: str, state, th: Thresholds) -> bool:
    """Whether watch rule ``kind`` holds for ``state`` (anything with the derived columns as attributes:
    a Dossier, a :class:`Life`) at the thresholds ``th``."""
    return _holds(WATCH_RULES[kind], state, th)


def watch_flags(state, th: Thresholds) -> list[str]:
    """The dossier page's live badges, in display order: the watch rules that hold now, and the flags
    its events decided (late supplement request)."""
    flags = [k for k in ("overdue", "due_soon", "not_forwarded") if holds(k, state, th)]
    if getattr(state, "late_supplement_request", None) or getattr(state, "flag_late_supplement_request", None):
        flags.append("late_supplement_request")
    if holds("apology_missing", state, th):
        flags.append("apology_missing")
    return flags
