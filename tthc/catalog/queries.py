"""Reads of the catalog for the administrator's home page: what is missing before the desk can rely on it."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select, true

from tthc.models import Procedure, ProcedureDocument

LIMIT = 50


@dataclass
class CatalogTodo:
    key: str
    label: str
    total: int
    items: list = field(default_factory=list)


def procedures_to_complete(session, limit: int = LIMIT) -> list[CatalogTodo]:
    """Active procedures without a time limit (the desk cannot receive them), without their
    dossier components (the receipt would list nothing), or without a handling unit (domain.md §2)."""
    no_documents = ~select(ProcedureDocument.id).where(ProcedureDocument.procedure_id == Procedure.id).exists()
    no_limit = or_(Procedure.limit_unit.is_(None),
                   and_(Procedure.limit_unit != "none", Procedure.statutory_amount.is_(None)))
    active = Procedure.active.is_(True)
    checks = [
        # Also the inactive ones: an import leaves a procedure with a blank limit inactive for that reason.
        ("no_limit", "Chưa có thời hạn giải quyết (Bộ phận Một cửa chưa tiếp nhận được hồ sơ)", true(), no_limit),
        ("no_documents", "Chưa có thành phần hồ sơ", active, no_documents),
        ("no_unit", "Chưa gán đơn vị xử lý", active, Procedure.unit_id.is_(None)),
    ]
    todos = []
    for key, label, scope, condition in checks:
        where = (scope, condition)
        total = session.scalar(select(func.count(Procedure.id)).where(*where)) or 0
        items = session.scalars(select(Procedure).where(*where).order_by(Procedure.field, Procedure.name_search,
                                                                        Procedure.id).limit(limit)).all()
        todos.append(CatalogTodo(key, label, total, list(items)))
    return todos
