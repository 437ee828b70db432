"""The reception desk's services: reception, every transition and refusal of the state machine
(domain.md §8), permissions, versions, late-recorded times, voiding, corrections, desk
contacts, search and live flags. Runs on SQLite and, when configured, PostgreSQL.

Time is always passed in: the dossiers are received on Monday 09/03/2026 09:15.
"""
from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from deadlines.store import calendar_for
from intake import services
from intake.services import IntakeError
from werkzeug.security import generate_password_hash

from tests.factories import make_procedure, make_unit
from tthc.models import AuditLog, DeskContact, Dossier, DossierEvent, ProcedureStep, User

MON_0915 = datetime(2026, 3, 9, 9, 15)
MON_1000 = datetime(2026, 3, 9, 10, 0)
TUE_0800 = datetime(2026, 3, 10, 8, 0)
WED_0800 = datetime(2026, 3, 11, 8, 0)
THU_0800 = datetime(2026, 3, 12, 8, 0)
APPLICANT = {"kind": "individual", "name": "Nguyễn Văn An", "id_number": "001090012345", "phone": "0912 345 678",
             "email": "an@example.vn", "address": "12 Lê Lợi, phường Bến Thành"}


_HASH: list[str] = []


def fast_user(session, role: str, username: str, unit=None, is_unit_head: bool = False) -> User:
    """A user without paying scrypt for each one (the password is never used here)."""
    if not _HASH:
        _HASH.append(generate_password_hash("unused-password", method="scrypt"))
    user = User(username=username, full_name=username.title(), role=role, unit=unit, active=True,
                is_unit_head=is_unit_head, password_hash=_HASH[0])
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def desk(db_session):
    s = db_session
    desk_unit = make_unit(s, code="MOTCUA", name="Bộ phận Tiếp nhận và Trả kết quả")
    unit_a = make_unit(s, code="QLKH", name="Phòng Quản lý Khoa học")
    unit_b = make_unit(s, code="QLCN", name="Phòng Quản lý Công nghệ")
    ns = SimpleNamespace(
        session=s, desk_unit=desk_unit, unit_a=unit_a, unit_b=unit_b,
        reception=fast_user(s, "reception", "tiepnhan", unit=desk_unit),
        handler=fast_user(s, "handler", "chuyenvien", unit=unit_a),
        head=fast_user(s, "handler", "truongphong", unit=unit_a, is_unit_head=True),
        handler_b=fast_user(s, "handler", "chuyenvienb", unit=unit_b),
        supervisor=fast_user(s, "supervisor", "lanhdao"),
        admin=fast_user(s, "admin", "quantri"),
        procedure=make_procedure(s, unit_id=unit_a.id, name="Cấp giấy chứng nhận hoạt động khoa học"),
    )
    s.commit()
    return ns


def receive(desk, **kw):
    kw.setdefault("procedure", desk.procedure)
    kw.setdefault("applicant", dict(APPLICANT))
    kw.setdefault("channel", "direct")
    kw.setdefault("received_by", desk.reception)
    kw.setdefault("received_at", MON_0915)
    kw.setdefault("now", MON_1000)
    return services.receive_dossier(desk.session, **kw)


def forward(desk, dossier, at=MON_1000, now=MON_1000, **kw):
    return services.record_event(desk.session, dossier, "forwarded", user=desk.reception, now=now, at=at, **kw)


def in_state(desk, state: str) -> Dossier:
    """A dossier brought to ``state`` through the services (each step one hour apart)."""
    d = receive(desk)
    s, ev = desk.session, services.record_event
    if state == "received":
        return d
    if state in ("returned_unprocessed", "withdrawn"):
        ev(s, d, state, user=desk.reception, now=MON_1000, note="Người nộp đề nghị")
        return d
    if state == "cancelled":
        ev(s, d, "cancelled", user=desk.supervisor, now=MON_1000, note="Nhập nhầm")
        return d
    forward(desk, d)
    if state == "in_progress":
        return d
    if state == "awaiting_supplement":
        ev(s, d, "supplement_requested", user=desk.handler, now=TUE_0800, note="Bổ sung bản sao giấy phép",
           data={"documents_to_add": ["Bản sao giấy phép"]})
        return d
    if state == "stopped":
        ev(s, d, "stopped", user=desk.supervisor, now=TUE_0800,
           note="Người nộp đề nghị dừng; căn cứ Điều 21 Nghị định 118/2025/NĐ-CP")
        return d
    ev(s, d, "finished", user=desk.handler, now=TUE_0800, result="approved")
    if state == "finished":
        return d
    ev(s, d, "handed_over", user=desk.reception, now=WED_0800)
    assert state == "handed_over"
    return d


def event_types(dossier) -> list[str]:
    return [e.type for e in sorted(dossier.events, key=lambda e: e.seq)]


# -- reception -----------------------------------------------------------------------


