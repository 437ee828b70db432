"""Action plan pages (issue 17): import on the page, progress with evidence uploads, downloads, the report."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.factories import make_user
from tests.helpers import csrf_token
from tthc.extensions import db
from tthc.models import AuditLog, PlanPeriod, PlanProgress, PlanTask
from tthc.plans import services

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "papi_plan_2018.csv"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def plan_world(app, tmp_path):
    app.instance_path = str(tmp_path / "instance")  # uploads never land in the project folder
    with app.app_context():
        services.import_file(db.session, SAMPLE.read_bytes(), "papi_plan_2018.csv")
        linked = make_user(db.session, role="handler", username="thang", full_name="Nguyễn Văn Thắng")
        task = db.session.scalar(select(PlanTask).where(PlanTask.number == 6))
        task.users.append(linked)
        db.session.commit()
        period_id = task.periods[0].id
        task3 = db.session.scalar(select(PlanTask).where(PlanTask.number == 3))
        return {"plan_id": task.plan_id, "task_id": task.id, "period_id": period_id, "task3_id": task3.id,
                "folder": services.evidence_folder(app.instance_path)}


def _post_progress(client, period_id, filename=None, data=b"", **fields):
    url = f"/plans/periods/{period_id}"
    form = {"status": "done", "done_text": "Đã tập huấn Ban TTND", "evidence_number": "12/QĐ-SKHCN",
            "evidence_date": "15/03/2018", **fields, "csrf_token": csrf_token(client, url)}
    if filename is not None:
        form["file"] = (io.BytesIO(data), filename)
    return client.post(url, data=form, content_type="multipart/form-data")


def _stored(app, folder):
    with app.app_context():
        rows = db.session.scalar(select(func.count(PlanProgress.id)))
    files = os.listdir(folder) if os.path.isdir(folder) else []
    return rows, files


def test_an_administrator_imports_the_plan_on_the_page_and_again_changes_nothing(app, client, auth, tmp_path):
    auth.login("admin")
    url = "/plans/import"
    response = client.post(url, data={"file": (io.BytesIO(SAMPLE.read_bytes()), "ke-hoach.csv"),
                                      "csrf_token": csrf_token(client, url)}, content_type="multipart/form-data",
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Đã nhập" in html and "Kế hoạch số 01A/KH-SKHCN" in html
    assert html.count('id="task-') == 8
    response = client.post(url, data={"file": (io.BytesIO(SAMPLE.read_bytes()), "ke-hoach.csv"),
                                      "csrf_token": csrf_token(client, url)}, content_type="multipart/form-data",
                           follow_redirects=True)
    assert "Không có thay đổi" in response.get_data(as_text=True)
    bad = client.post(url, data={"file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv"), "csrf_token": csrf_token(client, url)},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "Tệp thiếu cột" in bad.get_data(as_text=True)


@pytest.mark.parametrize("filename, data, message", [
    ("chay-ngay.exe", b"MZ\x90\x00" + b"\x00" * 100, "chỉ nhận tệp PDF, Office hoặc ảnh"),
    ("bien-ban.pdf", b"<html><script>alert(1)</script></html>", "không đúng định dạng .pdf"),
    ("bien-ban.pdf", PDF + b"0" * 3000, "quá lớn"),
])
def test_an_upload_of_a_wrong_type_or_too_large_is_refused_in_vietnamese_and_nothing_is_stored(
        app, client, auth, plan_world, filename, data, message):
    app.config["PLAN_EVIDENCE_MAX_BYTES"] = 2048
    auth.login("handler", username="thang")
    response = _post_progress(client, plan_world["period_id"], filename, data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _stored(app, plan_world["folder"]) == (0, [])


def test_a_linked_user_reports_with_a_pdf_that_only_logged_in_users_can_download(app, client, auth, plan_world):
    auth.login("handler", username="thang")
    response = _post_progress(client, plan_world["period_id"], "quyet-dinh.pdf", PDF)
    assert response.status_code == 302
    rows, files = _stored(app, plan_world["folder"])
    assert rows == 1 and len(files) == 1 and files[0].endswith(".pdf")
    page = client.get(f"/plans/periods/{plan_world['period_id']}").get_data(as_text=True)
    assert "Đã tập huấn Ban TTND" in page and "Văn bản số 12/QĐ-SKHCN ngày 15/03/2018" in page
    with app.app_context():
        progress_id = db.session.scalar(select(PlanProgress.id))
        assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.entity == "plan_period")) == 1
    download = client.get(f"/plans/evidence/{progress_id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    anonymous = app.test_client().get(f"/plans/evidence/{progress_id}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_an_unlinked_user_sees_the_period_but_cannot_report_on_it(app, client, auth, plan_world):
    auth.login("reception")
    url = f"/plans/periods/{plan_world['period_id']}"
    page = client.get(url)
    assert page.status_code == 200 and 'id="progress-form"' not in page.get_data(as_text=True)
    response = client.post(url, data={"status": "done", "done_text": "x", "csrf_token": csrf_token(client, url)})
    assert response.status_code == 403
    assert _stored(app, plan_world["folder"]) == (0, [])


def test_not_done_needs_a_reason(app, client, auth, plan_world):
    auth.login("supervisor")
    response = _post_progress(client, plan_world["period_id"], status="not_done", done_text="", reason="")
    assert response.status_code == 422 and "vui lòng ghi rõ lý do" in response.get_data(as_text=True)


def test_an_administrator_links_users_to_a_task_and_the_change_is_audited(app, client, auth, plan_world):
    auth.login("admin")
    url = f"/plans/tasks/{plan_world['task_id']}/edit"
    with app.app_context():
        other = make_user(db.session, role="reception", username="phapche", full_name="Trần Thị Pháp")
        db.session.commit()
        other_id = other.id
    # Task 3's lead is "Đ/c Thắng": the account of Nguyễn Văn Thắng is suggested, nobody else.
    page = client.get(f"/plans/tasks/{plan_world['task3_id']}/edit").get_data(as_text=True)
    assert page.count("khớp với tên trong kế hoạch") == 1
    assert "Nguyễn Văn Thắng (thang, Chuyên viên xử lý) <small" in page
    response = client.post(url, data={"content": "Kiện toàn Ban TTND", "timing": "Quý 2/2018", "lead": "Ban TTND",
                                      "user_ids": [str(other_id)], "csrf_token": csrf_token(client, url)})
    assert response.status_code == 302
    with app.app_context():
        task = db.session.get(PlanTask, plan_world["task_id"])
        assert [u.username for u in task.users] == ["phapche"]
        # The Q1 period had no report: it gives way to Q2.
        assert [p.label for p in task.periods] == ["Quý 2/2018"]
        entry = db.session.scalar(select(AuditLog).where(AuditLog.entity == "plan_task", AuditLog.action == "update"))
        assert entry.after["user_ids"] == [other_id] and entry.before["timing"] == "Quý 1/2018"
    bad = client.post(url, data={"content": "x", "timing": "sớm", "csrf_token": csrf_token(client, url)})
    assert bad.status_code == 422 and "không hiểu thời gian" in bad.get_data(as_text=True).lower()


def test_the_report_page_is_printable_and_downloads_the_workbook(app, client, auth, plan_world):
    auth.login("supervisor")
    page = client.get(f"/plans/{plan_world['plan_id']}/report?period=2018-Q1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "BÁO CÁO KẾT QUẢ THỰC HIỆN KẾ HOẠCH SỐ 01A/KH-SKHCN" in html
    assert html.count("<tr><td class=\"num\">") == 8 and "Nơi nhận" in html
    xlsx = client.get(f"/plans/{plan_world['plan_id']}/report.xlsx?period=2018-Q1")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    bad = client.get(f"/plans/{plan_world['plan_id']}/report?period=2018-Q5")
    assert bad.status_code == 422 and "không hợp lệ" in bad.get_data(as_text=True)


def test_a_reminder_shows_in_the_linked_users_inbox_and_the_api(app, client, auth, plan_world):
    from datetime import datetime

    from tthc.plans.reminders import raise_reminders

    with app.app_context():
        raise_reminders(db.session, datetime(2018, 4, 9, 8, 0))
        db.session.commit()
    user = auth.login("handler", username="thang")
    html = client.get("/alerts").get_data(as_text=True)
    assert html.count("KH 01A/KH-SKHCN – nhiệm vụ") == 1  # only task 6, the one linked to this user
    assert f'/plans/periods/{plan_world["period_id"]}' in html and "Kế hoạch: chưa báo cáo (quá hạn)" in html
    with app.app_context():
        from tthc.models import User

        from tthc import accounts

        raw = accounts.issue_token(db.session, db.session.get(User, user.id), name="test")
        db.session.commit()
    items = client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {raw}"}).get_json()["items"]
    assert [(i["dossier_code"], i["kind"], i["plan_period"]["task"]) for i in items] == [(None, "plan_missing", 6)]


def test_an_administrator_edits_the_plan_period_and_the_ongoing_tasks_follow(app, client, auth, plan_world):
    auth.login("admin")
    url = f"/plans/{plan_world['plan_id']}/edit"
    form = {"number": "01A/KH-SKHCN", "issued_date": "09/01/2018", "title": "Kế hoạch PAPI", "legal_basis": "",
            "first_year": "2018", "last_year": "2018"}
    assert client.post(url, data={**form, "csrf_token": csrf_token(client, url)}).status_code == 302
    with app.app_context():
        task2 = db.session.scalar(select(PlanTask).where(PlanTask.number == 2))
        assert [p.label for p in task2.periods] == [f"Quý {q}/2018" for q in (1, 2, 3, 4)]
        assert db.session.scalar(select(AuditLog).where(AuditLog.entity == "plan", AuditLog.action == "update")).before["last_year"] == 2020
    bad = client.post(url, data={**form, "last_year": "2016", "csrf_token": csrf_token(client, url)})
    assert bad.status_code == 422 and "Năm kết thúc không được trước năm bắt đầu" in bad.get_data(as_text=True)


def test_over_long_numbers_are_refused_in_vietnamese_on_every_database(app, client, auth, plan_world):
    auth.login("admin")
    url = f"/plans/{plan_world['plan_id']}/edit"
    response = client.post(url, data={"number": "x" * 3000, "issued_date": "09/01/2018", "title": "Kế hoạch",
                                      "first_year": "2018", "last_year": "2020", "csrf_token": csrf_token(client, url)})
    assert response.status_code == 422 and "Số kế hoạch tối đa 64 ký tự" in response.get_data(as_text=True)
    response = _post_progress(client, plan_world["period_id"], evidence_number="x" * 3000)
    assert response.status_code == 422 and "Số văn bản tối đa 128 ký tự" in response.get_data(as_text=True)
