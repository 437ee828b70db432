"""``flask reports ...``: the scheduled exports (monthly, summary, register, late).

Bad input ends with a one-line message on stderr and exit status 1, never a traceback.
Every export is logged in the audit log (Decree 13/2023).
"""
from __future__ import annotations

import os
import sys
import tempfile

import click
from flask.cli import AppGroup

from tthc.clock import now
from tthc.extensions import db
from tthc.reports import exports, periods

reports_cli = AppGroup("reports", help="Excel reports: monthly summary, register (form 06/07), late list.")

BY = click.Choice(["field", "procedure", "unit"])


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _check_out(out: str) -> str:
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        _fail(f"cannot write {out!r}: folder {folder!r} does not exist")
    if not out.lower().endswith(".xlsx"):
        _fail(f"--out must name an .xlsx file, got {out!r}")
    return out


def _write(out: str, build) -> None:
    """Build into a temporary file next to ``out``, then rename: no half-written report is left behind."""
    folder = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=folder)
    os.close(fd)
    try:
        build(tmp)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _run(kind: str, period, out: str, build, **log) -> None:
    try:
        _write(out, build)
    except exports.ReportError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {out!r}: {exc.strerror or exc}")
    exports.log_export(db.session, kind, period, note="flask reports", **log)
    db.session.commit()
    click.echo(f"wrote {out} ({exports.REPORT_TYPES[kind]}, {period.describe()})")


def _period(parse, *args):
    try:
        return parse(*args)
    except periods.PeriodError as exc:
        _fail(str(exc))


def _unit(unit_id):
    try:
        return exports.find_unit(db.session, unit_id)
    except exports.ReportError as exc:
        _fail(str(exc))


def _summary(period, by, unit_id, out):
    _check_out(out)
    unit = _unit(unit_id)
    current = now()
    _run("summary", period, out, lambda path: exports.build_summary(db.session, period, by, unit, current, path),
         by=by, unit=unit)


@reports_cli.command("monthly")
@click.option("--period", "period_text", required=True, help="YYYY-MM: 15th of the previous month to the 14th.")
@click.option("--by", default="field", type=BY, show_default=True, help="One row per field, procedure or unit.")
@click.option("--unit", "unit_id", default=None, help="Only the dossiers of this unit (id).")
@click.option("--out", required=True, help="The .xlsx file to write.")
def monthly_command(period_text, by, unit_id, out):
    """The monthly report "Tình hình, kết quả giải quyết TTHC" (Decree 09/2019, Art. 12 period)."""
    _summary(_period(periods.parse_month, period_text, exports.period_scheme()), by, unit_id, out)


@reports_cli.command("summary")
@click.option("--from", "first", required=True, help="First day, YYYY-MM-DD (included).")
@click.option("--to", "last", required=True, help="Last day, YYYY-MM-DD (included).")
@click.option("--by", default="field", type=BY, show_default=True, help="One row per field, procedure or unit.")
@click.option("--unit", "unit_id", default=None, help="Only the dossiers of this unit (id).")
@click.option("--out", required=True, help="The .xlsx file to write.")
def summary_command(first, last, by, unit_id, out):
    """The same report for any range: a quarter, a half-year, a year (e.g. --from 2024-12-15 --to 2025-12-14)."""
    _summary(_period(periods.parse_range, first, last), by, unit_id, out)


@reports_cli.command("register")
@click.option("--from", "first", required=True, help="First reception day, YYYY-MM-DD.")
@click.option("--to", "last", required=True, help="Last reception day, YYYY-MM-DD.")
@click.option("--unit", "unit_id", default=None, help="Only the dossiers of this unit (id).")
@click.option("--mask-personal-data/--full-personal-data", default=False, show_default=True,
              help="Mask applicants' phone numbers (Decree 13/2023) when the file leaves the desk.")
@click.option("--out", required=True, help="The .xlsx file to write.")
def register_command(first, last, unit_id, mask_personal_data, out):
    """The register of dossiers (form 07 of Circular 03/2025; 06 of Circular 01/2018 for a range ending before
    15/09/2025), streamed."""
    period = _period(periods.parse_range, first, last)
    _check_out(out)
    unit = _unit(unit_id)
    current = now()
    _run("register", period, out,
         lambda path: exports.build_register(db.session, period, unit, current, mask_personal=mask_personal_data,
                                             target=path),
         unit=unit, masked=mask_personal_data)


@reports_cli.command("late")
@click.option("--period", "period_text", required=True, help="YYYY-MM: 15th of the previous month to the 14th.")
@click.option("--unit", "unit_id", default=None, help="Only the dossiers of this unit (id).")
@click.option("--out", required=True, help="The .xlsx file to write.")
def late_command(period_text, unit_id, out):
    """Dossiers finished late in the period or overdue at its end: deadlines, working days late, apology, reason."""
    period = _period(periods.parse_month, period_text, exports.period_scheme())
    _check_out(out)
    unit = _unit(unit_id)
    current = now()
    _run("late", period, out, lambda path: exports.build_late(db.session, period, unit, current, path), unit=unit)


@reports_cli.command("rebuild-tally")
def rebuild_tally_command():
    """Recompute the dashboard's tally (dossier_tally) from the dossiers and recreate its triggers:
    after a write that bypassed row triggers (a TRUNCATE, a data-only restore, triggers disabled)."""
    from sqlalchemy import text

    from tthc.reports import tally

    connection = db.session.connection()
    tally.rebuild(connection)
    tally.install(connection)
    db.session.commit()
    rows = db.session.execute(text(f"SELECT count(*) FROM {tally.TABLE}")).scalar_one()
    click.echo(f"dossier tally rebuilt: {rows} rows")
