"""Reads of the action plans: period statuses, the measured figures, the rows of the plan report.

Measured tasks (the task's ``measure`` column, data not code):
- ``catalog_posted``: the catalog's active procedures (the ones the public catalog posts), by online level;
- ``dossier_summary``: the total row of "Tình hình, kết quả giải quyết TTHC" over the period's dates
  (tthc.reports.queries.summary_rows over that range: flows over the range, never sums of monthly rows),
  plus the dossiers finished late that had an apology (form 04).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from tthc.models import PLAN_PROGRESS_LABELS, Dossier, Plan, PlanPeriod, PlanProgress, PlanTask, Procedure
from tthc.plans import timing as tm


def find_plan(session, plan_id: int) -> Optional[Plan]:
    return session.scalar(select(Plan).where(Plan.id == plan_id).options(
        selectinload(Plan.tasks).selectinload(PlanTask.periods).selectinload(PlanPeriod.progress),
        selectinload(Plan.tasks).selectinload(PlanTask.units),
        selectinload(Plan.tasks).selectinload(PlanTask.users)))


def find_plan_by_number(session, number: str) -> Optional[Plan]:
    plan_id = session.scalar(select(Plan.id).where(Plan.number == (number or "").strip()))
    return find_plan(session, plan_id) if plan_id is not None else None


def list_plans(session) -> list[Plan]:
    return list(session.scalars(select(Plan).options(selectinload(Plan.tasks))
                                .order_by(Plan.issued_date.desc(), Plan.number)))


def first_report_date(period: PlanPeriod) -> Optional[date]:
    first = min((p.recorded_at for p in period.progress), default=None)
    return first.date() if first is not None else None


def latest_progress(period: PlanPeriod) -> Optional[PlanProgress]:
    return max(period.progress, key=lambda p: (p.recorded_at, p.id), default=None)


def period_status(period: PlanPeriod, today: date) -> str:
    return tm.period_status(today, period.end_date, period.due_date, first_report_date(period))


def timing_label(task: PlanTask) -> str:
    try:
        return tm.parse_timing(task.timing).label
    except tm.TimingError:
        return "Không xác định (chưa có kỳ báo cáo)"


def periods_in(task: PlanTask, first_day: date, last_day: date) -> list[PlanPeriod]:
    """The task's periods overlapping the range; if none, the latest one ended before it (a one-off task)."""
    inside = [p for p in task.periods if p.start_date <= last_day and p.end_date >= first_day]
    if inside:
        return inside
    before = [p for p in task.periods if p.end_date < first_day]
    return before[-1:]


# -- measured figures ------------------------------------------------------------------------------


@dataclass
class Measured:
    """What the product knows for a task over a range: a title and labelled figures."""

    title: str
    figures: list[tuple[str, object]] = field(default_factory=list)
    note: str = ""

    def text(self) -> str:
        from tthc.templating import format_number, format_percent

        parts = []
        for label, value in self.figures:
            if isinstance(value, float):
                value = format_percent(value * 100)
            elif value is None:
                value = "–"
            else:
                value = format_number(value)
            parts.append(f"{label}: {value}")
        return "; ".join(parts) + (f" ({self.note})" if self.note else "")


def catalog_posted(session, now: datetime) -> Measured:
    rows = dict(session.execute(select(Procedure.online_level, func.count(Procedure.id))
                                .where(Procedure.active.is_(True)).group_by(Procedure.online_level)).all())
    total = sum(rows.values())
    return Measured("Thủ tục hành chính niêm yết công khai", [
        ("Số TTHC đang áp dụng, niêm yết công khai", total),
        ("Trực tuyến toàn trình", rows.get("Toàn trình", 0)),
        ("Trực tuyến một phần", rows.get("Một phần", 0)),
    ], note=f"theo danh mục TTHC tại thời điểm {now:%H:%M %d/%m/%Y}")


