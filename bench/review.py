"""Benchmark of the yearly review of processing times (issue 14).

    .venv/bin/python bench/review.py --url sqlite:////work/benchdata/pages-1m.sqlite [--from 2024-12-15 --to 2025-12-14]
                                     [--coverage 95] [--runs 1] [--in-place]

Acceptance: ``flask review times`` on the 1,000,000-dossier bench database finishes in under 30 s.

A SQLite database is first copied (SQLite's backup API: a consistent copy, WAL included) into a
temporary folder, because the command writes one audit row (exports are logged) and the bench must
not change a shared database; ``--in-place`` skips the copy (PostgreSQL always runs in place).
Tables the copy lacks (a database seeded before a migration) are created empty.

Printed, measured in the same run on the same database:
- baseline: streaming the window's finished dossiers (the review's own query and columns) doing nothing;
- ``review_rows`` and ``component_rows`` in process;
- the real command (``flask review times``) in a child process, wall time including start-up;
and the command's ratio to the baseline.
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _copy_sqlite(url: str, folder: str) -> str:
    source = url.split("sqlite:///", 1)[1]
    target = os.path.join(folder, "review-bench.sqlite")
    src, dst = sqlite3.connect(f"file:{source}?mode=ro", uri=True), sqlite3.connect(target)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return "sqlite:///" + target


def _app(url: str):
    from config import TestingConfig
    from tthc import create_app

    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--from", dest="first", default="2024-12-15")
    parser.add_argument("--to", dest="last", default="2025-12-14")
    parser.add_argument("--coverage", default="95")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--in-place", action="store_true")
    parser.add_argument("--no-cli", action="store_true",
                        help="only the in-process measures (read only: for a shared PostgreSQL database)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="review-bench-") as folder:
        url = args.url
        if url.startswith("sqlite:///") and not args.in_place:
            started = time.perf_counter()
            url = _copy_sqlite(url, folder)
            print(f"copied the database in {time.perf_counter() - started:.1f} s")
        app = _app(url)
        from sqlalchemy import func, select

        from deadlines.review import queries
        from tthc.extensions import db
        from tthc.models import Dossier

        window = queries.make_window(date.fromisoformat(args.first), date.fromisoformat(args.last))
        with app.app_context():
            db.create_all()  # tables added after the seed (empty)
            total = db.session.scalar(select(func.count(Dossier.id)))
            stmt = queries._finished_rows(window).execution_options(yield_per=queries.BATCH)
            base = []
            for _ in range(args.runs):
                started = time.perf_counter()
                finished = sum(1 for _ in db.session.execute(stmt))
                base.append(time.perf_counter() - started)
            started = time.perf_counter()
            rows = queries.review_rows(db.session, window, args.coverage)
            t_rows = time.perf_counter() - started
            started = time.perf_counter()
            components = queries.component_rows(db.session, window)
            t_components = time.perf_counter() - started
            from deadlines.review import exports
            from tthc.clock import now

            started = time.perf_counter()
            exports.build_workbook(db.session, window, args.coverage, now(), os.path.join(folder, "in-process.xlsx"))
            t_build = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()

        print(f"database: {total:,} dossiers; window {args.first} .. {args.last}: {finished:,} finished")
        print(f"baseline (stream the window's finished rows): {statistics.median(base):.2f} s")
        print(f"review_rows: {t_rows:.2f} s ({len(rows)} rows, {sum(r.finished for r in rows):,} dossiers, "
              f"{sum(r.proposed is not None for r in rows)} proposals); component_rows: {t_components:.2f} s "
              f"({len(components)} rows)")
        print(f"whole workbook in process (calendar, rows, components, xlsx; no start-up): {t_build:.2f} s "
              f"= {t_build / statistics.median(base):.1f}x the baseline")
        if args.no_cli:
            return 0
        out = os.path.join(folder, "review.xlsx")
        env = dict(os.environ, TTHC_DATABASE_URL=url, TTHC_ENV="development", FLASK_APP="wsgi")
        flask = str(Path(sys.executable).with_name("flask"))
        cli = []
        for _ in range(args.runs):
            started = time.perf_counter()
            done = subprocess.run([flask, "review", "times", "--from", args.first, "--to", args.last,
                                   "--coverage", args.coverage, "--out", out], cwd=ROOT, env=env,
                                  capture_output=True, text=True)
            cli.append(time.perf_counter() - started)
            if done.returncode:
                print(done.stdout, done.stderr, file=sys.stderr)
                return 1
        t_base, t_cli = statistics.median(base), statistics.median(cli)
        print(f"flask review times (child process, wall): {t_cli:.2f} s = {t_cli / t_base:.1f}x the baseline; "
              f"xlsx {os.path.getsize(out) / 1024:.0f} KiB")
        print(f"  {done.stdout.strip()}")
        print("acceptance (< 30 s):", "PASS" if t_cli < 30 else "FAIL")
        print(f"load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
