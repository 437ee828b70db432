"""HTTP tests of the reception screens and printable slips (issue 4, points 3–5).

One happy path per form, a validation error, permissions (a handler of another unit gets
404, reception cannot finish ...), the stale-version message, and the slips' fields.
Dossiers are set up through ``intake.services`` (the only place where a dossier changes).
"""
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
from tthc.models import DeskContact, Dossier, Procedure, User

DOCUMENTS = [("Đơn đề nghị cấp giấy chứng nhận", "original", 1), ("Bản sao quyết định thành lập", "copy", 1),
             ("Báo cáo kết quả thực hiện", "original", 2)]


@pytest.fixture
def desk(app):
    """Two units, a procedure handled by the first, and one account per role."""
    with app.app_context():
        unit = make_unit(db.session, code="QLKH", name="Phòng Quản lý Khoa học")
        other = make_unit(db.session, code="TDC", name="Chi cục Tiêu chuẩn Đo lường Chất lượng")
        procedure = make_procedure(db.session, national_code="1.004490", unit_id=unit.id, documents=DOCUMENTS,
                                   name="Đăng ký kết quả thực hiện nhiệm vụ khoa học và công nghệ",
                                   statutory_amount=15, committed_amount=10, committed_unit="working_days")
        make_user(db.session, role="reception", username="tiepnhan", full_name="Nguyễn Thị Tiếp Nhận")
        make_user(db.session, role="handler", username="chuyenvien", unit=unit, full_name="Trần Văn Chuyên Viên")
        make_user(db.session, role="handler", username="truongphong", unit=unit, is_unit_head=True)
        make_user(db.session, role="handler", username="khacdonvi", unit=other)
        make_user(db.session, role="supervisor", username="lanhdao")
        make_user(db.session, role="admin", username="quantri")
        db.session.commit()
        return SimpleNamespace(unit_id=unit.id, other_unit_id=other.id, procedure_id=procedure.id)


ROLES = {"tiepnhan": "reception", "chuyenvien": "handler", "truongphong": "handler", "khacdonvi": "handler",
         "lanhdao": "supervisor", "quantri": "admin"}


def login(auth, username):
    if auth.user is not None:
        auth.logout()
    return auth.login(role=ROLES[username], username=username)


def _user(username):
    return db.session.scalar(select(User).where(User.username == username))


def receive(app, desk, *, name="Nguyễn Văn An", id_number="079203001234", phone="0912345678", days_ago=0,
            forward=False, finish=None) -> str:
    """A dossier received through the service (optionally forwarded and finished); returns its code."""
    with app.app_context():
        current = now()
        dossier = services.receive_dossier(
            db.session, procedure=db.session.get(Procedure, desk.procedure_id),
            applicant={"kind": "individual", "name": name, "id_number": id_number, "phone": phone,
                       "email": "an@example.vn", "address": "25 Trần Hưng Đạo, Bà Rịa"},
            channel="direct", received_by=_user("tiepnhan"), now=current,
            received_at=current - timedelta(days=days_ago), request_summary="Đăng ký kết quả đề tài",
        )
        if forward or finish:
            services.record_event(db.session, dossier, "forwarded", user=_user("tiepnhan"), now=current)
        if finish:
            note = "Lý do: hồ sơ không đạt yêu cầu thẩm định" if finish == "refused" else ""
            services.record_event(db.session, dossier, "finished", user=_user("chuyenvien"), now=current,
                                  result=finish, note=note)
        db.session.commit()
        return dossier.code


def dossier_state(app, code):
    with app.app_context():
        d = db.session.scalar(select(Dossier).where(Dossier.code == code))
        return SimpleNamespace(status=d.status, version=d.version, documents=d.documents,
                               current_unit_id=d.current_unit_id, events=[(e.id, e.type, e.voided) for e in d.events],
                               applicant_name=d.applicant_name, sets=d.sets, deadline_at=d.deadline_at,
                               external_code=d.external_code)


def post_event(client, code, event_type, version, **fields):
    data = {"csrf_token": csrf_token(client, f"/dossiers/{code}"), f"{event_type}-version": str(version)}
    data.update({f"{event_type}-{k}": v for k, v in fields.items()})
    return client.post(f"/dossiers/{code}/events/{event_type}", data=data)


