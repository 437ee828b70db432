"""The late-case scan (issue 5): flags, alerts, idempotence, concurrency, extension, CLI."""
from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deadlines import lifecycle
from deadlines.scan import ALERT_KINDS, TickAlreadyRecorded, run_scan
from deadlines.store import calendar_for
from tests.factories import make_procedure, make_unit
from tthc.extensions import db
from tthc.models import Alert, Dossier, ScanRun

NOW = datetime(2026, 3, 2, 10, 0)  # a Monday, inside office hours
_numbers = itertools.count(1)


def make_dossier(session, procedure, *, status="in_progress", deadline_at=None, original_deadline_at=None,
                 received_at=None, unit=None, field=None, extended=False, finished_at=None,
                 classification=None, forwarding_deadline_at=None, channel="direct", **kw) -> Dossier:
    """A dossier written directly with the model (no intake services), flushed. Its "finished late"
    flag is set as the writer (deadlines/store.py) stores it: the scan does not derive it."""
    n = next(_numbers)
    received_at = received_at or NOW - timedelta(days=10)
    deadline_at = deadline_at if deadline_at is not None else NOW + timedelta(days=20)
    d = Dossier(
        code=kw.pop("code", f"T-260302-{n:05d}"), procedure_id=procedure.id,
        rule={"limit_unit": "working_days", "limit_amount": 10, "supplement_rule": "restart"},
        field=field or procedure.field, unit_id=unit.id if unit else None,
        current_unit_id=unit.id if unit else None, applicant_name=kw.pop("applicant_name", f"Nguyễn Văn {n}"),
        channel=channel, received_at=received_at, register_year=received_at.year, register_number=n,
        status=status, deadline_at=deadline_at,
        original_deadline_at=original_deadline_at if original_deadline_at is not None else deadline_at,
        appointment_at=deadline_at, effective_start_at=received_at,
        forwarding_deadline_at=forwarding_deadline_at or received_at.replace(hour=17, minute=0),
        extended=extended, finished_at=finished_at, classification=classification, **kw)
    if "flag_finished_late" not in kw:  # the watch rule, as the writer applies it (no instant: any will do)
        d.flag_finished_late = lifecycle.holds("finished_late", d, lifecycle.Thresholds(NOW, None, None))
    session.add(d)
    session.flush()
    return d


def alert_set(session):
    return set(session.execute(select(Alert.dossier_id, Alert.kind)).all())


@pytest.fixture
def world(db_session):
    unit = make_unit(db_session)
    proc = make_procedure(db_session)
    cal = calendar_for(db_session)
    s = db_session
    w = {
        "unit": unit, "proc": proc, "cal": cal,
        "overdue": make_dossier(s, proc, unit=unit, deadline_at=NOW - timedelta(days=1)),
        "due_soon": make_dossier(s, proc, unit=unit, deadline_at=cal.add_working_days(NOW, 2)),
        "due_in_1": make_dossier(s, proc, unit=unit, deadline_at=cal.add_working_days(NOW, 1)),
        "fine": make_dossier(s, proc, unit=unit, deadline_at=cal.add_working_days(NOW, 3)),
        "not_forwarded": make_dossier(s, proc, unit=unit, status="received",
                                      received_at=NOW - timedelta(days=1), deadline_at=NOW + timedelta(days=30),
                                      forwarding_deadline_at=NOW - timedelta(hours=17)),
        "forwarded_ok": make_dossier(s, proc, unit=unit, status="received", received_at=NOW - timedelta(hours=1),
                                     forwarding_deadline_at=NOW.replace(hour=17)),
        "finished_late": make_dossier(s, proc, unit=unit, status="finished", deadline_at=NOW - timedelta(days=3),
                                      finished_at=NOW - timedelta(days=1), classification="late"),
        "finished_on_time": make_dossier(s, proc, unit=unit, status="handed_over",
                                         deadline_at=NOW - timedelta(days=3), finished_at=NOW - timedelta(days=4),
                                         classification="early"),
        "withdrawn_overdue": make_dossier(s, proc, unit=unit, status="withdrawn", deadline_at=NOW - timedelta(days=5)),
        "no_limit": make_dossier(s, proc, unit=unit, deadline_at=None),
    }
    # make_dossier's default for deadline_at=None is a date; the no-limit dossier has none.
    w["no_limit"].deadline_at = None
    w["no_limit"].original_deadline_at = None
    s.commit()
    return w


