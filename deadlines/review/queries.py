"""The yearly review's numbers (domain.md §10, plan task 3): reads only, never writes.

From the dossiers finished in a window (by their ``finished`` event's time, as the reports count,
cancelled ones left out), per procedure and rule version received under:

* the time each used, counted as its deadline counts (``deadlines.time_used``): working units
  from the stored original deadline and finish (the one writer stored them from the replay), so
  a million dossiers need no event at all; calendar units from the stored counting start, or,
  when a supplement moved it, from a replay of that dossier's events;
* median, 80th and 95th percentile and maximum (nearest-rank: the smallest value at least p % of
  the dossiers did not exceed), the on-time rate, the share finished within half the time;
* the proposed committed time: the smallest whole amount in the committed unit that at least
  ``coverage`` % of them did not exceed, never above the time they were received under, never
  below 1; no proposal under :data:`MIN_DOSSIERS` dossiers ("chưa đủ dữ liệu");
* the cut against the statutory time in %, blank with "khác đơn vị" when the units differ.

Rows are aggregated while streaming (``yield_per``, plain column tuples: never a list of ORM
objects); only the numbers per group are kept. The what-if (:func:`what_if`) replays the real
events of a group's dossiers through the lifecycle (``deadlines.lifecycle.replay``) against a proposed amount.
"""
from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Iterable, Optional

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import selectinload

from deadlines import lifecycle
from deadlines.due_dates import Event, Limit, LimitUnit
from deadlines.store import calendar_for, limit_from_rule
from deadlines.time_used import CALENDAR_UNITS, WORKING_UNITS, calendar_time_used, time_used
from deadlines.workdays import WorkCalendar
from tthc.clock import now as clock_now
from tthc.models import LIMIT_UNIT_LABELS, Dossier, DossierEvent, Procedure

MIN_DOSSIERS = 5
DEFAULT_COVERAGE = 95
FINISHED_STATUSES = ("finished", "handed_over")
NOT_ENOUGH = "chưa đủ dữ liệu"
OTHER_UNIT = "khác đơn vị"
NO_LIMIT = "không quy định thời hạn"
BATCH = 5000
EVENT_BATCH = 500


class ReviewError(ValueError):
    """Bad input for the review (the message is Vietnamese, shown as is)."""


@dataclass(frozen=True)
class Window:
    first_day: date
    last_day: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, datetime.min.time())

    @property
    def end(self) -> datetime:
        """Exclusive: 00:00 of the day after the last day."""
        return datetime.combine(self.last_day + timedelta(days=1), datetime.min.time())

    def describe(self) -> str:
        return f"từ ngày {self.first_day:%d/%m/%Y} đến ngày {self.last_day:%d/%m/%Y}"


def default_window(today: date) -> Window:
    """The last full report year (Decree 09/2019, Art. 12: 15/12 of the year before to 14/12)."""
    last_year = today.year if today >= date(today.year, 12, 15) else today.year - 1
    return Window(date(last_year - 1, 12, 15), date(last_year, 12, 14))


def _add_year(d: date) -> date:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:  # 29/02
        return d.replace(year=d.year + 1, day=28)


def make_window(first: date | None, last: date | None) -> Window:
    """A window of at most 12 months (``last`` before the same day a year after ``first``)."""
    if first is None or last is None:
        raise ReviewError("Nhập đủ ngày bắt đầu và ngày kết thúc (YYYY-MM-DD).")
    if last < first:
        raise ReviewError("Ngày kết thúc không được trước ngày bắt đầu.")
    if last >= _add_year(first):
        raise ReviewError("Khoảng xem xét tối đa 12 tháng (ví dụ 15/12/2024 đến 14/12/2025).")
    return Window(first, last)


