"""The JSON API through real HTTP (the Flask test client): bearer tokens, every endpoint's happy
path, the error conventions of domain.md §8, masking of personal data (Decree 13/2023), and every
response body validated against the OpenAPI document served at /api/v1/openapi.json.
"""
from __future__ import annotations

import re
from datetime import timedelta

import jsonschema
import pytest
from werkzeug.security import generate_password_hash

from intake import services
from tests.factories import make_procedure, make_unit
from tthc.accounts import issue_token, revoke_tokens
from tthc.clock import now as clock_now
from tthc.extensions import db
from tthc.models import User

BASE = "/api/v1"
APPLICANT = {"kind": "individual", "name": "Phạm Thị Cúc", "id_number": "048190004321", "phone": "0905123456",
             "email": "cuc@example.vn", "address": "5 Trần Phú, Hải Châu, Đà Nẵng"}
ISO_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+07:00$")


class Api:
    """Calls the API with a role's token and validates every response against the OpenAPI document."""

    def __init__(self, client, spec, tokens, ids):
        self.client, self.spec, self.tokens, self.ids = client, spec, tokens, ids

    def call(self, method: str, template: str, role: str | None = "reception", *, path: str | None = None,
             token: str | None = None, **kw):
        headers = kw.pop("headers", {})
        if token is None and role is not None:
            token = self.tokens[role]
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = self.client.open(BASE + (path or template), method=method, headers=headers, **kw)
        check_against_spec(self.spec, method, template, response)
        return response

    def receive(self, role: str = "reception", **body):
        payload = {"procedure_id": self.ids["procedure"], "applicant": dict(APPLICANT), "channel": "direct"}
        payload.update(body)
        return self.call("POST", "/dossiers", role, json=payload)

    def event(self, code: str, role: str, **body):
        return self.call("POST", "/dossiers/{code}/events", role, path=f"/dossiers/{code}/events", json=body)


def check_against_spec(spec: dict, method: str, template: str, response) -> None:
    """The response's status is documented for the operation and its body matches the schema."""
    operation = spec["paths"].get(template, {}).get(method.lower())
    if operation is None:  # unknown route or method: still a JSON error
        assert response.status_code in (404, 405)
        schema = spec["components"]["schemas"]["Error"]
    else:
        entry = operation["responses"].get(str(response.status_code))
        assert entry is not None, f"{method} {template}: status {response.status_code} is not documented"
        if "$ref" in entry:
            entry = spec["components"]["responses"][entry["$ref"].rsplit("/", 1)[1]]
        for header in entry.get("headers", {}):
            assert header in response.headers, f"{method} {template}: header {header} missing"
        schema = entry["content"]["application/json"]["schema"]
    assert response.mimetype == "application/json"
    validator = jsonschema.Draft202012Validator({**schema, "components": spec["components"]},
                                                format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(response.get_json()), key=lambda e: list(e.path))
    assert not errors, f"{method} {template} {response.status_code}: {errors[0].message} at {list(errors[0].path)}"


_HASH: list[str] = []


def _user(session, role, username, unit=None, head=False):
    if not _HASH:
        _HASH.append(generate_password_hash("unused-password", method="scrypt"))
    user = User(username=username, full_name=username, role=role, unit=unit, active=True, is_unit_head=head,
                password_hash=_HASH[0])
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def api(app, client):
    with app.app_context():
        s = db.session
        desk_unit = make_unit(s, code="MOTCUA")
        unit_a, unit_b = make_unit(s, code="QLKH"), make_unit(s, code="QLCN")
        users = {
            "reception": _user(s, "reception", "tiepnhan", desk_unit),
            "handler": _user(s, "handler", "chuyenvien", unit_a, head=True),
            "handler_b": _user(s, "handler", "chuyenvienb", unit_b),
            "supervisor": _user(s, "supervisor", "lanhdao"),
            "admin": _user(s, "admin", "quantri"),
        }
        procedure = make_procedure(s, unit_id=unit_a.id, committed_amount=7, committed_unit="working_days",
                                   statutory_amount=10)
        inactive = make_procedure(s, active=False)
        tokens = {role: issue_token(s, user) for role, user in users.items()}
        ids = {"procedure": procedure.id, "inactive": inactive.id, "unit_a": unit_a.id, "unit_b": unit_b.id,
               "desk": desk_unit.id}
        s.commit()
    spec = client.get(f"{BASE}/openapi.json").get_json()
    return Api(client, spec, tokens, ids)