def flags_of(session, dossier_id):
    d = session.get(Dossier, dossier_id)
    session.refresh(d)
    return {k for k in ALERT_KINDS if getattr(d, f"flag_{k}")}


def test_a_pass_flags_each_rule_of_domain_section_4(db_session, world):
    run = run_scan(db_session, NOW, cal=world["cal"])
    db_session.commit()
    s, w = db_session, world
    assert flags_of(s, w["overdue"].id) == {"overdue", "apology_missing"}
    assert flags_of(s, w["due_soon"].id) == {"due_soon"}
    assert flags_of(s, w["due_in_1"].id) == {"due_soon", "apology_missing"}
    assert flags_of(s, w["fine"].id) == set()
    assert flags_of(s, w["not_forwarded"].id) == {"not_forwarded"}
    assert flags_of(s, w["forwarded_ok"].id) == set()
    assert flags_of(s, w["finished_late"].id) == {"finished_late"}
    assert flags_of(s, w["finished_on_time"].id) == set()
    assert flags_of(s, w["withdrawn_overdue"].id) == set()
    assert flags_of(s, w["no_limit"].id) == set()
    assert run.counts["new_alerts"] == {"overdue": 1, "apology_missing": 2, "due_soon": 2, "not_forwarded": 1,
                                        "finished_late": 1}
    assert run.kind == "cli" and run.finished_at is not None
    alerts = s.scalars(select(Alert)).all()
    assert {a.unit_id for a in alerts} == {w["unit"].id}
    assert all(a.scan_run_id == run.id and a.created_at == NOW for a in alerts)


def test_two_passes_give_the_same_alerts_as_one_and_the_second_writes_nothing(db_session, world):
    run_scan(db_session, NOW, cal=world["cal"])
    db_session.commit()
    once = alert_set(db_session)
    second = run_scan(db_session, NOW, cal=world["cal"])
    db_session.commit()
    assert alert_set(db_session) == once
    assert sum(second.counts["flagged"].values()) == 0
    assert sum(second.counts["cleared"].values()) == 0
    assert second.counts["total_new_alerts"] == 0
    assert db_session.scalar(select(func.count(Alert.id))) == len(once) == 7


def test_flags_that_no_longer_hold_are_cleared_but_alerts_stay(db_session, world):
    s, w = db_session, world
    run_scan(s, NOW, cal=w["cal"])
    s.commit()
    overdue = s.get(Dossier, w["overdue"].id)
    overdue.status = "finished"
    overdue.finished_at = NOW
    overdue.classification = "late"
    overdue.flag_finished_late = True  # as the writer stores it with the result
    nf = s.get(Dossier, w["not_forwarded"].id)
    nf.status = "in_progress"
    s.commit()
    run = run_scan(s, NOW + timedelta(minutes=15), cal=w["cal"])
    s.commit()
    assert flags_of(s, overdue.id) == {"finished_late"}
    assert flags_of(s, nf.id) == set()
    assert run.counts["cleared"]["overdue"] == 1 and run.counts["cleared"]["not_forwarded"] == 1
    assert run.counts["new_alerts"]["finished_late"] == 1
    # An alert is history: it stays after the flag is cleared, and is never raised twice.
    assert (overdue.id, "overdue") in alert_set(s)


def test_a_steady_pass_does_not_touch_versions_or_updated_at(db_session, world):
    s, w = db_session, world
    before = {d.id: (d.version, d.updated_at) for d in s.scalars(select(Dossier))}
    run_scan(s, NOW, cal=w["cal"])
    s.commit()
    s.expire_all()
    after = {d.id: (d.version, d.updated_at) for d in s.scalars(select(Dossier))}
    assert after == before


