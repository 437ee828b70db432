"""The scan's statements (issue 13): exact, and each a seek on its flag-first index.

A steady pass has nothing to change; it must find that out through index seeks, never by
reading the flagged dossiers. Each clock kind's flag is set by one statement and cleared by
one statement per way its rule can fail (``deadlines.scan.complement``): their union must be
exactly where the rule fails, on both databases, for every state a dossier can be in.
"""
from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta

from sqlalchemy import event, or_, select

from deadlines import lifecycle, scan
from deadlines.scan import CLOCK_KINDS, WRITER_KINDS, complement, run_scan, sql_condition
from deadlines.store import DERIVED_COLUMNS, calendar_for
from tests.factories import make_procedure, make_unit
from tthc.models import Dossier

NOW = datetime(2026, 3, 2, 10, 0)  # a Monday, inside office hours


def _grid(session):
    """Dossiers in every status, with deadlines around each threshold (and none), extended or not,
    forwarding deadlines before and after now (and none), flags on and off."""
    unit, proc = make_unit(session), make_procedure(session)
    th = lifecycle.thresholds(calendar_for(session), NOW)
    instants = [None, NOW - timedelta(days=1), NOW, NOW + timedelta(minutes=1), th.apology_until,
                th.apology_until + timedelta(minutes=1), th.due_soon_until, th.due_soon_until + timedelta(minutes=1)]
    rows = []
    combos = itertools.product(lifecycle.STATUSES, instants, (False, True), (None, NOW - timedelta(hours=1), NOW))
    for n, (status, deadline, extended, forwarding) in enumerate(combos):
        d = Dossier(code=f"G-260302-{n:05d}", procedure_id=proc.id, rule={}, field=proc.field, unit_id=unit.id,
                    applicant_name=f"Người nộp {n}", channel="direct", received_at=NOW - timedelta(days=3),
                    register_year=2026, register_number=n + 1, status=status, deadline_at=deadline,
                    original_deadline_at=deadline, extended=extended, forwarding_deadline_at=forwarding,
                    # every other dossier starts with every flag on: the clears are tested as well as the sets
                    **{f"flag_{k}": bool(n % 2) for k in CLOCK_KINDS})
        session.add(d)
        rows.append(d)
    session.flush()
    return rows, th


def test_the_complement_of_each_rule_is_exactly_where_it_fails(db_session):
    rows, th = _grid(db_session)
    assert len(rows) > 400
    for kind in CLOCK_KINDS:
        rule = lifecycle.WATCH_RULES[kind]
        holds = {d.id for d in rows if lifecycle.holds(kind, d, th)}
        fails = {d.id for d in rows} - holds
        assert holds and fails, kind
        assert set(db_session.scalars(select(Dossier.id).where(sql_condition(rule, th)))) == holds, kind
        disjuncts = complement(rule, th)
        assert len(disjuncts) > 1, kind
        assert set(db_session.scalars(select(Dossier.id).where(or_(*disjuncts)))) == fails, kind


def test_a_pass_on_the_grid_leaves_each_flag_equal_to_its_rule_and_a_second_changes_nothing(db_session):
    rows, th = _grid(db_session)
    db_session.commit()
    cal = calendar_for(db_session)
    first = run_scan(db_session, NOW, cal=cal)
    db_session.commit()
    assert sum(first.counts["cleared"].values()) > 0 and sum(first.counts["flagged"].values()) > 0
    for d in db_session.scalars(select(Dossier)):
        for kind in CLOCK_KINDS:
            assert getattr(d, f"flag_{kind}") == lifecycle.holds(kind, d, th), (kind, d.status, d.deadline_at)
    second = run_scan(db_session, NOW, cal=cal)
    assert sum(second.counts["flagged"].values()) == sum(second.counts["cleared"].values()) == 0


def test_the_flags_the_scan_leaves_alone_are_the_writers():
    # A rule without an instant of the pass cannot be changed by the clock: the writer stores its flag.
    assert set(WRITER_KINDS) == {"finished_late"}
    assert {f"flag_{k}" for k in WRITER_KINDS} <= set(DERIVED_COLUMNS)
    assert not {f"flag_{k}" for k in CLOCK_KINDS} & set(DERIVED_COLUMNS)


def _scan_updates(session) -> list[tuple[str, object]]:
    return _pass_statements(session, lambda st: st.lstrip().upper().startswith("UPDATE DOSSIER"))


