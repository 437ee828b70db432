"""Shared fixtures.

Database tests run on SQLite always, and on PostgreSQL too when
TTHC_TEST_DATABASE_URL is set: any test that uses the ``app`` fixture is
parametrised over the available backends (test ids end in [sqlite] / [postgresql]).
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from config import TestingConfig
from tests.factories import PASSWORD, make_user
from tests.helpers import csrf_token
from tthc import create_app
from tthc.extensions import db
from tthc.search import ensure_pg_trgm

PG_BASE_URL = os.environ.get("TTHC_TEST_DATABASE_URL", "").strip()
if PG_BASE_URL.startswith("postgresql://"):
    PG_BASE_URL = "postgresql+psycopg://" + PG_BASE_URL[len("postgresql://"):]
# Each test session works in its own schema, so that concurrent runs on one database never collide.
PG_SCHEMA = f"tthc_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
PG_URL = (f"{PG_BASE_URL}{'&' if '?' in PG_BASE_URL else '?'}options=-csearch_path%3D{PG_SCHEMA}"
          if PG_BASE_URL else "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def pytest_report_header(config):
    lines = [f"database backends: {', '.join(BACKENDS)}"]
    if not PG_URL:
        lines.append("NOTICE: TTHC_TEST_DATABASE_URL is not set: PostgreSQL database tests are NOT run.")
    return lines


@pytest.fixture(scope="session")
def pg_schema_ready():
    """Create the schema once per session on PostgreSQL (tests truncate between runs)."""
    if not PG_URL:
        yield None
        return
    base = create_engine(PG_BASE_URL)
    with base.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{PG_SCHEMA}"'))
        # The search index's pg_trgm lives once in public, shared by every test schema (tthc/search.py);
        # the lock keeps two test sessions from creating it at the same time.
        conn.execute(text("SELECT pg_advisory_xact_lock(7413)"))
        ensure_pg_trgm(conn)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=PG_URL)
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    yield PG_URL
    with base.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
    base.dispose()


def _truncate_all(engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def app(backend, tmp_path, request):
    overrides = {"SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "test.sqlite")}
    if backend == "postgresql":
        request.getfixturevalue("pg_schema_ready")
        overrides["SQLALCHEMY_DATABASE_URI"] = PG_URL
    app = create_app(TestingConfig, **overrides)
    with app.app_context():
        if backend == "sqlite":
            db.create_all()
        else:
            _truncate_all(db.engine)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def db_session(app):
    with app.app_context():
        yield db.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    """Log in through the real form, creating the account on first use (flaskr's AuthActions)."""

    def __init__(self, app, client):
        self._app = app
        self._client = client
        self.user = None

    def ensure_user(self, role: str = "reception", username: str | None = None, **kw):
        from sqlalchemy import select

        from tthc.models import User

        username = username or f"test-{role}"
        with self._app.app_context():
            user = db.session.scalar(select(User).where(User.username == username))
            if user is None:
                user = make_user(db.session, role=role, username=username, **kw)
                db.session.commit()
            return user.id

    def login(self, role: str = "reception", username: str | None = None, password: str = PASSWORD, **kw):
        user_id = self.ensure_user(role, username, **kw)
        username = username or f"test-{role}"
        token = csrf_token(self._client, "/login")
        response = self._client.post("/login", data={"username": username, "password": password, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        with self._app.app_context():
            from tthc.models import User

            self.user = db.session.get(User, user_id)
            db.session.expunge(self.user)
        return self.user

    def logout(self):
        token = csrf_token(self._client, "/")
        return self._client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(app, client):
    return AuthActions(app, client)


@pytest.fixture
def pg_url(request):
    """The session's PostgreSQL URL (its own schema, tables created)."""
    if not PG_URL:
        pytest.skip("TTHC_TEST_DATABASE_URL not set: PostgreSQL test not run")
    return request.getfixturevalue("pg_schema_ready")


@pytest.fixture
def pg_base_url():
    """The PostgreSQL database itself, for tests that make their own schema."""
    if not PG_BASE_URL:
        pytest.skip("TTHC_TEST_DATABASE_URL not set: PostgreSQL test not run")
    return PG_BASE_URL


@pytest.fixture
def pg_engine(pg_url):
    engine = create_engine(pg_url)
    yield engine
    engine.dispose()
