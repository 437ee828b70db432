"""The unread badge once alerts are acknowledged (issue 13): it reads only the alerts above the user's
watermark, and the watermark never hides an alert the user has not acknowledged.

At 1,000,000 dossiers the scan raises 120,000 alerts; once a department has acknowledged them, the
badge on every page checked each one against the acknowledgements (SQLite: a handler's list 3.6×, the
dashboard 5.1× a dossier's page). tthc/alert_clock.py says how alerts are stamped and why.
"""
from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import create_engine, event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from deadlines import alerts as alerts_module
from deadlines.alerts import acknowledge, acknowledge_all, alerts_query, count_alerts, inbox_query, unread_count
from deadlines.scan import run_scan
from deadlines.store import calendar_for
from intake import services
from tests.integration.test_intake_services import desk, forward, receive  # noqa: F401  (the desk fixture)
from tthc import accounts, alert_clock
from tthc.models import UNSEQUENCED, Alert, AlertAck, AlertClock, AlertWatermark

SCAN_AT = datetime(2026, 3, 24, 9, 0)  # past the desk's dossiers' deadline (23/03 09:15): overdue
ACK_AT = datetime(2026, 3, 24, 9, 30)


def _scan(desk, at=SCAN_AT):
    """One pass, committed: its alerts are stamped as its transaction commits."""
    run = run_scan(desk.session, at, cal=calendar_for(desk.session))
    desk.session.commit()
    return run


def _clock(desk) -> int:
    return desk.session.scalar(select(AlertClock.value))


def _overdue_in_three_places(desk):
    """Overdue dossiers, with their alerts: one held by unit A, one by unit B, one never forwarded
    (the desk's "not forwarded" alert)."""
    at_a, at_b, at_desk = receive(desk), receive(desk), receive(desk)
    forward(desk, at_a)
    forward(desk, at_b, unit=desk.unit_b)
    _scan(desk)
    return at_a, at_b, at_desk


def _unread_ids(desk, user) -> set[int]:
    return {row.Alert.id for row in desk.session.execute(alerts_query(user, unread_only=True))}


def _watermark(desk, user) -> AlertWatermark | None:
    desk.session.expire_all()
    return desk.session.get(AlertWatermark, user.id)


def test_every_alert_of_a_pass_is_stamped_with_the_clock_as_its_transaction_commits(desk):
    s = desk.session
    at_a, at_b, at_desk = receive(desk), receive(desk), receive(desk)
    forward(desk, at_a)
    forward(desk, at_b, unit=desk.unit_b)
    s.commit()
    run_scan(s, SCAN_AT, cal=calendar_for(s))
    assert set(s.scalars(select(Alert.seq))) == {UNSEQUENCED}, "the clock is the last lock: taken at commit"
    assert _clock(desk) is None
    s.commit()
    seqs = s.scalars(select(Alert.seq)).all()
    assert seqs and set(seqs) == {_clock(desk)} == {1}, "one pass, one reading"
    _scan(desk, datetime(2026, 3, 25, 9, 0))  # a steady pass: nothing new, the clock is not written
    assert _clock(desk) == 1
    run_scan(s, datetime(2026, 3, 26, 9, 0), cal=calendar_for(s))
    s.rollback()  # a pass rolled back leaves nothing to stamp at the next commit
    s.commit()
    assert _clock(desk) == 1


def test_once_everything_is_acknowledged_nothing_is_unread_and_the_watermark_is_the_clock(desk):
    s = desk.session
    _overdue_in_three_places(desk)
    for user in (desk.supervisor, desk.handler, desk.reception):
        assert unread_count(s, user) == len(_unread_ids(desk, user)) > 0
        acknowledge_all(s, user, ACK_AT)
        assert unread_count(s, user) == 0 and not _unread_ids(desk, user)
        wm = _watermark(desk, user)
        assert (wm.role, wm.unit_id, wm.acked_through) == (user.role, user.unit_id, s.scalar(select(AlertClock.value)))
    # A later pass raises new alerts: above every watermark, unread again.
    later = receive(desk, received_at=datetime(2026, 3, 10, 9, 0), now=datetime(2026, 3, 10, 9, 0))
    forward(desk, later, at=datetime(2026, 3, 10, 10, 0), now=datetime(2026, 3, 10, 10, 0))
    _scan(desk, datetime(2026, 3, 25, 9, 0))
    new = set(s.scalars(select(Alert.id).where(Alert.dossier_id == later.id)))
    assert new and _unread_ids(desk, desk.supervisor) == new and unread_count(s, desk.supervisor) == len(new)
    assert _unread_ids(desk, desk.handler) == new


