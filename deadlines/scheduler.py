"""The scheduler of the late-case scan and the daily digest (APScheduler 3, issue 5).

Exactly one scheduler runs per deployment: ``flask deadlines run-scheduler`` (a
BlockingScheduler, its own process), or, under ``make run`` (the single process
``flask run --no-reload``), an in-process BackgroundScheduler started by
:func:`maybe_start_in_process` and guarded by a non-blocking file lock in the
instance folder. It never starts inside ``create_app()``: under gunicorn every
worker would run it (architecture.md).

Jobs:
- ``scan``: every ``SCAN_INTERVAL_MINUTES`` on a fixed grid (minutes since
  2000-01-01 00:00 local), so a tick is a well-defined instant;
- ``digest``: at ``DIGEST_TIME`` every day; on a non-working day of the calendar
  (weekend, public holiday; a make-up Saturday is a working day) the job does nothing.

Both coalesce missed runs into one (``coalesce=True``, ``max_instances=1``, a
large ``misfire_grace_time``). APScheduler 3 does not tell a job its scheduled
fire time, so a job floors the wall clock to its grid; the ScanRun's unique
(kind, scheduled_for) then guarantees one recorded pass per tick even if two
schedulers ran by mistake. Triggers get ``timezone=`` explicitly: the host may
run in UTC; all stored times are naive Asia/Ho_Chi_Minh (domain.md §8).
"""
from __future__ import annotations

import atexit
import logging
import os
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

GRID_ORIGIN = datetime(2000, 1, 1)
MISFIRE_GRACE_SECONDS = 7 * 24 * 3600  # after downtime, missed runs still run (coalesced into one)
LOCK_FILE = "scheduler.lock"


def parse_digest_time(text: str) -> time:
    try:
        hh, mm = text.strip().split(":")
        return time(int(hh), int(mm))
    except (ValueError, AttributeError):
        raise RuntimeError(f"TTHC_DIGEST_TIME must be HH:MM, got {text!r}") from None


def floor_tick(now: datetime, interval_minutes: int) -> datetime:
    """The latest tick of the scan grid at or before ``now`` (naive local)."""
    minutes = int((now - GRID_ORIGIN).total_seconds() // 60)
    return GRID_ORIGIN + timedelta(minutes=minutes - minutes % interval_minutes)


def digest_tick(now: datetime, at: time) -> datetime:
    """The latest digest instant at or before ``now``."""
    today = datetime.combine(now.date(), at)
    return today if today <= now else today - timedelta(days=1)


def scan_job(app) -> None:
    """One scheduled pass, recorded once per tick; then the newly-overdue digest e-mail."""
    from deadlines.alerts import mail_newly_overdue
    from deadlines.scan import TickAlreadyRecorded, run_scan
    from tthc.clock import now as clock_now
    from tthc.extensions import db

    with app.app_context():
        now = clock_now()
        tick = floor_tick(now, app.config["SCAN_INTERVAL_MINUTES"])
        try:
            run = run_scan(db.session, now, kind="scan", scheduled_for=tick, started_at=now)
            db.session.commit()
        except TickAlreadyRecorded as exc:
            db.session.rollback()
            log.info("%s", exc)
            return
        except Exception:
            db.session.rollback()
            log.exception("scan pass failed")
            raise
        log.info("scan %s: %s new alerts", tick, run.counts.get("total_new_alerts"))
        try:  # the dashboard's tally: its +1/-1 rows since the last tick summed into one per key (issue 13)
            from tthc.reports.tally import compact

            compact(db.session)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("compacting the dossier tally after the pass failed")
        try:  # the action plans' reminders ride on the same tick (issue 17); their failure never stops the mail
            from tthc.plans.reminders import raise_reminders

            raise_reminders(db.session, now)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("plan reminders after the pass failed")
        try:
            mail_newly_overdue(db.session, now, app.config)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("digest e-mail after the pass failed")
        finally:
            db.session.remove()


def digest_job(app) -> None:
    """The morning digest on working days: a pass (kind ``digest``) and one e-mail per recipient."""
    from deadlines.alerts import mail_daily_digest, mail_newly_overdue
    from deadlines.scan import TickAlreadyRecorded, run_scan
    from deadlines.store import calendar_for
    from tthc.clock import now as clock_now
    from tthc.extensions import db

    with app.app_context():
        now = clock_now()
        try:
            cal = calendar_for(db.session)
            if not cal.is_working_day(now.date()):
                return
            tick = digest_tick(now, parse_digest_time(app.config["DIGEST_TIME"]))
            try:
                run_scan(db.session, now, cal=cal, kind="digest", scheduled_for=tick, started_at=now)
                db.session.commit()
            except TickAlreadyRecorded as exc:
                db.session.rollback()
                log.info("%s", exc)
                return
            mail_newly_overdue(db.session, now, app.config)
            mail_daily_digest(db.session, now, app.config)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("daily digest failed")
        finally:
            db.session.remove()


def build_scheduler(app, scheduler_cls=BackgroundScheduler):
    """An unstarted scheduler with the scan and digest jobs (tests inspect it without threads)."""
    tz = ZoneInfo(app.config["TIMEZONE"])
    interval = int(app.config["SCAN_INTERVAL_MINUTES"])
    if interval < 1:
        raise RuntimeError("TTHC_SCAN_INTERVAL_MINUTES must be at least 1")
    at = parse_digest_time(app.config["DIGEST_TIME"])
    scheduler = scheduler_cls(
        timezone=tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
    )
    scheduler.add_job(
        scan_job, IntervalTrigger(minutes=interval, start_date=GRID_ORIGIN.replace(tzinfo=tz), timezone=tz),
        args=[app], id="scan", name="late-case scan", replace_existing=True,
        coalesce=True, max_instances=1, misfire_grace_time=MISFIRE_GRACE_SECONDS,
    )
    scheduler.add_job(
        digest_job, CronTrigger(hour=at.hour, minute=at.minute, timezone=tz),
        args=[app], id="digest", name="daily digest", replace_existing=True,
        coalesce=True, max_instances=1, misfire_grace_time=MISFIRE_GRACE_SECONDS,
    )
    return scheduler


def _serving_with_flask_run() -> bool:
    """True inside ``flask run`` (not ``flask db upgrade``, ``flask deadlines scan``, gunicorn...)."""
    import click

    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.info_name == "run"


def acquire_lock(instance_path: str):
    """The open lock file if this process got the scheduler lock, else None (non-blocking)."""
    import fcntl

    os.makedirs(instance_path, exist_ok=True)
    handle = open(os.path.join(instance_path, LOCK_FILE), "a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def maybe_start_in_process(app, *, scheduler_cls=BackgroundScheduler, force: bool = False):
    """Start the in-process scheduler when configured (``RUN_SCHEDULER_IN_PROCESS``, not testing)
    and this process is ``flask run`` and holds the instance folder's lock. Returns it or None."""
    if not app.config.get("RUN_SCHEDULER_IN_PROCESS") or app.config.get("TESTING"):
        return None
    if not force and not _serving_with_flask_run():
        return None
    handle = acquire_lock(app.instance_path)
    if handle is None:
        log.warning("another process holds %s: this one runs no scheduler", LOCK_FILE)
        return None
    scheduler = build_scheduler(app, scheduler_cls)
    scheduler.start()
    app.extensions["tthc_scheduler"] = (scheduler, handle)

    def _stop():
        try:
            if scheduler.running:
                scheduler.shutdown(wait=False)
        finally:
            handle.close()

    atexit.register(_stop)
    log.info("in-process scheduler started (scan every %s min)", app.config["SCAN_INTERVAL_MINUTES"])
    return scheduler