def test_received_dossier_gets_code_register_number_rule_snapshot_and_appointment(desk, app):
    d = receive(desk, request_summary="Cấp giấy chứng nhận")
    agency = app.config["AGENCY_CODE"]
    assert d.code == f"{agency}-260309-0001"
    assert (d.register_year, d.register_number) == (2026, 1)
    assert d.status == "received" and d.version == 1
    assert d.deadline_at == datetime(2026, 3, 23, 9, 15)  # 10 working days from Monday 09:15
    assert d.original_deadline_at == d.deadline_at == d.appointment_at
    assert d.forwarding_deadline_at == datetime(2026, 3, 9, 17, 0)
    assert d.field == desk.procedure.field and d.unit_id == desk.unit_a.id and d.current_unit_id is None
    assert d.rule["limit_unit"] == "working_days" and d.rule["limit_amount"] == 10
    assert d.rule["procedure_name"] == desk.procedure.name and d.rule["steps"] == []
    assert d.applicant_phone == "0912345678" and d.applicant_name_search == "nguyen van an"
    assert [doc["name"] for doc in d.documents] == [doc.name for doc in desk.procedure.documents]
    assert event_types(d) == ["received"] and d.events[0].at == MON_0915
    assert desk.session.scalar(select(AuditLog).where(AuditLog.action == "receive")).entity_id == str(d.id)


def test_received_dossier_snapshots_the_committed_limit_as_effective_and_keeps_it_when_the_catalog_changes(desk):
    desk.procedure.committed_amount, desk.procedure.committed_unit = 5, "working_days"
    desk.procedure.statutory_amount, desk.procedure.limit_unit = 1, "months"
    d = receive(desk)
    assert d.rule["limit_amount"] == 5 and d.rule["statutory_unit"] == "months"
    assert d.deadline_at == datetime(2026, 3, 16, 9, 15)
    desk.procedure.committed_amount = 1
    forward(desk, d)
    assert d.deadline_at == datetime(2026, 3, 16, 9, 15)


def test_a_procedure_without_time_limit_gives_a_dossier_without_deadline(desk):
    proc = make_procedure(desk.session, unit_id=desk.unit_a.id, limit_unit="none", statutory_amount=None)
    d = receive(desk, procedure=proc)
    assert d.deadline_at is None and d.appointment_at is None


@pytest.mark.parametrize("applicant, field", [
    ({"name": "", "id_number": "001090012345"}, "applicant.name"),
    ({"name": "A", "id_number": "12345"}, "applicant.id_number"),
    ({"name": "A", "id_number": ""}, "applicant.id_number"),
    ({"name": "A", "id_number": "0123456789"}, "applicant.id_number"),  # a tax code is not a person's ID
    ({"kind": "organisation", "name": "Công ty A", "id_number": "001090012345"}, "applicant.id_number"),
    ({"kind": "robot", "name": "A", "id_number": "001090012345"}, "applicant.kind"),
    ({"name": "A", "id_number": "001090012345", "phone": "12345"}, "applicant.phone"),
    ({"name": "A", "id_number": "001090012345", "phone": "0912abc678"}, "applicant.phone"),
    ({"name": "A", "id_number": "001090012345", "email": "not-an-email"}, "applicant.email"),
    ({"name": 12, "id_number": "001090012345"}, "applicant.name"),
])
def test_reception_refuses_invalid_applicant_data_naming_the_field(desk, applicant, field):
    with pytest.raises(IntakeError) as err:
        receive(desk, applicant=applicant)
    assert (err.value.status, err.value.field) == (422, field)


def test_identity_documents_and_phones_are_normalised(desk):
    passport = receive(desk, applicant={"name": "John", "id_number": "c1234567", "phone": "+84 912-345-678"})
    assert passport.applicant_id_number == "C1234567" and passport.applicant_phone == "0912345678"
    company = receive(desk, applicant={"kind": "organisation", "name": "Công ty TNHH A", "id_number": "0123456789001",
                                       "phone": "028 3822 1234"})
    assert company.applicant_id_number == "0123456789-001" and company.applicant_phone == "02838221234"
    assert receive(desk, applicant={"kind": "organisation", "name": "B", "id_number": "0123456789"}
                   ).applicant_id_number == "0123456789"


def test_reception_refuses_bad_times_channel_sets_documents_and_procedures(desk):
    cases = [
        (dict(received_at=datetime(2026, 3, 9, 10, 1)), 422, "received_at"),  # in the future
        (dict(submitted_at=datetime(2026, 3, 9, 9, 16)), 422, "submitted_at"),
        (dict(received_at=datetime(1999, 1, 1, 9, 0)), 422, "received_at"),
        (dict(channel="fax"), 422, "channel"),
        (dict(sets=0), 422, "sets"),
        (dict(sets="2"), 422, "sets"),
        (dict(documents=[{"name": "", "kind": "copy", "count": 1}]), 422, "documents[0].name"),
        (dict(documents=[{"name": "Đơn", "kind": "scan", "count": 1}]), 422, "documents[0].kind"),
        (dict(documents=[{"name": "Đơn", "count": 0}]), 422, "documents[0].count"),
        (dict(received_by=desk.handler), 403, None),
        (dict(received_by=desk.supervisor), 403, None),
        (dict(procedure=make_procedure(desk.session, active=False)), 422, "procedure_id"),
        (dict(procedure=make_procedure(desk.session, limit_unit=None, statutory_amount=None)), 422, "procedure_id"),
    ]
    for kwargs, status, field in cases:
        with pytest.raises(IntakeError) as err:
            receive(desk, **kwargs)
        assert (err.value.status, err.value.field) == (status, field), kwargs
    assert desk.session.scalar(select(Dossier.id)) is None


