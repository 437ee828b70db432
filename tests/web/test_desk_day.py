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

# Tests whose SQL is already exercised on PostgreSQL elsewhere run on SQLite only (suite time).
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
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
    forgotten = receive(app, desk, name="Phạm Thị Quên Chuyển", hours_ago=24 * 20)
    login(auth, "tiepnhan")

    html = client.get("/").get_data(as_text=True)

    assert "Việc trong ngày" in html and 'id="worklist-q"' in html
    to_forward = html[html.index('id="to_forward"'):html.index('id="to_hand_over"')]
    assert waiting in to_forward and "Hạn chuyển xử lý" in to_forward and done not in to_forward
    assert done in html[html.index('id="to_hand_over"'):html.index('id="awaiting_supplement"')]
    late = html[html.index('id="not_forwarded"'):html.index('id="to_forward"')]
    assert forgotten in late and waiting not in late and forgotten not in to_forward


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


def test_the_home_pages_count_their_sections_up_to_the_cap_only(app, client, auth, desk, monkeypatch):
    """As the lists (issue 13): exact up to the cap, "hơn …" beyond it, so no home page counts a million rows."""
    from intake import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    for i in range(3):
        receive(app, desk, name=f"Người nộp {i}", forward=True)
    receive(app, desk, name="Người nộp chờ chuyển")
    login(auth, "tiepnhan")
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'id="tile-to_forward"><strong>1</strong>', html)
    login(auth, "chuyenvien")
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'<span class="badge">hơn 2</span>', html) and "Hiển thị" not in html
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'<span class="badge">3</span>', html)


@SQLITE_ONLY
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


@SQLITE_ONLY
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


@SQLITE_ONLY
def test_the_new_dossier_form_has_the_scan_field_and_its_script_is_a_static_file(client, auth, desk):
    login(auth, "tiepnhan")
    html = client.get("/dossiers/new").get_data(as_text=True)
    assert 'id="cccd-scan"' in html and "F2" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "no inline script (CSP)"
    assert not re.search(r"\son[a-z]+=", html), "no inline event handler (CSP)"


# -- no surprises: phone, late entry, look-up ------------------------------------------------------


def new_form(client, desk, **overrides):
    data = {
        "procedure_id": str(desk.procedure_id), "loaded_procedure": str(desk.procedure_id), "channel": "direct",
        "applicant_kind": "individual", "applicant_name": "Nguyễn Văn An", "applicant_id_number": "079203001234",
        "applicant_phone": "0912345678", "sets": "1", "received_at": "",
        "doc_name": ["Đơn đề nghị", ""], "doc_kind": ["original", "original"], "doc_count": ["1", "1"],
        "doc_take": ["0"], "csrf_token": csrf_token(client, "/dossiers/new"),
    }
    data.update(overrides)
    return client.post("/dossiers/new", data=data)


@SQLITE_ONLY
def test_an_empty_desk_form_shows_every_error_at_once_next_to_its_field(client, auth, desk):
    login(auth, "tiepnhan")
    response = new_form(client, desk, procedure_id="", applicant_name="", applicant_id_number="",
                        applicant_phone="", applicant_email="khong-phai-email", sets="")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for message in ("Chọn thủ tục hành chính.", "Nhập tên người nộp hồ sơ.", "Nhập số CCCD/hộ chiếu",
                    "Nhập số điện thoại của người nộp, hoặc đánh dấu", "Địa chỉ thư điện tử không hợp lệ.",
                    "Nhập số bộ hồ sơ."):
        assert message in html, message


@SQLITE_ONLY
def test_an_individuals_phone_is_required_unless_no_phone_is_ticked(app, client, auth, desk):
    login(auth, "tiepnhan")
    refused = new_form(client, desk, applicant_phone="")
    assert refused.status_code == 422 and "Không có số điện thoại" in refused.get_data(as_text=True)

    saved = new_form(client, desk, applicant_phone="", no_phone="y")
    assert saved.status_code == 303
    code = saved.headers["Location"].split("/dossiers/")[1].split("?")[0]
    receipt = client.get(f"/dossiers/{code}/receipt").get_data(as_text=True)
    assert "4 số cuối số giấy tờ (người nộp không có số điện thoại)" in receipt
    assert "không có số điện thoại" in client.get(f"/dossiers/{code}").get_data(as_text=True)

    # An organisation may have no phone.
    assert new_form(client, desk, applicant_kind="organisation", applicant_id_number="0123456789",
                    applicant_phone="").status_code == 303


def lookup(client, code, digits):
    return client.post("/tra-cuu", data={"ma": code, "so": digits, "csrf_token": csrf_token(client, "/tra-cuu")})


