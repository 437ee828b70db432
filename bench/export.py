"""Benchmark of the Excel exports (issue 6).

    .venv/bin/python bench/export.py [--url URL] [--n 1000000] [--open 100000] [--register-rows 100000]
                                     [--period 2026-03] [--runs 3] [--reseed] [--explain]

Acceptance: the register of 100,000 dossiers takes at most 1.5x a bare openpyxl
``write_only`` loop writing the same query's rows, under 200 MB peak; the monthly
report on 1,000,000 dossiers takes under 5 s.

The database (PostgreSQL; default a dedicated ``tthc_bench_reports`` database, created
if missing) is seeded with ``bench/seed.py --url URL --n N --open K`` when that script
exists, otherwise by one ``INSERT ... SELECT generate_series`` here. Each export then
runs in its own child process (``--child``), started by a fresh middle process
(``--middle``) whose only child it is, so that ``resource.getrusage(RUSAGE_CHILDREN)``
there is that export's peak resident size. Reported: the export's own time as the child
measured it (after start-up and connecting), the child's wall time, the peak.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = os.environ.get("TTHC_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/tthc_bench_reports")
FIRST = datetime(2023, 3, 15)
LAST = datetime(2026, 3, 14, 17, 0)


def _app(url: str):
    from config import TestingConfig
    from tthc import create_app

    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ECHO=False)


# -- seeding --------------------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() != "postgresql":
        return  # SQLite creates its file on first connection
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("select 1 from pg_database where datname = :d"), {"d": u.database}):
            conn.execute(text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()


def seed_here(url: str, n: int, open_: int) -> None:
    """1 field per 4 procedures, 8 units; received uniformly FIRST..LAST; the last ``open_`` still open."""
    from sqlalchemy import text

    from tthc.extensions import db

    app = _app(url)
    with app.app_context():
        db.drop_all()
        db.create_all()
        span = int((LAST - FIRST).total_seconds())
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO unit (code, name, active) SELECT 'U' || g, 'Phòng ' || g, true "
                              "FROM generate_series(1, 8) g"))
            conn.execute(text(
                "INSERT INTO procedure (national_code, name, name_search, field, unit_id, fee, online_level, limit_unit,"
                " statutory_amount, supplement_rule, legal_basis, submission_info, result_location, source, active,"
                " inactive_reason, created_at, updated_at) "
                "SELECT '1.' || lpad(g::text, 6, '0'), 'Thủ tục số ' || g, 'thu tuc so ' || g,"
                " 'Lĩnh vực ' || (g % 10), 1 + g % 8, '', '', 'working_days', 5 + g % 20, 'restart', '', '', '',"
                " '', true, '', now(), now() FROM generate_series(1, 40) g"))
            conn.execute(text(f"""
                INSERT INTO dossier (code, external_code, reception_point, procedure_id, rule, field, unit_id,
                    applicant_kind, applicant_name, applicant_name_search, applicant_id_number, applicant_phone,
                    applicant_email, applicant_address, request_summary, channel, documents, sets, received_at,
                    register_year, register_number, effective_start_at, original_deadline_at, deadline_at,
                    appointment_at, status, result, forwarded_at, finished_at, handed_over_at, closed_at,
                    classification, extended, supplement_count, flag_due_soon, flag_overdue, flag_not_forwarded,
                    flag_apology_missing, flag_late_supplement_request, flag_finished_late, version, created_at,
                    updated_at)
                SELECT 'B-' || g, false, '', p, '{{"limit_unit": "working_days", "limit_amount": 10}}'::json,
                    'Lĩnh vực ' || (p % 10), 1 + p % 8, 'individual', 'Nguyễn Văn ' || g, 'nguyen van ' || g, '',
                    '09' || lpad((g % 100000000)::text, 8, '0'), '', g || ' Lê Lợi, phường Bến Thành', '',
                    (ARRAY['direct','online','postal'])[1 + g % 3], '[]'::json, 1, r, 2026, g, r, r + interval '14 days',
                    r + interval '14 days' + CASE WHEN g % 50 = 0 THEN interval '7 days' ELSE interval '0' END,
                    r + interval '14 days',
                    CASE WHEN g > :closed THEN 'in_progress' WHEN g % 200 = 0 THEN 'cancelled'
                         WHEN g % 97 = 0 THEN 'withdrawn' WHEN g % 89 = 0 THEN 'returned_unprocessed'
                         ELSE 'handed_over' END,
                    CASE WHEN g > :closed OR g % 200 = 0 OR g % 97 = 0 OR g % 89 = 0 THEN NULL
                         WHEN g % 13 = 0 THEN 'refused' ELSE 'approved' END,
                    r + interval '1 hour',
                    CASE WHEN g > :closed OR g % 200 = 0 OR g % 97 = 0 OR g % 89 = 0 THEN NULL
                         ELSE r + (g % 18) * interval '1 day' END,
                    CASE WHEN g > :closed OR g % 200 = 0 OR g % 97 = 0 OR g % 89 = 0 THEN NULL
                         ELSE r + (g % 18 + 1) * interval '1 day' END,
                    CASE WHEN g <= :closed AND (g % 200 = 0 OR g % 97 = 0 OR g % 89 = 0)
                         THEN r + interval '2 days' END,
                    CASE WHEN g > :closed OR g % 200 = 0 OR g % 97 = 0 OR g % 89 = 0 THEN NULL
                         WHEN g % 18 < 14 THEN 'early' WHEN g % 18 = 14 THEN 'on_time' ELSE 'late' END,
                    g % 50 = 0, 0, false, false, false, false, false, false, 1, r, r
                FROM (SELECT g, 1 + g % 40 AS p,
                             timestamp '{FIRST:%Y-%m-%d %H:%M:%S}' + (g::bigint * {span} / :n) * interval '1 second' AS r
                      FROM generate_series(1, :n) g) s
            """), {"n": n, "closed": n - open_})
            conn.execute(text("ANALYZE"))
        db.engine.dispose()


def seed(url: str, n: int, open_: int, reseed: bool) -> str:
    from sqlalchemy import create_engine, text

    ensure_database(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            have = conn.scalar(text("select count(*) from dossier"))
    except Exception:
        have = 0
    finally:
        engine.dispose()
    if have >= n and not reseed:
        from tthc.models import Dossier

        engine = create_engine(url)
        for index in Dossier.__table__.indexes:  # indexes added to the models since the seeding
            index.create(engine, checkfirst=True)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE dossier"))
        engine.dispose()
        return f"reused {have:,} dossiers"
    t0 = time.perf_counter()
    external = ROOT / "bench" / "seed.py"
    if external.exists():
        subprocess.run([sys.executable, str(external), "--url", url, "--n", str(n), "--open", str(open_)], check=True)
        how = "bench/seed.py"
    else:
        seed_here(url, n, open_)
        how = "generate_series (bench/seed.py absent)"
    return f"seeded {n:,} dossiers ({open_:,} open) with {how} in {time.perf_counter() - t0:.1f} s"


# -- the measured children ------------------------------------------------------------------------------


def child(args) -> None:
    from openpyxl import Workbook

    from tthc.clock import now
    from tthc.extensions import db
    from tthc.reports import exports, periods, queries

    app = _app(args.url)
    with app.app_context():
        db.session.execute(db.text("select 1"))  # connect before timing
        result = {}
        t0 = time.perf_counter()
        if args.child == "register":
            period = periods.parse_range(args.first, args.last)
            exports.build_register(db.session, period, None, now(), mask_personal=False, target=args.out)
        elif args.child == "bare":
            period = periods.parse_range(args.first, args.last)
            wb = Workbook(write_only=True)
            ws = wb.create_sheet("bare")
            rows = 0
            stmt = queries.register_statement(period.start, period.end).execution_options(yield_per=queries.CHUNK_ROWS)
            for row in db.session.execute(stmt):
                ws.append(tuple(row))
                rows += 1
            wb.save(args.out)
            result["rows"] = rows
        elif args.child == "monthly":
            period = periods.parse_month(args.period)
            _, result["rows"] = exports.build_summary(db.session, period, "field", None, now(), args.out)
        result["seconds"] = time.perf_counter() - t0
    print(json.dumps(result))


def run_child(args, mode: str, out: str, **extra) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--url", args.url, "--out", out]
    for key, value in extra.items():
        cmd += [f"--{key}", str(value)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{stderr}")
    data = json.loads(stdout.strip().splitlines()[-1])
    data["wall"] = wall
    return data


def measured(args, mode: str, out: str, **extra) -> dict:
    """Run one child inside a fresh middle process, so RUSAGE_CHILDREN is that child's alone."""
    cmd = [sys.executable, __file__, "--middle", mode, "--url", args.url, "--out", out]
    for key, value in extra.items():
        cmd += [f"--{key}", str(value)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def middle(args) -> None:
    import resource

    extra = {k: getattr(args, k) for k in ("first", "last", "period") if getattr(args, k)}
    data = run_child(args, args.middle, args.out, **extra)
    data["maxrss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    data["bytes"] = os.path.getsize(args.out)
    print(json.dumps(data))


def register_range(url: str, rows: int) -> tuple[str, str, int]:
    """The most recent days holding about ``rows`` dossiers."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        last = conn.scalar(text("select max(received_at) from dossier"))
        first = conn.scalar(text("select received_at from dossier order by received_at desc limit 1 offset :k"),
                            {"k": rows - 1})
        if isinstance(first, str):  # SQLite hands raw timestamps back as text
            first, last = datetime.fromisoformat(first), datetime.fromisoformat(last)
        first_day, last_day = first.date() + timedelta(days=1), last.date()
        count = conn.scalar(text("select count(*) from dossier where received_at >= :a and received_at < :b"),
                            {"a": first_day, "b": last_day + timedelta(days=1)})
    engine.dispose()
    return first_day.isoformat(), last_day.isoformat(), count


def explain(url: str, period_text: str) -> str:
    from sqlalchemy.dialects import postgresql

    from tthc.extensions import db
    from tthc.reports import periods, queries

    app = _app(url)
    with app.app_context():
        # The summary's statements as summary_rows runs them (one per part of the period), EXPLAINed.
        period = periods.parse_month(period_text)
        plans = []
        for stmt in queries.summary_statements(period):
            sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            plans.extend(db.session.execute(db.text("EXPLAIN (ANALYZE, BUFFERS) " + sql)).scalars().all())
        db.engine.dispose()
    return "\n".join(plans)


def _median_run(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--open", dest="open_", type=int, default=100_000)
    parser.add_argument("--register-rows", type=int, default=100_000)
    parser.add_argument("--period", default="2026-03")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--runs", type=int, default=3, help="measurements of each export (medians reported)")
    parser.add_argument("--explain", action="store_true", help="print the summary query's plan")
    parser.add_argument("--child", choices=["register", "bare", "monthly"], help=argparse.SUPPRESS)
    parser.add_argument("--middle", choices=["register", "bare", "monthly"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--first", help=argparse.SUPPRESS)
    parser.add_argument("--last", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    if args.middle:
        middle(args)
        return 0

    print(seed(args.url, args.n, args.open_, args.reseed))
    first, last, count = register_range(args.url, args.register_rows)
    tmp = tempfile.mkdtemp(prefix="tthc-bench-")
    bares, registers, monthlies = [], [], []
    for _ in range(args.runs):  # interleaved, so that a busy machine slows both alike
        bares.append(measured(args, "bare", os.path.join(tmp, "bare.xlsx"), first=first, last=last))
        registers.append(measured(args, "register", os.path.join(tmp, "register.xlsx"), first=first, last=last))
        monthlies.append(measured(args, "monthly", os.path.join(tmp, "monthly.xlsx"), period=args.period))
    bare, register, monthly = (_median_run(runs) for runs in (bares, registers, monthlies))
    ratios = [r["seconds"] / b["seconds"] for r, b in zip(registers, bares)]
    ratio = statistics.median(ratios)
    print(f"{args.runs} run(s), medians; register/bare ratio per run: {', '.join(f'{x:.2f}' for x in ratios)}")
    register["maxrss_mb"] = max(r["maxrss_mb"] for r in registers)
    print(f"register {first}..{last}: {count:,} dossiers")
    print(f"  bare write_only loop : {bare['seconds']:6.2f} s export, {bare['wall']:6.2f} s wall, "
          f"peak {bare['maxrss_mb']:6.1f} MB, {bare['bytes'] / 1e6:.1f} MB file")
    print(f"  register (form 06)   : {register['seconds']:6.2f} s export, {register['wall']:6.2f} s wall, "
          f"peak {register['maxrss_mb']:6.1f} MB, {register['bytes'] / 1e6:.1f} MB file")
    print(f"  ratio register/bare  : {ratio:.2f}x  (acceptance <= 1.5x; peak < 200 MB)")
    print(f"monthly report {args.period} on {args.n:,} dossiers: {monthly['seconds']:.2f} s export, "
          f"{monthly['wall']:.2f} s wall, peak {monthly['maxrss_mb']:.1f} MB, {monthly['rows']} rows "
          f"(acceptance < 5 s)")
    if args.explain:
        print(explain(args.url, args.period))
    ok = ratio <= 1.5 and register["maxrss_mb"] < 200 and monthly["seconds"] < 5
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
