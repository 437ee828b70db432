"""Reads of the dossier import: runs, their per-row reports, saved mappings."""
from __future__ import annotations

from typing import IO, Iterator, Optional

from sqlalchemy import select

from intake.dossier_import.mapping import Mapping
from intake.dossier_import.report import OUTCOME_LABELS, report_workbook
from tthc.models import ImportMapping, ImportRun, ImportRunRow


def get_run(session, run_id: int) -> ImportRun:
    run = session.get(ImportRun, run_id) if isinstance(run_id, int) and 0 < run_id < 2**31 else None
    if run is None:
        raise LookupError(f"Không tìm thấy lần nhập số {run_id}.")
    return run


def recent_runs(session, limit: int = 20) -> list[ImportRun]:
    return list(session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)))


def report_rows(session, run_id: int, *, outcome: str | None = None, limit: int | None = None,
                offset: int = 0) -> list[ImportRunRow]:
    stmt = select(ImportRunRow).where(ImportRunRow.run_id == run_id)
    if outcome:
        stmt = stmt.where(ImportRunRow.outcome == outcome)
    stmt = stmt.order_by(ImportRunRow.line, ImportRunRow.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def _stream_rows(session, run_id: int) -> Iterator[tuple]:
    stmt = (select(ImportRunRow.line, ImportRunRow.code, ImportRunRow.outcome, ImportRunRow.events,
                   ImportRunRow.column, ImportRunRow.reason)
            .where(ImportRunRow.run_id == run_id).order_by(ImportRunRow.line, ImportRunRow.id)
            .execution_options(yield_per=2000))
    for row in session.execute(stmt):
        yield tuple(row)


def report_workbook_for(session, run_id: int, target: Optional[IO[bytes]] = None) -> Optional[bytes]:
    """The run's report as .xlsx, streamed from the database (memory flat in the number of rows)."""
    run = get_run(session, run_id)
    counts = run.counts or {}
    summary = [("Tệp", run.filename), ("Bắt đầu", f"{run.started_at:%H:%M %d/%m/%Y}"),
               ("Chạy thử (không ghi)", "Có" if run.dry_run else "Không")]
    summary += [(OUTCOME_LABELS[k], counts.get(k, 0)) for k in OUTCOME_LABELS]
    if run.error:
        summary.append(("Lỗi", run.error))
    return report_workbook(f"Kết quả nhập hồ sơ – lần nhập số {run.id}", summary, _stream_rows(session, run_id),
                           target)




def saved_mappings(session) -> list[ImportMapping]:
    return list(session.scalars(select(ImportMapping).order_by(ImportMapping.name)))


def get_saved_mapping(session, name_or_id) -> Mapping:
    stmt = select(ImportMapping)
    if isinstance(name_or_id, int) or (isinstance(name_or_id, str) and name_or_id.isdigit()):
        found = session.get(ImportMapping, int(name_or_id)) if int(name_or_id) < 2**31 else None
    else:
        found = session.scalar(stmt.where(ImportMapping.name == name_or_id))
    if found is None:
        raise LookupError(f"Không có bảng ánh xạ “{name_or_id}”.")
    return Mapping.from_definition(found.definition)
