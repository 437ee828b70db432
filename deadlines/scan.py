"""The late-case scan (issue 5, domain.md §4.6–§4.8): one set-based pass of SQL statements.

A pass sets the scan's flags on dossiers, clears the flags that no longer hold,
and creates one alert per dossier and kind for what it flagged. It never loops
over dossiers in Python.

The flags of the kinds the clock changes (``CLOCK_KINDS``: their rule compares a column with an
instant of the pass: overdue, due soon, apology missing, not forwarded) are the scan's. Each is
kept by one UPDATE that sets it where the rule holds and the flag is off (returning the ids it
flagged), and by one UPDATE per way the rule can fail (``complement``: ``NOT (a AND b AND c)``
is ``NOT a``, ``a AND NOT b``, ``a AND b AND NOT c``) that clears it where it is on. Every one
of them compares columns with constants and instants only, in the order of an index that starts
with the flag (``ix_dossier_watch_<kind>``), so each is a seek: a steady pass, which has nothing
to change, reads a few index pages and no row (issue 13). They are built and compiled once
with the instants as parameters.

"Finished late" compares two columns of the dossier and no instant: the clock cannot change it.
Its flag is stored by the one writer (deadlines/store.py) with everything else it derives
from the events; the scan only raises its alerts, for dossiers finished within
``FINISHED_LATE_ALERT_DAYS``.

Alerts are inserted for the ids just flagged, or, for a first pass and for "finished late",
with ``INSERT ... SELECT ... WHERE NOT EXISTS``; always with ``ON CONFLICT DO NOTHING`` on the
unique (dossier, kind) constraint, so two passes running at once never duplicate an alert. On
PostgreSQL a transaction-level advisory lock serialises passes (no deadlock between two passes
updating the same rows in a different order); on SQLite the database write lock does the same.

The thresholds that need the working-day calendar (due soon: within
``DUE_SOON_WORKING_DAYS`` working days; apology missing: due within 1 working
day, domain.md §4.6) are computed once in Python, then compared in SQL.

An extended dossier is watched against its new appointment (``deadline_at``);
"finished late" judges it against ``original_deadline_at`` (domain.md §4.6).

The caller commits (architecture.md: services flush, callers commit).
Never imports ``intake``.
"""
from __future__ import annotations

import operator
from datetime import datetime, timedelta

from sqlalchemy import DateTime, and_, bindparam, exists, false, func, insert, literal, select, text, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from deadlines import lifecycle
from deadlines.lifecycle import FINISHED_STATUSES  # noqa: F401  (re-exported)
from deadlines.workdays import WorkCalendar
from tthc import alert_clock
from tthc.models import Alert, Dossier, ScanRun

#: The kinds of alert, in display order; each has a ``flag_<kind>`` column on Dossier.
ALERT_KINDS = ("overdue", "apology_missing", "due_soon", "not_forwarded", "finished_late")
assert set(ALERT_KINDS) == set(lifecycle.WATCH_KINDS)

ALERT_LABELS = {
    "overdue": "Quá hạn",
    "apology_missing": "Chưa có phiếu xin lỗi / gia hạn",
    "due_soon": "Sắp đến hạn",
    "not_forwarded": "Chưa chuyển xử lý đúng hạn",
    "finished_late": "Có kết quả trễ hạn",
}

#: A finished-late alert is raised only for dossiers finished within this many days of
#: the pass: older late results are history for the reports, not something to act on,
#: and alerting them would flood every inbox with years of records on first deployment.
FINISHED_LATE_ALERT_DAYS = 31

# Any fixed 64-bit key: the PostgreSQL advisory lock taken by a pass.
_PG_LOCK_KEY = 0x7474_6863_5343_414E  # "tthcSCAN"


class TickAlreadyRecorded(Exception):
    """Another scheduler already recorded a pass for this (kind, scheduled_for) tick."""


def thresholds(cal: WorkCalendar, now: datetime, horizon_days: int) -> dict[str, datetime]:
    """The instants the pass compares deadlines with, computed once with the calendar."""
    th = lifecycle.thresholds(cal, now, horizon_days)
    return {"due_soon_until": th.due_soon_until, "apology_until": th.apology_until}


