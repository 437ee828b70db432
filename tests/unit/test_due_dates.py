"""Deadline rules (deadlines/due_dates.py), domain.md §4 and §8."""
import json
from datetime import date, datetime, time
from pathlib import Path

import pytest

from deadlines.due_dates import (
    DeadlineResult,
    Event,
    Limit,
    LimitUnit,
    SupplementRule,
    classify,
    compute_deadline,
    derive,
    effective_start,
    forwarding_deadline,
    is_due_soon,
    is_overdue,
    step_deadlines,
    working_days_late,
)
from deadlines.workdays import WorkCalendar

DATA = json.loads(
    (Path(__file__).resolve().parents[2] / "deadlines" / "data" / "vn_offdays.json").read_text("utf-8")
)["years"]
CAL = WorkCalendar(
    [date.fromisoformat(d) for y in DATA.values() for d in y["off"]],
    [date.fromisoformat(d) for y in DATA.values() for d in y["makeup_workdays"]],
    first_year=2017,
    last_year=2027,
)

WD = LimitUnit.WORKING_DAYS
RESTART, PAUSE = SupplementRule.RESTART, SupplementRule.PAUSE


def dt(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M")


def ev(kind: str, at: str, new_deadline: str | None = None) -> Event:
    return Event(kind, dt(at), dt(new_deadline) if new_deadline else None)


# -- limits and events -------------------------------------------------------------------


def test_a_limit_accepts_unit_names_and_rejects_bad_amounts():
    assert Limit(3, "working_days") == Limit(3, WD, RESTART)
    assert Limit(3, "calendar_days", "pause").supplement_rule is PAUSE
    assert Limit(7, "none").amount is None
    with pytest.raises(ValueError, match="unknown time-limit unit"):
        Limit(3, "weeks")
    with pytest.raises(ValueError, match="negative"):
        Limit(-1, WD)
    with pytest.raises(ValueError, match="needs an amount"):
        Limit(None, WD)
    with pytest.raises(ValueError, match="whole number"):
        Limit(1.5, WD)
    with pytest.raises(ValueError, match="supplement rule"):
        Limit(1, WD, "freeze")


def test_an_event_must_have_a_known_type_and_an_extension_its_new_appointment():
    with pytest.raises(ValueError, match="unknown dossier event"):
        Event("lost", dt("2026-03-02 09:00"))
    with pytest.raises(ValueError, match="new appointment"):
        Event("extended", dt("2026-03-02 09:00"))


# -- effective start and single deadlines -------------------------------------------------

EFFECTIVE_START = [
    ("2026-03-02 09:15", "2026-03-02 09:15", "inside office hours it starts at once"),
    ("2026-03-02 12:00", "2026-03-02 13:30", "in the lunch break it starts at 13:30"),
    ("2026-03-02 17:00", "2026-03-03 07:00", "at the close it starts the next morning"),
    ("2026-03-06 21:00", "2026-03-09 07:00", "an online dossier on Friday 21:00 starts Monday 07:00"),
    ("2026-04-29 21:00", "2026-05-04 07:00", "Wednesday night before 30/4-1/5 starts Monday 04/05"),
    ("2026-02-13 17:30", "2026-02-23 07:00", "the eve of Tết starts after Tết"),
    ("2026-01-09 18:00", "2026-01-10 07:00", "Friday evening before a make-up Saturday starts Saturday"),
]


@pytest.mark.parametrize("received, expected, why", EFFECTIVE_START, ids=[e[2] for e in EFFECTIVE_START])
def test_the_effective_start_is_the_receipt_or_the_next_opening(received, expected, why):
    assert effective_start(CAL, dt(received)) == dt(expected)


COMPUTE = [
    ("2026-03-02 09:15", Limit(3, WD), "2026-03-05 09:15", "3 working days"),
    ("2026-03-02 15:00", Limit(4, "working_hours"), "2026-03-03 09:00", "4 working hours"),
    ("2026-03-02 10:00", Limit(10, "calendar_days"), "2026-03-12 17:00", "10 calendar days"),
    ("2026-03-02 10:00", Limit(1, "months"), "2026-04-02 17:00", "1 month"),
    ("2026-03-06 21:00", Limit(0, WD), "2026-03-09 07:00", "0 working days is the effective start"),
    ("2026-03-06 21:00", Limit(1, WD), "2026-03-09 17:00", "after hours applies the effective start"),
]


@pytest.mark.parametrize("start, limit, expected, why", COMPUTE, ids=[c[3] for c in COMPUTE])
def test_compute_deadline_applies_each_unit_from_the_effective_start(start, limit, expected, why):
    assert compute_deadline(CAL, dt(start), limit) == dt(expected)


def test_a_procedure_without_a_limit_has_no_deadline():
    assert compute_deadline(CAL, dt("2026-03-02 09:00"), Limit(None, LimitUnit.NONE)) is None


# -- forwarding (Decree 61/2018, Art. 18) -----------------------------------------------------

FORWARDING = [
    ("2026-03-02 14:59:59", "2026-03-02 17:00", "received at 14:59:59: forward the same day"),
    ("2026-03-02 15:00:00", "2026-03-03 08:00", "received at 15:00:00: next opening plus 1 working hour"),
    ("2026-03-06 15:30", "2026-03-09 08:00", "Friday 15:30: Monday 08:00"),
    ("2026-03-02 12:00", "2026-03-02 17:00", "lunch break: the start 13:30 is before 15:00"),
    ("2026-03-02 18:00", "2026-03-03 17:00", "after hours: starts 07:00 the next day, forward that day"),
    ("2026-02-13 16:00", "2026-02-23 08:00", "the eve of Tết: the first hour after Tết"),
    ("2026-01-09 15:10", "2026-01-10 08:00", "Friday 15:10 before a make-up Saturday: Saturday 08:00"),
]


@pytest.mark.parametrize("received, expected, why", FORWARDING, ids=[f[2] for f in FORWARDING])
def test_the_forwarding_deadline_follows_the_15_00_rule(received, expected, why):
    assert forwarding_deadline(CAL, dt(received)) == dt(expected)


def test_the_forwarding_cutoff_is_configurable():
    assert forwarding_deadline(CAL, dt("2026-03-02 15:30"), cutoff=time(16, 0)) == dt("2026-03-02 17:00")
    assert forwarding_deadline(CAL, dt("2026-03-02 10:00"), cutoff=time(10, 0)) == dt("2026-03-03 08:00")


# -- classification (§4.7) --------------------------------------------------------------------

CLASSIFY = [
    ("2026-03-04 16:00", "2026-03-05 09:15", "early", "finished on an earlier day"),
    ("2026-03-05 08:00", "2026-03-05 09:15", "on_time", "finished on the deadline's day, before it"),
    ("2026-03-05 09:15", "2026-03-05 09:15", "on_time", "finished exactly at the deadline"),
    ("2026-03-05 09:15:01", "2026-03-05 09:15", "late", "finished one second after the deadline"),
    ("2026-03-06 07:00", "2026-03-05 17:00", "late", "finished the next morning"),
    ("2026-03-04 23:59", "2026-03-05 17:00", "early", "finished the evening before"),
    ("2026-03-05 17:00", "2026-03-05 17:00", "on_time", "finished at 17:00 on a 17:00 deadline"),
]


@pytest.mark.parametrize("finished, deadline, expected, why", CLASSIFY, ids=[c[3] for c in CLASSIFY])
def test_a_finished_dossier_is_early_on_time_or_late(finished, deadline, expected, why):
    assert classify(dt(finished), dt(deadline)) == expected


def test_an_unfinished_dossier_has_no_classification_and_one_without_limit_is_on_time():
    assert classify(None, dt("2026-03-05 09:15")) is None
    assert classify(None, None) is None
    assert classify(dt("2030-01-01 09:00"), None) == "on_time"


# -- overdue, due soon, lateness ------------------------------------------------------------


def test_an_unfinished_dossier_is_overdue_only_after_its_deadline():
    deadline = dt("2026-03-05 09:15")
    assert not is_overdue(dt("2026-03-05 09:15"), deadline)
    assert is_overdue(dt("2026-03-05 09:15:01"), deadline)
    assert not is_overdue(dt("2026-03-06 09:00"), deadline, finished_at=dt("2026-03-06 08:00"))
    assert not is_overdue(dt("2030-01-01 00:00"), None)


def test_a_dossier_is_due_soon_within_two_working_days_of_now():
    now = dt("2026-03-02 10:00")  # horizon: Wednesday 10:00
    assert is_due_soon(CAL, now, dt("2026-03-04 10:00"))
    assert is_due_soon(CAL, now, dt("2026-03-02 10:00"))
    assert not is_due_soon(CAL, now, dt("2026-03-04 10:01"))
    assert not is_due_soon(CAL, now, dt("2026-03-02 09:59"))  # overdue, not due soon
    assert not is_due_soon(CAL, now, dt("2026-03-03 10:00"), finished_at=dt("2026-03-02 10:00"))
    assert not is_due_soon(CAL, now, None)
    friday = dt("2026-03-06 10:00")  # the horizon skips the weekend: Tuesday 10:00
    assert is_due_soon(CAL, friday, dt("2026-03-10 10:00"))
    assert not is_due_soon(CAL, friday, dt("2026-03-10 10:01"))
    assert is_due_soon(CAL, friday, dt("2026-03-12 10:00"), horizon_days=4)


def test_each_steps_quota_runs_from_its_actual_hand_over():
    handovers = [(dt("2026-03-02 09:45"), 2), (dt("2026-03-04 14:00"), 3)]
    assert step_deadlines(CAL, handovers, WD) == [dt("2026-03-04 09:45"), dt("2026-03-09 14:00")]
    assert step_deadlines(CAL, [(dt("2026-03-02 09:45"), 4)], "working_hours") == [dt("2026-03-02 15:45")]
    assert step_deadlines(CAL, handovers, LimitUnit.NONE) == [None, None]


LATENESS = [
    ("2026-03-05 17:00", "2026-03-06 11:00", 0.5, "four working hours late is half a day"),
    ("2026-03-05 17:00", "2026-03-09 17:00", 2.0, "two whole working days"),
    ("2026-03-05 17:00", "2026-03-05 17:30", 0.0, "after hours on the deadline's day counts no working time"),
    ("2026-03-05 17:00", "2026-03-05 16:00", 0.0, "not late"),
    ("2026-03-05 09:15", "2026-03-05 09:25", 0.02, "ten minutes rounds to 0.02"),
]


@pytest.mark.parametrize("deadline, finished, days, why", LATENESS, ids=[x[3] for x in LATENESS])
def test_working_days_late_counts_working_time_after_the_deadline(deadline, finished, days, why):
    assert working_days_late(CAL, dt(deadline), dt(finished)) == days


def test_working_days_late_without_a_limit_is_zero():
    assert working_days_late(CAL, None, dt("2030-01-01 09:00")) == 0.0


# -- derive: the whole dossier ----------------------------------------------------------------

RECEIVED = ev("received", "2026-03-02 09:15")
FORWARDED = ev("forwarded", "2026-03-02 09:45")


def test_a_simple_dossier_derives_its_deadline_and_explains_it_in_vietnamese():
    result = derive(CAL, Limit(3, WD), [RECEIVED, FORWARDED, ev("finished", "2026-03-04 16:00")])
    assert isinstance(result, DeadlineResult)
    assert result.effective_start == dt("2026-03-02 09:15")
    assert result.original_deadline == result.deadline == dt("2026-03-05 09:15")
    assert result.forwarding_deadline == dt("2026-03-02 17:00")
    assert result.finished_at == dt("2026-03-04 16:00")
    assert result.classification == "early"
    assert (result.paused_minutes, result.supplement_count, result.late_supplement_request) == (0, 0, False)
    assert not result.awaiting_supplement
    assert result.explanation[0] == (
        "Tiếp nhận 09:15 02/03/2026; bắt đầu tính 09:15 02/03/2026; "
        "thời hạn 3 ngày làm việc → hạn 09:15 05/03/2026"
    )
    assert "Hạn chuyển xử lý 17:00 02/03/2026" in result.explanation[1]
    assert result.explanation[-1] == "Hoàn thành 16:00 04/03/2026: trước hạn (so với hạn ban đầu 09:15 05/03/2026)"


def test_a_dossier_received_after_hours_starts_counting_at_the_next_opening():
    result = derive(CAL, Limit(1, WD), [ev("received", "2026-03-06 21:00")])
    assert result.effective_start == dt("2026-03-09 07:00")
    assert result.deadline == dt("2026-03-09 17:00")
    assert result.forwarding_deadline == dt("2026-03-09 17:00")
    assert result.explanation[0].startswith("Tiếp nhận 21:00 06/03/2026; bắt đầu tính 07:00 09/03/2026")


def test_restart_counts_the_whole_limit_again_from_the_completed_dossier():
    events = [
        RECEIVED, FORWARDED,
        ev("supplement_requested", "2026-03-03 10:00"),
        ev("supplement_received", "2026-03-09 14:00"),
    ]
    result = derive(CAL, Limit(5, WD, RESTART), events)
    assert result.original_deadline == dt("2026-03-16 14:00")
    assert result.effective_start == dt("2026-03-02 09:15")
    assert result.supplement_count == 1
    assert not result.late_supplement_request
    assert result.paused_minutes == 0
    assert any("tính lại toàn bộ thời hạn 5 ngày làm việc từ 14:00 09/03/2026" in s for s in result.explanation)


def test_restart_after_hours_counts_from_the_next_opening():
    events = [
        RECEIVED, FORWARDED,
        ev("supplement_requested", "2026-03-03 10:00"),
        ev("supplement_received", "2026-03-06 19:00"),
    ]
    assert derive(CAL, Limit(1, WD), events).deadline == dt("2026-03-09 17:00")


def test_pause_does_not_count_the_working_time_spent_waiting():
    events = [
        RECEIVED, FORWARDED,
        ev("supplement_requested", "2026-03-03 10:00"),
        ev("supplement_received", "2026-03-09 14:00"),
    ]
    result = derive(CAL, Limit(5, WD, PAUSE), events)
    # Without the pause: Monday 09/03 09:15. Waiting: 34 working hours.
    assert result.paused_minutes == 34 * 60
    assert result.original_deadline == dt("2026-03-13 11:15")
    assert any("không tính 34 giờ làm việc chờ bổ sung → hạn 11:15 13/03/2026" in s for s in result.explanation)


def test_pause_in_working_hours_moves_the_deadline_by_the_paused_working_time():
    events = [
        ev("received", "2026-03-02 09:00"),
        ev("supplement_requested", "2026-03-02 10:00"),
        ev("supplement_received", "2026-03-02 14:30"),
    ]
    result = derive(CAL, Limit(4, "working_hours", PAUSE), events)
    # 10:00–11:30 and 13:30–14:30 are paused: 2 h 30 min.
    assert result.paused_minutes == 150
    # Without the pause 15:00; 2 h 30 min later is 07:30 the next morning.
    assert result.original_deadline == dt("2026-03-03 07:30")


def test_a_pause_requested_after_the_deadline_does_not_move_it():
    events = [
        RECEIVED, FORWARDED,
        ev("supplement_requested", "2026-03-03 10:00"),
        ev("supplement_received", "2026-03-05 10:00"),
        ev("finished", "2026-03-05 11:00"),
    ]
    result = derive(CAL, Limit(1, WD, PAUSE), events)
    assert result.deadline == dt("2026-03-03 09:15")
    assert result.paused_minutes == 0
    assert result.classification == "late"
    assert any("sau khi đã hết hạn" in s for s in result.explanation)


@pytest.mark.parametrize("rule", [RESTART, PAUSE], ids=["restart", "pause"])
def test_an_open_supplement_request_leaves_the_deadline_as_computed_without_the_wait(rule):
    events = [RECEIVED, FORWARDED, ev("supplement_requested", "2026-03-03 10:00")]
    result = derive(CAL, Limit(5, WD, rule), events)
    assert result.deadline == dt("2026-03-09 09:15")
    assert result.awaiting_supplement
    assert result.supplement_count == 1
    assert "Đang chờ bổ sung từ 10:00 03/03/2026" in result.explanation[-1]


CALENDAR_SUPPLEMENTS = [
    (Limit(10, "calendar_days", PAUSE), "2026-03-17 17:00", 5, "calendar days, pause: moves by 5 calendar days"),
    (Limit(10, "calendar_days", RESTART), "2026-03-19 17:00", 0, "calendar days, restart: 10 days from 09/03"),
    (Limit(1, "months", PAUSE), "2026-04-07 17:00", 5, "months, pause: 02/04 plus 5 calendar days"),
    (Limit(1, "months", RESTART), "2026-04-09 17:00", 0, "months, restart: a month from 09/03"),
]


@pytest.mark.parametrize(
    "limit, expected, paused, why", CALENDAR_SUPPLEMENTS, ids=[c[3] for c in CALENDAR_SUPPLEMENTS]
)
def test_supplements_under_calendar_units_move_by_whole_calendar_days_or_restart(limit, expected, paused, why):
    events = [
        ev("received", "2026-03-02 10:00"),
        ev("forwarded", "2026-03-02 10:30"),
        ev("supplement_requested", "2026-03-04 10:00"),
        ev("supplement_received", "2026-03-09 08:00"),
    ]
    result = derive(CAL, limit, events)
    assert result.deadline == dt(expected)
    assert result.paused_minutes == paused


def test_a_calendar_pause_moves_the_nominal_day_before_the_next_working_day_rule():
    # 14 days from Thursday 16/04/2026 is 30/04 (a holiday): nominally Monday 04/05.
    # A 3-day wait moves the nominal day to Sunday 03/05: still Monday 04/05.
    events = [
        ev("received", "2026-04-16 10:00"),
        ev("supplement_requested", "2026-04-17 10:00"),
        ev("supplement_received", "2026-04-20 08:00"),
    ]
    assert derive(CAL, Limit(14, "calendar_days"), events[:1]).deadline == dt("2026-05-04 17:00")
    result = derive(CAL, Limit(14, "calendar_days", PAUSE), events)
    assert result.paused_minutes == 3
    assert result.deadline == dt("2026-05-04 17:00")


def test_an_extension_changes_the_appointment_but_statistics_judge_the_original():
    events = [
        RECEIVED, FORWARDED,
        ev("extended", "2026-03-06 10:00", "2026-03-13 17:00"),
        ev("finished", "2026-03-11 10:00"),
    ]
    result = derive(CAL, Limit(5, WD), events)
    assert result.original_deadline == dt("2026-03-09 09:15")
    assert result.deadline == dt("2026-03-13 17:00")
    assert result.classification == "late"
    assert any("Gia hạn" in s and "17:00 13/03/2026" in s for s in result.explanation)
    assert "quá hạn" in result.explanation[-1]


def test_an_extended_dossier_finished_before_its_original_deadline_is_on_time():
    events = [
        RECEIVED, FORWARDED,
        ev("extended", "2026-03-06 10:00", "2026-03-13 17:00"),
        ev("finished", "2026-03-09 09:00"),
    ]
    assert derive(CAL, Limit(5, WD), events).classification == "on_time"


LATE_REQUESTS = [
    ([FORWARDED, ev("supplement_requested", "2026-03-05 09:45")], False, "exactly 3 working days after forwarding"),
    ([FORWARDED, ev("supplement_requested", "2026-03-05 09:46")], True, "one minute more than 3 working days"),
    ([ev("supplement_requested", "2026-03-05 09:15")], False, "not forwarded: counted from reception"),
    ([ev("supplement_requested", "2026-03-05 09:16")], True, "not forwarded: late from reception"),
    ([ev("forwarded", "2026-03-04 10:00"), ev("supplement_requested", "2026-03-09 09:59")], False,
     "counted from a late forwarding"),
]


@pytest.mark.parametrize("more, flagged, why", LATE_REQUESTS, ids=[x[2] for x in LATE_REQUESTS])
def test_a_supplement_request_later_than_3_working_days_is_flagged(more, flagged, why):
    result = derive(CAL, Limit(10, WD), [RECEIVED, *more])
    assert result.late_supplement_request is flagged
    if flagged:
        assert any("yêu cầu bổ sung muộn" in s for s in result.explanation)


def test_a_second_supplement_request_is_flagged_and_restarts_again():
    events = [
        RECEIVED, FORWARDED,
        ev("supplement_requested", "2026-03-03 10:00"),
        ev("supplement_received", "2026-03-04 10:00"),
        ev("supplement_requested", "2026-03-05 10:00"),
        ev("supplement_received", "2026-03-06 10:00"),
    ]
    result = derive(CAL, Limit(2, WD), events)
    assert result.supplement_count == 2
    assert result.late_supplement_request
    assert result.deadline == dt("2026-03-10 10:00")
    assert any("lần thứ hai" in s for s in result.explanation)


def test_pauses_add_up_over_two_supplements():
    events = [
        RECEIVED, FORWARDED,
        ev("supplement_requested", "2026-03-02 10:15"),
        ev("supplement_received", "2026-03-02 11:15"),
        ev("supplement_requested", "2026-03-02 14:00"),
        ev("supplement_received", "2026-03-02 16:00"),
    ]
    result = derive(CAL, Limit(1, WD, PAUSE), events)
    assert result.paused_minutes == 180
    assert result.deadline == dt("2026-03-03 14:15")


@pytest.mark.parametrize("kind", ["withdrawn", "returned_unprocessed", "cancelled"])
def test_a_dossier_that_ends_without_result_is_not_classified(kind):
    result = derive(CAL, Limit(5, WD), [RECEIVED, FORWARDED, ev(kind, "2026-03-20 10:00")])
    assert result.finished_at is None
    assert result.classification is None
    assert result.deadline == dt("2026-03-09 09:15")


def test_events_after_the_end_do_not_move_the_deadline():
    events = [
        RECEIVED, FORWARDED,
        ev("finished", "2026-03-04 10:00"),
        ev("handed_over", "2026-03-05 10:00"),
        ev("supplement_requested", "2026-03-06 10:00"),
    ]
    result = derive(CAL, Limit(5, WD), events)
    assert result.deadline == dt("2026-03-09 09:15")
    assert result.supplement_count == 0
    assert result.classification == "early"
    assert any("Trả kết quả cho người nộp 10:00 05/03/2026" == s for s in result.explanation)


def test_a_dossier_without_limit_is_never_late_and_finished_is_on_time():
    result = derive(CAL, Limit(None, LimitUnit.NONE), [RECEIVED, ev("finished", "2027-06-01 10:00")])
    assert result.deadline is None and result.original_deadline is None
    assert result.classification == "on_time"
    assert "không quy định thời hạn" in result.explanation[0]


def test_events_are_taken_in_time_order():
    events = [ev("finished", "2026-03-04 16:00"), FORWARDED, RECEIVED]
    assert derive(CAL, Limit(3, WD), events).classification == "early"


@pytest.mark.parametrize(
    "events, message",
    [
        ([], "start with 'received'"),
        ([ev("forwarded", "2026-03-02 09:00"), ev("received", "2026-03-02 10:00")], "start with 'received'"),
        ([RECEIVED, ev("received", "2026-03-03 10:00")], "only once"),
        ([RECEIVED, ev("supplement_received", "2026-03-03 10:00")], "without an open supplement request"),
    ],
    ids=["no events", "forwarded before received", "received twice", "supplement without request"],
)
def test_inconsistent_events_are_rejected(events, message):
    with pytest.raises(ValueError, match=message):
        derive(CAL, Limit(3, WD), events)


def test_an_extension_overtaken_by_a_restart_after_supplement_never_watches_an_earlier_deadline():
    """Extended while awaiting a supplement; the restart then moves the legal deadline past the new appointment."""
    from datetime import datetime

    from deadlines.due_dates import Event, Limit, LimitUnit, derive
    from deadlines.offdays import build_calendar

    cal = build_calendar()
    events = [
        Event("received", datetime(2025, 3, 3, 9, 0)),
        Event("forwarded", datetime(2025, 3, 3, 10, 0)),
        Event("supplement_requested", datetime(2025, 3, 4, 9, 0)),
        Event("extended", datetime(2025, 3, 5, 9, 0), new_deadline=datetime(2025, 3, 14, 17, 0)),
        Event("supplement_received", datetime(2025, 3, 12, 9, 0)),
    ]
    result = derive(cal, Limit(5, LimitUnit.WORKING_DAYS), events)
    assert result.original_deadline == datetime(2025, 3, 19, 9, 0)
    assert result.deadline == datetime(2025, 3, 19, 9, 0)
    assert any("theo dõi theo hạn" in line for line in result.explanation)
