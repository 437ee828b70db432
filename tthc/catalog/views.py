"""Catalog pages: list and search, detail, the administrator's form, import and export.

Views are thin: they parse the request and call tthc.catalog.services, then commit.
"""
from __future__ import annotations

from io import BytesIO

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import and_, distinct, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from tthc import audit
from tthc.auth import roles_required
from tthc.catalog import services
from tthc.catalog.forms import ImportForm, ProcedureForm, initial_data
from tthc.extensions import db
from tthc.models import Procedure, ProcedureStep, Unit
from tthc.params import parse_page
from tthc.text import like_pattern

bp = Blueprint("catalog", __name__, url_prefix="/procedures")

EXPORT_ROLES = ("admin", "supervisor")
STATUS_CHOICES = {"active": "Đang áp dụng", "inactive": "Ngừng áp dụng", "all": "Tất cả"}
EXPORT_FILENAME = "danh-muc-thu-tuc.xlsx"


def _search_condition(q: str):
    """Each word must appear in the folded name (any order), or the text is part of the code."""
    words = [w for w in q.split() if w]
    code_match = Procedure.national_code.ilike(
        "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", escape="\\")
    name_match = and_(*[Procedure.name_search.like(like_pattern(w), escape="\\") for w in words])
    return or_(name_match, code_match)


@bp.route("/")
def list_procedures():
    q = (request.args.get("q") or "").strip()[:200]
    field = (request.args.get("field") or "").strip()
    default_status = "all" if current_user.role == "admin" else "active"
    status = request.args.get("status") or default_status
    if status not in STATUS_CHOICES:
        status = default_status
    query = select(Procedure).options(selectinload(Procedure.unit))
    if q:
        query = query.where(_search_condition(q))
    if field:
        query = query.where(Procedure.field == field)
    if status == "active":
        query = query.where(Procedure.active.is_(True))
    elif status == "inactive":
        query = query.where(Procedure.active.is_(False))
    query = query.order_by(Procedure.field, Procedure.name_search, Procedure.id)
    page = db.paginate(query, page=parse_page(request.args.get("page")),
                       per_page=current_app.config.get("PER_PAGE", 25), max_per_page=100, error_out=False)
    fields = db.session.scalars(select(distinct(Procedure.field)).order_by(Procedure.field)).all()
    args = {k: v for k, v in {"q": q, "field": field, "status": status}.items() if v}
    return render_template(
        "catalog/list.html", page=page, q=q, field=field, status=status, fields=fields, args=args,
        status_choices=STATUS_CHOICES, can_edit=current_user.role == "admin",
        can_export=current_user.role in EXPORT_ROLES,
    )


@bp.route("/<int:procedure_id>")
def show_procedure(procedure_id: int):
    procedure = db.session.scalar(
        select(Procedure).where(Procedure.id == procedure_id).options(
            selectinload(Procedure.unit), selectinload(Procedure.documents),
            selectinload(Procedure.steps).selectinload(ProcedureStep.unit))
    ) or abort(404)
    return render_template("catalog/detail.html", procedure=procedure, can_edit=current_user.role == "admin")


def _units():
    return db.session.scalars(select(Unit).order_by(Unit.active.desc(), Unit.name)).all()


def _procedure_form(procedure: Procedure | None):
    """Shared GET/POST handling of the administrator's form; returns a response."""
    form = ProcedureForm() if request.method == "POST" else ProcedureForm(data=initial_data(procedure))
    form.set_choices(_units())
    if request.method == "POST":
        errors: dict[str, str] = {}
        if form.validate():
            data, errors = form.to_data()
            service_errors = services.validate_procedure_data(db.session, procedure, data)
            for key, message in service_errors.items():
                errors.setdefault(key, message)
            if not errors:
                is_new = procedure is None
                try:
                    saved = services.save_procedure(db.session, procedure, data, actor=current_user)
                    db.session.commit()
                except services.CatalogValidationError as exc:
                    db.session.rollback()
                    errors = exc.errors
                except SQLAlchemyError:
                    # e.g. another administrator took the same national code a moment ago
                    db.session.rollback()
                    current_app.logger.exception("saving procedure failed")
                    errors = {"national_code": "Không lưu được: dữ liệu vừa bị thay đổi (có thể trùng mã TTHC). "
                                               "Vui lòng kiểm tra và lưu lại."}
                else:
                    flash(("Đã thêm thủ tục " if is_new else "Đã lưu thủ tục ") + f"“{saved.name}”.", "success")
                    return redirect(url_for("catalog.show_procedure", procedure_id=saved.id))
            form.add_errors(errors)
        flash("Chưa lưu được: vui lòng sửa các mục được đánh dấu.", "danger")
        fields = db.session.scalars(select(distinct(Procedure.field)).order_by(Procedure.field)).all()
        return render_template("catalog/form.html", form=form, procedure=procedure, fields=fields), 422
    fields = db.session.scalars(select(distinct(Procedure.field)).order_by(Procedure.field)).all()
    return render_template("catalog/form.html", form=form, procedure=procedure, fields=fields)


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def new_procedure():
    return _procedure_form(None)


@bp.route("/<int:procedure_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def edit_procedure(procedure_id: int):
    procedure = db.session.get(Procedure, procedure_id) or abort(404)
    return _procedure_form(procedure)


@bp.route("/import", methods=["GET", "POST"])
@roles_required("admin")
def import_procedures():
    form = ImportForm()
    if request.method == "POST" and form.validate():
        upload = form.file.data
        if upload is None or not getattr(upload, "filename", ""):
            form.file.errors = list(form.file.errors) + ["Chọn tệp .xlsx hoặc .csv để nhập."]
            return render_template("catalog/import.html", form=form), 400
        filename = upload.filename
        try:
            report = services.import_file(db.session, upload.stream, filename, actor=current_user)
            audit.record(db.session, "import", "procedure", None, note=(
                f"{filename}: {len(report.created)} thêm mới, {len(report.updated)} cập nhật, "
                f"{len(report.unchanged)} không đổi, {len(report.rejected)} bị từ chối, "
                f"{len(report.inactive)} chưa áp dụng"))
            db.session.commit()
        except services.CatalogImportError as exc:
            db.session.rollback()
            flash(f"Không nhập được tệp “{filename}”: {exc.message} Chưa có dữ liệu nào được ghi.", "danger")
            return render_template("catalog/import.html", form=form), 400
        except SQLAlchemyError:
            db.session.rollback()
            current_app.logger.exception("catalog import failed")
            flash(f"Không nhập được tệp “{filename}”: lỗi khi ghi vào cơ sở dữ liệu (có thể một người khác "
                  "đang nhập cùng lúc). Chưa có dữ liệu nào được ghi; vui lòng thử lại.", "danger")
            return render_template("catalog/import.html", form=form), 409
        flash(f"Đã nhập tệp “{filename}”.", "success")
        return render_template("catalog/import_report.html", report=report, filename=filename)
    return render_template("catalog/import.html", form=form)


@bp.route("/export")
@roles_required(*EXPORT_ROLES)
def export_procedures():
    data = services.export_workbook(db.session)
    audit.record(db.session, "export", "procedure", None,
                 note=f"{EXPORT_FILENAME}: {services.count_procedures(db.session)} thủ tục")
    db.session.commit()
    return send_file(
        BytesIO(data), as_attachment=True, download_name=EXPORT_FILENAME,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
