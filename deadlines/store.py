"""The bridge between the pure deadline rules and the database.

Loads the working calendar (shipped schedules + administrators' overrides),
derives a dossier's deadlines from its events and stores them on the dossier,
and recomputes open dossiers after a calendar edit. Never imports ``intake``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import func, select

from deadlines.due_dates import EVENT_TYPES, DeadlineResult, Event, Limit, LimitUnit, SupplementRule, derive
from deadlines.offdays import Override, build_calendar
from deadlines.workdays import OfficeHours, WorkCalendar
from tthc.models import OPEN_STATUSES, CalendarOverride, Dossier


def office_hours() -> OfficeHours:
    text = current_app.config["OFFICE_HOURS"] if has_app_context() else "07:00-11:30,13:30-17:00"
    return OfficeHours.parse(text)


def load_overrides(session) -> tuple[Override, ...]:
    rows = session.scalars(select(CalendarOverride).order_by(CalendarOverride.day)).all()
    return tuple(Override(date=r.day, working=r.working, name=r.name or "") for r in rows)


def calendar_for(session) -> WorkCalendar:
    """The working calendar in force. build_calendar caches on the overrides, so this is one small query."""
    return build_calendar(load_overrides(session), office_hours())


def limit_from_rule(rule: dict) -> Limit:
    """The dossier's limit from the rule snapshot taken at reception."""
    unit = rule.get("limit_unit") or "none"
    amount = rule.get("limit_amount")
    return Limit(amount=None if unit == "none" else amount, unit=LimitUnit(unit),
                 supplement_rule=SupplementRule(rule.get("supplement_rule") or "restart"))


def events_for(dossier: Dossier) -> list[Event]:
    events = []
    for e in sorted(dossier.events, key=lambda e: (e.at, e.seq)):
        # Only the engine's event types feed the rules: voiding events, corrections and voided events are left out.
        if e.voided or e.voids_event_id is not None or e.type not in EVENT_TYPES:
            continue
        new_deadline = None
        if e.type == "extended" and e.data and e.data.get("new_deadline"):
            new_deadline = datetime.fromisoformat(e.data["new_deadline"])
        events.append(Event(type=e.type, at=e.at, new_deadline=new_deadline))
    return events


def refresh_dossier(session, dossier: Dossier, cal: WorkCalendar | None = None) -> DeadlineResult:
    """Derive the deadlines from the dossier's events and store them on the dossier (no commit)."""
    cal = cal or calendar_for(session)
    result = derive(cal, limit_from_rule(dossier.rule), events_for(dossier))
    dossier.effective_start_at = result.effective_start
    dossier.forwarding_deadline_at = result.forwarding_deadline
    dossier.original_deadline_at = result.original_deadline
    dossier.deadline_at = result.deadline
    dossier.finished_at = result.finished_at
    dossier.classification = result.classification
    dossier.supplement_count = result.supplement_count
    dossier.flag_late_supplement_request = result.late_supplement_request
    dossier.flag_finished_late = result.classification == "late"
    return result


def deadline_state_at(session, dossier: Dossier, instant: datetime,
                      cal: WorkCalendar | None = None) -> tuple[bool, datetime | None]:
    """(awaiting a supplement, original deadline) as they stood at ``instant``, derived from the
    dossier's events before it: reports measure a past period's end (domain.md §8), which later
    supplement requests and receipts (a restart recomputes the deadline) must not change.
    Reads ``dossier.events``; stores nothing.
    """
    events = [e for e in events_for(dossier) if e.at < instant]
    if not events or events[0].type != "received":
        return False, None
    result = derive(cal or calendar_for(session), limit_from_rule(dossier.rule), events)
    return result.awaiting_supplement, result.original_deadline


@dataclass(frozen=True)
class MovedDeadline:
    code: str
    applicant_name: str
    appointment_at: datetime | None
    old_deadline: datetime | None
    new_deadline: datetime | None


def recompute_open_dossiers(session, batch_size: int = 500) -> list[MovedDeadline]:
    """After a calendar edit: recompute every open dossier; list those whose deadline moved.

    ``appointment_at`` (what the printed receipt said) is never changed: the desk
    uses the returned list to tell the applicants (domain.md §8).
    """
    cal = calendar_for(session)
    moved: list[MovedDeadline] = []
    last_id = 0
    while True:
        batch = session.scalars(
            select(Dossier).where(Dossier.status.in_(OPEN_STATUSES), Dossier.id > last_id)
            .order_by(Dossier.id).limit(batch_size)
        ).all()
        if not batch:
            break
        for dossier in batch:
            old = dossier.deadline_at
            refresh_dossier(session, dossier, cal)
            if dossier.deadline_at != old:
                moved.append(MovedDeadline(dossier.code, dossier.applicant_name, dossier.appointment_at, old,
                                           dossier.deadline_at))
            last_id = dossier.id
        session.flush()
    return moved


def open_dossier_count(session) -> int:
    return session.scalar(select(func.count(Dossier.id)).where(Dossier.status.in_(OPEN_STATUSES))) or 0

