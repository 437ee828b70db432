"""Build a realistic database of N dossiers for benchmarks (issue 5; reused by the reports bench).

    .venv/bin/python bench/seed.py --url sqlite:////tmp/bench.sqlite --n 1000000 --open 100000 [--seed 20260302]

or, from Python::

    from bench.seed import seed
    seed(engine_or_session, n=1_000_000, open_n=100_000, seed=20260302, now=datetime(2026, 11, 27, 10, 0))

N dossiers received 2018-01-02 .. now: every status and channel; ``open_n`` of them
open (received, in progress, awaiting supplement) received in the last 90 days
(more of them recent); the others closed (mostly finished/handed over, some
returned unprocessed, withdrawn, cancelled). Each dossier has its events
(received, forwarded, a supplement request and its reply for some, an extension
for 3-5 %, finished, handed over, returned, withdrawn, cancelled), and its stored
columns are what the real engine (``derive``) makes of those events with the
shipped calendar, so replays and the yearly time review run on real histories.
Applicants are drawn from a population about half as large as N (people come
back): Vietnamese names with the real weight of surnames (Nguyễn about 38 %),
12-digit citizen IDs (province, century and sex, birth year, serial), a few
passports, organisations with 10- or 13-digit tax codes, 10-digit mobiles of
the real carriers' prefixes and 11-digit landlines. Flags are left off and no
alerts exist, as in a database never scanned. Units, procedures and fields are
created when the database has none. Rows are bulk-inserted with Core executemany
in chunks (SQLite: synchronous=OFF, WAL); the tables (and the search index,
tthc/search.py) are created when missing. On PostgreSQL the search index is
built after the rows, when that is faster (a large seed).
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

from deadlines.due_dates import Event, Limit, LimitUnit, compute_deadline, derive  # noqa: E402
from deadlines.offdays import build_calendar  # noqa: E402
from tthc.extensions import db  # noqa: E402
from tthc import search  # noqa: E402
from tthc.reports import tally  # noqa: E402
from tthc.models import Alert, Dossier, DossierEvent, Procedure, Unit  # noqa: E402
from tthc.text import fold  # noqa: E402

AGENCY_CODE = "000.00.31.H49"
FIRST = datetime(2018, 1, 2, 7, 0)
FIELDS = ("Hoạt động khoa học và công nghệ", "An toàn bức xạ và hạt nhân", "Tiêu chuẩn, đo lường, chất lượng",
          "Sở hữu trí tuệ", "Bưu chính", "Viễn thông", "Công nghệ thông tin", "Báo chí", "Xuất bản")
UNITS = ("Phòng Quản lý khoa học", "Phòng Quản lý chuyên ngành", "Chi cục Tiêu chuẩn Đo lường Chất lượng",
         "Phòng Bưu chính, Viễn thông", "Phòng Công nghệ thông tin", "Phòng Báo chí, Xuất bản",
         "Phòng Sở hữu trí tuệ", "Trung tâm Kỹ thuật")
# Surnames with their rough share of the population (Nguyễn ~38 %, Trần ~11 %, Lê ~9.5 %, ...).
SURNAMES = (("Nguyễn", 380), ("Trần", 110), ("Lê", 95), ("Phạm", 70), ("Hoàng", 51), ("Huỳnh", 20),
            ("Phan", 45), ("Vũ", 39), ("Võ", 20), ("Đặng", 21), ("Bùi", 20), ("Đỗ", 14), ("Hồ", 13),
            ("Ngô", 13), ("Dương", 10), ("Lý", 5), ("Đinh", 6), ("Trương", 6), ("Mai", 4), ("Tô", 3))
MIDDLE_MALE = (("Văn", 45), ("Hữu", 8), ("Đức", 10), ("Minh", 10), ("Quốc", 7), ("Thanh", 6), ("Công", 6),
               ("Xuân", 4), ("Hoàng", 4))
MIDDLE_FEMALE = (("Thị", 55), ("Ngọc", 10), ("Thu", 8), ("Thanh", 7), ("Kim", 5), ("Minh", 5), ("Thị Thu", 5),
                 ("Thị Ngọc", 5))
GIVEN_MALE = ("An", "Anh", "Bình", "Cường", "Dũng", "Duy", "Hải", "Hiếu", "Hoàng", "Hùng", "Huy", "Khánh",
              "Long", "Lâm", "Nam", "Phong", "Phúc", "Quân", "Sơn", "Tài", "Thắng", "Toàn", "Trung", "Tuấn",
              "Việt", "Vinh")
GIVEN_FEMALE = ("An", "Anh", "Châu", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hương", "Lan", "Linh", "Loan",
                "Mai", "My", "Nga", "Ngân", "Nhung", "Phương", "Quỳnh", "Tâm", "Thảo", "Trang", "Vân", "Vy", "Yến")
# CCCD province codes (Circular 07/2016/TT-BCA), mostly this province (048 Đà Nẵng) and its neighbours.
PROVINCES = (("048", 60), ("049", 12), ("046", 8), ("051", 5), ("001", 4), ("079", 4), ("038", 3), ("040", 2),
             ("052", 2))
# Mobile prefixes of the carriers (Viettel, Vinaphone, Mobifone, Vietnamobile, Gmobile) and landline areas.
MOBILE = ("032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098", "081", "082",
          "083", "084", "085", "088", "091", "094", "070", "076", "077", "078", "079", "089", "090", "093",
          "056", "058", "092", "059", "099")
LANDLINE = ("0236", "0235", "0234", "0233", "024", "028")
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


def _person_name(rng: random.Random) -> str:
    surname = _weighted(rng, SURNAMES)
    if rng.random() < 0.5:
        return f"{surname} {_weighted(rng, MIDDLE_MALE)} {rng.choice(GIVEN_MALE)}"
    return f"{surname} {_weighted(rng, MIDDLE_FEMALE)} {rng.choice(GIVEN_FEMALE)}"


def _cccd(rng: random.Random) -> str:
    year = rng.randint(1945, 2007)
    century_sex = (0 if year < 2000 else 2) + rng.randrange(2)
    return f"{_weighted(rng, PROVINCES)}{century_sex}{year % 100:02d}{rng.randrange(1_000_000):06d}"


def _phone(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.9:
        return rng.choice(MOBILE) + f"{rng.randrange(10_000_000):07d}"
    if r < 0.97:
        area = rng.choice(LANDLINE)
        return area + f"{rng.randrange(10 ** (11 - len(area))):0{11 - len(area)}d}"
    return ""


def _people(rng: random.Random, count: int) -> list[tuple[str, str, str, str, str]]:
    """(name, folded name, kind, ID number, phone) for ``count`` applicants."""
    out = []
    for _ in range(count):
        if rng.random() < 0.85:
            name = _person_name(rng)
            id_number = _cccd(rng) if rng.random() < 0.96 else f"{rng.choice('BCN')}{rng.randrange(10 ** 7):07d}"
            kind = "individual"
        else:
            name = rng.choice(ORGS).format(rng.choice(GIVEN_MALE + GIVEN_FEMALE) + " "
                                           + rng.choice(GIVEN_MALE + GIVEN_FEMALE))
            tax = f"04{rng.randrange(10 ** 8):08d}"
            id_number = tax if rng.random() < 0.8 else f"{tax}-{rng.randint(1, 30):03d}"
            kind = "organisation"
        out.append((name, fold(name), kind, id_number, _phone(rng)))
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
        office = _office_like(rng, t)  # never in the future
        out.append((office if office <= now - timedelta(minutes=5) else t.replace(second=0, microsecond=0), True))
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


def _history(rng: random.Random, cal, proc: dict, received_at: datetime, is_open: bool, now: datetime):
    """(status, result, [(type, at, data, note)]) of one dossier; every event before ``now``."""
    start = cal.next_opening(received_at)
    original = compute_deadline(cal, start, proc["limit"])
    events = [("received", received_at, {}, "")]
    status = _weighted(rng, OPEN_STATUSES) if is_open else _weighted(rng, CLOSED_STATUSES)
    result = None
    if status == "received":
        return status, result, events
    if status == "cancelled":
        events.append(("cancelled", min(received_at + timedelta(hours=rng.uniform(0.1, 30)), now), {},
                       "Nhập nhầm thủ tục"))
        return status, result, events
    forwarded_at = min(start + timedelta(hours=rng.uniform(0.2, 6)), now)
    events.append(("forwarded", forwarded_at, {}, ""))
    t = forwarded_at
    if status == "awaiting_supplement" or rng.random() < 0.08:
        asked = min(t + timedelta(hours=rng.uniform(2, 60)), now)
        events.append(("supplement_requested", asked, {"documents_to_add": "Bản sao giấy phép kinh doanh"},
                       "Thiếu bản sao giấy phép"))
        if status == "awaiting_supplement":
            return status, result, events
        t = min(asked + timedelta(days=rng.uniform(1, 6)), now)
        events.append(("supplement_received", t, {}, ""))
        start, original = cal.next_opening(t), compute_deadline(cal, cal.next_opening(t), proc["limit"])
    if status in ("returned_unprocessed", "withdrawn"):
        at = min(t + timedelta(days=rng.uniform(0, 10)), now)
        events.append((status, at, {}, "Theo đề nghị của người nộp" if status == "withdrawn" else "Không đủ điều kiện"))
        return status, result, events
    late = rng.random() < 0.12
    if original is not None and (late or (is_open and rng.random() < 0.05)) and rng.random() < 0.35:
        # An extension with its apology, at the latest the working day before the deadline.
        asked = max(t + timedelta(minutes=10), original - timedelta(hours=rng.uniform(20, 60)))
        if asked < now:
            new_deadline = cal.add_working_days(original, 5)
            events.append(("extended", asked, {"new_deadline": new_deadline.isoformat(),
                                               "previous_deadline": original.isoformat()}, "Cần xác minh thêm"))
            t = asked
    if is_open:
        return status, result, events
    if original is not None:
        span = (original - start) * (rng.uniform(1.0, 1.4) if late else rng.uniform(0.25, 0.98))
        finished_at = start + span
    else:
        finished_at = start + timedelta(days=rng.uniform(1, 20))
    finished_at = min(max(finished_at, t + timedelta(minutes=30)).replace(second=0, microsecond=0), now)
    result = "approved" if rng.random() < 0.95 else "refused"
    events.append(("finished", finished_at, {"result": result}, ""))
    if status == "handed_over":
        events.append(("handed_over", min(finished_at + timedelta(days=rng.uniform(0, 5)), now),
                       {"receiver_name": "Người nộp hồ sơ"}, ""))
    return status, result, events


def seed(session_or_engine, n: int = 1_000_000, open_n: int = 100_000, seed: int = 20260302,
         now: datetime | None = None, echo=print, events: bool = True) -> dict:
    """Insert ``n`` dossiers (``open_n`` open) with their events. Returns counts per status. Commits."""
    if open_n > n:
        raise ValueError("open_n must not exceed n")
    now = (now or datetime.now()).replace(second=0, microsecond=0)
    rng = random.Random(seed)
    if isinstance(session_or_engine, Engine):
        db.metadata.create_all(session_or_engine)
    conn, commit, owned = _connection_scope(session_or_engine)
    try:
        dialect = conn.dialect.name
        if dialect == "sqlite":
            commit()
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
        procs = _ensure_catalog(conn, rng)
        commit()
        people = _people(rng, max(1, n // 2))
        cal = build_calendar()
        started = time.perf_counter()
        instants = _receipt_instants(rng, n, open_n, now)
        # Continue existing sequences (a second seed adds to the same database).
        reg_last = dict(conn.execute(select(Dossier.register_year, func.max(Dossier.register_number))
                                     .group_by(Dossier.register_year)).all())
        day_seq: dict = {}
        codes_taken = conn.execute(select(func.count(Dossier.id))).scalar() or 0
        next_id = (conn.execute(select(func.max(Dossier.id))).scalar() or 0) + 1
        next_event_id = (conn.execute(select(func.max(DossierEvent.id))).scalar() or 0) + 1
        rebuild_index = dialect == "postgresql" and n >= 50_000
        if rebuild_index:  # a GIN index is built far faster at once than row by row
            search.drop_search_index(conn)
            commit()
        table, event_table = Dossier.__table__, DossierEvent.__table__
        counts: dict[str, int] = {}
        batch, event_batch = [], []
        n_events = 0

        def flush():
            if batch:
                conn.execute(insert(table), batch)
            if event_batch:
                conn.execute(insert(event_table), event_batch)
            commit()
            batch.clear()
            event_batch.clear()

        for received_at, is_open in instants:
            proc = procs[rng.randrange(len(procs))]
            status, result, history = _history(rng, cal, proc, received_at, is_open, now)
            derived = derive(cal, proc["limit"], [
                Event(type=kind, at=at, new_deadline=datetime.fromisoformat(data["new_deadline"])
                      if kind == "extended" else None) for kind, at, data, _ in history])
            last_at = {kind: at for kind, at, _, _ in history}
            counts[status] = counts.get(status, 0) + 1
            name, name_search, kind, id_number, phone = people[rng.randrange(len(people))]
            day = received_at.date()
            seq = day_seq.get(day, 0) + 1
            day_seq[day] = seq
            year = received_at.year
            reg = reg_last.get(year, 0) + 1
            reg_last[year] = reg
            channel = _weighted(rng, CHANNELS)
            dossier_id = next_id
            next_id += 1
            closed_at = next((last_at[k] for k in ("returned_unprocessed", "withdrawn", "cancelled")
                              if k in last_at), None)
            batch.append({
                "id": dossier_id,
                "code": f"{AGENCY_CODE}-{day:%y%m%d}-{seq:04d}" if not codes_taken else
                        f"{AGENCY_CODE}-{day:%y%m%d}-B{codes_taken}-{seq:04d}",
                "external_code": False, "reception_point": "", "procedure_id": proc["id"], "rule": proc["rule"],
                "field": proc["field"], "unit_id": proc["unit_id"],
                "current_unit_id": proc["unit_id"] if "forwarded" in last_at else None,
                "applicant_kind": kind, "applicant_name": name, "applicant_name_search": name_search,
                "applicant_id_number": id_number, "applicant_phone": phone, "applicant_email": "",
                "applicant_address": "", "request_summary": "", "channel": channel, "documents": [], "sets": 1,
                "submitted_at": received_at if channel == "online" else None, "received_at": received_at,
                "received_by_id": None, "register_year": year, "register_number": reg,
                "effective_start_at": derived.effective_start, "forwarding_deadline_at": derived.forwarding_deadline,
                "original_deadline_at": derived.original_deadline, "deadline_at": derived.deadline,
                "appointment_at": compute_deadline(cal, cal.next_opening(received_at), proc["limit"]),
                "status": status, "result": result, "forwarded_at": last_at.get("forwarded"),
                "finished_at": derived.finished_at, "handed_over_at": last_at.get("handed_over"),
                "closed_at": closed_at, "classification": derived.classification,
                "extended": "extended" in last_at, "supplement_count": derived.supplement_count,
                "flag_due_soon": False, "flag_overdue": False, "flag_not_forwarded": False,
                "flag_apology_missing": False, "flag_late_supplement_request": derived.late_supplement_request,
                "flag_finished_late": derived.classification == "late",
                "version": len(history), "created_at": received_at,
                "updated_at": max(at for _, at, _, _ in history),
            })
            if events:
                for seq_no, (etype, at, data, note) in enumerate(history, 1):
                    event_batch.append({
                        "id": next_event_id, "dossier_id": dossier_id, "seq": seq_no, "type": etype, "at": at,
                        "recorded_at": at, "user_id": None,
                        "unit_id": proc["unit_id"] if etype in ("forwarded",) else None,
                        "note": note, "data": data if etype != "received" else {"channel": channel},
                        "voids_event_id": None, "voided": False})
                    next_event_id += 1
                n_events += len(history)
            if len(batch) >= CHUNK:
                flush()
        flush()
        tally.compact(conn)  # the triggers' +1 rows of every dossier, summed (tthc/reports/tally.py)
        commit()
        if dialect == "postgresql":
            for name in ("dossier", "dossier_event"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                     f"(SELECT coalesce(max(id), 1) FROM {name}))")
            if rebuild_index:
                search.create_search_index(conn)
            commit()
            # As autovacuum leaves a database in production: statistics, and the visibility map that
            # index-only scans need.
            with conn.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as maintenance:
                maintenance.exec_driver_sql("VACUUM ANALYZE")
        elif dialect == "sqlite":
            conn.exec_driver_sql("ANALYZE")
            commit()
        echo(f"seeded {n} dossiers ({open_n} open), {n_events} events in {time.perf_counter() - started:.1f} s: "
             + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        return counts
    finally:
        if owned is not None:
            owned.close()


def bring_up_to_date(engine: Engine, echo=print) -> None:
    """Let a bench database seeded by an earlier commit serve this one (it has no migrations):
    create missing tables, add missing columns (nullable; a bench needs no constraint), create
    the models' missing indexes of the dossier table and the search index (tthc/search.py). A
    new dossier tally is created with its triggers and filled by ``create_all`` (tthc/reports/tally.py)."""
    from sqlalchemy import inspect
    from sqlalchemy.schema import CreateColumn

    db.metadata.create_all(engine)
    with engine.begin() as conn:
        inspector = inspect(conn)
        for table in db.metadata.sorted_tables:
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for col in table.columns:
                if col.name not in have:
                    ddl = str(CreateColumn(col).compile(dialect=conn.dialect)).replace(" NOT NULL", "")
                    echo(f"adding column {table.name}.{col.name}")
                    conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN {ddl}')
        # The indexes of the tables the pages read, as the models have them now: drop the ones they
        # no longer have (or have with other columns), create the missing ones.
        for model in (Dossier, DossierEvent, Alert):
            table = model.__table__
            wanted = {index.name: index for index in table.indexes}
            for ix in inspector.get_indexes(table.name):
                if ix.get("unique") or ix["name"] == search.TRGM_INDEX:
                    continue
                index = wanted.get(ix["name"])
                if index is None or [c.name for c in index.columns] != ix["column_names"]:
                    echo(f"dropping index {ix['name']} ...")
                    conn.exec_driver_sql(f'DROP INDEX "{ix["name"]}"')
            existing = {ix["name"] for ix in inspect(conn).get_indexes(table.name)}
            for name, index in wanted.items():
                if name not in existing:
                    echo(f"creating index {name} ...")
                    index.create(conn)
        search.create_search_index(conn)
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as maintenance:
            maintenance.exec_driver_sql("VACUUM ANALYZE")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL, e.g. sqlite:////tmp/bench.sqlite")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--open", dest="open_n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20260302)
    parser.add_argument("--now", help='"YYYY-MM-DD HH:MM" (default: the wall clock, naive local)')
    parser.add_argument("--no-events", action="store_true", help="dossiers only (no event rows)")
    args = parser.parse_args(argv)
    url = args.url
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    now = datetime.strptime(args.now, "%Y-%m-%d %H:%M") if args.now else _local_now()
    engine = create_engine(url)
    seed(engine, n=args.n, open_n=args.open_n, seed=args.seed, now=now, events=not args.no_events)
    engine.dispose()
    return 0


def _local_now() -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).replace(tzinfo=None, second=0, microsecond=0)


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["bring_up_to_date", "seed"]
