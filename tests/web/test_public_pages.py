"""Public pages without login (issue 7): the catalog, the dossier look-up and the one-time rating.

What the look-up reveals (status, appointment, public steps, masked name) and what it never
reveals (ID number, phone, e-mail, address, internal notes, voided steps, other applicants);
a wrong code and a wrong phone get the same answer; failures are throttled per address.
Runs on SQLite and, when configured, PostgreSQL.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from intake import services
from tests.factories import make_procedure, make_unit, make_user
from tests.helpers import csrf_token
from tthc.extensions import db
from tthc.models import LookupAttempt, Rating
from tthc.public import mask_name, phone_tail

MON_0915 = datetime(2026, 3, 9, 9, 15)
MON_1000 = datetime(2026, 3, 9, 10, 0)
TUE_0800 = datetime(2026, 3, 10, 8, 0)
TUE_0900 = datetime(2026, 3, 10, 9, 0)
WED_0800 = datetime(2026, 3, 11, 8, 0)
THU_0800 = datetime(2026, 3, 12, 8, 0)
FRI_0800 = datetime(2026, 3, 13, 8, 0)

ID_NUMBER = "079203001234"
PHONE = "0912345678"
EMAIL = "an.nguyen@example.vn"
ADDRESS = "25 Trần Hưng Đạo, phường Phước Hiệp"
SECRET_NOTES = ["Ghi chú nội bộ: chuyển anh Tuấn", "Thiếu bản sao giấy phép (nội bộ 4711)", "Nhập nhầm bước 9931",
                "Trả tận tay ông An, CCCD đã đối chiếu", "Lý do gia hạn nội bộ 5520"]
OTHER = {"kind": "individual", "name": "Trần Thị Bình", "id_number": "001190054321", "phone": "0987005678",
         "email": "binh.tran@example.vn", "address": "7 Nguyễn Huệ, phường Bến Nghé"}


@pytest.fixture
def world(app):
    """A catalog and three dossiers brought through the real intake services."""
    with app.app_context():
        s = db.session
        desk_unit = make_unit(s, code="MOTCUA", name="Bộ phận Tiếp nhận và Trả kết quả")
        unit = make_unit(s, code="QLKH", name="Phòng Quản lý Khoa học")
        reception = make_user(s, role="reception", username="tiepnhan", unit=desk_unit)
        handler = make_user(s, role="handler", username="chuyenvien", unit=unit)
        supervisor = make_user(s, role="supervisor", username="lanhdao")
        proc = make_procedure(
            s, national_code="1.004490", name="Đăng ký kết quả thực hiện nhiệm vụ khoa học và công nghệ",
            unit_id=unit.id, statutory_amount=15, committed_amount=10, committed_unit="working_days",
            fee="Không thu phí", legal_basis="Luật Khoa học và Công nghệ số 29/2013/QH13",
            submission_info="Nộp trực tiếp hoặc qua bưu chính công ích", online_level="Một phần",
            result_location="Bộ phận Một cửa, tầng 1",
            documents=[("Đơn đề nghị đăng ký (theo mẫu)", "original", 1), ("Báo cáo tổng hợp kết quả", "copy", 2)])
        radiation = make_procedure(s, national_code="1.003579", name="Cấp giấy phép tiến hành công việc bức xạ",
                                   field="An toàn bức xạ và hạt nhân", unit_id=unit.id)
        inactive = make_procedure(s, national_code="1.000001", name="Thủ tục đã bãi bỏ về chuyển giao công nghệ",
                                  active=False, inactive_reason="Bãi bỏ")
        applicant = {"kind": "individual", "name": "Nguyễn Văn An", "id_number": ID_NUMBER, "phone": PHONE,
                     "email": EMAIL, "address": ADDRESS}
        ev = services.record_event
        # A: handed over, with a voided supplement request and notes on every event.
        a = services.receive_dossier(s, procedure=proc, applicant=applicant, channel="direct", received_by=reception,
                                     now=MON_1000, received_at=MON_0915)
        ev(s, a, "forwarded", user=reception, now=MON_1000, note=SECRET_NOTES[0])
        wrong = ev(s, a, "supplement_requested", user=handler, now=TUE_0800, note=SECRET_NOTES[1],
                   data={"documents_to_add": ["Bản sao CCCD"]})
        services.void_event(s, a, wrong.id, user=supervisor, reason=SECRET_NOTES[2], now=TUE_0900)
        ev(s, a, "finished", user=handler, now=WED_0800, result="approved")
        ev(s, a, "handed_over", user=reception, now=THU_0800, note=SECRET_NOTES[3])
        # B: another applicant whose phone ends with the same 4 digits; extended, still in progress.
        b = services.receive_dossier(s, procedure=proc, applicant=dict(OTHER), channel="direct",
                                     received_by=reception, now=MON_1000, received_at=MON_0915)
        ev(s, b, "forwarded", user=reception, now=MON_1000)
        ev(s, b, "extended", user=supervisor, now=TUE_0800, note=SECRET_NOTES[4],
           new_deadline=b.deadline_at + timedelta(days=7))
        s.commit()
        w = SimpleNamespace(
            proc_id=proc.id, radiation_id=radiation.id, inactive_id=inactive.id, unit_id=unit.id,
            a=SimpleNamespace(code=a.code, id=a.id, appointment_at=a.appointment_at),
            b=SimpleNamespace(code=b.code, id=b.id, appointment_at=b.appointment_at, deadline_at=b.deadline_at,
                              original_deadline_at=b.original_deadline_at),
        )
        s.remove()
    return w


def lookup(client, code, digits, **kw):
    token = csrf_token(client, "/tra-cuu")
    return client.post("/tra-cuu", data={"ma": code, "so": digits, "csrf_token": token}, **kw)


def rate(client, code, digits, satisfied="1", comment="", **kw):
    token = csrf_token(client, "/tra-cuu")
    return client.post("/tra-cuu/danh-gia", data={"ma": code, "so": digits, "satisfied": satisfied,
                                                   "comment": comment, "csrf_token": token}, **kw)


def text(response) -> str:
    return response.get_data(as_text=True)


# -- pure helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name, masked", [
    ("Nguyễn Văn An", "Nguyễn V** A*"),
    ("Trần Thị Bích Ngọc", "Trần T** B*** N***"),
    ("  Lê   Ý ", "Lê Ý"),
    ("Madonna", "Madonna"),
    ("", ""),
    ("Công ty TNHH Ánh Dương", "Công t* T*** Á** D****"),
])
def test_masked_name_keeps_the_family_name_and_the_first_letter_of_every_other_word(name, masked):
    assert mask_name(name) == masked


def test_phone_tail_ignores_separators_and_refuses_short_numbers():
    assert phone_tail("0912 345 678") == "5678"
    assert phone_tail("+84-912.345.678") == "5678"
    assert phone_tail("123") == "" and phone_tail(None) == ""


# -- no login ----------------------------------------------------------------------------------------


def test_public_pages_need_no_login(client, world):
    for url in ("/thu-tuc", f"/thu-tuc/{world.proc_id}", "/tra-cuu", f"/tra-cuu?ma={world.a.code}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "/login" not in response.headers.get("Location", "")
    # The staff pages stay behind the login.
    assert client.get("/procedures/").status_code == 302


def test_lookup_page_prefills_the_code_from_the_qr_address_and_reveals_nothing_on_get(client, world):
    html = text(client.get(f"/tra-cuu?ma={world.a.code}"))
    assert f'value="{world.a.code}"' in html
    assert "Nguyễn" not in html and "Đã trả kết quả" not in html


# -- catalog -----------------------------------------------------------------------------------------


def test_catalog_searches_without_diacritics_and_by_code_and_browses_by_field(client, world):
    html = text(client.get("/thu-tuc?q=cap+phep+buc+xa"))
    assert "Cấp giấy phép tiến hành công việc bức xạ" in html and "Đăng ký kết quả thực hiện" not in html
    html = text(client.get("/thu-tuc?q=1.004490"))
    assert "Đăng ký kết quả thực hiện nhiệm vụ" in html and "bức xạ</a>" not in html
    html = text(client.get("/thu-tuc?linh-vuc=An+to%C3%A0n+b%E1%BB%A9c+x%E1%BA%A1+v%C3%A0+h%E1%BA%A1t+nh%C3%A2n"))
    assert "Cấp giấy phép tiến hành công việc bức xạ" in html and "Đăng ký kết quả thực hiện" not in html
    html = text(client.get("/thu-tuc"))
    assert "An toàn bức xạ và hạt nhân <span class=\"count\">(1)</span>" in html
    assert "Thủ tục đã bãi bỏ" not in html and "Thủ tục đã bãi bỏ" not in text(client.get("/thu-tuc?q=bai+bo"))


def test_inactive_or_unknown_procedure_is_not_found(client, world):
    assert client.get(f"/thu-tuc/{world.inactive_id}").status_code == 404
    assert client.get("/thu-tuc/999999").status_code == 404
    assert "Thủ tục đã bãi bỏ" not in text(client.get(f"/thu-tuc/{world.inactive_id}"))


def test_procedure_page_shows_what_to_submit_time_fee_where_how_legal_basis_and_prints(app, client, world):
    app.config["AGENCY_ADDRESS"] = "198 Bạch Đằng, phường Phước Trung"
    html = text(client.get(f"/thu-tuc/{world.proc_id}"))
    for expected in ["Đăng ký kết quả thực hiện nhiệm vụ khoa học và công nghệ", "1.004490",
                     "Đơn đề nghị đăng ký (theo mẫu)", "Bản chính", "Báo cáo tổng hợp kết quả", "Bản sao",
                     '<td class="num">2</td>', "10 ngày làm việc (theo quy định: 15 ngày làm việc)",
                     "Không thu phí", "Luật Khoa học và Công nghệ số 29/2013/QH13",
                     "Nộp trực tiếp hoặc qua bưu chính công ích", "198 Bạch Đằng, phường Phước Trung",
                     "Bưu chính công ích", "Trực tuyến", "Bộ phận Một cửa, tầng 1", "data-print", "js/print.js",
                     "css/public.css"]:
        assert expected in html, expected
    css = text(client.get("/static/css/public.css"))
    assert "@media print" in css and ".no-print" in css


# -- look-up: what it reveals and what it never reveals ------------------------------------------------


def test_lookup_shows_status_appointment_public_steps_and_masked_name_only(client, world):
    response = lookup(client, world.a.code, "5678")
    html = text(response)
    assert response.status_code == 200
    assert "Đã trả kết quả" in html and "Nguyễn V** A*" in html and world.a.code in html
    assert world.a.appointment_at.strftime("%H:%M %d/%m/%Y") in html
    steps = re.findall(r'data-event="([a-z_]+)"', html)
    assert steps == ["received", "forwarded", "finished", "handed_over"], "voided and internal events are hidden"
    never = [ID_NUMBER, PHONE, "0912", "345 678", EMAIL, "an.nguyen", ADDRESS, "Trần Hưng Đạo", "Nguyễn Văn An",
             "Văn", "Phòng Quản lý Khoa học", "chuyenvien", "tiepnhan", "lanhdao", *SECRET_NOTES,
             "Yêu cầu bổ sung", "Hủy thao tác",
             world.b.code, "Trần Thị Bình", "Trần T", OTHER["id_number"], OTHER["phone"], OTHER["email"],
             "Nguyễn Huệ"]
    for secret in never:
        assert secret not in html, secret


def test_lookup_of_an_extended_dossier_shows_the_new_appointment_but_not_the_reason(client, world):
    html = text(lookup(client, world.b.code, "5678"))
    assert "Đang xử lý" in html and "Trần T** B***" in html
    # The receipt's appointment, then the one the applicant now holds: the apology's (domain.md §9).
    assert world.b.original_deadline_at.strftime("%H:%M %d/%m/%Y") in html
    assert f'class="new-appointment"><strong>{world.b.appointment_at.strftime("%H:%M %d/%m/%Y")}' in html
    assert world.b.deadline_at == world.b.appointment_at != world.b.original_deadline_at
    for secret in [SECRET_NOTES[4], world.a.code, "Nguyễn", ID_NUMBER, OTHER["id_number"], OTHER["phone"]]:
        assert secret not in html, secret
    assert "rating-form" not in html, "no rating before the result is handed over"


def _normalise(html: str) -> str:
    """Remove the CSRF token and the echoed input (the only parts allowed to differ)."""
    return re.sub(r'(name="(?:csrf_token|ma|so)"[^>]*?value=")[^"]*"', r'\1"', html)


def test_wrong_code_and_wrong_phone_get_the_same_answer(client, world):
    wrong_code = lookup(client, world.a.code[:-4] + "9999", "5678")
    wrong_phone = lookup(client, world.a.code, "1234")
    unknown_both = lookup(client, "KHONG-CO", "0000")
    assert wrong_code.status_code == wrong_phone.status_code == unknown_both.status_code == 200
    assert _normalise(text(wrong_code)) == _normalise(text(wrong_phone)) == _normalise(text(unknown_both))
    assert wrong_code.headers.get("Content-Length") is None or \
        len(_normalise(text(wrong_code))) == len(_normalise(text(wrong_phone)))
    assert "Không tìm thấy hồ sơ khớp" in text(wrong_phone)
    for secret in ["Nguyễn", "Đã trả kết quả", "N** A*"]:
        assert secret not in text(wrong_phone)


def test_lookup_needs_a_csrf_token_and_four_digits(client, world):
    assert client.post("/tra-cuu", data={"ma": world.a.code, "so": "5678"}).status_code == 400
    response = lookup(client, world.a.code, "05678")
    assert response.status_code == 400 and "Nguyễn V** A*" not in text(response)


# -- throttling ---------------------------------------------------------------------------------------


def test_fifty_wrong_lookups_from_one_address_are_throttled(app, client, world):
    statuses = [lookup(client, f"{world.a.code[:-4]}{9000 + n:04d}", "5678").status_code for n in range(50)]
    assert statuses[:10] == [200] * 10
    assert statuses[10:] == [429] * 40
    throttled = lookup(client, world.a.code, "5678")  # even the right answer waits now
    assert throttled.status_code == 429
    assert "tra cứu sai quá nhiều lần" in text(throttled) and "Nguyễn V** A*" not in text(throttled)
    # Another address is not affected; the throttled ones were not even recorded.
    other = lookup(client, world.a.code, "5678", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200 and "Nguyễn V** A*" in text(other)
    with app.app_context():
        assert db.session.scalar(select(func.count(LookupAttempt.id)).where(LookupAttempt.success.is_(False))) == 10


def test_successful_lookups_do_not_count_and_old_failures_expire(app, client, world):
    app.config["PUBLIC_LOOKUP_CODE_MAX_FAILURES"] = 0  # the per-address limit alone (per-code lock: issue 12)
    with app.app_context():
        from tthc.clock import now

        db.session.add_all([LookupAttempt(at=now() - timedelta(minutes=16), ip="127.0.0.1", success=False)
                            for _ in range(30)])
        db.session.commit()
    for _ in range(9):
        assert lookup(client, world.a.code, "0000").status_code == 200
    for _ in range(15):
        assert "Nguyễn V** A*" in text(lookup(client, world.a.code, "5678"))
    assert lookup(client, world.a.code, "0000").status_code == 200  # the 10th failure is still answered
    assert lookup(client, world.a.code, "5678").status_code == 429


def test_rating_with_a_wrong_phone_counts_as_a_failed_lookup(app, client, world):
    app.config["PUBLIC_LOOKUP_CODE_MAX_FAILURES"] = 0  # the per-address limit alone (per-code lock: issue 12)
    for _ in range(10):
        response = rate(client, world.a.code, "0000")
        assert response.status_code == 200 and "Không tìm thấy hồ sơ khớp" in text(response)
    assert rate(client, world.a.code, "5678").status_code == 429
    with app.app_context():
        assert db.session.scalar(select(func.count(Rating.id))) == 0


# -- rating -----------------------------------------------------------------------------------------


def test_handed_over_dossier_can_be_rated_once(app, client, world):
    html = text(lookup(client, world.a.code, "5678"))
    assert "rating-form" in html and "Hài lòng" in html and "Không hài lòng" in html
    response = rate(client, world.a.code, "5678", satisfied="0", comment="Chờ lâu ở quầy")
    assert response.status_code == 200 and "Cảm ơn ông/bà đã đánh giá" in text(response)
    assert "rating-form" not in text(response)
    again = rate(client, world.a.code, "5678", satisfied="1")
    assert again.status_code == 409 and "chỉ được đánh giá một lần" in text(again)
    assert "rating-form" not in text(lookup(client, world.a.code, "5678"))
    with app.app_context():
        ratings = db.session.scalars(select(Rating)).all()
        assert [(r.dossier_id, r.satisfied, r.comment, r.unit_id) for r in ratings] == \
            [(world.a.id, False, "Chờ lâu ở quầy", world.unit_id)]


def test_rating_is_refused_before_hand_over_and_validated(app, client, world):
    early = rate(client, world.b.code, "5678")
    assert early.status_code == 409 and "sau khi đã nhận kết quả" in text(early)
    too_long = rate(client, world.a.code, "5678", comment="x" * 1001)
    assert too_long.status_code == 422 and "tối đa 1000 ký tự" in text(too_long)
    missing = rate(client, world.a.code, "5678", satisfied="")
    assert missing.status_code == 422
    assert client.post("/tra-cuu/danh-gia", data={"ma": world.a.code, "so": "5678", "satisfied": "1"}).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(Rating.id))) == 0
    assert rate(client, world.a.code, "5678", comment="y" * 1000).status_code == 200


# -- the satisfaction rate on the dashboard and in the monthly report ---------------------------------

RATED_NOW = datetime(2026, 3, 20, 10, 0)  # the period 15/03–14/04/2026 ("2026-04")


@pytest.fixture
def rated(app, world):
    """Dossier A rated "not satisfied" and B "satisfied" in the period 2026-04; both of unit QLKH."""
    with app.app_context():
        db.session.add_all([
            Rating(dossier_id=world.a.id, satisfied=False, comment="", created_at=datetime(2026, 3, 20, 9, 0),
                   unit_id=world.unit_id),
            Rating(dossier_id=world.b.id, satisfied=True, comment="", created_at=datetime(2026, 3, 16, 8, 0),
                   unit_id=world.unit_id)])
        db.session.commit()
        db.session.remove()
    return world


def test_dashboard_shows_the_satisfaction_rate_per_unit_in_the_period(app, client, auth, rated, monkeypatch):
    monkeypatch.setattr("deadlines.dashboard.clock_now", lambda: RATED_NOW)
    auth.login("supervisor")
    html = text(client.get("/dashboard"))
    table = re.search(r'<table class="data" id="by-unit">(.*?)</table>', html, re.S).group(1)
    row = re.search(rf'data-key="{rated.unit_id}">(.*?)</tr>', table, re.S).group(1)
    assert 'data-sat="1/2">50,00 %' in row
    total = re.search(r'data-key="total">(.*?)</tr>', table, re.S).group(1)
    assert 'data-sat="1/2">50,00 %' in total
    # The next period has no rating yet: the cell is blank.
    monkeypatch.setattr("deadlines.dashboard.clock_now", lambda: datetime(2026, 4, 20, 10, 0))
    html = text(client.get("/dashboard"))
    assert re.search(r'data-sat="0/0"></td>', html) and "data-sat=\"1/2\"" not in html


def test_monthly_report_has_a_separate_satisfaction_group_per_unit(app, client, auth, rated):
    from tthc.reports import periods, queries
    from tthc.reports.workbook import ReportHeader, summary_workbook

    with app.app_context():
        rows = queries.summary_rows(db.session, periods.parse_period("2026-04"), by="unit")
        unit_row = next(r for r in rows if r.key == rated.unit_id)
        assert unit_row.satisfaction_cells() == [2, 1, 0.5]
        for row in rows + [queries.total_row(rows)]:
            row.check()  # the identities are untouched
        assert queries.total_row(rows).satisfaction_cells() == [2, 1, 0.5]
        march = queries.summary_rows(db.session, periods.parse_period("2026-03"), by="field")
        assert [r.satisfaction_cells() for r in march] == [[0, 0, None]]
        by_field = queries.summary_rows(db.session, periods.parse_period("2026-04"), by="field")
        assert sum(r.rated for r in by_field) == 2
        data = summary_workbook(ReportHeader(parent_agency="UBND", agency="Sở KH&CN", place="Bà Rịa",
                                             report_date=datetime(2026, 4, 15), title="Báo cáo"),
                                "Đơn vị xử lý", rows, queries.total_row(rows))
    import io

    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(data))["Báo cáo"]
    assert ws["Q8"].value == "Mức độ hài lòng" and "Q8:S8" in {str(m) for m in ws.merged_cells.ranges}
    assert (ws["Q9"].value, ws["R9"].value, ws["S9"].value) == ("Số lượt đánh giá", "Hài lòng", "Tỷ lệ hài lòng (%)")
    assert ws["S11"].value == "(19)"
    total_line = next(r for r in range(12, ws.max_row + 1) if ws.cell(r, 2).value == "Tổng cộng")
    assert [ws.cell(total_line, c).value for c in (17, 18, 19)] == [2, 1, 0.5]
    assert ws.cell(total_line, 19).number_format == "0.00%"
    assert ws.print_area.endswith(f"$S${ws.max_row}") or "$S$" in ws.print_area

    auth.login("supervisor")
    html = text(client.get("/reports/?type=summary&period=2026-04&by=unit"))
    assert "Mức độ hài lòng" in html and "Tỷ lệ hài lòng (%)" in html
    assert re.search(r'<th class="num" data-sat="1">2</th>\s*<th class="num" data-sat="2">1</th>\s*'
                     r'<th class="num" data-sat="3">50,00</th>', html)
