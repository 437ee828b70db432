"""The report computations: aggregate SQL for the summary, streamed rows for the lists.

Semantics (domain.md §7, §8): for a period ``[start, end)``
- cancelled dossiers are out of statistics entirely;
- a dossier is *in the period* when received before ``end`` and not finished,
  returned or withdrawn before ``start``; those received before ``start`` are
  *carried over*, the others *newly received* (per channel);
- *finished* (early / on time / late) is counted by the finished date, the
  classification being against the original deadline (an extended dossier finished
  after its original deadline is late; a refusal after appraisal is finished);
- *returned, withdrawn or stopped* (one column group, "Trả lại / rút / dừng giải quyết", outside the
  on-time rate) is counted by the ``closed_at`` date;
- *in progress* is what is neither, measured at ``end`` (or now, for a period still
  running): overdue when its original deadline as it stood then is before that instant,
  except while waiting for a supplement then (within time).
Every in-period dossier lands in exactly one of finished / returned / in progress,
so received = finished + in progress + returned/withdrawn holds in every row.
"Open at a past instant" is decided by the timestamps, not by the current status.

Overdue or within time at the measuring instant: the aggregate reads today's status and
original deadline, which are the state at that instant unless a supplement was requested
or received after it (or the dossier was closed after it while a request was open): a
request after the period makes an overdue dossier "awaiting", a receipt under ``restart``
moves the original deadline later. Those few dossiers (one query finds them) are
re-derived from their events before the instant (the injected ``deadline_state_at``) and
moved to the right bucket.

Never loads ORM objects in bulk: the summary is one GROUP BY with CASE sums; the
register and the late list are generators over a streamed, chunked result.
Must not import the feature packages (``intake``, ``deadlines``): the working-day
arithmetic of the late list and the deadline state at an instant are injected (see
``tthc.reports.init_app``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator, Optional

from sqlalchemy import and_, case, false, func, literal, not_, or_, select
from sqlalchemy.orm import selectinload

from tthc.models import STATUS_LABELS, Dossier, DossierEvent, Procedure, Rating, Unit
from tthc.reports.periods import Period
from tthc.text import mask

DIMENSIONS = ("field", "procedure", "unit")
DIMENSION_LABELS = {"field": "Lĩnh vực", "procedure": "Thủ tục hành chính", "unit": "Đơn vị xử lý"}
CHUNK_ROWS = 2000
CORRECTION_CHUNK = 500
SUPPLEMENT_EVENTS = ("supplement_requested", "supplement_received")
NO_UNIT_LABEL = "(Chưa xác định đơn vị)"


@dataclass
class SummaryRow:
    """One row of "Tình hình, kết quả giải quyết TTHC"; the totals are derived, never stored."""

    label: str
    key: object = None
    carried: int = 0
    online: int = 0
    direct: int = 0
    postal: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    within: int = 0
    overdue: int = 0
    returned: int = 0
    # Satisfaction (issue 7): ratings given in the period. A separate column group, outside the
    # identities above (domain.md §8, "Reports").
    rated: int = 0
    satisfied: int = 0

    COUNTS = ("carried", "online", "direct", "postal", "early", "on_time", "late", "within", "overdue", "returned")
    SATISFACTION = ("rated", "satisfied")

    @property
    def new(self) -> int:
        return self.online + self.direct + self.postal

    @property
    def received(self) -> int:
        return self.carried + self.new

    @property
    def finished(self) -> int:
        return self.early + self.on_time + self.late

    @property
    def in_progress(self) -> int:
        return self.within + self.overdue

    @property
    def on_time_rate(self) -> Optional[float]:
        """(early + on time) / finished as a fraction rounded to 2 decimals of a percent; None if nothing finished."""
        if not self.finished:
            return None
        return round((self.early + self.on_time) / self.finished, 4)

    @property
    def satisfaction_rate(self) -> Optional[float]:
        """satisfied / rated as a fraction (4 decimals, i.e. 2 decimals of a percent); None if nobody rated."""
        if not self.rated:
            return None
        return round(self.satisfied / self.rated, 4)

    def satisfaction_cells(self) -> list:
        """The "Mức độ hài lòng" group: rated, satisfied, rate (a fraction or None)."""
        return [self.rated, self.satisfied, self.satisfaction_rate]

    def check(self) -> None:
        if self.received != self.finished + self.in_progress + self.returned:
            raise AssertionError(f"identity broken in row {self.label!r}")

    def cells(self) -> list:
        """The numeric columns in the order of the workbook and the page."""
        return [self.received, self.carried, self.online, self.direct, self.postal, self.finished, self.early,
                self.on_time, self.late, self.in_progress, self.within, self.overdue, self.returned,
                self.on_time_rate]


def total_row(rows: list[SummaryRow], label: str = "Tổng cộng") -> SummaryRow:
    """The total row, computed from the counts (the rate from the totals, never averaged)."""
    total = SummaryRow(label=label)
    for row in rows:
        for name in SummaryRow.COUNTS + SummaryRow.SATISFACTION:
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return total


StateAt = Callable[[Dossier, datetime], "tuple[bool, Optional[datetime]]"]
"""``state_at(dossier, instant)`` -> (awaiting a supplement, original deadline) from its events before
``instant``: deadlines.store.deadline_state_at bound to the session and the calendar."""


def measuring_instant(period: Period, now: Optional[datetime] = None) -> datetime:
    """Where "in progress: within time / overdue" is measured: the period's end, or now while it runs."""
    return period.end if now is None else min(period.end, now)


