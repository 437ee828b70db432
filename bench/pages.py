"""Benchmark of the pages a desk officer touches, on 1,000,000 dossiers (issue 13).

    .venv/bin/python bench/pages.py [--sqlite URL] [--pg URL] [--only sqlite|postgresql]
                                    [--n 1000000] [--open 100000] [--requests 15]
                                    [--alerts as-is|none|unread|acknowledged]

Seeds each database with ``bench/seed.py`` when it has fewer than ``--n`` dossiers (or
reuses it: defaults /work/benchdata/pages-1m.sqlite and the PostgreSQL database
``tthc_bench_pages``), makes sure the search index and the models' indexes exist, then
times each page through the Flask test client (server time: the request inside the
process, no network), logged in through the real login form as the role that uses it.
The pages are requested in rounds, one request of each page per round, after warm-up
rounds, so that the machine's load (a shared 2-core machine) falls on every page alike;
each page's median is printed with its ratio to ``/dossiers/<code>`` (an indexed look-up
of one dossier) measured in the same run, and the rows it matched (the list's count, as
the page shows it, and the rows on the page), so that a fast empty answer cannot pass.

Every page shows the header's unread-alert count, so the alert tables weigh on every page:
``--alerts`` sets them before timing. ``none``: no alert (as seeded); ``unread``: the scan's
first pass at now has raised its alerts (120,000 at 1M) and nobody has acknowledged any;
``acknowledged``: each bench user has then acknowledged all of theirs through the inbox's
service (deadlines.alerts.acknowledge_all), the steady state of a department that works its
inbox. The state is printed with each user's badge.

Acceptance (issue 13, both databases): search by code and by phone digits at most 3x
``/dossiers/<code>``, by a common name at most 5x; the handler's list and the overdue
filter at most 3x; the dashboard at most 5x; on SQLite every list page under 100 ms.
"""
from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote_plus

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, select  # noqa: E402

DEFAULT_SQLITE = "sqlite:////work/benchdata/pages-1m.sqlite"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/tthc_bench_pages"
PASSWORD = "bench-password-123"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_COUNT = re.compile(r"\(([^()]*?) mục\)|<p class=\"muted\">([^<]*?) mục</p>")
_ROW = re.compile(r'<td><a href="/dossiers/')


def prepare(url: str, n: int, open_n: int) -> None:
    """Seed when the database has fewer than ``n`` dossiers; bring an older bench database up to date."""
    from bench.seed import bring_up_to_date, seed
    from tthc.models import Dossier

    engine = create_engine(url)
    if engine.dialect.name == "postgresql":
        from bench.export import ensure_database

        ensure_database(url)
    bring_up_to_date(engine, echo=lambda m: print(m, flush=True))
    with engine.connect() as conn:
        have = conn.scalar(select(func.count(Dossier.id)))
    if have < n:
        print(f"seeding {n - have} dossiers into {engine.url.render_as_string(hide_password=True)} ...", flush=True)
        seed(engine, n=n - have, open_n=min(open_n, n - have))
    engine.dispose()


def _login(client, username: str) -> None:
    client.post("/logout")
    html = client.get("/login").get_data(as_text=True)
    token = _CSRF.search(html).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    if response.status_code != 302:
        raise SystemExit(f"login as {username} failed: {response.status_code}")


def _users(session) -> dict[str, int]:
    """One account per role (the handler in the unit holding most dossiers)."""
    from tthc.models import Dossier, User

    unit_id = session.execute(select(Dossier.unit_id, func.count()).group_by(Dossier.unit_id)
                              .order_by(func.count().desc()).limit(1)).first()[0]
    ids = {}
    for role in ("reception", "handler", "supervisor"):
        username = f"bench-{role}"
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username, full_name=f"Bench {role}", role=role, active=True)
            user.set_password(PASSWORD)
            session.add(user)
        user.unit_id = unit_id if role == "handler" else None
        session.commit()
        ids[role] = user.id
    return ids


