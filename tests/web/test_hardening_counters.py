"""Issue 12, item 15: the day's code counter and the register counter heal themselves when they lag
behind the stored dossiers (after a dossier import or a restored backup), never reuse a number and
never stall; a clash names what really clashed. Through the API, on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import delete, insert, select

from intake import codes
from tests.web.test_api import api  # noqa: F401  (fixture)
from tthc.extensions import db
from tthc.models import Dossier, DossierCodeCounter, RegisterCounter


def _clone_rows(app, code: str, new: list[tuple[str, int]]) -> None:
    """Insert copies of dossier ``code`` with other codes and register numbers, bypassing the
    counters, as a dossier import or a restore does."""
    with app.app_context():
        table = Dossier.__table__
        row = dict(db.session.execute(select(table).where(table.c.code == code)).mappings().one())
        row.pop("id")
        for other, number in new:
            db.session.execute(insert(table).values({**row, "code": other, "register_number": number}))
        db.session.commit()


def test_intake_heals_a_code_counter_and_a_register_counter_that_lag_behind_stored_dossiers(api, app):
    first = api.receive().get_json()
    prefix = first["code"][:-4]
    assert first["code"].endswith("0001") and first["register_number"] == 1
    _clone_rows(app, first["code"], [(prefix + "0002", 2), (prefix + "0003", 3)])

    second = api.receive()
    assert second.status_code == 201, second.get_json()
    assert second.get_json()["code"] == prefix + "0004" and second.get_json()["register_number"] == 4

    # A restore of an older backup: the counters fall back to nothing; no number is reused.
    with app.app_context():
        db.session.execute(delete(DossierCodeCounter))
        db.session.execute(delete(RegisterCounter))
        db.session.commit()
    third = api.receive().get_json()
    assert third["code"] == prefix + "0005" and third["register_number"] == 5
    assert api.receive().get_json()["code"] == prefix + "0006"


def test_a_register_number_clash_is_reported_as_such_not_as_a_code_clash(api, app, monkeypatch):
    api.receive()
    # A concurrent writer took the number between the check and the insert.
    monkeypatch.setattr(codes, "next_register_number", lambda session, year: 1)
    response = api.receive()
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["field"] == "register_number" and "sổ theo dõi" in error["message"]
    assert "Mã hồ sơ" not in error["message"]
