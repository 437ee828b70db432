"""Applying a decision of the provincial People's Committee on processing times (domain.md §10).

After the yearly review the Committee decides the committed times; an administrator applies
them (all the proposed procedures or some), citing the decision's number and date and its
effective date. Each decided time becomes a dated rule version of its procedure
(:class:`tthc.models.ProcedureRuleVersion`), audited; dossiers received before the effective
date keep the rule they were received under (their snapshot), those received on or after it
are processed under the new version (``tthc.rules.rule_in_force``).

All or nothing: every decided time is checked first, and nothing is written when one is wrong.
Flushes; the caller commits.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from datetime import date
from typing import Mapping

from sqlalchemy import select

from tthc import audit
from tthc.catalog.services import COMMITTED_UNITS, MAX_AMOUNT
from tthc.models import LIMIT_UNIT_LABELS, Procedure, ProcedureRuleVersion

MAX_DECISION_NUMBER = 64


@dataclass
class DecisionError(Exception):
    """The decision cannot be applied; ``errors`` maps a field (or ``amount-<procedure id>``) to Vietnamese."""

    errors: dict[str, str] = dc_field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(self.errors.values())


def _label(procedure: Procedure) -> str:
    return procedure.national_code or procedure.name


def apply_decided_times(session, *, user, decision_number: str, decision_date: date | None,
                        effective_date: date | None, times: Mapping[int, int | None], today: date,
                        legal_basis: str = "") -> list[ProcedureRuleVersion]:
    """Add one rule version per procedure of ``times`` (procedure id → decided amount, in the unit of
    the committed time in force on the effective date). Raises :class:`DecisionError`."""
    errors: dict[str, str] = {}
    if user is None or user.role != "admin":
        raise DecisionError({"user": "Chỉ quản trị hệ thống được áp dụng quyết định điều chỉnh thời hạn."})
    number = (decision_number or "").strip()
    if not number:
        errors["decision_number"] = "Nhập số quyết định (ví dụ 1094/QĐ-UBND)."
    elif len(number) > MAX_DECISION_NUMBER:
        errors["decision_number"] = f"Số quyết định tối đa {MAX_DECISION_NUMBER} ký tự."
    if decision_date is None:
        errors["decision_date"] = "Nhập ngày ký quyết định (dd/mm/yyyy)."
    if effective_date is None:
        errors["effective_date"] = "Nhập ngày quyết định có hiệu lực (dd/mm/yyyy)."
    elif effective_date < today:
        # Dossiers received since that day already carry their rule: a retroactive date would not apply to them.
        errors["effective_date"] = "Ngày hiệu lực không được trước hôm nay (hồ sơ đã tiếp nhận giữ thời hạn cũ)."
    elif decision_date is not None and effective_date < decision_date:
        errors["effective_date"] = "Ngày hiệu lực không được trước ngày ký quyết định."
    if not times:
        errors["times"] = "Chọn ít nhất một thủ tục để áp dụng thời hạn mới."

    procedures = {p.id: p for p in session.scalars(select(Procedure).where(Procedure.id.in_(list(times))))} \
        if times else {}
    planned: list[tuple[Procedure, int, str]] = []
    for procedure_id, amount in times.items():
        key = f"amount-{procedure_id}"
        procedure = procedures.get(procedure_id)
        if procedure is None:
            errors[key] = f"Không tìm thấy thủ tục (mã số {procedure_id})."
            continue
        rule = procedure.rule_at(effective_date or today)
        unit = rule.limit_unit
        if unit not in COMMITTED_UNITS:
            errors[key] = f"Thủ tục {_label(procedure)} không có thời hạn để điều chỉnh."
            continue
        if procedure.steps:
            errors[key] = (f"Thủ tục {_label(procedure)} chia thời hạn theo bước liên thông: sửa các bước trong "
                           "danh mục trước khi áp dụng thời hạn mới.")
            continue
        if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_AMOUNT:
            errors[key] = f"Thời hạn mới của {_label(procedure)} phải là số nguyên từ 1 đến {MAX_AMOUNT}."
            continue
        if unit == rule.statutory_unit and rule.statutory_amount is not None and amount > rule.statutory_amount:
            errors[key] = (f"Thời hạn mới của {_label(procedure)} ({amount}) vượt thời hạn theo quy định "
                           f"({rule.statutory_amount} {LIMIT_UNIT_LABELS[unit]}).")
            continue
        if effective_date is not None and any(v.effective_date == effective_date for v in procedure.rule_versions):
            errors[key] = (f"Thủ tục {_label(procedure)} đã có thời hạn áp dụng từ ngày "
                           f"{effective_date:%d/%m/%Y}.")
            continue
        planned.append((procedure, amount, unit))
    if errors:
        raise DecisionError(errors)

    basis = (legal_basis or "").strip() or f"Quyết định số {number} ngày {decision_date:%d/%m/%Y}"
    versions = []
    for procedure, amount, unit in planned:
        before = procedure.rule_at(effective_date).as_dict()
        version = ProcedureRuleVersion(effective_date=effective_date, committed_amount=amount, committed_unit=unit,
                                       decision_number=number, decision_date=decision_date, legal_basis=basis,
                                       created_by_id=user.id)
        procedure.rule_versions.append(version)
        session.flush()
        audit.record(session, "apply_rule_version", "procedure", procedure.id, user=user, before=before,
                     after=procedure.rule_at(effective_date).as_dict(),
                     note=f"Quyết định số {number}: {amount} {LIMIT_UNIT_LABELS[unit]} từ {effective_date:%d/%m/%Y}")
        versions.append(version)
    return versions
