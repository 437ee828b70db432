"""The dossier tally (tthc/reports/tally.py, issue 13): kept in step by the triggers whoever writes,
and the dashboard's figures summed from it equal those counted from the dossiers, on both databases.

The dossiers here are rows written directly (inserts, then updates and deletes of every column the
tally reads, in random order), so the triggers are tested on writes the services never make; the
last tests go through the real intake journey.
"""
from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from tests.factories import make_procedure, make_unit
from tests.integration.test_intake_services import desk  # noqa: F401  (the desk's fixture)
from tthc.extensions import db
from tthc.models import Dossier, DossierTally
from tthc.reports import periods, queries, tally

PERIOD = periods.parse_month("2026-03")  # 15/02/2026 .. 14/03/2026 (Decree 09)
NOWS = [datetime(2026, 3, 10, 12, 0), datetime(2026, 3, 10, 7, 0), datetime(2026, 2, 15, 0, 0),
        datetime(2026, 3, 14, 23, 59)]
STATUSES = ["received", "in_progress", "awaiting_supplement", "finished", "handed_over", "returned_unprocessed",
            "withdrawn", "cancelled"]
CHANNELS = ["direct", "online", "postal"]


def _instant(rng) -> datetime:
    """Around the period and its days' edges: midnight, office hours, the instants NOWS compare to."""
    day = datetime(2026, 1, 20) + timedelta(days=rng.randrange(70))
    return day + rng.choice([timedelta(0), timedelta(hours=7), timedelta(hours=12), timedelta(hours=16, minutes=30),
                             timedelta(hours=23, minutes=59)])


def _state(rng) -> dict:
    status = rng.choice(STATUSES)
    received = _instant(rng)
    finished = closed = None
    if status in ("finished", "handed_over"):
        finished = received + timedelta(days=rng.randrange(30), hours=rng.randrange(10))
    elif status in ("returned_unprocessed", "withdrawn", "cancelled"):
        closed = received + timedelta(days=rng.randrange(20))
    deadline = None if rng.random() < 0.1 else received + timedelta(days=rng.randrange(-2, 25), hours=rng.randrange(9))
    return {"status": status, "received_at": received, "finished_at": finished, "closed_at": closed,
            "original_deadline_at": deadline, "deadline_at": deadline, "channel": rng.choice(CHANNELS),
            "classification": rng.choice([None, "early", "on_time", "late"]) if finished else None}


