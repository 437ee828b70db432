"""The yearly review of processing times (domain.md §10, plan task 3): page, what-if, workbook, CLI.

``queries`` computes (reads only), ``annex`` builds the workbook, ``views`` and ``cli`` are thin;
applying the decided times is the catalog's service (``tthc.catalog.decisions``).
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review")


def init_app(app) -> None:
    from deadlines.review import cli, views  # noqa: F401  (importing registers the routes)

    app.register_blueprint(bp)
    app.cli.add_command(cli.review_cli)
