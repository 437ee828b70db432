"""The home pages' sections are read in their own order from an index (issue 13).

The desk's "results to hand over" (oldest result first) and "supplements awaited" (by last change),
and a unit's queue (by deadline), take their first rows from an index that holds them in that order:
no page sorts every finished dossier of the province. SQLite plans as on a fresh database (no
ANALYZE); on PostgreSQL, whose test tables are tiny, plain and bitmap scans are switched off to show
that an index answers.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import event

from deadlines.store import calendar_for
from intake import queries
from tests.factories import make_procedure, make_unit
from tthc.models import Dossier

NOW = datetime(2026, 3, 2, 10, 0)


def _selects(session, run) -> list[tuple]:
    statements = []
    conn = session.connection()

    def capture(conn_, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM dossier" in statement:
            statements.append((statement, parameters))

    event.listen(conn, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(conn, "before_cursor_execute", capture)
    return statements


def _plan(conn, statement, params) -> str:
    if conn.dialect.name == "sqlite":
        return " | ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
    return " | ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))


def _world(session):
    unit, proc = make_unit(session), make_procedure(session)
    for n, status in enumerate(("finished", "awaiting_supplement", "in_progress", "received") * 3):
        session.add(Dossier(code=f"H-260302-{n:05d}", procedure_id=proc.id, rule={}, field=proc.field, unit_id=unit.id,
                            current_unit_id=unit.id, applicant_name=f"Người nộp {n}", channel="direct",
                            received_at=NOW, register_year=2026, register_number=n + 1, status=status,
                            deadline_at=NOW, original_deadline_at=NOW, forwarding_deadline_at=NOW,
                            finished_at=NOW if status == "finished" else None))
    session.flush()
    return unit


def _assert_ordered_by_index(conn, statement, params, index):
    plan = _plan(conn, statement, params)
    assert index in plan, (statement, plan)
    if conn.dialect.name == "sqlite":
        assert "TEMP B-TREE FOR ORDER BY" not in plan and "SCAN dossier" not in plan, (statement, plan)
    else:
        assert "Sort" not in plan.replace("Incremental Sort", ""), (statement, plan)


def test_the_desks_sections_read_their_rows_in_order_from_an_index(db_session):
    _world(db_session)
    cal = calendar_for(db_session)
    statements = _selects(db_session, lambda: queries.reception_worklist(db_session, NOW, cal))
    conn = db_session.connection()
    listed = [(st, p) for st, p in statements if "ORDER BY" in st and "LIMIT" in st]
    by_order = {"dossier.finished_at": "ix_dossier_status_finished", "dossier.updated_at": "ix_dossier_status_updated"}
    checked = 0
    for statement, params in listed:
        order = statement.rsplit("ORDER BY", 1)[1]
        for column, index in by_order.items():
            if order.strip().startswith(column):
                _assert_ordered_by_index(conn, statement, params, index)
                checked += 1
    assert checked == 2, listed
    db_session.rollback()


def test_a_units_queue_reads_the_unit_holding_the_dossier_through_an_index(db_session):
    unit = _world(db_session)
    cal = calendar_for(db_session)
    statements = _selects(db_session, lambda: queries.unit_queue(db_session, unit.id, NOW, cal, 2))
    conn = db_session.connection()
    held = [(st, p) for st, p in statements if "current_unit_id" in st.split("WHERE", 1)[-1]]
    assert len(held) >= 2, statements
    for statement, params in held:
        plan = _plan(conn, statement, params)
        if conn.dialect.name == "sqlite":
            assert "ix_dossier_unit_queue" in plan and "SCAN dossier" not in plan, (statement, plan)
        else:  # PostgreSQL picks among the indexes by cost: on a tiny table, any of them
            assert "Index" in plan and "Seq Scan" not in plan, (statement, plan)
    db_session.rollback()
