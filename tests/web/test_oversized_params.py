"""Oversized integers in query strings, form fields and URLs never give a 500.

``99999999999999999999`` does not fit a database INTEGER: passed to a query it raised
OverflowError on SQLite and "integer out of range" on PostgreSQL. Every request id and
page now goes through tthc.params: an out-of-range id behaves like an unknown one, a huge
page like a page past the end. Run on both backends (the ``app`` fixture).
"""
from __future__ import annotations

import pytest

from tests.helpers import csrf_token
from tests.web.test_intake_pages import desk, login, new_dossier_form, post_desk, post_event, post_new, receive  # noqa: F401
from tthc.auth import hash_token
from tthc.extensions import db
from tthc.models import ApiToken
from tthc.params import MAX_ID, MAX_PAGE, parse_filter_id, parse_id, parse_int, parse_page

HUGE = "99999999999999999999"

# (role, url); role None = anonymous
GETS = [
    (None, f"/thu-tuc?page={HUGE}"),
    (None, f"/thu-tuc/{HUGE}"),
    ("supervisor", f"/procedures/?page={HUGE}"),
    ("supervisor", f"/procedures/{HUGE}"),
    ("admin", f"/procedures/{HUGE}/edit"),
    ("supervisor", f"/dossiers/?unit={HUGE}"),
    ("supervisor", f"/dossiers/?procedure={HUGE}"),
    ("supervisor", f"/dossiers/?page={HUGE}"),
    ("supervisor", f"/dossiers/?unit={HUGE}&procedure={HUGE}&page={HUGE}"),
    ("reception", f"/dossiers/preview?procedure_id={HUGE}"),
    ("reception", f"/dossiers/new?procedure_id={HUGE}"),
    ("reception", f"/dossiers/desk/?page={HUGE}"),
    ("reception", f"/dossiers/desk/{HUGE}/slip"),
    ("supervisor", f"/dashboard?unit={HUGE}"),
    ("supervisor", f"/alerts?page={HUGE}"),
    ("supervisor", f"/reports/?period=2026-03&unit={HUGE}"),
    ("supervisor", f"/calendar/?year={HUGE}"),
    ("admin", f"/admin/users/{HUGE}"),
    ("admin", f"/admin/units/{HUGE}"),
]


@pytest.mark.parametrize("role, url", GETS, ids=[u for _, u in GETS])
def test_a_huge_number_in_a_get_is_never_a_server_error(client, auth, role, url):
    if role:
        auth.login(role)
    response = client.get(url)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]


def test_out_of_range_ids_behave_like_unknown_ones(client, auth):
    assert client.get(f"/thu-tuc/{HUGE}").status_code == 404
    auth.login("reception")
    response = client.get(f"/dossiers/preview?procedure_id={HUGE}")
    assert response.status_code == 404 and response.json["error"] == "Không tìm thấy thủ tục."
    auth.logout()
    auth.login("supervisor")
    assert client.get(f"/procedures/{HUGE}").status_code == 404
    html = client.get(f"/reports/?period=2026-03&unit={HUGE}").get_data(as_text=True)
    assert "Đơn vị không tồn tại." in html


def test_a_huge_page_is_an_empty_page_past_the_end(client, auth):
    assert client.get(f"/thu-tuc?page={HUGE}").status_code == 200
    auth.login("supervisor")
    for url in (f"/procedures/?page={HUGE}", f"/dossiers/?page={HUGE}", f"/alerts?page={HUGE}"):
        assert client.get(url).status_code == 200, url


def test_acknowledging_a_huge_alert_id_acknowledges_nothing(client, auth):
    auth.login("supervisor")
    token = csrf_token(client, "/alerts")
    response = client.post("/alerts/ack", data={"csrf_token": token, "alert_id": [HUGE, "12", "abc"]})
    assert response.status_code == 302
    assert "Đã xác nhận 0 cảnh báo." in client.get("/alerts").get_data(as_text=True)


def test_the_alerts_api_answers_a_huge_page_with_a_json_error(app, client):
    with app.app_context():
        user_id = auth_user(app)
        db.session.add(ApiToken(user_id=user_id, token_hash=hash_token("tok-huge"), name="t"))
        db.session.commit()
    headers = {"Authorization": "Bearer tok-huge"}
    for query in (f"page={HUGE}", f"per_page={HUGE}", "page=abc", "page=0"):
        response = client.get(f"/api/v1/alerts?{query}", headers=headers)
        assert response.status_code == 400, query
        assert response.json["error"]["field"] in ("page", "per_page")
    assert client.get(f"/api/v1/alerts?page={MAX_PAGE}", headers=headers).json["items"] == []


def auth_user(app) -> int:
    from tests.factories import make_user

    return make_user(db.session, role="supervisor", username="api-huge").id


def test_huge_ids_in_intake_forms_are_refused_with_a_message(app, client, auth, desk):  # noqa: F811
    login(auth, "tiepnhan")
    response = post_new(client, new_dossier_form(desk, procedure_id=HUGE, loaded_procedure=HUGE))
    assert response.status_code < 500
    response = post_desk(client, kind="guidance", applicant_name="Lê Văn Bình", procedure_id=HUGE,
                         reason="Thiếu giấy tờ")
    assert response.status_code < 500
    code = receive(app, desk)
    response = post_event(client, code, "forwarded", 1, unit_id=HUGE, note="Chuyển")
    assert response.status_code == 422
    assert "Đơn vị không tồn tại." in response.get_data(as_text=True)


def test_a_huge_unit_id_in_the_catalog_form_is_refused_with_a_message(client, auth):
    auth.login("admin")
    token = csrf_token(client, "/procedures/new")
    response = client.post("/procedures/new", data={
        "csrf_token": token, "national_code": "1.999999", "name": "Thủ tục thử", "field": "Thử nghiệm",
        "unit_id": HUGE, "limit_unit": "working_days", "statutory_amount": HUGE + HUGE, "active": "y",
        "documents": f"Đơn | bản chính | {HUGE}"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Đơn vị xử lý không tồn tại." in html and "quá lớn" in html


# -- the helpers -----------------------------------------------------------------------------------


def test_parse_id_bounds_to_a_database_integer():
    assert parse_id("1") == 1 and parse_id(" 42 ") == 42 and parse_id(7) == 7
    assert parse_id(str(MAX_ID)) == MAX_ID
    for bad in (None, "", "0", "-1", "abc", "1.5", str(MAX_ID + 1), HUGE, "9" * 5000, "١٢", True, 0, MAX_ID + 1):
        assert parse_id(bad) is None, bad


def test_parse_page_clamps_and_never_fails():
    assert parse_page(None) == 1 and parse_page("") == 1 and parse_page("abc") == 1 and parse_page("-3") == 1
    assert parse_page("0") == 1 and parse_page("3") == 3
    assert parse_page(HUGE) == MAX_PAGE and parse_page("9" * 5000) == MAX_PAGE
    assert parse_page(str(MAX_PAGE + 1)) == MAX_PAGE


def test_parse_filter_id_ignores_junk_and_makes_impossible_ids_match_nothing():
    assert parse_filter_id(None) is None and parse_filter_id("") is None and parse_filter_id("abc") is None
    assert parse_filter_id("5") == 5
    assert parse_filter_id(HUGE) == 0 and parse_filter_id("0") == 0


def test_parse_int_range():
    assert parse_int("100", 1, 100) == 100 and parse_int("101", 1, 100) is None and parse_int("0", 1, 100) is None
