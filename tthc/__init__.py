"""The TTHC dossier tracker: application factory.

Feature packages (``intake``, ``deadlines``) are imported only inside
create_app(), so that ``tthc`` never depends on them at import time.
"""
from __future__ import annotations

import os
from typing import Any

from flask import Flask

from tthc.extensions import csrf, db, login_manager, migrate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(config_class: type | None = None, **overrides: Any) -> Flask:
    """Build the application. ``overrides`` win over the config class (tests use them)."""
    from config import config_from_env

    app = Flask(
        __name__,
        instance_path=os.environ.get("TTHC_INSTANCE_PATH") or os.path.join(ROOT, "instance"),
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
    )
    app.config.from_object(config_class or config_from_env())
    app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)

    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "tthc.sqlite")
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(app.config["SQLALCHEMY_DATABASE_URI"])
    from tthc import security

    security.configure_secret_key(app)
    from deadlines.workdays import OfficeHours

    try:
        OfficeHours.parse(app.config["OFFICE_HOURS"])
    except ValueError as exc:
        raise RuntimeError(f"TTHC_OFFICE_HOURS is invalid: {exc}") from exc

    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    from tthc.search import include_name  # autogenerate leaves the search index's own DDL alone

    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"), render_as_batch=True,
                     include_name=include_name)
    csrf.init_app(app)
    login_manager.init_app(app)
    _configure_sqlite(app)

    from tthc import auth, cli, errors, views, catalog, admin, public, params

    params.init_app(app)  # bounded <int:...> converter: before any blueprint adds its rules
    security.init_app(app)  # headers, bounded JSON, forbidden characters: before auth's hooks
    auth.init_app(app)
    errors.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(catalog.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(public.bp)
    cli.init_app(app)

    from deadlines import views as deadline_views, cli as deadline_cli

    app.register_blueprint(deadline_views.bp)
    deadline_cli.init_app(app)
    views.register_calendar_todos(app, deadline_views.calendar_todos)

    from deadlines import dashboard as watch_dashboard, watch_cli  # noqa: F401  (importing registers the CLI)

    app.register_blueprint(watch_dashboard.bp)
    app.register_blueprint(watch_dashboard.api_alerts_bp)
    csrf.exempt(watch_dashboard.api_alerts_bp)  # bearer tokens, not cookies
    watch_dashboard.init_app(app)
    views.register_home(app, "supervisor", watch_dashboard.show_home)
    views.register_home(app, "unit_head", watch_dashboard.show_home)

    from intake import api as intake_api, views as intake_views

    app.register_blueprint(intake_views.bp)
    views.register_home(app, "reception", intake_views.reception_home)
    views.register_home(app, "handler", intake_views.handler_home)
    app.register_blueprint(intake_api.bp)
    csrf.exempt(intake_api.bp)  # the API authenticates with bearer tokens, not cookies

    from intake.dossier_import import cli as import_cli, views as import_views

    app.register_blueprint(import_views.bp)
    import_cli.init_app(app)

    # tthc must not import deadlines at module level: the reports get the calendar hooks injected.
    from deadlines.due_dates import working_days_late
    from deadlines.store import calendar_for, deadline_state_at
    from tthc import reports

    reports.init_app(app, calendar_for=calendar_for, working_days_late=working_days_late,
                     deadline_state_at=deadline_state_at)

    from deadlines import review

    review.init_app(app)

    from tthc import plans

    plans.init_app(app, calendar_for=calendar_for)

    from tthc.templating import init_app as init_templating

    init_templating(app)
    return app


def _normalise_db_url(url: str) -> str:
    # psycopg 3 is the driver we ship; accept plain postgres:// URLs too.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _configure_sqlite(app: Flask) -> None:
    """WAL and a busy timeout let several gunicorn workers share one SQLite file."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every SQLite test
            # Let SQLAlchemy, not pysqlite, issue BEGIN, so "BEGIN IMMEDIATE" works.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            if ":memory:" not in app.config["SQLALCHEMY_DATABASE_URI"] and app.config["SQLALCHEMY_DATABASE_URI"] != "sqlite://":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # pragma: no cover
            # A writing request takes SQLite's write lock at BEGIN: a deferred transaction
            # that reads first and writes later fails at once with "database is locked"
            # when another worker writes, instead of waiting for busy_timeout. Reads
            # (GET) stay deferred so that WAL readers never wait.
            from flask import has_request_context, request

            writing = not has_request_context() or request.method not in ("GET", "HEAD", "OPTIONS")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")