def test_online_dossier_keeps_submission_and_reception_times_and_counts_from_reception(desk):
    d = receive(desk, channel="online", submitted_at=datetime(2026, 3, 6, 21, 0), received_at=MON_0915)
    assert d.submitted_at == datetime(2026, 3, 6, 21, 0) and d.effective_start_at == MON_0915


def test_external_code_is_kept_consumes_no_number_and_must_be_unique(desk, app):
    ext = receive(desk, code="H49.31-260309-000123", reception_point="Trung tâm PVHCC tỉnh")
    assert ext.code == "H49.31-260309-000123" and ext.external_code and ext.reception_point == "Trung tâm PVHCC tỉnh"
    own = receive(desk)
    assert own.code.endswith("-260309-0001")
    with pytest.raises(IntakeError) as err:
        receive(desk, code="H49.31-260309-000123")
    assert (err.value.status, err.value.field) == (409, "code")
    with pytest.raises(IntakeError) as err:
        receive(desk, code=f"{app.config['AGENCY_CODE']}-260309-0002")
    assert (err.value.status, err.value.field) == (422, "code")
    with pytest.raises(IntakeError) as err:
        receive(desk, code="có dấu cách")
    assert err.value.field == "code"


# -- the state machine: every transition -----------------------------------------------


def test_forwarding_moves_the_dossier_to_the_unit_and_opens_the_control_slip(desk):
    d = receive(desk)
    forward(desk, d, expected_version=1)
    assert d.status == "in_progress" and d.current_unit_id == desk.unit_a.id and d.forwarded_at == MON_1000
    assert d.version == 2
    [row] = d.handovers
    assert (row.position, row.from_unit_id, row.to_unit_id, row.handed_at) == (1, desk.desk_unit.id, desk.unit_a.id,
                                                                               MON_1000)
    assert row.quota_deadline_at == d.deadline_at and row.completed_at is None


def test_forwarding_needs_a_unit_when_the_procedure_has_none(desk):
    proc = make_procedure(desk.session, unit_id=None)
    d = receive(desk, procedure=proc)
    with pytest.raises(IntakeError) as err:
        forward(desk, d)
    assert (err.value.status, err.value.field) == (422, "unit_id")
    forward(desk, d, unit=desk.unit_b.id)
    assert d.current_unit_id == desk.unit_b.id and d.unit_id == desk.unit_b.id


def test_step_hand_over_runs_each_step_quota_from_its_actual_hand_over(desk):
    proc = make_procedure(desk.session, unit_id=desk.unit_a.id, statutory_amount=10)
    proc.steps.extend([ProcedureStep(position=0, name="Thẩm định", unit_id=desk.unit_a.id, share_amount=6),
                       ProcedureStep(position=1, name="Phê duyệt", unit_id=desk.unit_b.id, share_amount=4)])
    desk.session.flush()
    d = receive(desk, procedure=proc)
    forward(desk, d)
    services.record_event(desk.session, d, "step_handed_over", user=desk.handler, now=THU_0800, unit=desk.unit_b,
                          data={"receiver_name": "Trần B"})
    assert d.current_unit_id == desk.unit_b.id and d.status == "in_progress"
    first, second = d.handovers
    assert first.quota_deadline_at == datetime(2026, 3, 17, 10, 0)  # 6 working days from Monday 10:00
    assert first.completed_at == THU_0800 and first.result == "early"
    assert (second.from_unit_id, second.to_unit_id, second.receiver_name) == (desk.unit_a.id, desk.unit_b.id, "Trần B")
    assert second.quota_deadline_at == datetime(2026, 3, 18, 8, 0)  # 4 working days from Thursday 08:00
    with pytest.raises(IntakeError) as err:  # the first unit no longer holds it
        services.record_event(desk.session, d, "finished", user=desk.handler, now=THU_0800, result="approved")
    assert err.value.status == 403
    services.record_event(desk.session, d, "finished", user=desk.handler_b, now=datetime(2026, 3, 13, 9),
                          result="approved")
    assert d.handovers[1].completed_at == datetime(2026, 3, 13, 9) and d.handovers[1].result == "early"


def test_step_hand_over_needs_another_unit(desk):
    d = in_state(desk, "in_progress")
    for unit in (None, desk.unit_a):
        with pytest.raises(IntakeError) as err:
            services.record_event(desk.session, d, "step_handed_over", user=desk.supervisor, now=TUE_0800, unit=unit)
        assert (err.value.status, err.value.field) == (422, "unit_id")
    with pytest.raises(IntakeError) as err:
        services.record_event(desk.session, d, "step_handed_over", user=desk.supervisor, now=TUE_0800, unit=99999)
    assert (err.value.status, err.value.field) == (422, "unit_id")


