"""The review page (supervisors and administrators): statistics per procedure and rule version,
the what-if (a JSON read replaying the real events, ``static/js/review.js``), the workbook, and, for
administrators, applying the decided times as new rule versions (``tthc.catalog.decisions``)."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Optional

from flask import abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from deadlines.review import bp, exports, queries
from tthc.auth import roles_required
from tthc.catalog.decisions import DecisionError, apply_decided_times
from tthc.clock import now
from tthc.extensions import db

ROLES = ("supervisor", "admin")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_WHAT_IF = 9999


@dataclass
class Choice:
    first: str = ""
    last: str = ""
    coverage: str = str(queries.DEFAULT_COVERAGE)
    window: Optional[queries.Window] = None
    coverage_value: object = None
    error: str = ""

    def params(self) -> dict:
        return {"from": self.window.first_day.isoformat() if self.window else self.first,
                "to": self.window.last_day.isoformat() if self.window else self.last, "coverage": self.coverage}


def _choice(source) -> Choice:
    c = Choice(first=(source.get("from") or "").strip()[:20], last=(source.get("to") or "").strip()[:20],
               coverage=(source.get("coverage") or str(queries.DEFAULT_COVERAGE)).strip()[:10])
    try:
        if c.first or c.last:
            c.window = queries.make_window(queries.parse_day(c.first, "Ngày bắt đầu"),
                                           queries.parse_day(c.last, "Ngày kết thúc"))
        else:
            c.window = queries.default_window(now().date())
        c.coverage_value = queries.parse_coverage(c.coverage)
    except queries.ReviewError as exc:
        c.error = str(exc)
    return c


@dataclass
class ApplyForm:
    decision_number: str = ""
    decision_date: str = ""
    effective_date: str = ""
    selected: set = field(default_factory=set)
    amounts: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)


def _page(c: Choice, form: ApplyForm | None = None, status: int = 200):
    context = {"c": c, "rows": [], "components": [], "form": form or ApplyForm(),
               "can_apply": current_user.role == "admin"}
    if c.error:
        return render_template("review/index.html", **context), 400
    context["rows"] = queries.review_rows(db.session, c.window, c.coverage_value, today=now().date())
    context["components"] = queries.component_rows(db.session, c.window)
    context["total_late"] = sum(r.late_under_default or 0 for r in context["rows"])
    context["coverage_text"] = queries.coverage_text(c.coverage_value)
    return render_template("review/index.html", **context), status


@bp.route("/")
@roles_required(*ROLES)
def show_review():
    """The review of the window (default: the last full report year)."""
    return _page(_choice(request.args))


@bp.route("/what-if")
@roles_required(*ROLES)
def what_if():
    """JSON: how many of a row's dossiers would have been late under ``amount`` (nothing is written)."""
    c = _choice(request.args)
    if c.error:
        return jsonify({"error": {"code": "invalid_window", "message": c.error, "field": "from"}}), 422
    try:
        key = queries.parse_key(request.args.get("key", ""))
    except queries.ReviewError as exc:
        return jsonify({"error": {"code": "invalid_key", "message": str(exc), "field": "key"}}), 422
    text = (request.args.get("amount") or "").strip()
    if not re.fullmatch(r"\d{1,4}", text) or not 1 <= int(text) <= MAX_WHAT_IF:
        return jsonify({"error": {"code": "invalid_amount", "field": "amount",
                                  "message": f"Thời hạn đề xuất phải là số nguyên từ 1 đến {MAX_WHAT_IF}."}}), 422
    if key[2] not in ("working_days", "working_hours", "calendar_days", "months"):
        return jsonify({"error": {"code": "no_limit", "field": "key",
                                  "message": "Thủ tục không quy định thời hạn: không có gì để thử."}}), 422
    return jsonify(queries.what_if(db.session, c.window, key, int(text)))


@bp.route("/download", methods=["POST"])
@roles_required(*ROLES)
def download_review():
    """The workbook (annex, statistics, components); the export is written to the audit log."""
    c = _choice(request.form)
    if c.error:
        abort(400, description=c.error)
    current = now()
    data, _ = exports.build_workbook(db.session, c.window, c.coverage_value, current)
    exports.log_export(db.session, c.window, c.coverage_value)
    db.session.commit()
    name = f"ra-soat-thoi-han-{c.window.first_day:%Y%m%d}-{c.window.last_day:%Y%m%d}.xlsx"
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)


@bp.route("/apply", methods=["POST"])
@roles_required("admin")
def apply_decision():
    """Apply the decided times of the chosen procedures as new rule versions (all or nothing)."""
    c = _choice(request.form)
    if c.error:
        return _page(c)
    form = ApplyForm(decision_number=(request.form.get("decision_number") or "").strip()[:200],
                     decision_date=(request.form.get("decision_date") or "").strip()[:20],
                     effective_date=(request.form.get("effective_date") or "").strip()[:20])
    times: dict[int, int | None] = {}
    for value in request.form.getlist("apply")[:5000]:
        if not re.fullmatch(r"\d{1,9}", value):
            continue
        procedure_id = int(value)
        form.selected.add(procedure_id)
        text = (request.form.get(f"amount-{procedure_id}") or "").strip()[:10]
        form.amounts[procedure_id] = text
        times[procedure_id] = int(text) if re.fullmatch(r"\d{1,5}", text) else None
    dates = {}
    for name, label in (("decision_date", "Ngày ký quyết định"), ("effective_date", "Ngày hiệu lực")):
        try:
            dates[name] = queries.parse_day(getattr(form, name), label)
        except queries.ReviewError as exc:
            form.errors[name] = str(exc)
            dates[name] = None
    try:
        if form.errors:
            raise DecisionError(dict(form.errors))
        versions = apply_decided_times(db.session, user=current_user, decision_number=form.decision_number,
                                       decision_date=dates["decision_date"], effective_date=dates["effective_date"],
                                       times=times, today=now().date())
    except DecisionError as exc:
        db.session.rollback()
        form.errors = {**exc.errors, **form.errors}
        return _page(c, form, 422)
    db.session.commit()
    flash(f"Đã áp dụng thời hạn mới cho {len(versions)} thủ tục theo Quyết định số {form.decision_number}, "
          f"từ ngày {dates['effective_date']:%d/%m/%Y}. Hồ sơ tiếp nhận trước ngày đó giữ thời hạn cũ.", "success")
    return redirect(url_for("review.show_review", **c.params()))
