"""The review's workbook from the database: rows (queries) → workbook (annex); shared by page and CLI."""
from __future__ import annotations

from datetime import datetime

from flask import current_app

from deadlines.review import annex, queries
from tthc import audit
from tthc.reports.workbook import ReportHeader, Target

TITLE = "Rà soát thời gian giải quyết thủ tục hành chính"


def header_for(window: queries.Window, now: datetime) -> ReportHeader:
    cfg = current_app.config
    return ReportHeader(parent_agency=cfg.get("PARENT_AGENCY") or "", agency=cfg.get("AGENCY_NAME") or "",
                        place=cfg.get("AGENCY_PLACE") or "", report_date=now, title=TITLE,
                        subtitle=f"Hồ sơ giải quyết {window.describe()}",
                        number=cfg.get("REPORT_NUMBER_TEMPLATE", "Số:        /BC"))


def build_workbook(session, window: queries.Window, coverage, now: datetime, target: Target = None):
    """The workbook (bytes when ``target`` is None) and the review's rows."""
    rows = queries.review_rows(session, window, coverage, today=now.date())
    components = queries.component_rows(session, window)
    data = annex.review_workbook(header_for(window, now), rows, components, window.describe(),
                                 queries.parse_coverage(coverage), target)
    return data, rows


def log_export(session, window: queries.Window, coverage, note: str = "", user=None) -> None:
    audit.record(session, "export", "report", "review_times", user=user, note=note,
                 after={"type": "review_times", "from": window.first_day, "to": window.last_day,
                        "coverage": queries.coverage_text(coverage)})