def test_extended_dossier_is_watched_against_its_new_appointment_but_finishes_late_against_the_original(
        db_session, world):
    s, w = db_session, world
    original = NOW - timedelta(days=1)
    new_appointment = w["cal"].add_working_days(NOW, 5)
    d = make_dossier(s, w["proc"], unit=w["unit"], extended=True, deadline_at=new_appointment,
                     original_deadline_at=original)
    s.commit()
    run_scan(s, NOW, cal=w["cal"])
    s.commit()
    assert flags_of(s, d.id) == set()  # not overdue, not due soon: the new appointment is 5 working days away
    later = w["cal"].add_working_days(NOW, 4)
    run_scan(s, later, cal=w["cal"])
    s.commit()
    # Due soon against the new appointment; no "apology missing": the apology went out with the extension.
    assert flags_of(s, d.id) == {"due_soon"}
    d = s.get(Dossier, d.id)
    d.status, d.finished_at, d.classification = "finished", later, "late"
    d.flag_finished_late = True  # as the writer stores it with the result
    s.commit()
    run_scan(s, later + timedelta(minutes=15), cal=w["cal"])
    s.commit()
    assert flags_of(s, d.id) == {"finished_late"}
    assert (d.id, "finished_late") in alert_set(s)


def test_a_scheduled_tick_is_recorded_once(db_session, world):
    tick = NOW.replace(minute=0)
    run_scan(db_session, NOW, cal=world["cal"], kind="scan", scheduled_for=tick)
    db_session.commit()
    with pytest.raises(TickAlreadyRecorded):
        run_scan(db_session, NOW + timedelta(seconds=5), cal=world["cal"], kind="scan", scheduled_for=tick)
    db_session.rollback()
    assert db_session.scalar(select(func.count(ScanRun.id)).where(ScanRun.kind == "scan")) == 1
    run_scan(db_session, NOW, cal=world["cal"], kind="digest", scheduled_for=tick)  # another kind: its own tick
    db_session.commit()


def test_two_concurrent_passes_create_no_duplicate_alert(app, db_session, world):
    expected_count = 7
    cal = world["cal"]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def one_pass(offset):
        try:
            with app.app_context():
                with Session(db.engine) as session:
                    barrier.wait(timeout=10)
                    run_scan(session, NOW + timedelta(seconds=offset), cal=cal)
                    session.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_pass, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    db_session.expire_all()
    rows = db_session.execute(select(Alert.dossier_id, Alert.kind)).all()
    assert len(rows) == len(set(rows)) == expected_count
    runs = db_session.scalars(select(ScanRun)).all()
    assert len(runs) == 2
    assert sum(r.counts["total_new_alerts"] for r in runs) == expected_count


def test_cli_scan_prints_counts(db_session, runner, world):
    result = runner.invoke(args=["deadlines", "scan", "--at", "2026-03-02 10:00"])
    assert result.exit_code == 0, result.output
    assert "overdue" in result.output and "total new alerts 7" in result.output
    run = db_session.scalar(select(ScanRun))
    assert run.kind == "cli" and run.scan_at == NOW


def test_cli_scan_rejects_a_malformed_instant(runner):
    result = runner.invoke(args=["deadlines", "scan", "--at", "02/03/2026"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD HH:MM" in result.output


def test_a_dossier_awaiting_the_applicants_supplement_is_neither_overdue_nor_due_soon(db_session, world):
    """Its deadline is recomputed when the supplement arrives; meanwhile it counts as within time (domain §8)."""
    waiting = make_dossier(db_session, world["proc"], unit=world["unit"], status="awaiting_supplement",
                           deadline_at=NOW - timedelta(days=1))
    db_session.commit()
    run_scan(db_session, NOW, cal=world["cal"])
    db_session.commit()
    assert flags_of(db_session, waiting.id) == set()
    assert not {kind for dossier_id, kind in alert_set(db_session) if dossier_id == waiting.id}
