"""Alerts: who sees which alert, acknowledgement, and the digest e-mails (issue 5).

Visibility: supervisors and administrators see every alert; a handler sees the
alerts of their unit (the unit holding the dossier: alerts follow it when it moves)
of dossiers they may open;
the reception desk sees "not forwarded" alerts (forwarding is its duty,
domain.md §4.8). An alert is unread for a user until that user acknowledges it.

Digest e-mail: after a pass, ONE message per recipient (active supervisors, and
unit heads of the units concerned, with an e-mail address) listing the newly
overdue dossiers, never one message per dossier. Alerts are claimed for mailing
with an UPDATE ... WHERE emailed_at IS NULL, so two passes never mail the same
alert twice. The daily digest (scheduler, 07:00 on working days) sends each
recipient the current overdue / apology-missing / due-soon lists.

Never imports ``intake``.
"""
from __future__ import annotations

import logging
import smtplib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from deadlines.lifecycle import OPEN_STATUSES
from deadlines.scan import ALERT_LABELS
from tthc import audit
from tthc.models import Alert, AlertAck, Dossier, Plan, PlanPeriod, PlanTask, PlanTaskUser, User
from tthc.params import parse_id

log = logging.getLogger(__name__)

ALL_ALERTS_ROLES = ("supervisor", "admin")


def _dossier_alerts_filter(user: User):
    """A handler's dossier alerts are those of the unit holding the dossier (alerts follow the
    dossier, deadlines.store.write_life) and only of dossiers the handler may open (held by their
    unit, or received for it): no inbox shows a code, an applicant or a deadline its reader cannot open."""
    if user.role == "handler":
        if user.unit_id is None:
            return None
        held = aliased(Dossier)  # its own alias: the inbox query joins Dossier too
        can_open = (select(held.id).where(held.id == Alert.dossier_id)
                    .where(or_(held.current_unit_id == user.unit_id, held.unit_id == user.unit_id)).exists())
        return and_(Alert.dossier_id.is_not(None), Alert.unit_id == user.unit_id, can_open)
    if user.role == "reception":
        return Alert.kind == "not_forwarded"
    return None


def _visible_parts(user: User) -> list:
    """The alerts ``user`` may see as disjoint SQL conditions on Alert ([True]: all of them).

    Besides the dossier alerts of their role, every user sees the reminders about the periods of the
    plan tasks an administrator linked them to (issue 17); supervisors and administrators see all.
    The two never overlap (an alert has one subject: a dossier or a plan period)."""
    if user.role in ALL_ALERTS_ROLES:
        return [True]
    linked = Alert.plan_period_id.in_(
        select(PlanPeriod.id).join(PlanTaskUser, PlanTaskUser.task_id == PlanPeriod.task_id)
        .where(PlanTaskUser.user_id == user.id))
    dossier_cond = _dossier_alerts_filter(user)
    return [linked] if dossier_cond is None else [dossier_cond, linked]


def visible_alerts_filter(user: User):
    """SQL condition on Alert for the alerts ``user`` may see (None: none at all; True: all)."""
    parts = _visible_parts(user)
    return parts[0] if len(parts) == 1 else or_(*parts)


def _acked(user_id: int):
    return exists().where(AlertAck.alert_id == Alert.id, AlertAck.user_id == user_id)


def alerts_query(user: User, *, unread_only: bool = False, kind: str | None = None):
    """SELECT (Alert, Dossier.code, acknowledged) for the user's inbox, newest first; None if no access."""
    cond = visible_alerts_filter(user)
    if cond is None:
        return None
    acked = _acked(user.id)
    # An alert is about a dossier or a plan task's period (exactly one): outer joins give either's columns.
    stmt = (select(Alert, Dossier.code, Dossier.applicant_name, Dossier.deadline_at, acked.label("acknowledged"),
                   PlanPeriod.label.label("period_label"), PlanPeriod.due_date.label("period_due_date"),
                   PlanTask.number.label("task_number"), PlanTask.content.label("task_content"),
                   Plan.number.label("plan_number"))
            .outerjoin(Dossier, Dossier.id == Alert.dossier_id)
            .outerjoin(PlanPeriod, PlanPeriod.id == Alert.plan_period_id)
            .outerjoin(PlanTask, PlanTask.id == PlanPeriod.task_id)
            .outerjoin(Plan, Plan.id == PlanTask.plan_id))
    if cond is not True:
        stmt = stmt.where(cond)
    if unread_only:
        stmt = stmt.where(~acked)
    if kind:
        stmt = stmt.where(Alert.kind == kind)
    return stmt.order_by(Alert.created_at.desc(), Alert.id.desc())


