"""The administrator's import page: upload, preview with the columns recognised, a mapping step for
unknown headers, the run, its per-row report (page and .xlsx). Thin: parses, calls the services.

The uploaded file waits between the preview and the run in the instance folder under a random
name (never the user's file name); it is deleted after the run, and leftovers after a day.
"""
from __future__ import annotations

import os
import secrets
import time
from io import BytesIO

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from intake.dossier_import import queries, services
from intake.dossier_import.forms import RunForm, UploadForm, choices
from intake.dossier_import.mapping import FIELDS, Mapping, MappingError, mapping_with_columns, match_headers
from intake.dossier_import.reading import FileError, is_blank, open_table
from intake.dossier_import.report import OUTCOME_LABELS, events_text
from tthc.auth import roles_required
from tthc.clock import now
from tthc.extensions import db
from tthc.params import parse_id, parse_page

bp = Blueprint("dossier_import", __name__, url_prefix="/imports")

PREVIEW_ROWS = 10
PER_PAGE = 100
KEEP_SECONDS = 24 * 3600
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _folder() -> str:
    path = os.path.join(current_app.instance_path, "imports")
    os.makedirs(path, exist_ok=True)
    return path


def _stored(token: str) -> tuple[str, str] | None:
    """(path, extension) of an uploaded file waiting for its run, or None."""
    if not token or not token.replace("-", "").replace("_", "").isalnum() or len(token) > 64:
        return None
    for ext in (".csv", ".xlsx"):
        path = os.path.join(_folder(), token + ext)
        if os.path.exists(path):
            return path, ext
    return None


def _clean_old() -> None:
    limit = time.time() - KEEP_SECONDS
    for name in os.listdir(_folder()):
        path = os.path.join(_folder(), name)
        try:
            if os.path.getmtime(path) < limit:
                os.remove(path)
        except OSError:
            pass


def _mapping_choices():
    return choices([("", "— Mặc định (tên cột tiếng Việt) —")] + [
        (str(m.id), m.name) for m in queries.saved_mappings(db.session)])


def _base_mapping(saved_id: str) -> Mapping:
    if not saved_id:
        return Mapping()
    try:
        return queries.get_saved_mapping(db.session, int(saved_id))
    except (LookupError, ValueError, MappingError):
        abort(400)


def _field_choices() -> list[tuple[str, str]]:
    return [("", "— Bỏ qua cột này —")] + [(name, f"{label}{' (bắt buộc)' if required else ''}")
                                          for name, (label, required) in FIELDS.items()]


@bp.route("/", methods=["GET"])
@roles_required("admin")
def index():
    form = UploadForm()
    form.saved_mapping.choices = _mapping_choices()
    return render_template("imports/index.html", form=form, runs=queries.recent_runs(db.session),
                           mappings=queries.saved_mappings(db.session))


@bp.route("/preview", methods=["POST"])
@roles_required("admin")
def preview_import():
    form = UploadForm()
    form.saved_mapping.choices = _mapping_choices()
    upload = form.file.data
    if not form.validate() or upload is None or not getattr(upload, "filename", ""):
        flash("Chọn tệp .xlsx hoặc .csv để nhập.", "danger")
        return render_template("imports/index.html", form=form, runs=queries.recent_runs(db.session),
                               mappings=queries.saved_mappings(db.session)), 400
    ext = os.path.splitext(upload.filename)[1].lower()
    if ext not in (".csv", ".xlsx"):
        flash(f"Không nhận định dạng tệp “{ext or upload.filename}”: chỉ nhận .csv hoặc .xlsx.", "danger")
        return render_template("imports/index.html", form=form, runs=queries.recent_runs(db.session),
                               mappings=queries.saved_mappings(db.session)), 400
    _clean_old()
    token = secrets.token_urlsafe(16)
    path = os.path.join(_folder(), token + ext)
    upload.save(path)
    with open(path + ".name", "w", encoding="utf-8") as fh:
        fh.write(upload.filename[:255])
    return redirect(url_for("dossier_import.map_columns", token=token, mapping=form.saved_mapping.data or ""))


def _filename(path: str) -> str:
    try:
        with open(path + ".name", encoding="utf-8") as fh:
            return fh.read().strip() or os.path.basename(path)
    except OSError:
        return os.path.basename(path)


def _chosen_columns(headers, base: Mapping) -> dict[str, str | None]:
    """The mapping step's choices: ``col_<index>`` = a field key or "" (ignore) for unknown headers."""
    chosen: dict[str, str | None] = {}
    for index, header in enumerate(headers):
        key = f"col_{index}"
        if key in request.values and str(header).strip():
            value = request.values.get(key) or None
            if value is not None and value not in FIELDS:
                abort(400)
            chosen[str(header)] = value
    return chosen


