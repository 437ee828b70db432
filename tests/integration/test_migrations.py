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
from sqlalchemy import inspect, text

from config import TestingConfig
from tthc import create_app
from tthc.extensions import db


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
        context = MigrationContext.configure(conn, opts={"compare_type": True})
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
