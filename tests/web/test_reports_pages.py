"""The reports page: who may see it, the preview, the download (issue 6)."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests import reports_fixtures as rf
from tests.helpers import csrf_token
from tthc.extensions import db
from tthc.models import AuditLog


@pytest.fixture
def dataset(app):
    with app.app_context():
        ds = rf.build(db.session)
        db.session.commit()
        rf.detach(db.session, ds)
    return ds


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch):
    from tthc.reports import views

    monkeypatch.setattr(views, "now", lambda: rf.NOW)


def download(client, **params):
    data = {"csrf_token": csrf_token(client, "/reports/"), **params}
    return client.post("/reports/download", data=data)


@pytest.mark.parametrize("role", ["reception", "handler"])
def test_the_desk_and_handlers_may_not_open_the_reports(client, auth, role):
    auth.login(role=role)
    assert client.get("/reports/").status_code == 403
    assert client.post("/reports/download", data={"type": "summary", "period": "2026-03"}).status_code in (400, 403)


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get("/reports/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_see_the_form_with_the_last_closed_month(client, auth, role):
    auth.login(role=role)
    response = client.get("/reports/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="period"' in html and 'value="2026-03"' in html  # 25/03/2026: the month closed on 14/03
    assert "Tải tệp Excel" not in html  # no preview before a choice


def test_the_summary_preview_shows_the_rows_and_the_total(client, auth, dataset):
    auth.login(role="supervisor")
    response = client.get("/reports/?type=summary&period=2026-03&by=field")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert rf.F1 in html and rf.F2 in html and "Tổng cộng" in html
    assert "từ ngày 15/02/2026 đến ngày 14/03/2026" in html
    assert "66,67" in html and "60,00" in html and "100,00" in html  # Vietnamese format (issue 16)
    assert "Tải tệp Excel (.xlsx)" in html


def test_the_register_preview_masks_phones_for_admins_and_escapes_applicant_text(client, auth, dataset):
    auth.login(role="admin")
    html = client.get("/reports/?type=register&from=2026-02-15&to=2026-03-14").get_data(as_text=True)
    assert "D13" in html and "0987654321" not in html and "*******321" in html
    assert "&#34;http://evil.example&#34;" in html or "&quot;http://evil.example&quot;" in html


def test_the_late_preview_lists_the_late_and_overdue_dossiers(client, auth, dataset):
    auth.login(role="supervisor")
    html = client.get("/reports/?type=late&period=2026-03").get_data(as_text=True)
    for code in ("D02", "D06", "D07", "D08", "D16"):
        assert f"<td>{code}</td>" in html
    assert "Chờ ý kiến của Sở Tài chính" in html


@pytest.mark.parametrize("query", ["type=summary&period=2026-13", "type=summary&from=2026-03-14&to=2026-02-01",
                                   "type=nothing&period=2026-03", "type=summary&period=2026-03&by=colour",
                                   "type=summary&period=2026-03&unit=999"])
def test_a_bad_choice_answers_400_with_the_reason_on_the_page(client, auth, query):
    auth.login(role="supervisor")
    response = client.get(f"/reports/?{query}")
    assert response.status_code == 400
    assert 'class="flash flash-danger"' in response.get_data(as_text=True)


def test_the_download_sends_the_summary_workbook_and_logs_the_export(app, client, auth, dataset):
    user = auth.login(role="supervisor")
    response = download(client, type="summary", period="2026-03", by="field")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "bao-cao-tthc-20260215-20260314.xlsx" in response.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(response.data))["Báo cáo"]
    total_row = next(r for r in range(12, 30) if ws.cell(r, 2).value == "Tổng cộng")
    assert ws.cell(total_row, 3).value == 15 and ws.cell(total_row, 16).value == 0.6667
    with app.app_context():
        log = db.session.scalars(select(AuditLog).where(AuditLog.action == "export")).all()
    assert [(e.user_id, e.entity, e.entity_id, e.after["from"], e.after["to"], e.after["by"]) for e in log] == [
        (user.id, "report", "summary", "2026-02-15", "2026-03-14", "field")]


def test_the_register_download_by_an_admin_masks_phones_and_says_so_in_the_log(app, client, auth, dataset):
    auth.login(role="admin")
    response = download(client, type="register", **{"from": "2026-02-15", "to": "2026-03-14"})
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data))["Sổ theo dõi hồ sơ"]
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not any("0987654321" in t for t in texts)
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "export"))
    assert entry.after["personal_data_masked"] is True


def test_the_late_download_for_a_unit(app, client, auth, dataset):
    auth.login(role="supervisor")
    u2 = dataset.units["u2"]
    response = download(client, type="late", period="2026-03", unit=str(u2.id))
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data))["Hồ sơ quá hạn"]
    codes = {ws.cell(r, 2).value for r in range(10, ws.max_row + 1)}
    assert codes == {"D08", "D16"}


def test_the_download_needs_the_csrf_token_and_a_valid_choice(client, auth):
    auth.login(role="supervisor")
    assert client.post("/reports/download", data={"type": "summary", "period": "2026-03"}).status_code == 400
    assert download(client, type="summary", period="bad").status_code == 400


def test_the_late_preview_counts_dossiers_as_they_stood_at_the_periods_end(client, auth, app):
    """A supplement requested or received after 14/03 does not change the report of 2026-03 (domain.md §8)."""
    with app.app_context():
        ds = rf.build_changed_after_the_end(db.session)
        db.session.commit()
        rf.detach(db.session, ds)
    auth.login(role="supervisor")
    html = client.get("/reports/?type=late&period=2026-03").get_data(as_text=True)
    for code in ("X01", "X02", "X05", "X06"):
        assert f"<td>{code}</td>" in html
    for code in ("X03", "X04"):  # awaiting a supplement at the end
        assert f"<td>{code}</td>" not in html
    response = download(client, type="summary", period="2026-03", by="procedure")
    ws = load_workbook(io.BytesIO(response.data))["Báo cáo"]
    within_overdue = {ws.cell(r, 2).value.split(" (")[0]: (ws.cell(r, 13).value, ws.cell(r, 14).value)
                      for r in range(12, 15)}
    assert within_overdue == {"Công bố hợp chuẩn": (0, 4), "Công bố hợp quy": (2, 0), "Tổng cộng": (2, 4)}


def test_the_preview_of_a_running_period_is_measured_now(client, auth, app, monkeypatch):
    from tthc.reports import views

    with app.app_context():
        ds = rf.build_changed_after_the_end(db.session)  # every dossier due 09/02/2026
        db.session.commit()
        rf.detach(db.session, ds)
    monkeypatch.setattr(views, "now", lambda: datetime(2026, 2, 5, 12, 0))  # before that deadline
    auth.login(role="supervisor")
    response = download(client, type="summary", period="2026-02", by="field")  # 15/01–14/02/2026, running
    ws = load_workbook(io.BytesIO(response.data))["Báo cáo"]
    total_row = next(r for r in range(12, 30) if ws.cell(r, 2).value == "Tổng cộng")
    assert (ws.cell(total_row, 13).value, ws.cell(total_row, 14).value) == (6, 0)
    html = client.get("/reports/?type=late&period=2026-02").get_data(as_text=True)
    assert "<td>X0" not in html