def _build(session, seed: int, n: int = 120) -> list[Dossier]:
    rng = random.Random(seed)
    units = [make_unit(session) for _ in range(3)]
    procedures = [make_procedure(session, unit_id=u.id, field=f) for u in units for f in ("Lĩnh vực A", "Lĩnh vực B")]
    rows = []
    for i in range(n):
        p = rng.choice(procedures)
        state = _state(rng)
        d = Dossier(code=f"T-{seed}-{i:05d}", procedure_id=p.id, rule={}, field=p.field, unit_id=p.unit_id,
                    applicant_name=f"Người nộp {i}", register_year=2026, register_number=seed * 1000 + i, **state)
        session.add(d)
        rows.append(d)
    session.flush()
    # Then every kind of change the tally reads, one row at a time (each UPDATE fires the trigger).
    for _ in range(3 * n):
        d = rng.choice(rows)
        what = rng.randrange(6)
        if what == 0:
            for key, value in _state(rng).items():
                setattr(d, key, value)
        elif what == 1:
            p = rng.choice(procedures)
            d.procedure_id, d.unit_id, d.field = p.id, rng.choice([p.unit_id, p.unit_id, None]), p.field
        elif what == 2:
            d.status = rng.choice(STATUSES)
        elif what == 3:
            d.original_deadline_at = None if rng.random() < 0.2 else _instant(rng)
        elif what == 4:
            d.channel, d.classification = rng.choice(CHANNELS), rng.choice([None, "early", "on_time", "late"])
        else:
            d.finished_at = rng.choice([None, _instant(rng)])
            d.closed_at = rng.choice([None, None, _instant(rng)])
        session.flush()
    for d in rng.sample(rows, n // 10):
        session.delete(d)
        rows.remove(d)
    session.flush()
    return rows


def test_the_update_trigger_fires_on_every_column_the_tally_reads():
    assert set(tally.COLUMNS) == tally.read_columns()


def test_an_update_of_any_one_column_the_tally_reads_keeps_it_in_step(db_session):
    """Core UPDATEs setting one column at a time (the writer sets a unit alone, for instance)."""
    from sqlalchemy import update

    rows = _build(db_session, 13, n=60)
    rng = random.Random(13)
    values = {
        "status": lambda: rng.choice(STATUSES), "unit_id": lambda: rng.choice([None, rows[0].unit_id, rows[-1].unit_id]),
        "field": lambda: rng.choice(["Lĩnh vực A", "Lĩnh vực B", "Lĩnh vực C"]),
        "procedure_id": lambda: rng.choice([rows[0].procedure_id, rows[-1].procedure_id]),
        "channel": lambda: rng.choice(CHANNELS), "received_at": lambda: _instant(rng),
        "original_deadline_at": lambda: rng.choice([None, _instant(rng)]),
        "finished_at": lambda: rng.choice([None, _instant(rng)]), "closed_at": lambda: rng.choice([None, _instant(rng)]),
        "classification": lambda: rng.choice([None, "early", "on_time", "late"]),
    }
    assert set(values) == set(tally.COLUMNS)
    for column, value in values.items():
        for d in rng.sample(rows, 20):
            db_session.execute(update(Dossier).where(Dossier.id == d.id).values({column: value()}))
        assert _tally_rows(db_session) == _rebuilt(db_session), column


def _tally_rows(session) -> Counter:
    """The tally as {key: sum of n}, keys with a nonzero sum only."""
    t = DossierTally
    keys = (t.kind, *(getattr(t, name) for name in tally.KEY))
    rows = session.execute(select(*keys, func.sum(t.n)).group_by(*keys)).all()
    return Counter({tuple(r[:-1]): int(r[-1]) for r in rows if r[-1]})


def _rebuilt(session) -> Counter:
    """What the tally would hold, rebuilt from the dossiers (tally.rebuild), without touching it."""
    conn = session.connection()
    nested = conn.begin_nested()
    try:
        tally.rebuild(conn)
        return _tally_rows(session)
    finally:
        nested.rollback()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_triggers_keep_the_tally_equal_to_a_rebuild_through_inserts_updates_and_deletes(db_session, seed):
    _build(db_session, seed)
    kept = _tally_rows(db_session)
    assert kept == _rebuilt(db_session)
    assert {k[0] for k in kept} == {"r", "d", "f", "p"}
    # The triggers only append: more rows than keys before compaction, then one row per key.
    assert db_session.scalar(select(func.count()).select_from(DossierTally)) > len(kept)
    removed = tally.compact(db_session)
    assert removed > 0
    assert db_session.scalar(select(func.count()).select_from(DossierTally)) == len(kept)
    assert _tally_rows(db_session) == kept
    assert tally.compact(db_session) == 0  # a second compaction finds nothing to sum


@pytest.mark.parametrize("seed", [4, 5])
def test_the_part_in_progress_summed_from_the_tally_is_the_part_counted_from_the_dossiers(db_session, seed):
    rows = _build(db_session, seed, n=150)
    units = sorted({d.unit_id for d in rows} - {None})
    # A dossier dated ahead of the period's end: in the tally's days, out of the period's scope.
    ahead = rows[0]
    ahead.received_at, ahead.finished_at, ahead.closed_at, ahead.status = (
        datetime(2026, 3, 20, 8, 0), None, None, "in_progress")
    ahead.original_deadline_at = datetime(2026, 3, 1, 9, 0)
    # Deadlines on the day of NOWS[0], before and after it (the day the tally leaves to a live read).
    for d, deadline in zip(rows[1:7], [datetime(2026, 3, 10, h, m) for h, m in
                                       ((0, 0), (9, 0), (11, 59), (12, 0), (15, 0), (23, 59))]):
        d.received_at, d.finished_at, d.closed_at, d.status = datetime(2026, 3, 1, 8, 0), None, None, "received"
        d.original_deadline_at = deadline
    db_session.flush()
    checked = 0
    for compacted in (False, True):
        if compacted:
            tally.compact(db_session)
        for now in NOWS:
            for unit_id in (None, *units):
                kw = {"unit_id": unit_id, "now": now}
                summed = queries.unended_counts(db_session, PERIOD, **kw)
                counted = queries.unended_counts(db_session, PERIOD, use_tally=False, **kw)
                assert summed == counted, (now, unit_id, compacted)
                checked += sum(sum(c) for c in counted.values())
    assert checked > 500


def test_the_tally_is_used_only_in_a_period_running_now(db_session, monkeypatch):
    _build(db_session, 6, n=30)
    calls = []
    monkeypatch.setattr(tally, "unended", lambda *a, **kw: calls.append(a) or {})
    queries.unended_counts(db_session, PERIOD, now=None)
    queries.unended_counts(db_session, PERIOD, now=datetime(2026, 3, 20))  # after the period
    assert calls == []
    queries.unended_counts(db_session, PERIOD, now=NOWS[0])
    assert len(calls) == 1


def test_finished_by_half_month_counts_the_finished_dossiers_of_each_half_month_by_classification(db_session):
    rows = _build(db_session, 7, n=150)
    units = sorted({d.unit_id for d in rows} - {None})
    first, end = date(2026, 1, 15), date(2026, 5, 1)
    for unit_id in (None, *units):
        expected: dict = {}
        for d in rows:
            if (d.finished_at is not None and d.status in ("finished", "handed_over")
                    and first <= d.finished_at.date() < end and unit_id in (None, d.unit_id)):
                half = d.finished_at.date().replace(day=15 if d.finished_at.day >= 15 else 1)
                by = expected.setdefault(half, {})
                by[d.classification] = by.get(d.classification, 0) + 1
        assert tally.finished_by_half_month(db_session, first, end, unit_id) == expected
        assert expected


@pytest.mark.parametrize("seed", [10, 11])
def test_the_part_finished_summed_from_the_tally_is_the_part_counted_from_the_dossiers(db_session, seed):
    rows = _build(db_session, seed, n=150)
    # Finished dossiers received after their result, and on the edges of the half-months.
    for d, (received, done) in zip(rows[:4], [((2026, 3, 20), (2026, 3, 10)), ((2026, 2, 14), (2026, 2, 15)),
                                              ((2026, 2, 15), (2026, 3, 14)), ((2026, 1, 31), (2026, 3, 15))]):
        d.status, d.closed_at, d.classification = "finished", None, "early"
        d.received_at, d.finished_at = datetime(*received, 23, 59), datetime(*done, 0, 0)
    db_session.flush()
    units = sorted({d.unit_id for d in rows} - {None})
    checked = 0
    for period in (PERIOD, periods.parse_month("2026-02"), periods.parse_month("2026-03", periods.CALENDAR),
                   periods.quarter(2026, 1)):
        assert tally.aligned(period.start, period.end)
        for unit_id in (None, *units):
            summed = queries.finished_counts(db_session, period, unit_id)
            counted = queries.finished_counts(db_session, period, unit_id, use_tally=False)
            assert summed == counted, (period, unit_id)
            checked += sum(sum(c) for c in counted.values())
    assert checked > 100


def test_a_period_that_is_not_whole_half_months_is_counted_from_the_dossiers(db_session, monkeypatch):
    _build(db_session, 12, n=30)
    custom = periods.custom(date(2026, 2, 20), date(2026, 3, 12))
    assert not tally.aligned(custom.start, custom.end)
    monkeypatch.setattr(tally, "finished", lambda *a, **kw: pytest.fail("the tally read for a custom period"))
    monkeypatch.setattr(tally, "unended", lambda *a, **kw: pytest.fail("the tally read for a custom period"))
    queries.finished_counts(db_session, custom)
    queries.unended_counts(db_session, custom, now=datetime(2026, 3, 1, 10, 0))


def test_the_scheduled_scan_compacts_the_tally(app, db_session):
    from deadlines.scheduler import scan_job

    _build(db_session, 8, n=40)
    db_session.commit()
    kept = _tally_rows(db_session)
    before = db_session.scalar(select(func.count()).select_from(DossierTally))
    db_session.remove()
    scan_job(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DossierTally)) == len(kept) < before
        assert _tally_rows(db.session) == kept