def _classes(period: Period, now: Optional[datetime] = None):
    """The CASE conditions shared by the summary and the tests' reading of it."""
    start, end = period.start, period.end
    measured = measuring_instant(period, now)
    finished = and_(Dossier.finished_at.is_not(None), Dossier.finished_at >= start, Dossier.finished_at < end)
    returned = and_(Dossier.finished_at.is_(None), Dossier.closed_at.is_not(None), Dossier.closed_at >= start,
                    Dossier.closed_at < end)
    # In scope: received before the end and not ended before the start (indexable OR: each arm has an index).
    in_scope = and_(
        Dossier.received_at < end,
        Dossier.status != "cancelled",
        or_(Dossier.finished_at >= start, Dossier.closed_at >= start,
            and_(Dossier.finished_at.is_(None), Dossier.closed_at.is_(None))),
    )
    # Today's state; _corrections() re-derives the dossiers for which it differs from the state then.
    overdue_at_end = and_(Dossier.original_deadline_at.is_not(None), Dossier.original_deadline_at < measured,
                          Dossier.status != "awaiting_supplement")
    return finished, returned, in_scope, overdue_at_end


@dataclass(frozen=True)
class _Correction:
    """A dossier open at the measuring instant whose deadline state may have changed since."""

    key: object
    counted_overdue: bool  # what the aggregate (today's state) says
    overdue: bool  # as it stood at the measuring instant
    original_deadline_at: Optional[datetime]  # as it stood at the measuring instant


def _state_at_from_app(session) -> StateAt:
    """The injected hook of the running app, for callers that did not pass ``state_at``."""
    from tthc.reports.exports import hooks

    return hooks().state_at(session)


def _corrections(session, period: Period, key, *, now: Optional[datetime], unit_id: int | None,
                 state_at: Optional[StateAt]) -> dict[int, _Correction]:
    """{dossier id: correction} for the in-scope dossiers open at the measuring instant whose status or
    original deadline today may differ from then: a non-voided supplement request or receipt at or
    after the instant, or a close after it (returned, withdrawn) following a supplement request.

    One query finds them (``supplement_count`` > 0 narrows the EXISTS to dossiers that ever had a
    request); only those are loaded, with their events, in chunks, and re-derived.
    """
    finished, returned, in_scope, overdue_at_end = _classes(period, now)
    measured = measuring_instant(period, now)
    # One probe of the dossier's events (ix_dossier_event_dossier_id) per dossier that ever had a request.
    changed_after = (
        select(DossierEvent.id)
        .where(DossierEvent.dossier_id == Dossier.id, DossierEvent.type.in_(SUPPLEMENT_EVENTS),
               DossierEvent.voided.is_(False), DossierEvent.voids_event_id.is_(None),
               or_(DossierEvent.at >= measured, Dossier.closed_at >= measured))
        .exists()
    )
    stmt = (
        select(Dossier.id, key, case((overdue_at_end, literal(1)), else_=literal(0)))
        .where(in_scope, not_(finished), not_(returned), Dossier.supplement_count > 0, changed_after)
    )
    if unit_id is not None:
        stmt = stmt.where(Dossier.unit_id == unit_id)
    candidates = list(session.execute(stmt))
    if not candidates:
        return {}
    state_at = state_at or _state_at_from_app(session)
    out: dict[int, _Correction] = {}
    for i in range(0, len(candidates), CORRECTION_CHUNK):
        chunk = candidates[i:i + CORRECTION_CHUNK]
        loaded = {d.id: d for d in session.scalars(
            select(Dossier).options(selectinload(Dossier.events)).where(Dossier.id.in_([c[0] for c in chunk])))}
        for dossier_id, key_value, counted in chunk:
            awaiting, original = state_at(loaded[dossier_id], measured)
            overdue = not awaiting and original is not None and original < measured
            out[dossier_id] = _Correction(key_value, bool(counted), overdue, original)
    return out