def test_an_alert_moved_to_another_unit_is_unread_for_its_handlers_though_older_than_their_watermark(desk):
    s = desk.session
    _, at_b, _ = _overdue_in_three_places(desk)
    for user in (desk.supervisor, desk.handler):
        acknowledge_all(s, user, ACK_AT)
    moved = set(s.scalars(select(Alert.id).where(Alert.dossier_id == at_b.id)))
    mark = _watermark(desk, desk.handler).acked_through
    assert all(seq <= mark for seq in s.scalars(select(Alert.seq).where(Alert.id.in_(moved))))

    services.record_event(s, at_b, "step_handed_over", user=desk.supervisor, now=datetime(2026, 3, 24, 10),
                          unit=desk.unit_a)
    s.commit()

    assert set(s.scalars(select(Alert.seq).where(Alert.id.in_(moved)))) == {_clock(desk)} and _clock(desk) > mark
    assert _unread_ids(desk, desk.handler) == moved and unread_count(s, desk.handler) == len(moved)
    assert unread_count(s, desk.supervisor) == 0, "the supervisor acknowledged them: still read"


def test_a_watermark_stops_below_the_first_alert_left_unacknowledged(desk):
    s = desk.session
    dossiers = _overdue_in_three_places(desk)
    later = receive(desk, received_at=datetime(2026, 3, 10, 9, 0), now=datetime(2026, 3, 10, 9, 0))
    forward(desk, later, at=datetime(2026, 3, 10, 10, 0), now=datetime(2026, 3, 10, 10, 0))
    _scan(desk, datetime(2026, 3, 25, 9, 0))
    old = set(s.scalars(select(Alert.id).where(Alert.dossier_id.in_([d.id for d in dossiers]))))
    new = set(s.scalars(select(Alert.id).where(Alert.dossier_id == later.id)))
    sup = desk.supervisor

    keep = min(new)  # one alert of the second pass left unread: the watermark covers the first pass only
    acknowledge(s, sup, sorted((old | new) - {keep}), ACK_AT)
    first_seq = s.get(Alert, keep).seq
    assert max(s.get(Alert, i).seq for i in old) <= first_seq - 1
    assert _watermark(desk, sup).acked_through == first_seq - 1
    assert _unread_ids(desk, sup) == {keep} and unread_count(s, sup) == 1

    acknowledge(s, sup, [keep], ACK_AT)
    assert _watermark(desk, sup).acked_through == s.scalar(select(AlertClock.value))
    assert unread_count(s, sup) == 0
    assert count_alerts(s, sup) == len(old | new), "the inbox still counts every alert"


def test_a_watermark_is_not_read_once_the_user_has_another_unit_or_role(desk):
    s = desk.session
    _, at_b, _ = _overdue_in_three_places(desk)
    handler = desk.handler
    acknowledge_all(s, handler, ACK_AT)
    assert unread_count(s, handler) == 0
    unit_b_alerts = set(s.scalars(select(Alert.id).where(Alert.dossier_id == at_b.id)))

    accounts.update_user(s, handler, role="handler", unit=desk.unit_b, full_name=handler.full_name,
                         is_unit_head=False, active=True)
    assert _unread_ids(desk, handler) == unit_b_alerts and unread_count(s, handler) == len(unit_b_alerts)

    accounts.update_user(s, handler, role="supervisor", unit=None, full_name=handler.full_name,
                         is_unit_head=False, active=True)
    everything = set(s.scalars(select(Alert.id)))
    acked_before = set(s.scalars(select(AlertAck.alert_id).where(AlertAck.user_id == handler.id)))
    assert acked_before and unread_count(s, handler) == len(everything - acked_before) > 0
    acknowledge_all(s, handler, ACK_AT)
    wm = _watermark(desk, handler)
    assert (wm.role, wm.unit_id) == ("supervisor", None) and unread_count(s, handler) == 0


def test_a_watermark_is_not_read_under_another_role_in_the_same_unit(desk):
    s = desk.session
    _overdue_in_three_places(desk)
    user = desk.handler_b
    acknowledge_all(s, user, ACK_AT)
    assert _watermark(desk, user).acked_through == _clock(desk) and unread_count(s, user) == 0
    not_forwarded = set(s.scalars(select(Alert.id).where(Alert.kind == "not_forwarded")))
    assert not_forwarded and not not_forwarded & set(
        s.scalars(select(AlertAck.alert_id).where(AlertAck.user_id == user.id))), "unit B never saw them"

    accounts.update_user(s, user, role="reception", unit=desk.unit_b, full_name=user.full_name,
                         is_unit_head=False, active=True)

    assert _unread_ids(desk, user) == not_forwarded and unread_count(s, user) == len(not_forwarded)


def test_an_alert_left_unstamped_is_above_every_watermark(desk):
    """A path that forgot to stamp its alerts leaves them read by every badge, never hidden."""
    s = desk.session
    _overdue_in_three_places(desk)
    acknowledge_all(s, desk.supervisor, ACK_AT)
    stray = receive(desk)
    s.add(Alert(dossier_id=stray.id, kind="overdue", unit_id=desk.unit_a.id, created_at=ACK_AT))
    s.flush()
    assert s.scalar(select(Alert.seq).where(Alert.dossier_id == stray.id)) == UNSEQUENCED
    assert unread_count(s, desk.supervisor) == 1
    stray_alert = s.scalar(select(Alert.id).where(Alert.dossier_id == stray.id))
    acknowledge(s, desk.supervisor, [stray_alert], ACK_AT)
    s.commit()  # nothing asked for a stamp: it stays UNSEQUENCED, and the watermark stays at the clock
    assert s.scalar(select(Alert.seq).where(Alert.id == stray_alert)) == UNSEQUENCED
    assert _watermark(desk, desk.supervisor).acked_through == _clock(desk) < UNSEQUENCED
    assert unread_count(s, desk.supervisor) == 0


