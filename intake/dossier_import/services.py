"""Importing dossiers received elsewhere (domain.md §12): the writes, taking the session.

For each row of a table (``reading.open_table``) checked by ``rows.parse_row``:

* a code not known here creates a dossier with the events the row tells; the procedure
  is matched by national code, else by its exact folded name (an ambiguous name is a
  rejection, never a guess); an empty unit falls back to the procedure's unit;
* a known code appends the row's new events after the dossier's last one and never
  rewrites what is recorded here (``rows.plan_update``); nothing new: unchanged;
* everything else is rejected with its line, column and Vietnamese reason, and the
  other rows still import.

Deadlines come from this product's engine: the import appends events and lets the
store's one writer derive the rest (``write_life``); the appointment printed on the receipt rides
in the received event's data. Imported dossiers are numbered in the register of their
reception year, and a code of the agency's own format makes that day's code counter
stand past its number, so intake goes on on an imported day.

Rows are read and written in batches (``batch_size``), each batch in its own
transaction (``commit`` is the caller's), and the session is emptied after each one:
memory stays flat in the number of rows, and the desk is never locked out for the
length of a large import. A dry run writes every batch, reports, and rolls it back.
The run and its per-row report are stored (``ImportRun``, ``ImportRunRow``) and audited.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Callable, Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from deadlines import lifecycle
from deadlines.store import calendar_for, write_life
from intake import codes
from intake.dossier_import.mapping import Mapping, describe_missing, match_headers
from intake.dossier_import.reading import FileError, Table, is_blank
from intake.dossier_import.rows import (EVENT_WORDS_VI, STATUS_WORDS_VI, KnownEvent, ParsedRow, PlannedEvent,
                                        RowRejected, parse_row, plan_update)
from tthc import audit
from tthc.models import (Dossier, DossierEvent, DossierHandover, ImportMapping, ImportRun, ImportRunRow, Procedure,
                         Unit)
from tthc.text import fold

BATCH_SIZE = 500
_BATCH_TYPES = (Dossier, DossierEvent, DossierHandover, ImportRun)
OUTCOMES = ("created", "updated", "unchanged", "rejected")


class ImportFileError(Exception):
    """The file as a whole cannot be imported (nothing written); Vietnamese message."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class RowOutcome:
    line: int
    code: str
    outcome: str
    column: str = ""
    reason: str = ""
    events: str = ""

    def as_row(self, run_id: int) -> dict[str, Any]:
        return {"run_id": run_id, "line": self.line, "code": self.code[:64], "outcome": self.outcome,
                "column": self.column[:255], "reason": self.reason, "events": self.events[:255]}


# -- the lifecycle, in one place ----------------------------------------------------------------


def _check_sequence(status: str | None, events: Iterable[PlannedEvent]) -> str:
    """The status after ``events`` from ``status`` (None: a new dossier), by the lifecycle's transition table;
    RowRejected naming the impossible step (the replay would say it too, in words meant for a void)."""
    for event in events:
        if event.type == "received":
            if status is not None:
                raise RowRejected("Trạng thái", "Hồ sơ chỉ được tiếp nhận một lần.")
            status = "received"
            continue
        transition = lifecycle.TRANSITIONS.get(event.type)
        if transition is None:
            raise RowRejected("Trạng thái", f"Không ghi nhận được sự kiện “{event.type}”.")
        if status not in transition.from_states:
            raise RowRejected("Trạng thái", f"Không thể ghi nhận “{EVENT_WORDS_VI.get(event.type, event.type)}” khi "
                                            f"hồ sơ đang ở trạng thái “{STATUS_WORDS_VI.get(status, status)}”.")
        status = transition.status_after or status
    return status or "received"


def _write_life(session, dossier: Dossier, cal) -> None:
    """The one writer derives and stores everything the events imply (status, deadlines, the appointment the
    applicant holds from the received event's data, the control slip's rows); a refusal rejects the row."""
    try:
        write_life(session, dossier, cal)
    except lifecycle.LifecycleError as exc:
        raise RowRejected("Trạng thái", str(exc)) from exc
    except ValueError as exc:  # a deadline outside the calendar's years
        raise RowRejected("Ngày tiếp nhận", f"Không tính được hạn giải quyết: {exc}") from exc


# -- looking things up ----------------------------------------------------------------------------