def test_install_fills_an_empty_tally_from_the_dossiers_there_and_keeps_a_filled_one(db_session):
    _build(db_session, 9, n=40)
    kept = _tally_rows(db_session)
    conn = db_session.connection()
    conn.execute(text(f"DELETE FROM {tally.TABLE}"))
    tally.install(conn)
    assert _tally_rows(db_session) == kept
    tally.install(conn)  # a second install changes nothing
    assert _tally_rows(db_session) == kept


def test_every_state_the_desk_brings_a_dossier_to_is_in_step_in_the_tally(desk):
    """Through the services (the one writer): every status a dossier can reach, a supplement
    received, a voided result, a forwarding; after each, the tally is what a rebuild gives, and the dashboard's figures
    summed from it are those counted from the dossiers."""
    from intake import services
    from tests.integration.test_intake_services import in_state

    s = desk.session
    now = datetime(2026, 3, 12, 15, 0)
    period = periods.parse_month("2026-03")
    dossiers = {state: in_state(desk, state) for state in
                ("received", "in_progress", "awaiting_supplement", "finished", "handed_over",
                 "returned_unprocessed", "withdrawn", "cancelled", "stopped")}
    steps = [
        lambda: services.record_event(s, dossiers["awaiting_supplement"], "supplement_received", user=desk.reception,
                                      now=datetime(2026, 3, 11, 9, 0)),
        lambda: services.void_event(s, dossiers["finished"], dossiers["finished"].events[-1].id, user=desk.supervisor,
                                    reason="Ghi nhầm kết quả", now=datetime(2026, 3, 11, 10, 0)),
        lambda: services.record_event(s, dossiers["received"], "forwarded", user=desk.reception,
                                      now=datetime(2026, 3, 11, 11, 0)),
    ]
    checked = []

    def check():
        s.flush()
        assert _tally_rows(s) == _rebuilt(s)
        for unit_id in (None, desk.unit_a.id):
            assert (queries.unended_counts(s, period, unit_id, now=now)
                    == queries.unended_counts(s, period, unit_id, now=now, use_tally=False))
            assert (queries.finished_counts(s, period, unit_id)
                    == queries.finished_counts(s, period, unit_id, use_tally=False))
        checked.append(sum(sum(c) for c in queries.unended_counts(s, period, now=now).values()))

    check()
    for step in steps:
        step()
        check()
    assert {d.status for d in dossiers.values()} >= {"in_progress", "handed_over", "withdrawn", "stopped"}
    assert all(checked)


