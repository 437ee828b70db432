"""Properties of the deadline engine (hypothesis), issue 3 and architecture.md "Tests"."""
from datetime import date, datetime, time, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from deadlines.due_dates import Event, Limit, LimitUnit, SupplementRule, compute_deadline, derive
from deadlines.offdays import build_calendar
from deadlines.workdays import WorkCalendar

CAL = build_calendar()
# A smaller calendar (same days) that is cheap to rebuild with one more day off.
SMALL_YEARS = (2017, 2028)
SMALL_OFF = frozenset(d for d in CAL.off_days if SMALL_YEARS[0] <= d.year <= SMALL_YEARS[1])
SMALL_MAKEUP = frozenset(d for d in CAL.makeup_days if SMALL_YEARS[0] <= d.year <= SMALL_YEARS[1])
SMALL = WorkCalendar(SMALL_OFF, SMALL_MAKEUP, first_year=SMALL_YEARS[0], last_year=SMALL_YEARS[1])
CLOSES = {end for _start, end in CAL.office_hours.periods}

PROPERTY = settings(deadline=None, max_examples=200)

LOW, HIGH = datetime(2018, 1, 1), datetime(2026, 12, 20, 23, 59, 59)
minute_instants = st.integers(0, int((HIGH - LOW).total_seconds()) // 60).map(
    lambda m: LOW + timedelta(minutes=m)
)
instants = st.one_of(minute_instants, st.datetimes(min_value=LOW, max_value=HIGH))
working_minutes = st.integers(0, 30 * 480)

AMOUNTS = {
    LimitUnit.WORKING_DAYS: st.integers(0, 30),
    LimitUnit.WORKING_HOURS: st.integers(0, 240),
    LimitUnit.CALENDAR_DAYS: st.integers(0, 90),
    LimitUnit.MONTHS: st.integers(0, 12),
}
units = st.sampled_from(list(AMOUNTS))
limits = units.flatmap(lambda u: AMOUNTS[u].map(lambda a: Limit(a, u)))
working_units = st.sampled_from([LimitUnit.WORKING_DAYS, LimitUnit.WORKING_HOURS])


def in_office_or_at_a_close(cal: WorkCalendar, instant: datetime) -> bool:
    if not cal.is_working_day(instant.date()):
        return False
    return cal.is_office_time(instant) or instant.time() in CLOSES


@PROPERTY
@given(start=instants, minutes=working_minutes)
def test_a_working_time_deadline_lies_in_office_hours_of_a_working_day_or_at_a_close(start, minutes):
    deadline = CAL.add_working_minutes(start, minutes)
    assert deadline >= start
    if minutes == 0:
        assert CAL.is_office_time(deadline)
    else:
        assert in_office_or_at_a_close(CAL, deadline)
        assert deadline > CAL.next_opening(start)


@PROPERTY
@given(start=instants, limit=limits)
def test_every_deadline_lies_in_office_hours_of_a_working_day_or_at_a_close(start, limit):
    deadline = compute_deadline(CAL, start, limit)
    assert in_office_or_at_a_close(CAL, deadline)
    if limit.unit in (LimitUnit.CALENDAR_DAYS, LimitUnit.MONTHS):
        assert deadline.time() == time(17, 0)


@PROPERTY
@given(start=instants, unit=units, data=st.data())
def test_more_time_never_gives_an_earlier_deadline(start, unit, data):
    a = data.draw(AMOUNTS[unit])
    b = data.draw(AMOUNTS[unit])
    low, high = sorted((a, b))
    assert compute_deadline(CAL, start, Limit(low, unit)) <= compute_deadline(CAL, start, Limit(high, unit))


@PROPERTY
@given(a=instants, b=instants, limit=limits)
def test_a_later_receipt_never_gives_an_earlier_deadline(a, b, limit):
    early, late = sorted((a, b))
    assert compute_deadline(CAL, early, limit) <= compute_deadline(CAL, late, limit)


@PROPERTY
@given(start=instants, limit=limits, offset=st.integers(-5, 120))
def test_an_added_day_off_never_gives_an_earlier_deadline(start, limit, offset):
    day = start.date() + timedelta(days=offset)
    more_off = WorkCalendar(
        SMALL_OFF | {day}, SMALL_MAKEUP - {day}, first_year=SMALL_YEARS[0], last_year=SMALL_YEARS[1]
    )
    assert compute_deadline(SMALL, start, limit) <= compute_deadline(more_off, start, limit)


