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
moves the original deadline later. Those few dossiers (one query finds them, from the
supplement events at or after the instant and the closes after it, through indexes) are
re-derived from their events before the instant (the injected ``deadline_state_at``) and
moved to the right bucket.

Never loads ORM objects in bulk: the summary is a GROUP BY with CASE sums over each of four
disjoint parts of the period's dossiers, each read from one covering index, at the finest grain
(unit, field, procedure) and rolled up to the groupings asked for, so one pass serves several
(``summary_tables``; issue 13). Two parts are summed from the dossier tally instead where it can
(tthc/reports/tally.py): "finished" in a period of whole half-months, "not ended" in a period
running now. The register and the late list are generators over a streamed, chunked result.
Must not import the feature packages (``intake``, ``deadlines``): the working-day
arithmetic of the late list and the deadline state at an instant are injected (see
``tthc.reports.init_app``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator, Optional

from sqlalchemy import and_, bindparam, case, false, func, literal, not_, or_, select, union
from sqlalchemy.orm import aliased, selectinload

from tthc.models import STATUS_LABELS, Dossier, DossierEvent, Procedure, Rating, Unit
from tthc.reports import tally
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
    """The CASE conditions shared by the late list and the tests' reading of the summary."""
    start, end = period.start, period.end
    measured = measuring_instant(period, now)
    finished = and_(Dossier.finished_at.is_not(None), Dossier.finished_at >= start, Dossier.finished_at < end)
    returned = and_(Dossier.finished_at.is_(None), Dossier.closed_at.is_not(None), Dossier.closed_at >= start,
                    Dossier.closed_at < end)
    # In scope: received before the end and not ended before the start (indexable OR: each arm has an index).
    in_scope = and_(
        Dossier.received_at < end,
        Dossier.status != "cancelled",
        or_(Dossier.finished_at >= start, Dossier.closed_at >= start, _unended()),
    )
    # Today's state; _corrections() re-derives the dossiers for which it differs from the state then.
    overdue_at_end = _overdue_at(measured)
    return finished, returned, in_scope, overdue_at_end


def _overdue_at(measured: datetime):
    """Overdue at ``measured`` by today's status and original deadline (see _corrections)."""
    return and_(Dossier.original_deadline_at.is_not(None), Dossier.original_deadline_at < measured,
                Dossier.status != "awaiting_supplement")


def _supplement_event():
    """A supplement request or receipt, written with literals: it is the predicate of the partial index
    ix_dossier_event_supplement_at, which a planner only uses when it can match it (a bound parameter
    would let PostgreSQL's generic plan of a prepared statement miss it)."""
    return DossierEvent.type.in_(bindparam("supplement_types", list(SUPPLEMENT_EVENTS), unique=True,
                                           expanding=True, literal_execute=True))


@dataclass(frozen=True)
class _Correction:
    """A dossier open at the measuring instant whose deadline state may have changed since."""

    key: tuple
    counted_overdue: bool  # what the aggregate (today's state) says
    overdue: bool  # as it stood at the measuring instant
    original_deadline_at: Optional[datetime]  # as it stood at the measuring instant


def _state_at_from_app(session) -> StateAt:
    """The injected hook of the running app, for callers that did not pass ``state_at``."""
    from tthc.reports.exports import hooks

    return hooks().state_at(session)


#: The dossiers closed after the instant, as one alias for every call (building an alias and its
#: attributes anew cost 1.7 ms a request).
_CLOSED = aliased(Dossier, name="closed_dossier")


def _corrections(session, period: Period, keys: tuple, *, now: Optional[datetime], unit_id: int | None,
                 state_at: Optional[StateAt]) -> dict[int, _Correction]:
    """{dossier id: correction} for the in-scope dossiers open at the measuring instant whose status or
    original deadline today may differ from then: a non-voided supplement request or receipt at or
    after the instant, or a close after it (returned, withdrawn) following a supplement request.
    ``keys``: the columns whose values each correction carries (the summary's grain).

    One query finds them, driven by what happened after the instant, not by the in-scope dossiers: the
    supplement events at or after it (a range of the partial index ix_dossier_event_supplement_at) and
    the dossiers closed after it (a range of ix_dossier_closed_at), few for a past period and none for
    a running one. Only those are loaded, with their events, in chunks, and re-derived.
    """
    finished, returned, in_scope, overdue_at_end = _classes(period, now)
    measured = measuring_instant(period, now)
    standing = (DossierEvent.voided.is_(False), DossierEvent.voids_event_id.is_(None))
    after = select(DossierEvent.dossier_id).where(_supplement_event(), DossierEvent.at >= measured, *standing)
    closed = _CLOSED
    ever_requested = (select(DossierEvent.id)
                      .where(DossierEvent.dossier_id == closed.id, _supplement_event(), *standing).exists())
    closed_after = select(closed.id).where(closed.closed_at >= measured, closed.supplement_count > 0, ever_requested)
    stmt = (
        select(Dossier.id, *keys, case((overdue_at_end, literal(1)), else_=literal(0)))
        .where(Dossier.id.in_(union(after, closed_after)), in_scope, not_(finished), not_(returned),
               Dossier.supplement_count > 0)
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
        for dossier_id, *key_values, counted in chunk:
            awaiting, original = state_at(loaded[dossier_id], measured)
            overdue = not awaiting and original is not None and original < measured
            out[dossier_id] = _Correction(tuple(key_values), bool(counted), overdue, original)
    return out


def _count(condition) -> object:
    return func.sum(case((condition, 1), else_=0))


#: The summary's finest grain. Every grouping (field, unit, procedure) is a roll-up of it, so one pass
#: over the period's dossiers serves them all (the dashboard shows two, by unit and by field).
GRAIN = (Dossier.unit_id, Dossier.field, Dossier.procedure_id)
GRAIN_POSITION = {"unit": 0, "field": 1, "procedure": 2}
#: Ratings at the same grain: by the unit stored on the rating (the dossier's unit when rated).
RATING_GRAIN = (Rating.unit_id, Dossier.field, Dossier.procedure_id)
_WITHIN, _OVERDUE = SummaryRow.COUNTS.index("within"), SummaryRow.COUNTS.index("overdue")


def _unended():
    """Neither finished nor closed: the predicate of the partial index ix_dossier_unended_stats, in the one
    form no other index can serve (SQLite, lacking a histogram, takes "finished_at IS NULL" for a rare
    value of ix_dossier_finished_at and would read a hundred thousand rows through it)."""
    return func.coalesce(Dossier.finished_at, Dossier.closed_at).is_(None)


def _counts(c, period: Period, measured: datetime, part: str) -> list:
    """The sums of SummaryRow.COUNTS over one part of the period's dossiers (``c``: its columns).

    ``part``: "finished" (finished in the period), "open" (in progress at the measuring instant) or
    "closed" (closed since the start: returned in the period when not finished and closed before the
    end, else in progress then). A count that cannot occur in the part is a constant 0, so the part's
    index need not hold the columns it would read."""
    new = c.received_at >= period.start
    zero = literal(0)
    counts = [
        _count(c.received_at < period.start),
        _count(and_(new, c.channel == "online")),
        _count(and_(new, c.channel == "direct")),
        _count(and_(new, c.channel == "postal")),
    ]
    if part == "finished":
        # No deadline (limit "none") gives no classification: finished, hence on time (domain.md §2).
        classification = func.coalesce(c.classification, "on_time")
        return counts + [_count(classification == "early"),
                         _count(and_(classification != "early", classification != "late")),
                         _count(classification == "late"), zero, zero, zero]
    overdue = and_(c.original_deadline_at.is_not(None), c.original_deadline_at < measured,
                   c.status != "awaiting_supplement")  # as _overdue_at, on the part's columns
    if part == "open":
        return counts + [zero, zero, zero, _count(not_(overdue)), _count(overdue), zero]
    returned = and_(c.finished_at.is_(None), c.closed_at < period.end)
    return counts + [zero, zero, zero, _count(and_(not_(returned), not_(overdue))),
                     _count(and_(not_(returned), overdue)), _count(returned)]


#: The columns a part's sums read (with the grain): what its index holds.
_PART_COLUMNS = ("received_at", "channel", "status", "original_deadline_at")


def summary_statements(period: Period, unit_id: int | None = None, *, now: Optional[datetime] = None) -> list:
    """The summary's aggregate: one GROUP BY at :data:`GRAIN` per part of the period's dossiers.

    The parts are the arms of ``in_scope`` (:func:`_classes`) made disjoint, each read from one index
    holding every column its sums read (tests/integration/test_report_plans.py checks the plans):
    - finished in the period, and finished after its end (a past period: in progress then), two
      ranges of ix_dossier_finished_stats;
    - closed (returned, withdrawn, stopped) since the start and not finished since, a range of the
      partial ix_dossier_closed_stats: returned in the period, or after its end;
    - neither finished nor closed, the partial ix_dossier_unended_stats read in GROUP BY order (grouped
      by status and channel too: see _fold_unended).
    The first three are ranges read in a subquery (``OFFSET 0`` keeps it apart: neither planner merges
    it nor pushes a condition into it) and then grouped: given the GROUP BY directly, SQLite walks the
    whole of ix_dossier_unit_id in its order instead.
    """
    start, end = period.start, period.end
    measured = measuring_instant(period, now)
    d = Dossier
    scope = [d.received_at < end, d.status != "cancelled"]
    ranges = (
        ("finished", ("classification",), [d.finished_at >= start, d.finished_at < end]),
        ("open", (), [d.finished_at >= end]),
        ("closed", ("finished_at", "closed_at"),
         [d.closed_at >= start, or_(d.finished_at.is_(None), d.finished_at < start)]),
    )
    statements = []
    for part, extra, where in ranges:
        names = ("unit_id", "field", "procedure_id", *_PART_COLUMNS, *extra)
        rows = select(*(getattr(d, n) for n in names)).where(*where, *scope).offset(0).subquery(f"{part}_part")
        grain = [rows.c.unit_id, rows.c.field, rows.c.procedure_id]
        stmt = select(*grain, *_counts(rows.c, period, measured, part)).group_by(*grain)
        # One unit: filtered after the range (inside, SQLite would read the unit's every dossier through
        # ix_dossier_unit_id instead of the range).
        statements.append(stmt if unit_id is None else stmt.where(rows.c.unit_id == unit_id))
    # Not ended: the largest part (every dossier in progress), so it sums least: grouped further by
    # status and channel, the index's next columns (still its order), it counts the dossiers received
    # before the start and those past their original deadline; _fold_unended derives the rest.
    keys = (*GRAIN, Dossier.status, Dossier.channel)
    unended = select(*keys, func.count(), _count(Dossier.received_at < start),
                     _count(Dossier.original_deadline_at < measured)).where(_unended(), *scope)
    if unit_id is not None:
        unended = unended.where(Dossier.unit_id == unit_id)  # the index's first column
    statements.append(unended.group_by(*keys))
    return statements


_CHANNELS = {"online": SummaryRow.COUNTS.index("online"), "direct": SummaryRow.COUNTS.index("direct"),
             "postal": SummaryRow.COUNTS.index("postal")}


def _fold_unended(record) -> tuple[tuple, list[int]]:
    """The counts of one group of the part "not ended" (status and channel known): what _counts(...,
    "open") would sum. received_at is never NULL, so "new" is the group less the carried over; a NULL
    original deadline is never before the instant; waiting for a supplement is within time."""
    *grain, status, channel, n, carried, past_deadline = record
    counts = [0] * len(SummaryRow.COUNTS)
    counts[0] = int(carried or 0)
    if channel in _CHANNELS:
        counts[_CHANNELS[channel]] = int(n) - counts[0]
    overdue = 0 if status == "awaiting_supplement" else int(past_deadline or 0)
    counts[_OVERDUE], counts[_WITHIN] = overdue, int(n) - overdue
    return tuple(grain), counts


def _add(fine: dict[tuple, list[int]], folded) -> None:
    for key, values in folded:
        counts = fine.setdefault(key, [0] * len(SummaryRow.COUNTS))
        for i, value in enumerate(values):
            counts[i] += value


def _fold_range(record) -> tuple[tuple, list[int]]:
    return tuple(record[:len(GRAIN)]), [int(v or 0) for v in record[len(GRAIN):]]


_EARLY, _ON_TIME, _LATE = (SummaryRow.COUNTS.index(c) for c in ("early", "on_time", "late"))


def finished_counts(session, period: Period, unit_id: int | None = None, *, finished=None,
                    use_tally: bool = True) -> dict[tuple, list[int]]:
    """The part "finished in the period" of the summary: {grain: counts}.

    For a period of whole half-months (every monthly, quarterly, yearly period), summed from the
    tally (tthc/reports/tally.py); else, or with ``use_tally=False``, from the dossiers (the first of
    :func:`summary_statements`, ``finished``). Both give the same counts (tests/integration/test_tally.py)."""
    if not (use_tally and tally.aligned(period.start, period.end)):
        stmt = finished if finished is not None else summary_statements(period, unit_id)[0]
        out: dict[tuple, list[int]] = {}
        _add(out, map(_fold_range, session.execute(stmt)))
        return out
    out = {}
    for key, groups in tally.finished(session, period.start, period.end, unit_id).items():
        counts = [0] * len(SummaryRow.COUNTS)
        for (channel, classification, carried), n in groups.items():
            if carried:
                counts[0] += n
            elif channel in _CHANNELS:
                counts[_CHANNELS[channel]] += n
            counts[{"early": _EARLY, "late": _LATE}.get(classification, _ON_TIME)] += n
        out[key] = counts
    return out


def unended_counts(session, period: Period, unit_id: int | None = None, *, now: Optional[datetime] = None,
                   unended=None, use_tally: bool = True) -> dict[tuple, list[int]]:
    """The part "not ended" of the summary: {grain: counts}, for each grain with a dossier in it.

    In a period running at ``now``, summed from the tally (tthc/reports/tally.py: a few thousand rows
    by day instead of every dossier in progress); else, or with ``use_tally=False``, from the
    dossiers (the last of :func:`summary_statements`, ``unended``, folded by _fold_unended). Both
    give the same counts (tests/integration/test_tally.py)."""
    if not (use_tally and now is not None and period.start <= now < period.end
            and tally.aligned(period.start, period.end)):
        stmt = unended if unended is not None else summary_statements(period, unit_id, now=now)[-1]
        folded: dict[tuple, list[int]] = {}
        _add(folded, map(_fold_unended, session.execute(stmt)))
        return folded
    out = {}
    for key, (channels, past) in tally.unended(session, period.start, period.end, now, unit_id).items():
        counts = [0] * len(SummaryRow.COUNTS)
        for channel, (n, carried) in channels.items():
            counts[0] += carried
            if channel in _CHANNELS:
                counts[_CHANNELS[channel]] += n - carried
            counts[_WITHIN] += n
        counts[_OVERDUE], counts[_WITHIN] = past, counts[_WITHIN] - past
        if any(counts):  # a key whose rows sum to nothing (moved away since the last compaction)
            out[key] = counts
    return out


def summary_tables(session, period: Period, by: tuple[str, ...] = DIMENSIONS, unit_id: int | None = None, *,
                   now: Optional[datetime] = None,
                   state_at: Optional[StateAt] = None) -> dict[str, list[SummaryRow]]:
    """:func:`summary_rows` for each grouping in ``by``, from one pass over the period's dossiers:
    the counts at :data:`GRAIN`, corrected, then rolled up (sums, so each table is what
    ``summary_rows`` computes for it alone)."""
    for dimension in by:
        if dimension not in DIMENSIONS:
            raise ValueError(f"unknown grouping {dimension!r}: expected one of {', '.join(DIMENSIONS)}")
    fine: dict[tuple, list[int]] = {}
    finished, *ranges, unended = summary_statements(period, unit_id, now=now)
    _add(fine, finished_counts(session, period, unit_id, finished=finished).items())
    for stmt in ranges:
        _add(fine, map(_fold_range, session.execute(stmt)))
    _add(fine, unended_counts(session, period, unit_id, now=now, unended=unended).items())
    for fix in _corrections(session, period, GRAIN, now=now, unit_id=unit_id, state_at=state_at).values():
        if fix.overdue != fix.counted_overdue:
            step = 1 if fix.overdue else -1
            fine[fix.key][_OVERDUE] += step
            fine[fix.key][_WITHIN] -= step
    ratings = _ratings(session, period, unit_id)
    tables = {}
    for dimension in by:
        position = GRAIN_POSITION[dimension]
        rows: dict[object, SummaryRow] = {}
        for key, counts in fine.items():
            row = rows.setdefault(key[position], SummaryRow(label="", key=key[position]))
            for name, value in zip(SummaryRow.COUNTS, counts):
                setattr(row, name, getattr(row, name) + value)
        # A group with ratings but no dossier in the period gets a row of zero counts (its identity holds).
        for key, (rated, satisfied) in ratings.items():
            row = rows.setdefault(key[position], SummaryRow(label="", key=key[position]))
            row.rated += rated
            row.satisfied += satisfied
        table = list(rows.values())
        _label_rows(session, table, dimension)
        table.sort(key=lambda r: (r.label.casefold(), str(r.key)))
        tables[dimension] = table
    return tables


def summary_rows(session, period: Period, by: str = "field", unit_id: int | None = None, *,
                 now: Optional[datetime] = None, state_at: Optional[StateAt] = None) -> list[SummaryRow]:
    """One row per field (or procedure, or unit) with at least one dossier in the period, ordered by label.

    ``now``: in progress is measured at min(period end, now) (a running period); None: at the end.
    ``state_at``: see :data:`StateAt`; by default the running app's injected hook.
    """
    return summary_tables(session, period, (by,), unit_id, now=now, state_at=state_at)[by]


def _ratings(session, period: Period, unit_id: int | None) -> dict[tuple, tuple[int, int]]:
    """{grain: (rated, satisfied)} for the ratings given in the period (issue 7), grouped by the unit
    stored on the rating (the dossier's unit) and the dossier's field and procedure."""
    stmt = (
        select(*RATING_GRAIN, func.count(), _count(Rating.satisfied.is_(True)))
        .join(Dossier, Dossier.id == Rating.dossier_id)
        .where(Rating.created_at >= period.start, Rating.created_at < period.end, Dossier.status != "cancelled")
        .group_by(*RATING_GRAIN)
    )
    if unit_id is not None:
        stmt = stmt.where(Rating.unit_id == unit_id)
    return {tuple(record[:3]): (int(record[3] or 0), int(record[4] or 0)) for record in session.execute(stmt)}


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
    fixes = _corrections(session, period, (Dossier.id,), now=now, unit_id=unit_id, state_at=state_at)
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
