"""deadlines.lifecycle: the vocabulary, the state machine, the replay and the watch rules, as tables."""
from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from deadlines import lifecycle
from deadlines.lifecycle import LifeEvent, LifecycleError, Thresholds, holds, replay, thresholds, watch_flags
from deadlines.offdays import build_calendar

CAL = build_calendar(())
RULE = {"limit_unit": "working_days", "limit_amount": 10, "supplement_rule": "restart"}
MON_0915 = datetime(2026, 3, 9, 9, 15)


def ev(type_, at, id_=None, **kw):
    ev.seq += 1
    return LifeEvent(type=type_, at=at, id=id_ if id_ is not None else ev.seq, seq=ev.seq, **kw)


ev.seq = 0

# -- the state machine: the table of domain.md §8, written out independently -------------------------------

DOMAIN_TABLE = {
    # event: (from states, roles, note required)
    "forwarded": ({"received"}, {"reception"}, False),
    "step_handed_over": ({"in_progress"}, {"handler", "supervisor"}, False),
    "supplement_requested": ({"in_progress"}, {"handler"}, True),
    "supplement_received": ({"awaiting_supplement"}, {"reception"}, False),
    "extended": ({"in_progress", "awaiting_supplement"}, {"handler", "supervisor"}, False),
    "finished": ({"in_progress"}, {"handler"}, False),
    "handed_over": ({"finished"}, {"reception"}, False),
    "returned_unprocessed": ({"received", "in_progress", "awaiting_supplement"}, {"reception", "supervisor"}, True),
    "withdrawn": ({"received", "in_progress", "awaiting_supplement"}, {"reception"}, True),
    "stopped": ({"in_progress", "awaiting_supplement"}, {"handler", "supervisor"}, True),
    "cancelled": (set(lifecycle.STATUSES) - {"handed_over", "cancelled"}, {"supervisor"}, True),
}


@pytest.mark.parametrize("event", sorted(DOMAIN_TABLE))
def test_each_transition_follows_the_domain_table(event):
    states, roles, note = DOMAIN_TABLE[event]
    t = lifecycle.TRANSITIONS[event]
    assert set(t.from_states) == states and set(t.roles) == roles and bool(t.note_required) == note
    assert t.state_reason


def test_stopping_needs_the_unit_head_and_the_reason_with_its_legal_ground():
    t = lifecycle.TRANSITIONS["stopped"]
    assert t.unit_head_only and "căn cứ pháp lý" in t.note_required and t.status_after == "stopped"
    assert lifecycle.TRANSITIONS["extended"].unit_head_only
    assert "stopped" in lifecycle.CLOSED_OTHER_STATUSES and "stopped" not in lifecycle.OPEN_STATUSES


def test_the_vocabulary_is_complete_and_labelled_once():
    assert set(lifecycle.STATUS_LABELS) == set(lifecycle.STATUSES)
    assert set(lifecycle.EVENT_LABELS) == set(lifecycle.EVENT_TYPES) | set(lifecycle.META_EVENT_TYPES)
    assert set(lifecycle.PUBLIC_EVENT_LABELS) == set(lifecycle.EVENT_TYPES)
    assert set(lifecycle.LIMIT_UNIT_LABELS) == set(lifecycle.LIMIT_UNITS)
    from tthc import models
    assert models.STATUS_LABELS is lifecycle.STATUS_LABELS and models.OPEN_STATUSES is lifecycle.OPEN_STATUSES


@pytest.mark.parametrize("path, status", [
    ([], "received"),
    (["forwarded"], "in_progress"),
    (["forwarded", "step_handed_over"], "in_progress"),
    (["forwarded", "supplement_requested"], "awaiting_supplement"),
    (["forwarded", "supplement_requested", "supplement_received"], "in_progress"),
    (["forwarded", "finished", "handed_over"], "handed_over"),
    (["forwarded", "stopped"], "stopped"),
    (["forwarded", "supplement_requested", "stopped"], "stopped"),
    (["withdrawn"], "withdrawn"),
    (["forwarded", "stopped", "cancelled"], "cancelled"),
])
def test_replay_walks_the_state_machine(path, status):
    events = [ev("received", MON_0915)]
    for i, t in enumerate(path, start=1):
        data = {"new_deadline": "2026-04-30T17:00:00"} if t == "extended" else {}
        events.append(ev(t, MON_0915 + timedelta(hours=i), unit_id=7 if t == "forwarded" else 8, data=data))
    life = replay(RULE, events, CAL)
    assert life.status == status
    if status == "stopped":
        assert life.closed_at == events[-1].at and life.classification is None and life.deadline_at is not None