#: The header's badge counts a user's unread alerts up to this many, then says "hơn 1.000": a province's
#: supervisor may have a hundred thousand, and every page shows the badge (issue 13).
UNREAD_CAP = 1000


def count_alerts(session, user: User, *, unread_only: bool = False, kind: str | None = None,
                 cap: int | None = None) -> int:
    """The alerts ``user`` sees (``unread_only``: not acknowledged by them); with ``cap``, exact up to
    ``cap`` and ``cap + 1`` beyond (no more rows are read). One count per part of what the user sees
    (_visible_parts), each served by its own index: as one OR, PostgreSQL filters every alert."""
    total = 0
    for cond in _visible_parts(user):
        stmt = select(Alert.id)
        if cond is not True:
            stmt = stmt.where(cond)
        if unread_only:
            stmt = stmt.where(~_acked(user.id))
        if kind:
            stmt = stmt.where(Alert.kind == kind)
        if cap is not None:
            stmt = stmt.limit(cap + 1 - total)
        total += session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        if cap is not None and total > cap:
            return cap + 1
    return total


def unread_count(session, user: User, cap: int | None = None) -> int:
    """The user's unread alerts: exact up to ``cap`` (default :data:`UNREAD_CAP`), ``cap + 1`` beyond."""
    return count_alerts(session, user, unread_only=True, cap=UNREAD_CAP if cap is None else cap)


def acknowledge(session, user: User, alert_ids, now: datetime) -> int:
    """Acknowledge the given alerts (those the user may see and has not acknowledged yet)."""
    cond = visible_alerts_filter(user)
    if cond is None:
        return 0
    ids = [i for i in map(parse_id, alert_ids) if i is not None]  # out-of-range ids: unknown, never an overflow
    if not ids:
        return 0
    stmt = select(Alert.id).where(Alert.id.in_(ids), ~_acked(user.id))
    if cond is not True:
        stmt = stmt.where(cond)
    todo = session.scalars(stmt).all()
    for alert_id in todo:
        session.add(AlertAck(alert_id=alert_id, user_id=user.id, acknowledged_at=now))
    if todo:
        audit.record(session, "acknowledge", "alert", todo[0] if len(todo) == 1 else None, user=user,
                     after={"alert_ids": list(todo)[:500], "count": len(todo)})
    session.flush()
    return len(todo)


def acknowledge_all(session, user: User, now: datetime) -> int:
    cond = visible_alerts_filter(user)
    if cond is None:
        return 0
    stmt = select(Alert.id).where(~_acked(user.id))
    if cond is not True:
        stmt = stmt.where(cond)
    return acknowledge(session, user, session.scalars(stmt).all(), now)


# -- digest e-mail --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestLine:
    code: str
    applicant_name: str
    deadline_at: datetime | None
    unit_id: int | None
    kind: str


def recipients(session, unit_ids) -> dict[str, tuple[User, set[int] | None]]:
    """E-mail → (user, units they receive; None = all). Supervisors get all; unit heads their unit."""
    out: dict[str, tuple[User, set[int] | None]] = {}
    for user in session.scalars(select(User).where(User.active.is_(True), User.email != "",
                                                   User.role == "supervisor")):
        out[user.email.strip().lower()] = (user, None)
    if unit_ids:
        heads = session.scalars(select(User).where(User.active.is_(True), User.email != "",
                                                   User.is_unit_head.is_(True), User.unit_id.in_(unit_ids)))
        for user in heads:
            key = user.email.strip().lower()
            if key in out:
                continue
            out[key] = (user, {user.unit_id})
    return out


def claim_newly_overdue(session, now: datetime) -> list[DigestLine]:
    """Mark the not-yet-mailed overdue alerts as mailed and return them (each alert is claimed once)."""
    ids = session.scalars(
        update(Alert).where(Alert.kind == "overdue", Alert.emailed_at.is_(None)).values(emailed_at=now)
        .returning(Alert.id).execution_options(synchronize_session=False)
    ).all()
    if not ids:
        return []
    rows = []
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start:chunk_start + 500]
        rows.extend(session.execute(
            select(Dossier.code, Dossier.applicant_name, Dossier.deadline_at, Alert.unit_id, Alert.kind)
            .join(Dossier, Dossier.id == Alert.dossier_id).where(Alert.id.in_(chunk))
        ).all())
    rows.sort(key=lambda r: (r.deadline_at or datetime.max, r.code))
    return [DigestLine(*r) for r in rows]