def test_supplement_request_and_receipt_restart_the_whole_limit(desk):
    d = in_state(desk, "in_progress")
    with pytest.raises(IntakeError) as err:
        services.record_event(desk.session, d, "supplement_requested", user=desk.handler, now=TUE_0800)
    assert (err.value.status, err.value.field) == (422, "note")
    services.record_event(desk.session, d, "supplement_requested", user=desk.handler, now=TUE_0800,
                          note="Bổ sung bản sao giấy phép", data={"documents_to_add": ["Bản sao giấy phép"]})
    assert d.status == "awaiting_supplement" and d.supplement_count == 1
    services.record_event(desk.session, d, "supplement_received", user=desk.reception, now=datetime(2026, 3, 16, 9))
    assert d.status == "in_progress"
    assert d.deadline_at == datetime(2026, 3, 30, 9, 0)  # 10 working days again from Monday 16/03 09:00
    # The restart re-issues the receipt with the new appointment (domain.md §9; issue 10, defect 2).
    assert d.original_deadline_at == d.deadline_at and d.appointment_at == datetime(2026, 3, 30, 9, 0)
    assert services.reissued_receipt(d) is not None


def test_a_supplement_request_later_than_three_working_days_is_accepted_and_flagged(desk):
    d = in_state(desk, "in_progress")
    services.record_event(desk.session, d, "supplement_requested", user=desk.handler, now=datetime(2026, 3, 13, 9),
                          note="Bổ sung", data={"documents_to_add": ["Bản sao giấy phép"]})
    assert d.flag_late_supplement_request
    assert "late_supplement_request" in services.flags_for(d, datetime(2026, 3, 13, 9), calendar_for(desk.session))


def test_extension_sets_a_new_appointment_once_and_statistics_keep_the_original_deadline(desk):
    d = in_state(desk, "in_progress")
    services.record_event(desk.session, d, "extended", user=desk.head, now=TUE_0800,
                          new_deadline=datetime(2026, 3, 27, 17), note="Cần lấy ý kiến chuyên gia")
    assert d.extended and d.deadline_at == datetime(2026, 3, 27, 17)
    # The applicant now holds the apology's new appointment (domain.md §9; issue 10 deliverable 3).
    assert d.original_deadline_at == datetime(2026, 3, 23, 9, 15) and d.appointment_at == datetime(2026, 3, 27, 17)
    assert d.events[-1].data.get("late_apology") is None
    assert d.events[-1].data["previous_appointment"] == "2026-03-23T09:15:00"
    with pytest.raises(IntakeError) as err:
        services.record_event(desk.session, d, "extended", user=desk.supervisor, now=TUE_0800,
                              new_deadline=datetime(2026, 4, 3, 17))
    assert err.value.status == 409 and "một lần" in err.value.message
    services.record_event(desk.session, d, "finished", user=desk.handler, now=datetime(2026, 3, 25, 9),
                          result="approved")
    assert d.classification == "late"  # judged against the original deadline (domain.md §4.6)


def test_extension_needs_a_later_new_deadline_and_a_unit_head(desk):
    d = in_state(desk, "in_progress")
    for new_deadline in (None, datetime(2026, 3, 23, 9, 15), datetime(2026, 3, 20, 17)):
        with pytest.raises(IntakeError) as err:
            services.record_event(desk.session, d, "extended", user=desk.head, now=TUE_0800, new_deadline=new_deadline)
        assert (err.value.status, err.value.field) == (422, "new_deadline")
    with pytest.raises(IntakeError) as err:
        services.record_event(desk.session, d, "extended", user=desk.handler, now=TUE_0800,
                              new_deadline=datetime(2026, 3, 27, 17))
    assert err.value.status == 403


def test_an_extension_later_than_one_working_day_before_the_deadline_is_accepted_and_marked_late(desk):
    d = in_state(desk, "in_progress")
    at = datetime(2026, 3, 20, 10, 0)  # Friday 10:00, deadline Monday 23/03 09:15
    services.record_event(desk.session, d, "extended", user=desk.supervisor, now=at,
                          new_deadline=datetime(2026, 3, 27, 17))
    assert d.events[-1].data["late_apology"] is True
    audit = desk.session.scalars(select(AuditLog).where(AuditLog.action == "event:extended")).one()
    assert "gia hạn muộn" in audit.note


def test_finishing_needs_a_result_and_classifies_the_dossier_then_hand_over_closes_it(desk):
    d = in_state(desk, "in_progress")
    with pytest.raises(IntakeError) as err:
        services.record_event(desk.session, d, "finished", user=desk.handler, now=TUE_0800, result="ok")
    assert (err.value.status, err.value.field) == (422, "result")
    services.record_event(desk.session, d, "finished", user=desk.handler, now=TUE_0800, result="refused",
                          note="Không đủ điều kiện")
    assert (d.status, d.result, d.classification, d.finished_at) == ("finished", "refused", "early", TUE_0800)
    assert d.handovers[0].completed_at == TUE_0800 and d.handovers[0].result == "early"
    services.record_event(desk.session, d, "handed_over", user=desk.reception, now=WED_0800)
    assert d.status == "handed_over" and d.handed_over_at == WED_0800


