"""Command-line interface: ``flask users ...``, ``flask demo``, ``flask backup``."""
from __future__ import annotations

import os
import sqlite3
import sys
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from tthc import accounts
from tthc.extensions import db
from tthc.models import User

users_cli = AppGroup("users", help="Manage user accounts and API tokens.")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _get_user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        _fail(f"no user named {username!r}")
    return user


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(accounts.ROLES), help="reception, handler, supervisor or admin")
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--unit", default=None, help="Unit id, code or name (required for handlers).")
@click.option("--full-name", default="", help="Full name shown in the UI and on slips.")
@click.option("--unit-head", is_flag=True, help="Head of unit: signs apologies, receives the unit's alerts.")
def create_user_command(username, role, password, unit, full_name, unit_head):
    """Create a user account."""
    try:
        unit_obj = accounts.find_unit(db.session, unit)
        user = accounts.create_user(db.session, username, role, password, unit=unit_obj, full_name=full_name,
                                    is_unit_head=unit_head)
    except accounts.AccountError as exc:
        db.session.rollback()
        _fail(str(exc))
    db.session.commit()
    click.echo(f"created user {user.username} ({user.role})")


@users_cli.command("token")
@click.argument("username")
@click.option("--name", default="", help="What the token is for.")
@click.option("--revoke", is_flag=True, help="Revoke all of the user's tokens instead of issuing one.")
def token_command(username, name, revoke):
    """Issue a bearer token for the JSON API (printed once), or revoke a user's tokens."""
    user = _get_user(username)
    if revoke:
        count = accounts.revoke_tokens(db.session, user)
        db.session.commit()
        click.echo(f"revoked {count} token(s) of {user.username}")
        return
    if not user.active:
        _fail(f"user {user.username} is inactive")
    token = accounts.issue_token(db.session, user, name)
    db.session.commit()
    click.echo(token)


@users_cli.command("reset-password")
@click.argument("username")
@click.option("--password", default=None, help="The new password (default: a random one, printed once).")
def reset_password_command(username, password):
    """Set a new password for USERNAME and end the user's open sessions."""
    user = _get_user(username)
    try:
        new_password = accounts.reset_password(db.session, user, password)
    except accounts.AccountError as exc:
        db.session.rollback()
        _fail(str(exc))
    db.session.commit()
    click.echo(f"new password of {user.username}: {new_password}")


@users_cli.command("list")
def list_users_command():
    """List user accounts."""
    for user in db.session.scalars(select(User).order_by(User.username)):
        unit = user.unit.code if user.unit else "-"
        click.echo(f"{user.username}\t{user.role}\t{unit}\t{'active' if user.active else 'inactive'}")


@click.command("demo")
@with_appcontext
def demo_command():
    """Load the demo agency data, units, sample catalog and one account per role (idempotent)."""
    from tthc.demo import load_demo

    created = load_demo(db.session, echo=click.echo)
    db.session.commit()
    if not created:
        click.echo("demo data already present: nothing to do")


@click.command("backup")
@with_appcontext
@click.option("--out", "out_path", default=None, help="Target file (default: instance/backups/tthc-YYYYmmdd-HHMMSS.sqlite).")
def backup_command(out_path):
    """Write a consistent copy of the SQLite database while the app runs (SQLite's backup API)."""
    uri = current_app.config["SQLALCHEMY_DATABASE_URI"]
    if not uri.startswith("sqlite:///"):
        _fail("flask backup copies SQLite databases; for PostgreSQL use pg_dump (see README)")
    src_path = uri[len("sqlite:///"):]
    if not os.path.exists(src_path):
        _fail(f"database file not found: {src_path}")
    if out_path is None:
        folder = os.path.join(current_app.instance_path, "backups")
        os.makedirs(folder, exist_ok=True)
        out_path = os.path.join(folder, datetime.now().strftime("tthc-%Y%m%d-%H%M%S.sqlite"))
    if os.path.abspath(out_path) == os.path.abspath(src_path):
        _fail("the backup must not overwrite the database itself")
    src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(out_path)
        try:
            src.backup(dst, pages=1024)
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
    if check != "ok":
        _fail(f"integrity check of the copy failed: {check}")
    click.echo(f"backup written to {out_path} ({os.path.getsize(out_path)} bytes, integrity ok)")


def init_app(app) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(backup_command)
