"""An alert is about exactly one subject (a dossier, or a plan task's period), unique per subject and kind.

Generalising ``Alert`` from a required ``dossier_id`` must not weaken the scan's
uniqueness: a dossier still has at most one alert per kind, a period too, and an
alert about nothing (or about two things) is refused by the database itself.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from tests.factories import make_procedure
from tests.integration.test_scan import make_dossier
from tthc.models import Alert, Plan, PlanPeriod, PlanTask

AT = datetime(2026, 3, 2, 10, 0)


@pytest.fixture
def subjects(db_session):
    proc = make_procedure(db_session)
    dossier = make_dossier(db_session, proc)
    plan = Plan(number="01A/KH-SKHCN", issued_date=date(2018, 1, 9), title="Kế hoạch PAPI", first_year=2018,
                last_year=2020)
    task = PlanTask(plan=plan, number=1, content="Ban hành kế hoạch", timing="Tháng 01/2018")
    period = PlanPeriod(task=task, label="Tháng 01/2018", start_date=date(2018, 1, 1), end_date=date(2018, 1, 31),
                        due_date=date(2018, 2, 7))
    db_session.add_all([plan, task, period])
    db_session.flush()
    return dossier, period


def _add(session, **kw):
    with session.begin_nested():
        session.add(Alert(created_at=AT, **kw))
        session.flush()


def test_a_dossier_and_a_plan_period_each_get_one_alert_per_kind(db_session, subjects):
    dossier, period = subjects
    _add(db_session, dossier_id=dossier.id, kind="overdue")
    _add(db_session, plan_period_id=period.id, kind="plan_missing")
    _add(db_session, plan_period_id=period.id, kind="plan_due")
    for kw in ({"dossier_id": dossier.id, "kind": "overdue"}, {"plan_period_id": period.id, "kind": "plan_missing"}):
        with pytest.raises(IntegrityError):
            _add(db_session, **kw)
    assert db_session.query(Alert).count() == 3


@pytest.mark.parametrize("which", ["neither", "both"])
def test_an_alert_about_no_subject_or_two_subjects_is_refused(db_session, subjects, which):
    dossier, period = subjects
    kw = {} if which == "neither" else {"dossier_id": dossier.id, "plan_period_id": period.id}
    with pytest.raises(IntegrityError):
        _add(db_session, kind="overdue", **kw)