@pytest.mark.parametrize("event_type, user_attr", [
    ("returned_unprocessed", "reception"), ("returned_unprocessed", "supervisor"), ("withdrawn", "reception"),
    ("cancelled", "supervisor"),
])
def test_closing_events_need_a_reason_and_keep_the_code(desk, event_type, user_attr):
    d = in_state(desk, "in_progress")
    code = d.code
    user = getattr(desk, user_attr)
    with pytest.raises(IntakeError) as err:
        services.record_event(desk.session, d, event_type, user=user, now=TUE_0800, note="  ")
    assert (err.value.status, err.value.field) == (422, "note")
    services.record_event(desk.session, d, event_type, user=user, now=TUE_0800, note="Lý do cụ thể")
    assert d.status == event_type and d.closed_at == TUE_0800 and d.code == code


def test_a_finished_dossier_can_still_be_cancelled_but_not_once_handed_over(desk):
    d = in_state(desk, "finished")
    services.record_event(desk.session, d, "cancelled", user=desk.supervisor, now=WED_0800, note="Nhập nhầm")
    assert d.status == "cancelled"
    handed = in_state(desk, "handed_over")
    with pytest.raises(IntakeError) as err:
        services.record_event(desk.session, handed, "cancelled", user=desk.supervisor, now=THU_0800, note="x")
    assert err.value.status == 409


# -- the state machine: every refusal --------------------------------------------------

ALL_STATES = ["received", "in_progress", "awaiting_supplement", "finished", "handed_over", "returned_unprocessed",
              "withdrawn", "stopped", "cancelled"]
ROLES = ["reception", "head", "supervisor", "admin"]


def expected_outcome(event_type: str, state: str, role: str, at_own_unit: bool) -> int:
    """200 when allowed, else the status the domain table (domain.md §8) demands."""
    real_role = "handler" if role == "head" else role
    table = {
        "forwarded": ({"received"}, {"reception"}),
        "step_handed_over": ({"in_progress"}, {"handler", "supervisor"}),
        "supplement_requested": ({"in_progress"}, {"handler"}),
        "supplement_received": ({"awaiting_supplement"}, {"reception"}),
        "extended": ({"in_progress", "awaiting_supplement"}, {"handler", "supervisor"}),
        "finished": ({"in_progress"}, {"handler"}),
        "handed_over": ({"finished"}, {"reception"}),
        "returned_unprocessed": ({"received", "in_progress", "awaiting_supplement"}, {"reception", "supervisor"}),
        "withdrawn": ({"received", "in_progress", "awaiting_supplement"}, {"reception"}),
        "stopped": ({"in_progress", "awaiting_supplement"}, {"handler", "supervisor"}),
        "cancelled": (set(ALL_STATES) - {"handed_over", "cancelled"}, {"supervisor"}),
    }
    states, roles = table[event_type]
    if real_role not in roles or (real_role == "handler" and not at_own_unit):
        return 403
    return 200 if state in states else 409


@pytest.mark.parametrize("state", ALL_STATES)
def test_every_event_from_every_state_by_every_role_follows_the_state_machine(desk, state):
    d = in_state(desk, state)
    assert d.status == state
    at_own_unit = d.current_unit_id == desk.unit_a.id
    kwargs = dict(note="Lý do", unit=desk.unit_b, new_deadline=datetime(2026, 4, 30, 17), result="approved")
    for role in ROLES:
        user = getattr(desk, role)
        allowed = services.allowed_events(d, user)
        for event_type in services.EVENT_TYPES:
            expected = expected_outcome(event_type, state, role, at_own_unit)
            assert (event_type in allowed) == (expected == 200), (event_type, state, role)
            if expected == 200:
                continue  # the transitions themselves are tested one by one above
            version = d.version
            with pytest.raises(IntakeError) as err:
                services.record_event(desk.session, d, event_type, user=user, now=datetime(2026, 3, 13, 9), **kwargs)
            assert err.value.status == expected, (event_type, state, role, err.value.message)
            assert err.value.message
            assert d.status == state and d.version == version


def test_a_handler_of_another_unit_gets_404_and_never_learns_the_dossier_exists(desk):
    d = in_state(desk, "in_progress")
    for call in (
        lambda: services.get_dossier_for(desk.session, d.code, desk.handler_b),
        lambda: services.record_event(desk.session, d, "finished", user=desk.handler_b, now=TUE_0800,
                                      result="approved"),
        lambda: services.correct_dossier(desk.session, d, {"sets": 2}, user=desk.handler_b, now=TUE_0800,
                                         expected_version=None),
    ):
        with pytest.raises(IntakeError) as err:
            call()
        assert err.value.status == 404
    assert services.allowed_events(d, desk.handler_b) == []
    assert services.get_dossier_for(desk.session, d.code, desk.handler) is d
    with pytest.raises(IntakeError) as err:
        services.get_dossier_for(desk.session, "NO-SUCH-CODE", desk.supervisor)
    assert err.value.status == 404