@bp.route("/map", methods=["GET", "POST"])
@roles_required("admin")
def map_columns():
    token = request.values.get("token", "")
    stored = _stored(token)
    if stored is None:
        flash("Tệp đã tải lên không còn (quá 1 ngày hoặc đã nhập); vui lòng tải lại.", "warning")
        return redirect(url_for("dossier_import.index"))
    path, _ext = stored
    base = _base_mapping(request.values.get("mapping", ""))
    try:
        with open(path, "rb") as fh:
            table = open_table(fh, path)
            headers = table.headers
            mapping = mapping_with_columns(base, _chosen_columns(headers, base))
            rows = []
            for line, values in table.rows:
                if not is_blank(values):
                    rows.append((line, values))
                if len(rows) >= PREVIEW_ROWS:
                    break
            if table.close is not None:
                table.close()
    except FileError as exc:
        os.remove(path)
        flash(f"Không đọc được tệp: {exc}", "danger")
        return redirect(url_for("dossier_import.index"))
    match = match_headers(headers, mapping)
    form = RunForm(token=token, saved_mapping=request.values.get("mapping", ""))
    return render_template("imports/map.html", form=form, token=token, filename=_filename(path), headers=headers,
                           match=match, rows=rows, fields=FIELDS, field_choices=_field_choices(),
                           encoding=table.encoding, saved_mapping=request.values.get("mapping", ""),
                           chosen=_chosen_columns(headers, base))


@bp.route("/run", methods=["POST"])
@roles_required("admin")
def run_import():
    form = RunForm()
    if not form.validate():
        if "csrf_token" in form.errors or not _stored(form.token.data or ""):
            flash("Phiên làm việc đã hết hạn hoặc tệp đã tải lên không còn; vui lòng tải lại tệp.", "danger")
            return redirect(url_for("dossier_import.index"))
        for errors in form.errors.values():
            for message in errors:
                flash(message, "danger")
        return redirect(url_for("dossier_import.map_columns", token=form.token.data,
                                mapping=form.saved_mapping.data or ""))
    stored = _stored(form.token.data or "")
    if stored is None:
        flash("Tệp đã tải lên không còn (quá 1 ngày hoặc đã nhập); vui lòng tải lại.", "warning")
        return redirect(url_for("dossier_import.index"))
    path, ext = stored
    filename = _filename(path)
    base = _base_mapping(form.saved_mapping.data or "")
    with open(path, "rb") as fh:
        try:
            table = open_table(fh, path)
            headers = table.headers
            if table.close is not None:
                table.close()
        except FileError as exc:
            flash(f"Không đọc được tệp: {exc}", "danger")
            return redirect(url_for("dossier_import.index"))
    mapping = mapping_with_columns(base, _chosen_columns(headers, base))
    from_run = parse_id(form.from_run.data) if form.from_run.data else None
    if from_run is not None:  # "import for real" after a dry run: exactly the mapping that dry run used
        try:
            mapping = Mapping.from_definition(queries.get_run(db.session, from_run).mapping)
        except (LookupError, MappingError):
            abort(400)
    if not match_headers(headers, mapping).usable:
        flash("Tệp còn thiếu cột bắt buộc: chọn cột tương ứng ở bước ánh xạ.", "danger")
        return redirect(url_for("dossier_import.map_columns", token=form.token.data, mapping=form.saved_mapping.data))
    try:
        if form.save_as.data and form.save_as.data.strip():
            services.save_mapping(db.session, form.save_as.data, mapping, user=current_user, now=now())
            db.session.commit()
        with open(path, "rb") as fh:
            run_id = services.import_file(db.session, fh, filename, mapping=mapping, now=now(),
                                          agency_code=current_app.config["AGENCY_CODE"], commit=db.session.commit,
                                          user=current_user, source="web", dry_run=bool(form.dry_run.data))
    except services.ImportFileError as exc:
        db.session.rollback()
        flash(f"Không nhập được tệp “{filename}”: {exc.message}", "danger")
        return redirect(url_for("dossier_import.index"))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("dossier import failed")
        flash(f"Nhập tệp “{filename}” bị gián đoạn do lỗi ghi cơ sở dữ liệu; các lô đã ghi được giữ nguyên. "
              "Nhập lại cùng tệp sẽ chỉ bổ sung phần còn thiếu.", "danger")
        return redirect(url_for("dossier_import.index"))
    if form.dry_run.data:  # the file waits, so that the run page can import it for real
        return redirect(url_for("dossier_import.show_run", run_id=run_id, token=form.token.data))
    for suffix in ("", ".name"):
        try:
            os.remove(path + suffix)
        except OSError:
            pass
    return redirect(url_for("dossier_import.show_run", run_id=run_id))


@bp.route("/<int:run_id>")
@roles_required("admin")
def show_run(run_id: int):
    run = _get_run(run_id)
    outcome = request.args.get("outcome", "")
    if outcome not in OUTCOME_LABELS:
        outcome = ""
    page = parse_page(request.args.get("page"))
    counts = run.counts or {}
    total = counts.get(outcome, 0) if outcome else counts.get("total", 0)
    rows = queries.report_rows(db.session, run.id, outcome=outcome or None, limit=PER_PAGE,
                               offset=(page - 1) * PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    token = request.args.get("token", "")
    again = RunForm(token=token, from_run=str(run.id)) if run.dry_run and _stored(token) else None
    return render_template("imports/run.html", run=run, rows=rows, outcome=outcome, page=page, pages=pages,
                           total=total, OUTCOME_LABELS=OUTCOME_LABELS, events_text=events_text, again=again)


@bp.route("/<int:run_id>/report.xlsx")
@roles_required("admin")
def download_report(run_id: int):
    run = _get_run(run_id)
    buffer = BytesIO()
    queries.report_workbook_for(db.session, run.id, buffer)
    buffer.seek(0)
    return send_file(buffer, as_attachment=True, download_name=f"ket-qua-nhap-ho-so-{run.id}.xlsx", mimetype=XLSX)


def _get_run(run_id: int):
    try:
        return queries.get_run(db.session, parse_id(run_id) or 0)
    except LookupError:
        abort(404)
