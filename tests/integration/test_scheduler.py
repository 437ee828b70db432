"""The scheduler (issue 5): jobs inspected without starting threads; one ScanRun per tick."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from deadlines import scheduler as sched_mod
from deadlines.scheduler import build_scheduler, digest_job, floor_tick, maybe_start_in_process, scan_job
from tthc.models import ScanRun

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def test_the_scheduler_has_a_scan_every_interval_and_a_daily_digest_in_local_time(app):
    app.config.update(SCAN_INTERVAL_MINUTES=15, DIGEST_TIME="07:00")
    scheduler = build_scheduler(app)
    assert isinstance(scheduler, BackgroundScheduler) and not scheduler.running
    assert str(scheduler.timezone) == "Asia/Ho_Chi_Minh"
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"scan", "digest"}
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time >= 24 * 3600  # missed runs after downtime still run, coalesced
        assert str(job.trigger.timezone) == "Asia/Ho_Chi_Minh"
    scan = jobs["scan"].trigger
    assert isinstance(scan, IntervalTrigger) and scan.interval == timedelta(minutes=15)
    digest = jobs["digest"].trigger
    assert isinstance(digest, CronTrigger)
    fields = {f.name: str(f) for f in digest.fields}
    assert fields["hour"] == "7" and fields["minute"] == "0"


def test_scan_ticks_fall_on_the_grid_whatever_the_host_zone(app):
    app.config.update(SCAN_INTERVAL_MINUTES=15)
    trigger = {j.id: j for j in build_scheduler(app).get_jobs()}["scan"].trigger
    # 03:07 UTC is 10:07 in Hà Nội: the next tick is 10:15 local.
    now_utc = datetime(2026, 3, 2, 3, 7, tzinfo=timezone.utc)
    nxt = trigger.get_next_fire_time(None, now_utc.astimezone(TZ))
    assert nxt.replace(tzinfo=None) == datetime(2026, 3, 2, 10, 15)
    assert floor_tick(datetime(2026, 3, 2, 10, 14, 59), 15) == datetime(2026, 3, 2, 10, 0)
    assert floor_tick(datetime(2026, 3, 2, 10, 15), 15) == datetime(2026, 3, 2, 10, 15)


def test_the_digest_fires_at_seven_local_time(app):
    app.config.update(DIGEST_TIME="07:00")
    trigger = {j.id: j for j in build_scheduler(app).get_jobs()}["digest"].trigger
    nxt = trigger.get_next_fire_time(None, datetime(2026, 3, 2, 8, 0, tzinfo=TZ))
    assert nxt == datetime(2026, 3, 3, 7, 0, tzinfo=TZ)


def test_a_tick_run_by_two_schedulers_is_recorded_once(app, db_session, monkeypatch):
    app.config.update(SCAN_INTERVAL_MINUTES=15, SMTP_HOST=None)
    monkeypatch.setattr("tthc.clock.now", lambda: datetime(2026, 3, 2, 10, 15, 3))
    scan_job(app)
    monkeypatch.setattr("tthc.clock.now", lambda: datetime(2026, 3, 2, 10, 15, 9))
    scan_job(app)  # a second scheduler by mistake, same tick
    monkeypatch.setattr("tthc.clock.now", lambda: datetime(2026, 3, 2, 10, 30, 1))
    scan_job(app)  # the next tick
    runs = db_session.scalars(select(ScanRun).order_by(ScanRun.id)).all()
    assert [(r.kind, r.scheduled_for) for r in runs] == [
        ("scan", datetime(2026, 3, 2, 10, 15)), ("scan", datetime(2026, 3, 2, 10, 30))]


def test_the_digest_job_skips_non_working_days(app, db_session, monkeypatch):
    app.config.update(SMTP_HOST=None, DIGEST_TIME="07:00")
    monkeypatch.setattr("tthc.clock.now", lambda: datetime(2026, 2, 17, 7, 0, 2))  # Tết 2026: a day off
    digest_job(app)
    monkeypatch.setattr("tthc.clock.now", lambda: datetime(2026, 3, 1, 7, 0, 2))  # a Sunday
    digest_job(app)
    assert db_session.scalars(select(ScanRun)).all() == []
    db_session.rollback()  # release SQLite's lock: jobs use their own app context and session
    monkeypatch.setattr("tthc.clock.now", lambda: datetime(2026, 3, 2, 7, 0, 2))  # a Monday
    digest_job(app)
    digest_job(app)
    runs = db_session.scalars(select(ScanRun)).all()
    assert [(r.kind, r.scheduled_for) for r in runs] == [("digest", datetime(2026, 3, 2, 7, 0))]


class _NoThreadScheduler(BackgroundScheduler):
    """Records start() without starting any thread."""

    started = False

    def start(self, *args, **kwargs):
        self.started = True


def test_in_process_scheduler_starts_only_when_configured_and_only_in_the_lock_holder(app, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    # The test configuration never starts one.
    assert maybe_start_in_process(app, scheduler_cls=_NoThreadScheduler, force=True) is None
    app.config.update(TESTING=False, RUN_SCHEDULER_IN_PROCESS=True)
    # Not under `flask run` (e.g. `flask db upgrade`, gunicorn): no scheduler.
    assert maybe_start_in_process(app, scheduler_cls=_NoThreadScheduler) is None
    first = maybe_start_in_process(app, scheduler_cls=_NoThreadScheduler, force=True)
    try:
        assert first is not None and first.started
        # A second process (here: a second attempt holding another file description) gets no lock.
        assert maybe_start_in_process(app, scheduler_cls=_NoThreadScheduler, force=True) is None
    finally:
        app.extensions["tthc_scheduler"][1].close()
        app.config.update(TESTING=True)
    # Once released, the lock can be taken again.
    handle = sched_mod.acquire_lock(app.instance_path)
    assert handle is not None
    handle.close()


@pytest.mark.parametrize("text", ["7h", "25", ""])
def test_a_malformed_digest_time_is_refused(text):
    with pytest.raises(RuntimeError):
        sched_mod.parse_digest_time(text)
