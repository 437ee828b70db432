"""Issue 10, acceptance: one life per dossier, as a property over random legal event sequences.

Random procedures (every limit unit, supplement rule restart and pause, steps across units) and,
for each, a dossier driven through the real intake services (receive_dossier, record_event,
void_event), each event chosen among those the lifecycle's transition table allows from the
current status, at most one extension, voids of random events. After every operation the stored
derived Dossier columns and DossierHandover rows equal a fresh ``lifecycle.replay`` of its
events; after a day off added on the calendar (recompute_open_dossiers, what the calendar page
calls) the same holds for every dossier open at the edit; and the scan's flags at a random
instant equal the pure watch predicates for that instant. Both backends (the ``backend`` fixture).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, event as note_event, given, settings, strategies as st
from sqlalchemy import select

from deadlines import lifecycle
from deadlines.scan import run_scan
from deadlines.store import DERIVED_COLUMNS, HANDOVER_COLUMNS, calendar_for, recompute_open_dossiers, replay_dossier
from intake import services
from intake.services import IntakeError
from tests.factories import make_procedure
from tests.integration.test_intake_services import APPLICANT, desk, receive  # noqa: F401  (the desk fixture)
from tthc.models import CalendarOverride, Dossier, ProcedureStep

START = datetime(2026, 3, 9, 9, 15)  # Monday
AMOUNTS = {"working_days": (1, 15), "working_hours": (2, 40), "calendar_days": (1, 20), "months": (1, 2)}
NOTE = "Ghi chú của cán bộ"


def assert_one_life(s, d: Dossier) -> lifecycle.Life:
    """The stored columns and hand-over rows (read back from the database) equal a fresh replay."""
    s.flush()
    s.expire(d)
    life = replay_dossier(s, d)
    stored = {col: getattr(d, col) for col in DERIVED_COLUMNS}
    assert stored == {col: getattr(life, attr) for col, attr in DERIVED_COLUMNS.items()}, d.code
    rows = sorted((tuple(getattr(h, c) for c in HANDOVER_COLUMNS) for h in d.handovers), key=lambda r: r[0])
    assert rows == sorted((tuple(getattr(r, c) for c in HANDOVER_COLUMNS) for r in life.handovers),
                          key=lambda r: r[0]), d.code
    return life


@st.composite
def scenarios(draw):
    unit = draw(st.sampled_from(list(AMOUNTS) + ["none"]))
    amount = None if unit == "none" else draw(st.integers(*AMOUNTS[unit]))
    steps = 0 if unit == "none" or amount < 2 else draw(st.integers(0, 2))
    return {
        "limit_unit": unit, "amount": amount, "supplement_rule": draw(st.sampled_from(["restart", "pause"])),
        "steps": steps, "channel": draw(st.sampled_from(["direct", "online", "postal"])),
        "received_late_hours": draw(st.integers(0, 30)),
        "moves": draw(st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(1, 60),
                                         st.integers(0, 5).map(lambda n: n == 0)),  # a void one move in six
                               min_size=3, max_size=12)),
        "day_off": draw(st.integers(0, 40)),
        "scan_hours": draw(st.integers(0, 24 * 40)),
    }


def _act(desk, d: Dossier, choice: int, at: datetime, want_void: bool):
    """Record one legal event (or void one) chosen by ``choice``."""
    s = desk.session
    live = [e for e in services._live_events(d) if e.type != "received"]
    if want_void and live:
        target = live[choice % len(live)]
        try:
            services.void_event(s, d, target.id, user=desk.supervisor, reason="Ghi nhầm", now=at)
            note_event(f"voided {target.type}")
        except IntakeError as err:  # the remaining events would break the machine: refused, nothing stored
            assert err.status == 409
            note_event("void refused")
        return
    options = [t for t, tr in lifecycle.TRANSITIONS.items() if d.status in tr.from_states]
    if d.extended or d.deadline_at is None:
        options = [t for t in options if t != "extended"]
    # Closing events end the walk: offered less often so the interesting middle gets explored.
    closing = {"returned_unprocessed", "withdrawn", "stopped", "cancelled"}
    weighted = [t for t in options for _ in range(1 if t in closing else 6)]
    if not weighted:
        return
    event = weighted[choice % len(weighted)]
    holder = d.current_unit_id
    handler = desk.handler if holder == desk.unit_a.id else desk.handler_b
    kw: dict = {}
    user = {"forwarded": desk.reception, "supplement_received": desk.reception, "handed_over": desk.reception,
            "returned_unprocessed": desk.reception, "withdrawn": desk.reception, "cancelled": desk.supervisor,
            "step_handed_over": desk.supervisor, "extended": desk.supervisor, "stopped": desk.supervisor,
            "supplement_requested": handler, "finished": handler}[event]
    if event == "forwarded":
        kw["unit"] = desk.unit_a if choice % 3 else desk.unit_b
    elif event == "step_handed_over":
        kw["unit"] = desk.unit_b if holder == desk.unit_a.id else desk.unit_a
    elif event == "supplement_requested":
        kw.update(note=NOTE, data={"documents_to_add": ["Bản sao giấy phép"]})
    elif event == "finished":
        kw["result"] = "approved" if choice % 2 else "refused"
    elif event == "extended":
        kw.update(note=NOTE, new_deadline=max(d.deadline_at, at).replace(hour=17, minute=0)
                  + timedelta(days=1 + choice % 9))
    elif lifecycle.TRANSITIONS[event].note_required:
        kw["note"] = NOTE
    services.record_event(s, d, event, user=user, now=at, at=at, **kw)
    note_event(f"{event} ({sc_unit(d)})")


def sc_unit(d: Dossier) -> str:
    return f"{d.rule['limit_unit']}, {d.rule['supplement_rule']}, {len(d.rule['steps'])} steps"


def _procedure(desk, sc):
    proc = make_procedure(desk.session, unit_id=desk.unit_a.id, limit_unit=sc["limit_unit"],
                          statutory_amount=sc["amount"], supplement_rule=sc["supplement_rule"])
    if sc["steps"]:
        first = sc["amount"] // 2 if sc["steps"] == 2 else sc["amount"]
        shares = [first, sc["amount"] - first] if sc["steps"] == 2 else [first]
        for i, share in enumerate(shares):
            proc.steps.append(ProcedureStep(position=i, name=f"Bước {i + 1}", share_amount=share,
                                            unit_id=(desk.unit_a, desk.unit_b)[i % 2].id))
    desk.session.flush()
    return proc


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sc=scenarios())
def test_stored_life_equals_a_fresh_replay_after_every_operation_a_calendar_edit_and_a_scan(desk, sc):
    s = desk.session
    proc = _procedure(desk, sc)
    received_at = START
    now = START + timedelta(hours=sc["received_late_hours"])
    d = receive(desk, procedure=proc, channel=sc["channel"], received_at=received_at, now=now,
                late_entry_reason="Ghi nhận muộn" if sc["received_late_hours"] else "")
    assert_one_life(s, d)
    at = now
    for choice, hours, want_void in sc["moves"]:
        at = at + timedelta(hours=hours)
        _act(desk, d, choice, at, want_void)
        assert_one_life(s, d)

    # A day off added on the calendar: every dossier open at the edit is recomputed by the writer.
    day = date(2026, 3, 10) + timedelta(days=sc["day_off"])
    open_ids = set(s.scalars(select(Dossier.id).where(Dossier.status.in_(lifecycle.OPEN_STATUSES))))
    if s.get(CalendarOverride, day) is None:
        s.add(CalendarOverride(day=day, working=False, name="Nghỉ đột xuất", note="Thông báo của UBND tỉnh"))
        s.flush()
        recompute_open_dossiers(s)
    assert (d.id in open_ids) == (d.status in lifecycle.OPEN_STATUSES)
    for other in s.scalars(select(Dossier).where(Dossier.id.in_(open_ids))):
        assert_one_life(s, other)  # a closed dossier keeps the deadlines it was closed with

    # The scan at a random instant flags exactly what the pure predicates say for that instant.
    instant = START + timedelta(hours=sc["scan_hours"])
    cal = calendar_for(s)
    run_scan(s, instant, cal=cal, horizon_days=2)
    th = lifecycle.thresholds(cal, instant, 2)
    s.expire_all()
    for dossier in s.scalars(select(Dossier)):
        # Open dossiers: their stored state is the fresh replay (checked above), so the predicates
        # over it are the predicates over the replay; closed ones keep what they were closed with.
        state = replay_dossier(s, dossier, cal) if dossier.id in open_ids else dossier
        stored = {k for k in lifecycle.WATCH_KINDS if getattr(dossier, f"flag_{k}")}
        assert stored == {k for k in lifecycle.WATCH_KINDS if lifecycle.holds(k, state, th)}, dossier.code
        assert services.flags_for(dossier, instant, cal) == lifecycle.watch_flags(state, th)
    s.commit()