def test_flask_reports_rebuild_tally_recomputes_it_and_recreates_its_triggers(app, db_session):
    _build(db_session, 14, n=40)
    db_session.commit()
    kept = _tally_rows(db_session)
    conn = db_session.connection()
    for statement in tally.drop_sql(conn.dialect.name):  # as a batch migration recreating dossier would
        conn.exec_driver_sql(statement)
    conn.execute(text(f"DELETE FROM {tally.TABLE} WHERE kind = 'r'"))  # and counts gone astray
    db_session.commit()
    assert _tally_rows(db_session) != kept

    result = app.test_cli_runner().invoke(args=["reports", "rebuild-tally"])
    assert result.exit_code == 0, result.output
    assert f"dossier tally rebuilt: {len(kept)} rows" in result.output
    db_session.remove()
    with app.app_context():
        assert _tally_rows(db.session) == kept
        d = db.session.scalars(select(Dossier).where(Dossier.status == "received").limit(1)).first()
        d.status, d.finished_at, d.classification = "finished", datetime(2026, 3, 5, 10, 0), "early"  # triggers back
        db.session.flush()
        assert _tally_rows(db.session) == _rebuilt(db.session)
        assert db.session.scalar(select(func.count()).select_from(DossierTally)) > len(kept)


def test_flask_deadlines_scan_compacts_the_tally_after_its_pass(app, db_session):
    _build(db_session, 15, n=40)
    db_session.commit()
    kept = _tally_rows(db_session)
    db_session.remove()
    result = app.test_cli_runner().invoke(args=["deadlines", "scan", "--no-mail", "--at", "2026-03-10 12:00"])
    assert result.exit_code == 0, result.output
    removed = int(result.output.split("dossier tally: ")[1].split()[0])
    assert removed > 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DossierTally)) == len(kept)
        assert _tally_rows(db.session) == kept


@pytest.mark.parametrize("scheme", [periods.DECREE_09, periods.CALENDAR])
def test_the_dashboards_chart_counts_each_periods_finished_dossiers_by_classification(db_session, scheme):
    from deadlines.dashboard import build_dashboard, previous_periods

    rows = _build(db_session, 16, n=150)
    now = datetime(2026, 3, 20, 10, 0)
    data = build_dashboard(db_session, now, due_soon_until=now + timedelta(days=3), months=4, scheme=scheme)
    recent = previous_periods(now.date(), 4, scheme)
    assert [m.key for m in data.months] == [p.first_day for p in recent]
    for month, period in zip(data.months, recent):
        done = [d for d in rows if d.finished_at is not None and d.status in ("finished", "handed_over")
                and period.start <= d.finished_at < period.end]
        expected = (sum(d.classification == "early" for d in done),
                    sum(d.classification not in ("early", "late") for d in done),
                    sum(d.classification == "late" for d in done))
        assert (month.early, month.on_time, month.late) == expected, period
    assert sum(m.finished for m in data.months) > 20