class _Catalog:
    """Procedures and units, loaded once per run (a catalog is hundreds of rows, not millions)."""

    def __init__(self, session):
        self.by_code: dict[str, Procedure] = {}
        self.by_name: dict[str, list[Procedure]] = defaultdict(list)
        for p in session.scalars(select(Procedure).options(selectinload(Procedure.steps),
                                                           selectinload(Procedure.rule_versions))):
            if p.national_code:
                self.by_code[p.national_code.strip().upper()] = p
            self.by_name[fold(p.name)].append(p)
        self.units: dict[str, Unit] = {}
        for u in session.scalars(select(Unit)):
            self.units[fold(u.code)] = u
            self.units.setdefault(fold(u.name), u)
        self.rules: dict[tuple, dict] = {}
        self.in_force: dict[tuple, Any] = {}

    def procedure(self, row: ParsedRow, columns: dict[str, str]) -> tuple[Procedure, str]:
        note = ""
        if row.national_code:
            found = self.by_code.get(row.national_code.strip().upper())
            if found is not None:
                return found, note
            if not row.procedure_name:
                raise RowRejected(columns["national_code"], f"Không có thủ tục mã “{row.national_code}” trong danh mục.")
            note = f"Mã TTHC “{row.national_code}” không có trong danh mục; nhận theo tên thủ tục."
        candidates = self.by_name.get(fold(row.procedure_name), [])
        if not candidates:
            raise RowRejected(columns["procedure_name"],
                              f"Không có thủ tục “{row.procedure_name}” trong danh mục"
                              + (f" (mã “{row.national_code}” cũng không có)." if row.national_code else "."))
        if len(candidates) > 1:
            raise RowRejected(columns["procedure_name"], f"Tên thủ tục khớp {len(candidates)} thủ tục trong danh mục; "
                                                         "ghi mã TTHC để chọn đúng thủ tục.")
        return candidates[0], note

    def unit(self, row: ParsedRow, procedure: Procedure, column: str) -> int | None:
        if not row.unit:
            return procedure.unit_id
        found = self.units.get(fold(row.unit))
        if found is None:
            raise RowRejected(column, f"Không có đơn vị “{row.unit}” (ghi mã hoặc đúng tên đơn vị).")
        return found.id

    def rule_in_force(self, procedure: Procedure, received_at: datetime):
        key = (procedure.id, received_at.date())
        if key not in self.in_force:
            self.in_force[key] = procedure.rule_at(received_at)
        return self.in_force[key]

    def rule(self, procedure: Procedure, received_at: datetime) -> dict:
        """The procedure's rule in force on the reception day (its base rule or a dated version, issue #14)."""
        from intake.services import rule_snapshot

        key = (procedure.id, self.rule_in_force(procedure, received_at).version_id)
        if key not in self.rules:
            self.rules[key] = rule_snapshot(procedure, received_at)
        return self.rules[key]


def _limit_problem(catalog: "_Catalog", procedure: Procedure, received_at: datetime) -> str:
    rule = catalog.rule_in_force(procedure, received_at)
    unit, amount = rule.limit_unit, rule.limit_amount
    if unit is None or (unit != "none" and (amount is None or amount < 0)):
        return "Thủ tục chưa có thời hạn giải quyết trong danh mục: quản trị cần bổ sung trước khi nhập."
    return ""


# -- the run --------------------------------------------------------------------------------------


def start_run(session, *, filename: str, user=None, source: str = "web", dry_run: bool = False,
              mapping: Mapping | None = None, now: datetime) -> ImportRun:
    run = ImportRun(filename=(filename or "")[:255], source=source, dry_run=dry_run, status="running",
                    mapping=(mapping or Mapping()).to_definition(), counts={k: 0 for k in OUTCOMES},
                    user_id=getattr(user, "id", None), started_at=now)
    session.add(run)
    session.flush()
    audit.record(session, "import_dossiers:start", "import_run", run.id, user=user,
                 after={"filename": run.filename, "dry_run": dry_run, "source": source})
    return run


