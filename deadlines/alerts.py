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

from sqlalchemy import and_, exists, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from deadlines.lifecycle import OPEN_STATUSES
from deadlines.scan import ALERT_LABELS
from tthc import alert_clock, audit
from tthc.models import Alert, AlertAck, AlertWatermark, Dossier, Plan, PlanPeriod, PlanTask, PlanTaskUser, User
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


def _visible_parts(user: User) -> list[tuple[object, bool]]:
    """The alerts ``user`` may see as disjoint SQL conditions on Alert ([True]: all of them), each with
    whether the user's watermark covers it (AlertWatermark, tthc/alert_clock.py).

    Besides the dossier alerts of their role, every user sees the reminders about the periods of the
    plan tasks an administrator linked them to (issue 17); supervisors and administrators see all.
    The two never overlap (an alert has one subject: a dossier or a plan period). The watermark covers
    what the user sees by role and unit: that changes only when a dossier's units change (its alerts
    follow it and are stamped anew, deadlines/store.py) or the user's role or unit changes (the
    watermark is then not read). It does not cover the linked reminders, which a new link shows at
    once; they are a few a year."""
    if user.role in ALL_ALERTS_ROLES:
        return [(True, True)]
    linked = Alert.plan_period_id.in_(
        select(PlanPeriod.id).join(PlanTaskUser, PlanTaskUser.task_id == PlanPeriod.task_id)
        .where(PlanTaskUser.user_id == user.id))
    dossier_cond = _dossier_alerts_filter(user)
    return [(linked, False)] if dossier_cond is None else [(dossier_cond, True), (linked, False)]


def visible_alerts_filter(user: User):
    """SQL condition on Alert for the alerts ``user`` may see (None: none at all; True: all)."""
    parts = [cond for cond, _ in _visible_parts(user)]
    return parts[0] if len(parts) == 1 else or_(*parts)


def _acked(user_id: int):
    return exists().where(AlertAck.alert_id == Alert.id, AlertAck.user_id == user_id)


def _same_view(user: User):
    """The watermark row of ``user`` computed for the role and unit they have now."""
    return and_(AlertWatermark.user_id == user.id, AlertWatermark.role == user.role,
                AlertWatermark.unit_id.is_(None) if user.unit_id is None else AlertWatermark.unit_id == user.unit_id)


def watermark(session, user: User) -> int:
    """The user's watermark for the role and unit they have now (0 without one). Read on its own, so
    the badge's statement compares seq with a value: PostgreSQL plans a subquery's result as a third
    of the table and walks every alert."""
    return session.scalar(select(AlertWatermark.acked_through).where(_same_view(user))) or 0


def _unread_parts(user: User, through: int) -> list:
    """The user's unread alerts as disjoint SQL conditions: not acknowledged by them and, where the
    watermark (``through``, :func:`watermark`) covers the part, above it. The watermark changes no
    answer (every alert of the part at or below it carries the user's acknowledgement; 0 is always
    safe); it lets the badge read only the alerts above it, through the index of the part's range
    (ix_alert_seq, ix_alert_unit_seq, ix_alert_kind_seq)."""
    out = []
    for cond, watermarked in _visible_parts(user):
        terms = [] if cond is True else [cond]
        if watermarked:
            terms.append(Alert.seq > through)
        out.append(and_(*terms, ~_acked(user.id)))
    return out


def _read_unread_parts(session, user: User) -> tuple[int, list]:
    """The user's watermark (read only when a part is covered by it) and their unread parts."""
    covered = any(watermarked for _, watermarked in _visible_parts(user))
    through = watermark(session, user) if covered else 0
    return through, _unread_parts(user, through)


def alerts_query(user: User, *, unread_only: bool = False, kind: str | None = None, through: int = 0):
    """SELECT (Alert, Dossier.code, acknowledged) for the user's inbox, newest first; None if no access.
    ``through``: the user's :func:`watermark`, which lets ``unread_only`` skip what it covers."""
    cond = visible_alerts_filter(user)
    if cond is None:
        return None
    # "Acknowledged" as an outer join on the acknowledgement's key: a page reads one row per alert it
    # shows. As an EXISTS column, PostgreSQL hashed all of the user's 120,000 acknowledgements first.
    ack = aliased(AlertAck)
    # An alert is about a dossier or a plan task's period (exactly one): outer joins give either's columns.
    stmt = (select(Alert, Dossier.code, Dossier.applicant_name, Dossier.deadline_at,
                   ack.alert_id.is_not(None).label("acknowledged"),
                   PlanPeriod.label.label("period_label"), PlanPeriod.due_date.label("period_due_date"),
                   PlanTask.number.label("task_number"), PlanTask.content.label("task_content"),
                   Plan.number.label("plan_number"))
            .outerjoin(ack, and_(ack.alert_id == Alert.id, ack.user_id == user.id))
            .outerjoin(Dossier, Dossier.id == Alert.dossier_id)
            .outerjoin(PlanPeriod, PlanPeriod.id == Alert.plan_period_id)
            .outerjoin(PlanTask, PlanTask.id == PlanPeriod.task_id)
            .outerjoin(Plan, Plan.id == PlanTask.plan_id))
    if unread_only:
        parts = _unread_parts(user, through)
        stmt = stmt.where(parts[0] if len(parts) == 1 else or_(*parts))
    elif cond is not True:
        stmt = stmt.where(cond)
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
    parts = (_read_unread_parts(session, user)[1] if unread_only
             else [cond for cond, _ in _visible_parts(user)])
    total = 0
    for cond in parts:
        stmt = select(Alert.id)
        if cond is not True:
            stmt = stmt.where(cond)
        if kind:
            stmt = stmt.where(Alert.kind == kind)
        if cap is not None:
            stmt = stmt.limit(cap + 1 - total)
        total += session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        if cap is not None and total > cap:
            return cap + 1
    return total


