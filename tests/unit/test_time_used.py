"""Time used by a finished dossier (deadlines/time_used.py), issue 14 and domain.md §10."""
from datetime import date, datetime, timedelta

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from deadlines.due_dates import Event, Limit, LimitUnit, SupplementRule, derive
from deadlines.time_used import TimeUsed, calendar_time_used, late_under, time_used, working_time_used
from deadlines.workdays import WorkCalendar

# 2025: 1/1 off; Tết 27/1–31/1; Hùng Kings 7/4; 30/4, 1/5, 2/5; 1/9, 2/9 (official schedule).
OFF = [date(2025, 1, 1), *[date(2025, 1, d) for d in range(27, 32)], date(2025, 4, 7), date(2025, 4, 30),
       date(2025, 5, 1), date(2025, 5, 2), date(2025, 9, 1), date(2025, 9, 2)]
# Received up to 2025-12-31, a limit or a proposal of up to 30 months: the calendar reaches 2030.
CAL = WorkCalendar(OFF, [], first_year=2024, last_year=2030)
WD, WH, CD, MO = LimitUnit.WORKING_DAYS, LimitUnit.WORKING_HOURS, LimitUnit.CALENDAR_DAYS, LimitUnit.MONTHS
PAUSE = SupplementRule.PAUSE