def _pass_statements(session, keep) -> list[tuple[str, object]]:
    """The (statement, parameters) a pass at NOW sends for which ``keep(statement)`` holds."""
    statements = []
    conn = session.connection()

    def capture(conn_, cursor, statement, parameters, context, executemany):
        if keep(statement):
            statements.append((statement, parameters))

    event.listen(conn, "before_cursor_execute", capture)
    try:
        run_scan(session, NOW, cal=calendar_for(session))
    finally:
        event.remove(conn, "before_cursor_execute", capture)
    return statements


def test_every_statement_of_a_pass_is_a_seek_on_its_flag_first_index(db_session):
    _grid(db_session)
    db_session.commit()
    updates = _scan_updates(db_session)
    # One set and at least two clears per clock kind.
    assert len(updates) >= 3 * len(CLOCK_KINDS)
    conn = db_session.connection()
    dialect = conn.dialect.name
    for statement, params in updates:
        kind = next(k for k in CLOCK_KINDS if f"flag_{k} =" in statement.split("WHERE", 1)[1])
        index = f"ix_dossier_watch_{kind}"
        if dialect == "sqlite":
            plan = " ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
            assert re.search(rf"SEARCH dossier USING (COVERING )?INDEX {index} \(flag_{kind}=\? AND status=\?",
                             plan), (statement, plan)
            assert "SCAN dossier" not in plan, (statement, plan)
        else:
            # A tiny table: with plain scans off, show that an index answers the statement (PostgreSQL
            # picks among the indexes by cost; bench/scan.py shows the plans at 1M).
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))
            assert "Index" in plan and "Seq Scan" not in plan, (statement, plan)
    db_session.rollback()



def test_each_clear_seeks_its_status_even_when_statistics_say_no_flag_is_on(db_session):
    """Statistics taken before any flag was set (a first pass, autoanalyze not yet run) tell PostgreSQL
    that "flag on" is one row: an ``IN`` of statuses was then filtered, not sought, and a steady pass
    read every flagged dossier (95 ms at 1M). Each clear of a status that fails the rule names one
    status, an equality the index seeks."""
    from sqlalchemy import update

    rows, _ = _grid(db_session)
    flags = {f"flag_{k}": False for k in CLOCK_KINDS}
    db_session.execute(update(Dossier).values(flags))
    db_session.commit()
    conn = db_session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE dossier")
    db_session.execute(update(Dossier).where(Dossier.id.in_([d.id for d in rows[::2]]))
                       .values({name: True for name in flags}))
    db_session.flush()
    # The clears where the status fails the rule (its first part): flag on, then the status alone.
    clears = [(st, p) for st, p in _scan_updates(db_session)
              if re.search(r"WHERE dossier\.flag_\w+ = (true|1) AND dossier\.status (= \S+|IN \(.*\))\s*$", st)]
    assert len(clears) >= len(CLOCK_KINDS)
    for statement, params in clears:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            plan = " | ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))
            cond = re.search(r"Index Cond: ([^|]*)", plan)
            assert cond and "status" in cond.group(1), (statement, plan)
    db_session.rollback()


def test_the_alerts_of_a_first_pass_are_inserted_without_reading_the_alert_table(db_session):
    """ON CONFLICT keeps alerts unique. A NOT EXISTS on the alerts besides made PostgreSQL, with the
    statistics of an empty alert table (a first pass after a deploy), scan the alerts the INSERT was
    adding once per dossier: quadratic, 194 s for the 52,610 overdue dossiers of 1M."""
    _grid(db_session)
    db_session.commit()
    conn = db_session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE alert")
    inserts = _pass_statements(
        db_session, lambda st: st.lstrip().upper().startswith("INSERT INTO ALERT") and "FROM dossier" in st)
    bulk = [(st, p) for st, p in inserts if "flag_" in st.split("WHERE", 1)[1]]
    assert bulk, inserts  # "finished late" is always inserted from its flag
    explain = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
    for statement, params in bulk:
        plan = [str(r[-1] if conn.dialect.name == "sqlite" else r[0]) for r in conn.exec_driver_sql(explain + statement, params)]
        reads = [line for line in plan if re.search(r"\balert\b", line) and not line.strip().startswith("Insert on alert")
                 and "Conflict" not in line]
        assert not reads, (statement, plan)
    db_session.rollback()