def _count(condition) -> object:
    return func.sum(case((condition, 1), else_=0))


def summary_rows(session, period: Period, by: str = "field", unit_id: int | None = None, *,
                 now: Optional[datetime] = None, state_at: Optional[StateAt] = None) -> list[SummaryRow]:
    """One row per field (or procedure, or unit) with at least one dossier in the period, ordered by label.

    ``now``: in progress is measured at min(period end, now) (a running period); None: at the end.
    ``state_at``: see :data:`StateAt`; by default the running app's injected hook.
    """
    if by not in DIMENSIONS:
        raise ValueError(f"unknown grouping {by!r}: expected one of {', '.join(DIMENSIONS)}")
    key = {"field": Dossier.field, "procedure": Dossier.procedure_id, "unit": Dossier.unit_id}[by]
    finished, returned, in_scope, overdue_at_end = _classes(period, now)
    new = Dossier.received_at >= period.start
    # No deadline (limit "none") gives no classification: finished, hence on time (domain.md §2).
    classification = func.coalesce(Dossier.classification, "on_time")
    open_at_end = and_(not_(finished), not_(returned))
    stmt = (
        select(
            key.label("key"),
            _count(Dossier.received_at < period.start),
            _count(and_(new, Dossier.channel == "online")),
            _count(and_(new, Dossier.channel == "direct")),
            _count(and_(new, Dossier.channel == "postal")),
            _count(and_(finished, classification == "early")),
            _count(and_(finished, classification != "early", classification != "late")),
            _count(and_(finished, classification == "late")),
            _count(and_(open_at_end, not_(overdue_at_end))),
            _count(and_(open_at_end, overdue_at_end)),
            _count(returned),
        )
        .where(in_scope)
        .group_by(key)
    )
    if unit_id is not None:
        stmt = stmt.where(Dossier.unit_id == unit_id)
    rows: list[SummaryRow] = []
    for record in session.execute(stmt):
        key_value, counts = record[0], record[1:]
        row = SummaryRow(label="", key=key_value, **{n: int(c or 0) for n, c in zip(SummaryRow.COUNTS, counts)})
        rows.append(row)
    by_key = {row.key: row for row in rows}
    for fix in _corrections(session, period, key, now=now, unit_id=unit_id, state_at=state_at).values():
        if fix.overdue != fix.counted_overdue:
            row = by_key[fix.key]
            step = 1 if fix.overdue else -1
            row.overdue += step
            row.within -= step
    _add_ratings(session, rows, period, by, unit_id)
    _label_rows(session, rows, by)
    rows.sort(key=lambda r: (r.label.casefold(), str(r.key)))
    return rows


def _add_ratings(session, rows: list[SummaryRow], period: Period, by: str, unit_id: int | None) -> None:
    """Ratings given in the period, grouped like the rows: by the unit stored on the rating (the
    dossier's unit), or the dossier's field or procedure. A group with ratings but no dossier in the
    period gets a row of zero counts (its identity still holds)."""
    key = {"field": Dossier.field, "procedure": Dossier.procedure_id, "unit": Rating.unit_id}[by]
    stmt = (
        select(key, func.count(), _count(Rating.satisfied.is_(True)))
        .join(Dossier, Dossier.id == Rating.dossier_id)
        .where(Rating.created_at >= period.start, Rating.created_at < period.end, Dossier.status != "cancelled")
        .group_by(key)
    )
    if unit_id is not None:
        stmt = stmt.where(Rating.unit_id == unit_id)
    by_key = {row.key: row for row in rows}
    for key_value, n, n_satisfied in session.execute(stmt):
        row = by_key.get(key_value)
        if row is None:
            row = by_key[key_value] = SummaryRow(label="", key=key_value)
            rows.append(row)
        row.rated, row.satisfied = int(n or 0), int(n_satisfied or 0)


