"""The yearly review of processing times (issue 14): every number of the workbook against an independent
count of the fixture (tests/review_fixture.py), the what-if against the hand-counted times, the page
and applying a decision through HTTP, rule versions grouped apart."""
from __future__ import annotations

from datetime import date, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from intake import services
from tests import review_fixture
from tests.factories import make_procedure, make_unit, make_user
from tests.helpers import csrf_token
from tthc.extensions import db
from tthc.models import AuditLog, ProcedureRuleVersion

UNIT_VI = {"working_days": "ngày làm việc", "calendar_days": "ngày", "months": "tháng"}
FROM, TO = (d.isoformat() for d in review_fixture.WINDOW)


def rank(values, percent):
    """Nearest rank, counted independently: the ceil(p·n/100)-th smallest value."""
    ordered = sorted(values)
    k = -(-(percent * len(ordered)) // 100)
    return ordered[max(k, 1) - 1]


def ceil(x) -> int:
    return int(x) if x == int(x) else int(x) + 1


def text(amount, unit) -> str:
    return f"{amount} {UNIT_VI[unit]}"


def expected(spec, coverage):
    values = [c.used for c in spec.cases]
    unit = (spec.committed or spec.statutory)[1]
    n = len(values)
    proposed = max(1, min(spec.limit, ceil(rank(values, coverage)))) if n >= 5 else None
    same_unit = spec.statutory[1] == unit
    cut = None if proposed is None else ((spec.statutory[0] - proposed) / spec.statutory[0] if same_unit
                                         else "khác đơn vị")
    return {
        "n": n, "unit": unit, "on_time": sum(not c.late for c in spec.cases) / n,
        "median": rank(values, 50), "p80": rank(values, 80), "p95": rank(values, 95), "max": max(values),
        "half": sum(v <= spec.limit / 2 for v in values) / n, "proposed": proposed, "cut": cut,
        "late": None if proposed is None else sum(v > proposed for v in values),
        "note": "" if proposed is not None else "chưa đủ dữ liệu",
    }


def pct(fraction):
    """Workbooks show rates in % with two decimals."""
    return fraction if isinstance(fraction, str) or fraction is None else round(fraction * 100, 2)


def approx(value):
    return value if isinstance(value, str) or value is None else pytest.approx(value, abs=1e-4)


@pytest.fixture
def fixture(app):
    # Its own app context: a test holding one open would share its session with the test client's requests.
    with app.app_context():
        return review_fixture.build(db.session)


def test_every_number_of_the_workbook_equals_an_independent_count(app, runner, fixture, tmp_path):
    procedures = fixture
    out = tmp_path / "review.xlsx"
    result = runner.invoke(args=["review", "times", "--from", FROM, "--to", TO, "--coverage", "80",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    wb = load_workbook(out)
    annex, stats, components = wb.worksheets
    assert [ws.title for ws in wb.worksheets] == ["Phụ lục dự thảo QĐ", "Thống kê đầy đủ", "Thành phần hồ sơ"]

    # Sheet 2: one row per procedure, every column.
    for index, spec in enumerate(procedures, 1):
        e = expected(spec, 80)
        row = [c.value for c in stats[9 + index]]
        unit = e["unit"]
        assert row == [
            index, spec.code, spec.name, "Hoạt động khoa học và công nghệ",
            "Quy định trước các quyết định điều chỉnh", text(*spec.statutory), text(spec.limit, unit), UNIT_VI[unit],
            e["n"], approx(pct(e["on_time"])), approx(e["median"]), approx(e["p80"]), approx(e["p95"]),
            approx(e["max"]), approx(pct(e["half"])), text(e["proposed"], unit) if e["proposed"] else None,
            approx(pct(e["cut"])), e["late"],
            e["note"] or None,
        ], spec.code
    assert stats[10 + len(procedures)][0].value is None  # nothing else: outside the window, cancelled, open

    # Sheet 1: the annex lists the proposals below the time in force.
    listed = [s for s in procedures if expected(s, 80)["proposed"] and expected(s, 80)["proposed"] < s.limit]
    assert len(listed) == 4
    assert annex["A1"].value and annex["A5"].value.startswith("DANH MỤC")
    for index, spec in enumerate(listed, 1):
        e = expected(spec, 80)
        row = [c.value for c in annex[9 + index]]
        assert row == [index, spec.code, spec.name, "Hoạt động khoa học và công nghệ", text(*spec.statutory),
                       text(spec.limit, e["unit"]), text(e["proposed"], e["unit"]), approx(pct(e["cut"])), e["n"],
                       approx(pct(e["on_time"])), text(f"{e['p95']:g}".replace(".", ","), e["unit"])], spec.code
    assert annex[10 + len(listed)][0].value is None
    signature = [c.value for row in annex.iter_rows(min_row=11 + len(listed)) for c in row if c.value]
    assert "Nơi nhận:" in signature and "GIÁM ĐỐC" in signature

    # Sheet 3: documents asked for in supplement requests, per procedure.
    got = [[c.value for c in row][1:] for row in components.iter_rows(min_row=10) if row[0].value]
    a, b, c = (s.code for s in procedures[:3])
    names = {s.code: s.name for s in procedures}
    field = "Hoạt động khoa học và công nghệ"
    assert got == [
        [a, names[a], field, "Bản sao giấy phép", 1, 1, 100], [a, names[a], field, "Đơn đề nghị", 1, 1, 100],
        [b, names[b], field, "Bản sao giấy phép", 1, 1, 100],
        [c, names[c], field, "Bản vẽ thiết kế", 1, 1, 100], [c, names[c], field, "Giấy xác nhận", 1, 1, 100],
    ]
    assert "5 rows" in result.output
    with app.app_context():  # the export is audited
        assert db.session.scalars(select(AuditLog).where(AuditLog.entity_id == "review_times")).one()


def test_the_what_if_counts_the_dossiers_whose_time_used_exceeds_the_proposal(app, client, auth, fixture):
    procedures = fixture
    auth.login(role="supervisor")
    page = client.get(f"/review/?from={FROM}&to={TO}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "chưa đủ dữ liệu" in html and "khác đơn vị" in html and 'src="/static/js/review.js"' in html
    total = sum(sum(c.used > (expected(s, 95)["proposed"] or s.limit) for c in s.cases) for s in procedures)
    assert f'id="what-if-total">{total}<' in html
    for spec in procedures:
        unit = (spec.committed or spec.statutory)[1]
        key = f"{spec.procedure_id}-0-{unit}-{spec.limit}-{spec.rule}"
        assert f'data-key="{key}"' in html
        for amount in (1, 2, 3, 4, 9, 11, 12):
            got = client.get(f"/review/what-if?from={FROM}&to={TO}&key={key}&amount={amount}")
            assert got.status_code == 200, got.get_json()
            body = got.get_json()
            assert body["late"] == sum(c.used > amount for c in spec.cases), (spec.code, amount)
            assert body["finished"] == len(spec.cases)
    token = csrf_token(client, f"/review/?from={FROM}&to={TO}")
    download = client.post("/review/download", data={"from": FROM, "to": TO, "coverage": "95", "csrf_token": token})
    assert download.status_code == 200 and download.mimetype.endswith("spreadsheetml.sheet")
    assert load_workbook(BytesIO(download.data)).sheetnames[0] == "Phụ lục dự thảo QĐ"
    bad = client.get(f"/review/what-if?from={FROM}&to={TO}&key=junk&amount=3")
    assert bad.status_code == 422 and bad.get_json()["error"]["message"]
    assert client.get(f"/review/?from={TO}&to={FROM}").status_code == 400


def test_an_administrator_applies_decided_times_from_the_page(app, client, auth, fixture):
    procedures = fixture
    spec = procedures[0]
    pid = spec.procedure_id
    auth.login(role="handler")
    assert client.get("/review/").status_code == 403
    auth.logout()
    auth.login(role="admin")
    form = {"from": FROM, "to": TO, "coverage": "95", "decision_number": "", "decision_date": "2026-01-05",
            "effective_date": "2099-01-01", "apply": [str(pid)], f"amount-{pid}": "9"}
    form["csrf_token"] = csrf_token(client, f"/review/?from={FROM}&to={TO}")
    refused = client.post("/review/apply", data=form)
    assert refused.status_code == 422 and "Nhập số quyết định" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(ProcedureRuleVersion)).all() == []
    form["decision_number"] = "15/QĐ-UBND"
    done = client.post("/review/apply", data=form)
    assert done.status_code == 302
    with app.app_context():
        version = db.session.scalars(select(ProcedureRuleVersion)).one()
    assert (version.procedure_id, version.committed_amount, version.committed_unit) == (pid, 9, "working_days")
    assert version.effective_date == date(2099, 1, 1) and version.decision_number == "15/QĐ-UBND"


def test_the_review_groups_a_procedure_s_dossiers_by_the_rule_version_they_were_received_under(db_session):
    from deadlines.review import queries

    s = db_session
    unit, desk = make_unit(s), make_unit(s)
    reception, handler = make_user(s, "reception", unit=desk), make_user(s, "handler", unit=unit)
    proc = make_procedure(s, unit_id=unit.id, statutory_amount=10)
    # A decision already in force since 10/03/2025 (applied then; written directly here).
    s.add(ProcedureRuleVersion(procedure_id=proc.id, effective_date=date(2025, 3, 10), committed_amount=6,
                               committed_unit="working_days", decision_number="9/QĐ-UBND",
                               decision_date=date(2025, 3, 1)))
    s.flush()
    s.refresh(proc)
    for received in (datetime(2025, 3, 7, 8, 0), datetime(2025, 3, 10, 8, 0)):
        d = services.receive_dossier(s, procedure=proc, applicant=dict(review_fixture.APPLICANT), channel="direct",
                                     received_by=reception, now=received, received_at=received)
        services.record_event(s, d, "forwarded", user=reception, now=received.replace(minute=30))
        finish = received.replace(day=received.day + 1)
        services.record_event(s, d, "finished", user=handler, now=finish, at=finish, result="approved")
    rows = queries.review_rows(s, queries.make_window(*review_fixture.WINDOW), today=date(2025, 12, 1))
    assert [(r.limit_amount, r.version_id is None, r.finished, r.current) for r in rows] == [
        (10, True, 1, False), (6, False, 1, True)]
    assert rows[1].version_label == "QĐ số 9/QĐ-UBND, áp dụng từ 10/03/2025"
    assert [r.note for r in rows] == ["chưa đủ dữ liệu"] * 2
