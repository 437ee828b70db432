"""The committed migrations build the schema of the models on an empty database.

`flask db upgrade` runs on an empty SQLite file and on an empty PostgreSQL schema
(a fresh ``mig_<random>`` schema in the test database, selected through the URL's
``options=-csearch_path=...``, dropped afterwards). Then every table of the models
exists, and Alembic's autogenerate finds nothing to add: a model change committed
without its migration fails here. `flask db downgrade base` undoes it on SQLite.
"""
from __future__ import annotations

import secrets

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from config import TestingConfig
from tthc import create_app
from tthc.extensions import db
from tthc import search
from tthc.reports import tally
from tthc.search import include_name


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request, tmp_path):
    """The URL of an empty database: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "migrated.sqlite")
        return
    pg_url = request.getfixturevalue("pg_base_url")  # skips with a reason when TTHC_TEST_DATABASE_URL is unset
    pg_engine = request.getfixturevalue("pg_engine")
    schema = f"mig_{secrets.token_hex(6)}"
    with pg_engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{pg_url}{'&' if '?' in pg_url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with pg_engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture
def migrated_app(empty_db_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_db_url)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _flask_db(app, *args):
    result = app.test_cli_runner().invoke(args=["db", *args])
    assert result.exit_code == 0 and result.exception is None, (
        f"flask db {' '.join(args)} failed (exit {result.exit_code}):\n{result.output}\n{result.exception!r}")
    return result


def _tables(app) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def _model_tables() -> set[str]:
    return {t.name for t in db.metadata.sorted_tables}


def _schema_differences(app) -> list:
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        return compare_metadata(context, db.metadata)


def test_the_database_starts_empty(migrated_app):
    assert _tables(migrated_app) == set()


def test_db_upgrade_on_an_empty_database_creates_every_model_table(migrated_app):
    _flask_db(migrated_app, "upgrade")

    tables = _tables(migrated_app)
    missing = _model_tables() - tables
    assert not missing, f"tables of the models not created by the migrations: {sorted(missing)}"
    assert "alembic_version" in tables


def test_migrated_schema_matches_the_models_so_no_migration_is_missing(migrated_app):
    _flask_db(migrated_app, "upgrade")

    differences = _schema_differences(migrated_app)
    assert differences == [], (
        "the models differ from the migrated database: write a migration "
        "(flask db migrate -m '...'), review it, commit it:\n" + "\n".join(map(repr, differences)))


def test_db_upgrade_is_at_head_and_a_second_upgrade_changes_nothing(migrated_app):
    _flask_db(migrated_app, "upgrade")
    with migrated_app.app_context():
        script = ScriptDirectory.from_config(migrated_app.extensions["migrate"].migrate.get_config())
        with db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    assert current == set(script.get_heads()), "the database is not at the migrations' single head"
    assert len(current) == 1, f"the migrations have several heads: {sorted(current)}"

    _flask_db(migrated_app, "upgrade")
    assert _schema_differences(migrated_app) == []


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
def test_db_downgrade_base_removes_every_model_table_and_upgrade_rebuilds_them(migrated_app):
    _flask_db(migrated_app, "upgrade")

    _flask_db(migrated_app, "downgrade", "base")
    left = _tables(migrated_app) & _model_tables()
    assert not left, f"tables left by `flask db downgrade base`: {sorted(left)}"

    _flask_db(migrated_app, "upgrade")
    assert _model_tables() <= _tables(migrated_app)
    assert _schema_differences(migrated_app) == []


def _search_objects(app) -> dict[str, str]:
    """The search index's own DDL as the database holds it (tthc/search.py), by name."""
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE name IN (:t, :n, :a, :b, :c)"),
                                dict(zip("tnabc", (search.FTS_TABLE, search.FTS_NUMBER_TABLE, *search.TRIGGERS))))
            return {name: " ".join(sql.replace("IF NOT EXISTS ", "").split()) for name, sql in rows}
        rows = conn.execute(text("SELECT indexname, indexdef, obj_description(to_regclass(indexname), 'pg_class') "
                                 "FROM pg_indexes WHERE indexname = :n AND schemaname = current_schema()"),
                            {"n": search.TRGM_INDEX})
        # The comment names the layout (create_search_index rebuilds an index of another one).
        return {name: (definition.replace(f"{conn.scalar(text('SELECT current_schema()'))}.", ""), comment)
                for name, definition, comment in rows}


