"""Configuration classes, read from ``TTHC_*`` environment variables.

Agency identity (name, parent agency, code, address) is configuration, never a
constant: provinces merge and departments are restructured (domain.md §1).
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"TTHC_{name}")
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"TTHC_{name} must be an integer, got {raw!r}") from exc


class Config:
    SECRET_KEY = _env("SECRET_KEY")
    # None means "SQLite file in the instance folder", resolved by create_app().
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    AGENCY_NAME = _env("AGENCY_NAME", "SỞ KHOA HỌC VÀ CÔNG NGHỆ")
    PARENT_AGENCY = _env("PARENT_AGENCY", "ỦY BAN NHÂN DÂN TỈNH")
    AGENCY_CODE = _env("AGENCY_CODE", "000.00.31.H49")
    AGENCY_ADDRESS = _env("AGENCY_ADDRESS", "")
    AGENCY_PLACE = _env("AGENCY_PLACE", "")
    AGENCY_PHONE = _env("AGENCY_PHONE", "")
    TIMEZONE = _env("TIMEZONE", "Asia/Ho_Chi_Minh")
    OFFICE_HOURS = _env("OFFICE_HOURS", "07:00-11:30,13:30-17:00")
    DUE_SOON_WORKING_DAYS = _env_int("DUE_SOON_WORKING_DAYS", 2)
    PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # Administrators' copies of the printed forms (README, "Printed forms"); None: <instance>/forms.
    FORM_TEMPLATES = _env("FORM_TEMPLATES")

    # Shared desk computers: a session left idle expires (minutes).
    IDLE_TIMEOUT_MINUTES = _env_int("IDLE_TIMEOUT_MINUTES", 30)
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=IDLE_TIMEOUT_MINUTES)
    SESSION_REFRESH_EACH_REQUEST = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env("COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    # Login throttling: failures per username and per client address within the window.
    LOGIN_MAX_FAILURES = _env_int("LOGIN_MAX_FAILURES", 5)
    LOGIN_WINDOW_MINUTES = _env_int("LOGIN_WINDOW_MINUTES", 15)

    # Public dossier look-up: failed attempts per client address within the window.
    PUBLIC_LOOKUP_MAX_FAILURES = _env_int("PUBLIC_LOOKUP_MAX_FAILURES", 10)
    PUBLIC_LOOKUP_WINDOW_MINUTES = _env_int("PUBLIC_LOOKUP_WINDOW_MINUTES", 15)
    # Per dossier code, from any addresses: this many failures within the window lock the code.
    PUBLIC_LOOKUP_CODE_MAX_FAILURES = _env_int("PUBLIC_LOOKUP_CODE_MAX_FAILURES", 5)
    PUBLIC_LOOKUP_CODE_WINDOW_MINUTES = _env_int("PUBLIC_LOOKUP_CODE_WINDOW_MINUTES", 15)
    PUBLIC_LOOKUP_CODE_LOCK_MINUTES = _env_int("PUBLIC_LOOKUP_CODE_LOCK_MINUTES", 15)
    # Number of trusted reverse proxies in front of the app (nginx: 1). The client address used for
    # throttling and the audit log then comes from X-Forwarded-For; 0 trusts no header.
    PROXY_COUNT = _env_int("PROXY_COUNT", 0)

    MAX_CONTENT_LENGTH = 10 * 1024 * 1024  # catalog imports
    WTF_CSRF_TIME_LIMIT = None  # token lives as long as the session
    PER_PAGE = 25

    # Scheduler (see deadlines/scheduler.py)
    SCAN_INTERVAL_MINUTES = _env_int("SCAN_INTERVAL_MINUTES", 15)
    DIGEST_TIME = _env("DIGEST_TIME", "07:00")
    RUN_SCHEDULER_IN_PROCESS = False

    # Reports: "decree09" periods run from the 15th to the 14th (Decree 09/2019, Art. 12); "calendar" months.
    REPORT_PERIOD_SCHEME = _env("REPORT_PERIOD_SCHEME", "decree09")
    REPORT_NUMBER_TEMPLATE = _env("REPORT_NUMBER_TEMPLATE", "Số:        /BC")

    # Action plans: a reporting period is due this many working days after its end; evidence uploads' size limit.
    PLAN_DUE_WORKING_DAYS = _env_int("PLAN_DUE_WORKING_DAYS", 5)
    PLAN_EVIDENCE_MAX_BYTES = _env_int("PLAN_EVIDENCE_MAX_BYTES", 5 * 1024 * 1024)

    SMTP_HOST = _env("SMTP_HOST")
    SMTP_PORT = _env_int("SMTP_PORT", 25)
    SMTP_FROM = _env("SMTP_FROM", "tthc@localhost")

    TESTING = False
    DEBUG = False


class DevelopmentConfig(Config):
    # Without TTHC_SECRET_KEY, a key generated once per instance (instance/secret_key), never a constant.
    SECRET_KEY_FROM_INSTANCE = True
    RUN_SCHEDULER_IN_PROCESS = _env("IN_PROCESS_SCHEDULER", "1") == "1"


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = secrets.token_hex(32)  # random per test process, never a constant
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    LOGIN_MAX_FAILURES = 5


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _env("COOKIE_SECURE", "0") == "1"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    return CONFIGS.get(_env("ENV", "production") or "production", ProductionConfig)