def set_alert_state(url: str, state: str) -> None:
    """Put the alert tables in ``state`` (see the module docstring) and print what they hold."""
    from sqlalchemy import delete, text

    from config import TestingConfig
    from deadlines.alerts import acknowledge_all, unread_count
    from deadlines.scan import run_scan
    from deadlines.store import calendar_for
    from tthc import create_app
    from tthc.clock import now as clock_now
    from tthc.extensions import db
    from tthc.models import Alert, AlertAck, AlertWatermark, User

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        s = db.session
        ids = _users(s)
        if state != "as-is":
            s.execute(delete(AlertWatermark))
            s.execute(delete(AlertAck))
            if state == "none":
                s.execute(delete(Alert))
            s.commit()
        if state in ("unread", "acknowledged") and not s.scalar(select(func.count(Alert.id))):
            t0 = time.perf_counter()
            run = run_scan(s, clock_now(), cal=calendar_for(s), kind="bench")
            s.commit()
            print(f"scan's first pass: {run.counts['total_new_alerts']} alerts in {time.perf_counter() - t0:.1f} s",
                  flush=True)
        if state == "acknowledged":
            for role, user_id in ids.items():
                t0 = time.perf_counter()
                n = acknowledge_all(s, s.get(User, user_id), clock_now())
                s.commit()
                print(f"bench-{role} acknowledged {n} alerts in {time.perf_counter() - t0:.1f} s", flush=True)
        if db.engine.dialect.name == "postgresql" and state != "as-is":
            # What autovacuum does to tables that grew from nothing (the dossiers' flags, 5 % of the
            # rows, stay under its threshold: their statistics stay as they were).
            s.execute(text("ANALYZE alert, alert_ack, alert_watermark"))
            s.commit()
        alerts = s.scalar(select(func.count(Alert.id)))
        acks = s.scalar(select(func.count()).select_from(AlertAck))
        badges = ", ".join(f"bench-{role} {unread_count(s, s.get(User, user_id))}" for role, user_id in ids.items())
        print(f"alerts: {state}: {alerts} alerts, {acks} acknowledgements; unread badges: {badges}", flush=True)
        s.remove()
        db.engine.dispose()


def _matched(html: str) -> str:
    m = _COUNT.search(html)
    count = (m.group(1) or m.group(2)).strip() if m else "?"
    return f"{count} ({len(_ROW.findall(html))} on page)"


def bench_one(url: str, requests: int, seed: int, plans: bool = False) -> list[tuple]:
    from config import TestingConfig
    from tthc import create_app
    from tthc.extensions import db
    from tthc.models import Dossier

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    rng = random.Random(seed)
    with app.app_context():
        s = db.session
        _users(s)
        max_id = s.scalar(select(func.max(Dossier.id)))
        # A recent dossier with a phone (what an applicant brings back), and its code's tail.
        sample = None
        while sample is None:
            sample = s.scalar(select(Dossier).where(Dossier.id >= max_id - rng.randrange(50_000),
                                                    Dossier.applicant_phone != "").order_by(Dossier.id).limit(1))
        code, phone = sample.code, sample.applicant_phone
        tail = code.rsplit("-", 2)[-2] + "-" + code.rsplit("-", 1)[-1]
        s.remove()

    def page(label, role, path, method="GET", data=None):
        return {"label": label, "role": role, "path": path, "method": method, "data": data}

    pages = [
        page("/dossiers/<code>", "reception", f"/dossiers/{code}"),
        page("/dossiers/?q=<a dossier code>", "reception", f"/dossiers/?q={quote_plus(code)}"),
        page(f"/dossiers/?q={tail} (its tail)", "reception", f"/dossiers/?q={quote_plus(tail)}"),
        page("/dossiers/?q=-0015", "reception", "/dossiers/?q=-0015"),
        page("/dossiers/?q=nguyen van an", "reception", "/dossiers/?q=nguyen+van+an"),
        page("/dossiers/?q=<digits of a phone>", "reception", f"/dossiers/?q={phone}"),
        page("/dossiers/?q=<7 phone digits>", "reception", f"/dossiers/?q={phone[-7:]}"),
        page("/dossiers/ as reception", "reception", "/dossiers/"),
        page("/dossiers/ as a handler", "handler", "/dossiers/"),
        page("/dossiers/?status=open&deadline=overdue", "reception", "/dossiers/?status=open&deadline=overdue"),
        page("/dossiers/?deadline=due_soon", "reception", "/dossiers/?deadline=due_soon"),
        page("/dashboard", "supervisor", "/dashboard"),
        page("/ as reception (the desk's day)", "reception", "/"),
        page("/ as a handler (the unit's queue)", "handler", "/"),
        page("public look-up (/tra-cuu)", None, "/tra-cuu", "POST", {"ma": code, "so": phone[-4:]}),
    ]
    clients = {}
    for role in ("reception", "handler", "supervisor"):
        clients[role] = app.test_client()
        _login(clients[role], f"bench-{role}")
    public = app.test_client()
    token = _CSRF.search(public.get("/tra-cuu").get_data(as_text=True)).group(1)

    times: dict[str, list[float]] = {p["label"]: [] for p in pages}
    matched: dict[str, str] = {}
    warm = 2
    for round_no in range(requests + warm):
        for p in pages:
            client = clients[p["role"]] if p["role"] else public
            t0 = time.perf_counter()
            if p["method"] == "POST":
                resp = client.post(p["path"], data=dict(p["data"], csrf_token=token))
            else:
                resp = client.get(p["path"])
            elapsed = time.perf_counter() - t0
            if resp.status_code != 200:
                raise SystemExit(f"{p['path']} answered {resp.status_code}")
            if round_no >= warm:
                times[p["label"]].append(elapsed)
            if round_no == 0:
                html = resp.get_data(as_text=True)
                if p["path"].startswith("/dossiers/?") or p["path"] == "/dossiers/":
                    matched[p["label"]] = _matched(html)
                elif p["path"] == "/":  # a home page: its sections' totals and the dossiers it lists
                    totals = re.findall(r'<h[12]>[^<]*<span class="badge[^"]*">([^<]+)</span>', html)
                    matched[p["label"]] = f"{' / '.join(totals) or 'NO TOTAL'} ({len(_ROW.findall(html))} listed)"
                elif p["label"] == "/dashboard":
                    matched[p["label"]] = f"{html.count('<tr')} table rows"
                else:
                    matched[p["label"]] = "1 dossier" if code in html else "NOT FOUND"
    if plans:
        print_plans(app, clients, public, token, pages)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    base = statistics.median(times[pages[0]["label"]])
    return [(p["label"], statistics.median(times[p["label"]]), statistics.median(times[p["label"]]) / base,
             matched.get(p["label"], "")) for p in pages]


