"""The application factory and configuration."""
from __future__ import annotations

import subprocess
import sys

import pytest

from config import DevelopmentConfig, ProductionConfig, TestingConfig
from tthc import create_app
from tthc.extensions import db


def test_production_config_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(RuntimeError, match="TTHC_SECRET_KEY"):
        create_app(ProductionConfig, SECRET_KEY=None, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.sqlite")


def test_production_config_starts_with_a_secret_key(tmp_path):
    key = "a-production-key-of-at-least-32-bytes"
    app = create_app(ProductionConfig, SECRET_KEY=key, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.sqlite")
    assert app.config["SECRET_KEY"] == key
    assert not app.testing


def test_development_config_has_a_local_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("TTHC_INSTANCE_PATH", str(tmp_path))
    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.sqlite")
    assert app.config["SECRET_KEY"]


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TTHC_INSTANCE_PATH", str(tmp_path / "inst"))
    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=None)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + str(tmp_path / "inst" / "tthc.sqlite")


def test_plain_postgresql_urls_use_the_psycopg3_driver(tmp_path):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="postgresql://u@127.0.0.1:1/x")
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_invalid_office_hours_are_refused_with_a_clear_message():
    with pytest.raises(RuntimeError, match="TTHC_OFFICE_HOURS"):
        create_app(TestingConfig, OFFICE_HOURS="17:00-07:00")


def test_environment_variables_configure_the_agency(tmp_path):
    code = (
        "from tthc import create_app; from config import config_from_env; "
        "a = create_app(config_from_env()); "
        "print(a.config['AGENCY_NAME'], a.config['AGENCY_CODE'], a.config['IDLE_TIMEOUT_MINUTES'], a.testing)"
    )
    env = {"TTHC_ENV": "testing", "TTHC_AGENCY_NAME": "SỞ KH&CN TỈNH X", "TTHC_AGENCY_CODE": "000.00.31.H99",
           "TTHC_IDLE_TIMEOUT_MINUTES": "10", "TTHC_INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]))
    assert out.stdout.strip() == "SỞ KH&CN TỈNH X 000.00.31.H99 10 True"


def test_testing_app_uses_the_given_database(app):
    with app.app_context():
        assert db.engine.url.get_backend_name() in ("sqlite", "postgresql")
    assert app.testing


def test_an_unexpected_error_shows_a_vietnamese_500_page_and_keeps_saved_data(tmp_path):
    from tests.factories import PASSWORD, make_user
    from tests.helpers import csrf_token

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.sqlite")

    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    app.testing = False  # let the error handler answer instead of propagating
    with app.app_context():
        db.create_all()
        make_user(db.session, role="reception", username="u500")
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"username": "u500", "password": PASSWORD, "csrf_token": csrf_token(client)})
    response = client.get("/boom")
    assert response.status_code == 500
    assert "Lỗi hệ thống" in response.get_data(as_text=True)
    assert client.get("/").status_code == 200


def test_behind_a_trusted_proxy_the_client_address_comes_from_x_forwarded_for(tmp_path):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.sqlite", PROXY_COUNT=1)
    captured = {}
    inner = app.wsgi_app.app  # the Flask app behind ProxyFix

    def spy(environ, start_response):
        captured["addr"] = environ["REMOTE_ADDR"]
        return inner(environ, start_response)

    app.wsgi_app.app = spy
    app.test_client().get("/login", headers={"X-Forwarded-For": "203.0.113.7"},
                          environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert captured["addr"] == "203.0.113.7"


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(tmp_path):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.sqlite")
    assert not hasattr(app.wsgi_app, "x_for")