def dossier_summary(session, first_day: date, last_day: date, now: datetime) -> Measured:
    """The summary report's total row over [first_day, last_day], the same computation as
    ``flask reports summary --from first_day --to last_day``."""
    from tthc.reports import periods as rperiods
    from tthc.reports import queries as rq
    from tthc.reports.exports import hooks as report_hooks

    period = rperiods.custom(first_day, last_day)
    rows = rq.summary_rows(session, period, by="field", now=now, state_at=report_hooks().state_at(session))
    total = rq.total_row(rows)
    late_with_apology = session.scalar(
        select(func.count(Dossier.id)).where(
            Dossier.finished_at >= period.start, Dossier.finished_at < period.end,
            Dossier.status != "cancelled", Dossier.classification == "late", Dossier.extended.is_(True))) or 0
    return Measured("Kết quả giải quyết TTHC trong kỳ", [
        ("Tổng số hồ sơ nhận giải quyết", total.received),
        ("Kỳ trước chuyển qua", total.carried),
        ("Tiếp nhận mới", total.new),
        ("Đã giải quyết", total.finished),
        ("Trước hạn", total.early),
        ("Đúng hạn", total.on_time),
        ("Quá hạn", total.late),
        ("Đang giải quyết", total.in_progress),
        ("Đang quá hạn", total.overdue),
        ("Trả lại / rút / dừng giải quyết", total.returned),
        ("Tỷ lệ đúng hạn, trước hạn", total.on_time_rate),
        ("Hồ sơ trễ hạn có văn bản xin lỗi", late_with_apology),
    ], note=f"từ {first_day:%d/%m/%Y} đến {last_day:%d/%m/%Y}")


def measure(session, key: Optional[str], first_day: date, last_day: date, now: datetime) -> Optional[Measured]:
    if key == "catalog_posted":
        return catalog_posted(session, now)
    if key == "dossier_summary":
        return dossier_summary(session, first_day, last_day, now)
    return None


# -- the plan report -------------------------------------------------------------------------------


@dataclass
class ReportRow:
    number: int
    content: str
    lead: str
    timing: str
    done: str
    evidence: str
    status: str
    measured: Optional[Measured] = None

    def cells(self) -> list:
        done = self.done
        if self.measured is not None:
            done = (done + "\n" if done else "") + "Số liệu của hệ thống: " + self.measured.text()
        return [self.number, self.content, self.lead, self.timing, done, self.evidence, self.status]


REPORT_HEADERS = ["STT", "Nội dung nhiệm vụ", "Đơn vị, cá nhân chủ trì", "Thời gian thực hiện",
                  "Kết quả thực hiện", "Sản phẩm, minh chứng", "Tình trạng"]


def evidence_text(progress: PlanProgress) -> str:
    parts = []
    if progress.evidence_number or progress.evidence_date:
        doc = f"Văn bản số {progress.evidence_number}" if progress.evidence_number else "Văn bản"
        if progress.evidence_date:
            doc += f" ngày {progress.evidence_date:%d/%m/%Y}"
        parts.append(doc)
    if progress.evidence_url:
        parts.append(progress.evidence_url)
    if progress.file_name:
        parts.append(f"Tệp đính kèm: {progress.file_name}")
    return "; ".join(parts)


def report_rows(session, plan: Plan, span: tm.Span, today: date, now: datetime) -> list[ReportRow]:
    """A row per task: what was reported for its periods in the range, with the measured figures."""
    out = []
    for task in sorted(plan.tasks, key=lambda t: t.number):
        periods = periods_in(task, span.start_date, span.end_date)
        done, evidence, status = [], [], []
        for period in periods:
            prefix = f"{period.label}: " if len(periods) > 1 or period.label != span.label else ""
            last = latest_progress(period)
            state = tm.STATUS_LABELS[period_status(period, today)]
            if last is not None:
                text = last.done_text or ""
                if last.status == "not_done" and last.reason:
                    text = (text + " " if text else "") + f"Lý do chưa thực hiện: {last.reason}"
                done.append(prefix + text)
                ev = evidence_text(last)
                if ev:
                    evidence.append(prefix + ev)
                status.append(f"{prefix}{PLAN_PROGRESS_LABELS[last.status]} ({state.lower()})")
            else:
                status.append(prefix + state)
        if not periods:
            status.append("Không có kỳ báo cáo")
        measured = None
        if task.measure:
            # Over the task's periods within the range (a quarter's, or a year's four); the range itself when
            # none of its periods falls in it (e.g. a one-off task reported on later).
            inside = [p for p in periods if p.start_date <= span.end_date and p.end_date >= span.start_date]
            first = max(span.start_date, min((p.start_date for p in inside), default=span.start_date))
            last_day = min(span.end_date, max((p.end_date for p in inside), default=span.end_date))
            measured = measure(session, task.measure, first, last_day, now)
        out.append(ReportRow(task.number, task.content, task.lead, task.timing, "\n".join(d for d in done if d),
                             "\n".join(evidence), "\n".join(status), measured))
    return out


def due_periods(session, today: date) -> list[PlanPeriod]:
    """Periods with no report whose last day has come (due or missing), oldest first."""
    reported = select(PlanProgress.period_id)
    return list(session.scalars(
        select(PlanPeriod).where(PlanPeriod.end_date <= today, PlanPeriod.id.not_in(reported))
        .options(selectinload(PlanPeriod.task).selectinload(PlanTask.plan)).order_by(PlanPeriod.due_date)))