def import_table(session, run_id: int, table: Table, mapping: Mapping, *, user=None, now: datetime,
                 agency_code: str, commit: Callable[[], None], batch_size: int = BATCH_SIZE,
                 progress: Callable[[dict], None] | None = None) -> dict[str, int]:
    """Import every row of ``table`` into the run ``run_id`` (already committed); return the counts.

    Raises ImportFileError when the header row is unusable or the file breaks mid-way (the batches
    already committed stay, and the run says so).
    """
    match = match_headers(table.headers, mapping)
    if not match.usable:
        raise ImportFileError(describe_missing(match))
    cal = calendar_for(session)
    low, high = datetime(cal.first_year, 1, 1), datetime(cal.last_year - 1, 12, 31, 23, 59, 59)
    close = _day_close(cal)
    catalog = _Catalog(session)
    user_id = getattr(user, "id", None)
    columns = {name: _header(table.headers, match, name) for name in
               ("national_code", "procedure_name", "unit", "code")}
    run = session.get(ImportRun, run_id)
    dry_run = run.dry_run
    counts = {k: 0 for k in OUTCOMES}
    seen: dict[str, int] = {}
    batch: list[tuple[int, Any]] = []

    def flush_batch() -> None:
        outcomes = _import_batch(session, batch, match, table.headers, mapping, catalog, columns, cal, now=now,
                                 low=low, high=high, close=close, agency_code=agency_code, seen=seen,
                                 user_id=user_id, run_id=run_id, dry_run=dry_run)
        if dry_run:
            session.rollback()
        for o in outcomes:
            counts[o.outcome] += 1
        if outcomes:
            session.execute(insert(ImportRunRow), [o.as_row(run_id) for o in outcomes])
        current = session.get(ImportRun, run_id)
        current.counts = dict(counts, total=sum(counts.values()))
        commit()
        # Memory stays flat: the batch's dossiers, events and hand-over rows leave the session (the catalog
        # and the user stay).
        for obj in [o for o in session.identity_map.values() if isinstance(o, _BATCH_TYPES)]:
            session.expunge(obj)
        batch.clear()
        if progress is not None:
            progress(dict(counts))

    try:
        for line, values in table.rows:
            if is_blank(values):
                continue
            batch.append((line, values))
            if len(batch) >= batch_size:
                flush_batch()
        if batch:
            flush_batch()
    except FileError as exc:
        session.rollback()
        raise ImportFileError(str(exc)) from exc
    return counts


def finish_run(session, run_id: int, *, user=None, now: datetime, error: str = "") -> ImportRun:
    # One UPDATE of the run's row (an import run's status and finish time, not a dossier's derived columns).
    session.execute(update(ImportRun).where(ImportRun.id == run_id)
                    .values(finished_at=now, status="failed" if error else "done", error=error))
    run = session.get(ImportRun, run_id, populate_existing=True)
    audit.record(session, "import_dossiers:finish", "import_run", run.id, user=user,
                 after={"filename": run.filename, "dry_run": run.dry_run, "counts": run.counts, "status": run.status},
                 note=error)
    session.flush()
    return run


def _day_close(cal) -> time:
    try:
        return cal.office_hours.periods[-1][1]
    except AttributeError:
        return time(17, 0)


def _header(headers, match, name: str) -> str:
    index = match.column_of(name)
    if index is not None and index < len(headers) and str(headers[index]).strip():
        return str(headers[index]).strip()
    from intake.dossier_import.mapping import label

    return label(name)


def _import_batch(session, batch, match, headers, mapping, catalog: _Catalog, columns, cal, *, now, low, high,
                  close, agency_code, seen, user_id, run_id, dry_run) -> list[RowOutcome]:
    outcomes: list[RowOutcome] = []
    parsed: list[tuple[ParsedRow, Procedure, str]] = []
    for line, values in batch:
        try:
            row = parse_row(line, values, match, headers, mapping, now=now, low=low, high=high, day_close=close,
                            agency_code=agency_code)
        except RowRejected as exc:
            code = _raw_code(values, match)
            if code and code not in seen:
                seen[code] = line
            outcomes.append(RowOutcome(line, code, "rejected", exc.column, exc.reason))
            continue
        if row.code in seen:
            outcomes.append(RowOutcome(line, row.code, "rejected", columns["code"],
                                       f"Trùng mã hồ sơ “{row.code}” với dòng {seen[row.code]} của tệp."))
            continue
        seen[row.code] = line
        try:
            procedure, note = catalog.procedure(row, columns)
        except RowRejected as exc:
            outcomes.append(RowOutcome(line, row.code, "rejected", exc.column, exc.reason))
            continue
        parsed.append((row, procedure, note))

    codes_in_batch = [row.code for row, _p, _n in parsed]
    known = {d.code: d for d in session.scalars(
        select(Dossier).where(Dossier.code.in_(codes_in_batch)).options(selectinload(Dossier.events)))} \
        if codes_in_batch else {}

    plans: list[tuple[ParsedRow, Procedure, str, Dossier | None, list[PlannedEvent], int | None]] = []
    for row, procedure, note in parsed:
        dossier = known.get(row.code)
        try:
            if dossier is None:
                problem = _limit_problem(catalog, procedure, row.received_at)
                if problem:
                    raise RowRejected(columns["procedure_name"] if not row.national_code else columns["national_code"],
                                      problem)
                unit_id = catalog.unit(row, procedure, columns["unit"])
                _check_sequence(None, row.events)
                plans.append((row, procedure, note, None, row.events, unit_id))
            else:
                if dossier.received_at != row.received_at:
                    # Same code, another reception: another dossier (or a code issued twice), never merged.
                    raise RowRejected(columns["code"], f"Mã hồ sơ “{row.code}” đã có trên hệ thống cho hồ sơ tiếp nhận "
                                                       f"lúc {dossier.received_at:%H:%M %d/%m/%Y}, khác thời điểm "
                                                       f"tiếp nhận trong tệp ({row.received_at:%H:%M %d/%m/%Y}).")
                standing = _standing(dossier)
                new = plan_update([KnownEvent(e.type, e.at) for e in standing], dossier.status, row)
                if not new:
                    outcomes.append(RowOutcome(row.line, row.code, "unchanged"))
                    continue
                unit_id = catalog.unit(row, procedure, columns["unit"]) if row.unit else dossier.unit_id
                _check_sequence(dossier.status, new)
                plans.append((row, procedure, note, dossier, new, unit_id))
        except RowRejected as exc:
            outcomes.append(RowOutcome(row.line, row.code, "rejected", exc.column, exc.reason))

    written = _write(session, plans, catalog, cal, now=now, agency_code=agency_code, user_id=user_id, run_id=run_id)
    outcomes.extend(written)
    outcomes.sort(key=lambda o: o.line)
    return outcomes


