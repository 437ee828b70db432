"""Intake throughput of this commit against another one, alternating runs (issue 13).

    .venv/bin/python bench/intake_ab.py [--base REV] [--db sqlite|postgresql|both] [--runs 3]
                                        [--clients 8] [--dossiers 400] [--workers 2]

For each database and each run, alternately for the base revision (default ``HEAD~1``,
checked out in a temporary git worktree) and for this working tree: a fresh database
(``flask db upgrade`` + ``flask demo``), a reception token, gunicorn on a free loopback
port, then ``bench/intake_load.py`` against it; the server is stopped after each run.
Prints each run's throughput (dossiers/s, as intake_load.py reports it) and the ratio of
the medians, this tree / base. Acceptance: at least 0.9 on both databases.
Requires gunicorn in the venv and, for PostgreSQL, ``--pg-url`` of a server where
databases may be created (each run makes and drops ``tthc_bench_intake_ab``).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(db_url: str, instance: str) -> dict:
    env = dict(os.environ, FLASK_APP="wsgi", TTHC_ENV="production", TTHC_SECRET_KEY="bench-intake-ab-" + "x" * 32,
               TTHC_DATABASE_URL=db_url, TTHC_INSTANCE_PATH=instance, TTHC_IN_PROCESS_SCHEDULER="0")
    return env


def _pg_database(pg_url: str, name: str, create: bool) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(pg_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(pg_url).set(database=name).render_as_string(hide_password=False)


def one_run(tree: Path, db: str, args) -> float:
    instance = tempfile.mkdtemp(prefix="tthc-intake-ab-")
    try:
        if db == "sqlite":
            url = "sqlite:///" + os.path.join(instance, "intake.sqlite")
        else:
            url = _pg_database(args.pg_url, "tthc_bench_intake_ab", create=True)
        env = _env(url, instance)
        flask = [str(PY), "-m", "flask"]
        for cmd in (["db", "upgrade"], ["demo"]):
            subprocess.run(flask + cmd, cwd=tree, env=env, check=True, capture_output=True)
        token = subprocess.run(flask + ["users", "token", "tiepnhan"], cwd=tree, env=env, check=True,
                               capture_output=True, text=True).stdout.strip().splitlines()[-1]
        port = _free_port()
        server = subprocess.Popen([str(GUNICORN), "-w", str(args.workers), "-b", f"127.0.0.1:{port}", "wsgi:app"],
                                  cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            out = subprocess.run([str(PY), str(ROOT / "bench" / "intake_load.py"), "--url", f"http://127.0.0.1:{port}",
                                  f"--token={token}", "--clients", str(args.clients), "--dossiers", str(args.dossiers)],
                                 cwd=ROOT, capture_output=True, text=True, timeout=900)
        finally:
            server.terminate()
            server.wait(timeout=30)
        match = re.search(r"([\d.]+) dossiers/s", out.stdout)
        if out.returncode != 0 or not match:
            raise SystemExit(f"intake_load failed ({tree}, {db}):\n{out.stdout}\n{out.stderr}")
        return float(match.group(1))
    finally:
        if db == "postgresql":
            _pg_database(args.pg_url, "tthc_bench_intake_ab", create=False)
        shutil.rmtree(instance, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="HEAD~1")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--dossiers", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    base_rev = subprocess.run(["git", "rev-parse", "--short", args.base], cwd=ROOT, check=True, capture_output=True,
                              text=True).stdout.strip()
    base_tree = Path(tempfile.mkdtemp(prefix="tthc-base-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(base_tree), base_rev], cwd=ROOT, check=True,
                   capture_output=True)
    (base_tree / ".venv").symlink_to(ROOT / ".venv")
    ok = True
    try:
        for db in (("sqlite", "postgresql") if args.db == "both" else (args.db,)):
            results: dict[str, list[float]] = {"base": [], "this": []}
            for i in range(args.runs):
                for name, tree in (("base", base_tree), ("this", ROOT)) if i % 2 == 0 else \
                        (("this", ROOT), ("base", base_tree)):
                    results[name].append(one_run(tree, db, args))
                    print(f"{db:<10} run {i + 1} {name:<4} {results[name][-1]:7.1f} dossiers/s", flush=True)
            ratio = statistics.median(results["this"]) / statistics.median(results["base"])
            ok &= ratio >= 0.9
            print(f"{db:<10} median this {statistics.median(results['this']):.1f} / base {base_rev} "
                  f"{statistics.median(results['base']):.1f} dossiers/s: ratio {ratio:.2f} "
                  f"({'ok' if ratio >= 0.9 else 'NOT met'}, acceptance >= 0.9)", flush=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT, capture_output=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
