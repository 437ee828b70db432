"""The dossier search through its index (tthc/search.py, issue 13) on SQLite and PostgreSQL.

Every query is answered twice: through the index (FTS5 trigram / pg_trgm) and by the
plain LIKE scan the index replaces; both must give the same dossiers, which must be the
expected ones (diacritics, case, partial words, codes and their tails, ID numbers,
phone digits). The index must be used where it can (query plan), and kept in step by
every write (correction, deletion).
"""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import delete, select, text

from intake import services
from tests.factories import make_procedure, make_user
from tthc import search
from tthc.models import Dossier

MON_0915 = datetime(2026, 3, 9, 9, 15)
MON_1000 = datetime(2026, 3, 9, 10, 0)

PEOPLE = [
    {"kind": "individual", "name": "Nguyễn Văn An", "id_number": "001090012345", "phone": "0912 345 678"},
    {"kind": "individual", "name": "NGUYỄN VĂN ANH", "id_number": "048190067890", "phone": "0905111222"},
    {"kind": "individual", "name": "Trần Thị Ánh", "id_number": "C1234567", "phone": ""},
    {"kind": "organisation", "name": "Công ty Cổ phần Đại Việt", "id_number": "0312345678-001",
     "phone": "02363822123"},
    {"kind": "individual", "name": "Đặng Quốc Đạt", "id_number": "079203000111", "phone": "+84 98 765 4321"},
]

QUERIES = {  # query -> indexes into PEOPLE of the dossiers it finds
    "nguyen van an": {0, 1},  # a partial word: "an" is the start of "anh"
    "NGUYEN van ANH": {1},
    "nguyễn văn": {0, 1},
    "ánh": {1, 2},  # diacritics ignored both ways
    "anh": {1, 2},
    "dai viet": {3},
    "Đạt": {4},
    "dang quoc": {4},
    "quoc da": {4},
    "001090012345": {0},
    "90012": {0},
    "c1234567": {0, 2, 3},  # its digits are in a phone and a tax code
    "0312345678001": {3},
    "0312345678-001": {3},
    "0912 345 678": {0},
    "+84912345678": {0},
    "345678": {0, 3},
    "3822123": {3},
    "0987654321": {4},
    "100%_": set(),
    "khong co ai": set(),
    # PostgreSQL looks for a literal without spaces, dashes, dots and slashes in a text without them:
    # candidates only, the exact conditions decide.
    "van an": {0, 1},
    "nguyenvan": set(),
    "nguyen-van": set(),
    "dai. viet": set(),
    "0312345678 001": {3},
    "345-678": {0, 3},  # its digits
    "4321": {4},
}


@pytest.fixture
def desk(db_session):
    s = db_session
    procedure = make_procedure(s)
    user = make_user(s, role="reception", username="tiepnhan")
    dossiers = [services.receive_dossier(s, procedure=procedure, applicant=dict(p), channel="direct",
                                         received_by=user, received_at=MON_0915, now=MON_1000) for p in PEOPLE]
    s.commit()
    return s, user, dossiers


def _found(session, user, q, monkeypatch=None, scan=False):
    if scan:
        monkeypatch.setattr(search, "candidates", lambda *a, **k: None)
    try:
        items, total = services.search_dossiers(session, user, q=q, now=MON_1000, per_page=100)
    finally:
        if scan:
            monkeypatch.undo()
    assert total == len(items)
    return {d.code for d in items}


def test_the_index_finds_what_the_scan_finds_without_regard_to_case_or_diacritics(desk, monkeypatch):
    s, user, dossiers = desk
    codes = [d.code for d in dossiers]
    a_code = codes[0]
    queries = dict(QUERIES)
    queries[a_code] = {0}
    queries[a_code.lower()] = {0}
    queries[a_code[-5:]] = {0, 4}  # "-0001": the code's tail, and digits of an ID number
    queries[a_code[-11:]] = {0}  # "260309-0001"
    queries["260309-000"] = set(range(len(PEOPLE)))
    for q, expected in queries.items():
        indexed = _found(s, user, q)
        assert indexed == {codes[i] for i in expected}, q
        assert indexed == _found(s, user, q, monkeypatch, scan=True), q


def test_a_search_uses_the_index_and_a_short_query_scans(desk, monkeypatch):
    s, user, _ = desk
    dialect = s.get_bind().dialect.name
    assert search.candidates(dialect, ["an"], []) is None  # under 3 characters: no trigram
    assert search.candidates(dialect, ["nguyen van an"], ["nguyenvanan", "09"]) is None
    if dialect == "postgresql":
        assert search.candidates(dialect, ["a-b"], []) is None  # "ab" once joined

    statements = []
    conn = s.connection()

    def capture(conn_, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    from sqlalchemy import event

    event.listen(conn, "before_cursor_execute", capture)
    try:
        services.search_dossiers(s, user, q="nguyen van an", now=MON_1000)
    finally:
        event.remove(conn, "before_cursor_execute", capture)
    searches = [(st, p) for st, p in statements if "MATCH" in st or "~~*" in st or "ILIKE" in st]
    assert searches, statements
    for statement, params in searches:
        if dialect == "sqlite":
            plan = " ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
            # FTS5 gives the newest matches first: no sort of all the matches.
            assert "VIRTUAL TABLE INDEX" in plan and "TEMP B-TREE" not in plan, plan
        else:
            # A tiny table: with plain scans off, show that the index can answer the query.
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
            plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))
            assert f"Bitmap Index Scan on {search.TRGM_INDEX}" in plan, plan
    s.rollback()