def print_plans(app, clients, public, token, pages) -> None:
    """The query plan of every statement on ``dossier`` that each page runs (EXPLAIN on the same database)."""
    from sqlalchemy import event

    from tthc.extensions import db

    with app.app_context():
        engine = db.engine
    for p in pages:
        captured = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            if "FROM dossier" in statement and statement.lstrip().upper().startswith("SELECT"):
                captured.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", capture)
        try:
            client = clients[p["role"]] if p["role"] else public
            if p["method"] == "POST":
                client.post(p["path"], data=dict(p["data"], csrf_token=token))
            else:
                client.get(p["path"])
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        print(f"\n-- {p['label']}: {len(captured)} statements on dossier")
        with engine.connect() as conn:
            for statement, params in captured:
                print("   " + " ".join(statement.split())[:160])
                if engine.dialect.name == "sqlite":
                    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
                    lines = [r[-1] for r in rows]
                else:
                    lines = [r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params).all()]
                for line in lines:
                    print("      " + line)


TARGETS = {  # label prefix -> max ratio to /dossiers/<code>
    "/dossiers/?q=<a dossier code>": 3, "/dossiers/?q=<digits of a phone>": 3, "/dossiers/?q=nguyen van an": 5,
    "/dossiers/ as a handler": 3, "/dossiers/?status=open&deadline=overdue": 3, "/dashboard": 5,
}


def report(name: str, rows: list[tuple], sqlite: bool) -> bool:
    ok = True
    print(f"\n{name}")
    print(f"{'page':<46} {'median':>9} {'ratio':>7}  {'target':<14} rows matched")
    for label, median, ratio, rows_matched in rows:
        target = TARGETS.get(label)
        verdict = ""
        if target is not None:
            met = ratio <= target and (not sqlite or median < 0.1 or label == "/dashboard")
            ok &= met
            verdict = f"<= {target}x {'ok' if met else 'NOT met'}"
        elif sqlite and label.startswith("/dossiers/?") and median >= 0.1:
            verdict = ">= 100 ms"
        print(f"{label:<46} {median * 1000:7.1f} ms {ratio:6.1f}x  {verdict:<14} {rows_matched}")
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", default=DEFAULT_SQLITE)
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--open", dest="open_n", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=15)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--plans", action="store_true", help="print the query plan of each page's statements")
    parser.add_argument("--alerts", choices=("as-is", "none", "unread", "acknowledged"), default="as-is",
                        help="the alert tables' state before timing (every page shows the unread badge)")
    args = parser.parse_args(argv)
    ok = True
    for name, url in (("sqlite", args.sqlite), ("postgresql", args.pg)):
        if args.only and args.only != name:
            continue
        prepare(url, args.n, args.open_n)
        set_alert_state(url, args.alerts)
        rows = bench_one(url, args.requests, args.seed, args.plans)
        ok &= report(f"{name}: {url}  ({args.requests} warm requests per page, median server time; "
                     f"alerts {args.alerts})", rows,
                     name == "sqlite")
    print("\nacceptance:", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