def inbox_query(session, user: User, *, unread_only: bool = False, kind: str | None = None):
    """The inbox's statement (:func:`alerts_query`, newest first; None without an inbox) as the pages run it.

    The unread ones: when at most :data:`UNREAD_CAP` are unread (a department that works its inbox),
    their ids are found first through the watermark's range and the page is sorted from them;
    otherwise the newest are found by walking the alerts by date, most of them being unread. Either
    plan alone is slow in the other case (SQLite walked 120,000 read alerts by date for the home
    page's ten), and SQLite has no statistics to choose between them."""
    if not unread_only:
        return alerts_query(user, kind=kind)
    through, parts = _read_unread_parts(session, user)
    ids: list[int] = []
    for cond in parts:
        stmt = select(Alert.id).where(cond)
        if kind:
            stmt = stmt.where(Alert.kind == kind)
        ids += session.scalars(stmt.limit(UNREAD_CAP + 1 - len(ids))).all()
        if len(ids) > UNREAD_CAP:
            return alerts_query(user, unread_only=True, kind=kind, through=through)
    stmt = alerts_query(user, kind=kind)
    return None if stmt is None else stmt.where(Alert.id.in_(ids))


def unread_count(session, user: User, cap: int | None = None) -> int:
    """The user's unread alerts: exact up to ``cap`` (default :data:`UNREAD_CAP`), ``cap + 1`` beyond."""
    return count_alerts(session, user, unread_only=True, cap=UNREAD_CAP if cap is None else cap)


def _record(session, user: User, acked: list[int]) -> None:
    if acked:
        audit.record(session, "acknowledge", "alert", acked[0] if len(acked) == 1 else None, user=user,
                     after={"alert_ids": acked[:500], "count": len(acked)})


def acknowledge(session, user: User, alert_ids, now: datetime) -> int:
    """Acknowledge the given alerts (those the user may see and has not acknowledged yet)."""
    cond = visible_alerts_filter(user)
    if cond is None:
        return 0
    ids = [i for i in map(parse_id, alert_ids) if i is not None]  # out-of-range ids: unknown, never an overflow
    if not ids:
        return 0
    todo = []
    for start in range(0, len(ids), 500):  # a bounded IN: SQLite's default build caps a statement at 32,766 parameters
        stmt = select(Alert.id).where(Alert.id.in_(ids[start:start + 500]), ~_acked(user.id))
        if cond is not True:
            stmt = stmt.where(cond)
        todo += session.scalars(stmt).all()
    for alert_id in todo:
        session.add(AlertAck(alert_id=alert_id, user_id=user.id, acknowledged_at=now))
    _record(session, user, todo)
    session.flush()
    if todo:
        advance_watermark(session, user)
    return len(todo)


def acknowledge_all(session, user: User, now: datetime) -> int:
    """Acknowledge every alert the user sees, in one INSERT ... SELECT (a supervisor's may be 120,000)."""
    cond = visible_alerts_filter(user)
    if cond is None:
        return 0
    sel = select(Alert.id, literal(user.id), literal(now)).where(~_acked(user.id))
    if cond is not True:
        sel = sel.where(cond)
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):  # a second click meanwhile: its rows are skipped, not an error
        dml = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = dml(AlertAck).from_select(["alert_id", "user_id", "acknowledged_at"], sel).on_conflict_do_nothing()
    else:  # pragma: no cover
        stmt = insert(AlertAck).from_select(["alert_id", "user_id", "acknowledged_at"], sel)
    acked = sorted(session.execute(stmt.returning(AlertAck.alert_id)).scalars())
    _record(session, user, acked)
    session.flush()
    advance_watermark(session, user)  # also when nothing was left: it sets a watermark never set yet
    return len(acked)


def advance_watermark(session, user: User) -> int:
    """Move the user's watermark up to just below the first alert they see by role and unit without
    their acknowledgement (to the clock's value when there is none), and return it.

    The clock is read under its share lock first (tthc/alert_clock.py), so no alert stamped at or below
    the value is still in flight. The row records the role and unit it was computed for; an upsert
    replaces one of another role or unit, and otherwise only raises it: two acknowledgements of the
    same user at once each write a true watermark, and the higher one stays."""
    watermarked = [cond for cond, covered in _visible_parts(user) if covered]
    if not watermarked:
        return 0
    cond = watermarked[0]
    through = watermark(session, user)
    clock = alert_clock.read_for_watermark(session)
    if clock <= through:
        return through
    stmt = select(Alert.seq).where(Alert.seq > through, Alert.seq <= clock, ~_acked(user.id))
    if cond is not True:
        stmt = stmt.where(cond)
    first = session.scalar(stmt.order_by(Alert.seq).limit(1))
    new = clock if first is None else first - 1
    if new <= through:
        return through
    dialect = session.get_bind().dialect.name
    dml = pg_insert if dialect == "postgresql" else sqlite_insert
    row = dml(AlertWatermark).values(user_id=user.id, role=user.role, unit_id=user.unit_id, acked_through=new)
    table = AlertWatermark.__table__.c
    session.execute(row.on_conflict_do_update(
        index_elements=[AlertWatermark.user_id],
        set_={"role": row.excluded.role, "unit_id": row.excluded.unit_id, "acked_through": row.excluded.acked_through},
        where=or_(table.role != row.excluded.role, table.unit_id.is_distinct_from(row.excluded.unit_id),
                  table.acked_through < row.excluded.acked_through)))
    return new


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
           "acknowledge_all", "advance_watermark", "watermark", "inbox_query", "mail_newly_overdue", "mail_daily_digest"]