def test_every_write_keeps_the_index_in_step(desk, monkeypatch):
    s, user, dossiers = desk
    first = dossiers[0]
    supervisor = make_user(s, role="supervisor", username="lanhdao")
    services.correct_dossier(s, first, {"applicant": {"name": "Lê Thị Bảo Ngọc", "phone": "0935000999"}},
                             user=supervisor, now=MON_1000, expected_version=first.version)
    s.commit()
    assert _found(s, user, "bao ngoc") == {first.code}
    assert _found(s, user, "0935000999") == {first.code}
    assert _found(s, user, "0912345678") == set()
    assert _found(s, user, "nguyen van an") == {dossiers[1].code}

    s.execute(delete(Dossier).where(Dossier.id == first.id))
    s.commit()
    assert _found(s, user, "bao ngoc") == set()
    if s.get_bind().dialect.name == "sqlite":
        for fts, literal in ((search.FTS_TABLE, "bao ngoc"), (search.FTS_NUMBER_TABLE, "0935000999")):
            assert s.scalars(text(f"SELECT rowid FROM {fts} WHERE {fts} MATCH '\"{literal}\"'")).all() == []
    assert s.scalar(select(Dossier.id).where(Dossier.code == first.code)) is None


def test_search_results_come_newest_received_first_page_by_page_and_count_up_to_the_cap(desk, monkeypatch):
    s, user, dossiers = desk
    procedure = dossiers[0].procedure
    # Recorded later but received earlier (back-dated): the list's order is the reception's.
    older = services.receive_dossier(s, procedure=procedure, applicant=dict(PEOPLE[0]), channel="direct",
                                     received_by=user, received_at=datetime(2026, 3, 6, 8, 0), now=MON_1000)
    newer = services.receive_dossier(s, procedure=procedure, applicant=dict(PEOPLE[0]), channel="direct",
                                     received_by=user, received_at=datetime(2026, 3, 9, 9, 30), now=MON_1000)
    s.commit()
    expected = [newer.code, dossiers[1].code, dossiers[0].code, older.code]  # "nguyen van an" finds An and Anh

    def listed(**kw):
        items, total = services.search_dossiers(s, user, q="nguyen van an", now=MON_1000, **kw)
        return [d.code for d in items], total

    assert listed() == (expected, 4)
    assert listed(per_page=3, page=2) == (expected[3:], 4)
    monkeypatch.setattr(services, "COUNT_CAP", 2)
    assert listed(per_page=1) == (expected[:1], 3)  # 3 = more than the cap
    assert listed(per_page=2, page=2) == (expected[2:4], 4)  # counted up to the page asked for (and one more)


@pytest.mark.parametrize("walk", [{}, {"WALK_FACTOR": 1}, {"WALK_MAX_ROWS": 0}],
                         ids=["walk", "short-walk-then-sort", "sort"])
def test_beyond_the_cap_every_page_is_the_scans_page(desk, monkeypatch, walk):
    """More matches than the count's cap: PostgreSQL finds the page by walking the list's order with the
    exact conditions, or, when the walk is too short or the page too far, by sorting every match
    (tthc/search.py, _pg_page); SQLite through FTS5. Each gives the scan's pages."""
    s, user, dossiers = desk
    for name, value in walk.items():
        monkeypatch.setattr(search, name, value)
    procedure = dossiers[0].procedure
    for when in (datetime(2026, 3, 6, 8, 0), datetime(2026, 3, 9, 9, 15), datetime(2026, 3, 9, 9, 40)):
        for p in PEOPLE:  # same reception second as others, earlier and later: the order's tie on id counts
            services.receive_dossier(s, procedure=procedure, applicant=dict(p), channel="direct", received_by=user,
                                     received_at=when, now=MON_1000)
    s.commit()
    monkeypatch.setattr(services, "COUNT_CAP", 3)
    queries = ["nguyen van an", "anh", "345678", "c1234567", dossiers[0].code[-5:], "260309-000", "khong co ai"]

    def listed(q, page, scan=False):
        with monkeypatch.context() as m:
            if scan:
                m.setattr(search, "candidates", lambda *a, **k: None)
            items, total = services.search_dossiers(s, user, q=q, now=MON_1000, page=page, per_page=2)
        return [d.code for d in items], total

    beyond = 0
    for q in queries:
        for page_no in (1, 2, 3, 9):
            indexed = listed(q, page_no)
            assert indexed == listed(q, page_no, scan=True), (q, page_no)
            beyond += indexed[1] > max(3, page_no * 2)
    assert beyond  # some of them had more matches than the cap
