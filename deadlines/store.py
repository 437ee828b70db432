"""The bridge between the pure deadline rules and the database, and the ONE writer.

Loads the working calendar (shipped schedules + administrators' overrides); :func:`write_life`
replays a dossier's events (``deadlines.lifecycle.replay``) and stores everything they imply:
the derived Dossier columns, the control slip's rows, and where its alerts go. Receiving, every
event, a void, a correction and a calendar edit (:func:`recompute_open_dossiers`) call it; no
other module assigns those columns (tests/test_architecture.py). Never imports ``intake``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from deadlines import lifecycle
from deadlines.due_dates import EVENT_TYPES, Event, Limit
from deadlines.lifecycle import OPEN_STATUSES
from deadlines.offdays import Override, build_calendar
from deadlines.workdays import OfficeHours, WorkCalendar
from tthc import alert_clock
from tthc.models import UNSEQUENCED, Alert, CalendarOverride, Dossier, DossierEvent, DossierHandover, User


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
    """The dossier's limit from the rule snapshot taken at reception (see ``lifecycle.limit_from_rule``)."""
    return lifecycle.limit_from_rule(rule)


def events_for(dossier: Dossier) -> list[Event]:
    """The deadline engine's view of the dossier's standing events (time order)."""
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


# -- the one writer --------------------------------------------------------------------------------

#: Dossier column -> the attribute of lifecycle.Life it stores. Only write_life assigns these
#: (tests/test_architecture.py checks it); the scan's watch flags (flag_due_soon, ...) are the scan's.
DERIVED_COLUMNS = {
    "status": "status",
    "current_unit_id": "current_unit_id",
    "forwarded_at": "forwarded_at",
    "finished_at": "finished_at",
    "handed_over_at": "handed_over_at",
    "closed_at": "closed_at",
    "result": "result",
    "extended": "extended",
    "supplement_count": "supplement_count",
    "effective_start_at": "effective_start_at",
    "forwarding_deadline_at": "forwarding_deadline_at",
    "original_deadline_at": "original_deadline_at",
    "deadline_at": "deadline_at",
    "appointment_at": "appointment_at",
    "classification": "classification",
    "flag_late_supplement_request": "late_supplement_request",
    "flag_finished_late": "finished_late",
}
#: DossierHandover column -> the attribute of lifecycle.HandoverRow it stores.
HANDOVER_COLUMNS = ("position", "handed_at", "from_unit_id", "to_unit_id", "giver_id", "receiver_name",
                    "quota_deadline_at", "completed_at", "result")


def _actor_unit(session, event: DossierEvent) -> int | None:
    if event.user_id is None:
        return None
    user = session.get(User, event.user_id)  # the identity map: no query for the officers at work
    return user.unit_id if user is not None else None


def life_events(session, dossier: Dossier) -> list[lifecycle.LifeEvent]:
    """The dossier's stored events as the replay reads them.

    A received event stored before appointments were kept in event data gets the appointment the
    dossier already holds (what its receipt printed), so that nothing a legacy applicant was told
    changes.
    """
    out = []
    for e in dossier.events:
        data = e.data or {}
        if e.type == "received" and "appointment" not in data and dossier.appointment_at is not None:
            data = dict(data, appointment=dossier.appointment_at.isoformat())
        out.append(lifecycle.LifeEvent(
            type=e.type, at=e.at, id=e.id, seq=e.seq or 0, unit_id=e.unit_id, user_id=e.user_id,
            actor_unit_id=_actor_unit(session, e) if e.type == "forwarded" else None, data=data,
            voided=bool(e.voided) or e.voids_event_id is not None, ref=e,
        ))
    return out


def replay_dossier(session, dossier: Dossier, cal: WorkCalendar | None = None) -> lifecycle.Life:
    """A fresh replay of the dossier's stored events (stores nothing)."""
    cal = cal or calendar_for(session)
    with session.no_autoflush:
        return lifecycle.replay(dossier.rule, life_events(session, dossier), cal)


