"""Issue 12, item 17 (the database refuses UPDATE and DELETE of audit rows, on SQLite and
PostgreSQL, in the test databases and in migrated ones) and the data migration of item 5
(stored dossier rows holding lone surrogates are repaired, before the audit triggers)."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from config import TestingConfig
from intake import services
from tests.factories import make_procedure, make_user
from tests.integration.test_migrations import _flask_db, empty_db_url  # noqa: F401  (fixture)
from tthc import audit, create_app
from tthc.clock import now
from tthc.extensions import db
from tthc.models import AuditLog, Dossier, Procedure, User

REPAIR, TRIGGERS = "63bad2586c09", "211d3823ff33"


def _refused(session, statement) -> bool:
    try:
        session.execute(statement)
        session.flush()
    except DBAPIError as exc:
        session.rollback()
        return "append-only" in str(exc)
    session.rollback()
    return False


def _assert_append_only(session) -> None:
    entry = audit.record(session, "test", "thing", 1, note="kept")
    session.commit()
    assert _refused(session, update(AuditLog).where(AuditLog.id == entry.id).values(note="rewritten"))
    assert _refused(session, delete(AuditLog).where(AuditLog.id == entry.id))
    assert _refused(session, text("DELETE FROM audit_log"))
    assert session.scalar(select(AuditLog.note).where(AuditLog.id == entry.id)) == "kept"
    audit.record(session, "test", "thing", 2)  # inserting still works
    session.commit()


def test_the_test_databases_refuse_to_update_or_delete_audit_rows(db_session):
    _assert_append_only(db_session)


def test_migrated_databases_refuse_to_update_or_delete_audit_rows(empty_db_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_db_url)
    try:
        _flask_db(app, "upgrade")
        with app.app_context():
            _assert_append_only(db.session)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_repair_migration_mends_stored_surrogates_and_runs_before_the_triggers(empty_db_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_db_url)
    try:
        from alembic.script import ScriptDirectory

        with app.app_context():
            script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
            before = script.get_revision(REPAIR).down_revision
        _flask_db(app, "upgrade", before)  # the schema before the repair
        with app.app_context():
            s = db.session
            reception = make_user(s, role="reception")
            procedure = make_procedure(s)
            dossier = services.receive_dossier(s, procedure=s.get(Procedure, procedure.id),
                                               applicant={"name": "Trần Bình", "id_number": "079190001234"},
                                               channel="direct", received_by=s.get(User, reception.id), now=now())
            s.commit()
            dossier_id = dossier.id
            # As the API stored it before the boundary refused lone surrogates: a JSON escape.
            s.execute(text("UPDATE dossier SET documents = :v WHERE id = :id"),
                      {"v": '[{"name": "\\u0110\\u01a1n \\ud800", "kind": "original", "count": 1}]', "id": dossier_id})
            s.execute(text("UPDATE dossier_event SET data = :v WHERE dossier_id = :id"),
                      {"v": '{"channel": "direct", "note": "a\\u0001b"}', "id": dossier_id})
            s.commit()
        _flask_db(app, "upgrade")
        with app.app_context():
            s = db.session
            stored = s.get(Dossier, dossier_id)
            assert stored.documents == [{"name": "Đơn \ufffd", "kind": "original", "count": 1}]
            assert stored.events[0].data == {"channel": "direct", "note": "ab"}
            "Đơn \ufffd".encode("utf-8")  # encodable: pages render again
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
def test_downgrading_the_trigger_migration_lets_rows_change_again(empty_db_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_db_url)
    try:
        _flask_db(app, "upgrade")
        _flask_db(app, "downgrade", f"{TRIGGERS}-1")
        with app.app_context():
            entry = audit.record(db.session, "test", "thing", 1)
            db.session.commit()
            db.session.execute(delete(AuditLog).where(AuditLog.id == entry.id))
            db.session.commit()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