def test_an_administrator_sees_every_dossier_but_acts_on_none(desk):
    d = in_state(desk, "in_progress")
    assert services.get_dossier_for(desk.session, d.code, desk.admin) is d
    assert services.allowed_events(d, desk.admin) == []
    with pytest.raises(IntakeError) as err:
        services.void_event(desk.session, d, d.events[-1].id, user=desk.admin, reason="x", now=TUE_0800)
    assert err.value.status == 403


# -- versions and concurrency ----------------------------------------------------------


def test_a_stale_expected_version_is_refused_with_409(desk):
    d = receive(desk)
    forward(desk, d, expected_version=1)
    with pytest.raises(IntakeError) as err:
        services.record_event(desk.session, d, "withdrawn", user=desk.reception, now=TUE_0800, note="x",
                              expected_version=1)
    assert err.value.status == 409 and "người khác" in err.value.message
    assert d.status == "in_progress"


def test_two_officers_acting_on_the_same_loaded_version_the_second_gets_409(desk, app):
    from tthc.extensions import db

    d = receive(desk)
    code, reception_id = d.code, desk.reception.id  # read before commit: a refresh would open a write transaction
    desk.session.commit()
    stale_session = Session(bind=db.engine, expire_on_commit=False)
    try:
        stale = stale_session.scalar(select(Dossier).where(Dossier.code == code))
        stale.events, stale.handovers  # loaded while version 1
        reception = stale_session.get(User, reception_id)
        stale_session.commit()  # the transaction ends; the objects keep version 1 in memory

        forward(desk, d)
        desk.session.commit()
        assert d.version == 2
        desk.session.commit()  # SQLite: reading opened a write transaction (BEGIN IMMEDIATE); end it

        with pytest.raises(IntakeError) as err:
            services.record_event(stale_session, stale, "withdrawn", user=reception, now=TUE_0800, note="Rút")
        assert err.value.status == 409
        stale_session.rollback()
    finally:
        stale_session.close()
    desk.session.expire_all()
    assert desk.session.scalar(select(Dossier.status).where(Dossier.code == code)) == "in_progress"


# -- late-recorded events --------------------------------------------------------------


def test_an_event_recorded_late_keeps_its_true_time_and_is_audited(desk):
    d = receive(desk)
    forward(desk, d, at=datetime(2026, 3, 9, 9, 30), now=TUE_0800)
    assert d.forwarded_at == datetime(2026, 3, 9, 9, 30) and d.events[-1].recorded_at == TUE_0800
    audit = desk.session.scalars(select(AuditLog).where(AuditLog.action == "event:forwarded")).one()
    assert "ghi nhận muộn" in audit.note


def test_an_event_time_in_the_future_or_before_the_previous_event_is_refused(desk):
    d = receive(desk)
    for at in (datetime(2026, 3, 9, 10, 1), datetime(2026, 3, 9, 9, 14)):
        with pytest.raises(IntakeError) as err:
            forward(desk, d, at=at, now=MON_1000)
        assert (err.value.status, err.value.field) == (422, "at")
    forward(desk, d, at=datetime(2026, 3, 9, 9, 45), now=MON_1000)
    with pytest.raises(IntakeError) as err:
        services.record_event(desk.session, d, "finished", user=desk.handler, now=TUE_0800,
                              at=datetime(2026, 3, 9, 9, 40), result="approved")
    assert (err.value.status, err.value.field) == (422, "at")


# -- voiding ---------------------------------------------------------------------------


def test_voiding_an_event_adds_a_compensating_event_and_replays_the_status(desk):
    d = in_state(desk, "finished")
    finished = d.events[-1]
    services.void_event(desk.session, d, finished.id, user=desk.supervisor, reason="Ghi nhầm kết quả", now=WED_0800)
    assert d.status == "in_progress" and d.result is None and d.classification is None and d.finished_at is None
    assert finished.voided
    voiding = d.events[-1]
    assert (voiding.type, voiding.voids_event_id, voiding.note) == ("voided", finished.id, "Ghi nhầm kết quả")
    assert d.handovers[0].completed_at is None
    assert len(d.events) == 4  # received, forwarded, finished (voided), voided: nothing deleted
    forwarded = next(e for e in d.events if e.type == "forwarded")
    services.void_event(desk.session, d, forwarded.id, user=desk.supervisor, reason="Chuyển nhầm", now=WED_0800)
    assert d.status == "received" and d.current_unit_id is None and d.forwarded_at is None and d.handovers == []