_SQL_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def sql_condition(rule, th: lifecycle.Thresholds):
    """A watch rule of ``deadlines.lifecycle`` as an SQL condition on Dossier.

    Never NULL: every column a comparison reads is required to be NOT NULL (a NULL gives FALSE,
    as :func:`lifecycle.holds` says), so ``NOT condition`` is the exact complement. A threshold
    the calendar could not give (beyond its years) makes the comparison false.
    """
    if isinstance(rule, lifecycle.All):
        return and_(*(sql_condition(part, th) for part in rule.parts))
    if isinstance(rule, lifecycle.In):
        column = getattr(Dossier, rule.col.name)
        return column == rule.values[0] if len(rule.values) == 1 else column.in_(rule.values)
    if isinstance(rule, lifecycle.IsFalse):
        return getattr(Dossier, rule.col.name) == False  # noqa: E712
    if isinstance(rule, lifecycle.Cmp):
        sides, guards = [], []
        for operand in (rule.left, rule.right):
            if isinstance(operand, lifecycle.At):
                value = getattr(th, operand.name)
                if value is None:
                    return false()
                sides.append(value)
            else:
                column = getattr(Dossier, operand.name)
                sides.append(column)
                guards.append(column.isnot(None))
        return and_(*guards, _SQL_OPS[rule.op](*sides))
    raise TypeError(f"not a watch condition: {rule!r}")


def _reads_clock(cond) -> bool:
    if isinstance(cond, lifecycle.All):
        return any(_reads_clock(part) for part in cond.parts)
    if isinstance(cond, lifecycle.Cmp):
        return any(isinstance(operand, lifecycle.At) for operand in (cond.left, cond.right))
    return False


#: The kinds whose flag the scan keeps: their rule compares a column with an instant of the pass.
CLOCK_KINDS = tuple(k for k, rule in lifecycle.WATCH_RULES.items() if _reads_clock(rule))
#: The kinds whose flag the writer stores (the rule reads the dossier's own columns only).
WRITER_KINDS = tuple(k for k in ALERT_KINDS if k not in CLOCK_KINDS)

#: The values a column of a rule's ``In`` can hold, so that "not in these" is "one of the others", each a
#: seek (the writer assigns the status from this vocabulary only: tests/test_architecture.py).
_DOMAINS = {"status": lifecycle.STATUSES}
_INVERSE = {"<": operator.ge, "<=": operator.gt, ">": operator.le, ">=": operator.lt}


def _nullable(name: str) -> bool:
    return Dossier.__table__.c[name].nullable


def _negations(part, th: lifecycle.Thresholds, not_null: set[str]) -> list:
    """The ways one part of a rule can fail, each a condition an index can seek. ``not_null``: the
    columns the preceding parts already require to be set (their IS NULL arm would be empty)."""
    if isinstance(part, lifecycle.In):
        others = [v for v in _DOMAINS[part.col.name] if v not in part.values]
        column = getattr(Dossier, part.col.name)
        # One equality each, not one IN: an equality on the index's second column is always a seek,
        # whereas PostgreSQL, told by statistics taken before any flag was on that "flag on" is one
        # row, filters an IN instead of seeking it and reads every flagged dossier (95 ms a pass).
        out = [column == v for v in others]
        return out + ([column.is_(None)] if _nullable(part.col.name) else [])
    if isinstance(part, lifecycle.IsFalse):
        column = getattr(Dossier, part.col.name)
        return [column == True] + ([column.is_(None)] if _nullable(part.col.name) else [])  # noqa: E712
    if isinstance(part, lifecycle.Cmp):
        sides, out = [], []
        for operand in (part.left, part.right):
            if isinstance(operand, lifecycle.At):
                value = getattr(th, operand.name)
                if value is None:  # the comparison is false (sql_condition): it fails everywhere
                    return [true()]
                sides.append(value)
            else:
                column = getattr(Dossier, operand.name)
                sides.append(column)
                if _nullable(operand.name) and operand.name not in not_null:
                    out.append(column.is_(None))
        return out + [_INVERSE[part.op](*sides)]
    raise TypeError(f"not a watch condition: {part!r}")


def complement(rule, th: lifecycle.Thresholds) -> list:
    """``NOT rule`` as disjuncts, each a conjunction of the rule's leading parts and the failure of the
    next one (never NULL, like :func:`sql_condition`): their union is exactly where the rule fails."""
    parts = rule.parts if isinstance(rule, lifecycle.All) else (rule,)
    out, prefix, not_null = [], [], set()
    for part in parts:
        out += [and_(*prefix, negation) for negation in _negations(part, th, not_null)]
        prefix.append(sql_condition(part, th))
        if isinstance(part, lifecycle.Cmp):
            not_null |= {o.name for o in (part.left, part.right) if isinstance(o, lifecycle.Col)}
    return out


def _flag(kind: str):
    return getattr(Dossier, f"flag_{kind}")