def test_migrations_build_the_search_index_the_models_build(migrated_app, empty_db_url, tmp_path):
    _flask_db(migrated_app, "upgrade")
    migrated = _search_objects(migrated_app)
    expected = 5 if migrated_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else 1
    assert len(migrated) == expected, migrated

    if empty_db_url.startswith("sqlite"):
        fresh_url = "sqlite:///" + str(tmp_path / "created.sqlite")
        fresh = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=fresh_url)
        with fresh.app_context():
            db.create_all()
        assert _search_objects(fresh) == migrated
        with fresh.app_context():
            db.engine.dispose()
    else:  # the same expression, as create_all builds it in the test session's schema
        with migrated_app.app_context(), db.engine.begin() as conn:
            conn.execute(text(f"DROP INDEX {search.TRGM_INDEX}"))
            search.create_search_index(conn)
        assert _search_objects(migrated_app) == migrated


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
def test_the_search_migration_indexes_the_dossiers_already_there(migrated_app):
    from datetime import datetime

    from intake.services import receive_dossier
    from tests.factories import make_procedure, make_user

    with migrated_app.app_context():
        script = ScriptDirectory.from_config(migrated_app.extensions["migrate"].migrate.get_config())
        before = script.get_revision("a13f7c2e5d01").down_revision  # the schema just before the search index
    _flask_db(migrated_app, "upgrade", before)
    with migrated_app.app_context():
        dossier = receive_dossier(
            db.session, procedure=make_procedure(db.session), channel="direct",
            applicant={"name": "Trần Thị Bích", "id_number": "048190012345", "phone": "0905123456"},
            received_by=make_user(db.session, role="reception"), now=datetime(2026, 3, 9, 9, 15))
        db.session.commit()
        code = dossier.code
        db.session.remove()
    _flask_db(migrated_app, "upgrade")
    with migrated_app.app_context():
        dossier_id = db.session.scalar(text("SELECT id FROM dossier WHERE code = :c"), {"c": code})
        for fts, literal in (("dossier_search", "tran thi bich"), ("dossier_search_number", "0905123456")):
            found = db.session.execute(text(f"SELECT rowid & {search.ID_MASK} FROM {fts} WHERE {fts} MATCH :m"),
                                       {"m": f'"{literal}"'}).scalars().all()
            assert found == [dossier_id], fts


def _tally_ddl(app) -> dict[str, str]:
    """The dossier tally's triggers as the database holds them (tthc/reports/tally.py)."""
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'dossier' "
                                     "AND name LIKE 'dossier_tally%'"))
            return {name: " ".join(sql.replace("IF NOT EXISTS ", "").split()) for name, sql in rows}
        body = conn.scalar(text("SELECT prosrc FROM pg_proc WHERE proname = :f AND pronamespace = "
                                "current_schema()::regnamespace"), {"f": tally.PG_FUNCTION})
        trigger = conn.scalar(text("SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE t.tgname = :t AND "
                                   "t.tgrelid = to_regclass('dossier')"), {"t": tally.PG_TRIGGER})
        schema = conn.scalar(text("SELECT current_schema()"))
        return {"function": " ".join(body.split()), "trigger": trigger.replace(f"{schema}.", "")}


def _tally_expected(dialect: str) -> dict[str, str]:
    statements = tally.trigger_sql(dialect)
    if dialect == "sqlite":
        return {s.split()[5]: " ".join(s.replace("IF NOT EXISTS ", "").split()) for s in statements}
    function = statements[0]
    return {"function": " ".join(function[function.index("$$") + 2:function.rindex("$$")].split())}