@PROPERTY
@given(
    received=instants,
    unit=working_units,
    amount=st.integers(1, 20),
    fraction=st.floats(0, 1, exclude_max=True),
    hours=st.integers(1, 60),
)
def test_a_pause_of_k_working_hours_moves_the_deadline_by_exactly_k_working_hours(
    received, unit, amount, fraction, hours
):
    limit = Limit(amount, unit, SupplementRule.PAUSE)
    start = CAL.next_opening(received)
    without_pause = compute_deadline(CAL, received, limit)
    # The request comes while the clock runs, strictly before the deadline.
    total = CAL.working_minutes_between(start, without_pause)
    requested_at = CAL.add_working_minutes(start, int(total * fraction))
    assume(requested_at < without_pause)
    completed_at = CAL.add_working_hours(requested_at, hours)
    result = derive(
        CAL,
        limit,
        [
            Event("received", received),
            Event("forwarded", start),
            Event("supplement_requested", requested_at),
            Event("supplement_received", completed_at),
        ],
    )
    assert result.paused_minutes == hours * 60
    assert result.original_deadline == CAL.add_working_hours(without_pause, hours)
    assert CAL.working_minutes_between(without_pause, result.original_deadline) == hours * 60


@PROPERTY
@given(received=instants, limit=limits, wait=st.integers(0, 60 * 24 * 40), answer=st.integers(0, 60 * 24 * 60))
def test_restart_equals_computing_afresh_from_the_completed_dossiers_arrival(received, limit, wait, answer):
    requested_at = received + timedelta(minutes=wait)
    completed_at = requested_at + timedelta(minutes=answer)
    result = derive(
        CAL,
        Limit(limit.amount, limit.unit, SupplementRule.RESTART),
        [
            Event("received", received),
            Event("supplement_requested", requested_at),
            Event("supplement_received", completed_at),
        ],
    )
    assert result.deadline == compute_deadline(CAL, completed_at, limit)


@PROPERTY
@given(start=instants, minutes=working_minutes)
def test_working_minutes_between_inverts_adding_working_minutes(start, minutes):
    opened = CAL.next_opening(start)
    assert CAL.is_office_time(opened)
    assert CAL.working_minutes_between(opened, CAL.add_working_minutes(opened, minutes)) == minutes
    assert CAL.working_minutes_between(start, CAL.add_working_minutes(start, minutes)) == minutes


@PROPERTY
@given(start=instants, a=st.integers(1, 5000), b=st.integers(1, 5000))
def test_adding_working_time_in_two_steps_equals_adding_it_at_once(start, a, b):
    assert CAL.add_working_minutes(CAL.add_working_minutes(start, a), b) == CAL.add_working_minutes(start, a + b)


@PROPERTY
@given(start=instants)
def test_the_next_opening_is_office_time_not_before_the_instant_and_stable(start):
    opened = CAL.next_opening(start)
    assert opened >= start
    assert CAL.is_office_time(opened)
    assert CAL.next_opening(opened) == opened
    if CAL.is_office_time(start):
        assert opened == start


def naive_add_working_minutes(cal: WorkCalendar, start: datetime, minutes: int) -> datetime:
    """Minute-stepping reference: walk through every minute, counting office minutes."""
    periods = cal.office_hours.periods
    step = timedelta(minutes=1)

    def counts(t: datetime) -> bool:
        return cal.is_working_day(t.date()) and any(s <= t.time() < e for s, e in periods)

    t = start
    while not counts(t):
        t += step
    while minutes:
        if counts(t):
            minutes -= 1
        t += step
    return t


@settings(deadline=None, max_examples=60)
@given(start=minute_instants, minutes=st.integers(0, 3 * 480))
def test_the_engine_agrees_with_a_naive_minute_by_minute_walk(start, minutes):
    assert CAL.add_working_minutes(start, minutes) == naive_add_working_minutes(CAL, start, minutes)


@PROPERTY
@given(day=st.dates(min_value=date(2018, 1, 1), max_value=date(2026, 12, 31)))
def test_working_day_lookups_agree_with_each_other(day):
    following = CAL.next_working_day(day)
    assert following > day and CAL.is_working_day(following)
    on_or_after = CAL.working_day_on_or_after(day)
    assert on_or_after == (day if CAL.is_working_day(day) else following)
    assert all(not CAL.is_working_day(day + timedelta(days=i)) for i in range(1, (following - day).days))
