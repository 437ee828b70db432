"""The rule of a procedure in force at an instant: its base rule, or the newest dated version.

A procedure holds its base rule (statutory limit, committed limit, supplement rule, legal
basis) in its own columns, as the catalog edits it. The yearly review of processing times
(domain.md §10) ends with a decision of the provincial People's Committee: applying it adds a
dated rule version (:class:`tthc.models.ProcedureRuleVersion`) carrying the decided committed
time from its effective date. A dossier keeps the rule in force when it was received
(domain.md §1): intake's snapshot, the catalog, the API and the dossier import ask
:func:`rule_in_force` with the reception time.

No Flask, no database access: ``procedure.rule_versions`` is read as loaded.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Optional


@dataclass(frozen=True)
class RuleInForce:
    """The limit deadlines use (``limit_*``: committed when set, else statutory) and where it comes from."""

    limit_unit: Optional[str]
    limit_amount: Optional[int]
    statutory_unit: Optional[str]
    statutory_amount: Optional[int]
    committed_unit: Optional[str]
    committed_amount: Optional[int]
    supplement_rule: str
    legal_basis: str
    effective_date: Optional[date]
    version_id: Optional[int] = None
    """None: the procedure's base rule; else the id of the applied rule version."""
    decision_number: str = ""
    decision_date: Optional[date] = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("effective_date", "decision_date"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def _day(at: date | datetime) -> date:
    return at.date() if isinstance(at, datetime) else at


def version_in_force(procedure, at: date | datetime):
    """The newest rule version whose effective date is on or before ``at``'s day, or None (base rule)."""
    day = _day(at)
    found = None
    for version in procedure.rule_versions:
        if version.effective_date <= day and (found is None or version.effective_date >= found.effective_date):
            found = version
    return found


def rule_in_force(procedure, at: date | datetime) -> RuleInForce:
    """The rule a dossier of ``procedure`` received at ``at`` is processed under.

    A version is in force from 00:00 of its effective date: a dossier received the day before
    keeps the earlier rule. The statutory limit and the supplement rule are the procedure's (the
    law's); a version replaces the committed limit.
    """
    version = version_in_force(procedure, at)
    statutory_unit, statutory_amount = procedure.limit_unit, procedure.statutory_amount
    if version is None:
        committed_unit, committed_amount = procedure.committed_unit, procedure.committed_amount
        legal_basis = procedure.legal_basis or ""
        effective = procedure.effective_date
    else:
        committed_unit, committed_amount = version.committed_unit, version.committed_amount
        # The procedure's legal basis still holds; the decision adds the committed time's ground.
        legal_basis = "\n".join(text for text in (procedure.legal_basis, version.legal_basis) if text)
        effective = version.effective_date
    if committed_amount is not None and committed_unit:
        limit_unit, limit_amount = committed_unit, committed_amount
    else:
        limit_unit, limit_amount = statutory_unit, statutory_amount
    return RuleInForce(
        limit_unit=limit_unit,
        limit_amount=None if limit_unit == "none" else limit_amount,
        statutory_unit=statutory_unit,
        statutory_amount=statutory_amount,
        committed_unit=committed_unit,
        committed_amount=committed_amount,
        supplement_rule=procedure.supplement_rule or "restart",
        legal_basis=legal_basis,
        effective_date=effective,
        version_id=None if version is None else version.id,
        decision_number="" if version is None else (version.decision_number or ""),
        decision_date=None if version is None else version.decision_date,
    )