def test_the_tally_migration_builds_the_triggers_the_models_build_and_fills_the_tally(migrated_app):
    from datetime import datetime

    from intake.services import receive_dossier
    from tests.factories import make_procedure, make_user

    with migrated_app.app_context():
        script = ScriptDirectory.from_config(migrated_app.extensions["migrate"].migrate.get_config())
        before = script.get_revision("e41c7a9d2b63").down_revision
        dialect = db.engine.dialect.name
    _flask_db(migrated_app, "upgrade", before)
    with migrated_app.app_context():
        procedure = make_procedure(db.session)
        reception = make_user(db.session, role="reception")
        for channel, at in (("direct", datetime(2026, 3, 9, 9, 15)), ("online", datetime(2026, 3, 10, 14, 0))):
            receive_dossier(db.session, procedure=procedure, channel=channel, applicant={"name": "Trần Thị Bích", "id_number": "048190012345"},
                            received_by=reception, now=at)
        db.session.commit()
        db.session.remove()
    _flask_db(migrated_app, "upgrade")

    held = _tally_ddl(migrated_app)
    expected = _tally_expected(dialect)
    assert {k: held[k] for k in expected} == expected
    if dialect == "postgresql":
        assert held["trigger"] == tally.trigger_sql(dialect)[-1], held["trigger"]
    # The statements that filled it are what tally.rebuild runs today.
    import importlib.util
    from pathlib import Path

    path = next(Path(__file__).resolve().parents[2].glob("migrations/versions/e41c7a9d2b63_*.py"))
    spec = importlib.util.spec_from_file_location("tally_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.FILL[dialect] == tally.rebuild_sql(dialect)[1:]
    assert migration.TRIGGERS[dialect] == tally.trigger_sql(dialect)
    with migrated_app.app_context():
        rows = db.session.execute(text("SELECT kind, tag, day, n FROM dossier_tally ORDER BY kind, tag")).all()
        assert [(k, t, str(d), n) for k, t, d, n in rows if k == "r"] == [  # by half-month of reception
            ("r", "direct", "2026-03-01", 1), ("r", "online", "2026-03-01", 1)]
        assert {k for k, *_ in rows} == {"r", "d"}  # both in progress, each with its deadline, none finished
        db.session.remove()


def test_the_alert_clock_migration_stamps_the_alerts_there_and_its_downgrade_keeps_the_acknowledgements(
        migrated_app):
    """a7c3e1f09b24 (issue 13): alerts already there get their ids as seq and the clock the largest;
    taken back, no acknowledgement is lost (a batch on SQLite would drop ``alert`` and cascade)."""
    from datetime import datetime

    from intake.services import receive_dossier
    from tests.factories import make_procedure, make_user
    from tthc.models import Alert, AlertAck

    _flask_db(migrated_app, "upgrade")
    with migrated_app.app_context():
        reception = make_user(db.session, role="reception")
        dossier = receive_dossier(db.session, procedure=make_procedure(db.session), channel="direct",
                                  applicant={"name": "Trần Thị Bích", "id_number": "048190012345"},
                                  received_by=reception, now=datetime(2026, 3, 9, 9, 15))
        for kind in ("not_forwarded", "overdue"):
            alert = Alert(dossier_id=dossier.id, kind=kind, unit_id=dossier.unit_id,
                          created_at=datetime(2026, 3, 24, 9, 0))
            db.session.add(alert)
            db.session.flush()
            db.session.add(AlertAck(alert_id=alert.id, user_id=reception.id, acknowledged_at=alert.created_at))
        db.session.commit()
        ids = sorted(db.session.scalars(select(Alert.id)))
        db.session.remove()
    _flask_db(migrated_app, "downgrade", "e41c7a9d2b63")
    with migrated_app.app_context():
        assert db.session.scalar(text("SELECT count(*) FROM alert_ack")) == 2
        db.session.remove()
    _flask_db(migrated_app, "upgrade")
    with migrated_app.app_context():
        assert db.session.execute(text("SELECT id, seq FROM alert ORDER BY id")).all() == [(i, i) for i in ids]
        assert db.session.scalar(text("SELECT value FROM alert_clock")) == max(ids)
        assert db.session.scalar(text("SELECT count(*) FROM alert_ack")) == 2
        db.session.remove()
    assert _schema_differences(migrated_app) == []