def past(hours: int) -> str:
    """A reception time ``hours`` before now, minute precision, without offset (YYYY-MM-DDTHH:MM)."""
    return (clock_now() - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


# -- authentication ------------------------------------------------------------------


def test_every_endpoint_answers_401_json_without_a_valid_token(api, app):
    for method, template, path in [("GET", "/procedures", None), ("GET", "/units", None), ("GET", "/dossiers", None),
                                   ("POST", "/dossiers", None), ("GET", "/dossiers/{code}", "/dossiers/X"),
                                   ("POST", "/dossiers/{code}/events", "/dossiers/X/events")]:
        for token in (None, "not-a-token"):
            response = api.call(method, template, None, path=path, token=token, json={})
            assert response.status_code == 401, (method, template)
            assert response.get_json()["error"]["code"] == "unauthorized"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    with app.app_context():
        user = db.session.query(User).filter_by(username="tiepnhan").one()
        revoke_tokens(db.session, user)
        db.session.commit()
    assert api.call("GET", "/units").status_code == 401


def test_the_openapi_document_is_public_and_describes_every_api_route(api, app):
    spec = api.spec
    assert spec["openapi"].startswith("3.1") and spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    documented = {(m.upper(), "/api/v1" + p.replace("{code}", "<code>")) for p, ops in spec["paths"].items() for m in ops}
    routes = {(m, r.rule) for r in app.url_map.iter_rules() if r.endpoint.startswith("api.") and r.endpoint != "api.openapi"
              for m in r.methods - {"HEAD", "OPTIONS"}}
    assert documented == routes


# -- catalog -------------------------------------------------------------------------


def test_procedures_expose_the_effective_statutory_and_committed_limits(api):
    body = api.call("GET", "/procedures", "handler").get_json()
    assert body["total"] == 1 and body["page"] == 1
    [proc] = body["items"]
    assert proc["id"] == api.ids["procedure"]
    assert (proc["limit_unit"], proc["limit_amount"]) == ("working_days", 7)
    assert (proc["statutory_unit"], proc["statutory_amount"]) == ("working_days", 10)
    assert (proc["committed_unit"], proc["committed_amount"]) == ("working_days", 7)
    assert api.call("GET", "/procedures", path="/procedures?q=TH%E1%BB%A6%20tuc").get_json()["total"] == 1


def test_units_are_listed_with_id_and_name(api):
    body = api.call("GET", "/units", "admin").get_json()
    assert {u["id"] for u in body["items"]} == {api.ids["unit_a"], api.ids["unit_b"], api.ids["desk"]}
    assert all(u["name"] for u in body["items"])


# -- dossiers ------------------------------------------------------------------------


def test_posting_a_dossier_answers_201_with_location_and_the_same_body_as_get(api):
    response = api.receive(received_at=past(2), sets=2, request_summary="Cấp giấy chứng nhận",
                           documents=[{"name": "Đơn đề nghị", "kind": "original", "count": 1}])
    assert response.status_code == 201
    body = response.get_json()
    assert re.fullmatch(r".+-\d{6}-0001", body["code"]) and body["status"] == "received"
    assert response.headers["Location"].endswith(f"/api/v1/dossiers/{body['code']}")
    again = api.call("GET", "/dossiers/{code}", path=f"/dossiers/{body['code']}").get_json()
    assert again == body
    assert body["applicant"]["id_number"] == "048190004321" and body["applicant"]["phone"] == "0905123456"
    assert body["sets"] == 2 and body["documents"] == [{"name": "Đơn đề nghị", "kind": "original", "count": 1}]
    assert body["limit_amount"] == 7 and body["deadline"] == body["original_deadline"] == body["appointment_at"]
    for key in ("received_at", "deadline", "forwarding_deadline"):
        assert ISO_OFFSET.match(body[key]), body[key]
    assert [e["type"] for e in body["events"]] == ["received"] and body["events"][0]["user"] == "tiepnhan"
    assert body["classification"] is None and body["version"] == 1


def test_a_dossier_with_an_external_code_keeps_it(api):
    body = api.receive(code="HCC-2026-000777", reception_point="Trung tâm PVHCC").get_json()
    assert body["code"] == "HCC-2026-000777" and body["external_code"] is True
    assert api.receive(code="HCC-2026-000777").status_code == 409


def test_times_are_accepted_with_or_without_an_offset(api):
    at = clock_now() - timedelta(hours=3)
    utc = (at - timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:00Z")
    body = api.receive(received_at=utc).get_json()
    assert body["received_at"] == at.strftime("%Y-%m-%dT%H:%M:00+07:00")


def test_the_journey_forward_finish_hand_over_through_the_api(api):
    body = api.receive(received_at=past(5)).get_json()
    code = body["code"]
    forwarded = api.event(code, "reception", type="forwarded", version=body["version"], at=past(4))
    assert forwarded.status_code == 201 and forwarded.headers["Location"].endswith(code)
    body = forwarded.get_json()
    assert body["status"] == "in_progress" and body["current_unit_id"] == api.ids["unit_a"]
    body = api.event(code, "handler", type="finished", result="approved", version=body["version"]).get_json()
    assert body["status"] == "finished" and body["result"] == "approved" and body["classification"] in ("early",
                                                                                                        "on_time")
    body = api.event(code, "reception", type="handed_over", version=body["version"]).get_json()
    assert body["status"] == "handed_over" and body["handed_over_at"]
    assert [e["type"] for e in body["events"]] == ["received", "forwarded", "finished", "handed_over"]


def test_extension_and_supplement_events_through_the_api(api):
    code = api.receive(received_at=past(5)).get_json()["code"]
    api.event(code, "reception", type="forwarded")
    body = api.event(code, "handler", type="supplement_requested", note="Bổ sung bản sao",
                     documents_to_add=["Bản sao CCCD"]).get_json()
    assert body["status"] == "awaiting_supplement"
    body = api.event(code, "supervisor", type="extended",
                     new_deadline=(clock_now() + timedelta(days=60)).strftime("%Y-%m-%dT17:00:00+07:00")).get_json()
    assert body["extended"] and body["deadline"] != body["original_deadline"]
    assert api.event(code, "reception", type="supplement_received").get_json()["status"] == "in_progress"
    again = api.event(code, "supervisor", type="extended",
                      new_deadline=(clock_now() + timedelta(days=90)).strftime("%Y-%m-%dT17:00"))
    assert again.status_code == 409


def test_illegal_transitions_and_stale_versions_answer_409_with_the_reason(api):
    body = api.receive().get_json()
    code = body["code"]
    refused = api.event(code, "reception", type="handed_over")
    assert refused.status_code == 409 and "kết quả" in refused.get_json()["error"]["message"]
    api.event(code, "reception", type="forwarded", version=1)
    stale = api.event(code, "reception", type="withdrawn", note="Rút", version=1)
    assert stale.status_code == 409 and stale.get_json()["error"]["field"] == "version"


def test_roles_are_enforced_and_other_units_dossiers_are_404(api):
    assert api.receive("handler").status_code == 403
    assert api.receive("supervisor").status_code == 403
    code = api.receive().get_json()["code"]
    api.event(code, "reception", type="forwarded")
    assert api.event(code, "admin", type="cancelled", note="x").status_code == 403
    assert api.event(code, "reception", type="finished", result="approved").status_code == 403
    assert api.call("GET", "/dossiers/{code}", "handler_b", path=f"/dossiers/{code}").status_code == 404
    assert api.event(code, "handler_b", type="finished", result="approved").status_code == 404
    assert api.call("GET", "/dossiers", "handler_b").get_json()["total"] == 0
    assert api.call("GET", "/dossiers", "handler").get_json()["total"] == 1


def test_id_numbers_and_phones_are_masked_except_for_reception_and_supervisors(api):
    code = api.receive().get_json()["code"]
    api.event(code, "reception", type="forwarded")
    for role, masked in (("reception", False), ("supervisor", False), ("handler", True), ("admin", True)):
        one = api.call("GET", "/dossiers/{code}", role, path=f"/dossiers/{code}").get_json()["applicant"]
        listed = api.call("GET", "/dossiers", role).get_json()["items"][0]["applicant"]
        for applicant in (one, listed):
            if masked:
                assert applicant["id_number"] == "*********321" and applicant["phone"] == "*******456", role
            else:
                assert applicant["id_number"] == "048190004321" and applicant["phone"] == "0905123456", role


def test_the_list_filters_by_status_unit_and_received_dates_and_pages(api):
    old = api.receive(received_at="2026-01-05T09:00").get_json()["code"]
    new = api.receive(received_at=past(1)).get_json()["code"]
    api.event(new, "reception", type="forwarded")

    def codes(query):
        body = api.call("GET", "/dossiers", "supervisor", path="/dossiers" + query).get_json()
        return [d["code"] for d in body["items"]], body["total"]

    assert codes("") == ([new, old], 2)
    assert codes("?status=in_progress") == ([new], 1)
    assert codes(f"?unit={api.ids['unit_a']}")[1] == 2
    assert codes(f"?unit={api.ids['unit_b']}")[1] == 0
    assert codes("?from=2026-01-05&to=2026-01-05") == ([old], 1)
    assert codes("?to=2026-01-04") == ([], 0)
    assert codes("?page=2&per_page=1") == ([old], 2)
    assert codes("?page=1000000&per_page=100") == ([], 2)
    assert "items" in api.call("GET", "/dossiers", path="/dossiers?overdue=true&due_soon=false&q=cuc").get_json()


def test_the_dossier_list_counts_exactly_up_to_a_cap_and_says_when_more_match(api, monkeypatch):
    from intake import services

    for _ in range(3):
        api.receive()
    monkeypatch.setattr(services, "COUNT_CAP", 2)
    body = api.call("GET", "/dossiers", "supervisor", path="/dossiers?per_page=1").get_json()
    assert (body["total"], body["total_exact"], len(body["items"])) == (2, False, 1)
    body = api.call("GET", "/dossiers", "supervisor", path="/dossiers?per_page=2&page=2").get_json()
    assert (body["total"], body["total_exact"], len(body["items"])) == (3, True, 1)  # counted up to the page asked
    monkeypatch.setattr(services, "COUNT_CAP", 3)
    body = api.call("GET", "/dossiers", "supervisor", path="/dossiers?per_page=1").get_json()
    assert (body["total"], body["total_exact"]) == (3, True)


@pytest.mark.parametrize("query, field", [
    ("page=0", "page"), ("page=", "page"), ("from=", "from"), ("page=abc", "page"), ("page=99999999999999999999", "page"), ("per_page=101", "per_page"),
    ("status=lost", "status"), ("unit=-1", "unit"), ("unit=1.5", "unit"), ("from=2026-02-30", "from"),
    ("to=yesterday", "to"), ("overdue=maybe", "overdue"), ("channel=fax", "channel"),
])
def test_malformed_list_parameters_answer_400_naming_the_parameter(api, query, field):
    response = api.call("GET", "/dossiers", path=f"/dossiers?{query}")
    assert response.status_code == 400 and response.get_json()["error"]["field"] == field


@pytest.mark.parametrize("body, status, field", [
    ({"procedure_id": "1"}, 422, "procedure_id"),
    ({"procedure_id": True}, 422, "procedure_id"),
    ({"procedure_id": 999999}, 422, "procedure_id"),
    ({"procedure_id": 10**30}, 422, "procedure_id"),
    ({"procedure_id": "inactive"}, 422, "procedure_id"),
    ({"applicant": ["x"]}, 422, "applicant"),
    ({"applicant": {"name": "A", "id_number": 123}}, 422, "applicant.id_number"),
    ({"channel": 1}, 422, "channel"),
    ({"channel": "fax"}, 422, "channel"),
    ({"sets": "2"}, 422, "sets"),
    ({"sets": 2.5}, 422, "sets"),
    ({"documents": "all"}, 422, "documents"),
    ({"documents": [{"name": "Đơn", "count": "1"}]}, 422, "documents[0].count"),
    ({"documents": [{"name": "Đơn", "kind": False}]}, 422, "documents[0].kind"),
    ({"documents": [{"name": "Đơn", "kind": ["copy"]}]}, 422, "documents[0].kind"),
    ({"applicant": {"kind": "", "name": "A", "id_number": "001090012345"}}, 422, "applicant.kind"),
    ({"applicant": {"kind": {}, "name": "A", "id_number": "001090012345"}}, 422, "applicant.kind"),
    ({"received_at": "hôm qua"}, 422, "received_at"),
    ({"received_at": "2026-02-30T09:00"}, 422, "received_at"),
    ({"received_at": "9999-12-31T23:59:59-12:00"}, 422, "received_at"),
    ({"received_at": "2099-01-01T09:00"}, 422, "received_at"),
    ({"received_at": 20260309}, 422, "received_at"),
    ({"code": 12}, 422, "code"),
    ({"code": ""}, 422, "code"),
    ({"code": " HCC-1"}, 422, "code"),
    ({"reception_point": "x" * 255 + " "}, 422, "reception_point"),
    ({"request_summary": ["x"]}, 422, "request_summary"),
])
def test_invalid_dossier_fields_answer_422_naming_the_field(api, body, status, field):
    if body.get("procedure_id") == "inactive":
        body = {"procedure_id": api.ids["inactive"]}
    response = api.receive(**body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["field"] == field


def test_malformed_bodies_answer_400(api):
    for data, content_type in (("{not json", "application/json"), ("[1, 2]", "application/json"),
                               ('{"a": 1}', "text/plain"), ("", "application/json")):
        response = api.call("POST", "/dossiers", data=data, content_type=content_type)
        assert response.status_code == 400, data


def test_invalid_event_fields_answer_422_and_unknown_dossiers_404(api):
    code = api.receive().get_json()["code"]
    cases = [
        ({"type": "teleported"}, "type"), ({"type": None}, "type"), ({"type": "forwarded", "version": "1"}, "version"),
        ({"type": "forwarded", "unit_id": "2"}, "unit_id"), ({"type": "forwarded", "unit_id": 987654}, "unit_id"),
        ({"type": "forwarded", "at": "2026-13-01T09:00"}, "at"), ({"type": "forwarded", "note": 5}, "note"),
        ({"type": "withdrawn"}, "note"), ({"type": "forwarded", "result": "approved"}, "result"),
    ]
    for body, field in cases:
        response = api.event(code, "reception", **body)
        assert response.status_code == 422, body
        assert response.get_json()["error"]["field"] == field, body
    assert api.event("NO-SUCH", "reception", type="forwarded").status_code == 404
    assert api.call("GET", "/dossiers/{code}", path="/dossiers/NO-SUCH").status_code == 404


def test_unknown_routes_and_methods_answer_json_404_and_405_with_allow(api):
    assert api.call("GET", "/nowhere").status_code == 404
    response = api.call("DELETE", "/dossiers")
    assert response.status_code == 405 and set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_service_error_messages_are_the_api_messages(api):
    body = api.receive(applicant={"name": "A", "id_number": "12"}).get_json()
    assert body["error"]["message"].startswith("Số CCCD gồm 12 chữ số")
    assert services.IntakeError(422, "x").status == 422


def test_a_supplement_request_names_its_documents_as_a_list_of_strings(api):
    code = api.receive(received_at=past(5)).get_json()["code"]
    api.event(code, "reception", type="forwarded")
    for bad in ("Bản sao CCCD", [], [1], None):
        response = api.event(code, "handler", type="supplement_requested", note="Thiếu", documents_to_add=bad)
        assert response.status_code == 422, bad
        assert response.get_json()["error"]["field"].startswith("documents_to_add"), bad
    body = api.event(code, "handler", type="supplement_requested", note="Thiếu giấy tờ",
                     documents_to_add=["Bản sao CCCD", " bản sao cccd ", "Biên bản nghiệm thu"]).get_json()
    ask = next(e for e in body["events"] if e["type"] == "supplement_requested")
    assert ask["data"]["documents_to_add"] == ["Bản sao CCCD", "Biên bản nghiệm thu"]


def test_every_dossier_body_carries_warnings_and_names_an_estimated_calendar_year(api):
    current = api.receive(received_at=past(5)).get_json()
    assert current["warnings"] == []
    # 2017 is not among the shipped official schedules: its calendar is only an estimate.
    old = api.receive(received_at="2017-12-20T09:00").get_json()
    assert len(old["warnings"]) == 1 and "lịch năm 2017" in old["warnings"][0]
    listed = api.call("GET", "/dossiers", "reception").get_json()["items"]
    assert {d["code"]: bool(d["warnings"]) for d in listed} == {current["code"]: False, old["code"]: True}


def test_a_dossier_is_stopped_through_the_api_with_its_reason_and_legal_ground(api):
    spec = api.spec["components"]["schemas"]
    assert "stopped" in spec["EventInput"]["properties"]["type"]["enum"]
    assert "legal_ground" in spec["EventInput"]["properties"]
    code = api.receive(received_at=past(5)).get_json()["code"]
    api.event(code, "reception", type="forwarded")
    assert api.event(code, "supervisor", type="stopped").status_code == 422  # the note is required
    response = api.event(code, "supervisor", type="stopped", note="Tổ chức đề nghị đã giải thể",
                         legal_ground="Khoản 2 Điều 12 Nghị định số 118/2025/NĐ-CP")
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "stopped"
    stop = next(e for e in body["events"] if e["type"] == "stopped")
    assert stop["note"] == "Tổ chức đề nghị đã giải thể"
    assert stop["data"]["legal_ground"] == "Khoản 2 Điều 12 Nghị định số 118/2025/NĐ-CP"
    assert api.event(code, "supervisor", type="stopped", note="lần hai").status_code == 409
    other = api.receive(received_at=past(4)).get_json()["code"]
    api.event(other, "reception", type="forwarded")
    minimal = api.event(other, "supervisor", type="stopped", note="Theo khoản 2 Điều 12 Nghị định 118/2025/NĐ-CP")
    assert minimal.status_code == 201 and minimal.get_json()["status"] == "stopped"

# -- the summary (issue 10) ----------------------------------------------------------------------


def test_the_summary_is_for_supervisors_and_a_handler_sees_only_their_unit(api):
    ok = api.call("GET", "/summary", "supervisor", path="/summary?period=2026-03&by=unit")
    assert ok.status_code == 200 and ok.get_json()["period"] == {"from": "2026-02-15", "to": "2026-03-14"}
    assert api.call("GET", "/summary", "reception", path="/summary?period=2026-03").status_code == 403
    mine = api.call("GET", "/summary", "handler", path="/summary?period=2026-03")
    assert mine.status_code == 200
    other = api.call("GET", "/summary", "handler", path=f"/summary?period=2026-03&unit={api.ids['unit_b']}")
    assert other.status_code == 403
    assert api.call("GET", "/summary", "supervisor", path="/summary?period=2026-13").status_code == 400
    assert api.call("GET", "/summary", "supervisor", path="/summary").status_code == 400
    assert api.call("GET", "/summary", "supervisor", path="/summary?period=2026-03&by=x").status_code == 422
    assert api.call("GET", "/summary", "supervisor", path="/summary?period=2026-03&unit=999999").status_code == 422
