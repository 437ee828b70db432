"""``flask deadlines ...``: print a year's days off, compute deadlines for a supervisor to check."""
from __future__ import annotations

import sys
from datetime import datetime

import click
from flask.cli import AppGroup
from sqlalchemy.exc import OperationalError, ProgrammingError

from deadlines import offdays
from deadlines.due_dates import Limit, LimitUnit, compute_deadline
from deadlines.store import calendar_for, load_overrides, office_hours
from tthc.extensions import db
from tthc.models import CalendarYear

deadlines_cli = AppGroup("deadlines", help="Working-day calendar and deadlines.")

CLI_UNITS = ("working_days", "working_hours", "calendar_days", "months")


def _overrides_or_none():
    """The administrators' edits; none (with a warning) when the database is not migrated yet."""
    try:
        return load_overrides(db.session)
    except (OperationalError, ProgrammingError):
        db.session.rollback()
        click.echo("warning: database not initialised (run `flask db upgrade`): administrators' edits ignored",
                   err=True)
        return None


@deadlines_cli.command("offdays")
@click.argument("year", type=click.IntRange(2000, 2100))  # the span of the working calendar (build_calendar)
def offdays_command(year: int):
    """Print the weekdays off and make-up days of YEAR, one per line: `YYYY-MM-DD off|makeup <name>`."""
    overrides = _overrides_or_none()
    confirmed = []
    if overrides is not None and db.session.get(CalendarYear, year) is not None:
        confirmed = [year]
    for entry in offdays.year_schedule(year, overrides or (), confirmed):
        suffix = " [ước tính]" if entry.source == "estimated" else ""
        click.echo(f"{entry.date.isoformat()} {entry.kind} {entry.name}{suffix}")


def parse_request(received: str, amount: str | int, unit: str) -> tuple[datetime, Limit]:
    """Validate one deadline request; raises ValueError with a clear reason."""
    try:
        received_at = datetime.strptime(received.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise ValueError(f"malformed date {received.strip()!r}: expected YYYY-MM-DD HH:MM") from None
    try:
        amount_i = int(str(amount).strip())
    except ValueError:
        raise ValueError(f"amount must be a whole number, got {str(amount).strip()!r}") from None
    if amount_i < 0:
        raise ValueError(f"amount must not be negative, got {amount_i}")
    unit = unit.strip()
    if unit not in CLI_UNITS:
        raise ValueError(f"unknown unit {unit!r}: expected one of {', '.join(CLI_UNITS)}")
    return received_at, Limit(amount=amount_i, unit=LimitUnit(unit))


def _compute(cal, received: str, amount, unit: str) -> str:
    received_at, limit = parse_request(received, amount, unit)
    deadline = compute_deadline(cal, received_at, limit)
    return deadline.strftime("%Y-%m-%d %H:%M")


def _calendar():
    overrides = _overrides_or_none()
    if overrides is None:
        return offdays.build_calendar((), office_hours())
    return calendar_for(db.session)


@deadlines_cli.command("due")
@click.option("--received", help='Reception instant, "YYYY-MM-DD HH:MM".')
@click.option("--amount", help="Time limit amount (whole number).")
@click.option("--unit", help="working_days, working_hours, calendar_days or months.")
def due_command(received, amount, unit):
    """Print the deadline as `YYYY-MM-DD HH:MM`.

    Without options, read lines `YYYY-MM-DD HH:MM,N,UNIT` from standard input and
    print one deadline per line, or `error: <reason>` for a bad line.
    """
    cal = _calendar()
    given = [v is not None for v in (received, amount, unit)]
    if any(given):
        if not all(given):
            click.echo("error: --received, --amount and --unit go together", err=True)
            sys.exit(2)
        try:
            click.echo(_compute(cal, received, amount, unit))
        except ValueError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        return
    failures = 0
    for line in sys.stdin:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(",")
        try:
            if len(parts) != 3:
                raise ValueError(f"expected 3 comma-separated fields (YYYY-MM-DD HH:MM,N,UNIT), got {len(parts)}")
            click.echo(_compute(cal, *parts))
        except ValueError as exc:
            failures += 1
            click.echo(f"error: {exc}")
    if failures:
        sys.exit(1)


def init_app(app) -> None:
    app.cli.add_command(deadlines_cli)
