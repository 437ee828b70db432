"""``flask plan ...``: import a plan, write its report, raise the reminders.

Bad input ends with a message on stderr and exit status 1, never a traceback; importing the same
file again changes nothing and exits 0.
"""
from __future__ import annotations

import os
import sys
import tempfile
from datetime import datetime

import click

from tthc.clock import now
from tthc.extensions import db
from tthc.plans import bp, queries, reminders, report, services
from tthc.plans import timing as tm


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@bp.cli.command("import")
@click.argument("path")
def import_command(path):
    """Import a plan and its tasks from a .csv/.xlsx file with the columns of papi_plan_2018.csv."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        _fail(f"cannot read {path!r}: {exc.strerror or exc}")
    try:
        result = services.import_file(db.session, data, os.path.basename(path))
    except services.PlanImportError as exc:
        db.session.rollback()
        _fail("\n".join(exc.messages))
    db.session.commit()
    click.echo(("imported: " if result.changed else "nothing changed: ") + result.describe())


@bp.cli.command("report")
@click.option("--plan", "number", required=True, help="The plan's number, e.g. 01A/KH-SKHCN.")
@click.option("--period", "period_text", required=True, help="YYYY-Qn (a calendar quarter) or YYYY (a year).")
@click.option("--out", required=True, help="The .xlsx file to write.")
def report_command(number, period_text, out):
    """The report "Báo cáo kết quả thực hiện Kế hoạch ..." for a quarter or a year."""
    try:
        span = tm.parse_report_period(period_text)
    except tm.TimingError as exc:
        _fail(str(exc))
    plan = queries.find_plan_by_number(db.session, number)
    if plan is None:
        _fail(f"no plan numbered {number!r}")
    folder = os.path.dirname(os.path.abspath(out))
    if not out.lower().endswith(".xlsx"):
        _fail(f"--out must name an .xlsx file, got {out!r}")
    if not os.path.isdir(folder):
        _fail(f"cannot write {out!r}: folder {folder!r} does not exist")
    built = report.build(db.session, plan, span, now())
    fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=folder)
    os.close(fd)
    try:
        report.workbook(built, tmp)
        os.replace(tmp, out)
    except OSError as exc:
        _fail(f"cannot write {out!r}: {exc.strerror or exc}")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    report.log_export(db.session, built, note="flask plan report")
    db.session.commit()
    click.echo(f"wrote {out} ({report.title_for(plan)}, {span.label}, {len(built.rows)} tasks)")


@bp.cli.command("remind")
@click.option("--at", "at_text", default=None, help="Pretend it is this instant, YYYY-MM-DD [HH:MM].")
def remind_command(at_text):
    """Raise the reminders of plan periods coming due and missing (also run after each scheduled scan)."""
    at = now()
    if at_text:
        for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
            try:
                at = datetime.strptime(at_text.strip(), fmt)
                break
            except ValueError:
                continue
        else:
            _fail(f"malformed --at {at_text!r}: expected YYYY-MM-DD or YYYY-MM-DD HH:MM")
    counts = reminders.raise_reminders(db.session, at)
    db.session.commit()
    click.echo(", ".join(f"{k}: {v} new" for k, v in counts.items()))
