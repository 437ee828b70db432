"""Action plan pages: the list, a plan with its tasks and periods, a period's reports, the
administrator's import and edits, evidence downloads, and the plan report (printable, .xlsx).

Views are thin: they parse the request, call tthc.plans.services / queries, then commit.
Every page needs a login (enforced globally); evidence files are served only through here.
"""
from __future__ import annotations

from io import BytesIO

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from tthc.auth import roles_required
from tthc.clock import now as clock_now
from tthc.extensions import db
from tthc.models import PLAN_MEASURE_LABELS, PLAN_PROGRESS_LABELS, PlanPeriod, PlanProgress, PlanTask, Unit, User
from tthc.plans import bp, forms, queries, report, services
from tthc.plans import timing as tm

ALL_ROLES = ("reception", "handler", "supervisor", "admin")
REPORT_ROLES = ("supervisor", "admin")


def _plan_or_404(plan_id: int):
    plan = queries.find_plan(db.session, plan_id)
    if plan is None:
        abort(404)
    return plan


@bp.route("/")
@roles_required(*ALL_ROLES)
def list_plans():
    return render_template("plans/list.html", plans=queries.list_plans(db.session))


@bp.route("/import", methods=["GET", "POST"])
@roles_required("admin")
def import_plan():
    errors: list[str] = []
    result = None
    if request.method == "POST":
        upload = forms.upload_of(request.files)
        if upload is None:
            errors = ["Vui lòng chọn tệp .csv hoặc .xlsx."]
        else:
            try:
                result = services.import_file(db.session, upload[1], upload[0],
                                              actor=current_user._get_current_object())
                db.session.commit()
            except services.PlanImportError as exc:
                db.session.rollback()
                errors = exc.messages
        if result is not None:
            flash(("Đã nhập: " if result.changed else "Không có thay đổi: ") + result.describe() + ".", "success")
            if len(result.plan_ids) == 1:
                return redirect(url_for("plans.show_plan", plan_id=result.plan_ids[0]))
            return redirect(url_for("plans.list_plans"))
    return render_template("plans/import.html", errors=errors, columns=services.PLAN_COLUMNS,
                           optional=services.OPTIONAL_COLUMNS, measures=PLAN_MEASURE_LABELS), 422 if errors else 200


@bp.route("/<int:plan_id>")
@roles_required(*ALL_ROLES)
def show_plan(plan_id: int):
    plan = _plan_or_404(plan_id)
    today = clock_now().date()
    return render_template("plans/show.html", plan=plan, today=today, status_of=queries.period_status,
                           STATUS_LABELS=tm.STATUS_LABELS, timing_label=queries.timing_label,
                           measures=PLAN_MEASURE_LABELS, report_roles=REPORT_ROLES,
                           default_period=f"{today.year}-Q{(today.month - 1) // 3 + 1}")


@bp.route("/<int:plan_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def edit_plan(plan_id: int):
    plan = _plan_or_404(plan_id)
    errors: dict[str, str] = {}
    data = {"number": plan.number, "issued_date": f"{plan.issued_date:%d/%m/%Y}", "title": plan.title,
            "legal_basis": plan.legal_basis, "first_year": plan.first_year, "last_year": plan.last_year}
    if request.method == "POST":
        data = forms.plan_data(request.form)
        try:
            changed = services.update_plan(db.session, plan, data, actor=current_user._get_current_object())
            db.session.commit()
            flash("Đã lưu kế hoạch." if changed else "Không có thay đổi.", "success")
            return redirect(url_for("plans.show_plan", plan_id=plan.id))
        except services.PlanValidationError as exc:
            db.session.rollback()
            errors = exc.errors
    return render_template("plans/plan_form.html", plan=plan, data=data, errors=errors), 422 if errors else 200


@bp.route("/tasks/<int:task_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def edit_task(task_id: int):
    task = db.session.get(PlanTask, task_id)
    if task is None:
        abort(404)
    errors: dict[str, str] = {}
    data = {"content": task.content, "lead": task.lead, "coordinating": task.coordinating, "timing": task.timing,
            "expected_result": task.expected_result, "measure": task.measure or "",
            "unit_ids": [u.id for u in task.units], "user_ids": [u.id for u in task.users]}
    if request.method == "POST":
        data = forms.task_data(request.form)
        try:
            changed = services.update_task(db.session, task, data, actor=current_user._get_current_object())
            db.session.commit()
            flash("Đã lưu nhiệm vụ." if changed else "Không có thay đổi.", "success")
            return redirect(url_for("plans.show_plan", plan_id=task.plan_id))
        except services.PlanValidationError as exc:
            db.session.rollback()
            errors = exc.errors
            task = db.session.get(PlanTask, task_id)
    units = db.session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.name)).all()
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.full_name, User.username)).all()
    suggested_units, suggested_users = services.suggest_links(db.session, task)
    chosen_units = {int(i) for i in data["unit_ids"] if str(i).isdigit() and len(str(i)) < 10}
    chosen_users = {int(i) for i in data["user_ids"] if str(i).isdigit() and len(str(i)) < 10}
    return render_template("plans/task_form.html", task=task, data=data, errors=errors, units=units, users=users,
                           chosen_units=chosen_units, chosen_users=chosen_users, measures=PLAN_MEASURE_LABELS,
                           suggested_unit_ids={u.id for u in suggested_units},
                           suggested_user_ids={u.id for u in suggested_users}), 422 if errors else 200