def test_voiding_is_refused_for_reception_events_dependent_events_and_other_roles(desk):
    d = in_state(desk, "finished")
    received, forwarded = d.events[0], d.events[1]
    cases = [
        (desk.supervisor, received.id, 409),
        (desk.supervisor, forwarded.id, 409),  # the result depends on the forwarding
        (desk.reception, d.events[-1].id, 403),
        (desk.supervisor, 123456, 404),
    ]
    for user, event_id, status in cases:
        with pytest.raises(IntakeError) as err:
            services.void_event(desk.session, d, event_id, user=user, reason="x", now=WED_0800)
        assert err.value.status == status
    with pytest.raises(IntakeError) as err:
        services.void_event(desk.session, d, d.events[-1].id, user=desk.supervisor, reason="", now=WED_0800)
    assert (err.value.status, err.value.field) == (422, "reason")
    assert d.status == "finished" and not any(e.voided for e in d.events)


def test_voiding_an_extension_restores_the_original_deadline_and_allows_a_new_one(desk):
    d = in_state(desk, "in_progress")
    services.record_event(desk.session, d, "extended", user=desk.head, now=TUE_0800,
                          new_deadline=datetime(2026, 3, 27, 17))
    services.void_event(desk.session, d, d.events[-1].id, user=desk.supervisor, reason="Nhập sai ngày",
                        now=WED_0800)
    assert not d.extended and d.deadline_at == d.original_deadline_at
    assert "extended" in services.allowed_events(d, desk.head)


# -- corrections -----------------------------------------------------------------------


def test_correcting_applicant_fields_is_audited_and_recorded_as_an_event(desk):
    d = receive(desk)
    services.correct_dossier(desk.session, d, {"applicant": {"name": "Nguyễn Văn Ân", "phone": "0987654321"},
                                               "sets": 2}, user=desk.reception, now=TUE_0800, expected_version=1)
    assert d.applicant_name == "Nguyễn Văn Ân" and d.applicant_name_search == "nguyen van an"
    assert d.applicant_phone == "0987654321" and d.sets == 2 and d.version == 2
    event = d.events[-1]
    assert event.type == "corrected" and set(event.data["fields"]) == {"applicant_name", "applicant_phone", "sets"}
    assert services.last_correction(d) is event
    audit = desk.session.scalars(select(AuditLog).where(AuditLog.action == "correct")).one()
    assert audit.before["applicant_phone"] == "0912345678" and audit.after["applicant_phone"] == "0987654321"
    assert d.deadline_at == datetime(2026, 3, 23, 9, 15)  # a correction is not a deadline event


def test_corrections_are_refused_when_stale_empty_invalid_or_by_the_wrong_role(desk):
    d = receive(desk)
    cases = [
        ({"sets": 2}, desk.reception, 0, 409, "version"),
        ({"sets": 1}, desk.reception, 1, 422, None),
        ({"procedure_id": 3}, desk.reception, 1, 422, "procedure_id"),
        ({"applicant_id_number": "12"}, desk.supervisor, 1, 422, "applicant.id_number"),
        ({"sets": 2}, desk.handler, 1, 403, None),
        ({"sets": 2}, desk.admin, 1, 403, None),
    ]
    for changes, user, version, status, field in cases:
        with pytest.raises(IntakeError) as err:
            services.correct_dossier(desk.session, d, changes, user=user, now=TUE_0800, expected_version=version)
        assert (err.value.status, err.value.field) == (status, field), changes
    assert d.version == 1 and d.sets == 1


# -- desk contacts ---------------------------------------------------------------------


def test_guidance_and_refusal_at_the_desk_are_uncoded_contacts(desk):
    guidance = services.record_desk_contact(
        desk.session, kind="guidance", applicant_name="Lê Thị B", procedure=desk.procedure, reason="Thiếu bản sao",
        officer=desk.reception, now=MON_1000, applicant_phone="0912345678", documents_to_add="Bản sao CCCD")
    refusal = services.record_desk_contact(
        desk.session, kind="refusal", applicant_name="Lê Thị B", reason="Không thuộc thẩm quyền",
        officer=desk.reception, now=MON_1000)
    assert desk.session.scalars(select(DeskContact)).all() == [guidance, refusal]
    assert desk.session.scalar(select(Dossier.id)) is None
    cases = [
        (dict(kind="other"), 422, "kind"),
        (dict(kind="guidance", documents_to_add=""), 422, "documents_to_add"),
        (dict(kind="refusal", reason=""), 422, "reason"),
        (dict(kind="refusal", officer=desk.handler), 403, None),
    ]
    for kw, status, field in cases:
        args = dict(kind="refusal", applicant_name="C", reason="R", officer=desk.reception, now=MON_1000)
        args.update(kw)
        with pytest.raises(IntakeError) as err:
            services.record_desk_contact(desk.session, **args)
        assert (err.value.status, err.value.field) == (status, field)


# -- search, lists and flags -----------------------------------------------------------


