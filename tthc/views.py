"""The home page: where each role starts its day (issue 16).

``/`` shows each role its own work: the desk its worklist, a handler the unit's queue, a unit
head and a supervisor the dashboard with their unread alerts (pages registered by the
``intake`` and ``deadlines`` features in ``create_app()``, since ``tthc`` never imports them
at module level), an administrator the catalog's and the calendar's to-dos (here). A role
without a registered page gets the generic overview.
"""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, current_app, render_template
from flask_login import current_user
from sqlalchemy import func, select

from tthc.catalog.queries import procedures_to_complete
from tthc.clock import now
from tthc.extensions import db
from tthc.models import Procedure, Unit, User

bp = Blueprint("main", __name__)

HOME_PAGES = "tthc_home_pages"
CALENDAR_TODOS = "tthc_calendar_todos"


def register_home(app, key: str, view: Callable) -> None:
    """``view()`` renders the home page of ``key`` (a role, or ``unit_head`` for a handler heading a unit)."""
    app.extensions.setdefault(HOME_PAGES, {})[key] = view


def register_calendar_todos(app, todos: Callable) -> None:
    """``todos(session, today)`` lists the calendar's to-dos as (message, year) pairs (the deadlines feature)."""
    app.extensions[CALENDAR_TODOS] = todos


def home_key(user) -> str:
    return "unit_head" if user.role == "handler" and getattr(user, "is_unit_head", False) else user.role


@bp.route("/")
def index():
    view = current_app.extensions.get(HOME_PAGES, {}).get(home_key(current_user))
    if view is not None:
        return view()
    if current_user.role == "admin":
        return admin_home()
    return _overview()


def _counts() -> dict:
    return {
        "procedures": db.session.scalar(select(func.count(Procedure.id)).where(Procedure.active.is_(True))),
        "units": db.session.scalar(select(func.count(Unit.id))),
        "users": db.session.scalar(select(func.count(User.id))) if current_user.role == "admin" else None,
    }


def _overview():
    return render_template("main/index.html", counts=_counts())


def admin_home():
    """The administrator's to-dos: procedures that cannot receive dossiers as they stand, calendar years to confirm."""
    todos = current_app.extensions.get(CALENDAR_TODOS)
    return render_template(
        "main/admin_home.html", counts=_counts(), catalog=procedures_to_complete(db.session),
        calendar=todos(db.session, now().date()) if todos else [],
    )
