"""Plain factory functions with sensible defaults. They flush, never commit."""
from __future__ import annotations

import itertools

from tthc.models import Procedure, ProcedureDocument, Unit, User

_seq = itertools.count(1)
PASSWORD = "mat-khau-an-toan"


def make_unit(session, **kw) -> Unit:
    n = next(_seq)
    unit = Unit(code=kw.pop("code", f"U{n}"), name=kw.pop("name", f"Phòng Thử nghiệm {n}"), active=kw.pop("active", True))
    for key, value in kw.items():
        setattr(unit, key, value)
    session.add(unit)
    session.flush()
    return unit


def make_user(session, role: str = "reception", password: str = PASSWORD, **kw) -> User:
    n = next(_seq)
    unit = kw.pop("unit", None)
    if role == "handler" and unit is None:
        unit = make_unit(session)
    user = User(username=kw.pop("username", f"{role}{n}"), full_name=kw.pop("full_name", f"Người dùng {n}"),
                role=role, unit=unit, active=kw.pop("active", True), is_unit_head=kw.pop("is_unit_head", False))
    user.set_password(password)
    for key, value in kw.items():
        setattr(user, key, value)
    session.add(user)
    session.flush()
    return user


def make_procedure(session, **kw) -> Procedure:
    n = next(_seq)
    documents = kw.pop("documents", [("Đơn đề nghị", "original", 1), ("Bản sao giấy tờ pháp lý", "copy", 1)])
    proc = Procedure(
        national_code=kw.pop("national_code", f"1.{n:06d}"),
        field=kw.pop("field", "Hoạt động khoa học và công nghệ"),
        limit_unit=kw.pop("limit_unit", "working_days"),
        statutory_amount=kw.pop("statutory_amount", 10),
        supplement_rule=kw.pop("supplement_rule", "restart"),
        active=kw.pop("active", True),
    )
    proc.set_name(kw.pop("name", f"Thủ tục thử nghiệm số {n}"))
    for key, value in kw.items():
        setattr(proc, key, value)
    for i, (name, kind, count) in enumerate(documents):
        proc.documents.append(ProcedureDocument(position=i, name=name, kind=kind, count=count))
    session.add(proc)
    session.flush()
    return proc