def write_life(session, dossier: Dossier, cal: WorkCalendar | None = None) -> lifecycle.Life:
    """THE writer: replay the dossier's events and store everything they imply (no flush, no commit).

    Writes the derived Dossier columns (:data:`DERIVED_COLUMNS`), the control slip's rows
    (DossierHandover) and, when the dossier moved to another unit, its alerts (they follow the
    dossier to the unit now holding it). Receiving, every event, a void, a correction and a
    calendar edit call it. Raises lifecycle.LifecycleError when the events break the state
    machine, ValueError when a deadline falls outside the calendar's years.
    """
    cal = cal or calendar_for(session)
    # No autoflush inside: the caller's single flush writes the dossier once (one version bump).
    with session.no_autoflush:
        return _write_life(session, dossier, cal)


def _write_life(session, dossier: Dossier, cal: WorkCalendar) -> lifecycle.Life:
    life = lifecycle.replay(dossier.rule, life_events(session, dossier), cal)
    units_before = (dossier.unit_id, dossier.current_unit_id)
    for column, attribute in DERIVED_COLUMNS.items():
        value = getattr(life, attribute)
        if getattr(dossier, column) != value:
            setattr(dossier, column, value)
    if dossier.unit_id is None and life.first_unit_id is not None:
        dossier.unit_id = life.first_unit_id  # a dossier of a procedure without a unit: the unit it went to
    _write_handovers(dossier, life)
    holder = dossier.current_unit_id if dossier.current_unit_id is not None else dossier.unit_id
    if dossier.id is not None and (dossier.unit_id, dossier.current_unit_id) != units_before:
        # Alerts follow the dossier: the unit now holding it sees them, the previous one no longer does.
        # Who may see them changes with either unit (deadlines.alerts._dossier_alerts_filter), so they
        # are new to the handlers who now may: stamped anew at commit, above their watermarks.
        moved = session.execute(update(Alert).where(Alert.dossier_id == dossier.id)
                                .values(unit_id=holder, seq=UNSEQUENCED)
                                .execution_options(synchronize_session="fetch"))
        if moved.rowcount:
            alert_clock.stamp_at_commit(session)
    return life


def _write_handovers(dossier: Dossier, life: lifecycle.Life) -> None:
    if not life.handovers and (dossier.id is None or not dossier.handovers):
        return
    wanted = {id(row.event_ref): row for row in life.handovers}
    existing = {}
    for h in list(dossier.handovers):
        ref = h.event
        if ref is None or id(ref) not in wanted or id(ref) in existing:
            dossier.handovers.remove(h)  # its event was voided: the row leaves the slip
        else:
            existing[id(ref)] = h
    for key, row in wanted.items():
        h = existing.get(key)
        if h is None:
            h = DossierHandover(event=row.event_ref)
            dossier.handovers.append(h)
        for column in HANDOVER_COLUMNS:
            value = getattr(row, column)
            if getattr(h, column) != value:
                setattr(h, column, value)


def refresh_dossier(session, dossier: Dossier, cal: WorkCalendar | None = None) -> lifecycle.Life:
    """Alias of :func:`write_life`, kept for the callers written before it (tests' fixtures)."""
    return write_life(session, dossier, cal)


def deadline_state_at(session, dossier: Dossier, instant: datetime,
                      cal: WorkCalendar | None = None) -> tuple[bool, datetime | None]:
    """(awaiting a supplement, original deadline) as they stood at ``instant``, derived from the
    dossier's events before it: reports measure a past period's end (domain.md §8), which later
    supplement requests and receipts (a restart recomputes the deadline) must not change.
    Reads ``dossier.events``; stores nothing.
    """
    events = [e for e in life_events(session, dossier) if e.at < instant]
    if not any(e.type == "received" and not e.voided for e in events):
        return False, None
    try:
        life = lifecycle.replay(dossier.rule, events, cal or calendar_for(session))
    except lifecycle.LifecycleError:
        return False, None
    return life.awaiting_supplement, life.original_deadline_at


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
            .options(selectinload(Dossier.events), selectinload(Dossier.handovers).selectinload(DossierHandover.event))
            .order_by(Dossier.id).limit(batch_size)
        ).all()
        if not batch:
            break
        for dossier in batch:
            old = dossier.deadline_at
            write_life(session, dossier, cal)
            if dossier.deadline_at != old:
                moved.append(MovedDeadline(dossier.code, dossier.applicant_name, dossier.appointment_at, old,
                                           dossier.deadline_at))
            last_id = dossier.id
        session.flush()
    return moved


def open_dossier_count(session) -> int:
    return session.scalar(select(func.count(Dossier.id)).where(Dossier.status.in_(OPEN_STATUSES))) or 0

