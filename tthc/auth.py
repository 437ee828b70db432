"""Accounts: login, logout, own password, roles, idle timeout, login throttling.

Every endpoint requires a logged-in user unless it is listed in PUBLIC_ENDPOINTS
(or lives in a blueprint listed in PUBLIC_BLUEPRINTS): a new view is protected
by default, and the role-matrix test walks every route to prove it.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlsplit
from functools import wraps
from typing import Callable

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, or_, select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from tthc import audit, throttle
from tthc.clock import now
from tthc.extensions import db, login_manager
from tthc.forms import Form
from tthc.models import ApiToken, LoginAttempt, User, UserSession

bp = Blueprint("auth", __name__)

PUBLIC_ENDPOINTS = {"auth.login", "static"}
PUBLIC_BLUEPRINTS = {"public", "api", "api_alerts"}  # the API authenticates with bearer tokens itself
MIN_PASSWORD_LENGTH = 8


class LoginForm(Form):
    username = StringField("Tên đăng nhập", validators=[DataRequired("Nhập tên đăng nhập.")])
    password = PasswordField("Mật khẩu", validators=[DataRequired("Nhập mật khẩu.")])


class ChangePasswordForm(Form):
    current_password = PasswordField("Mật khẩu hiện tại", validators=[DataRequired("Nhập mật khẩu hiện tại.")])
    new_password = PasswordField(
        "Mật khẩu mới",
        validators=[
            DataRequired("Nhập mật khẩu mới."),
            Length(min=MIN_PASSWORD_LENGTH, message=f"Mật khẩu mới phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự."),
        ],
    )
    confirm = PasswordField(
        "Nhập lại mật khẩu mới",
        validators=[DataRequired("Nhập lại mật khẩu mới."), EqualTo("new_password", "Hai lần nhập mật khẩu mới không khớp.")],
    )


def init_app(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Vui lòng đăng nhập để tiếp tục."
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        try:
            uid, epoch = (int(part) for part in user_id.split(":", 1))
        except ValueError:
            return None
        user = db.session.get(User, uid)
        if user is None or not user.active or user.session_epoch != epoch:
            return None
        if find_live_session(db.session, session.get("sid"), user.id) is None:
            return None  # logged out (server-side): every copy of this cookie is refused
        return user

    @app.before_request
    def require_login_and_track_idle():
        endpoint = request.endpoint or ""
        blueprint = endpoint.split(".", 1)[0] if "." in endpoint else ""
        if endpoint in PUBLIC_ENDPOINTS or blueprint in PUBLIC_BLUEPRINTS or request.endpoint is None:
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        # Idle timeout for shared desk computers, checked server-side as well as by cookie age.
        limit = timedelta(minutes=current_app.config["IDLE_TIMEOUT_MINUTES"])
        current = now()
        last_seen = session.get("last_seen")
        if last_seen is not None:
            try:
                from datetime import datetime

                idle = current - datetime.fromisoformat(last_seen)
            except (TypeError, ValueError):
                idle = limit + timedelta(seconds=1)
            if idle > limit:
                row = find_live_session(db.session, session.get("sid"), current_user.id)
                if row is not None:
                    row.ended_at = current
                    db.session.commit()
                logout_user()
                session.clear()
                flash("Phiên làm việc đã hết hạn do không hoạt động. Vui lòng đăng nhập lại.", "warning")
                return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
        session["last_seen"] = current.isoformat()
        session.permanent = True
        return None


def start_session(session_, user: User) -> str:
    """Open a server-side session for ``user`` and return its token (kept in the signed cookie)."""
    token = secrets.token_urlsafe(32)
    session_.add(UserSession(token=token, user_id=user.id, created_at=now(),
                             ip=client_ip() if _in_request() else ""))
    return token


def find_live_session(session_, token: str | None, user_id: int) -> UserSession | None:
    if not token or not isinstance(token, str) or len(token) > 64:
        return None
    return session_.scalar(select(UserSession).where(UserSession.token == token, UserSession.user_id == user_id,
                                                     UserSession.ended_at.is_(None)))


def _in_request() -> bool:
    from flask import has_request_context

    return has_request_context()


def roles_required(*roles: str) -> Callable:
    """Allow only these roles (login is already enforced globally); others get 403."""

    def decorator(view):
        view.allowed_roles = roles

        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles
        return wrapped

    return decorator


def client_ip() -> str:
    return request.remote_addr or ""


def is_throttled(session_, username: str, ip: str) -> bool:
    """Too many recent failures for this username or from this address (shared by all workers)."""
    cfg = current_app.config
    since = now() - timedelta(minutes=cfg["LOGIN_WINDOW_MINUTES"])
    failures = session_.scalar(
        select(func.count(LoginAttempt.id)).where(
            LoginAttempt.at >= since,
            LoginAttempt.success.is_(False),
            or_(LoginAttempt.username == username.lower(), LoginAttempt.ip == ip),
        )
    )
    # Failures from one address may come from a whole office behind NAT: allow it more.
    by_user = session_.scalar(
        select(func.count(LoginAttempt.id)).where(
            LoginAttempt.at >= since, LoginAttempt.success.is_(False), LoginAttempt.username == username.lower()
        )
    )
    return by_user >= cfg["LOGIN_MAX_FAILURES"] or failures >= cfg["LOGIN_MAX_FAILURES"] * 4


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path of this site, else None (the caller goes home).

    Browsers drop tabs and newlines inside URLs and read a backslash as a slash, so
    ``/\t/evil.example`` becomes ``//evil.example``: any control character, space,
    or backslash is refused, and the path must not name a scheme or a host. A newline
    would also make the Location header itself invalid (a 500)."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return None
    if any(ord(c) <= 0x20 or ord(c) == 0x7F or c == "\\" for c in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data.strip().lower()[:64]
        ip = client_ip()
        # Count and reserve atomically (every worker): the attempt is stored as a failure before
        # the password is checked, and committed, so parallel guesses see each other's slots.
        throttle.serialise(db.session, f"login-user:{username}", f"login-ip:{ip}")
        if is_throttled(db.session, username, ip):
            db.session.rollback()
            minutes = current_app.config["LOGIN_WINDOW_MINUTES"]
            flash(f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút.", "danger")
            return render_template("auth/login.html", form=form), 429
        attempt = LoginAttempt(at=now(), username=username, ip=ip, success=False)
        db.session.add(attempt)
        db.session.commit()
        user = db.session.scalar(select(User).where(func.lower(User.username) == username))
        ok = user is not None and user.check_password(form.password.data)
        attempt.success = bool(ok and user.active)
        if not ok:
            audit.record(db.session, "login_failed", "user", user.id if user is not None else None,
                         note=username[:64], user=None)
            db.session.commit()
            flash("Tên đăng nhập hoặc mật khẩu không đúng.", "danger")
            return render_template("auth/login.html", form=form), 200
        if not user.active:
            db.session.commit()
            flash("Tài khoản đã bị khóa. Liên hệ quản trị hệ thống.", "danger")
            return render_template("auth/login.html", form=form), 200
        user.last_login_at = now()
        audit.record(db.session, "login", "user", user.id, user=user)
        token = start_session(db.session, user)
        db.session.commit()
        session.clear()
        session["sid"] = token
        login_user(user)
        session["last_seen"] = now().isoformat()
        session.permanent = True
        return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        row = find_live_session(db.session, session.get("sid"), current_user.id)
        if row is not None:
            row.ended_at = now()
        audit.record(db.session, "logout", "user", current_user.id)
        db.session.commit()
    logout_user()
    session.clear()
    flash("Đã đăng xuất.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current_password.data):
            form.current_password.errors.append("Mật khẩu hiện tại không đúng.")
        else:
            user = current_user._get_current_object()
            user.set_password(form.new_password.data)
            user.session_epoch += 1
            audit.record(db.session, "change_password", "user", user.id)
            db.session.commit()
            login_user(user)  # keep this session; other sessions of this user end
            flash("Đã đổi mật khẩu.", "success")
            return redirect(url_for("main.index"))
    return render_template("auth/change_password.html", form=form)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_from_bearer() -> User | None:
    """The active user owning the request's bearer token, or None."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = header[7:].strip()
    if not token:
        return None
    row = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    )
    if row is None or not row.user.active:
        return None
    g.api_token = row
    return row.user
