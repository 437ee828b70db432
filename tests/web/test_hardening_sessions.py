"""Issue 12, items 1–4, 9, 10 and the login part of 16: sessions that end server-side, redirects
that stay on the site, secret keys that are never constants, security headers with a policy the
app's pages satisfy, bounded JSON nesting, and dossier codes that cannot shadow a page."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from config import DevelopmentConfig, ProductionConfig
from tests.factories import PASSWORD, make_procedure, make_user
from tests.helpers import csrf_token
from tests.web.test_api import api  # noqa: F401  (fixture)
from tthc import create_app
from tthc.extensions import db
from tthc.models import AuditLog, User

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _login(client, username, password=PASSWORD, url="/login"):
    return client.post(url, data={"username": username, "password": password, "csrf_token": csrf_token(client)})


def _user(app, role="reception", **kw):
    with app.app_context():
        user = make_user(db.session, role=role, **kw)
        db.session.commit()
        return user.username


# -- item 1: logout ends this session server-side, not the user's other desks -------------------


def test_a_cookie_copied_before_logout_no_longer_works_but_other_desks_stay_logged_in(app):
    username = _user(app, role="reception")
    desk_a, desk_b, thief = app.test_client(), app.test_client(), app.test_client()
    assert _login(desk_a, username).status_code == 302
    assert _login(desk_b, username).status_code == 302
    copied = desk_a.get_cookie("session").value
    token = csrf_token(desk_a, "/account/password")

    assert desk_a.post("/logout", data={"csrf_token": token}).status_code == 302

    thief.set_cookie("session", copied)
    response = thief.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    # A state-changing POST with the copied cookie (and its CSRF token) is refused too.
    changed = thief.post("/account/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                    "new_password": "mat-khau-moi-123", "confirm": "mat-khau-moi-123"})
    assert changed.status_code in (302, 400) and "/login" in changed.headers.get("Location", "/login")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user.check_password(PASSWORD)
        actions = db.session.scalars(select(AuditLog.action).where(AuditLog.user_id == user.id)).all()
        assert "logout" in actions  # item 16
    assert desk_b.get("/").status_code == 200


# -- item 2: only same-site paths are followed after login ------------------------------------


@pytest.mark.parametrize("target", ["/%09/evil.example", "//evil.example", "/%0A/x", "/%0D%0ASet-Cookie:%20a=b",
                                    "/\\evil.example", "https://evil.example/", "/%20/evil.example"])
def test_next_after_login_never_leaves_the_site_and_never_fails(app, target):
    username = _user(app)
    client = app.test_client()
    response = _login(client, username, url=f"/login?next={target}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_after_login_follows_a_path_of_the_site(app):
    username = _user(app)
    client = app.test_client()
    response = _login(client, username, url="/login?next=/dossiers/%3Fstatus%3Dreceived")
    assert response.headers["Location"] == "/dossiers/?status=received"


# -- item 3: secret keys ------------------------------------------------------------------------


def test_development_key_is_generated_once_per_instance_and_a_forged_cookie_fails(tmp_path, monkeypatch):
    db_url = f"sqlite:///{tmp_path}/dev.sqlite"
    monkeypatch.setenv("TTHC_INSTANCE_PATH", str(tmp_path / "a"))
    app_a = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=db_url, RUN_SCHEDULER_IN_PROCESS=False)
    again = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=db_url, RUN_SCHEDULER_IN_PROCESS=False)
    monkeypatch.setenv("TTHC_INSTANCE_PATH", str(tmp_path / "b"))
    app_b = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=db_url, RUN_SCHEDULER_IN_PROCESS=False)
    key = app_a.config["SECRET_KEY"]
    assert len(key) >= 32 and key == again.config["SECRET_KEY"] != app_b.config["SECRET_KEY"]
    assert key not in ("dev-only-secret-key-change-me", "test-secret-key")
    assert oct(os.stat(tmp_path / "a" / "secret_key").st_mode & 0o777) == "0o600"

    with app_a.app_context():
        db.create_all()
        admin = make_user(db.session, role="admin")
        db.session.commit()
        forged_id = admin.get_id()
    # The cookie an attacker signs with the key that used to be in the code.
    old = Flask("forger")
    old.secret_key = "dev-only-secret-key-change-me"
    forged = SecureCookieSessionInterface().get_signing_serializer(old).dumps(
        {"_user_id": forged_id, "_fresh": True})
    client = app_a.test_client()
    client.set_cookie("session", forged)
    assert client.get("/admin/users").status_code == 302


def test_production_refuses_a_secret_key_shorter_than_32_bytes(tmp_path):
    with pytest.raises(RuntimeError, match="too short"):
        create_app(ProductionConfig, SECRET_KEY="s3cret", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.sqlite")
    app = create_app(ProductionConfig, SECRET_KEY="k" * 32, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.sqlite")
    assert app.config["SECRET_KEY"] == "k" * 32


# -- item 4: security headers -------------------------------------------------------------------


def test_every_response_carries_the_security_headers(app, client, auth):
    with app.app_context():
        procedure_id = make_procedure(db.session).id
        db.session.commit()
    pages = [client.get("/login"), client.get(f"/thu-tuc/{procedure_id}"), client.get("/static/css/app.css"),
             client.get("/api/v1/openapi.json"), client.get("/no-such-page")]
    auth.login("admin")
    pages += [client.get(f"/procedures/{procedure_id}"), client.get("/")]
    for response in pages:
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"]
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
        if response.mimetype == "text/html":
            assert "onclick=" not in response.get_data(as_text=True)


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I)


def test_no_template_holds_an_inline_script_or_event_handler():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for pattern in (_INLINE_SCRIPT, _HANDLER):
            offenders += [f"{path.relative_to(TEMPLATES)}: {m.group(0).strip()}" for m in pattern.finditer(text)]
    assert offenders == [], "the CSP forbids these:\n" + "\n".join(offenders)


# -- item 9: JSON nesting -----------------------------------------------------------------------


def test_json_nested_100000_deep_is_a_400_not_a_500(api):
    for body in ("[" * 100_000 + "]" * 100_000, '{"a":' * 50 + "1" + "}" * 50):
        response = api.client.post("/api/v1/dossiers", data=body, content_type="application/json",
                                   headers={"Authorization": f"Bearer {api.tokens['reception']}"})
        assert response.status_code == 400, response.status_code
        assert response.get_json()["error"]["code"] == "bad_request"


# -- item 10: codes that would be hidden by a page of the same name -----------------------------


@pytest.mark.parametrize("code", ["new", "desk", "preview", "NEW"])
def test_external_codes_named_like_a_dossier_page_are_refused(api, code):
    response = api.receive(code=code)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "code"
    assert api.receive(code="HCC-new-1").status_code == 201


def test_reserved_code_words_follow_the_routes(app):
    from intake.services import reserved_code_words

    with app.app_context():
        words = reserved_code_words()
        routes = {r.rule.split("/")[2].lower() for r in app.url_map.iter_rules()
                  if r.endpoint.startswith("intake.") and r.rule.count("/") >= 2 and "<" not in r.rule.split("/")[2]}
    assert {"new", "desk", "preview"} <= words and routes - {""} <= words


# -- item 16: failed logins are audited ---------------------------------------------------------


def test_a_failed_login_is_audited_without_the_password(app, client):
    username = _user(app)
    _login(client, username, password="sai-mat-khau-99")
    _login(client, "khong-co-ai", password="sai-mat-khau-99")
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "login_failed")
                                  .order_by(AuditLog.id)).all()
        assert [r.note for r in rows] == [username, "khong-co-ai"]
        assert rows[0].entity_id is not None and rows[1].entity_id is None
        assert all("sai-mat-khau" not in repr((r.before, r.after, r.note)) for r in rows)
