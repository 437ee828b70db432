"""Issue 12, items 11–14 and the public-rating / alert parts of 16: atomic throttles under parallel
requests, the per-code look-up lockout, no search by masked values, and Idempotency-Key on
POST /api/v1/dossiers. SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import make_user
from tests.helpers import csrf_token
from tests.web.test_api import api  # noqa: F401  (fixture)
from tthc.clock import now as clock_now
from tthc.extensions import db
from tthc.models import AuditLog, Dossier, IdempotencyKey, LoginAttempt, LookupAttempt

PARALLEL = 12


def _parallel(app, n: int, request) -> list[int]:
    """``request(client, i)`` from ``n`` threads released together; their status codes."""
    app.config["WTF_CSRF_ENABLED"] = False
    barrier, statuses, errors = threading.Barrier(n), [None] * n, []

    def run(i):
        client = app.test_client()
        try:
            barrier.wait()
            statuses[i] = request(client, i)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return statuses


# -- item 11: atomic count-and-check ------------------------------------------------------------


def test_parallel_wrong_passwords_are_evaluated_at_most_up_to_the_limit(app):
    with app.app_context():
        username = make_user(db.session, role="reception").username
        db.session.commit()
    limit = app.config["LOGIN_MAX_FAILURES"]
    statuses = _parallel(app, PARALLEL, lambda c, i: c.post("/login", data={
        "username": username, "password": f"sai-{i}-mat-khau"}).status_code)
    assert statuses.count(200) == limit and statuses.count(429) == PARALLEL - limit, statuses
    with app.app_context():
        assert db.session.scalar(select(func.count(LoginAttempt.id))) == limit


def test_parallel_failed_lookups_are_evaluated_at_most_up_to_the_limit(app):
    app.config["PUBLIC_LOOKUP_MAX_FAILURES"] = 6
    app.config["PUBLIC_LOOKUP_CODE_MAX_FAILURES"] = 0  # the per-address limit alone
    statuses = _parallel(app, PARALLEL, lambda c, i: c.post("/tra-cuu", data={
        "ma": f"000.00.31.H49-260101-{i:04d}", "so": "1234"}).status_code)
    assert statuses.count(200) == 6 and statuses.count(429) == PARALLEL - 6, statuses


# -- item 12: per-code lockout --------------------------------------------------------------


def test_five_failures_on_one_code_from_any_addresses_lock_it_and_tell_the_applicant_to_call_the_desk(api, app):
    app.config["AGENCY_PHONE"] = "0236 3822 111"
    code = api.receive().get_json()["code"]  # the applicant's phone ends in 3456
    client = api.client

    def look_up(digits, ip):
        token = csrf_token(client, "/tra-cuu")
        return client.post("/tra-cuu", data={"csrf_token": token, "ma": code, "so": digits},
                           environ_base={"REMOTE_ADDR": ip})

    for i in range(5):
        assert look_up(f"{i:04d}", f"198.51.100.{i}").status_code == 200
    locked = look_up("3456", "203.0.113.9")  # the right digits, a new address: still locked
    page = locked.get_data(as_text=True)
    assert locked.status_code == 429 and "tạm khóa" in page and "0236 3822 111" in page
    with app.app_context():
        # 16 minutes later the lock has ended.
        for row in db.session.scalars(select(LookupAttempt).where(LookupAttempt.code == code)):
            row.at -= timedelta(minutes=16)
        db.session.commit()
    found = look_up("3456", "203.0.113.9")
    assert found.status_code == 200 and "tạm khóa" not in found.get_data(as_text=True)
    assert code in found.get_data(as_text=True)


# -- item 13: no search by masked values ----------------------------------------------------


def test_a_role_that_sees_masked_numbers_cannot_find_a_dossier_by_them(api, app, client, auth):
    code = api.receive().get_json()["code"]
    api.event(code, "reception", type="forwarded")
    for q in ("0905123456", "048190004321", "123456"):
        assert api.call("GET", "/dossiers", "reception", path=f"/dossiers?q={q}").get_json()["total"] == 1, q
        assert api.call("GET", "/dossiers", "handler", path=f"/dossiers?q={q}").get_json()["total"] == 0, q
        assert api.call("GET", "/dossiers", "admin", path=f"/dossiers?q={q}").get_json()["total"] == 0, q
    assert api.call("GET", "/dossiers", "handler", path=f"/dossiers?q={code}").get_json()["total"] == 1


# -- item 14: Idempotency-Key --------------------------------------------------------------


def _post(api, key, **body):
    payload = {"procedure_id": api.ids["procedure"], "applicant": {"name": "Phạm Thị Cúc", "id_number": "048190004321",
                                                                   "phone": "0905123456"}, "channel": "direct"}
    payload.update(body)
    return api.call("POST", "/dossiers", "reception", json=payload, headers={"Idempotency-Key": key})


def test_a_retry_with_the_same_idempotency_key_answers_the_first_response_again(api, app):
    first = _post(api, "retry-1")
    again = _post(api, "retry-1")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Location"] == first.headers["Location"]
    other_body = _post(api, "retry-1", request_summary="khác")
    assert other_body.status_code == 422 and other_body.get_json()["error"]["field"] == "Idempotency-Key"
    assert _post(api, "retry-2").get_json()["code"] != first.get_json()["code"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Dossier.id))) == 2
        # Kept 24 hours: an older key is forgotten.
        for row in db.session.scalars(select(IdempotencyKey)):
            row.created_at -= timedelta(hours=25)
        db.session.commit()
    assert _post(api, "retry-1").get_json()["code"] != first.get_json()["code"]


def test_the_same_key_from_another_token_is_another_key(api, app):
    from tthc.accounts import issue_token
    from tthc.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "tiepnhan"))
        second = issue_token(db.session, user, "second desk")
        db.session.commit()
    first = _post(api, "shared")
    payload = {"procedure_id": api.ids["procedure"], "applicant": {"name": "Phạm Thị Cúc", "id_number": "048190004321",
                                                                   "phone": "0905123456"}, "channel": "direct"}
    other = api.call("POST", "/dossiers", None, token=second, json=payload, headers={"Idempotency-Key": "shared"})
    assert other.status_code == 201 and other.get_json()["code"] != first.get_json()["code"]


def test_parallel_retries_with_one_key_create_one_dossier(api, app):
    payload = {"procedure_id": api.ids["procedure"], "applicant": {"name": "Phạm Thị Cúc", "id_number": "048190004321",
                                                                   "phone": "0905123456"}, "channel": "direct"}
    headers = {"Idempotency-Key": "parallel", "Authorization": f"Bearer {api.tokens['reception']}"}
    bodies = []
    statuses = _parallel(app, 6, lambda c, i: (lambda r: (bodies.append(r.get_json()), r.status_code)[1])(
        c.post("/api/v1/dossiers", json=payload, headers=headers)))
    assert set(statuses) <= {201, 409}, statuses
    assert len({b["code"] for b in bodies if "code" in b}) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Dossier.id))) == 1


# -- item 16: public ratings and alert acknowledgements are audited ----------------------------


def test_a_public_rating_and_an_alert_acknowledgement_are_audited(api, app, client, auth):
    from tthc.models import Alert

    code = api.receive().get_json()["code"]
    api.event(code, "reception", type="forwarded")
    api.event(code, "handler", type="finished", result="approved")
    api.event(code, "reception", type="handed_over")
    token = csrf_token(client, "/tra-cuu")
    rated = client.post("/tra-cuu/danh-gia", data={"csrf_token": token, "ma": code, "so": "3456", "satisfied": "1",
                                                   "comment": "Nhanh"})
    assert rated.status_code == 200
    with app.app_context():
        dossier = db.session.scalar(select(Dossier).where(Dossier.code == code))
        alert = Alert(dossier_id=dossier.id, kind="overdue", unit_id=dossier.unit_id, created_at=clock_now())
        db.session.add(alert)
        db.session.commit()
        alert_id, dossier_id = alert.id, dossier.id
    auth.login("supervisor")
    token = csrf_token(client, "/alerts")
    assert client.post("/alerts/ack", data={"csrf_token": token, "alert_id": [alert_id]}).status_code == 302
    with app.app_context():
        rows = {r.action: r for r in db.session.scalars(select(AuditLog).where(
            AuditLog.action.in_(["rate", "acknowledge"])))}
        assert rows["rate"].entity_id == str(dossier_id) and rows["rate"].after["satisfied"] is True
        assert rows["rate"].user_id is None
        assert rows["acknowledge"].entity_id == str(alert_id) and rows["acknowledge"].user_id == auth.user.id
