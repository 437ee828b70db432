"""The catalog over HTTP: list, search, pagination, detail, the admin form, import and export, permissions."""
from __future__ import annotations

import csv
import io
import os
import re

import openpyxl
import pytest
from sqlalchemy import func, select

from tests.factories import make_procedure, make_unit
from tests.helpers import csrf_token
from tthc.catalog.services import BLANK_LIMIT_REASON
from tthc.extensions import db
from tthc.models import AuditLog, Procedure, ProcedureStep

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "tthc", "data", "procedures_sample.csv")
FIELD = "Hoạt động khoa học và công nghệ"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def seed(app, **kw) -> int:
    with app.app_context():
        p = make_procedure(db.session, **kw)
        db.session.commit()
        return p.id


def seed_unit(app, **kw) -> int:
    with app.app_context():
        unit = make_unit(db.session, **kw)
        db.session.commit()
        return unit.id


def scalar(app, query):
    with app.app_context():
        return db.session.scalar(query)


def audit_count(app, action: str) -> int:
    return scalar(app, select(func.count(AuditLog.id)).where(AuditLog.action == action))


def procedure_count(app) -> int:
    return scalar(app, select(func.count(Procedure.id)))


def upload(client, filename: str, payload: bytes):
    token = csrf_token(client, "/procedures/import")
    return client.post("/procedures/import", data={"csrf_token": token, "file": (io.BytesIO(payload), filename)},
                       content_type="multipart/form-data")


def text(response) -> str:
    return response.get_data(as_text=True)


def form_payload(**kw) -> dict:
    data = {"national_code": "1.900000", "name": "Thủ tục tạo qua biểu mẫu", "field": FIELD, "unit_id": "",
            "limit_unit": "working_days", "statutory_amount": "10", "committed_amount": "", "committed_unit": "",
            "supplement_rule": "restart", "fee": "Không", "online_level": "Toàn trình", "legal_basis": "",
            "effective_date": "", "submission_info": "", "result_location": "", "source": "", "active": "y",
            "inactive_reason": "", "documents": ""}
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


# ---------------------------------------------------------------- permissions

ADMIN_PAGES = ["/procedures/new", "/procedures/{id}/edit", "/procedures/import"]