def _label_rows(session, rows: list[SummaryRow], by: str) -> None:
    if by == "field":
        for row in rows:
            row.label = row.key or "(Chưa xác định lĩnh vực)"
        return
    ids = [r.key for r in rows if r.key is not None]
    if by == "procedure":
        names = {pid: (code, name) for pid, code, name in session.execute(
            select(Procedure.id, Procedure.national_code, Procedure.name).where(Procedure.id.in_(ids)))}
        for row in rows:
            code, name = names.get(row.key, (None, f"Thủ tục #{row.key}"))
            row.label = f"{name} ({code})" if code else name
    else:
        names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all())
        for row in rows:
            row.label = names.get(row.key, NO_UNIT_LABEL) if row.key is not None else NO_UNIT_LABEL


# -- the register (form 06) ---------------------------------------------------------------------------

REGISTER_HEADERS = (
    "Số TT", "Mã hồ sơ", "Tên thủ tục hành chính", "Số lượng hồ sơ (bộ)", "Tên cá nhân, tổ chức",
    "Địa chỉ, số điện thoại", "Cơ quan chủ trì giải quyết", "Ngày, tháng tiếp nhận", "Ngày, tháng hẹn trả kết quả",
    "Ngày, tháng chuyển hồ sơ đến cơ quan giải quyết", "Ngày, tháng nhận kết quả từ cơ quan giải quyết",
    "Ngày, tháng trả kết quả cho cá nhân, tổ chức", "Ký nhận", "Ghi chú",
)


def _dt(value: datetime | None) -> str:
    """hh:mm dd/mm/yyyy, the format of the receipt (Circular 01/2018, form 01)."""
    return value.strftime("%H:%M %d/%m/%Y") if value else ""


def register_statement(first_at: datetime, end_at: datetime, unit_id: int | None = None):
    """The register's query (also what bench/export.py's bare loop writes)."""
    stmt = (
        select(
            Dossier.register_number, Dossier.code, Procedure.name, Dossier.sets, Dossier.applicant_name,
            Dossier.applicant_address, Dossier.applicant_phone, Unit.name, Dossier.received_at,
            Dossier.appointment_at, Dossier.forwarded_at, Dossier.finished_at, Dossier.handed_over_at,
            Dossier.status, Dossier.result, Dossier.extended,
        )
        .join(Procedure, Procedure.id == Dossier.procedure_id)
        .outerjoin(Unit, Unit.id == Dossier.unit_id)
        .where(Dossier.received_at >= first_at, Dossier.received_at < end_at)
        .order_by(Dossier.received_at, Dossier.id)
    )
    if unit_id is not None:
        stmt = stmt.where(Dossier.unit_id == unit_id)
    return stmt


def _stream(session, stmt) -> Iterator:
    """Rows in chunks through a server-side cursor where the driver has one (PostgreSQL)."""
    result = session.execute(stmt.execution_options(yield_per=CHUNK_ROWS))
    try:
        for partition in result.partitions():
            yield from partition
    finally:
        result.close()


def _register_note(status: str, result: str | None, extended: bool) -> str:
    notes = []
    if status in ("returned_unprocessed", "withdrawn", "stopped", "cancelled"):
        notes.append(STATUS_LABELS.get(status, status))
    if result == "refused":
        notes.append("Từ chối giải quyết")
    if extended:
        notes.append("Đã gia hạn, xin lỗi")
    return "; ".join(notes)


def register_rows(session, period: Period, unit_id: int | None = None, *, mask_personal: bool = False) -> Iterator[tuple]:
    """Register rows (form 06 of 2018, 07 of 2025), streamed, dates as datetimes (the workbook writes
    them ``hh:mm dd/mm/yyyy``); phones masked for roles that do not need them (Decree 13/2023)."""
    stmt = register_statement(period.start, period.end, unit_id)
    for (number, code, procedure, sets, name, address, phone, unit, received, appointment, forwarded, finished,
         handed_over, status, result, extended) in _stream(session, stmt):
        phone = mask(phone) if mask_personal else (phone or "")
        contact = ", ".join(part for part in (address or "", phone) if part)
        yield (number, code, procedure, sets, name, contact, unit or "", received, appointment,
               forwarded, finished, handed_over, "", _register_note(status, result, extended))


