"""Dossier codes (domain.md §6): ``<agency>-YYMMDD-XXXX``, gapless per agency and day, never reused,
safe under concurrent intake, on SQLite (file, WAL, BEGIN IMMEDIATE) and PostgreSQL (row lock of
the counter upsert). Register numbers (form 06) restart at 1 each year.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from intake import codes, services
from intake.services import IntakeError
from tests.factories import make_procedure, make_unit, make_user
from tthc.extensions import db
from tthc.models import Dossier, DossierCodeCounter

NOW = datetime(2026, 3, 10, 16, 0)
APPLICANT = {"name": "Trần Thị Bình", "id_number": "079190001234"}


@pytest.fixture
def setup(db_session):
    unit = make_unit(db_session)
    ids = {
        "reception": make_user(db_session, "reception").id,
        "procedure": make_procedure(db_session, unit_id=unit.id).id,
    }
    db_session.commit()
    return ids


def _receive(session, ids, received_at, **kw):
    from tthc.models import Procedure, User

    return services.receive_dossier(session, procedure=session.get(Procedure, ids["procedure"]), applicant=APPLICANT,
                                    channel="direct", received_by=session.get(User, ids["reception"]), now=NOW,
                                    received_at=received_at, **kw)


def _sequences(codes_: list[str], agency: str) -> dict[str, list[int]]:
    pattern = codes.code_pattern(agency)
    by_day: dict[str, list[int]] = defaultdict(list)
    for code in codes_:
        match = pattern.match(code)
        assert match, code
        by_day[match.group(1)].append(int(match.group(2)))
    return by_day


def test_codes_number_each_reception_day_from_0001_and_registers_each_year_from_1(app, db_session, setup):
    agency = app.config["AGENCY_CODE"]
    made = [_receive(db_session, setup, at) for at in (
        datetime(2025, 12, 31, 16, 0), datetime(2026, 3, 9, 8, 0), datetime(2026, 3, 9, 14, 0),
        datetime(2026, 3, 10, 7, 30), datetime(2026, 3, 9, 16, 59))]
    assert [d.code for d in made] == [f"{agency}-251231-0001", f"{agency}-260309-0001", f"{agency}-260309-0002",
                                      f"{agency}-260310-0001", f"{agency}-260309-0003"]
    assert [(d.register_year, d.register_number) for d in made] == [(2025, 1), (2026, 1), (2026, 2), (2026, 3),
                                                                    (2026, 4)]


def test_another_agency_code_has_its_own_sequence(app, db_session, setup):
    first = _receive(db_session, setup, datetime(2026, 3, 9, 8, 0))
    app.config["AGENCY_CODE"] = "000.00.31.H26"
    second = _receive(db_session, setup, datetime(2026, 3, 9, 9, 0))
    assert first.code.endswith("H49-260309-0001") and second.code == "000.00.31.H26-260309-0001"


def test_a_rolled_back_intake_consumes_no_number(app, db_session, setup):
    _receive(db_session, setup, datetime(2026, 3, 9, 8, 0))
    db_session.commit()
    _receive(db_session, setup, datetime(2026, 3, 9, 9, 0))
    db_session.rollback()
    third = _receive(db_session, setup, datetime(2026, 3, 9, 10, 0))
    db_session.commit()
    assert third.code.endswith("-260309-0002")


def test_an_external_code_consumes_no_number(app, db_session, setup):
    _receive(db_session, setup, datetime(2026, 3, 9, 8, 0), code="PVHCC-0001")
    own = _receive(db_session, setup, datetime(2026, 3, 9, 9, 0))
    assert own.code.endswith("-260309-0001") and own.register_number == 2


def test_the_ten_thousandth_dossier_of_a_day_is_refused_and_leaves_the_counter_unchanged(app, db_session, setup):
    db_session.add(DossierCodeCounter(agency_code=app.config["AGENCY_CODE"], day=date(2026, 3, 9), last_seq=9998))
    db_session.commit()
    assert _receive(db_session, setup, datetime(2026, 3, 9, 8, 0)).code.endswith("-260309-9999")
    db_session.commit()
    with pytest.raises(IntakeError) as err:
        _receive(db_session, setup, datetime(2026, 3, 9, 9, 0))
    assert err.value.status == 409 and "9999" in err.value.message
    db_session.rollback()
    assert db_session.scalar(select(DossierCodeCounter.last_seq)) == 9999
    assert _receive(db_session, setup, datetime(2026, 3, 10, 8, 0)).code.endswith("-260310-0001")


THREADS = 20
PER_THREAD = 5


def test_concurrent_intakes_from_twenty_workers_get_distinct_gapless_codes(app, setup):
    """20 threads, each with its own app context and session (as gunicorn workers have their own
    connections), receive dossiers over two days; every fifth intake is rolled back."""
    agency = app.config["AGENCY_CODE"]
    committed: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            for i in range(PER_THREAD + 1):
                with app.app_context():
                    day = 9 + (n + i) % 2
                    dossier = _receive(db.session, setup, datetime(2026, 3, day, 8, n))
                    code = dossier.code
                    if i == PER_THREAD:
                        db.session.rollback()  # a failed intake after its number was drawn
                        continue
                    db.session.commit()
                    with lock:
                        committed.append(code)
                    db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert len(committed) == len(set(committed)) == THREADS * PER_THREAD
    for day, seqs in _sequences(committed, agency).items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), day
    with app.app_context():
        numbers = db.session.scalars(select(Dossier.register_number).order_by(Dossier.register_number)).all()
        assert numbers == list(range(1, THREADS * PER_THREAD + 1))
        assert db.session.scalar(select(func.count(Dossier.id))) == THREADS * PER_THREAD