@pytest.mark.parametrize("cap", [1000, 1], ids=["ids first", "walk by date"])
def test_the_inbox_lists_the_same_unread_alerts_newest_first_whichever_way_it_finds_them(desk, monkeypatch, cap):
    s = desk.session
    _overdue_in_three_places(desk)
    later = receive(desk, received_at=datetime(2026, 3, 10, 9, 0), now=datetime(2026, 3, 10, 9, 0))
    forward(desk, later, at=datetime(2026, 3, 10, 10, 0), now=datetime(2026, 3, 10, 10, 0))
    _scan(desk, datetime(2026, 3, 25, 9, 0))
    sup = desk.supervisor
    everything = sorted(s.scalars(select(Alert.id)))
    acknowledge(s, sup, everything[::3], ACK_AT)  # a third read, the watermark below the first unread
    monkeypatch.setattr(alerts_module, "UNREAD_CAP", cap)
    listed = {}
    for user in (sup, desk.handler, desk.reception):
        for kind in (None, "overdue"):
            expected = [r.Alert.id for r in s.execute(alerts_query(user, unread_only=True, kind=kind))]
            got = [r.Alert.id for r in s.execute(inbox_query(s, user, unread_only=True, kind=kind))]
            assert got == expected, (user.username, kind)
            listed[user.username, kind] = len(got)
        assert [r.Alert.id for r in s.execute(inbox_query(s, user))] == [
            r.Alert.id for r in s.execute(alerts_query(user))]
    assert (listed[sup.username, None] > cap) == (cap == 1), "each way taken"
    assert listed[desk.reception.username, None] > 0


def _badge_statements(desk, user) -> list[tuple[str, object]]:
    captured = []
    conn = desk.session.connection()

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        captured.append((statement, parameters))

    event.listen(conn, "before_cursor_execute", capture)
    try:
        unread_count(desk.session, user)
    finally:
        event.remove(conn, "before_cursor_execute", capture)
    return captured


@pytest.mark.parametrize("who", ["supervisor", "handler", "reception"])
def test_the_badge_reads_the_alerts_above_the_watermark_through_an_index_of_seq(desk, who):
    s = desk.session
    _overdue_in_three_places(desk)
    user = getattr(desk, who)
    acknowledge_all(s, user, ACK_AT)
    index = {"supervisor": "ix_alert_seq", "handler": "ix_alert_unit_seq", "reception": "ix_alert_kind_seq"}[who]
    conn = s.connection()
    statements = _badge_statements(desk, user)
    # The watermark is read first, on its own: compared with a value, never a subquery's result
    # (PostgreSQL plans one as a third of the table and walked every alert, 127 ms at 1M).
    assert "FROM alert_watermark" in statements[0][0] and "alert_watermark" not in statements[1][0]
    statements = statements[1:]
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
    plans = []
    for statement, params in statements:
        if conn.dialect.name == "sqlite":
            plans.append(" | ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)))
        else:
            plans.append(" | ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params)))
    role_part = plans[0]  # the part the watermark covers comes first (deadlines.alerts._visible_parts)
    if conn.dialect.name == "sqlite":
        assert f"INDEX {index} (" in role_part and "seq>?" in role_part, role_part
        assert "SCAN alert" not in role_part, role_part
    else:
        assert index in role_part and "seq >" in role_part, role_part
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan TO DEFAULT")
        conn.exec_driver_sql("SET LOCAL enable_bitmapscan TO DEFAULT")


def test_a_watermark_waits_for_a_transaction_that_advanced_the_clock(app, backend):
    """The race the clock exists for (PostgreSQL: ids are drawn before commit, and a transaction may
    commit alerts with smaller ids after another's are visible): reading the clock for a watermark
    waits while another transaction holds it."""
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers: one transaction at a time holds the write lock")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    from tthc.extensions import db

    with app.app_context():
        writer = db.session
        alert_clock.tick(writer)
        writer.commit()  # the clock's row exists (a first reading inserts it, which no reader can see)
        alert_clock.tick(writer)  # holds the clock's row until the transaction ends
        engine = create_engine(url)  # the test schema is in the URL's options
        outcome = {}

        def reader():
            with engine.connect() as conn, Session(bind=conn) as session:
                conn.exec_driver_sql("SET lock_timeout = '200ms'")
                try:
                    outcome["read"] = alert_clock.read_for_watermark(session)
                except OperationalError as exc:
                    outcome["error"] = str(exc)

        thread = threading.Thread(target=reader)
        thread.start()
        thread.join()
        assert "lock timeout" in outcome.get("error", ""), outcome
        writer.commit()
        thread = threading.Thread(target=reader)  # free once it ended, and the reading is the writer's
        thread.start()
        thread.join()
        assert outcome.get("read") == 2, outcome
        engine.dispose()
