"""Every route × every role: allowed, 403, or a redirect to the login page.

The table below is the permission policy, written out by hand. A new route that
is not in the table fails ``test_every_route_is_in_the_role_matrix``, so nobody
adds a page without deciding who may see it.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from tests.factories import make_procedure, make_unit, make_user
from tests.helpers import csrf_token
from tthc.extensions import db
from tthc.models import DeskContact, Dossier, DossierEvent, Plan, PlanPeriod, PlanProgress, PlanTask, User

ALL = frozenset({"reception", "handler", "supervisor", "admin"})
ROLES = sorted(ALL)

# Endpoints answering without login.
PUBLIC = {"auth.login", "static"}
# Blueprints that authenticate themselves (bearer tokens) and answer JSON 401: tested in test_api.py.
SELF_AUTHENTICATED_PREFIXES = ("api.", "api_alerts.", "public.")

MATRIX: dict[str, frozenset[str]] = {
    "main.index": ALL,
    "auth.logout": ALL,
    "auth.change_password": ALL,
    "admin.list_users": frozenset({"admin"}),
    "admin.new_user": frozenset({"admin"}),
    "admin.edit_user": frozenset({"admin"}),
    "admin.reset_user_password": frozenset({"admin"}),
    "admin.list_units": frozenset({"admin"}),
    "admin.edit_unit": frozenset({"admin"}),
    "catalog.list_procedures": ALL,
    "catalog.show_procedure": ALL,
    "catalog.new_procedure": frozenset({"admin"}),
    "catalog.edit_procedure": frozenset({"admin"}),
    "catalog.import_procedures": frozenset({"admin"}),
    "catalog.export_procedures": frozenset({"admin", "supervisor"}),
    "deadlines.show_calendar": frozenset({"supervisor", "admin"}),
    "deadlines.edit_day": frozenset({"admin"}),
    "deadlines.confirm_year": frozenset({"admin"}),
    "intake.new_dossier": frozenset({"reception"}),
    "intake.preview_appointment": frozenset({"reception"}),
    "intake.scan_cccd": frozenset({"reception"}),
    "intake.list_dossiers": ALL,
    "intake.show_dossier": ALL,
    # Sampled with event_type "forwarded", which only reception may record; the other event types
    # are each role's per the state machine (domain.md §8), tested in test_intake_services.py.
    "intake.add_event": frozenset({"reception"}),
    "intake.void_event": frozenset({"supervisor"}),
    "intake.correct_dossier": frozenset({"reception", "supervisor"}),
    "intake.print_receipt": ALL,
    "intake.print_supplement_request": ALL,
    "intake.print_refusal": ALL,
    "intake.print_apology": ALL,
    "intake.print_stop_notice": ALL,
    "intake.print_control_slip": ALL,
    "intake.list_desk_contacts": frozenset({"reception", "supervisor"}),
    "intake.new_desk_contact": frozenset({"reception"}),
    "intake.print_desk_contact": frozenset({"reception", "supervisor"}),
    "watch.show_dashboard": frozenset({"supervisor", "admin", "handler"}),
    "watch.list_alerts": ALL,
    "watch.ack_alerts": ALL,
    "reports.index": frozenset({"supervisor", "admin"}),
    "reports.download_report": frozenset({"supervisor", "admin"}),
    "review.show_review": frozenset({"supervisor", "admin"}),
    "review.what_if": frozenset({"supervisor", "admin"}),
    "review.download_review": frozenset({"supervisor", "admin"}),
    "review.apply_decision": frozenset({"admin"}),
    # Action plans (issue 17): everybody reads them; recording progress is checked per task (linked users,
    # supervisors, admins) in test_plan_pages.py; the administrator imports and edits; the report goes to
    # supervisors and administrators like the other reports.
    "plans.list_plans": ALL,
    "plans.show_plan": ALL,
    "plans.show_period": ALL,
    "plans.download_evidence": ALL,
    "plans.import_plan": frozenset({"admin"}),
    "plans.edit_plan": frozenset({"admin"}),
    "plans.edit_task": frozenset({"admin"}),
    "plans.show_report": frozenset({"supervisor", "admin"}),
    "plans.download_report": frozenset({"supervisor", "admin"}),
    "dossier_import.index": frozenset({"admin"}),
    "dossier_import.preview_import": frozenset({"admin"}),
    "dossier_import.map_columns": frozenset({"admin"}),
    "dossier_import.run_import": frozenset({"admin"}),
    "dossier_import.show_run": frozenset({"admin"}),
    "dossier_import.download_report": frozenset({"admin"}),
}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or rule.endpoint.startswith(SELF_AUTHENTICATED_PREFIXES):
            continue
        yield rule


def test_every_route_is_in_the_role_matrix(app):
    missing = sorted({r.endpoint for r in _routes(app)} - set(MATRIX))
    assert not missing, f"routes without a decided role policy: {missing}"
    stale = sorted(set(MATRIX) - {r.endpoint for r in app.url_map.iter_rules()})
    assert not stale, f"role matrix names routes that no longer exist: {stale}"


@pytest.fixture
def world(app):
    """One object of each kind, visible to the handler's unit, so every URL can be built."""
    with app.app_context():
        unit = make_unit(db.session, code="QLKH", name="Phòng Quản lý Khoa học")
        proc = make_procedure(db.session, unit=unit)
        for role in ROLES:
            make_user(db.session, role=role, username=f"m-{role}", unit=unit if role == "handler" else None)
        target = make_user(db.session, role="reception", username="m-target")
        at = datetime(2026, 3, 2, 9, 15)
        dossier = Dossier(
            code="000.00.31.H49-260302-0001", procedure=proc, rule={"limit_unit": "working_days", "limit_amount": 3,
                                                                     "supplement_rule": "restart"},
            field=proc.field, unit_id=unit.id, current_unit_id=unit.id, applicant_name="Nguyễn Văn A",
            applicant_name_search="nguyen van a", channel="direct", received_at=at, register_year=2026,
            register_number=1, status="received", documents=[], deadline_at=datetime(2026, 3, 5, 9, 15),
            original_deadline_at=datetime(2026, 3, 5, 9, 15), appointment_at=datetime(2026, 3, 5, 9, 15),
        )
        db.session.add(dossier)
        db.session.flush()
        event = DossierEvent(dossier_id=dossier.id, seq=1, type="received", at=at, recorded_at=at, data={})
        db.session.add(event)
        contact = DeskContact(kind="guidance", applicant_name="Trần B", reason="Thiếu đơn", created_at=at)
        db.session.add(contact)
        plan = Plan(number="01A/KH-SKHCN", issued_date=date(2018, 1, 9), title="Kế hoạch PAPI", first_year=2018,
                    last_year=2018)
        task = PlanTask(plan=plan, number=1, content="Ban hành kế hoạch", timing="Tháng 01/2018")
        period = PlanPeriod(task=task, label="Tháng 01/2018", start_date=date(2018, 1, 1),
                            end_date=date(2018, 1, 31), due_date=date(2018, 2, 7))
        progress = PlanProgress(period=period, recorded_at=at, status="done", done_text="Đã ban hành")
        db.session.add_all([plan, task, period, progress])
        db.session.commit()
        return {"plan_id": plan.id, "task_id": task.id, "period_id": period.id, "progress_id": progress.id,
                "user_id": target.id, "unit_id": unit.id, "procedure_id": proc.id, "code": dossier.code,
                "event_id": event.id, "contact_id": contact.id, "year": 2026, "event_type": "forwarded",
                "run_id": 1}