@pytest.mark.parametrize("path", [
    ["finished"],  # before forwarding
    ["forwarded", "handed_over"],
    ["forwarded", "supplement_received"],
    ["stopped"],  # a dossier not yet forwarded is returned, not stopped
    ["forwarded", "finished", "stopped"],
    ["forwarded", "finished", "handed_over", "cancelled"],
])
def test_replay_refuses_sequences_the_machine_does_not_allow(path):
    events = [ev("received", MON_0915)] + [ev(t, MON_0915 + timedelta(hours=i + 1)) for i, t in enumerate(path)]
    with pytest.raises(LifecycleError):
        replay(RULE, events, CAL)


def test_a_replay_after_a_void_forgets_the_voided_event_and_what_depended_on_it_is_refused():
    fwd = ev("forwarded", datetime(2026, 3, 9, 10), unit_id=7, actor_unit_id=1)
    step = ev("step_handed_over", datetime(2026, 3, 10, 8), unit_id=8)
    events = [ev("received", MON_0915), fwd, step]
    life = replay(RULE, events, CAL)
    assert life.current_unit_id == 8 and [h.to_unit_id for h in life.handovers] == [7, 8]
    voided_step = [events[0], fwd, LifeEvent(**{**step.__dict__, "voided": True})]
    life = replay(RULE, voided_step, CAL)
    assert life.current_unit_id == 7 and [h.to_unit_id for h in life.handovers] == [7]
    assert life.handovers[0].from_unit_id == 1 and life.handovers[0].completed_at is None
    # Voiding the forwarding leaves a step hand-over of a dossier never forwarded: refused.
    with pytest.raises(LifecycleError, match="không còn hợp lệ"):
        replay(RULE, [events[0], LifeEvent(**{**fwd.__dict__, "voided": True}), step], CAL)


# -- what the replay derives --------------------------------------------------------------------------------


def test_the_appointment_is_the_latest_one_given_to_the_applicant():
    received = ev("received", MON_0915, data={"appointment": "2026-03-23T09:15:00"})
    fwd = ev("forwarded", datetime(2026, 3, 9, 10), unit_id=7)
    req = ev("supplement_requested", datetime(2026, 3, 10, 8))
    got = ev("supplement_received", datetime(2026, 3, 16, 9), data={"appointment": "2026-03-30T09:00:00"})
    life = replay(RULE, [received, fwd, req, got], CAL)
    assert life.deadline_at == datetime(2026, 3, 30, 9) and life.appointment_at == datetime(2026, 3, 30, 9)
    assert life.appointment_event_id == got.id
    ext = ev("extended", datetime(2026, 3, 20, 9), data={"new_deadline": "2026-04-06T17:00:00"})
    life = replay(RULE, [received, fwd, req, got, ext], CAL)
    assert life.appointment_at == datetime(2026, 4, 6, 17) == life.deadline_at and life.appointment_event_id == ext.id
    assert life.original_deadline_at == datetime(2026, 3, 30, 9)


def test_a_calendar_edit_moves_the_deadline_never_the_appointment():
    received = ev("received", MON_0915, data={"appointment": "2026-03-23T09:15:00"})
    edited = build_calendar((__import__("deadlines.offdays", fromlist=["Override"]).Override(
        date=datetime(2026, 3, 12).date(), working=False, name="Nghỉ đột xuất"),))
    life = replay(RULE, [received], edited)
    assert life.deadline_at == datetime(2026, 3, 24, 9, 15) and life.appointment_at == datetime(2026, 3, 23, 9, 15)


def test_a_legacy_received_event_without_an_appointment_gets_the_reception_deadline():
    life = replay(RULE, [ev("received", MON_0915)], CAL)
    assert life.appointment_at == life.deadline_at == datetime(2026, 3, 23, 9, 15)


def test_step_quotas_run_from_each_actual_hand_over():
    rule = dict(RULE, steps=[{"share_amount": 4}, {"share_amount": 6}])
    events = [ev("received", MON_0915), ev("forwarded", datetime(2026, 3, 9, 10), unit_id=7, actor_unit_id=1),
              ev("step_handed_over", datetime(2026, 3, 16, 10), unit_id=8),
              ev("finished", datetime(2026, 3, 20, 10), data={"result": "approved"})]
    rows = replay(rule, events, CAL).handovers
    assert [(h.from_unit_id, h.to_unit_id) for h in rows] == [(1, 7), (7, 8)]
    assert rows[0].quota_deadline_at == datetime(2026, 3, 13, 10) and rows[0].result == "late"
    assert rows[1].quota_deadline_at == datetime(2026, 3, 24, 10) and rows[1].result == "early"


