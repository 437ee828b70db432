"""Account services: creating users, resetting passwords, issuing API tokens.

Shared by the admin pages, the CLI and the demo loader. Callers commit.
"""
from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select

from tthc import audit
from tthc.auth import MIN_PASSWORD_LENGTH, hash_token
from tthc.clock import now
from tthc.models import ApiToken, Unit, User, UserRole

ROLES = tuple(r.value for r in UserRole)
USERNAME_RE = re.compile(r"^[a-z0-9._-]{3,64}$")


class AccountError(ValueError):
    """A refused account operation; the message is Vietnamese, for the user."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def find_unit(session, ref: str | int | None) -> Unit | None:
    """A unit by id, code or exact name; None when ref is empty. Raises AccountError when unknown."""
    if ref in (None, ""):
        return None
    ref_s = str(ref).strip()
    unit = None
    if ref_s.isdigit():
        unit = session.get(Unit, int(ref_s))
    if unit is None:
        unit = session.scalar(select(Unit).where((Unit.code == ref_s) | (Unit.name == ref_s)))
    if unit is None:
        raise AccountError(f"Không tìm thấy đơn vị “{ref_s}”.", "unit")
    return unit


def validate_password(password: str) -> None:
    if password is None or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.", "password")


def create_user(session, username: str, role: str, password: str, *, unit: Unit | None = None,
                full_name: str = "", is_unit_head: bool = False, actor: User | None = None) -> User:
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise AccountError("Tên đăng nhập gồm 3–64 ký tự: chữ thường không dấu, số, dấu chấm, gạch ngang, gạch dưới.",
                           "username")
    if role not in ROLES:
        raise AccountError(f"Vai trò không hợp lệ: {role}. Chọn một trong: {', '.join(ROLES)}.", "role")
    if role == "handler" and unit is None:
        raise AccountError("Chuyên viên xử lý phải thuộc một đơn vị.", "unit")
    validate_password(password)
    if session.scalar(select(func.count(User.id)).where(func.lower(User.username) == username)):
        raise AccountError(f"Tên đăng nhập “{username}” đã tồn tại.", "username")
    user = User(username=username, role=role, unit=unit, full_name=(full_name or "").strip(),
                is_unit_head=bool(is_unit_head), active=True, created_at=now())
    user.set_password(password)
    session.add(user)
    session.flush()
    audit.record(session, "create", "user", user.id, after=_public(user), user=actor)
    return user


def update_user(session, user: User, *, role: str, unit: Unit | None, full_name: str, is_unit_head: bool,
                active: bool, actor: User | None = None) -> User:
    if role not in ROLES:
        raise AccountError("Vai trò không hợp lệ.", "role")
    if role == "handler" and unit is None:
        raise AccountError("Chuyên viên xử lý phải thuộc một đơn vị.", "unit")
    if actor is not None and actor.id == user.id and (not active or role != "admin"):
        raise AccountError("Không thể tự khóa hoặc tự bỏ quyền quản trị của chính mình.", "active")
    before = _public(user)
    user.role, user.unit, user.full_name = role, unit, full_name.strip()
    user.is_unit_head = is_unit_head
    if user.active and not active:
        user.session_epoch += 1  # end the user's open sessions
    user.active = active
    session.flush()
    audit.record(session, "update", "user", user.id, before=before, after=_public(user), user=actor)
    return user


def reset_password(session, user: User, password: str | None = None, actor: User | None = None) -> str:
    """Set a new password (a random one when None) and end the user's sessions. Returns it."""
    password = password or secrets.token_urlsafe(9)
    validate_password(password)
    user.set_password(password)
    user.session_epoch += 1
    audit.record(session, "reset_password", "user", user.id, user=actor)
    return password


def issue_token(session, user: User, name: str = "") -> str:
    """A new bearer token; only its SHA-256 is stored, the clear text is shown once."""
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, token_hash=hash_token(token), name=name, created_at=now()))
    audit.record(session, "issue_token", "user", user.id, note=name)
    return token


def revoke_tokens(session, user: User) -> int:
    count = 0
    for row in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
        row.revoked_at = now()
        count += 1
    audit.record(session, "revoke_tokens", "user", user.id, after={"revoked": count})
    return count


def _public(user: User) -> dict:
    return {"username": user.username, "full_name": user.full_name, "role": user.role,
            "unit_id": user.unit_id, "is_unit_head": user.is_unit_head, "active": user.active}