def _insert_ignoring_duplicates(session, select_stmt):
    cols = ["dossier_id", "kind", "unit_id", "created_at", "scan_run_id"]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt = pg_insert(Alert).from_select(cols, select_stmt).on_conflict_do_nothing(
            constraint="uq_alert_dossier_kind")
    elif dialect == "sqlite":
        stmt = sqlite_insert(Alert).from_select(cols, select_stmt).on_conflict_do_nothing()
    else:  # pragma: no cover - other databases rely on NOT EXISTS and the constraint
        stmt = insert(Alert).from_select(cols, select_stmt)
    # RETURNING counts the rows really inserted (rowcount is -1 for INSERT ... SELECT with psycopg).
    return len(session.execute(stmt.returning(Alert.id)).all())


#: Above this many dossiers flagged by one pass (a first pass), their alerts are inserted by one
#: INSERT ... SELECT over the flagged rows rather than by their ids.
_ALERTS_BY_ID = 2000
_PREPARED: dict[str, dict] = {}


def _statements(dialect: str, now: datetime, limits: dict) -> dict:
    """Per clock kind, the UPDATE that sets the flag where the rule holds (returning the ids it flagged)
    and the UPDATEs that clear it where it fails, Core statements on the dossier table with the instants
    as parameters: built and compiled once per database, not at every pass (a steady pass at 1M
    dossiers spent most of its time building SQL). A threshold the calendar could not give makes
    its comparisons false (sql_condition): such a pass builds its statements anew."""
    if any(v is None for v in limits.values()):
        return _build_statements(lifecycle.Thresholds(now=now, **limits))
    if dialect not in _PREPARED:
        names = {"now": now, **limits}
        _PREPARED[dialect] = _build_statements(lifecycle.Thresholds(
            **{name: bindparam(name, type_=DateTime()) for name in names}))
    return _PREPARED[dialect]


def _build_statements(th: lifecycle.Thresholds) -> dict:
    table = Dossier.__table__
    out = {}
    for k in CLOCK_KINDS:
        rule = lifecycle.WATCH_RULES[k]
        flag = table.c[f"flag_{k}"]
        # updated_at is left as is: a flag is the scan's observation, not an officer's change;
        # the version column is not touched either (Core UPDATE), so no officer gets a 409.
        keep = {table.c.updated_at: table.c.updated_at}
        out[k] = (
            update(table).where(flag == False, sql_condition(rule, th))  # noqa: E712
            .values({flag: True, **keep}).returning(table.c.id),
            tuple(update(table).where(flag == True, failed).values({flag: False, **keep})  # noqa: E712
                  for failed in complement(rule, th)),
        )
    return out


def _lock(session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY - (1 << 63)})


