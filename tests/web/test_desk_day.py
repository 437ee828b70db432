"""The desk's day and the supervisor's morning (issue 16), through HTTP: home pages by role,
the CCCD scan endpoint, the phone rules, back-dated reception, the look-up, number formats."""
from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from intake import services
from tests.factories import make_procedure, make_unit, make_user
from tests.helpers import csrf_token
from tthc.clock import now
from tthc.extensions import db
from tthc.models import Procedure, User

SCAN = "079203001234|273456789|Nguyễn Văn An|01021990|Nam|Số 12, Trần Hưng Đạo, Phường 1, Vũng Tàu|15082021"


@pytest.fixture
def desk(app):
    with app.app_context():
        unit = make_unit(db.session, code="QLKH", name="Phòng Quản lý Khoa học")
        procedure = make_procedure(db.session, unit_id=unit.id, name="Đăng ký kết quả nhiệm vụ khoa học")
        make_procedure(db.session, name="Thủ tục chưa có thời hạn", limit_unit=None, statutory_amount=None,
                       active=False, inactive_reason="Chưa có thời hạn")
        make_user(db.session, role="reception", username="tiepnhan")
        make_user(db.session, role="handler", username="chuyenvien", unit=unit)
        make_user(db.session, role="handler", username="truongphong", unit=unit, is_unit_head=True)
        make_user(db.session, role="supervisor", username="lanhdao")
        make_user(db.session, role="admin", username="quantri")
        db.session.commit()
        return SimpleNamespace(unit_id=unit.id, procedure_id=procedure.id)


ROLES = {"tiepnhan": "reception", "chuyenvien": "handler", "truongphong": "handler", "lanhdao": "supervisor",
         "quantri": "admin"}


def login(auth, username):
    if auth.user is not None:
        auth.logout()
    return auth.login(role=ROLES[username], username=username)


def _user(username):
    return db.session.scalar(select(User).where(User.username == username))


def receive(app, desk, *, name="Nguyễn Văn An", phone="0912345678", forward=False, finish=False, hours_ago=0):
    with app.app_context():
        current = now().replace(microsecond=0)
        dossier = services.receive_dossier(
            db.session, procedure=db.session.get(Procedure, desk.procedure_id),
            applicant={"kind": "individual", "name": name, "id_number": "079203001234", "phone": phone},
            channel="direct", received_by=_user("tiepnhan"), now=current,
            received_at=current - timedelta(hours=hours_ago))
        if forward or finish:
            services.record_event(db.session, dossier, "forwarded", user=_user("tiepnhan"), now=current)
        if finish:
            services.record_event(db.session, dossier, "finished", user=_user("chuyenvien"), now=current,
                                  result="approved")
        db.session.commit()
        return dossier.code


# -- home pages by role ------------------------------------------------------------------------


def test_reception_lands_on_the_worklist_of_the_day(app, client, auth, desk):
    waiting = receive(app, desk, name="Trần Thị Chờ Chuyển")
    done = receive(app, desk, name="Lê Văn Có Kết Quả", finish=True)
    login(auth, "tiepnhan")

    html = client.get("/").get_data(as_text=True)

    assert "Việc trong ngày" in html and 'id="worklist-q"' in html
    to_forward = html[html.index('id="to_forward"'):html.index('id="to_hand_over"')]
    assert waiting in to_forward and "Hạn chuyển xử lý" in to_forward and done not in to_forward
    assert done in html[html.index('id="to_hand_over"'):html.index('id="awaiting_supplement"')]


def test_a_handler_lands_on_the_units_queue_and_a_unit_head_on_the_dashboard(app, client, auth, desk):
    code = receive(app, desk, forward=True)
    login(auth, "chuyenvien")
    html = client.get("/").get_data(as_text=True)
    assert 'id="unit-queue"' in html and code in html
    # Just forwarded: the 3-working-day window to ask for a supplement is open.
    assert re.search(r'data-urgency="supplement_window"', html)

    login(auth, "truongphong")
    html = client.get("/").get_data(as_text=True)
    assert "Bảng theo dõi giải quyết hồ sơ" in html and 'id="home-alerts"' in html


def test_a_supervisor_lands_on_the_dashboard_with_the_unread_alerts(app, client, auth, desk):
    login(auth, "lanhdao")
    html = client.get("/").get_data(as_text=True)
    assert "Bảng theo dõi giải quyết hồ sơ" in html and "Cảnh báo chưa xem" in html


def test_the_administrator_lands_on_the_catalog_and_calendar_to_dos(app, client, auth, desk):
    login(auth, "quantri")
    html = client.get("/").get_data(as_text=True)
    assert "Việc cần làm của quản trị" in html
    no_limit = html[html.index('data-todo="no_limit"'):]
    assert "Thủ tục chưa có thời hạn" in no_limit[:no_limit.index("</table>")]
    year = now().year + 1
    if year not in (2018, 2019, 2020, 2021, 2022, 2023, 2024, 2025, 2026):
        assert f"Lịch nghỉ năm {year} đang là lịch ước tính" in html


# -- the CCCD scan field -----------------------------------------------------------------------


def test_the_scan_endpoint_reads_a_card_and_refuses_a_malformed_string(client, auth, desk):
    login(auth, "tiepnhan")
    token = csrf_token(client, "/dossiers/new")
    headers = {"X-CSRFToken": token}

    answer = client.post("/dossiers/scan-cccd", json={"scan": SCAN}, headers=headers)
    assert answer.status_code == 200
    assert answer.json["fields"]["name"] == "Nguyễn Văn An"
    assert answer.json["fields"]["address"] == "Số 12, Trần Hưng Đạo, Phường 1, Vũng Tàu"
    assert answer.json["warning"] is None

    refused = client.post("/dossiers/scan-cccd", json={"scan": "079203001234|Nguyễn Văn An"}, headers=headers)
    assert refused.status_code == 422 and "7 trường" in refused.json["error"]["message"]
    assert client.post("/dossiers/scan-cccd", json={"scan": SCAN}).status_code == 400  # no CSRF token

    login(auth, "chuyenvien")
    assert client.post("/dossiers/scan-cccd", json={"scan": SCAN},
                       headers={"X-CSRFToken": csrf_token(client, "/")}).status_code == 403


def test_the_new_dossier_form_has_the_scan_field_and_its_script_is_a_static_file(client, auth, desk):
    login(auth, "tiepnhan")
    html = client.get("/dossiers/new").get_data(as_text=True)
    assert 'id="cccd-scan"' in html and "F2" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "no inline script (CSP)"
    assert not re.search(r"\son[a-z]+=", html), "no inline event handler (CSP)"
