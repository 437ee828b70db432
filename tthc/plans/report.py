"""The report "Báo cáo kết quả thực hiện Kế hoạch ..." for a quarter or a year: rows (queries), the
workbook (workbook), the export logged in the audit log. Shared by the page and ``flask plan report``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from tthc import audit
from tthc.models import Plan
from tthc.plans import queries
from tthc.plans import timing as tm
from tthc.plans.workbook import plan_report_workbook
from tthc.reports.workbook import ReportHeader, Target

RECIPIENTS = ["Giám đốc Sở (để báo cáo);", "Văn phòng UBND tỉnh;", "Sở Nội vụ;", "Lưu: VT, TTr."]


@dataclass
class PlanReport:
    plan: Plan
    span: tm.Span
    header: ReportHeader
    rows: list[queries.ReportRow]

    @property
    def measured(self) -> list[tuple[int, queries.Measured]]:
        return [(row.number, row.measured) for row in self.rows if row.measured is not None]


def title_for(plan: Plan) -> str:
    return f"Báo cáo kết quả thực hiện Kế hoạch số {plan.number} ngày {plan.issued_date:%d/%m/%Y}"


def build(session, plan: Plan, span: tm.Span, now: datetime) -> PlanReport:
    cfg = current_app.config
    subtitle = (f"{plan.title}\nKỳ báo cáo: {span.label} (từ ngày {span.start_date:%d/%m/%Y} "
                f"đến ngày {span.end_date:%d/%m/%Y})")
    header = ReportHeader(parent_agency=cfg.get("PARENT_AGENCY") or "", agency=cfg.get("AGENCY_NAME") or "",
                          place=cfg.get("AGENCY_PLACE") or "", report_date=now, title=title_for(plan),
                          subtitle=subtitle, number=cfg.get("REPORT_NUMBER_TEMPLATE", "Số:        /BC"),
                          recipients=list(RECIPIENTS), preparer_title="NGƯỜI LẬP BÁO CÁO")
    return PlanReport(plan, span, header, queries.report_rows(session, plan, span, now.date(), now))


def workbook(report: PlanReport, target: Target = None):
    measured = [(n, m.title, m.figures, m.note) for n, m in report.measured]
    return plan_report_workbook(report.header, queries.REPORT_HEADERS, [r.cells() for r in report.rows], measured,
                                target)


def log_export(session, report: PlanReport, *, note: str = "", user=None) -> None:
    audit.record(session, "export", "plan_report", report.plan.id,
                 after={"plan": report.plan.number, "from": report.span.start_date, "to": report.span.end_date},
                 note=note, user=user)