def actions_on(client, code) -> list[str]:
    """The action forms the dossier page offers to the logged-in user."""
    return re.findall(r'data-action="([a-z_]+)"', client.get(f"/dossiers/{code}").get_data(as_text=True))


def post_new(client, data):
    return client.post("/dossiers/new", data=dict(data, csrf_token=csrf_token(client, "/dossiers/new")))


def post_desk(client, **fields):
    return client.post("/dossiers/desk/new", data=dict(fields, csrf_token=csrf_token(client, "/dossiers/desk/new")))


def new_dossier_form(desk, **overrides):
    data = {
        "procedure_id": str(desk.procedure_id), "loaded_procedure": str(desk.procedure_id), "channel": "direct",
        "applicant_kind": "individual", "applicant_name": "Nguyễn Văn An", "applicant_id_number": "079203001234",
        "applicant_phone": "0912345678", "applicant_email": "an@example.vn", "applicant_address": "25 Trần Hưng Đạo",
        "request_summary": "Đăng ký kết quả đề tài", "sets": "2", "received_at": "",
        "doc_name": [d[0] for d in DOCUMENTS] + [""], "doc_kind": [d[1] for d in DOCUMENTS] + ["original"],
        "doc_count": ["1", "1", "3", "1"], "doc_take": ["0", "2"],
    }
    data.update(overrides)
    return data


# -- new dossier -------------------------------------------------------------------------------


def test_reception_officer_gets_the_new_dossier_form_with_the_catalog(client, auth, desk):
    login(auth, "tiepnhan")
    html = client.get("/dossiers/new").get_data(as_text=True)
    assert "Tiếp nhận hồ sơ" in html
    assert "1.004490 – Đăng ký kết quả thực hiện nhiệm vụ khoa học và công nghệ" in html
    assert 'data-search="1.004490 dang ky ket qua' in html  # local filtering without diacritics
    html = client.get(f"/dossiers/new?procedure_id={desk.procedure_id}").get_data(as_text=True)
    assert html.count('name="doc_take"') == 4 and html.count("checked") >= 3  # 3 catalog rows ticked + 1 empty extra
    assert re.search(r'data-preview="appointment">\d{2}:\d{2} \d{2}/\d{2}/\d{4}', html), "shown before saving"


def test_appointment_preview_gives_documents_and_appointment_as_json(client, auth, desk):
    login(auth, "tiepnhan")
    body = client.get(f"/dossiers/preview?procedure_id={desk.procedure_id}&received_at=2025-03-03T09:15").get_json()
    assert [d["name"] for d in body["documents"]] == [d[0] for d in DOCUMENTS]
    # Monday 09:15 + 10 working days (Tết and 30/4 are not in between): Monday 17/03 09:15.
    assert body["appointment"] == "09:15 17/03/2025"
    assert body["limit"] == "10 ngày làm việc (theo quy định: 15 ngày làm việc)"
    assert body["unit"] == "Phòng Quản lý Khoa học"
    assert client.get("/dossiers/preview?procedure_id=999999").status_code == 404


def test_saving_a_new_dossier_leads_to_its_page_with_the_print_button(app, client, auth, desk):
    login(auth, "tiepnhan")
    response = post_new(client, new_dossier_form(desk))
    assert response.status_code == 303
    code = re.search(r"/dossiers/([^?]+)\?new=1", response.headers["Location"]).group(1)
    state = dossier_state(app, code)
    assert state.status == "received" and state.sets == 2
    assert state.documents == [{"name": DOCUMENTS[0][0], "kind": "original", "count": 1},
                               {"name": DOCUMENTS[2][0], "kind": "original", "count": 3}]
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã tiếp nhận hồ sơ" in html and "In giấy tiếp nhận" in html
    assert f'href="/dossiers/{code}/receipt"' in html