def _raw_code(values, match) -> str:
    index = match.column_of("code")
    if index is None or index >= len(values):
        return ""
    return str(values[index] or "").strip()[:64]


def _standing(dossier: Dossier) -> list[DossierEvent]:
    return sorted((e for e in dossier.events if not e.voided and e.voids_event_id is None
                   and e.type not in ("voided", "corrected")), key=lambda e: (e.at, e.seq))


def _event_row(event: PlannedEvent, *, seq: int, unit_id: int | None, user_id: int | None, now: datetime,
               run_id: int) -> DossierEvent:
    data = dict(event.data)
    data["import_run"] = run_id
    if user_id is not None:
        data["imported_by"] = user_id
    if event.estimated:
        data["estimated"] = True
    # Done elsewhere, not by the officer who imports (the run records who imported): no user on the event.
    return DossierEvent(seq=seq, type=event.type, at=event.at, recorded_at=now, user_id=None,
                        unit_id=unit_id if event.type == "forwarded" else None, note=event.note, data=data)


def _write(session, plans, catalog: _Catalog, cal, *, now, agency_code, user_id, run_id) -> list[RowOutcome]:
    """Create and update the planned dossiers of a batch; a batch the database refuses is retried row by row."""
    if not plans:
        return []
    savepoint = session.begin_nested()
    try:
        outcomes = _apply_all(session, plans, catalog, cal, now=now, agency_code=agency_code, user_id=user_id,
                              run_id=run_id)
        savepoint.commit()
        return outcomes
    except IntegrityError:
        savepoint.rollback()
    outcomes = []
    for plan in plans:  # one at a time, so that only the refused row is lost
        if plan[3] is not None:
            session.refresh(plan[3])
        savepoint = session.begin_nested()
        try:
            outcomes += _apply_all(session, [plan], catalog, cal, now=now, agency_code=agency_code, user_id=user_id,
                                   run_id=run_id)
            savepoint.commit()
        except IntegrityError:
            savepoint.rollback()
            outcomes.append(RowOutcome(plan[0].line, plan[0].code, "rejected", "Mã hồ sơ",
                                       "Cơ sở dữ liệu từ chối ghi hồ sơ này (mã đã được ghi đồng thời?)."))
    return outcomes