@bp.route("/periods/<int:period_id>", methods=["GET", "POST"])
@roles_required(*ALL_ROLES)
def show_period(period_id: int):
    period = db.session.get(PlanPeriod, period_id)
    if period is None:
        abort(404)
    user = current_user._get_current_object()
    may_report = services.can_report(user, period.task)
    errors: dict[str, str] = {}
    data: dict[str, str] = {}
    if request.method == "POST":
        if not may_report:
            abort(403)
        data = forms.progress_data(request.form)
        file = forms.upload_of(request.files)
        try:
            services.record_progress(db.session, period, user, data, now=clock_now(), upload=file,
                                     instance_path=current_app.instance_path)
            db.session.commit()
            flash("Đã ghi nhận báo cáo tiến độ.", "success")
            return redirect(url_for("plans.show_period", period_id=period.id))
        except services.PlanValidationError as exc:
            db.session.rollback()
            errors = exc.errors
            period = db.session.get(PlanPeriod, period_id)
    today = clock_now().date()
    return render_template("plans/period.html", period=period, task=period.task, plan=period.task.plan,
                           status=tm.STATUS_LABELS[queries.period_status(period, today)], may_report=may_report,
                           data=data, errors=errors, PROGRESS_LABELS=PLAN_PROGRESS_LABELS,
                           evidence_text=queries.evidence_text,
                           allowed=", ".join(sorted(services.EVIDENCE_TYPES)),
                           max_mb=services.evidence_max_bytes() // (1024 * 1024)), 422 if errors else 200


@bp.route("/evidence/<int:progress_id>")
@roles_required(*ALL_ROLES)
def download_evidence(progress_id: int):
    progress = db.session.get(PlanProgress, progress_id)
    path = services.evidence_path(progress, current_app.instance_path) if progress is not None else None
    if path is None:
        abort(404)
    # Always an attachment with the type checked at upload: the browser never renders it as a page.
    return send_file(path, mimetype=progress.file_type or "application/octet-stream", as_attachment=True,
                     download_name=progress.file_name or progress.stored_name, max_age=0)


def _report_span():
    text = (request.args.get("period") or "").strip()
    try:
        return tm.parse_report_period(text), None
    except tm.TimingError as exc:
        return None, str(exc)


@bp.route("/<int:plan_id>/report")
@roles_required(*REPORT_ROLES)
def show_report(plan_id: int):
    plan = _plan_or_404(plan_id)
    span, error = _report_span()
    if span is None:
        today = clock_now().date()
        return render_template("plans/report.html", plan=plan, built=None, error=error if request.args.get("period")
                               else None, period=request.args.get("period") or
                               f"{today.year}-Q{(today.month - 1) // 3 + 1}"), 422 if request.args.get("period") else 200
    built = report.build(db.session, plan, span, clock_now())
    return render_template("plans/report.html", plan=plan, built=built, error=None, period=request.args["period"])


@bp.route("/<int:plan_id>/report.xlsx")
@roles_required(*REPORT_ROLES)
def download_report(plan_id: int):
    plan = _plan_or_404(plan_id)
    span, error = _report_span()
    if span is None:
        flash(error or "Vui lòng chọn kỳ báo cáo.", "error")
        return redirect(url_for("plans.show_report", plan_id=plan.id))
    built = report.build(db.session, plan, span, clock_now())
    data = report.workbook(built)
    report.log_export(db.session, built, note="trang kế hoạch")
    db.session.commit()
    name = f"bao-cao-ke-hoach-{plan.id}-{request.args['period'].strip()}.xlsx"
    return send_file(BytesIO(data), as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
