"""The home page: where each role starts its day."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select

from tthc.extensions import db
from tthc.models import Procedure, Unit, User

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    counts = {
        "procedures": db.session.scalar(select(func.count(Procedure.id)).where(Procedure.active.is_(True))),
        "units": db.session.scalar(select(func.count(Unit.id))),
        "users": db.session.scalar(select(func.count(User.id))) if current_user.role == "admin" else None,
    }
    return render_template("main/index.html", counts=counts)