def _apply_all(session, plans, catalog: _Catalog, cal, *, now, agency_code, user_id, run_id) -> list[RowOutcome]:
    """Write a batch: each dossier's events and what the writer derives from them, in memory; then register
    numbers for the new dossiers the writer accepted (no gap for a refused one), one flush, the counters."""
    pattern = codes.code_pattern(agency_code) if agency_code else None
    outcomes: list[RowOutcome] = []
    created: list[tuple[Dossier, ParsedRow]] = []
    own_days: dict = {}
    for row, procedure, note, dossier, events, unit_id in plans:
        if dossier is None:
            own = pattern.match(row.code) if pattern is not None else None
            dossier = Dossier(
                code=row.code, external_code=own is None, reception_point=row.reception_point,
                procedure_id=procedure.id, rule=catalog.rule(procedure, row.received_at), field=procedure.field,
                unit_id=unit_id, applicant_kind=row.applicant_kind,
                applicant_name=row.applicant_name, applicant_name_search=fold(row.applicant_name)[:255],
                applicant_id_number=row.id_number, applicant_phone=row.phone, applicant_email=row.email,
                applicant_address=row.address, request_summary=row.request_summary, channel=row.channel,
                documents=[], sets=1, submitted_at=row.submitted_at, received_at=row.received_at,
                received_by_id=None, register_year=row.received_at.year, created_at=now, updated_at=now,
            )
            for seq, event in enumerate(events, start=1):
                dossier.events.append(_event_row(event, seq=seq, unit_id=unit_id, user_id=user_id, now=now,
                                                 run_id=run_id))
            try:
                _write_life(session, dossier, cal)  # not in the session yet: a refused row is simply dropped
            except RowRejected as exc:
                outcomes.append(RowOutcome(row.line, row.code, "rejected", exc.column, exc.reason))
                continue
            created.append((dossier, row))
            if own is not None:
                day, seq = row.received_at.date(), int(own.group(2))
                own_days[day] = max(own_days.get(day, 0), seq)
            outcomes.append(RowOutcome(row.line, row.code, "created", reason=note,
                                       events=",".join(e.type for e in events)))
        else:
            seq = max((e.seq for e in dossier.events), default=0)
            appended = []
            for event in events:
                seq += 1
                appended.append(_event_row(event, seq=seq, unit_id=unit_id, user_id=user_id, now=now,
                                           run_id=run_id))
            dossier.events.extend(appended)
            try:
                _write_life(session, dossier, cal)
            except RowRejected as exc:
                for stored in appended:  # the replay refused them before storing anything
                    dossier.events.remove(stored)
                outcomes.append(RowOutcome(row.line, row.code, "rejected", exc.column, exc.reason))
                continue
            dossier.updated_at = now
            outcomes.append(RowOutcome(row.line, row.code, "updated", reason=note,
                                       events=",".join(e.type for e in events)))
    by_year: dict[int, list[Dossier]] = defaultdict(list)
    for dossier, row in created:
        by_year[row.received_at.year].append(dossier)
    for year, dossiers in sorted(by_year.items()):
        # Each new dossier takes the next entry of the register of its reception year (one statement a year).
        for dossier, number in zip(dossiers, codes.reserve_register_numbers(session, year, len(dossiers))):
            dossier.register_number = number
    session.add_all([dossier for dossier, _row in created])
    session.flush()
    for day, seq in sorted(own_days.items()):
        # The day's code counter stands past every number the imported dossiers of our own format use.
        codes.stand_past(session, agency_code, day, seq)
    return outcomes


# -- saved mappings ---------------------------------------------------------------------------------


def save_mapping(session, name: str, mapping: Mapping, *, user=None, now: datetime) -> ImportMapping:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ImportFileError("Tên bảng ánh xạ từ 1 đến 120 ký tự.")
    saved = session.scalar(select(ImportMapping).where(ImportMapping.name == name))
    before = dict(saved.definition) if saved is not None else None
    if saved is None:
        saved = ImportMapping(name=name, created_by_id=getattr(user, "id", None), created_at=now)
        session.add(saved)
    saved.definition = mapping.to_definition()
    saved.updated_at = now
    session.flush()
    audit.record(session, "import_mapping:save", "import_mapping", saved.id, user=user, before=before,
                 after={"name": name, "definition": saved.definition})
    return saved


def import_file(session, stream, filename: str, *, mapping: Mapping, now: datetime, agency_code: str,
                commit: Callable[[], None], user=None, source: str = "web", dry_run: bool = False,
                batch_size: int = BATCH_SIZE) -> int:
    """Open, import and audit one file; return the run's id (the run records a file-level error).

    Raises ImportFileError, writing nothing, when the file cannot be opened at all.
    """
    from intake.dossier_import.reading import open_table

    try:
        table = open_table(stream, filename)
    except FileError as exc:
        raise ImportFileError(str(exc)) from exc
    try:
        match = match_headers(table.headers, mapping)
        if not match.usable:
            raise ImportFileError(describe_missing(match))
        run = start_run(session, filename=filename, user=user, source=source, dry_run=dry_run, mapping=mapping,
                        now=now)
        commit()
        run_id = run.id
        error = ""
        try:
            import_table(session, run_id, table, mapping, user=user, now=now, agency_code=agency_code,
                         commit=commit, batch_size=batch_size)
        except ImportFileError as exc:
            error = exc.message
        finish_run(session, run_id, user=user, now=now, error=error)
        commit()
        return run_id
    finally:
        if table.close is not None:
            table.close()