def _url(app, rule, world) -> str:
    from flask import url_for

    values = {}
    for arg in rule.arguments:
        assert arg in world, f"role matrix: no sample value for URL argument {arg!r} of {rule.endpoint}"
        values[arg] = world[arg]
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def _request(client, rule, url):
    if "GET" in rule.methods:
        return client.get(url)
    return client.post(url, data={"csrf_token": csrf_token(client, "/login" if not _logged_in(client) else "/")})


def _logged_in(client) -> bool:
    with client.session_transaction() as sess:
        return "_user_id" in sess


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")


def test_anonymous_is_redirected_to_login_on_every_route(app, world):
    client = app.test_client()
    failures = []
    for rule in _routes(app):
        response = _request(client, rule, _url(app, rule, world))
        if not _is_login_redirect(response):
            failures.append(f"{rule.endpoint} {rule.rule}: {response.status_code}")
    assert not failures, failures


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_the_routes_of_the_matrix(app, world, role):
    from tests.factories import PASSWORD

    failures = []
    for rule in sorted(_routes(app), key=lambda r: (r.endpoint, r.rule)):
        # a fresh login per route: some routes (logout, password reset) end the session
        client = app.test_client()
        login = client.post("/login", data={"username": f"m-{role}", "password": PASSWORD,
                                            "csrf_token": csrf_token(client, "/login")})
        assert login.status_code == 302
        response = _request(client, rule, _url(app, rule, world))
        allowed = role in MATRIX[rule.endpoint]
        if allowed:
            if response.status_code in (401, 403, 500) or _is_login_redirect(response) and rule.endpoint != "auth.logout":
                failures.append(f"{rule.endpoint} should be allowed for {role}: {response.status_code}")
        elif response.status_code != 403:
            failures.append(f"{rule.endpoint} should be 403 for {role}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_a_handler_does_not_see_another_units_dossier(app, world):
    from tests.factories import PASSWORD

    with app.app_context():
        other = make_unit(db.session, code="KHAC", name="Đơn vị khác")
        make_user(db.session, role="handler", username="m-other-handler", unit=other)
        db.session.commit()
        assert db.session.scalar(select(User).where(User.username == "m-other-handler")) is not None
    client = app.test_client()
    client.post("/login", data={"username": "m-other-handler", "password": PASSWORD,
                                "csrf_token": csrf_token(client, "/login")})
    assert client.get(f"/dossiers/{world['code']}").status_code == 404
    assert client.get(f"/dossiers/{world['code']}/receipt").status_code == 404