def test_an_invalid_id_number_is_shown_on_its_field_and_the_input_is_kept(app, client, auth, desk):
    login(auth, "tiepnhan")
    data = new_dossier_form(desk, applicant_id_number="12345", applicant_name="Lê Thị Bình")
    response = post_new(client, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    field = re.search(r'<div class="field has-error">.*?</div>\s*</div>', html, re.S).group(0)
    assert 'name="applicant_id_number"' in field and "Số CCCD gồm 12 chữ số" in field
    assert 'value="Lê Thị Bình"' in html and 'value="12345"' in html
    assert re.search(r'name="doc_take" value="2"[^>]*checked', html), "the ticked documents are kept"
    assert not re.search(r'name="doc_take" value="1"[^>]*checked', html), "and the unticked ones stay unticked"
    assert 'name="doc_count" value="3"' in html
    with app.app_context():
        assert db.session.scalar(select(Dossier.id)) is None


def test_a_new_dossier_without_procedure_or_name_is_refused_without_error_500(client, auth, desk):
    login(auth, "tiepnhan")
    data = new_dossier_form(desk, procedure_id="", loaded_procedure="", applicant_name="")
    response = post_new(client, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Chọn thủ tục hành chính." in html and "Nhập tên người nộp hồ sơ." in html


def test_a_bad_document_count_is_refused(client, auth, desk):
    login(auth, "tiepnhan")
    data = new_dossier_form(desk, doc_count=["abc", "1", "1", "1"], doc_take=["0"])
    response = post_new(client, data)
    assert response.status_code == 422
    assert "phải là số nguyên từ 1 đến 99" in response.get_data(as_text=True)


def test_a_dossier_coded_by_the_provincial_centre_keeps_its_code(app, client, auth, desk):
    login(auth, "tiepnhan")
    data = new_dossier_form(desk, code="H49.38-250305-0007", reception_point="Trung tâm Phục vụ hành chính công tỉnh",
                            channel="online", submitted_at="2025-03-05T08:00", received_at="2025-03-05T09:00",
                            # logged long after its reception: the desk confirms it and says why (issue 16)
                            late_entry_confirmed="y", late_entry_reason="Nhập từ hệ thống của tỉnh")
    response = post_new(client, data)
    assert response.status_code == 303
    state = dossier_state(app, "H49.38-250305-0007")
    assert state.external_code is True
    html = client.get("/dossiers/H49.38-250305-0007/receipt").get_data(as_text=True)
    assert "Trung tâm Phục vụ hành chính công tỉnh" in html and "09:00 05/03/2025" in html


def test_a_future_reception_time_is_refused_on_its_field(client, auth, desk):
    login(auth, "tiepnhan")
    future = (now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    data = new_dossier_form(desk, received_at=future)
    response = post_new(client, data)
    assert response.status_code == 422
    assert "không được ở tương lai" in response.get_data(as_text=True)


def test_only_reception_opens_the_new_dossier_form(client, auth, desk):
    for username in ("chuyenvien", "lanhdao", "quantri"):
        login(auth, username)
        assert client.get("/dossiers/new").status_code == 403


# -- dossier page ------------------------------------------------------------------------------


def test_the_dossier_page_shows_deadlines_explanation_timeline_and_the_desks_actions(client, auth, app, desk):
    code = receive(app, desk)
    login(auth, "tiepnhan")
    html = client.get(f"/dossiers/{code}").get_data(as_text=True)
    for text in (code, "Đã tiếp nhận", "Ngày hẹn trả (trên giấy tiếp nhận)", "Hạn hiện tại", "Hạn ban đầu",
                 "Hạn chuyển xử lý", "Cách tính thời hạn", "Tiếp nhận hồ sơ", "079203001234", "0912345678"):
        assert text in html, text
    actions = re.findall(r'data-action="([a-z_]+)"', html)
    assert actions == ["forwarded", "returned_unprocessed", "withdrawn"]
    assert f'name="forwarded-version" type="hidden" value="1"' in html
    assert 'name="forwarded-unit_id"' in html


def test_a_handler_of_another_unit_gets_404_on_the_dossier_and_its_slips(client, auth, app, desk):
    code = receive(app, desk, forward=True)
    login(auth, "khacdonvi")
    for url in (f"/dossiers/{code}", f"/dossiers/{code}/receipt", f"/dossiers/{code}/control-slip"):
        assert client.get(url).status_code == 404, url
    assert code not in client.get("/dossiers/").get_data(as_text=True)
    assert post_event(client, code, "finished", 2, result="approved").status_code == 404


def test_handlers_see_id_numbers_and_phones_masked(client, auth, app, desk):
    code = receive(app, desk, forward=True)
    login(auth, "chuyenvien")
    html = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert "079203001234" not in html and "*********234" in html
    assert "0912345678" not in html and "*******678" in html
    assert "0912345678" not in client.get("/dossiers/").get_data(as_text=True)


def test_unknown_dossier_and_unknown_action_answer_404(client, auth, app, desk):
    code = receive(app, desk)
    login(auth, "tiepnhan")
    assert client.get("/dossiers/000.00.31.H49-990101-9999").status_code == 404
    assert post_event(client, code, "teleported", 1).status_code == 404


def test_the_whole_journey_through_the_action_forms(client, auth, app, desk):
    code = receive(app, desk)
    login(auth, "tiepnhan")
    response = post_event(client, code, "forwarded", 1, unit_id=str(desk.unit_id), note="Chuyển phòng")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/dossiers/{code}")
    state = dossier_state(app, code)
    assert state.status == "in_progress" and state.current_unit_id == desk.unit_id

    login(auth, "chuyenvien")
    assert actions_on(client, code) == ["step_handed_over", "supplement_requested", "finished"]
    assert post_event(client, code, "finished", state.version, result="approved", note="Đã cấp").status_code == 303
    state = dossier_state(app, code)
    assert state.status == "finished"

    login(auth, "tiepnhan")
    response = post_event(client, code, "handed_over", state.version, note="Nhận trực tiếp")
    assert response.status_code == 303
    assert dossier_state(app, code).status == "handed_over"
    html = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert f"Đã trả kết quả hồ sơ {code} cho người nộp." in html  # issue 16: confirmations written whole
    assert "Trả kết quả cho người nộp" in html and "Có kết quả giải quyết" in html


def test_reception_cannot_finish_a_dossier(client, auth, app, desk):
    code = receive(app, desk, forward=True)
    login(auth, "tiepnhan")
    response = post_event(client, code, "finished", dossier_state(app, code).version, result="approved")
    assert response.status_code == 403
    assert dossier_state(app, code).status == "in_progress"


def test_a_stale_version_gets_the_updated_by_someone_else_message(client, auth, app, desk):
    code = receive(app, desk)
    login(auth, "tiepnhan")
    stale = dossier_state(app, code).version
    assert post_event(client, code, "forwarded", stale).status_code == 303  # first officer
    response = post_event(client, code, "withdrawn", stale, note="Người nộp rút")  # second officer, old page
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "đã được người khác cập nhật" in html
    assert dossier_state(app, code).status == "in_progress"


def test_an_impossible_transition_is_explained(client, auth, app, desk):
    code = receive(app, desk, finish="approved")
    login(auth, "lanhdao")
    version = dossier_state(app, code).version
    response = post_event(client, code, "returned_unprocessed", version, note="thử")
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Chỉ trả lại được hồ sơ chưa có kết quả." in html


def test_a_supplement_request_without_reason_keeps_the_form_with_the_error(client, auth, app, desk):
    code = receive(app, desk, forward=True)
    login(auth, "chuyenvien")
    version = dossier_state(app, code).version
    response = post_event(client, code, "supplement_requested", version, documents_to_add="Bản sao CCCD")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Ghi rõ lý do yêu cầu bổ sung, hoàn thiện hồ sơ." in html
    assert re.search(r'<details class="action" open data-action="supplement_requested">', html)
    assert "Bản sao CCCD" in html


def test_a_supplement_request_prints_form_02(client, auth, app, desk):
    code = receive(app, desk, forward=True)
    login(auth, "chuyenvien")
    version = dossier_state(app, code).version
    response = post_event(client, code, "supplement_requested", version, documents_to_add="Bản sao CCCD của chủ nhiệm",
                          note="Thiếu giấy tờ tùy thân")
    assert response.status_code == 303
    state = dossier_state(app, code)
    assert state.status == "awaiting_supplement"
    event_id = next(e[0] for e in state.events if e[1] == "supplement_requested")
    html = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert f"/dossiers/{code}/supplement-request/{event_id}" in html
    slip = client.get(f"/dossiers/{code}/supplement-request/{event_id}").get_data(as_text=True)
    for text in ("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", "Bản sao CCCD của chủ nhiệm", "Thiếu giấy tờ tùy thân",
                 "NGƯỜI HƯỚNG DẪN", "Trần Văn Chuyên Viên", "Độc lập - Tự do - Hạnh phúc"):
        assert text in slip, text
    login(auth, "tiepnhan")
    assert post_event(client, code, "supplement_received", state.version, note="Đã nhận bổ sung").status_code == 303
    assert dossier_state(app, code).status == "in_progress"


def test_the_unit_head_extends_once_and_form_04_carries_the_new_appointment(client, auth, app, desk):
    code = receive(app, desk, forward=True)
    state = dossier_state(app, code)
    new_deadline = (state.deadline_at + timedelta(days=7)).replace(hour=16, minute=30)
    login(auth, "chuyenvien")
    assert "extended" not in actions_on(client, code)
    login(auth, "truongphong")
    response = post_event(client, code, "extended", state.version, new_deadline=new_deadline.strftime("%Y-%m-%dT%H:%M"),
                          note="Chờ ý kiến thẩm định của chuyên gia")
    assert response.status_code == 303
    html = client.get(f"/dossiers/{code}/apology").get_data(as_text=True)
    assert "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT" in html  # received today: the 2025 set
    assert new_deadline.strftime("%H:%M %d/%m/%Y") in html and state.deadline_at.strftime("%H:%M %d/%m/%Y") in html
    assert "Chờ ý kiến thẩm định của chuyên gia" in html and "Kính gửi" in html
    assert "extended" not in actions_on(client, code)


def test_an_extension_without_new_appointment_is_refused_on_its_field(client, auth, app, desk):
    code = receive(app, desk, forward=True)
    login(auth, "truongphong")
    response = post_event(client, code, "extended", dossier_state(app, code).version, note="Chậm")
    assert response.status_code == 422
    assert "Nhập ngày hẹn trả kết quả mới." in response.get_data(as_text=True)


def test_a_refusal_after_appraisal_prints_form_03(client, auth, app, desk):
    code = receive(app, desk, finish="refused")
    login(auth, "tiepnhan")
    html = client.get(f"/dossiers/{code}/refusal").get_data(as_text=True)
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in html and "hồ sơ không đạt yêu cầu thẩm định" in html
    assert "Qua thẩm định" in html
    other = receive(app, desk, finish="approved", id_number="079203009999")
    assert client.get(f"/dossiers/{other}/refusal").status_code == 404


def test_the_control_slip_has_one_row_per_hand_over(client, auth, app, desk):
    code = receive(app, desk, finish="approved")
    login(auth, "tiepnhan")
    html = client.get(f"/dossiers/{code}/control-slip").get_data(as_text=True)
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in html
    assert "2. Nhận: Phòng Quản lý Khoa học" in html
    assert re.search(r"Trước hạn|Đúng hạn", html)
    assert "size: A5 landscape" in html


# -- void and correction -----------------------------------------------------------------------


def test_a_supervisor_voids_an_event_with_a_reason_and_it_is_struck_through(client, auth, app, desk):
    code = receive(app, desk, forward=True)
    state = dossier_state(app, code)
    forwarded_id = next(e[0] for e in state.events if e[1] == "forwarded")
    login(auth, "lanhdao")
    token = csrf_token(client, f"/dossiers/{code}")
    response = client.post(f"/dossiers/{code}/events/{forwarded_id}/void",
                           data={"csrf_token": token, "version": str(state.version), "reason": "Chuyển nhầm đơn vị"})
    assert response.status_code == 303
    assert dossier_state(app, code).status == "received"
    html = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert re.search(r'<tr class="voided"[^>]*>.*?<del>Chuyển xử lý</del>', html, re.S)
    assert "Chuyển nhầm đơn vị" in html


def test_voiding_needs_a_reason_and_a_supervisor(client, auth, app, desk):
    code = receive(app, desk, forward=True)
    state = dossier_state(app, code)
    forwarded_id = next(e[0] for e in state.events if e[1] == "forwarded")
    login(auth, "lanhdao")
    token = csrf_token(client, f"/dossiers/{code}")
    response = client.post(f"/dossiers/{code}/events/{forwarded_id}/void",
                           data={"csrf_token": token, "version": str(state.version), "reason": ""})
    assert response.status_code == 422 and "Nêu lý do hủy bỏ sự kiện." in response.get_data(as_text=True)
    login(auth, "tiepnhan")
    token = csrf_token(client, f"/dossiers/{code}")
    response = client.post(f"/dossiers/{code}/events/{forwarded_id}/void",
                           data={"csrf_token": token, "version": str(state.version), "reason": "x"})
    assert response.status_code == 403


def test_a_correction_is_saved_and_the_receipt_is_reprinted_as_such(client, auth, app, desk):
    code = receive(app, desk)
    login(auth, "tiepnhan")
    assert "BẢN IN LẠI" not in client.get(f"/dossiers/{code}/receipt").get_data(as_text=True)
    page = client.get(f"/dossiers/{code}/correct").get_data(as_text=True)
    assert 'value="Nguyễn Văn An"' in page
    state = dossier_state(app, code)
    data = {"csrf_token": csrf_token(client, f"/dossiers/{code}/correct"), "version": str(state.version),
            "applicant_kind": "individual", "applicant_name": "Nguyễn Văn Ân", "applicant_id_number": "079203001234",
            "applicant_phone": "0912345678", "applicant_email": "an@example.vn",
            "applicant_address": "25 Trần Hưng Đạo, Bà Rịa", "request_summary": "Đăng ký kết quả đề tài", "sets": "1",
            "doc_name": [d[0] for d in DOCUMENTS] + [""], "doc_kind": [d[1] for d in DOCUMENTS] + ["original"],
            "doc_count": ["1", "1", "3", "1"], "doc_take": ["0", "1", "2"]}
    response = client.post(f"/dossiers/{code}/correct", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    assert dossier_state(app, code).applicant_name == "Nguyễn Văn Ân"
    receipt = client.get(f"/dossiers/{code}/receipt").get_data(as_text=True)
    assert "BẢN IN LẠI" in receipt and "Nguyễn Văn Ân" in receipt
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert "Sửa thông tin hồ sơ" in page and "Các trường đã sửa: tên người nộp, giấy tờ đã nhận" in page
    data["csrf_token"] = csrf_token(client, f"/dossiers/{code}/correct")
    data["version"] = str(dossier_state(app, code).version)
    data["applicant_name"] = "Nguyễn Văn Ân"
    response = client.post(f"/dossiers/{code}/correct", data=data)
    assert response.status_code == 422 and "Không có thông tin nào thay đổi." in response.get_data(as_text=True)


def test_handlers_cannot_correct_a_dossier(client, auth, app, desk):
    code = receive(app, desk, forward=True)
    login(auth, "chuyenvien")
    assert client.get(f"/dossiers/{code}/correct").status_code == 403


# -- the receipt -------------------------------------------------------------------------------


def test_the_receipt_shows_every_field_of_form_01(client, auth, app, desk):
    app.config.update(AGENCY_PLACE="Bà Rịa", PUBLIC_BASE_URL="https://dvc.example.gov.vn/")
    code = receive(app, desk)
    login(auth, "tiepnhan")
    html = client.get(f"/dossiers/{code}/receipt").get_data(as_text=True)
    with app.app_context():
        d = db.session.scalar(select(Dossier).where(Dossier.code == code))
        received, appointment = d.received_at.strftime("%H:%M %d/%m/%Y"), d.appointment_at.strftime("%H:%M %d/%m/%Y")
        register = f"{d.register_number:02d}"
    for text in ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "ỦY BAN NHÂN DÂN TỈNH", "SỞ KHOA HỌC VÀ CÔNG NGHỆ",
                 "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "Bà Rịa, ngày",
                 f"Mã hồ sơ: <strong>{code}</strong>", "Nguyễn Văn An", "25 Trần Hưng Đạo, Bà Rịa", "0912345678",
                 "an@example.vn", "Đăng ký kết quả đề tài", "Đơn đề nghị cấp giấy chứng nhận", "Bản sao",
                 "Số lượng hồ sơ: <strong>1</strong>",
                 "10 ngày làm việc (theo quy định: 15 ngày làm việc)",
                 f"Thời gian nhận hồ sơ: <strong>{received}</strong>",
                 f"Thời gian trả kết quả giải quyết hồ sơ: <strong class=\"appointment\">{appointment}</strong>",
                 "Đăng ký nhận kết quả tại", f"số thứ tự: <strong>{register}</strong>", "NGƯỜI NỘP HỒ SƠ",
                 "NGƯỜI TIẾP NHẬN HỒ SƠ", "Nguyễn Thị Tiếp Nhận", f"https://dvc.example.gov.vn/tra-cuu?ma={code}",
                 "<svg", "css/print.css"):
        assert text in html, text


# -- list --------------------------------------------------------------------------------------


def test_the_list_counts_up_to_a_cap_and_shows_more_than_beyond_it(client, auth, app, desk, monkeypatch):
    for name in ("Nguyễn Văn An", "Nguyễn Văn Anh", "Nguyễn Văn Ánh"):
        receive(app, desk, name=name)
    login(auth, "tiepnhan")
    monkeypatch.setitem(app.config, "PER_PAGE", 1)
    monkeypatch.setattr(services, "COUNT_CAP", 2)
    html = client.get("/dossiers/?q=nguyen+van+an").get_data(as_text=True)
    assert "Trang 1 (hơn 2 mục)" in html and "page=2" in html
    monkeypatch.setattr(services, "COUNT_CAP", 1000)
    html = client.get("/dossiers/?q=nguyen+van+an").get_data(as_text=True)
    assert "Trang 1 / 3 (3 mục)" in html


def test_the_list_searches_without_diacritics_filters_and_highlights_overdue_rows(client, auth, app, desk):
    late = receive(app, desk, name="Nguyễn Văn Ánh", days_ago=60)
    fresh = receive(app, desk, name="Trần Thị Bé", id_number="079203005555", phone="0987654321")
    login(auth, "tiepnhan")
    html = client.get("/dossiers/?q=nguyen+van+anh").get_data(as_text=True)
    assert late in html and fresh not in html
    assert re.search(rf'<tr class="row-overdue">\s*<td><a href="/dossiers/{re.escape(late)}"', html)
    html = client.get("/dossiers/?q=0987654321").get_data(as_text=True)
    assert fresh in html and late not in html
    html = client.get("/dossiers/?deadline=overdue").get_data(as_text=True)
    assert late in html and fresh not in html
    html = client.get("/dossiers/?status=in_progress").get_data(as_text=True)
    assert late not in html and "Không có hồ sơ nào phù hợp." in html
    html = client.get("/dossiers/", query_string={
        "status": "open", "unit": desk.unit_id, "procedure": desk.procedure_id, "channel": "direct",
        "field": "Hoạt động khoa học và công nghệ"}).get_data(as_text=True)
    assert late in html and fresh in html
    today = now().date().isoformat()
    html = client.get(f"/dossiers/?date_from={today}&date_to={today}").get_data(as_text=True)
    assert fresh in html and late not in html
    assert client.get("/dossiers/?date_from=not-a-date&page=abc&unit=x").status_code == 200


def test_the_list_is_paginated(client, auth, app, desk):
    app.config["PER_PAGE"] = 2
    codes = [receive(app, desk, id_number=f"07920300{i:04d}") for i in range(3)]
    login(auth, "lanhdao")
    first = client.get("/dossiers/").get_data(as_text=True)
    second = client.get("/dossiers/?page=2").get_data(as_text=True)
    assert "Trang 1 / 2 (3 mục)" in first and "Trang 2 / 2 (3 mục)" in second
    assert sum(code in first for code in codes) == 2 and sum(code in second for code in codes) == 1


def test_an_administrator_reads_dossiers_but_has_no_actions(client, auth, app, desk):
    code = receive(app, desk)
    login(auth, "quantri")
    html = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert "data-action=" not in html and "*********234" in html
    assert code in client.get("/dossiers/").get_data(as_text=True)


# -- desk contacts -----------------------------------------------------------------------------


def test_guidance_at_the_desk_is_recorded_and_prints_form_02(client, auth, app, desk):
    login(auth, "tiepnhan")
    response = post_desk(client, kind="guidance", procedure_id=str(desk.procedure_id), applicant_name="Phạm Văn Cường",
                         applicant_phone="0903123456", applicant_address="Vũng Tàu", request_summary="Đăng ký kết quả",
                         documents_to_add="Biên bản nghiệm thu có chữ ký đủ thành viên", reason="Biên bản thiếu chữ ký")
    assert response.status_code == 303
    slip = client.get(response.headers["Location"]).get_data(as_text=True)
    for text in ("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", "Phạm Văn Cường", "Biên bản thiếu chữ ký",
                 "Biên bản nghiệm thu có chữ ký đủ thành viên", "NGƯỜI HƯỚNG DẪN", "Nguyễn Thị Tiếp Nhận"):
        assert text in slip, text
    listing = client.get("/dossiers/desk/?q=pham+van").get_data(as_text=True)
    assert "Phạm Văn Cường" in listing and "In lại phiếu" in listing


def test_refusal_at_the_desk_prints_form_03_and_errors_are_shown(client, auth, app, desk):
    login(auth, "tiepnhan")
    response = post_desk(client, kind="refusal", applicant_name="Hồ Thị Dung", reason="")
    assert response.status_code == 422 and "Nêu lý do hướng dẫn / từ chối." in response.get_data(as_text=True)
    response = post_desk(client, kind="refusal", applicant_name="Hồ Thị Dung", applicant_phone="12",
                         reason="Không thuộc thẩm quyền")
    assert response.status_code == 422 and "Số điện thoại không hợp lệ" in response.get_data(as_text=True)
    response = post_desk(client, kind="refusal", applicant_name="Hồ Thị Dung",
                         reason="Không thuộc thẩm quyền giải quyết của Sở")
    assert response.status_code == 303
    slip = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in slip and "Không thuộc thẩm quyền giải quyết của Sở" in slip
    with app.app_context():
        assert db.session.scalar(select(DeskContact.kind)) == "refusal"


def test_handlers_have_no_access_to_desk_contacts(client, auth, desk):
    login(auth, "chuyenvien")
    assert client.get("/dossiers/desk/").status_code == 403
    assert client.get("/dossiers/desk/new").status_code == 403
    login(auth, "lanhdao")
    assert client.get("/dossiers/desk/").status_code == 200
    assert client.get("/dossiers/desk/new").status_code == 403


def test_a_restarting_supplement_offers_the_reissued_receipt_with_the_new_appointment_at_once(app, client, auth,
                                                                                                desk):
    """Issue 10, defect 2: the page, a reprinted receipt and the public look-up showed the first appointment."""
    code = receive(app, desk, days_ago=3, forward=True)
    with app.app_context():
        d = db.session.scalar(select(Dossier).where(Dossier.code == code))
        first = d.appointment_at
        current = now()
        services.record_event(db.session, d, "supplement_requested", user=_user("chuyenvien"), now=current,
                              note="Thiếu bản sao", data={"documents_to_add": ["Bản sao quyết định"]})
        db.session.commit()
        version = d.version
    login(auth, "tiepnhan")
    response = post_event(client, code, "supplement_received", version)
    assert response.status_code == 303
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    with app.app_context():
        d = db.session.scalar(select(Dossier).where(Dossier.code == code))
        new = d.appointment_at
    assert new != first and new == d.deadline_at
    assert "data-reissued-receipt" in page and "Cấp lại sau khi bổ sung hồ sơ" in page
    assert "Ngày hẹn trả kết quả mới" in page and new.strftime("%H:%M %d/%m/%Y") in page
    receipt = client.get(f"/dossiers/{code}/receipt").get_data(as_text=True)
    assert "data-reissued" in receipt and "CẤP LẠI SAU KHI BỔ SUNG HỒ SƠ" in receipt
    assert f'class="appointment">{new:%H:%M %d/%m/%Y}' in receipt
