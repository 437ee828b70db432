"""Build a realistic database of N dossiers for benchmarks (issue 5; reused by the reports bench).

    .venv/bin/python bench/seed.py --url sqlite:////tmp/bench.sqlite --n 1000000 --open 100000 [--seed 20260302]

or, from Python::

    from bench.seed import seed
    seed(engine_or_session, n=1_000_000, open_n=100_000, seed=20260302, now=datetime(2026, 11, 27, 10, 0))

N dossiers received 2018-01-02 .. now: every status and channel; ``open_n`` of them
open (received, in progress, awaiting supplement) received in the last 90 days
(more of them recent); the others closed (mostly finished/handed over, some
returned unprocessed, withdrawn, cancelled). Deadlines come from the real engine
(``compute_deadline``, ``forwarding_deadline``, ``classify``) with the shipped
calendar; 3-5 % are extended once (new appointment 5 working days later, still
judged against the original deadline). Flags are left off and no alerts exist,
as in a database never scanned. Units, procedures and fields are created when
the database has none. Rows are bulk-inserted with Core executemany in chunks
(SQLite: synchronous=OFF, WAL); the tables are created when missing.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, insert, select  # noqa: E402
from sqlalchemy.engine import Connection, Engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from deadlines.due_dates import Limit, LimitUnit, classify, compute_deadline, forwarding_deadline  # noqa: E402
from deadlines.offdays import build_calendar  # noqa: E402
from tthc.extensions import db  # noqa: E402
from tthc.models import Dossier, Procedure, Unit  # noqa: E402
from tthc.text import fold  # noqa: E402

AGENCY_CODE = "000.00.31.H49"
FIRST = datetime(2018, 1, 2, 7, 0)
FIELDS = ("Hoạt động khoa học và công nghệ", "An toàn bức xạ và hạt nhân", "Tiêu chuẩn, đo lường, chất lượng",
          "Sở hữu trí tuệ", "Bưu chính", "Viễn thông", "Công nghệ thông tin", "Báo chí", "Xuất bản")
UNITS = ("Phòng Quản lý khoa học", "Phòng Quản lý chuyên ngành", "Chi cục Tiêu chuẩn Đo lường Chất lượng",
         "Phòng Bưu chính, Viễn thông", "Phòng Công nghệ thông tin", "Phòng Báo chí, Xuất bản",
         "Phòng Sở hữu trí tuệ", "Trung tâm Kỹ thuật")
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Thu", "Hoàng")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hùng", "Khánh", "Lan", "Linh", "Long",
         "Mai", "Nam", "Nga", "Phong", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến")
ORGS = ("Công ty TNHH Kỹ thuật {}", "Công ty CP Công nghệ {}", "Bệnh viện Đa khoa {}", "Trường Đại học {}")
CLOSED_STATUSES = (("handed_over", 72), ("finished", 14), ("returned_unprocessed", 5), ("withdrawn", 5),
                   ("cancelled", 2), ("finished", 2))
OPEN_STATUSES = (("received", 12), ("in_progress", 78), ("awaiting_supplement", 10))
CHANNELS = (("direct", 45), ("online", 45), ("postal", 10))
CHUNK = 20_000


def _weighted(rng: random.Random, table):
    values, weights = zip(*table)
    return rng.choices(values, weights=weights)[0]


def _ensure_catalog(conn, rng: random.Random) -> list[dict]:
    """Units and procedures (created when none); returns the procedures as dicts."""
    if not conn.execute(select(func.count()).select_from(Unit.__table__)).scalar():
        conn.execute(insert(Unit.__table__), [{"code": f"BENCH{i + 1}", "name": n, "active": True}
                                              for i, n in enumerate(UNITS)])
    unit_ids = [r[0] for r in conn.execute(select(Unit.id).order_by(Unit.id))]
    if not conn.execute(select(func.count()).select_from(Procedure.__table__)).scalar():
        rows = []
        for i in range(48):
            unit_kind = rng.choices(("working_days", "calendar_days", "months", "working_hours"),
                                    weights=(80, 10, 5, 5))[0]
            amount = {"working_days": rng.choice((3, 5, 7, 10, 12, 15, 20, 30)), "calendar_days": rng.choice((15, 30)),
                      "months": 1, "working_hours": rng.choice((4, 8, 16))}[unit_kind]
            name = f"Thủ tục mẫu số {i + 1}"
            rows.append({"national_code": f"9.{i + 1:06d}.BENCH", "name": name, "name_search": fold(name),
                         "field": FIELDS[i % len(FIELDS)], "unit_id": unit_ids[i % len(unit_ids)],
                         "limit_unit": unit_kind, "statutory_amount": amount, "supplement_rule": "restart",
                         "active": True, "fee": "", "online_level": "", "legal_basis": "", "submission_info": "",
                         "result_location": "", "source": "bench/seed.py", "inactive_reason": "",
                         "created_at": FIRST, "updated_at": FIRST})
        conn.execute(insert(Procedure.__table__), rows)
    procs = []
    for r in conn.execute(select(Procedure.id, Procedure.field, Procedure.unit_id, Procedure.limit_unit,
                                 Procedure.statutory_amount, Procedure.committed_unit, Procedure.committed_amount)):
        unit = r.committed_unit if r.committed_amount is not None and r.committed_unit else r.limit_unit
        amount = r.committed_amount if r.committed_amount is not None and r.committed_unit else r.statutory_amount
        if unit in (None, "none") or amount is None:
            unit, amount = "none", None
        procs.append({"id": r.id, "field": r.field, "unit_id": r.unit_id or rng.choice(unit_ids),
                      "rule": {"limit_unit": unit, "limit_amount": amount, "supplement_rule": "restart"},
                      "limit": Limit(amount=amount, unit=LimitUnit(unit))})
    return procs


def _names(rng: random.Random, count: int = 3000) -> list[tuple[str, str, str]]:
    out = []
    for _ in range(count):
        if rng.random() < 0.8:
            name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            out.append((name, fold(name), "individual"))
        else:
            name = rng.choice(ORGS).format(rng.choice(GIVEN) + " " + rng.choice(GIVEN))
            out.append((name, fold(name), "organisation"))
    return out


def _receipt_instants(rng: random.Random, n: int, open_n: int, now: datetime) -> list[tuple[datetime, bool]]:
    closed_until = now - timedelta(days=3)
    span = int((closed_until - FIRST).total_seconds())
    out = []
    for _ in range(n - open_n):
        t = FIRST + timedelta(seconds=rng.randrange(span))
        out.append((_office_like(rng, t), False))
    for _ in range(open_n):
        age = timedelta(days=90) * (rng.random() ** 2)
        t = min(now - age, now - timedelta(minutes=5))
        out.append((_office_like(rng, t), True))
    out.sort(key=lambda x: x[0])
    return out


def _office_like(rng: random.Random, t: datetime) -> datetime:
    """Most receipts during office hours; some online ones at night (start counts next opening)."""
    if rng.random() < 0.9:
        hour = rng.choice((7, 8, 9, 10, 11, 13, 14, 15, 16))
        t = t.replace(hour=hour, minute=rng.randrange(30 if hour == 11 else 60))
    return t.replace(second=0, microsecond=0)


def _connection_scope(target):
    """(connection, commit callable) for an Engine, Connection or Session."""
    if isinstance(target, Session):
        return target.connection(), target.commit, None
    if isinstance(target, Connection):
        return target, (lambda: target.commit()), None
    if isinstance(target, Engine):
        conn = target.connect()
        return conn, conn.commit, conn
    raise TypeError(f"seed() takes an Engine, Connection or Session, got {type(target).__name__}")


def seed(session_or_engine, n: int = 1_000_000, open_n: int = 100_000, seed: int = 20260302,
         now: datetime | None = None, echo=print) -> dict:
    """Insert ``n`` dossiers (``open_n`` open). Returns counts per status. Commits."""
    if open_n > n:
        raise ValueError("open_n must not exceed n")
    now = (now or datetime.now()).replace(second=0, microsecond=0)
    rng = random.Random(seed)
    if isinstance(session_or_engine, Engine):
        db.metadata.create_all(session_or_engine)
    conn, commit, owned = _connection_scope(session_or_engine)
    try:
        if conn.dialect.name == "sqlite":
            commit()
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
        procs = _ensure_catalog(conn, rng)
        commit()
        names = _names(rng)
        cal = build_calendar()
        started = time.perf_counter()
        instants = _receipt_instants(rng, n, open_n, now)
        # Continue existing sequences (a second seed adds to the same database).
        reg_last = dict(conn.execute(select(Dossier.register_year, func.max(Dossier.register_number))
                                     .group_by(Dossier.register_year)).all())
        day_seq: dict = {}
        codes_taken = conn.execute(select(func.count(Dossier.id))).scalar() or 0
        table = Dossier.__table__
        counts: dict[str, int] = {}
        batch = []
        for received_at, is_open in instants:
            proc = procs[rng.randrange(len(procs))]
            start = cal.next_opening(received_at)
            original = compute_deadline(cal, start, proc["limit"])
            fwd_deadline = forwarding_deadline(cal, received_at)
            extended = False
            deadline = original
            finished_at = handed_over_at = closed_at = forwarded_at = None
            classification = result = None
            if is_open:
                status = _weighted(rng, OPEN_STATUSES)
                if status == "received":
                    # Mostly forwarded in time; some not yet forwarded past their forwarding deadline.
                    pass
                else:
                    forwarded_at = min(start + timedelta(hours=rng.uniform(0.2, 6)), now)
                if original is not None and status != "received" and rng.random() < 0.05:
                    extended = True
                    deadline = cal.add_working_days(original, 5)
            else:
                status = _weighted(rng, CLOSED_STATUSES)
                forwarded_at = start + timedelta(hours=rng.uniform(0.2, 6))
                if status in ("finished", "handed_over"):
                    if original is not None:
                        span = (original - start) * rng.uniform(0.25, 1.2)
                        finished_at = start + span
                        if finished_at > original and rng.random() < 0.3:
                            extended = True
                            deadline = cal.add_working_days(original, 5)
                    else:
                        finished_at = start + timedelta(days=rng.uniform(1, 20))
                    finished_at = min(finished_at.replace(microsecond=0), now)
                    classification = classify(finished_at, original)
                    result = "approved" if rng.random() < 0.95 else "refused"
                    if status == "handed_over":
                        handed_over_at = min(finished_at + timedelta(days=rng.uniform(0, 5)), now)
                else:
                    closed_at = start + timedelta(days=rng.uniform(0, 10))
            counts[status] = counts.get(status, 0) + 1
            name, name_search, kind = names[rng.randrange(len(names))]
            day = received_at.date()
            seq = day_seq.get(day, 0) + 1
            day_seq[day] = seq
            year = received_at.year
            reg = reg_last.get(year, 0) + 1
            reg_last[year] = reg
            channel = _weighted(rng, CHANNELS)
            batch.append({
                "code": f"{AGENCY_CODE}-{day:%y%m%d}-{seq:04d}" if not codes_taken else
                        f"{AGENCY_CODE}-{day:%y%m%d}-B{codes_taken}-{seq:04d}",
                "external_code": False, "reception_point": "", "procedure_id": proc["id"], "rule": proc["rule"],
                "field": proc["field"], "unit_id": proc["unit_id"], "current_unit_id": proc["unit_id"],
                "applicant_kind": kind, "applicant_name": name, "applicant_name_search": name_search,
                "applicant_id_number": "", "applicant_phone": "", "applicant_email": "", "applicant_address": "",
                "request_summary": "", "channel": channel, "documents": [], "sets": 1,
                "submitted_at": received_at if channel == "online" else None, "received_at": received_at,
                "received_by_id": None, "register_year": year, "register_number": reg,
                "effective_start_at": start, "forwarding_deadline_at": fwd_deadline,
                "original_deadline_at": original, "deadline_at": deadline, "appointment_at": original,
                "status": status, "result": result, "forwarded_at": forwarded_at, "finished_at": finished_at,
                "handed_over_at": handed_over_at, "closed_at": closed_at, "classification": classification,
                "extended": extended, "supplement_count": 1 if status == "awaiting_supplement" else 0,
                "flag_due_soon": False, "flag_overdue": False, "flag_not_forwarded": False,
                "flag_apology_missing": False, "flag_late_supplement_request": False, "flag_finished_late": False,
                "version": 1, "created_at": received_at, "updated_at": received_at,
            })
            if len(batch) >= CHUNK:
                conn.execute(insert(table), batch)
                commit()
                batch = []
        if batch:
            conn.execute(insert(table), batch)
            commit()
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
            commit()
        elif conn.dialect.name == "postgresql":
            commit()
        echo(f"seeded {n} dossiers ({open_n} open) in {time.perf_counter() - started:.1f} s: "
             + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        return counts
    finally:
        if owned is not None:
            owned.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL, e.g. sqlite:////tmp/bench.sqlite")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--open", dest="open_n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20260302)
    parser.add_argument("--now", help='"YYYY-MM-DD HH:MM" (default: the wall clock, naive local)')
    args = parser.parse_args(argv)
    url = args.url
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    now = datetime.strptime(args.now, "%Y-%m-%d %H:%M") if args.now else _local_now()
    engine = create_engine(url)
    seed(engine, n=args.n, open_n=args.open_n, seed=args.seed, now=now)
    engine.dispose()
    return 0


def _local_now() -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).replace(tzinfo=None, second=0, microsecond=0)


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["seed"]
