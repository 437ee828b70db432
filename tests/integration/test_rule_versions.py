"""Applying a decided processing time as a dated rule version (issue 14, domain.md §10): dossiers
received before the effective date keep their rule, later ones get the new one; audited; all or nothing."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from intake import services
from tests.factories import make_procedure, make_unit, make_user
from tthc.catalog.decisions import DecisionError, apply_decided_times
from tthc.models import AuditLog, ProcedureRuleVersion

APPLICANT = {"kind": "individual", "name": "Trần Thị Bình", "id_number": "001090012345", "phone": "0912345678"}


@pytest.fixture
def setup(db_session):
    s = db_session
    desk = make_unit(s, code="MC", name="Một cửa")
    proc = make_procedure(s, statutory_amount=15, committed_amount=10, committed_unit="working_days")
    admin = make_user(s, "admin")
    reception = make_user(s, "reception", unit=desk)
    return s, proc, admin, reception


def _apply(s, proc, admin, amount=7, effective=date(2026, 1, 1), **kw):
    return apply_decided_times(s, user=admin, decision_number=kw.pop("number", "1094/QĐ-UBND"),
                               decision_date=kw.pop("decision_date", date(2025, 12, 20)), effective_date=effective,
                               times={proc.id: amount}, today=kw.pop("today", date(2025, 12, 22)), **kw)


def _receive(s, proc, reception, at):
    return services.receive_dossier(s, procedure=proc, applicant=APPLICANT, channel="direct",
                                    received_by=reception, now=at, received_at=at)


def test_dossiers_received_before_the_effective_date_keep_their_rule_and_later_ones_get_the_decided_time(setup):
    s, proc, admin, reception = setup
    (version,) = _apply(s, proc, admin)
    before = _receive(s, proc, reception, datetime(2025, 12, 31, 16, 0))
    after = _receive(s, proc, reception, datetime(2026, 1, 2, 8, 0))
    assert before.rule["limit_amount"] == 10 and before.rule["rule_version_id"] is None
    assert after.rule["limit_amount"] == 7 and after.rule["committed_amount"] == 7
    assert after.rule["rule_version_id"] == version.id and after.rule["decision_number"] == "1094/QĐ-UBND"
    assert after.rule["statutory_amount"] == 15
    # 7 working days: Friday 02/01/2026 is off (swapped for Saturday 10/01), so 05/01 07:00 → 12/01 17:00.
    assert after.deadline_at == datetime(2026, 1, 12, 17, 0)
    assert proc.rule_at(date(2025, 12, 31)).limit_amount == 10
    assert proc.rule_at(date(2026, 1, 1)).limit_amount == 7
    # The base rule is untouched: the catalog's columns still say what held before the decision.
    assert proc.committed_amount == 10


def test_applying_a_decision_is_audited_with_the_rule_before_and_after(setup):
    s, proc, admin, _ = setup
    _apply(s, proc, admin)
    entry = s.scalars(select(AuditLog).where(AuditLog.action == "apply_rule_version")).one()
    assert entry.entity_id == str(proc.id) and entry.user_id == admin.id
    assert entry.before["limit_amount"] == 10 and entry.after["limit_amount"] == 7
    assert "1094/QĐ-UBND" in entry.note


@pytest.mark.parametrize("kw, field", [
    ({"number": " "}, "decision_number"),
    ({"effective": date(2025, 12, 1)}, "effective_date"),
    ({"effective": date(2025, 12, 23), "decision_date": date(2025, 12, 24)}, "effective_date"),
    ({"amount": 0}, "amount"),
    ({"amount": 16}, "amount"),
])
def test_a_wrong_decision_is_refused_with_a_message_and_writes_nothing(setup, kw, field):
    s, proc, admin, _ = setup
    with pytest.raises(DecisionError) as caught:
        _apply(s, proc, admin, **kw)
    assert any(key.startswith(field) for key in caught.value.errors), caught.value.errors
    assert s.scalars(select(ProcedureRuleVersion)).all() == []


def test_only_an_administrator_applies_a_decision_and_a_day_has_one_version(setup):
    s, proc, admin, reception = setup
    with pytest.raises(DecisionError):
        _apply(s, proc, reception)
    _apply(s, proc, admin)
    with pytest.raises(DecisionError) as caught:
        _apply(s, proc, admin, amount=6)
    assert "đã có thời hạn áp dụng" in str(caught.value)


def test_the_api_exposes_the_committed_time_in_force_at_the_asked_instant(setup):
    from intake.api import procedure_json

    s, proc, admin, _ = setup
    _apply(s, proc, admin)
    assert procedure_json(proc, datetime(2025, 12, 31, 23, 59))["committed_amount"] == 10
    shown = procedure_json(proc, datetime(2026, 1, 1, 0, 0))
    assert (shown["limit_amount"], shown["committed_amount"], shown["statutory_amount"]) == (7, 7, 15)


def test_a_rule_version_keeps_the_procedure_s_legal_basis_and_adds_the_decision(setup):
    s, proc, admin, _ = setup
    proc.legal_basis = "Nghị định 08/2014/NĐ-CP"
    _apply(s, proc, admin)
    assert proc.rule_at(date(2026, 1, 1)).legal_basis == "Nghị định 08/2014/NĐ-CP\nQuyết định số 1094/QĐ-UBND ngày 20/12/2025"
    assert proc.rule_at(date(2025, 12, 31)).legal_basis == "Nghị định 08/2014/NĐ-CP"
