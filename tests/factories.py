"""Plain factory functions with sensible defaults. They flush, never commit."""
from __future__ import annotations

import itertools
from datetime import datetime

from tthc.models import Dossier, DossierEvent, Procedure, ProcedureDocument, Unit, User

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


_RESULTS = {"finished": "approved"}


def make_dossier(session, procedure: Procedure | None = None, *, received_at: datetime, events=(), code: str | None = None,
                 number: int | None = None, channel: str = "direct", rule: dict | None = None, unit: Unit | None = None,
                 cal=None, **columns) -> Dossier:
    """A dossier with real events; everything they imply is stored by the one writer
    (``deadlines.store.write_life``), exactly as intake stores it, without the services' checks.

    ``events``: after the ``received`` event (at ``received_at``), each ``(type, at)`` or
    ``(type, at, data)``; ``data`` may carry ``unit`` (a Unit: where a forwarding or a step
    hand-over sends the dossier; by default ``unit``, else the procedure's unit), ``note`` and
    ``new_deadline`` (a datetime, for an extension); ``finished`` defaults to an approval.
    ``rule`` overrides the procedure's rule snapshot; other keyword arguments set reception facts
    (``applicant_name``, ``field``, ``submitted_at`` ...). Flushes.
    """
    from deadlines.store import write_life

    n = next(_seq)
    procedure = procedure or make_procedure(session)
    number = number if number is not None else n
    unit_id = unit.id if unit is not None else procedure.unit_id
    if rule is None:
        rule = {"limit_unit": procedure.effective_unit or "none", "limit_amount": procedure.effective_amount,
                "supplement_rule": procedure.supplement_rule or "restart",
                "steps": [{"name": s.name, "unit_id": s.unit_id, "share_amount": s.share_amount}
                          for s in procedure.steps]}
    dossier = Dossier(
        code=code or f"F-{received_at:%y%m%d}-{number:05d}", procedure_id=procedure.id, rule=rule,
        field=columns.pop("field", procedure.field), unit_id=unit_id,
        applicant_name=columns.pop("applicant_name", f"Nguyễn Văn {number}"), channel=channel,
        received_at=received_at, register_year=received_at.year, register_number=columns.pop("register_number", n),
        **columns,
    )
    dossier.events.append(DossierEvent(seq=1, type="received", at=received_at, recorded_at=received_at,
                                       data={"channel": channel}))
    for seq, spec in enumerate(events, start=2):
        type_, at = spec[0], spec[1]
        data = dict(spec[2]) if len(spec) > 2 else {}
        target = data.pop("unit", None)
        note = data.pop("note", "")
        if "new_deadline" in data and isinstance(data["new_deadline"], datetime):
            data["new_deadline"] = data["new_deadline"].isoformat()
        if type_ in _RESULTS:
            data.setdefault("result", _RESULTS[type_])
        event_unit = None
        if type_ in ("forwarded", "step_handed_over"):
            event_unit = target.id if target is not None else unit_id
        dossier.events.append(DossierEvent(seq=seq, type=type_, at=at, recorded_at=at, unit_id=event_unit, note=note,
                                           data=data))
    session.add(dossier)
    write_life(session, dossier, cal)
    session.flush()
    return dossier
