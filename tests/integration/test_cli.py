"""The command-line interface, through ``app.test_cli_runner()`` on every backend.

Bad input must end with a non-zero exit code and a clear message, never a
traceback: the runner swallows exceptions, so every refusal also checks that the
command ended by ``sys.exit`` (``result.exception`` is None or a SystemExit).
Set-up and checks run in their own application contexts, committed, so that the
command sees them and no SQLite write lock is held while it runs.
"""
from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.factories import make_unit, make_user
from tthc.extensions import db
from tthc.models import ApiToken, AuditLog, CalendarYear, Procedure, Unit, User

OFFDAYS_JSON = Path(__file__).resolve().parents[2] / "deadlines" / "data" / "vn_offdays.json"
OFFICIAL_YEARS = list(range(2018, 2027))
ROLES = ("admin", "reception", "handler", "supervisor")


def invoke(runner, *args, input=None):
    return runner.invoke(args=[str(a) for a in args], input=input)


def assert_ok(result):
    assert result.exit_code == 0 and result.exception is None, (
        f"exit {result.exit_code}, {result.exception!r}\n{result.output}")


def assert_refused(result, *fragments):
    """Non-zero exit, ended by sys.exit (no traceback), and a message containing every fragment."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"the command crashed instead of refusing: {result.exception!r}\n{result.output}")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, f"{fragment!r} not in:\n{result.output}"


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# -- flask users create -------------------------------------------------------------------------------


@pytest.fixture
def unit_code(app):
    with app.app_context():
        code = make_unit(db.session, code="QLKH", name="Phòng Quản lý Khoa học").code
        db.session.commit()
    return code


def test_users_create_makes_an_account_whose_password_logs_in(app, runner, unit_code):
    result = invoke(runner, "users", "create", "Nguyen.An", "--role", "handler", "--password", "mat-khau-du-dai",
                    "--unit", unit_code, "--full-name", "Nguyễn An", "--unit-head")

    assert_ok(result)
    assert "created user nguyen.an (handler)" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "nguyen.an"))
        assert (user.role, user.unit.code, user.full_name, user.is_unit_head, user.active) == (
            "handler", "QLKH", "Nguyễn An", True, True)
        assert user.check_password("mat-khau-du-dai")
        assert "mat-khau-du-dai" not in user.password_hash
        audit = db.session.scalar(select(AuditLog).where(AuditLog.entity == "user", AuditLog.action == "create"))
        assert audit.entity_id == str(user.id)


@pytest.mark.parametrize("args, message", [
    (["ban", "--role", "reception", "--password", "mat-khau-moi-1"], "đã tồn tại"),
    (["BAN", "--role", "reception", "--password", "mat-khau-moi-1"], "đã tồn tại"),
    (["moi", "--role", "boss", "--password", "mat-khau-moi-1"], "--role"),
    (["moi", "--role", "handler", "--password", "mat-khau-moi-1"], "phải thuộc một đơn vị"),
    (["moi", "--role", "handler", "--password", "mat-khau-moi-1", "--unit", "KHONGCO"], "Không tìm thấy đơn vị"),
    (["moi", "--role", "reception", "--password", "ngan"], "ít nhất 8 ký tự"),
    (["moi", "--role", "reception"], "--password"),
    (["x", "--role", "reception", "--password", "mat-khau-moi-1"], "Tên đăng nhập"),
], ids=["duplicate-username", "duplicate-username-other-case", "bad-role", "handler-without-unit",
        "unknown-unit", "short-password", "missing-password", "bad-username"])
def test_users_create_refuses_bad_input_with_a_clear_message_and_creates_nothing(app, runner, args, message):
    with app.app_context():
        make_user(db.session, role="reception", username="ban")
        db.session.commit()
    before = count(app, User)

    result = invoke(runner, "users", "create", *args)

    assert_refused(result, message)
    assert count(app, User) == before


# -- flask users token ---------------------------------------------------------------------------------


def _bearer_user(app, token):
    from tthc.auth import user_from_bearer

    with app.test_request_context("/api/v1/", headers={"Authorization": f"Bearer {token}"}):
        user = user_from_bearer()
        return None if user is None else user.username


def test_users_token_prints_a_token_that_authenticates_and_stores_only_its_hash(app, runner):
    with app.app_context():
        make_user(db.session, role="reception", username="tiepnhan")
        db.session.commit()

    result = invoke(runner, "users", "token", "tiepnhan", "--name", "cổng dịch vụ công")

    assert_ok(result)
    token = result.output.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,}", token), result.output
    assert _bearer_user(app, token) == "tiepnhan"
    assert _bearer_user(app, token + "x") is None
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.name == "cổng dịch vụ công" and row.revoked_at is None
        stored = [row.token_hash, row.name] + [
            json.dumps([a.before, a.after, a.note], ensure_ascii=False) for a in db.session.scalars(select(AuditLog))]
        assert not any(token in text for text in stored), "the clear-text token is stored"


def test_users_token_revoke_revokes_every_token_of_the_user(app, runner):
    with app.app_context():
        make_user(db.session, role="reception", username="tiepnhan")
        make_user(db.session, role="reception", username="khac")
        db.session.commit()
    first = invoke(runner, "users", "token", "tiepnhan").output.strip()
    second = invoke(runner, "users", "token", "tiepnhan").output.strip()
    other = invoke(runner, "users", "token", "khac").output.strip()

    result = invoke(runner, "users", "token", "tiepnhan", "--revoke")

    assert_ok(result)
    assert "revoked 2 token(s) of tiepnhan" in result.output
    assert _bearer_user(app, first) is None
    assert _bearer_user(app, second) is None
    assert _bearer_user(app, other) == "khac"
    assert "revoked 0 token(s)" in invoke(runner, "users", "token", "tiepnhan", "--revoke").output


def test_a_token_of_a_deactivated_user_no_longer_authenticates(app, runner):
    with app.app_context():
        make_user(db.session, role="reception", username="tiepnhan")
        db.session.commit()
    token = invoke(runner, "users", "token", "tiepnhan").output.strip()
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "tiepnhan")).active = False
        db.session.commit()

    assert _bearer_user(app, token) is None
    assert_refused(invoke(runner, "users", "token", "tiepnhan"), "inactive")


def test_users_token_for_an_unknown_user_is_refused(app, runner):
    assert_refused(invoke(runner, "users", "token", "khongco"), "khongco")
    assert count(app, ApiToken) == 0


# -- flask demo ----------------------------------------------------------------------------------------

_ACCOUNT_LINE = re.compile(r"^\s+(\S+)\s+(admin|reception|handler|supervisor)\s+(\S+)\s*$", re.M)


def test_demo_prints_one_account_per_role_once_and_a_second_run_creates_nothing(app, runner):
    first = invoke(runner, "demo")

    assert_ok(first)
    accounts = _ACCOUNT_LINE.findall(first.output)
    assert {role for _, role, _ in accounts} == set(ROLES), first.output
    with app.app_context():
        for username, role, password in accounts:
            user = db.session.scalar(select(User).where(User.username == username))
            assert user is not None and user.role == role and user.active
            assert user.check_password(password), f"the printed password of {username} does not log in"
            if role == "handler":
                assert user.unit is not None
        assert db.session.scalar(select(func.count(Procedure.id))) > 0, "the sample catalog was not imported"
    counts = {model: count(app, model) for model in (Unit, Procedure, User, AuditLog)}

    second = invoke(runner, "demo")

    assert_ok(second)
    assert "nothing to do" in second.output
    assert not _ACCOUNT_LINE.findall(second.output)
    for _, _, password in accounts:
        assert password not in second.output
    assert {model: count(app, model) for model in counts} == counts


# -- flask backup --------------------------------------------------------------------------------------


def _row_counts(path: str) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t.name: conn.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0]
                for t in db.metadata.sorted_tables}
    finally:
        conn.close()


def _sqlite_path(app) -> str:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    assert uri.startswith("sqlite:///")
    return uri[len("sqlite:///"):]


@pytest.fixture
def some_rows(app):
    with app.app_context():
        unit = make_unit(db.session)
        for role in ROLES:
            make_user(db.session, role=role, unit=unit if role == "handler" else None)
        db.session.add(CalendarYear(year=2027, note="Thông báo số 1/TB"))
        db.session.commit()


def test_backup_writes_a_copy_of_the_sqlite_file_with_the_same_rows(app, runner, backend, tmp_path, some_rows):
    if backend != "sqlite":
        pytest.skip("flask backup copies SQLite files; PostgreSQL is backed up with pg_dump")
    out = tmp_path / "copy.sqlite"

    result = invoke(runner, "backup", "--out", out)

    assert_ok(result)
    assert "integrity ok" in result.output and str(out) in result.output
    source = _row_counts(_sqlite_path(app))
    assert source["user"] == 4 and source["calendar_year"] == 1
    assert _row_counts(str(out)) == source


def test_backup_without_out_writes_into_the_instance_backups_folder(app, runner, backend, tmp_path, some_rows):
    if backend != "sqlite":
        pytest.skip("flask backup copies SQLite files; PostgreSQL is backed up with pg_dump")
    app.instance_path = str(tmp_path / "instance")

    result = invoke(runner, "backup")

    assert_ok(result)
    written = list((tmp_path / "instance" / "backups").glob("tthc-*.sqlite"))
    assert len(written) == 1 and str(written[0]) in result.output
    assert _row_counts(str(written[0])) == _row_counts(_sqlite_path(app))


def test_backup_refuses_to_overwrite_the_database_itself(app, runner, backend):
    if backend != "sqlite":
        pytest.skip("flask backup copies SQLite files; PostgreSQL is backed up with pg_dump")
    assert_refused(invoke(runner, "backup", "--out", _sqlite_path(app)), "must not overwrite")


def test_backup_on_postgresql_exits_non_zero_pointing_to_pg_dump(runner, backend):
    if backend != "postgresql":
        pytest.skip("only the PostgreSQL backend refuses flask backup")
    assert_refused(invoke(runner, "backup"), "pg_dump")


# -- flask deadlines offdays ---------------------------------------------------------------------------


def _official(year: int) -> list[tuple[str, str]]:
    """The shipped schedule of ``year``, read independently of deadlines.offdays."""
    entry = json.loads(OFFDAYS_JSON.read_text("utf-8"))["years"][str(year)]
    listed = [(d, "off") for d in entry["off"]] + [(d, "makeup") for d in entry["makeup_workdays"]]
    return sorted(listed)


_OFFDAY_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2}) (off|makeup) (\S.*)$")


def _offday_lines(output: str) -> list[tuple[str, str, str]]:
    lines = output.splitlines()
    parsed = [_OFFDAY_LINE.match(line) for line in lines]
    bad = [line for line, m in zip(lines, parsed) if m is None]
    assert not bad, f"lines not of the form `YYYY-MM-DD off|makeup <name>`: {bad}"
    return [m.groups() for m in parsed]


def test_the_shipped_schedule_covers_2018_to_2026():
    years = json.loads(OFFDAYS_JSON.read_text("utf-8"))["years"]
    assert sorted(int(y) for y in years) == OFFICIAL_YEARS
    for year in OFFICIAL_YEARS:
        for day, kind in _official(year):
            weekday = date.fromisoformat(day).weekday()
            assert day.startswith(str(year)) and (weekday < 5 if kind == "off" else weekday >= 5), (day, kind)


@pytest.mark.parametrize("year", OFFICIAL_YEARS)
def test_deadlines_offdays_lists_exactly_the_official_days_off_and_makeup_days_sorted(runner, year):
    result = invoke(runner, "deadlines", "offdays", year)

    assert_ok(result)
    lines = _offday_lines(result.output)
    assert [(d, kind) for d, kind, _ in lines] == _official(year)
    assert all(name.strip() and "[ước tính]" not in name for _, _, name in lines)


def test_deadlines_offdays_marks_every_day_of_an_estimated_year(runner):
    result = invoke(runner, "deadlines", "offdays", 2027)

    assert_ok(result)
    lines = _offday_lines(result.output)
    days = [d for d, _, _ in lines]
    assert days == sorted(days) and "2027-01-01" in days  # New Year's Day 2027 is a Friday
    assert all(name.endswith("[ước tính]") for _, _, name in lines), result.output


def test_deadlines_offdays_of_a_confirmed_year_is_no_longer_marked_estimated(app, runner):
    with app.app_context():
        db.session.add(CalendarYear(year=2027, note="Thông báo số 1/TB-VPCP"))
        db.session.commit()

    result = invoke(runner, "deadlines", "offdays", 2027)

    assert_ok(result)
    assert "2027-01-01 off" in result.output and "[ước tính]" not in result.output


@pytest.mark.parametrize("year", ["abc", "1999", "2101", "99999"])
def test_deadlines_offdays_refuses_a_year_outside_the_working_calendar(runner, year):
    """The working calendar spans 2000–2100 (and holidays.VN knows nothing after 2100)."""
    assert_refused(invoke(runner, "deadlines", "offdays", year), "Invalid value for 'YEAR'")


@pytest.mark.parametrize("year", [2000, 2100])
def test_deadlines_offdays_accepts_the_first_and_last_year_of_the_working_calendar(runner, year):
    result = invoke(runner, "deadlines", "offdays", year)

    assert_ok(result)
    lines = _offday_lines(result.output)
    assert len(lines) >= 5 and all(d.startswith(f"{year}-") and name.endswith("[ước tính]") for d, _, name in lines)


# -- flask deadlines due -------------------------------------------------------------------------------


@pytest.mark.parametrize("received, amount, unit, expected", [
    ("2026-03-02 09:15", 3, "working_days", "2026-03-05 09:15"),  # Monday 09:15 + 3 days: Thursday 09:15
    ("2026-03-02 16:30", 1, "working_days", "2026-03-03 16:30"),
    ("2026-03-02 07:00", 1, "working_days", "2026-03-02 17:00"),
    ("2026-03-06 21:00", 4, "working_hours", "2026-03-09 11:00"),  # Friday night: starts Monday 07:00
    ("2026-02-13 10:00", 1, "working_days", "2026-02-23 10:00"),  # eve of Tết Bính Ngọ
    ("2026-01-09 10:00", 1, "working_days", "2026-01-10 10:00"),  # make-up Saturday 10/01/2026 counts
], ids=["monday-3-days", "late-afternoon", "opening", "friday-night-hours", "eve-of-tet", "makeup-saturday"])
def test_deadlines_due_prints_the_deadline(runner, received, amount, unit, expected):
    result = invoke(runner, "deadlines", "due", "--received", received, "--amount", amount, "--unit", unit)

    assert_ok(result)
    assert result.output == expected + "\n"


@pytest.mark.parametrize("args, message", [
    (["--received", "2026-03-02 09:15", "--amount", "3", "--unit", "fortnights"], "unknown unit"),
    (["--received", "2026-03-02 09:15", "--amount", "3", "--unit", "none"], "unknown unit"),
    (["--received", "02/03/2026 09:15", "--amount", "3", "--unit", "working_days"], "malformed date"),
    (["--received", "2026-02-30 09:15", "--amount", "3", "--unit", "working_days"], "malformed date"),
    (["--received", "2026-03-02", "--amount", "3", "--unit", "working_days"], "malformed date"),
    (["--received", "2026-03-02 09:15", "--amount", "-1", "--unit", "working_days"], "negative"),
    (["--received", "2026-03-02 09:15", "--amount", "ba", "--unit", "working_days"], "whole number"),
    (["--received", "2026-03-02 09:15", "--amount", "3"], "go together"),
], ids=["unknown-unit", "unit-none", "day-first-date", "impossible-date", "no-time", "negative-amount",
        "amount-not-a-number", "missing-unit"])
def test_deadlines_due_refuses_bad_input_without_a_traceback(runner, args, message):
    result = invoke(runner, "deadlines", "due", *args)

    assert_refused(result, "error:", message)
    assert not re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}$", result.stdout.strip())


def test_deadlines_due_reads_a_batch_from_stdin_one_output_line_per_input_line(runner):
    batch = [
        ("2026-03-02 09:15,3,working_days", "2026-03-05 09:15"),
        ("2026-03-02 9h15,3,working_days", "error: malformed date"),
        ("2026-03-02 09:15,-2,working_days", "error: amount must not be negative"),
        ("2026-03-02 09:15,3,weeks", "error: unknown unit"),
        ("2026-03-02 09:15,3", "error: expected 3 comma-separated fields"),
        ("2026-03-02 09:15, 8 ,working_hours", "2026-03-03 09:15"),
        ("2026-03-02 09:15,2,calendar_days", "2026-03-04 17:00"),
    ]

    result = invoke(runner, "deadlines", "due", input="".join(line + "\n" for line, _ in batch))

    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    out = result.stdout.splitlines()
    assert len(out) == len(batch), result.output
    for (line, expected), got in zip(batch, out):
        if expected.startswith("error:"):
            assert got.startswith(expected), (line, got)
        else:
            assert got == expected, (line, got)
    assert "Traceback" not in result.output


def test_deadlines_due_batch_of_good_lines_exits_zero(runner):
    result = invoke(runner, "deadlines", "due", input="2026-03-02 09:15,3,working_days\n2026-03-02 09:15,1,months\n")

    assert_ok(result)
    assert result.stdout.splitlines() == ["2026-03-05 09:15", "2026-04-02 17:00"]


def test_users_reset_password_prints_a_new_password_that_logs_in_and_the_old_one_no_longer_does(app, runner):
    from tests.factories import PASSWORD
    from tthc.models import User

    with app.app_context():
        make_user(db.session, role="admin", username="quantri")
        db.session.commit()

    result = invoke(runner, "users", "reset-password", "quantri")

    assert_ok(result)
    new_password = result.output.strip().rsplit(" ", 1)[-1]
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "quantri"))
        assert user.check_password(new_password) and not user.check_password(PASSWORD)
        assert user.session_epoch == 1  # open sessions end
        assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "reset_password")) == 1


@pytest.mark.parametrize("args,fragment", [
    (("users", "reset-password", "khong-co-ai"), "no user named"),
    (("users", "reset-password", "quantri", "--password", "ngan"), "ít nhất 8 ký tự"),
])
def test_users_reset_password_refuses_bad_input(app, runner, args, fragment):
    with app.app_context():
        make_user(db.session, role="admin", username="quantri")
        db.session.commit()
    assert_refused(invoke(runner, *args), fragment)
