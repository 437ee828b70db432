"""``flask review times``: the yearly review's workbook for a window of at most 12 months.

Bad input ends with a one-line message on stderr and exit status 1, never a traceback.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

import click
from flask.cli import AppGroup

from deadlines.review import exports, queries
from tthc.clock import now
from tthc.extensions import db

review_cli = AppGroup("review", help="Yearly review of processing times (plan task 3).")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _day(text: str, what: str):
    try:
        return queries.parse_day(text, what)
    except queries.ReviewError as exc:
        _fail(str(exc))


@review_cli.command("times")
@click.option("--from", "first", default=None, help="First finishing day, YYYY-MM-DD (default: 15/12 of the "
                                                  "year before the last full report year).")
@click.option("--to", "last", default=None, help="Last finishing day, YYYY-MM-DD (default: 14/12 of the last "
                                                "full report year).")
@click.option("--coverage", default="95", show_default=True,
              help="Share (%) of the window's dossiers a proposed time must cover.")
@click.option("--out", required=True, help="The .xlsx file to write.")
def times_command(first, last, coverage, out):
    """Per procedure: time actually used, on-time rate, proposed committed time; annex, statistics, components."""
    started = time.perf_counter()
    if (first is None) != (last is None):
        _fail("give both --from and --to, or neither (the last full report year)")
    try:
        window = (queries.default_window(now().date()) if first is None
                  else queries.make_window(_day(first, "--from"), _day(last, "--to")))
        coverage = queries.parse_coverage(coverage)
    except queries.ReviewError as exc:
        _fail(str(exc))
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        _fail(f"cannot write {out!r}: folder {folder!r} does not exist")
    if not out.lower().endswith(".xlsx"):
        _fail(f"--out must name an .xlsx file, got {out!r}")
    fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=folder)
    os.close(fd)
    try:
        _, rows = exports.build_workbook(db.session, window, coverage, now(), tmp)
        os.replace(tmp, out)
    except OSError as exc:
        _fail(f"cannot write {out!r}: {exc.strerror or exc}")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    exports.log_export(db.session, window, coverage, note="flask review times")
    db.session.commit()
    proposals = sum(1 for r in rows if r.proposed is not None)
    dossiers = sum(r.finished for r in rows)
    click.echo(f"wrote {out} ({len(rows)} rows, {dossiers} dossiers finished {window.describe()}, "
               f"{proposals} proposals, {time.perf_counter() - started:.1f} s)")