def current_digest_lines(session, now: datetime) -> list[DigestLine]:
    """Open dossiers currently flagged overdue / apology missing / due soon (the daily digest)."""
    lines = []
    for kind in ("overdue", "apology_missing", "due_soon"):
        flag = getattr(Dossier, f"flag_{kind}")
        rows = session.execute(
            select(Dossier.code, Dossier.applicant_name, Dossier.deadline_at,
                   func.coalesce(Dossier.current_unit_id, Dossier.unit_id))
            .where(flag == True, Dossier.status.in_(OPEN_STATUSES))  # noqa: E712
            .order_by(Dossier.deadline_at)
        ).all()
        lines.extend(DigestLine(r[0], r[1], r[2], r[3], kind) for r in rows)
    return lines


def _format_body(lines: list[DigestLine], heading: str, base_url: str) -> str:
    out = [heading, ""]
    for kind in ("overdue", "apology_missing", "due_soon"):
        group = [ln for ln in lines if ln.kind == kind]
        if not group:
            continue
        out.append(f"{ALERT_LABELS[kind]} ({len(group)}):")
        for ln in group:
            due = ln.deadline_at.strftime("%H:%M %d/%m/%Y") if ln.deadline_at else "-"
            out.append(f"  - {ln.code}  {ln.applicant_name}  hạn {due}  {base_url}/dossiers/{ln.code}")
        out.append("")
    out.append("Thư tự động của hệ thống theo dõi hồ sơ TTHC; xem và xác nhận cảnh báo tại "
               f"{base_url}/alerts")
    return "\n".join(out)


def send_digest(session, lines: list[DigestLine], config, *, subject: str, heading: str) -> int:
    """One message per recipient with the lines they may see. Returns the number of messages sent."""
    if not lines or not config.get("SMTP_HOST"):
        return 0
    by_unit: dict[int | None, list[DigestLine]] = defaultdict(list)
    for ln in lines:
        by_unit[ln.unit_id].append(ln)
    sent = 0
    base_url = (config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    targets = recipients(session, [u for u in by_unit if u is not None])
    if not targets:
        return 0
    with smtplib.SMTP(config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25), timeout=30) as smtp:
        for email, (user, units) in sorted(targets.items()):
            mine = lines if units is None else [ln for ln in lines if ln.unit_id in units]
            if not mine:
                continue
            msg = EmailMessage()
            msg["From"] = config.get("SMTP_FROM") or "tthc@localhost"
            msg["To"] = email
            msg["Subject"] = f"{subject} ({len(mine)} hồ sơ)"
            msg.set_content(_format_body(mine, heading, base_url))
            try:
                smtp.send_message(msg)
                sent += 1
            except smtplib.SMTPException:  # one bad address must not stop the others
                log.exception("digest e-mail to %s failed", email)
    return sent


def mail_newly_overdue(session, now: datetime, config) -> int:
    """After a pass: claim the newly overdue alerts and mail one digest per recipient. The caller commits."""
    if not config.get("SMTP_HOST"):
        return 0
    lines = claim_newly_overdue(session, now)
    return send_digest(session, lines, config, subject=f"[TTHC] Hồ sơ mới quá hạn {now:%H:%M %d/%m/%Y}",
                       heading=f"Các hồ sơ sau đã quá hạn giải quyết (lượt quét {now:%H:%M %d/%m/%Y}).")


def mail_daily_digest(session, now: datetime, config) -> int:
    if not config.get("SMTP_HOST"):
        return 0
    lines = current_digest_lines(session, now)
    return send_digest(session, lines, config, subject=f"[TTHC] Tổng hợp hồ sơ cần xử lý {now:%d/%m/%Y}",
                       heading=f"Tình hình hồ sơ cần chú ý lúc {now:%H:%M %d/%m/%Y}.")


__all__ = ["visible_alerts_filter", "alerts_query", "count_alerts", "unread_count", "acknowledge",
           "acknowledge_all", "mail_newly_overdue", "mail_daily_digest"]