def dt(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M")


def events(*pairs) -> list[Event]:
    out = []
    for pair in pairs:
        kind, at = pair[0], dt(pair[1])
        out.append(Event(kind, at, dt(pair[2]) if len(pair) > 2 else None))
    return out


CASES = [
    # (case, limit, events, expected time used)
    ("finished the same working day after 2 h 15 min", Limit(5, WD),
     events(("received", "2025-03-03 09:15"), ("forwarded", "2025-03-03 09:30"),
            ("finished", "2025-03-03 11:30")), 2.25 / 8),
    ("three working days to the minute (Monday 09:15 → Thursday 09:15)", Limit(5, WD),
     events(("received", "2025-03-03 09:15"), ("finished", "2025-03-06 09:15")), 3.0),
    ("lunch, nights and the weekend do not count", Limit(5, WD),
     events(("received", "2025-03-07 16:00"), ("finished", "2025-03-10 08:00")), 2 / 8),
    ("received after office hours: counting starts next opening", Limit(5, WD),
     events(("received", "2025-03-07 21:00"), ("finished", "2025-03-10 11:00")), 4 / 8),
    ("Tết does not count", Limit(10, WD),
     events(("received", "2025-01-24 13:30"), ("finished", "2025-02-03 13:30")), 1.0),
    ("restart: counted again from the completed supplement", Limit(5, WD),
     events(("received", "2025-03-03 07:00"), ("forwarded", "2025-03-03 08:00"),
            ("supplement_requested", "2025-03-04 07:00"), ("supplement_received", "2025-03-10 07:00"),
            ("finished", "2025-03-11 11:00")), 1.5),
    ("pause: the wait is excluded", Limit(5, WD, PAUSE),
     events(("received", "2025-03-03 07:00"), ("forwarded", "2025-03-03 08:00"),
            ("supplement_requested", "2025-03-04 07:00"), ("supplement_received", "2025-03-10 07:00"),
            ("finished", "2025-03-11 11:00")), 2.5),
    ("the extension does not change the time used (late one)", Limit(2, WD),
     events(("received", "2025-03-03 07:00"), ("forwarded", "2025-03-03 08:00"),
            ("extended", "2025-03-04 08:00", "2025-03-10 17:00"), ("finished", "2025-03-07 17:00")), 5.0),
    ("working hours", Limit(8, WH),
     events(("received", "2025-03-03 10:00"), ("finished", "2025-03-03 15:00")), 3.0),
    ("calendar days: the start's date is not counted", Limit(15, CD),
     events(("received", "2025-03-03 10:00"), ("finished", "2025-03-06 09:00")), 3),
    ("calendar days: finished on the start's day used 0", Limit(15, CD),
     events(("received", "2025-03-03 10:00"), ("finished", "2025-03-03 16:00")), 0),
    ("calendar days: after the close counts the next day", Limit(15, CD),
     events(("received", "2025-03-03 10:00"), ("finished", "2025-03-06 17:30")), 4),
    ("calendar days with a restart count from the completed supplement", Limit(15, CD),
     events(("received", "2025-03-03 10:00"), ("forwarded", "2025-03-03 10:30"),
            ("supplement_requested", "2025-03-04 10:00"), ("supplement_received", "2025-03-14 10:00"),
            ("finished", "2025-03-20 10:00")), 6),
    ("calendar days with a pause skip the whole days waited", Limit(15, CD, PAUSE),
     events(("received", "2025-03-03 10:00"), ("forwarded", "2025-03-03 10:30"),
            ("supplement_requested", "2025-03-04 10:00"), ("supplement_received", "2025-03-14 10:00"),
            ("finished", "2025-03-20 10:00")), 7),
    ("months", Limit(2, MO),
     events(("received", "2025-03-03 10:00"), ("finished", "2025-04-03 16:00")), 1),
    ("months: one day past the month counts two", Limit(2, MO),
     events(("received", "2025-03-03 10:00"), ("finished", "2025-04-04 08:00")), 2),
]


@pytest.mark.parametrize("case, limit, evs, expected", CASES, ids=[c[0] for c in CASES])
def test_time_used_is_counted_as_the_deadline_counts(case, limit, evs, expected):
    used = time_used(CAL, limit, evs)
    assert used.unit is limit.unit
    assert used.value == pytest.approx(expected)
    assert used.rounded == round(expected, 2)


def test_an_unfinished_dossier_or_a_procedure_without_limit_has_no_time_used():
    assert time_used(CAL, Limit(5, WD), events(("received", "2025-03-03 09:15"))) is None
    assert time_used(CAL, Limit(None, LimitUnit.NONE),
                     events(("received", "2025-03-03 09:15"), ("finished", "2025-03-04 09:15"))) is None


def test_working_days_are_shown_with_two_decimals():
    # 1 working minute over 3 days: 3.0021 shown 3.0, but late under 3 (the exact value counts).
    evs = events(("received", "2025-03-03 09:15"), ("finished", "2025-03-06 09:16"))
    used = time_used(CAL, Limit(5, WD), evs)
    assert used.rounded == 3.0 and used.value > 3
    assert late_under(CAL, Limit(5, WD), evs, 3) and not late_under(CAL, Limit(5, WD), evs, 4)


def test_a_calendar_limit_whose_deadline_moves_off_a_weekend_shares_it_with_smaller_limits():
    # Received Monday 03/03/2025: 12 days nominally end Saturday 15/03, 13 Sunday, 14 Monday 17/03 —
    # all three due Monday 17/03 17:00. Finished then, the dossier would have met a 12-day limit.
    evs = events(("received", "2025-03-03 10:00"), ("finished", "2025-03-17 17:00"))
    assert derive(CAL, Limit(14, CD), evs).original_deadline == dt("2025-03-17 17:00")
    assert time_used(CAL, Limit(14, CD), evs) == TimeUsed(CD, 12)
    assert not late_under(CAL, Limit(14, CD), evs, 12) and late_under(CAL, Limit(14, CD), evs, 11)


# -- properties ----------------------------------------------------------------------------------------

PROPERTY = settings(deadline=None, max_examples=60)
LOW = datetime(2024, 1, 1)
instants = st.integers(0, 2 * 365 * 24 * 60).map(lambda m: LOW + timedelta(minutes=m))
AMOUNTS = {WD: st.integers(1, 30), WH: st.integers(1, 80), CD: st.integers(1, 60), MO: st.integers(1, 6)}
limits = st.sampled_from(list(AMOUNTS)).flatmap(
    lambda u: st.tuples(AMOUNTS[u], st.sampled_from(list(SupplementRule))).map(lambda a: Limit(a[0], u, a[1])))


def _dossier(received: datetime, wait_days: int, work_minutes: int) -> list[Event]:
    """Received, forwarded, optionally a supplement waited for ``wait_days`` days (0: none)."""
    evs = [Event("received", received), Event("forwarded", received + timedelta(minutes=10))]
    if wait_days:
        asked = CAL.add_working_minutes(received, 60 + work_minutes)
        evs += [Event("supplement_requested", asked),
                Event("supplement_received", asked + timedelta(days=wait_days, minutes=7))]
    return evs


@PROPERTY
@given(received=instants, limit=limits, wait=st.integers(0, 20), work=st.integers(0, 600))
def test_a_dossier_finished_exactly_at_its_deadline_used_exactly_its_limit(received, limit, wait, work):
    evs = _dossier(received, wait, work)
    deadline = derive(CAL, limit, evs).original_deadline
    assume(deadline > evs[-1].at)
    evs.append(Event("finished", deadline))
    used = time_used(CAL, limit, evs)
    if limit.unit in (WD, WH):
        assert used.value == limit.amount
    else:
        # Smaller limits can share the deadline (moved off a weekend or holiday): the smallest counts.
        assert used.value <= limit.amount
        smaller = Limit(int(used.value), limit.unit, limit.supplement_rule)
        assert derive(CAL, smaller, evs[:-1]).original_deadline == deadline
        if used.value:
            one_less = Limit(int(used.value) - 1, limit.unit, limit.supplement_rule)
            assert derive(CAL, one_less, evs[:-1]).original_deadline < deadline


@PROPERTY
@given(received=instants, limit=limits, wait=st.integers(0, 20), work=st.integers(0, 600),
       spent=st.integers(0, 60 * 480), proposal=st.integers(1, 30))
# Found by CI: a 30-month proposal on a dossier of late 2025 reaches 2028.
@example(received=LOW + timedelta(minutes=919240), limit=Limit(6, MO, SupplementRule.RESTART), wait=18, work=0,
         spent=474, proposal=30)
def test_late_under_a_proposal_exactly_when_the_time_used_exceeds_it(received, limit, wait, work, spent, proposal):
    evs = _dossier(received, wait, work)
    finish = CAL.add_working_minutes(evs[-1].at, spent)
    evs.append(Event("finished", finish))
    used = time_used(CAL, limit, evs)
    # Under ``pause`` a request after the proposal's deadline is not excluded (domain.md §4.5): the
    # equivalence is stated for proposals within the dossier's limit, as the review proposes them.
    assume(limit.supplement_rule is SupplementRule.RESTART or not wait or proposal <= limit.amount)
    assert late_under(CAL, limit, evs, proposal) == (used.value > proposal)


def test_working_time_used_from_the_stored_deadline_matches_the_replay():
    evs = events(("received", "2025-03-03 07:00"), ("forwarded", "2025-03-03 08:00"),
                 ("supplement_requested", "2025-03-04 07:00"), ("supplement_received", "2025-03-10 07:00"),
                 ("finished", "2025-03-11 11:00"))
    limit = Limit(5, WD, PAUSE)
    result = derive(CAL, limit, evs)
    assert working_time_used(CAL, WD, 5, result.original_deadline, result.finished_at) == 2.5
    assert calendar_time_used(CAL, CD, dt("2025-03-03 10:00"), dt("2025-03-06 09:00")) == 3


def test_the_documents_asked_for_come_from_the_list_or_from_older_free_text():
    from deadlines.review.queries import documents_asked

    assert documents_asked({"documents_to_add": ["Đơn đề nghị", "Bản sao giấy phép", "Đơn đề nghị"]}) == [
        "Đơn đề nghị", "Bản sao giấy phép"]
    assert documents_asked({"documents_to_add": "1. Đơn đề nghị;\n- Bản sao giấy phép."}) == [
        "Đơn đề nghị", "Bản sao giấy phép"]
    assert documents_asked({}) == [] and documents_asked(None) == []
