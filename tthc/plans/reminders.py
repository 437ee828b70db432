"""Reminders about plan periods, raised in the existing alert inboxes (one alert per period and kind).

- ``plan_due``: the period's last day has come and nobody has reported yet (until its due date);
- ``plan_missing``: the due date has passed with no report.
Linked users of the task see them in their inbox, supervisors and administrators see every alert
(deadlines.alerts.visible_alerts_filter). Like the late-case scan, the pass is set-based and safe to
run twice or concurrently: ``INSERT ... SELECT ... WHERE NOT EXISTS`` plus ``ON CONFLICT DO NOTHING``
on the unique (plan_period_id, kind) constraint. The caller commits.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, insert, literal, null, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tthc import alert_clock
from tthc.models import Alert, PlanPeriod, PlanProgress
from tthc.plans.services import refresh_due_dates

PLAN_ALERT_LABELS = {
    "plan_due": "Kế hoạch: đến hạn báo cáo",
    "plan_missing": "Kế hoạch: chưa báo cáo (quá hạn)",
}
PLAN_ALERT_KINDS = tuple(PLAN_ALERT_LABELS)


def _insert(session, select_stmt) -> int:
    cols = ["plan_period_id", "kind", "unit_id", "created_at"]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt = pg_insert(Alert).from_select(cols, select_stmt).on_conflict_do_nothing(
            constraint="uq_alert_plan_period_kind")
    elif dialect == "sqlite":
        stmt = sqlite_insert(Alert).from_select(cols, select_stmt).on_conflict_do_nothing()
    else:  # pragma: no cover
        stmt = insert(Alert).from_select(cols, select_stmt)
    return len(session.execute(stmt.returning(Alert.id)).all())


def raise_reminders(session, now: datetime) -> dict[str, int]:
    """One pass at ``now``: refresh due dates, then raise the missing reminders. Returns new alerts per kind."""
    today = now.date()
    refresh_due_dates(session, today)
    unreported = ~exists().where(PlanProgress.period_id == PlanPeriod.id)
    rules = {
        "plan_due": and_(PlanPeriod.end_date <= today, PlanPeriod.due_date >= today),
        "plan_missing": PlanPeriod.due_date < today,
    }
    counts = {}
    for kind, rule in rules.items():
        sel = select(PlanPeriod.id, literal(kind), null(), literal(now)).where(
            rule, unreported, ~exists().where(Alert.plan_period_id == PlanPeriod.id, Alert.kind == kind))
        counts[kind] = _insert(session, sel)
    if any(counts.values()):
        alert_clock.stamp_at_commit(session)
    session.flush()
    return counts
