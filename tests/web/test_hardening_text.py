"""Issue 12, items 5–8: text no page or database can hold is refused at the boundary (API and
forms: 422 naming the field; query parameters: 400), the catalog export survives what is
already stored, and catalog workbooks are parsed safely and within bounds. SQLite and PostgreSQL."""
from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest
from sqlalchemy import select, update

from tests.factories import make_procedure
from tests.helpers import csrf_token
from tests.web.test_api import api  # noqa: F401  (fixture)
from tests.web.test_catalog import form_payload, upload
from tthc.extensions import db
from tthc.models import Procedure

SURROGATE = "\ud800"


# -- item 5: lone surrogates -----------------------------------------------------------------


@pytest.mark.parametrize("change, field", [
    ({"documents": [{"name": "Đơn " + SURROGATE, "kind": "original", "count": 1}]}, "documents[0].name"),
    ({"applicant": {"kind": "individual", "name": "A" + SURROGATE, "id_number": "048190004321"}}, "applicant.name"),
    ({"request_summary": SURROGATE}, "request_summary"),
    ({"reception_point": "x\x00y"}, "reception_point"),
])
def test_the_api_refuses_unencodable_text_with_a_422_naming_the_field(api, change, field):
    response = api.receive(**change)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"]["field"] == field
    assert api.call("GET", "/dossiers").get_json()["total"] == 0


def test_an_event_note_with_a_surrogate_is_refused_and_the_dossier_page_still_renders(api, app, client, auth):
    code = api.receive().get_json()["code"]
    response = api.event(code, "reception", type="forwarded", note="ghi chú " + SURROGATE)
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "note"
    auth.login("reception")
    assert client.get(f"/dossiers/{code}").status_code == 200


def test_a_surrogate_already_stored_never_breaks_a_page(api, app, client, auth):
    """Rows stored before the boundary refused them (repaired by a migration, see
    test_hardening_audit.py) still render: every template value is made encodable."""
    code = api.receive().get_json()["code"]
    with app.app_context():
        from tthc.models import Dossier

        db.session.execute(update(Dossier).where(Dossier.code == code).values(
            documents=[{"name": "Đơn " + SURROGATE, "kind": "original", "count": 1}]))
        db.session.commit()
    auth.login("reception")
    for url in (f"/dossiers/{code}", f"/dossiers/{code}/receipt", f"/dossiers/{code}/correct"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Đơn \ufffd" in response.get_data(as_text=True), url


# -- item 6: NUL and control characters in forms and query strings ------------------------------


def test_nul_in_public_pages_is_a_clear_400_or_422_not_a_500(app, client):
    response = client.get("/thu-tuc?q=a%00b")
    assert response.status_code == 400
    assert "ký tự không hợp lệ" in response.get_data(as_text=True) and "“q”" in response.get_data(as_text=True)
    token = csrf_token(client, "/tra-cuu")
    response = client.post("/tra-cuu", data={"csrf_token": token, "ma": "X-1\x00", "so": "1234"})
    assert response.status_code == 422 and "“ma”" in response.get_data(as_text=True)
    assert client.get("/tra-cuu?ma=%01").status_code == 400


def test_control_characters_in_staff_forms_and_filters_are_refused_naming_the_field(app, client, auth, api):
    auth.login("reception")
    assert client.get("/dossiers/?q=ab%00").status_code == 400
    assert client.get("/dossiers/X%00Y").status_code == 404
    token = csrf_token(client, "/dossiers/new")
    response = client.post("/dossiers/new", data={"csrf_token": token, "procedure_id": str(api.ids["procedure"]),
                                                  "applicant_name": "Lê\x07 Văn", "channel": "direct"})
    assert response.status_code == 422
    assert "“applicant_name”" in response.get_data(as_text=True)


def test_nul_in_api_query_and_path_is_a_json_error(api):
    assert api.call("GET", "/dossiers", path="/dossiers?q=a%00b").status_code == 400
    assert api.call("GET", "/procedures", path="/procedures?q=%00").status_code == 400
    assert api.call("GET", "/dossiers/{code}", path="/dossiers/X%00").status_code == 404


# -- item 7: the catalog ----------------------------------------------------------------------


def test_control_characters_are_refused_by_the_catalog_form_and_import(app, client, auth):
    auth.login("admin")
    token = csrf_token(client, "/procedures/new")
    response = client.post("/procedures/new", data=form_payload(csrf_token=token, name="Thủ tục\x0b mới"))
    assert response.status_code == 422 and "“name”" in response.get_data(as_text=True)
    csv = ("national_code,name,field,limit_amount,limit_unit,fee,online_level,source\n"
           "1.990001,Thủ tục\x01 lỗi,Lĩnh vực,10,working_days,Không,,\n"
           "1.990002,Thủ tục tốt,Lĩnh vực,10,working_days,Không,,\n").encode()
    page = upload(client, "danh-muc.csv", csv).get_data(as_text=True)
    assert "Cột name chứa ký tự không hợp lệ" in page
    with app.app_context():
        assert set(db.session.scalars(select(Procedure.national_code))) == {"1.990002"}


def test_the_catalog_export_survives_a_control_character_already_stored(app, client, auth):
    with app.app_context():
        make_procedure(db.session, national_code="1.990003", name="Thủ tục\x01 cũ", fee="Phí\x1f")
        db.session.commit()
    auth.login("admin")
    response = client.get("/procedures/export")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert "Thủ tục cũ" in [c.value for c in sheet[2]]


# -- item 8: catalog workbooks parsed safely and within bounds ------------------------------------


def _workbook(rows: list[list]) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


HEADER = ["national_code", "name", "field", "limit_amount", "limit_unit", "fee", "online_level", "source"]
ROW = ["1.990010", "Thủ tục Excel", "Lĩnh vực", 10, "working_days", "Không", "", ""]


def _rewrite_sheet(data: bytes, change) -> bytes:
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = change(content)
            dst.writestr(info, content)
    return out.getvalue()


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>')


@pytest.mark.parametrize("change, message", [
    (lambda c: BILLION_LAUGHS + c.split(b"?>", 1)[-1], "DTD"),
    (lambda c: c[: len(c) // 2], "Không đọc được tệp Excel"),
    (lambda c: c.replace(b"<sheetData>", b"<sheetData><row r=\"1\"><c r=\"A1\" t=\"x\"><v>", 1), "Không đọc được tệp Excel"),
])
def test_malformed_or_dtd_bearing_sheet_xml_is_refused_with_a_clear_message(app, client, auth, change, message):
    auth.login("admin")
    bad = _rewrite_sheet(_workbook([HEADER, ROW]), change)
    response = upload(client, "danh-muc.xlsx", bad)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Procedure.id)) is None


def test_a_sheet_claiming_the_whole_grid_reads_only_the_catalog_columns(app, client, auth):
    wide = _rewrite_sheet(_workbook([HEADER, ROW]), lambda c: re.sub(
        rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', c))
    auth.login("admin")
    response = upload(client, "danh-muc.xlsx", wide)
    assert response.status_code == 200 and "Thêm mới (1)" in response.get_data(as_text=True)


def test_reading_a_workbook_is_bounded_in_time(app, client, auth):
    app.config["CATALOG_IMPORT_SECONDS"] = 0
    auth.login("admin")
    response = upload(client, "danh-muc.xlsx", _workbook([HEADER] + [ROW] * 300))
    assert response.status_code == 400 and "Đọc tệp quá 0 giây" in response.get_data(as_text=True)