def parse_day(text: str | None, what: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ReviewError(f"{what} không hợp lệ: “{text[:20]}” (nhập YYYY-MM-DD hoặc dd/mm/yyyy).")


def parse_coverage(value) -> Fraction:
    try:
        coverage = Fraction(str(value).strip().replace(",", "."))
    except (ValueError, ZeroDivisionError):
        raise ReviewError("Tỷ lệ bao phủ phải là một số từ 1 đến 100.") from None
    if not 1 <= coverage <= 100:
        raise ReviewError("Tỷ lệ bao phủ phải là một số từ 1 đến 100.")
    return coverage


# -- pure statistics ------------------------------------------------------------------------------------


def nearest_rank(values: list[float], percent) -> float:
    """The smallest value that at least ``percent`` % of ``values`` (sorted) do not exceed."""
    k = math.ceil(Fraction(str(percent)) * len(values) / 100)
    return values[max(k, 1) - 1]


def proposed_amount(values: list[float], coverage, limit_amount: int) -> int:
    """Smallest whole amount at least ``coverage`` % of the (sorted) times used do not exceed,
    never above the time they were received under, never below 1 (domain.md §10)."""
    return max(1, min(limit_amount, math.ceil(nearest_rank(values, coverage))))


def cut_percent(statutory_amount: Optional[int], proposed: Optional[int]) -> Optional[float]:
    if not statutory_amount or proposed is None:
        return None
    return round((statutory_amount - proposed) * 100 / statutory_amount, 2)


# -- rows -----------------------------------------------------------------------------------------------


@dataclass
class ReviewRow:
    """One procedure and rule version received under, with the window's finished dossiers."""

    key: str
    procedure_id: int
    national_code: str
    name: str
    field: str
    version_id: Optional[int]
    version_label: str
    statutory_unit: Optional[str]
    statutory_amount: Optional[int]
    limit_unit: str
    limit_amount: Optional[int]
    supplement_rule: str
    finished: int = 0
    on_time: int = 0
    used: list[float] = field(default_factory=list, repr=False)
    median: Optional[float] = None
    p80: Optional[float] = None
    p95: Optional[float] = None
    maximum: Optional[float] = None
    within_half: Optional[float] = None
    proposed: Optional[int] = None
    cut: Optional[float] = None
    note: str = ""
    late_under_proposal: Optional[int] = None
    late_under_default: Optional[int] = None
    """Late under the what-if's starting value: the proposal, or the time in force when there is none."""
    current: bool = True
    """This row's rule is the one in force today (a decision can be applied from it)."""

    @property
    def on_time_rate(self) -> Optional[float]:
        return self.on_time / self.finished if self.finished else None

    @property
    def has_limit(self) -> bool:
        return self.limit_unit in WORKING_UNITS or self.limit_unit in CALENDAR_UNITS

    @property
    def decimals(self) -> int:
        """Times used are whole in calendar units, two decimals in working units."""
        return 0 if self.limit_unit in CALENDAR_UNITS else 2

    @property
    def units_differ(self) -> bool:
        return bool(self.statutory_unit) and self.statutory_unit != self.limit_unit

    def limit_text(self, amount=None) -> str:
        return _limit_text(self.limit_amount if amount is None else amount, self.limit_unit)

    def unit_text(self) -> str:
        return LIMIT_UNIT_LABELS.get(self.limit_unit, self.limit_unit)

    def statutory_text(self) -> str:
        return _limit_text(self.statutory_amount, self.statutory_unit)

    def finish(self, coverage) -> None:
        """Compute the statistics from the collected times used (then dropped: only numbers stay)."""
        values = sorted(self.used)
        if not self.has_limit:
            self.note = NO_LIMIT
            return
        if values:
            rounding = (lambda v: int(v)) if self.limit_unit in CALENDAR_UNITS else (lambda v: round(v, 2))
            self.median = rounding(nearest_rank(values, 50))
            self.p80 = rounding(nearest_rank(values, 80))
            self.p95 = rounding(nearest_rank(values, 95))
            self.maximum = rounding(values[-1])
            limit = self.limit_amount
            self.within_half = sum(1 for v in values if v * 2 <= limit) / len(values)
        if len(values) < MIN_DOSSIERS:
            self.note = NOT_ENOUGH
        else:
            self.proposed = proposed_amount(values, coverage, self.limit_amount)
            if not self.units_differ:
                self.cut = cut_percent(self.statutory_amount, self.proposed)
            # Equivalent to replaying the events against the proposal (deadlines.time_used).
            self.late_under_proposal = sum(1 for v in values if v > self.proposed)
        default = self.proposed if self.proposed is not None else self.limit_amount
        self.late_under_default = sum(1 for v in values if v > default)
        self.used = values


def _limit_text(amount, unit) -> str:
    if unit == "none":
        return LIMIT_UNIT_LABELS["none"]
    if not unit or amount is None:
        return ""
    return f"{amount} {LIMIT_UNIT_LABELS.get(unit, unit)}"


def _group_key(procedure_id: int, rule: dict) -> tuple:
    return (procedure_id, rule.get("rule_version_id"), rule.get("limit_unit") or "none",
            rule.get("limit_amount"), rule.get("supplement_rule") or "restart")


def key_text(key: tuple) -> str:
    procedure_id, version_id, unit, amount, rule = key
    return f"{procedure_id}-{version_id or 0}-{unit}-{amount if amount is not None else 'x'}-{rule}"


def _finished_rows(window: Window, procedure_id: int | None = None):
    """The window's finished dossiers, with the rule snapshot as raw text: a procedure's dossiers share a
    handful of snapshots, so decoding each distinct text once (not a JSON per row) keeps a million rows fast."""
    stmt = (select(Dossier.id, Dossier.procedure_id, cast(Dossier.rule, Text), Dossier.effective_start_at,
                   Dossier.original_deadline_at, Dossier.finished_at, Dossier.classification,
                   Dossier.supplement_count)
            .where(Dossier.finished_at >= window.start, Dossier.finished_at < window.end,
                   Dossier.status.in_(FINISHED_STATUSES)))
    if procedure_id is not None:
        stmt = stmt.where(Dossier.procedure_id == procedure_id)
    return stmt


class _Rules:
    """Raw rule snapshot text → (group key part, limit), decoded once per distinct text."""

    def __init__(self):
        self._seen: dict = {}

    def __call__(self, procedure_id: int, text: str | None) -> tuple[tuple, Limit]:
        found = self._seen.get((procedure_id, text))
        if found is None:
            rule = json.loads(text) if text else {}
            if not isinstance(rule, dict):
                rule = {}
            try:
                limit = limit_from_rule(rule)
            except ValueError:
                limit = Limit(None, LimitUnit.NONE)
            found = self._seen[(procedure_id, text)] = (_group_key(procedure_id, rule), limit, rule)
        return found


def _life_events_by_dossier(session, ids: list[int]) -> dict[int, list[lifecycle.LifeEvent]]:
    """The stored events of these dossiers as the lifecycle's replay reads them (plain column tuples)."""
    out: dict[int, list] = defaultdict(list)
    for i in range(0, len(ids), EVENT_BATCH):
        rows = session.execute(
            select(DossierEvent.dossier_id, DossierEvent.id, DossierEvent.seq, DossierEvent.type, DossierEvent.at,
                   DossierEvent.unit_id, DossierEvent.user_id, DossierEvent.data, DossierEvent.voided,
                   DossierEvent.voids_event_id)
            .where(DossierEvent.dossier_id.in_(ids[i:i + EVENT_BATCH])))
        for dossier_id, event_id, seq, kind, at, unit_id, user_id, data, voided, voids in rows:
            out[dossier_id].append(lifecycle.LifeEvent(
                type=kind, at=at, id=event_id, seq=seq or 0, unit_id=unit_id, user_id=user_id, data=data or {},
                voided=bool(voided) or voids is not None))
    return out


def _new_deadline(data) -> datetime | None:
    value = (data or {}).get("new_deadline")
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _engine_events(life: list[lifecycle.LifeEvent]) -> list[Event]:
    """The standing events as the deadline engine reads them (what ``lifecycle.replay`` hands it)."""
    return [Event(e.type, e.at, _new_deadline(e.data) if e.type == "extended" else None)
            for e in lifecycle.standing(life)]


def review_rows(session, window: Window, coverage=DEFAULT_COVERAGE, today: date | None = None,
                cal: WorkCalendar | None = None) -> list[ReviewRow]:
    """One row per procedure and rule version with dossiers finished in ``window``, ordered by field and
    national code. ``today`` decides which row's rule is the one in force (default: the clock's today)."""
    cal = cal or calendar_for(session)
    coverage = parse_coverage(coverage)
    groups: dict[tuple, ReviewRow] = {}
    pending: dict[int, tuple[tuple, Limit]] = {}
    rules = _Rules()
    stats: dict[tuple, list] = defaultdict(lambda: [0, 0, []])  # finished, on time, times used
    position = cal.working_position
    day_us = cal.day_minutes * 60_000_000
    result = session.execute(_finished_rows(window).execution_options(yield_per=BATCH))
    for dossier_id, procedure_id, rule_text, start, original, finished_at, classification, supplements in result:
        key, limit, _rule = rules(procedure_id, rule_text)
        entry = stats[key]
        entry[0] += 1
        if classification == "early" or classification == "on_time":
            entry[1] += 1
        unit = limit.unit
        if unit is LimitUnit.WORKING_DAYS or unit is LimitUnit.WORKING_HOURS:
            if original is not None:
                # working_time_used() inlined (a million rows): limit + position(finish) - position(deadline).
                per_unit = day_us if unit is LimitUnit.WORKING_DAYS else 3_600_000_000
                used_us = limit.amount * per_unit + position(finished_at) - position(original)
                entry[2].append((used_us if used_us > 0 else 0) / per_unit)
                continue
        elif unit is LimitUnit.NONE:
            continue
        elif not supplements and start is not None:
            entry[2].append(float(calendar_time_used(cal, unit, start, finished_at)))
            continue
        pending[dossier_id] = (key, limit)
    for dossier_id, life in _life_events_by_dossier(session, list(pending)).items():
        key, limit = pending[dossier_id]
        try:
            used = time_used(cal, limit, _engine_events(life))
        except ValueError:  # events the engine refuses (the dossier page explains them): no time counted
            used = None
        if used is not None:
            stats[key][2].append(used.value)

    procedures = _procedures(session, {key[0] for key in stats})
    if today is None:
        today = clock_now().date()
    for key, (finished, on_time, used) in stats.items():
        procedure = procedures[key[0]]
        row = _new_row(key, procedure, today)
        row.finished, row.on_time, row.used = finished, on_time, used
        row.finish(coverage)
        groups[key] = row
    return sorted(groups.values(), key=lambda r: (r.field, r.national_code or "~", r.name, r.procedure_id,
                                                  r.version_id or 0, r.limit_amount or 0))


def _procedures(session, ids: set[int]) -> dict[int, Procedure]:
    if not ids:
        return {}
    rows = session.scalars(select(Procedure).where(Procedure.id.in_(ids)).options(
        selectinload(Procedure.rule_versions)))
    return {p.id: p for p in rows}


def _new_row(key: tuple, procedure: Procedure, today: date) -> ReviewRow:
    procedure_id, version_id, unit, amount, supplement_rule = key
    version = next((v for v in procedure.rule_versions if v.id == version_id), None) if version_id else None
    label = (f"QĐ số {version.decision_number}, áp dụng từ {version.effective_date:%d/%m/%Y}" if version
             else "Quy định trước các quyết định điều chỉnh")
    in_force = procedure.rule_at(today)
    return ReviewRow(
        key=key_text(key), procedure_id=procedure_id, national_code=procedure.national_code or "",
        name=procedure.name, field=procedure.field, version_id=version_id, version_label=label,
        statutory_unit=procedure.limit_unit, statutory_amount=procedure.statutory_amount,
        limit_unit=unit, limit_amount=amount, supplement_rule=supplement_rule,
        current=(in_force.version_id == version_id and in_force.limit_unit == unit
                 and in_force.limit_amount == amount),
    )


# -- what-if ---------------------------------------------------------------------------------------------


def parse_key(text: str) -> tuple:
    match = re.fullmatch(r"(\d{1,9})-(\d{1,9})-([a-z_]{1,16})-(\d{1,5}|x)-(restart|pause)", text or "")
    if not match:
        raise ReviewError("Mã dòng không hợp lệ.")
    procedure_id, version_id, unit, amount, rule = match.groups()
    return (int(procedure_id), int(version_id) or None, unit, None if amount == "x" else int(amount), rule)


def what_if(session, window: Window, key: tuple, amount: int, cal: WorkCalendar | None = None) -> dict:
    """How many of the group's dossiers finished in the window would have been late with ``amount``:
    each one's real events replayed by the lifecycle (``deadlines.lifecycle.replay``) under its rule with
    the proposed amount, judged against the original deadline as the statistics are. Nothing is written."""
    cal = cal or calendar_for(session)
    rule = None
    ids = []
    rules = _Rules()
    for dossier_id, pid, rule_text, *_ in session.execute(_finished_rows(window, key[0])):
        group, _limit, group_rule = rules(pid, rule_text)
        if group == key:
            ids.append(dossier_id)
            rule = group_rule
    proposed = dict(rule or {}, limit_amount=amount)
    late = replayed = 0
    for life in _life_events_by_dossier(session, ids).values():
        try:
            late += lifecycle.replay(proposed, life, cal).classification == "late"
        except ValueError:  # a deadline beyond the calendar's years, or events the machine refuses
            continue
        replayed += 1
    return {"key": key_text(key), "amount": amount, "finished": len(ids), "replayed": replayed, "late": late}


# -- components ------------------------------------------------------------------------------------------

_BULLET = re.compile(r"^\s*(?:[-–•*+]|\d{1,2}[.)])\s*")


def documents_asked(data: dict | None) -> list[str]:
    """The documents a supplement request asked for, from its event data.

    ``documents_to_add`` is the structured list of the forms issue (names, or objects with a
    ``name``); free text from before it is split into one document per line or ``;``.
    """
    value = (data or {}).get("documents_to_add")
    names: Iterable = ()
    if isinstance(value, list):
        names = [v.get("name", "") if isinstance(v, dict) else v for v in value]
    elif isinstance(value, str):
        names = re.split(r"[\n;]+", value)
    out = []
    for name in names:
        if not isinstance(name, str):
            continue
        name = _BULLET.sub("", name).strip().rstrip(".").strip()
        if name and name not in out:
            out.append(name[:500])
    return out


@dataclass
class ComponentRow:
    procedure_id: int
    national_code: str
    name: str
    field: str
    document: str
    requests: int
    """Supplement requests in the window that asked for this document."""
    total_requests: int
    """All supplement requests of the procedure in the window."""


def component_rows(session, window: Window) -> list[ComponentRow]:
    """Per procedure, how often each document was asked for in supplement requests made in the window."""
    stmt = (select(Dossier.procedure_id, DossierEvent.data)
            .join(Dossier, Dossier.id == DossierEvent.dossier_id)
            .where(DossierEvent.type == "supplement_requested", DossierEvent.voided.is_(False),
                   Dossier.status != "cancelled",
                   DossierEvent.at >= window.start, DossierEvent.at < window.end))
    counts: dict[int, Counter] = defaultdict(Counter)
    totals: Counter = Counter()
    for procedure_id, data in session.execute(stmt.execution_options(yield_per=BATCH)):
        totals[procedure_id] += 1
        for name in documents_asked(data):
            counts[procedure_id][name] += 1
    procedures = _procedures(session, set(totals))
    rows = []
    for procedure_id, total in totals.items():
        p = procedures[procedure_id]
        asked = counts[procedure_id]
        if not asked:
            rows.append(ComponentRow(procedure_id, p.national_code or "", p.name, p.field,
                                     "(không ghi rõ giấy tờ)", 0, total))
        for document, n in sorted(asked.items(), key=lambda kv: (-kv[1], kv[0])):
            rows.append(ComponentRow(procedure_id, p.national_code or "", p.name, p.field, document, n, total))
    return sorted(rows, key=lambda r: (r.field, r.national_code or "~", r.name, r.procedure_id, -r.requests,
                                       r.document))


def coverage_text(coverage) -> str:
    coverage = Fraction(coverage)
    return str(coverage.numerator) if coverage.denominator == 1 else f"{float(coverage):g}".replace(".", ",")
