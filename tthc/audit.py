"""Writing the append-only audit log. Callers commit."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from tthc.clock import now
from tthc.models import AuditLog


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def record(session, action: str, entity: str, entity_id: Any = None, *, before: dict | None = None,
           after: dict | None = None, note: str = "", user=None) -> AuditLog:
    if user is None and has_request_context() and current_user and current_user.is_authenticated:
        user = current_user
    entry = AuditLog(
        at=now(),
        user_id=getattr(user, "id", None),
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        note=note,
        ip=(request.remote_addr or "") if has_request_context() else "",
    )
    session.add(entry)
    return entry


def snapshot(obj, fields: list[str]) -> dict[str, Any]:
    return {f: _jsonable(getattr(obj, f)) for f in fields}