def test_the_look_up_takes_the_code_in_any_letter_case(app, client, desk):
    code = receive(app, desk)
    assert "H49" in code
    for typed in (code.lower(), code.upper(), f"  {code.lower()} "):
        html = lookup(client, typed, "5678").get_data(as_text=True)
        assert code in html and "Không tìm thấy" not in html, typed


def test_an_applicant_without_a_phone_looks_up_with_the_id_numbers_last_digits(app, client, desk):
    code = receive(app, desk, phone="")
    assert code in lookup(client, code.lower(), "1234").get_data(as_text=True)  # ID 079203001234
    assert "Không tìm thấy" in lookup(client, code, "5678").get_data(as_text=True)


@SQLITE_ONLY
def test_a_reception_time_over_3_working_days_ago_asks_confirmation_and_a_reason(app, client, auth, desk):
    login(auth, "tiepnhan")
    past = (now() - timedelta(days=10)).replace(hour=9, minute=15, second=0, microsecond=0)
    while past.weekday() >= 5:
        past -= timedelta(days=1)
    typed = past.strftime("%Y-%m-%dT%H:%M")

    asked = new_form(client, desk, received_at=typed)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 422 and 'id="late-entry"' in html and "Nêu lý do ghi nhận muộn" in html

    saved = new_form(client, desk, received_at=typed, late_entry_confirmed="y",
                     late_entry_reason="Mất điện, ghi sổ tay rồi nhập lại")
    assert saved.status_code == 303
    code = saved.headers["Location"].split("/dossiers/")[1].split("?")[0]
    with app.app_context():
        from tthc.models import Dossier

        dossier = db.session.scalar(select(Dossier).where(Dossier.code == code))
        assert dossier.received_at == past
        assert dossier.events[0].data["late_entry_reason"] == "Mất điện, ghi sổ tay rồi nhập lại"

    # A time edited within 3 working days needs no confirmation.
    recent = now().replace(second=0, microsecond=0) - timedelta(minutes=30)
    assert new_form(client, desk, received_at=recent.strftime("%Y-%m-%dT%H:%M")).status_code in (303, 422)


@SQLITE_ONLY
def test_the_api_accepts_a_missing_phone_with_a_warning_and_a_late_entry_reason(app, client, desk):
    from tthc.accounts import issue_token

    with app.app_context():
        token = issue_token(db.session, _user("tiepnhan"), "desk")
        db.session.commit()
    past = (now() - timedelta(days=10)).replace(microsecond=0)
    response = client.post("/api/v1/dossiers", headers={"Authorization": f"Bearer {token}"}, json={
        "procedure_id": desk.procedure_id, "channel": "direct", "received_at": past.strftime("%Y-%m-%dT%H:%M"),
        "late_entry_reason": "Nhập bù từ sổ giấy",
        "applicant": {"kind": "individual", "name": "Trần Văn Bình", "id_number": "079203004321"}})
    assert response.status_code == 201, response.json
    assert any("không có số điện thoại" in w for w in response.json["warnings"])
    with app.app_context():
        from tthc.models import Dossier

        dossier = db.session.scalar(select(Dossier).where(Dossier.code == response.json["code"]))
        assert dossier.events[0].data["late_entry_reason"] == "Nhập bù từ sổ giấy"


@SQLITE_ONLY
def test_confirmations_and_done_messages_read_naturally(app, client, auth, desk):
    code = receive(app, desk)
    login(auth, "tiepnhan")
    html = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert f'data-confirm="Trả lại hồ sơ {code} cho người nộp, không giải quyết?"' in html
    assert not re.search(r"hồ sơ\s+hồ sơ", html, re.I)
    with app.app_context():
        from tthc.models import Dossier

        version = db.session.scalar(select(Dossier.version).where(Dossier.code == code))
    client.post(f"/dossiers/{code}/events/forwarded", data={
        "forwarded-version": str(version), "forwarded-unit_id": str(desk.unit_id),
        "csrf_token": csrf_token(client, f"/dossiers/{code}")})
    html = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert f"Đã chuyển hồ sơ {code} cho đơn vị xử lý." in html
    assert not re.search(r"hồ sơ\s+hồ sơ", html, re.I)


def test_pages_show_numbers_in_vietnamese_format():
    from tthc.templating import format_number, format_percent

    assert (format_number(1234), format_number(1234567), format_number(12)) == ("1.234", "1.234.567", "12")
    assert (format_percent(50), format_percent(97.125), format_percent(None)) == ("50,00 %", "97,13 %", "")
    assert format_number(1234.5, 1) == "1.234,5"


# -- masking, the same everywhere ------------------------------------------------------------------


