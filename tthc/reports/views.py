"""The reports page: choose the report, the period and the unit; preview on screen; download .xlsx.

Supervisors and administrators only (the report's recipients are the department's
leadership); phones in the register are masked for roles that do not need them
(Decree 13/2023), and every download is logged in the audit log.
"""
from __future__ import annotations

import io
import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from flask import abort, render_template, request, send_file
from flask_login import current_user
from sqlalchemy import select

from tthc.auth import roles_required
from tthc.clock import now
from tthc.extensions import db
from tthc.models import Unit
from tthc.params import parse_id
from tthc.reports import bp, exports, periods, queries

ROLES = ("supervisor", "admin")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PREVIEW_ROWS = 200


@dataclass
class Choice:
    """What the form asked for, validated; ``error`` set when it cannot be served."""

    type: str = "summary"
    period_text: str = ""
    first: str = ""
    last: str = ""
    by: str = "field"
    unit_id: str = ""
    period: Optional[periods.Period] = None
    unit: Optional[Unit] = None
    error: str = ""

    def params(self) -> dict:
        return {"type": self.type, "period": self.period_text, "from": self.first, "to": self.last, "by": self.by,
                "unit": self.unit_id}


def _default_month() -> str:
    """The period that closed most recently (Decree 09/2019: the month closes on the 14th)."""
    today = now().date()
    y, m = today.year, today.month
    if today.day < periods.CUTOFF_DAY:
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return f"{y}-{m:02d}"


def _choice(source) -> Choice:
    c = Choice(
        type=(source.get("type") or "summary").strip(),
        period_text=(source.get("period") or "").strip(),
        first=(source.get("from") or "").strip(),
        last=(source.get("to") or "").strip(),
        by=(source.get("by") or "field").strip(),
        unit_id=(source.get("unit") or "").strip(),
    )
    if c.type not in exports.REPORT_TYPES:
        c.error = "Loại báo cáo không hợp lệ."
        return c
    if c.by not in queries.DIMENSIONS:
        c.error = "Cách nhóm không hợp lệ."
        return c
    try:
        if c.first or c.last:
            c.period = periods.parse_range(c.first, c.last)
        else:
            c.period_text = c.period_text or _default_month()
            c.period = periods.parse_period(c.period_text, exports.period_scheme())
        if c.unit_id and parse_id(c.unit_id) is None:
            raise exports.ReportError("not a unit id")  # junk or out of range: like an unknown unit
        c.unit = exports.find_unit(db.session, c.unit_id or None)
    except periods.PeriodError:
        c.error = ("Kỳ báo cáo không hợp lệ: nhập tháng YYYY-MM, quý YYYY-Qn, 6 tháng YYYY-Hn, năm YYYY, "
                   "hoặc khoảng ngày từ – đến (đến không trước từ).")
    except exports.ReportError:
        c.error = "Đơn vị không tồn tại."
    return c


def _masks_personal_data() -> bool:
    return current_user.role not in exports.PERSONAL_DATA_ROLES


@bp.route("/")
@roles_required(*ROLES)
def index():
    """The form and, once a period is chosen, the preview of the table."""
    c = _choice(request.args)
    units = db.session.scalars(select(Unit).order_by(Unit.name)).all()
    context = {"c": c, "units": units, "types": exports.REPORT_TYPES, "dimensions": queries.DIMENSION_LABELS,
               "preview": None,
               "title": exports.report_label(c.type, c.period) if c.period is not None and not c.error else ""}
    status = 200
    if c.error:
        status = 400
    elif request.args:
        context["preview"] = _preview(c)
    return render_template("reports/index.html", **context), status


def _shown(row) -> list:
    """A workbook row for the page: datetimes as the workbook shows them (hh:mm dd/mm/yyyy)."""
    return [v.strftime("%H:%M %d/%m/%Y") if isinstance(v, datetime) else v for v in row]


def _preview(c: Choice) -> dict:
    unit_id = c.unit.id if c.unit else None
    current = now()
    if c.type == "summary":
        rows = queries.summary_rows(db.session, c.period, by=c.by, unit_id=unit_id, now=current,
                                    state_at=exports.hooks().state_at(db.session))
        return {"rows": rows, "total": queries.total_row(rows), "dimension": queries.DIMENSION_LABELS[c.by]}
    if c.type == "register":
        rows = list(itertools.islice(
            queries.register_rows(db.session, c.period, unit_id, mask_personal=_masks_personal_data()),
            PREVIEW_ROWS + 1))
        return {"headers": queries.REGISTER_HEADERS, "rows": [_shown(r) for r in rows[:PREVIEW_ROWS]],
                "more": len(rows) > PREVIEW_ROWS}
    late_days = exports.hooks().late_days(db.session)
    rows = list(itertools.islice(queries.late_rows(db.session, c.period, late_days, now=current, unit_id=unit_id,
                                                   state_at=exports.hooks().state_at(db.session)),
                                 PREVIEW_ROWS + 1))
    cells = [_shown(row.cells(i)) for i, row in enumerate(rows[:PREVIEW_ROWS], 1)]
    return {"headers": queries.LATE_HEADERS, "rows": cells, "more": len(rows) > PREVIEW_ROWS}


def _filename(c: Choice) -> str:
    base = {"summary": "bao-cao-tthc", "register": "so-theo-doi-ho-so", "late": "ho-so-qua-han"}[c.type]
    span = f"{c.period.first_day:%Y%m%d}-{c.period.last_day:%Y%m%d}"
    suffix = f"-{c.by}" if c.type == "summary" and c.by != "field" else ""
    unit = f"-don-vi-{c.unit.id}" if c.unit else ""
    return re.sub(r"[^a-z0-9.-]", "", f"{base}-{span}{suffix}{unit}.xlsx")


@bp.route("/download", methods=["POST"])
@roles_required(*ROLES)
def download_report():
    """The chosen report as .xlsx; the export is written to the audit log."""
    c = _choice(request.form)
    if c.error:
        abort(400, description=c.error)
    current = now()
    masked = None
    if c.type == "summary":
        data, _ = exports.build_summary(db.session, c.period, c.by, c.unit, current)
    elif c.type == "register":
        masked = _masks_personal_data()
        data = exports.build_register(db.session, c.period, c.unit, current, mask_personal=masked)
    else:
        data = exports.build_late(db.session, c.period, c.unit, current)
    exports.log_export(db.session, c.type, c.period, by=c.by if c.type == "summary" else None, unit=c.unit,
                       masked=masked)
    db.session.commit()
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=_filename(c))