# -- the late and overdue list ------------------------------------------------------------------------

LATE_HEADERS = (
    "STT", "Mã hồ sơ", "Thủ tục hành chính", "Đơn vị xử lý", "Ngày tiếp nhận", "Hạn giải quyết ban đầu",
    "Hạn mới (gia hạn)", "Ngày có kết quả", "Tình trạng", "Số ngày làm việc trễ hạn", "Đã xin lỗi, hẹn lại",
    "Lý do",
)

LateDays = Callable[[Optional[datetime], datetime], float]


@dataclass
class LateRow:
    code: str
    procedure: str
    unit: str
    received_at: datetime
    original_deadline_at: Optional[datetime]
    new_deadline_at: Optional[datetime]
    finished_at: Optional[datetime]
    state: str  # "late" (finished late) | "overdue" (in progress, past its original deadline)
    working_days_late: float
    apology: bool
    reason: str

    def cells(self, number: int) -> tuple:
        return (number, self.code, self.procedure, self.unit, self.received_at, self.original_deadline_at,
                self.new_deadline_at if self.apology else None, self.finished_at,
                "Đã giải quyết, quá hạn" if self.state == "late" else "Đang giải quyết, quá hạn",
                self.working_days_late, "Có" if self.apology else "Không", self.reason)


def late_rows(session, period: Period, late_days: LateDays, *, now: datetime, unit_id: int | None = None,
              state_at: Optional[StateAt] = None) -> Iterator[LateRow]:
    """Finished late in the period, then in progress and overdue at its end (or now, for a running period).

    ``late_days(deadline, instant)`` is deadlines.due_dates.working_days_late bound to the calendar;
    ``state_at``: see :data:`StateAt` (by default the running app's injected hook). An overdue dossier
    whose deadline moved after the end is listed with the original deadline it had then.
    """
    finished, returned, in_scope, overdue_at_end = _classes(period, now)
    fixes = _corrections(session, period, Dossier.id, now=now, unit_id=unit_id, state_at=state_at)
    overdue_then = [i for i, fix in fixes.items() if fix.overdue]
    reason = (
        select(DossierEvent.note)
        .where(DossierEvent.dossier_id == Dossier.id, DossierEvent.type == "extended",
               DossierEvent.voided.is_(False), DossierEvent.voids_event_id.is_(None))
        .order_by(DossierEvent.at.desc())
        .limit(1)
        .scalar_subquery()
    )
    is_late = and_(finished, Dossier.classification == "late")
    is_overdue = and_(not_(finished), not_(returned), overdue_at_end)
    became_overdue = Dossier.id.in_(overdue_then) if overdue_then else false()
    stmt = (
        select(
            Dossier.code, Procedure.name, Unit.name, Dossier.received_at, Dossier.original_deadline_at,
            Dossier.deadline_at, Dossier.finished_at, Dossier.extended, reason, is_late.label("is_late"),
            Dossier.id,
        )
        .join(Procedure, Procedure.id == Dossier.procedure_id)
        .outerjoin(Unit, Unit.id == Dossier.unit_id)
        .where(in_scope, or_(is_late, is_overdue, became_overdue))
        .order_by(case((is_late, literal(0)), else_=literal(1)), Dossier.original_deadline_at, Dossier.id)
    )
    if unit_id is not None:
        stmt = stmt.where(Dossier.unit_id == unit_id)
    measured_at = measuring_instant(period, now)
    for (code, procedure, unit, received, original, current, finished_at, extended, note, late,
         dossier_id) in _stream(session, stmt):
        fix = None if late else fixes.get(dossier_id)
        if fix is not None:
            if not fix.overdue:
                continue  # within time at the end (awaiting a supplement then), whatever happened since
            original = fix.original_deadline_at
        state = "late" if late else "overdue"
        instant = finished_at if late else measured_at
        yield LateRow(code, procedure, unit or "", received, original, current if extended else None,
                      finished_at if late else None, state, late_days(original, instant), bool(extended),
                      (note or "") if extended else "")
