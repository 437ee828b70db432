"""The department's action plans (domain.md §11): plans, tasks, reporting periods, progress with
evidence, reminders in the alert inboxes, and the report "Báo cáo kết quả thực hiện Kế hoạch".

Must not import the feature packages (``intake``, ``deadlines``): create_app() passes in the
working-day calendar through ``init_app``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import Blueprint, current_app

bp = Blueprint("plans", __name__, url_prefix="/plans", cli_group="plan")
EXTENSION_KEY = "tthc_plans"


@dataclass(frozen=True)
class Hooks:
    calendar_for: Callable  # deadlines.store.calendar_for(session) -> WorkCalendar


def hooks() -> Hooks:
    found = current_app.extensions.get(EXTENSION_KEY)
    if found is None:
        raise RuntimeError("tthc.plans.init_app(app, calendar_for=...) was not called")
    return found


def init_app(app, *, calendar_for) -> None:
    """Register the blueprint and ``flask plan``; keep the calendar hook."""
    from tthc.plans import cli, views  # noqa: F401  (views and commands attach to bp)

    app.extensions[EXTENSION_KEY] = Hooks(calendar_for=calendar_for)
    app.register_blueprint(bp)