def test_search_finds_by_code_name_without_diacritics_id_number_and_phone(desk):
    a = receive(desk)
    b = receive(desk, applicant={"kind": "organisation", "name": "Công ty Cổ phần Đại Việt",
                                 "id_number": "0312345678-001", "phone": "0283822123"})
    s = desk.session

    def codes(**kw):
        items, total = services.search_dossiers(s, desk.reception, now=MON_1000, **kw)
        assert total == len(items)
        return {d.code for d in items}

    assert codes(q="nguyen VAN an") == {a.code}
    assert codes(q="đại việt") == {b.code}
    assert codes(q="dai viet") == {b.code}
    assert codes(q=b.code[-9:]) == {b.code}
    assert codes(q="001090012345") == {a.code}
    assert codes(q="0312345678001") == {b.code}
    assert codes(q="0912 345 678") == {a.code}
    assert codes(q="+84912345678") == {a.code}
    assert codes(q="100%_") == set()
    assert codes(q="   ") == {a.code, b.code}


def test_list_filters_by_status_unit_procedure_channel_dates_and_pages(desk):
    s = desk.session
    first = receive(desk, received_at=datetime(2026, 3, 6, 9, 0))
    second = receive(desk, channel="online")
    forward(desk, second)
    other_proc = make_procedure(s, unit_id=desk.unit_b.id, field="Sở hữu trí tuệ")
    third = receive(desk, procedure=other_proc, channel="postal")

    def codes(user=desk.reception, **kw):
        items, total = services.search_dossiers(s, user, now=MON_1000, **kw)
        return [d.code for d in items], total

    assert codes() == ([third.code, second.code, first.code], 3)
    assert codes(status="in_progress")[0] == [second.code]
    assert codes(unit_id=desk.unit_b.id)[0] == [third.code]
    assert codes(procedure_id=other_proc.id)[0] == [third.code]
    assert codes(field="Sở hữu trí tuệ")[0] == [third.code]
    assert codes(channel="online")[0] == [second.code]
    assert codes(date_from=date(2026, 3, 9), date_to=date(2026, 3, 9))[0] == [third.code, second.code]
    assert codes(date_to=date(2026, 3, 6))[0] == [first.code]
    assert codes(page=2, per_page=2) == ([first.code], 3)
    assert codes(page=10**9, per_page=100) == ([], 3)
    assert codes(user=desk.handler)[0] == [second.code, first.code]
    assert codes(user=desk.handler_b)[0] == [third.code]


def test_overdue_and_due_soon_are_computed_live_for_running_dossiers(desk):
    s = desk.session
    d = in_state(desk, "in_progress")  # deadline Monday 23/03 09:15
    cal = calendar_for(s)

    def listed(now, **kw):
        return [x.code for x in services.search_dossiers(s, desk.supervisor, now=now, **kw)[0]]

    early = datetime(2026, 3, 16, 9, 0)
    soon = datetime(2026, 3, 19, 10, 0)  # Thursday: due within 2 working days
    late = datetime(2026, 3, 23, 9, 16)
    assert services.flags_for(d, early, cal) == []
    assert services.flags_for(d, soon, cal) == ["due_soon"]
    assert services.flags_for(d, datetime(2026, 3, 20, 10), cal) == ["due_soon", "apology_missing"]
    assert services.flags_for(d, late, cal) == ["overdue", "apology_missing"]
    assert listed(soon, due_soon=True) == [d.code] and listed(early, due_soon=True) == []
    assert listed(late, overdue=True) == [d.code] and listed(late, overdue=False) == []
    assert listed(soon, overdue=True) == []
    services.record_event(s, d, "extended", user=desk.head, now=datetime(2026, 3, 19, 10),
                          new_deadline=datetime(2026, 4, 3, 17))
    assert services.flags_for(d, late, cal) == []


def test_a_dossier_awaiting_the_applicants_supplement_is_neither_overdue_nor_due_soon(desk):
    d = in_state(desk, "awaiting_supplement")
    assert services.flags_for(d, datetime(2026, 4, 30, 9), calendar_for(desk.session)) == []


def test_a_dossier_not_forwarded_by_its_forwarding_deadline_is_flagged(desk):
    d = receive(desk)
    cal = calendar_for(desk.session)
    assert "not_forwarded" not in services.flags_for(d, datetime(2026, 3, 9, 17, 0), cal)
    assert "not_forwarded" in services.flags_for(d, datetime(2026, 3, 9, 17, 1), cal)


def test_explain_gives_the_deadline_derivation_in_vietnamese(desk):
    d = in_state(desk, "in_progress")
    lines = services.explain(desk.session, d)
    assert lines[0].startswith("Tiếp nhận 09:15 09/03/2026") and "hạn 09:15 23/03/2026" in lines[0]
    assert any(line.startswith("Chuyển xử lý 10:00 09/03/2026") for line in lines)


def test_every_event_of_a_full_journey_is_stored_in_order_with_its_user(desk):
    d = in_state(desk, "handed_over")
    events = desk.session.scalars(select(DossierEvent).where(DossierEvent.dossier_id == d.id)
                                  .order_by(DossierEvent.seq)).all()
    assert [(e.type, e.user_id) for e in events] == [
        ("received", desk.reception.id), ("forwarded", desk.reception.id), ("finished", desk.handler.id),
        ("handed_over", desk.reception.id)]
    assert d.version == 4
