"""Issue 10, "one life per dossier": the four defects the copies of the derivation caused, as tests.

Each failed on the main of 2026-12-01 09:00 (commit 3cb850b) and passes with the one writer.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from deadlines.alerts import alerts_query
from deadlines.scan import run_scan
from deadlines.store import calendar_for, recompute_open_dossiers
from intake import services
from tests.integration.test_intake_services import (  # noqa: F401  (the desk fixture)
    desk,
    fast_user,
    forward,
    receive,
)
from tthc.models import Alert, CalendarOverride, ProcedureStep


def test_a_day_off_added_on_the_calendar_moves_the_control_slips_step_quota_too(desk):
    """Defect 1: the deadline moved, the control slip's step quota kept the old date."""
    s = desk.session
    desk.procedure.steps.append(ProcedureStep(position=0, name="Thẩm định", unit_id=desk.unit_a.id, share_amount=4))
    desk.procedure.steps.append(ProcedureStep(position=1, name="Phê duyệt", unit_id=desk.unit_b.id, share_amount=6))
    s.flush()
    d = receive(desk)
    forward(desk, d)  # Monday 09/03 10:00: step 1 has 4 working days -> Friday 13/03 10:00
    assert d.handovers[0].quota_deadline_at == datetime(2026, 3, 13, 10, 0)
    assert d.deadline_at == datetime(2026, 3, 23, 9, 15)

    s.add(CalendarOverride(day=date(2026, 3, 11), working=False, name="Nghỉ đột xuất", note="Thông báo 1/TB"))
    s.flush()
    moved = recompute_open_dossiers(s)

    assert [m.code for m in moved] == [d.code]
    assert d.deadline_at == datetime(2026, 3, 24, 9, 15)
    assert d.handovers[0].quota_deadline_at == datetime(2026, 3, 16, 10, 0)  # one working day later, as the deadline
    assert d.appointment_at == datetime(2026, 3, 23, 9, 15)  # what the receipt said: unchanged


def test_a_restarting_supplement_gives_the_applicant_a_new_appointment_the_apology_then_quotes(desk):
    """Defect 2: after a restart the appointment stayed the first one, no new receipt was issued,
    and the apology quoted the restarted deadline "as written on the receipt"."""
    s = desk.session
    d = receive(desk)
    forward(desk, d)
    services.record_event(s, d, "supplement_requested", user=desk.handler, now=datetime(2026, 3, 10, 8),
                          note="Bổ sung bản sao giấy phép", data={"documents_to_add": ["Bản sao giấy phép"]})
    got = services.record_event(s, d, "supplement_received", user=desk.reception, now=datetime(2026, 3, 16, 9))
    assert d.deadline_at == datetime(2026, 3, 30, 9, 0)
    assert d.appointment_at == datetime(2026, 3, 30, 9, 0)
    assert got.data["appointment"] == "2026-03-30T09:00:00" and got.data["reissued_receipt"] is True
    assert services.reissued_receipt(d) is got
    ext = services.record_event(s, d, "extended", user=desk.head, now=datetime(2026, 3, 25, 9),
                                new_deadline=datetime(2026, 4, 3, 17), note="Chờ ý kiến chuyên gia")
    assert ext.data["previous_appointment"] == "2026-03-30T09:00:00"  # the re-issued receipt's, which they hold
    assert d.appointment_at == datetime(2026, 4, 3, 17)


def test_a_pause_that_moves_the_deadline_reissues_the_receipt_and_a_calendar_edit_never_does(desk):
    s = desk.session
    desk.procedure.supplement_rule = "pause"
    s.flush()
    d = receive(desk)
    forward(desk, d)
    services.record_event(s, d, "supplement_requested", user=desk.handler, now=datetime(2026, 3, 10, 8),
                          note="Bổ sung", data={"documents_to_add": ["Bản sao giấy phép"]})
    services.record_event(s, d, "supplement_received", user=desk.reception, now=datetime(2026, 3, 12, 8))
    assert d.deadline_at == datetime(2026, 3, 25, 9, 15) == d.appointment_at  # two working days of waiting
    s.add(CalendarOverride(day=date(2026, 3, 18), working=False, name="Nghỉ đột xuất", note="Thông báo 2/TB"))
    s.flush()
    recompute_open_dossiers(s)
    assert d.deadline_at == datetime(2026, 3, 26, 9, 15) and d.appointment_at == datetime(2026, 3, 25, 9, 15)


def test_alerts_follow_the_dossier_and_no_inbox_shows_a_dossier_its_reader_cannot_open(desk):
    """Defect 4: after a step hand-over the overdue alert stayed with the first unit."""
    s = desk.session
    unit_c = desk.unit_b.__class__(code="TCDL", name="Chi cục Tiêu chuẩn Đo lường Chất lượng")
    s.add(unit_c)
    s.flush()
    handler_c = fast_user(s, "handler", "chuyenvienc", unit=unit_c)
    d = receive(desk)
    forward(desk, d, unit=desk.unit_b)  # received for unit A, sent to unit B
    cal = calendar_for(s)
    run_scan(s, datetime(2026, 3, 24, 9), cal=cal)  # past 23/03 09:15: overdue at unit B
    alert = s.scalar(select(Alert).where(Alert.dossier_id == d.id, Alert.kind == "overdue"))
    assert alert.unit_id == desk.unit_b.id

    services.record_event(s, d, "step_handed_over", user=desk.supervisor, now=datetime(2026, 3, 24, 10),
                          unit=unit_c)

    assert alert.unit_id == unit_c.id

    def inbox(user):
        return [row.code for row in s.execute(alerts_query(user))]

    assert d.code in inbox(handler_c)
    assert d.code not in inbox(desk.handler_b), "unit B can no longer open the dossier"
    assert not services.can_see(d, desk.handler_b)
    assert services.can_see(d, desk.handler)  # unit A, which it was received for, still may
    assert d.code not in inbox(desk.handler)  # but the alert is the holding unit's
    assert d.code in inbox(desk.supervisor)
