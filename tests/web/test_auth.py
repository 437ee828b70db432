"""Login, logout, inactive accounts, throttling, idle timeout, own password, CSRF."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import PASSWORD, make_user
from tests.helpers import csrf_token
from tthc.extensions import db
from tthc.models import AuditLog, LoginAttempt, User


def _login(client, username, password):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client, "/login")})


def _make(app, **kw):
    with app.app_context():
        user = make_user(db.session, **kw)
        db.session.commit()
        return user.username


def test_right_password_logs_in_and_lands_on_home(app, client):
    username = _make(app, role="reception", full_name="Nguyễn Thị Lan")
    response = _login(client, username, PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Nguyễn Thị Lan" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "login")) == 1


def test_username_is_case_insensitive(app, client):
    username = _make(app, role="reception", username="tiepnhan2")
    assert _login(client, "TiepNhan2", PASSWORD).status_code == 302


def test_wrong_password_is_refused_with_a_vietnamese_message(app, client):
    username = _make(app, role="reception")
    response = _login(client, username, "sai-mat-khau")
    assert response.status_code == 200
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_unknown_user_gets_the_same_message_as_a_wrong_password(app, client):
    response = _login(client, "khong-ton-tai", "whatever-123")
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.get_data(as_text=True)


def test_inactive_user_cannot_log_in(app, client):
    username = _make(app, role="reception", active=False)
    response = _login(client, username, PASSWORD)
    assert response.status_code == 200
    assert "Tài khoản đã bị khóa" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_deactivating_a_user_ends_their_open_session(app, client):
    username = _make(app, role="reception")
    _login(client, username, PASSWORD)
    assert client.get("/").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        user.active = False
        db.session.commit()
    assert client.get("/").status_code == 302


def test_passwords_are_stored_hashed_with_scrypt(app):
    username = _make(app, role="admin")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user.password_hash.startswith("scrypt:")
        assert PASSWORD not in user.password_hash


def test_login_is_throttled_after_five_failures_even_with_the_right_password(app, client):
    username = _make(app, role="reception")
    for _ in range(5):
        assert _login(client, username, "sai-mat-khau").status_code == 200
    response = _login(client, username, PASSWORD)
    assert response.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_throttling_counts_failures_stored_in_the_database_so_all_workers_share_them(app):
    """A second client (as another gunicorn worker would be) sees the first one's failures."""
    username = _make(app, role="reception")
    first, second = app.test_client(), app.test_client()
    for _ in range(5):
        _login(first, username, "sai-mat-khau")
    with app.app_context():
        assert db.session.scalar(select(func.count(LoginAttempt.id)).where(LoginAttempt.success.is_(False))) == 5
    assert _login(second, username, PASSWORD).status_code == 429


def test_old_failures_outside_the_window_do_not_throttle(app, client):
    username = _make(app, role="reception")
    with app.app_context():
        old = datetime.now() - timedelta(hours=3)
        for _ in range(10):
            db.session.add(LoginAttempt(at=old, username=username, ip="127.0.0.1", success=False))
        db.session.commit()
    assert _login(client, username, PASSWORD).status_code == 302


def test_idle_session_expires(app, client):
    username = _make(app, role="reception")
    _login(client, username, PASSWORD)
    assert client.get("/").status_code == 200
    with client.session_transaction() as sess:
        sess["last_seen"] = (datetime.now() - timedelta(minutes=app.config["IDLE_TIMEOUT_MINUTES"] + 5)).isoformat()
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/").status_code == 302


def test_session_cookie_is_httponly_and_samesite(app, client):
    username = _make(app, role="reception")
    response = _login(client, username, PASSWORD)
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_logout_requires_post_and_ends_the_session(app, client):
    username = _make(app, role="reception")
    _login(client, username, PASSWORD)
    assert client.get("/logout").status_code == 405
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_a_post_without_csrf_token_is_refused(app, client):
    username = _make(app, role="reception")
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_open_redirect_after_login_is_ignored(app, client):
    username = _make(app, role="reception")
    response = client.post("/login?next=//evil.example/x", data={
        "username": username, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")})
    assert response.headers["Location"] == "/"


def test_user_changes_own_password_and_other_sessions_end(app, client):
    username = _make(app, role="handler")
    other = app.test_client()
    _login(client, username, PASSWORD)
    _login(other, username, PASSWORD)
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "mat-khau-moi-123", "confirm": "mat-khau-moi-123",
        "csrf_token": csrf_token(client, "/account/password")})
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this session continues
    assert other.get("/").status_code == 302  # the other one ended
    fresh = app.test_client()
    assert _login(fresh, username, "mat-khau-moi-123").status_code == 302


@pytest.mark.parametrize("current,new,confirm,message", [
    ("sai-mat-khau", "mat-khau-moi-123", "mat-khau-moi-123", "Mật khẩu hiện tại không đúng."),
    (PASSWORD, "ngan", "ngan", "ít nhất 8 ký tự"),
    (PASSWORD, "mat-khau-moi-123", "khac-han-123", "không khớp"),
])
def test_change_password_refuses_bad_input(app, client, current, new, confirm, message):
    username = _make(app, role="reception")
    _login(client, username, PASSWORD)
    response = client.post("/account/password", data={
        "current_password": current, "new_password": new, "confirm": confirm,
        "csrf_token": csrf_token(client, "/account/password")})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_unknown_page_gives_a_vietnamese_404(app, auth, client):
    auth.login("reception")
    response = client.get("/khong-co-trang-nay")
    assert response.status_code == 404
    assert "Không tìm thấy" in response.get_data(as_text=True)
