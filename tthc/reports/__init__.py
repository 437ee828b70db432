"""Reports (domain.md §5 form 06/07, §7, §8): the monthly "Tình hình, kết quả giải quyết TTHC",
the register (form 06 of 2018 / 07 of 2025) and the late list, as a page and as ``flask reports`` commands.

Must not import the feature packages (``intake``, ``deadlines``): create_app()
passes in the working-day arithmetic through ``init_app``.
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")


def init_app(app, *, calendar_for, working_days_late, deadline_state_at) -> None:
    """Register the blueprint and the CLI, and keep the calendar hooks for the late list.

    ``calendar_for(session)`` is deadlines.store.calendar_for; ``working_days_late(cal,
    deadline, instant)`` is deadlines.due_dates.working_days_late; ``deadline_state_at(session,
    dossier, instant, cal)`` -> (awaiting a supplement, original deadline) at a past instant is
    deadlines.store.deadline_state_at (a period's end, domain.md §8).
    """
    from tthc.reports import cli, views  # noqa: F401  (views attach their routes to bp)
    from tthc.reports.exports import EXTENSION_KEY, Hooks

    app.extensions[EXTENSION_KEY] = Hooks(calendar_for=calendar_for, working_days_late=working_days_late,
                                          deadline_state_at=deadline_state_at)
    app.register_blueprint(bp)
    app.cli.add_command(cli.reports_cli)
