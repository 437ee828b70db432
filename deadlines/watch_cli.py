"""``flask deadlines scan`` and ``flask deadlines run-scheduler`` (issue 5).

Added to the ``deadlines`` command group of ``deadlines/cli.py``; importing this
module registers them.
"""
from __future__ import annotations

import sys
from datetime import datetime

import click
from flask import current_app

from deadlines.cli import deadlines_cli
from tthc.extensions import db


@deadlines_cli.command("scan")
@click.option("--at", "at", default=None, help='Scan as of this instant, "YYYY-MM-DD HH:MM" (default: now).')
@click.option("--no-mail", is_flag=True, help="Do not send the newly-overdue digest e-mail.")
def scan_command(at: str | None, no_mail: bool):
    """Run one pass of the late-case scan and print its counts."""
    from deadlines.alerts import mail_newly_overdue
    from deadlines.scan import counts_summary, run_scan
    from tthc.clock import now as clock_now

    if at:
        try:
            when = datetime.strptime(at.strip(), "%Y-%m-%d %H:%M")
        except ValueError:
            click.echo(f"error: malformed --at {at!r}: expected YYYY-MM-DD HH:MM", err=True)
            sys.exit(2)
    else:
        when = clock_now()
    try:
        run = run_scan(db.session, when, kind="cli")
        summary = counts_summary(run)  # before the commit expires the row
        db.session.commit()
    except ValueError as exc:  # an instant beyond the calendar's years
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(summary)
    from tthc.reports.tally import compact

    try:  # the dashboard's tally, as the scheduled pass does (issue 13); the pass is committed already
        removed = compact(db.session)
        db.session.commit()
        click.echo(f"  dossier tally: {removed} rows summed away")
    except Exception as exc:  # e.g. the scheduler compacting at the same moment
        db.session.rollback()
        click.echo(f"  dossier tally not compacted ({exc.__class__.__name__}); the next pass will", err=True)
    if not no_mail and current_app.config.get("SMTP_HOST"):
        sent = mail_newly_overdue(db.session, when, current_app.config)
        db.session.commit()
        click.echo(f"  digest e-mails sent {sent}")


@deadlines_cli.command("run-scheduler")
def run_scheduler_command():
    """Run the scheduler (scan every SCAN_INTERVAL_MINUTES, digest at DIGEST_TIME): one per deployment."""
    import logging

    from apscheduler.schedulers.blocking import BlockingScheduler

    from deadlines.scheduler import build_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = current_app._get_current_object()
    scheduler = build_scheduler(app, BlockingScheduler)
    click.echo(f"scheduler: scan every {app.config['SCAN_INTERVAL_MINUTES']} min, digest at "
               f"{app.config['DIGEST_TIME']} ({app.config['TIMEZONE']}); Ctrl+C to stop")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
