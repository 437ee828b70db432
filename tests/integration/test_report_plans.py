"""The report summary is served by indexes (issue 13): the plan of each of its statements, on both databases.

Each part of the aggregate (tthc.reports.queries.summary_statements) reads its own index, holding
every column its sums read, and the corrections find their candidates from the supplement events
at or after the measuring instant and the dossiers closed after it, never by a probe per dossier of
the period. The test databases are tiny: on PostgreSQL plain and bitmap scans are switched off to
show that an index answers; SQLite plans as it would on a fresh database (no ANALYZE).
"""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from tests import reports_fixtures as rf
from tthc.extensions import db
from tthc.models import Dossier
from tthc.reports import periods, queries

PAST = periods.parse_month("2026-03")
RUNNING_NOW = datetime(2026, 3, 10, 12, 0)
PART_INDEXES = ["ix_dossier_finished_stats", "ix_dossier_finished_stats", "ix_dossier_closed_stats",
                "ix_dossier_unended_stats"]
#: In a running period the part "not ended" is summed from the tally (tthc/reports/tally.py): its days
#: of reception, its days of deadline before today, today's deadlines passed, dossiers dated ahead.
TALLY_INDEXES = ["ix_dossier_tally_kind_day", "ix_dossier_tally_kind_day", "ix_dossier_unended_deadline",
                 "ix_dossier_received_at"]
TALLY_READS = {"ix_dossier_tally_kind_day", *TALLY_INDEXES}


@pytest.fixture
def dataset(app):
    with app.app_context():
        ds = rf.build(db.session)
        rf.build_changed_after_the_end(db.session)
        db.session.commit()
        rf.detach(db.session, ds)
    return ds


def _executed(run) -> list[tuple]:
    """The (statement, parameters) of each SELECT that ``run()`` sends, in order."""
    from sqlalchemy import event

    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return statements


def _plan(conn, statement, params) -> str:
    """The plan as one string (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN)."""
    if conn.dialect.name == "sqlite":
        return " | ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
    return " | ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))


def _scans_off(conn) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")


@pytest.mark.parametrize("unit", [False, True], ids=["all units", "one unit"])
@pytest.mark.parametrize("now", [None, RUNNING_NOW], ids=["past period", "running period"])
def test_each_part_of_the_summary_reads_its_own_covering_index(app, dataset, now, unit):
    unit_id = dataset.units["u1"].id if unit else None
    with app.app_context():
        executed = _executed(lambda: queries.summary_tables(db.session, PAST, unit_id=unit_id, now=now))
        # The part "finished" of a period of whole half-months is summed from the tally too; in a
        # running period the part "not ended" is one statement of four parts (tally.unended).
        expected = ["ix_dossier_tally_kind_day"] + PART_INDEXES[1:-1] + (
            PART_INDEXES[-1:] if now is None else ["tally.unended"])
        conn = db.session.connection()
        _scans_off(conn)
        plans = [_plan(conn, st, p) for st, p in executed[:len(expected)]]
        db.session.rollback()
    assert all("GROUP BY" in st for st, _ in executed[:len(expected)])
    assert len(plans) == len(expected)
    for plan, index in zip(plans, expected):
        if index in TALLY_READS or index == "tally.unended":  # a few thousand rows at most
            for part in TALLY_INDEXES if index == "tally.unended" else [index]:
                # A day's deadlines: on a few rows PostgreSQL's costs of the indexes that can serve it tie
                # (the plain one of the column, the other partial one of the same predicate); on a million
                # it reads ix_dossier_unended_deadline, index only (EXPLAIN ANALYZE on the bench database).
                allowed = [part] + (["ix_dossier_original_deadline_at", "ix_dossier_unended_stats"]
                                    if part == "ix_dossier_unended_deadline" and conn.dialect.name == "postgresql"
                                    else [])
                assert any(re.search(rf"(USING (COVERING )?INDEX|using|on) {i}\b", plan) for i in allowed), plan
            assert not re.search(r"SCAN dossier(_tally)?( |$)", plan) and "Seq Scan" not in plan, plan
            continue
        if conn.dialect.name == "sqlite":
            assert f"COVERING INDEX {index}" in plan or f"USING INDEX {index}" in plan, plan
            assert "SCAN dossier" not in plan or f"SCAN dossier USING INDEX {index}" in plan, plan
        else:
            # On a few rows the narrow ix_dossier_finished_at may cost the same as the covering index
            # (on a million, EXPLAIN ANALYZE shows an index-only scan of each part's index: bench/export.py
            # --explain); that each index holds what its part reads is checked below.
            allowed = (index, "ix_dossier_finished_at") if index == "ix_dossier_finished_stats" else (index,)
            assert any(re.search(rf"(using|on) {i}\b", plan) for i in allowed) and "Seq Scan" not in plan, plan
    # The part "not ended" is read in GROUP BY order: no sort of its hundred thousand rows.
    if now is not None:
        return
    if conn.dialect.name == "sqlite":
        assert "TEMP B-TREE" not in plans[-1], plans[-1]
    else:
        assert "Sort" not in plans[-1] and "HashAggregate" not in plans[-1], plans[-1]


def _dossier_columns(stmt) -> set[str]:
    from sqlalchemy.sql import visitors

    table = Dossier.__table__
    return {e.name for e in visitors.iterate(stmt) if getattr(e, "table", None) is table and hasattr(e, "name")}


def test_each_part_reads_only_columns_its_index_holds():
    """What makes the plans above index-only at scale: every dossier column a part's statement names is
    in its index (or, for a partial index, in its predicate)."""
    indexes = {i.name: i for i in Dossier.__table__.indexes}
    predicate_columns = {"ix_dossier_unended_stats": {"finished_at", "closed_at"}, "ix_dossier_closed_stats": set()}
    for stmt, index in zip(queries.summary_statements(PAST, 1, now=RUNNING_NOW), PART_INDEXES):
        held = {c.name for c in indexes[index].columns} | predicate_columns.get(index, set())
        read = _dossier_columns(stmt)
        assert read and read <= held, (index, read - held)


def test_the_corrections_start_from_the_events_after_the_instant_not_from_the_period(app, dataset):
    with app.app_context():
        executed = [(st, p) for st, p in _executed(lambda: queries.summary_rows(db.session, PAST, now=rf.NOW))
                    if "dossier_event" in st and "UNION" in st]
        assert len(executed) == 1, executed
        conn = db.session.connection()
        _scans_off(conn)
        plan = _plan(conn, *executed[0])
        db.session.rollback()
    if conn.dialect.name == "sqlite":
        assert "SEARCH dossier USING INTEGER PRIMARY KEY" in plan, plan
        assert "ix_dossier_event_supplement_at (at>?)" in plan, plan
        assert "ix_dossier_closed_stats (closed_at>?)" in plan, plan
    else:
        # (On these tiny tables PostgreSQL joins the other way round; on a million dossiers it starts from
        # the two ranges too: bench/pages.py --plans.)
        assert "ix_dossier_event_supplement_at" in plan and "Seq Scan" not in plan, plan