@pytest.mark.parametrize("role", ["reception", "handler", "supervisor"])
def test_non_admins_get_403_on_the_admin_pages(app, client, auth, role):
    pid = seed(app)
    auth.login(role=role)
    for url in ADMIN_PAGES:
        assert client.get(url.format(id=pid)).status_code == 403, url
    token = csrf_token(client, "/")  # a valid token from a page this role may see
    assert client.post("/procedures/new", data=form_payload(csrf_token=token)).status_code == 403
    assert client.post(f"/procedures/{pid}/edit", data=form_payload(csrf_token=token)).status_code == 403
    response = client.post("/procedures/import", data={"csrf_token": token, "file": (io.BytesIO(b"x"), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 403
    assert procedure_count(app) == 1


@pytest.mark.parametrize("role, status", [("reception", 403), ("handler", 403), ("supervisor", 200), ("admin", 200)])
def test_export_is_for_admins_and_supervisors(app, client, auth, role, status):
    seed(app)
    auth.login(role=role)
    assert client.get("/procedures/export").status_code == status


@pytest.mark.parametrize("role", ["reception", "handler", "supervisor", "admin"])
def test_every_role_can_read_the_list_and_the_detail(app, client, auth, role):
    pid = seed(app, name="Cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ")
    auth.login(role=role)
    assert "Cấp Giấy chứng nhận doanh nghiệp" in text(client.get("/procedures/"))
    assert client.get(f"/procedures/{pid}").status_code == 200
    assert client.get("/procedures/999999").status_code == 404


def test_the_catalog_requires_login(app, client):
    pid = seed(app)
    for url in ["/procedures/", f"/procedures/{pid}", "/procedures/export", "/procedures/import"]:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


@pytest.mark.parametrize("role, visible, hidden", [
    ("admin", ["Thêm thủ tục", "Nhập từ tệp", "Xuất Excel"], []),
    ("supervisor", ["Xuất Excel"], ["Thêm thủ tục", "Nhập từ tệp"]),
    ("reception", [], ["Thêm thủ tục", "Nhập từ tệp", "Xuất Excel"]),
])
def test_list_shows_the_buttons_each_role_may_use(app, client, auth, role, visible, hidden):
    auth.login(role=role)
    page = text(client.get("/procedures/"))
    assert all(label in page for label in visible)
    assert not any(label in page for label in hidden)


def test_a_post_without_csrf_token_is_refused(app, client, auth):
    auth.login(role="admin")
    response = client.post("/procedures/new", data=form_payload())
    assert response.status_code == 400
    assert procedure_count(app) == 0


# ---------------------------------------------------------------- list, search, pagination, detail


def test_search_ignores_case_and_diacritics_and_matches_codes(app, client, auth):
    seed(app, national_code="1.014393.H38", name="Cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ")
    seed(app, national_code="2.000001", name="Thủ tục đánh giá, nghiệm thu nhiệm vụ")
    auth.login(role="reception")
    page = text(client.get("/procedures/?q=chung nhan"))
    assert "Cấp Giấy chứng nhận doanh nghiệp" in page and "nghiệm thu" not in page
    page = text(client.get("/procedures/?q=DOANH+nghiep+GIAY"))  # words in any order
    assert "Cấp Giấy chứng nhận doanh nghiệp" in page
    page = text(client.get("/procedures/?q=014393"))
    assert "Cấp Giấy chứng nhận doanh nghiệp" in page and "nghiệm thu" not in page
    page = text(client.get("/procedures/?q=100%25"))  # a LIKE wildcard is searched literally
    assert "Không có thủ tục nào phù hợp" in page


def test_filter_by_field_and_status_defaults(app, client, auth):
    seed(app, name="Thủ tục sở hữu trí tuệ", field="Sở hữu trí tuệ")
    seed(app, name="Thủ tục khoa học", field=FIELD)
    seed(app, name="Thủ tục chưa áp dụng", field=FIELD, active=False, inactive_reason="Chưa có thời hạn")
    auth.login(role="reception")
    page = text(client.get("/procedures/"))
    assert "Thủ tục khoa học" in page and "Thủ tục chưa áp dụng" not in page  # active only by default
    page = text(client.get("/procedures/?field=Sở hữu trí tuệ"))
    assert "Thủ tục sở hữu trí tuệ" in page and "Thủ tục khoa học" not in page
    assert "Thủ tục chưa áp dụng" in text(client.get("/procedures/?status=inactive"))
    auth.logout()
    auth.login(role="admin")
    assert "Thủ tục chưa áp dụng" in text(client.get("/procedures/"))  # administrators see all


def test_list_paginates_25_per_page(app, client, auth):
    for i in range(30):
        seed(app, name=f"Thủ tục phân trang {i:02d}")
    auth.login(role="reception")
    first = text(client.get("/procedures/?q=phan trang"))
    assert first.count("Thủ tục phân trang") == 25 and "Trang 1 / 2" in first
    assert "page=2" in first and "q=phan+trang" in first
    second = text(client.get("/procedures/?q=phan+trang&page=2"))
    assert second.count("Thủ tục phân trang") == 5 and "Thủ tục phân trang 29" in second
    assert client.get("/procedures/?page=99").status_code == 200


def test_list_shows_the_effective_limit_with_the_statutory_one_in_brackets(app, client, auth):
    seed(app, name="Thủ tục rút ngắn", limit_unit="months", statutory_amount=1,
         committed_amount=20, committed_unit="working_days")
    auth.login(role="reception")
    assert "20 ngày làm việc <span class=\"muted\">(1 tháng)</span>" in text(client.get("/procedures/"))


def test_detail_shows_documents_steps_and_both_limits(app, client, auth):
    unit_a, unit_b = seed_unit(app, name="Phòng Quản lý Khoa học"), seed_unit(app, name="Văn phòng Sở")
    with app.app_context():
        p = make_procedure(db.session, name="Thủ tục liên thông", limit_unit="months", statutory_amount=1,
                           committed_amount=20, committed_unit="working_days", legal_basis="Nghị định 61/2018/NĐ-CP",
                           supplement_rule="pause")
        p.steps.append(ProcedureStep(position=0, name="Thẩm định", unit_id=unit_a, share_amount=15))
        p.steps.append(ProcedureStep(position=1, name="Ký duyệt", unit_id=unit_b, share_amount=5))
        db.session.commit()
        pid = p.id
    auth.login(role="handler")
    page = text(client.get(f"/procedures/{pid}"))
    for expected in ["Đơn đề nghị", "Bản chính", "Bản sao", "Thẩm định", "Phòng Quản lý Khoa học", "Văn phòng Sở",
                     "15 ngày làm việc", "20 ngày làm việc", "1 tháng", "Nghị định 61/2018/NĐ-CP",
                     "Tạm dừng trong thời gian chờ bổ sung"]:
        assert expected in page, expected
    assert "Sửa thủ tục" not in page


# ---------------------------------------------------------------- the administrator's form


def test_admin_creates_a_procedure_with_documents_and_steps(app, client, auth):
    unit_a, unit_b = seed_unit(app), seed_unit(app)
    auth.login(role="admin")
    token = csrf_token(client, "/procedures/new")
    data = form_payload(csrf_token=token, unit_id=str(unit_a), committed_amount="8", committed_unit="working_days",
                        effective_date="2025-07-01",
                        documents="Đơn đề nghị | bản chính | 1\nGiấy phép kinh doanh | bản sao | 2\nẢnh 3x4 | | 2",
                        **{"steps-0-name": "Thẩm định", "steps-0-unit_id": str(unit_a), "steps-0-share_amount": "6",
                           "steps-1-name": "Ký duyệt", "steps-1-unit_id": str(unit_b), "steps-1-share_amount": "2",
                           "steps-2-name": "", "steps-2-unit_id": "", "steps-2-share_amount": ""})
    response = client.post("/procedures/new", data=data)
    assert response.status_code == 302, text(response)[:2000]
    with app.app_context():
        p = db.session.scalar(select(Procedure).where(Procedure.national_code == "1.900000"))
        assert p.name_search == "thu tuc tao qua bieu mau"
        assert [(d.name, d.kind, d.count) for d in p.documents] == [
            ("Đơn đề nghị", "original", 1), ("Giấy phép kinh doanh", "copy", 2), ("Ảnh 3x4", "original", 2)]
        assert [(s.unit_id, s.share_amount) for s in p.steps] == [(unit_a, 6), (unit_b, 2)]
        assert (p.effective_amount, p.effective_unit, p.unit_id) == (8, "working_days", unit_a)
        assert p.effective_date.isoformat() == "2025-07-01"
        assert response.headers["Location"].endswith(f"/procedures/{p.id}")
    assert audit_count(app, "create") == 1
    assert "Thủ tục tạo qua biểu mẫu" in text(client.get(response.headers["Location"]))


@pytest.mark.parametrize("changes, message", [
    ({"name": ""}, "Nhập tên thủ tục."),
    ({"statutory_amount": "mười"}, "“mười” không phải số nguyên dương."),
    ({"limit_unit": "", "statutory_amount": ""}, "chưa thể áp dụng"),
    ({"committed_amount": "15", "committed_unit": "working_days"}, "không được dài hơn thời hạn theo quy định"),
    ({"effective_date": "31/02/2025"}, "không phải ngày hợp lệ"),
    ({"documents": "Đơn đề nghị | bản photo | 1"}, "Dòng 1: loại bản “bản photo” không rõ"),
    ({"documents": "Đơn đề nghị | bản chính | hai"}, "Dòng 1: số lượng “hai”"),
    ({"active": None, "inactive_reason": ""}, "Nhập lý do ngừng áp dụng."),
])
def test_admin_form_rerenders_with_a_vietnamese_message_and_keeps_the_input(app, client, auth, changes, message):
    auth.login(role="admin")
    token = csrf_token(client, "/procedures/new")
    response = client.post("/procedures/new", data=form_payload(csrf_token=token, fee="Phí giữ lại 123", **changes))
    page = text(response)
    assert response.status_code == 422
    assert message in page
    assert "Phí giữ lại 123" in page  # the user's input is kept
    assert procedure_count(app) == 0


def test_admin_form_refuses_steps_that_do_not_sum_to_the_limit(app, client, auth):
    unit = seed_unit(app)
    auth.login(role="admin")
    token = csrf_token(client, "/procedures/new")
    response = client.post("/procedures/new", data=form_payload(
        csrf_token=token, **{"steps-0-name": "Bước một", "steps-0-unit_id": str(unit), "steps-0-share_amount": "3",
                             "steps-1-name": "Bước hai", "steps-1-unit_id": "", "steps-1-share_amount": "4"}))
    page = text(response)
    assert response.status_code == 422
    assert "Bước 2: chọn đơn vị thực hiện." in page and 'value="Bước hai"' in page
    token = csrf_token(client, "/procedures/new")
    response = client.post("/procedures/new", data=form_payload(
        csrf_token=token, **{"steps-0-name": "Bước một", "steps-0-unit_id": str(unit), "steps-0-share_amount": "3"}))
    assert response.status_code == 422
    assert "Tổng thời gian các bước là 3 ngày làm việc, phải bằng thời hạn áp dụng 10 ngày làm việc." in text(response)


def test_admin_edits_a_procedure_and_the_change_is_audited(app, client, auth):
    pid = seed(app, national_code="1.900001", name="Thủ tục cần sửa", statutory_amount=10)
    auth.login(role="admin")
    form = text(client.get(f"/procedures/{pid}/edit"))
    assert "Đơn đề nghị | bản chính | 1" in form and 'value="1.900001"' in form
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    response = client.post(f"/procedures/{pid}/edit", data=form_payload(
        csrf_token=token, national_code="1.900001", name="Thủ tục đã sửa", committed_amount="7",
        committed_unit="working_days", documents="Đơn đề nghị | bản chính | 1"))
    assert response.status_code == 302, text(response)[:2000]
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "update", AuditLog.entity == "procedure"))
        assert entry.entity_id == str(pid)
        assert entry.before["name"] == "Thủ tục cần sửa" and entry.after["name"] == "Thủ tục đã sửa"
        assert entry.before["committed_amount"] is None and entry.after["committed_amount"] == 7
        assert entry.user_id is not None


def test_admin_cannot_reuse_another_procedures_code(app, client, auth):
    seed(app, national_code="1.900002", name="Thủ tục giữ mã")
    pid = seed(app, national_code="1.900003", name="Thủ tục khác")
    auth.login(role="admin")
    token = csrf_token(client, f"/procedures/{pid}/edit")
    response = client.post(f"/procedures/{pid}/edit", data=form_payload(
        csrf_token=token, national_code="1.900002", name="Thủ tục khác"))
    assert response.status_code == 422 and "đã được dùng cho thủ tục “Thủ tục giữ mã”" in text(response)


# ---------------------------------------------------------------- import and export through the UI


def test_importing_the_sample_file_lists_created_and_inactive_rows_with_reasons(app, client, auth):
    with open(SAMPLE, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    blank = [r for r in rows if not r["limit_amount"].strip() and not r["limit_unit"].strip()]
    auth.login(role="admin")
    with open(SAMPLE, "rb") as fh:
        response = upload(client, "procedures_sample.csv", fh.read())
    page = text(response)
    assert response.status_code == 200
    assert f"Thêm mới ({len(rows)})" in page
    assert f"Thủ tục ngừng áp dụng, cần bổ sung ({len(blank)})" in page
    assert "Dòng bị từ chối (0)" in page
    inactive_section = page.split('id="inactive"')[1].split("</section>")[0]
    assert inactive_section.count(BLANK_LIMIT_REASON) == len(blank)
    for r in blank:
        assert r["name"] in inactive_section
    assert procedure_count(app) == len(rows)
    assert scalar(app, select(func.count(Procedure.id)).where(Procedure.active.is_(False))) == len(blank)
    assert audit_count(app, "import_create") == len(rows) and audit_count(app, "import") == 1

    again = text(upload(client, "procedures_sample.csv", open(SAMPLE, "rb").read()))
    assert "Thêm mới (0)" in again and f"Không thay đổi ({len(rows)})" in again
    assert procedure_count(app) == len(rows)


def test_import_lists_rejected_rows_with_line_numbers_and_reasons(app, client, auth):
    payload = ("national_code,name,field,limit_amount,limit_unit,fee,online_level,source\n"
               f"1.910000,Thủ tục tốt,{FIELD},5,working_days,,,\n"
               f"1.910001,Thủ tục xấu,{FIELD},năm,working_days,,,\n"
               f"1.910000,Thủ tục lặp,{FIELD},5,working_days,,,\n").encode()
    auth.login(role="admin")
    page = text(upload(client, "sai.csv", payload))
    rejected = page.split('id="rejected"')[1].split("</section>")[0]
    assert "Dòng bị từ chối (2)" in page
    assert "limit_amount: “năm” không phải số nguyên" in rejected
    assert "Trùng mã TTHC “1.910000” với dòng 2." in rejected
    assert '<td class="num">3</td>' in rejected and '<td class="num">4</td>' in rejected
    assert procedure_count(app) == 1


def test_a_file_level_error_is_flashed_and_nothing_is_written(app, client, auth):
    auth.login(role="admin")
    response = upload(client, "danh-muc.docx", b"whatever")
    assert response.status_code == 400
    assert "chỉ nhận tệp .csv (UTF-8) hoặc .xlsx" in text(response)
    response = upload(client, "danh-muc.csv", "mã,tên\n1,Thủ tục\n".encode())
    assert response.status_code == 400 and "Tệp thiếu cột bắt buộc" in text(response)
    assert procedure_count(app) == 0 and audit_count(app, "import") == 0


def test_import_without_a_file_asks_for_one(app, client, auth):
    auth.login(role="admin")
    token = csrf_token(client, "/procedures/import")
    response = client.post("/procedures/import", data={"csrf_token": token}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Chọn tệp .xlsx hoặc .csv để nhập." in text(response)


def test_xlsx_upload_is_imported(app, client, auth):
    wb = openpyxl.Workbook()
    wb.active.append(["national_code", "name", "field", "limit_amount", "limit_unit", "fee", "online_level", "source"])
    wb.active.append(["1.920000", "Thủ tục từ Excel", FIELD, 15, "working_days", "Không", "Mức độ 3", "http://x"])
    buf = io.BytesIO()
    wb.save(buf)
    auth.login(role="admin")
    page = text(upload(client, "danh-muc.xlsx", buf.getvalue()))
    assert "Thêm mới (1)" in page
    assert scalar(app, select(Procedure.online_level).where(Procedure.national_code == "1.920000")) == "Một phần"


def test_export_sends_an_xlsx_that_reimports_without_creating_anything(app, client, auth):
    seed(app, national_code="1.930000", name='=HYPERLINK("http://x","bấm")', fee="+1")
    seed(app, national_code=None, name="Thủ tục không mã", limit_unit="none", statutory_amount=None)
    auth.login(role="admin")
    response = client.get("/procedures/export")
    assert response.status_code == 200 and response.mimetype == XLSX_MIME
    assert "danh-muc-thu-tuc.xlsx" in response.headers["Content-Disposition"]
    assert audit_count(app, "export") == 1
    ws = openpyxl.load_workbook(io.BytesIO(response.data)).worksheets[0]
    names = {c.value: c for c in ws["B"][1:]}
    cell = names['=HYPERLINK("http://x","bấm")']
    assert cell.data_type == "s"  # text, not a formula
    page = text(upload(client, "danh-muc-thu-tuc.xlsx", response.data))
    assert "Thêm mới (0)" in page and "Cập nhật (0)" in page and "Dòng bị từ chối (0)" in page
    assert procedure_count(app) == 2
