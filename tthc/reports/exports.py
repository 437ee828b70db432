"""Report exports: pick the rows (queries), build the workbook (workbook), say what was exported.

Shared by the reports page and ``flask reports``; both log the export in the audit
log (Decree 13/2023: exports of personal data are logged) and commit themselves.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Optional

from flask import current_app

from tthc import audit, papers
from tthc import text as text_rules
from tthc.params import parse_id
from tthc.models import Unit
from tthc.reports import periods, queries
from tthc.reports.workbook import ReportHeader, Target, late_workbook, register_workbook, summary_workbook

REPORT_TYPES = {
    "summary": "Tình hình, kết quả giải quyết TTHC",
    "register": "Sổ theo dõi hồ sơ (mẫu 07; mẫu 06 cho kỳ kết thúc trước 15/09/2025)",
    "late": "Danh sách hồ sơ quá hạn",
}


def report_label(kind: str, period=None) -> str:
    """The report's name; the register's names the form in force at the period's last day."""
    if kind == "register" and period is not None:
        form = papers.register_form_for(period.last_day)
        return f"{form.name} (mẫu {form.number}, Thông tư {form.circular})"
    return REPORT_TYPES[kind]
SUMMARY_TITLE = "Báo cáo tình hình, kết quả giải quyết thủ tục hành chính"
REGISTER_TITLE = "Sổ theo dõi hồ sơ"
LATE_TITLE = "Danh sách hồ sơ giải quyết quá hạn và đang quá hạn"
EXTENSION_KEY = "tthc_reports"
# Decree 13/2023: ID numbers and phones in full only for the desk and supervisors (tthc.text decides).
PERSONAL_DATA_ROLES = text_rules.PERSONAL_DATA_ROLES


class ReportError(ValueError):
    """Bad input for a report; the message is shown as is."""


@dataclass(frozen=True)
class Hooks:
    """The working-day arithmetic, injected by create_app (tthc must not import ``deadlines``)."""

    calendar_for: Callable
    working_days_late: Callable
    deadline_state_at: Callable

    def late_days(self, session) -> queries.LateDays:
        cal = self.calendar_for(session)
        return lambda deadline, instant: self.working_days_late(cal, deadline, instant)

    def state_at(self, session) -> queries.StateAt:
        """deadline_state_at bound to the session; the calendar is loaded on the first call only."""
        cal = []

        def state_at(dossier, instant):
            if not cal:
                cal.append(self.calendar_for(session))
            return self.deadline_state_at(session, dossier, instant, cal[0])

        return state_at


def hooks() -> Hooks:
    found = current_app.extensions.get(EXTENSION_KEY)
    if found is None:
        raise RuntimeError("tthc.reports.init_app(app, calendar_for=..., working_days_late=..., "
                           "deadline_state_at=...) was not called")
    return found


def period_scheme() -> str:
    return current_app.config.get("REPORT_PERIOD_SCHEME", periods.DECREE_09)


def find_unit(session, unit_id) -> Optional[Unit]:
    if unit_id in (None, ""):
        return None
    if not str(unit_id).strip().isdigit():
        raise ReportError(f"unit must be a unit id (a number), got {unit_id!r}")
    uid = parse_id(unit_id)
    unit = session.get(Unit, uid) if uid is not None else None
    if unit is None:
        raise ReportError(f"no unit with id {unit_id}")
    return unit


def header_for(title: str, period: periods.Period, now: datetime, *, extra: str = "") -> ReportHeader:
    cfg = current_app.config
    if period.label.startswith("Từ"):  # a custom range: its label is already the range
        subtitle = f"Kỳ báo cáo: {period.describe()}"
    else:
        subtitle = f"Kỳ báo cáo: {period.label} ({period.describe()})"
    if extra:
        subtitle += f" – {extra}"
    return ReportHeader(parent_agency=cfg.get("PARENT_AGENCY") or "", agency=cfg.get("AGENCY_NAME") or "",
                        place=cfg.get("AGENCY_PLACE") or "", report_date=now, title=title, subtitle=subtitle,
                        number=cfg.get("REPORT_NUMBER_TEMPLATE", "Số:        /BC"))


def _unit_note(unit: Optional[Unit]) -> str:
    return f"Đơn vị: {unit.name}" if unit is not None else ""


def build_summary(session, period, by: str, unit: Optional[Unit], now: datetime, target: Target = None):
    if by not in queries.DIMENSIONS:
        raise ReportError(f"unknown --by {by!r}: expected field, procedure or unit")
    rows = queries.summary_rows(session, period, by=by, unit_id=unit.id if unit else None, now=now,
                                state_at=hooks().state_at(session))
    total = queries.total_row(rows)
    header = header_for(SUMMARY_TITLE, period, now, extra=_unit_note(unit))
    data = summary_workbook(header, queries.DIMENSION_LABELS[by], rows, total, target)
    return data, len(rows)


def build_register(session, period, unit: Optional[Unit], now: datetime, *, mask_personal: bool,
                   target: Target = None):
    rows = queries.register_rows(session, period, unit.id if unit else None, mask_personal=mask_personal)
    header = header_for(REGISTER_TITLE, period, now, extra=_unit_note(unit))
    header.form_label = papers.register_form_for(period.last_day).label  # the set in force at the range's end
    return register_workbook(header, queries.REGISTER_HEADERS, rows, target)


def build_late(session, period, unit: Optional[Unit], now: datetime, target: Target = None):
    late_days = hooks().late_days(session)
    rows = queries.late_rows(session, period, late_days, now=now, unit_id=unit.id if unit else None,
                             state_at=hooks().state_at(session))
    numbered = (row.cells(i) for i, row in enumerate(rows, 1))
    header = header_for(LATE_TITLE, period, now, extra=_unit_note(unit))
    return late_workbook(header, queries.LATE_HEADERS, numbered, target)


def log_export(session, kind: str, period, *, by: str | None = None, unit: Optional[Unit] = None,
               masked: bool | None = None, note: str = "", user=None) -> None:
    after = {"type": kind, "from": period.first_day, "to": period.last_day}
    if by:
        after["by"] = by
    if unit is not None:
        after["unit_id"] = unit.id
    if masked is not None:
        after["personal_data_masked"] = masked
    audit.record(session, "export", "report", kind, after=after, note=note, user=user)