def test_id_numbers_and_phones_are_masked_the_same_way_everywhere_for_roles_that_must_not_see_them(
        app, client, auth, desk):
    from io import BytesIO

    from openpyxl import load_workbook

    from tthc.accounts import issue_token

    code = receive(app, desk, forward=True)
    today = now().date()
    places = {
        "list": f"/dossiers/?q={code}", "dossier": f"/dossiers/{code}", "receipt": f"/dossiers/{code}/receipt",
        "control slip": f"/dossiers/{code}/control-slip", "home": "/",
        "register preview": f"/reports/?type=register&from={today}&to={today}",
    }
    masked_id, masked_phone = "*********234", "*******678"
    SHOWS_PHONE = {"list", "dossier", "receipt", "register preview"}
    for username in ("chuyenvien", "quantri", "lanhdao"):
        login(auth, username)
        full = username == "lanhdao"
        for name, url in places.items():
            response = client.get(url)
            if response.status_code != 200:
                continue  # a page the role may not open
            html = response.get_data(as_text=True)
            if full:
                assert name not in SHOWS_PHONE or "0912345678" in html, (username, name)
            else:
                assert "0912345678" not in html and "079203001234" not in html, (username, name)
                assert name not in SHOWS_PHONE or masked_phone in html, (username, name)
        if username in ("quantri", "lanhdao"):
            workbook = client.post("/reports/download", data={
                "type": "register", "from": str(today), "to": str(today),
                "csrf_token": csrf_token(client, places["register preview"])})
            values = {str(c.value) for row in load_workbook(BytesIO(workbook.data)).active.iter_rows() for c in row}
            joined = " ".join(values)
            assert ("0912345678" in joined) == full and (full or masked_phone in joined), username
        with app.app_context():
            token = issue_token(db.session, _user(username), "t")
            db.session.commit()
        body = client.get(f"/api/v1/dossiers/{code}", headers={"Authorization": f"Bearer {token}"}).json
        applicant = body["applicant"]
        expected = ("079203001234", "0912345678") if full else (masked_id, masked_phone)
        assert (applicant["id_number"], applicant["phone"]) == expected, username


@SQLITE_ONLY
def test_a_date_outside_the_calendar_is_explained_in_vietnamese(client, auth, desk):
    login(auth, "tiepnhan")
    info = client.get(f"/dossiers/preview?procedure_id={desk.procedure_id}&received_at=2100-12-28T09:00").json
    assert info["error"] == ("Ngày hẹn trả rơi ra ngoài lịch làm việc của hệ thống (lịch có từ năm 2000 đến hết năm "
                             "2100): kiểm tra lại thời điểm tiếp nhận.")
    html = new_form(client, desk, received_at="1999-12-01T09:00").get_data(as_text=True)
    assert "Thời điểm tiếp nhận nằm ngoài phạm vi lịch làm việc" in html


@SQLITE_ONLY
def test_the_api_keeps_one_error_object_with_every_error_in_details(app, client, desk):
    from tthc.accounts import issue_token

    with app.app_context():
        token = issue_token(db.session, _user("tiepnhan"), "desk")
        db.session.commit()
    response = client.post("/api/v1/dossiers", headers={"Authorization": f"Bearer {token}"}, json={
        "procedure_id": desk.procedure_id, "channel": "direct",
        "applicant": {"kind": "individual", "name": "", "id_number": "123", "phone": "12", "email": "x"}})
    assert response.status_code == 422
    error = response.json["error"]
    assert (error["field"], error["message"]) == ("applicant.name", "Nhập tên người nộp.")
    assert [d["field"] for d in error["details"]] == ["applicant.name", "applicant.id_number", "applicant.phone",
                                                      "applicant.email"]
    assert all(d["message"] for d in error["details"])


@SQLITE_ONLY
def test_a_correction_shows_every_applicant_error_at_once(app, client, auth, desk):
    code = receive(app, desk)
    login(auth, "tiepnhan")
    with app.app_context():
        from tthc.models import Dossier

        version = db.session.scalar(select(Dossier.version).where(Dossier.code == code))
    response = client.post(f"/dossiers/{code}/correct", data={
        "version": str(version), "applicant_kind": "individual", "applicant_name": "", "applicant_id_number": "12",
        "applicant_phone": "99", "applicant_email": "x", "sets": "1",
        "csrf_token": csrf_token(client, f"/dossiers/{code}/correct")})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("Nhập tên người nộp hồ sơ.", "Số CCCD gồm 12 chữ số", "Số điện thoại không hợp lệ",
                    "Địa chỉ thư điện tử không hợp lệ."):
        assert message in html, message