def seeks_only(session, on: bool) -> None:
    """On PostgreSQL, have the pass's statements read their flag-first index, for the time of the pass.

    Every statement is built as a seek on its index. PostgreSQL's planner cannot see that a flag
    follows the deadline (the overdue flag is on exactly where the deadline has passed): it multiplies
    "flag off", "running" and "deadline passed" as if independent, expects ~80,000 rows at 1M dossiers
    where a steady pass finds none, and prefers a bitmap over every running dossier (40 ms a
    statement, instead of 0.2 ms through the index it was built for). SET LOCAL ends with the
    transaction at the latest; the pass resets it as soon as its own statements are done.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for setting in ("enable_seqscan", "enable_bitmapscan"):
        session.execute(text(f"SET LOCAL {setting} = off" if on else f"SET LOCAL {setting} TO DEFAULT"))


def run_scan(session, now: datetime, *, cal: WorkCalendar | None = None, kind: str = "cli",
             scheduled_for: datetime | None = None, horizon_days: int | None = None,
             started_at: datetime | None = None) -> ScanRun:
    """One pass at instant ``now`` (naive local time). Returns its ScanRun (flushed, not committed).

    With ``scheduled_for`` the ScanRun is unique per (kind, tick): when another
    scheduler already recorded that tick, raises :class:`TickAlreadyRecorded`
    (the session is then rolled back to before the pass).
    """
    from sqlalchemy.exc import IntegrityError

    if cal is None:
        from deadlines.store import calendar_for

        cal = calendar_for(session)
    if horizon_days is None:
        horizon_days = _config("DUE_SOON_WORKING_DAYS", 2)

    run = ScanRun(kind=kind, scheduled_for=scheduled_for, scan_at=now, started_at=started_at or now, counts={})
    session.add(run)
    if scheduled_for is not None:
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            session.rollback()
            raise TickAlreadyRecorded(f"{kind} tick {scheduled_for:%Y-%m-%d %H:%M} already recorded") from None
    else:
        session.flush()
    _lock(session)
    seeks_only(session, True)

    limits = thresholds(cal, now, horizon_days)
    dialect = session.get_bind().dialect.name
    statements = _statements(dialect, now, limits)
    params = {"now": now, **limits}
    conn = session.connection()
    flagged: dict[str, int] = {}
    cleared: dict[str, int] = {}
    new_ids: dict[str, list[int]] = {}
    for k, (set_flag, clears) in statements.items():
        new_ids[k] = list(conn.execute(set_flag, params).scalars())
        flagged[k] = len(new_ids[k])
        cleared[k] = sum(conn.execute(clear, params).rowcount or 0 for clear in clears)
    for k in WRITER_KINDS:
        new_ids[k], flagged[k], cleared[k] = [], 0, 0

    new_alerts: dict[str, int] = {}
    for k in ALERT_KINDS:
        flag = _flag(k)
        if k != "finished_late" and len(new_ids[k]) <= _ALERTS_BY_ID:
            # A pass only alerts what it has just flagged: a steady pass, which flags nothing,
            # reads no alert at all (issue 13). ON CONFLICT keeps alerts unique all the same.
            new_alerts[k] = 0
            for i in range(0, len(new_ids[k]), 500):
                sel = select(Dossier.id, literal(k), _unit_expr(), literal(now), literal(run.id)).where(
                    Dossier.id.in_(new_ids[k][i:i + 500]))
                new_alerts[k] += _insert_ignoring_duplicates(session, sel)
            continue
        # Every flagged dossier without its alert: a first pass, and "finished late", whose flag the
        # writer (deadlines/store.py) sets when the result is recorded, not the scan. ON CONFLICT skips
        # those that have it. No NOT EXISTS besides: on PostgreSQL, with statistics of an empty alert
        # table (a first pass after a deploy), it became an unparameterised scan of the alerts this
        # very INSERT was adding, once per dossier: quadratic, 194 s for 52,610 dossiers at 1M.
        where = [flag == True]  # noqa: E712
        if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - no ON CONFLICT there
            where.append(~exists().where(Alert.dossier_id == Dossier.id, Alert.kind == k))
        # The flags were just brought up to date, so a set flag means the rule holds now.
        if k == "finished_late":
            where.append(Dossier.finished_at >= now - timedelta(days=FINISHED_LATE_ALERT_DAYS))
        sel = select(
            Dossier.id, literal(k), _unit_expr(), literal(now), literal(run.id)
        ).where(*where)
        new_alerts[k] = _insert_ignoring_duplicates(session, sel)
    seeks_only(session, False)
    if any(new_alerts.values()):
        alert_clock.stamp_at_commit(session)  # only a pass that raised alerts writes the clock

    run.counts = {
        "flagged": flagged,
        "cleared": cleared,
        "new_alerts": new_alerts,
        "total_new_alerts": sum(new_alerts.values()),
        "due_soon_until": limits["due_soon_until"].isoformat(sep=" "),
        "horizon_working_days": horizon_days,
    }
    run.finished_at = _wall_now(now, started_at)
    session.flush()
    return run


def _unit_expr():
    # The unit that holds the dossier now (a multi-unit step), else the handling unit.
    return func.coalesce(Dossier.current_unit_id, Dossier.unit_id)


def _wall_now(now: datetime, started_at: datetime | None) -> datetime:
    """The finishing instant: the wall clock when the pass runs in real time, else ``now``."""
    if started_at is None:
        return now
    from tthc.clock import now as clock_now

    return clock_now()


def _config(key: str, default):
    from flask import current_app, has_app_context

    return current_app.config.get(key, default) if has_app_context() else default


def counts_summary(run: ScanRun) -> str:
    """One line per kind for the CLI: flagged / cleared / new alerts."""
    c = run.counts or {}
    lines = [f"scan at {run.scan_at:%Y-%m-%d %H:%M} ({run.kind})"]
    for k in ALERT_KINDS:
        lines.append(f"  {k:<16} flagged {c.get('flagged', {}).get(k, 0):>7}  cleared {c.get('cleared', {}).get(k, 0):>7}"
                     f"  new alerts {c.get('new_alerts', {}).get(k, 0):>7}")
    lines.append(f"  total new alerts {c.get('total_new_alerts', 0)}")
    return "\n".join(lines)


__all__ = ["ALERT_KINDS", "ALERT_LABELS", "CLOCK_KINDS", "WRITER_KINDS", "TickAlreadyRecorded", "run_scan",
           "seeks_only", "thresholds", "complement", "sql_condition", "counts_summary"]