def test_flags_the_events_decide():
    events = [ev("received", MON_0915), ev("forwarded", datetime(2026, 3, 9, 10), unit_id=7),
              ev("supplement_requested", datetime(2026, 3, 13, 9)),  # later than 3 working days
              ev("supplement_received", datetime(2026, 3, 16, 9)),
              ev("supplement_requested", datetime(2026, 3, 16, 10)),
              ev("extended", datetime(2026, 3, 17, 9), data={"new_deadline": "2026-05-05T17:00:00",
                                                              "late_apology": True})]
    life = replay(RULE, events, CAL)
    assert life.late_supplement_request and life.second_supplement_request and life.late_apology
    assert life.awaiting_supplement and life.status == "awaiting_supplement" and life.supplement_count == 2


# -- the watch rules: boundaries ----------------------------------------------------------------------------

NOW = datetime(2026, 3, 20, 10, 0)  # Friday
TH = thresholds(CAL, NOW, 2)


def state(**kw):
    base = dict(status="in_progress", deadline_at=NOW + timedelta(days=30), original_deadline_at=None,
                forwarding_deadline_at=None, extended=False, finished_at=None, late_supplement_request=False)
    base.update(kw)
    return SimpleNamespace(**base)


def test_thresholds_are_working_days_ahead():
    assert TH.due_soon_until == datetime(2026, 3, 24, 10) and TH.apology_until == datetime(2026, 3, 23, 10)


@pytest.mark.parametrize("kind, kw, expected", [
    ("overdue", dict(deadline_at=NOW - timedelta(seconds=1)), True),
    ("overdue", dict(deadline_at=NOW), False),  # deadline < now, strictly
    ("overdue", dict(deadline_at=None), False),
    ("overdue", dict(deadline_at=NOW - timedelta(days=1), status="awaiting_supplement"), False),
    ("overdue", dict(deadline_at=NOW - timedelta(days=1), status="stopped"), False),
    ("overdue", dict(deadline_at=NOW - timedelta(days=1), status="received"), True),
    ("due_soon", dict(deadline_at=NOW), True),
    ("due_soon", dict(deadline_at=datetime(2026, 3, 24, 10)), True),
    ("due_soon", dict(deadline_at=datetime(2026, 3, 24, 10, 1)), False),
    ("due_soon", dict(deadline_at=NOW - timedelta(minutes=1)), False),
    ("not_forwarded", dict(status="received", forwarding_deadline_at=NOW - timedelta(minutes=1)), True),
    ("not_forwarded", dict(status="received", forwarding_deadline_at=NOW), False),
    ("not_forwarded", dict(status="in_progress", forwarding_deadline_at=NOW - timedelta(days=1)), False),
    ("apology_missing", dict(deadline_at=datetime(2026, 3, 23, 10)), True),
    ("apology_missing", dict(deadline_at=datetime(2026, 3, 23, 10, 1)), False),
    ("apology_missing", dict(deadline_at=NOW - timedelta(days=1)), True),
    ("apology_missing", dict(deadline_at=NOW - timedelta(days=1), extended=True), False),
    ("finished_late", dict(status="finished", finished_at=NOW, original_deadline_at=NOW - timedelta(minutes=1)),
     True),
    ("finished_late", dict(status="handed_over", finished_at=NOW, original_deadline_at=NOW), False),
    ("finished_late", dict(status="cancelled", finished_at=NOW, original_deadline_at=NOW - timedelta(days=1)),
     False),
])
def test_each_watch_rule_at_its_boundaries(kind, kw, expected):
    assert holds(kind, state(**kw), TH) is expected


def test_a_threshold_beyond_the_calendar_makes_its_rule_false():
    th = Thresholds(now=NOW, due_soon_until=None, apology_until=None)
    assert not holds("due_soon", state(deadline_at=NOW), th)
    assert holds("overdue", state(deadline_at=NOW - timedelta(days=1)), th)


def test_badges_come_in_display_order():
    s = state(deadline_at=NOW - timedelta(hours=1), late_supplement_request=True)
    assert watch_flags(s, TH) == ["overdue", "late_supplement_request", "apology_missing"]
    assert watch_flags(state(deadline_at=datetime(2026, 3, 23, 9)), TH) == ["due_soon", "apology_missing"]
