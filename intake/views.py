"""Reception screens: new dossier, dossier page with its actions, list, desk contacts, printable slips.

Thin views (architecture.md): parse the request, call ``intake.services`` (the only
place where a dossier changes), commit, redirect. An ``IntakeError`` is shown on
the field it names with the user's input kept; a stale version or an impossible
transition is flashed on the dossier page. Pages compute overdue live through
``services.flags_for``. The appointment preview uses the pure deadline rules
directly, exactly as ``receive_dossier`` will when the dossier is saved.
"""
from __future__ import annotations

import math
from datetime import datetime
from types import SimpleNamespace

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from deadlines import lifecycle
from deadlines.due_dates import Event, derive
from deadlines.store import calendar_for, limit_from_rule
from intake import queries, services, slips, warnings
from intake.cccd import CccdError, looks_unaccented, parse_cccd
from intake.forms import (
    DATETIME_FORMAT,
    DOCUMENT_KIND_CHOICES,
    MAX_DOCUMENTS,
    CorrectionForm,
    DeskContactForm,
    DossierForm,
    EventForm,
    ListFilterForm,
    VoidEventForm,
    options,
)
from tthc import papers
from tthc.auth import roles_required
from tthc.clock import now
from tthc.extensions import db
from tthc.models import (
    CHANNEL_LABELS,
    DOCUMENT_KIND_LABELS,
    OPEN_STATUSES,
    STATUS_LABELS,
    DeskContact,
    Dossier,
    DossierEvent,
    Procedure,
    Unit,
)
from tthc.params import parse_filter_id, parse_id, parse_page
from tthc.text import fold

bp = Blueprint("intake", __name__, url_prefix="/dossiers")

# Who may read dossiers (the service narrows handlers to their unit; administrators read, never act).
VIEWERS = ("reception", "handler", "supervisor", "admin")
DESK = ("reception", "supervisor")

# The history's labels are the vocabulary's (deadlines.lifecycle), defined once.
EVENT_LABELS = lifecycle.EVENT_LABELS

# The button of each action, and the fields its small form shows.
ACTIONS = {
    "forwarded": ("Chuyển xử lý", ("unit_id", "receiver_name", "note", "at")),
    "step_handed_over": ("Chuyển bước tiếp theo", ("unit_id", "receiver_name", "note", "at")),
    "supplement_requested": ("Yêu cầu bổ sung", ("documents_to_add", "note", "at")),
    "supplement_received": ("Đã nhận hồ sơ bổ sung", ("note", "at")),
    "extended": ("Gia hạn và xin lỗi", ("new_deadline", "note", "at")),
    "finished": ("Ghi nhận có kết quả", ("result", "note", "at")),
    "handed_over": ("Trả kết quả", ("note", "at")),
    "returned_unprocessed": ("Trả lại hồ sơ", ("note", "at")),
    "withdrawn": ("Người nộp rút hồ sơ", ("note", "at")),
    "stopped": ("Dừng giải quyết hồ sơ", ("note", "legal_ground", "next_steps", "at")),
    "cancelled": ("Hủy hồ sơ (nhập nhầm)", ("note", "at")),
}
NOTE_LABELS = {
    "supplement_requested": "Lý do yêu cầu bổ sung",
    "extended": "Lý do chậm trả kết quả",
    "finished": "Ghi chú (lý do nếu từ chối)",
    "returned_unprocessed": "Lý do trả lại",
    "withdrawn": "Lý do rút hồ sơ",
    "stopped": "Lý do dừng giải quyết",
    "cancelled": "Lý do hủy (nhập nhầm)",
}
DANGER_ACTIONS = {"returned_unprocessed", "withdrawn", "stopped", "cancelled"}
# Each confirmation and each "done" message written whole (labels already say "hồ sơ": pasting a
# label before "hồ sơ {code}" read "trả lại hồ sơ hồ sơ ...").
CONFIRM_MESSAGES = {
    "returned_unprocessed": "Trả lại hồ sơ {code} cho người nộp, không giải quyết?",
    "withdrawn": "Ghi nhận người nộp rút hồ sơ {code}?",
    "stopped": "Dừng giải quyết hồ sơ {code}? Hồ sơ không tính vào tỷ lệ đúng hạn.",
    "cancelled": "Hủy hồ sơ {code} vì nhập nhầm? Hồ sơ giữ mã nhưng không tính vào thống kê.",
}
DONE_MESSAGES = {
    "forwarded": "Đã chuyển hồ sơ {code} cho đơn vị xử lý.",
    "step_handed_over": "Đã chuyển hồ sơ {code} sang bước xử lý tiếp theo.",
    "supplement_requested": "Đã yêu cầu bổ sung, hoàn thiện hồ sơ {code}. In phiếu yêu cầu bổ sung để gửi người nộp.",
    "supplement_received": "Đã nhận hồ sơ bổ sung của hồ sơ {code}.",
    "extended": "Đã gia hạn hồ sơ {code}. In phiếu xin lỗi và hẹn lại ngày trả kết quả.",
    "finished": "Đã ghi nhận kết quả giải quyết hồ sơ {code}.",
    "handed_over": "Đã trả kết quả hồ sơ {code} cho người nộp.",
    "returned_unprocessed": "Đã trả lại hồ sơ {code} cho người nộp.",
    "withdrawn": "Đã ghi nhận người nộp rút hồ sơ {code}.",
    "cancelled": "Đã hủy hồ sơ {code} (nhập nhầm).",
    "stopped": "Đã dừng giải quyết hồ sơ {code}.",
}

FLAG_LABELS = {
    "overdue": ("Quá hạn", "danger"),
    "due_soon": ("Sắp đến hạn", "warn"),
    "not_forwarded": ("Chưa chuyển xử lý đúng hạn", "danger"),
    "apology_missing": ("Chưa có phiếu xin lỗi", "danger"),
    "late_supplement_request": ("Yêu cầu bổ sung muộn", "warn"),
    "second_supplement_request": ("Yêu cầu bổ sung lần thứ hai", "warn"),
    "finished_late": ("Có kết quả trễ hạn", "danger"),
    "awaiting_supplement": ("Chờ bổ sung", "warn"),
    "extended": ("Đã gia hạn", "warn"),
}
CLASSIFICATION_LABELS = lifecycle.CLASSIFICATION_LABELS
STATUS_BADGES = {
    "received": "", "in_progress": "", "awaiting_supplement": "warn", "finished": "ok", "handed_over": "ok",
    "returned_unprocessed": "danger", "withdrawn": "danger", "stopped": "danger", "cancelled": "danger",
}
STALE_MESSAGE = ("Hồ sơ đã được người khác cập nhật trong lúc bạn thao tác. "
                 "Thông tin dưới đây là mới nhất; vui lòng xem lại rồi thực hiện lại.")


@bp.app_template_global()
def flag_label(flag: str) -> tuple[str, str]:
    return FLAG_LABELS.get(flag, (flag, ""))


@bp.app_template_global()
def event_label(event_type: str) -> str:
    return EVENT_LABELS.get(event_type, event_type)


@bp.app_template_filter("document_names")
def document_names_filter(value) -> str:
    """Form 02's documents to add: a list of names (older requests kept one text)."""
    return "; ".join(str(v) for v in value) if isinstance(value, list) else str(value or "")


CORRECTED_FIELD_LABELS = {
    "applicant_kind": "loại người nộp", "applicant_name": "tên người nộp", "applicant_id_number": "số giấy tờ",
    "applicant_phone": "điện thoại", "applicant_email": "email", "applicant_address": "địa chỉ",
    "sets": "số bộ hồ sơ", "documents": "giấy tờ đã nhận", "request_summary": "nội dung yêu cầu",
}


@bp.app_template_filter("field_label")
def field_label_filter(name: str) -> str:
    return CORRECTED_FIELD_LABELS.get(name, name)


@bp.app_template_filter("isodt")
def isodt_filter(value) -> str:
    """An ISO datetime kept in an event's data, as hh:mm dd/mm/yyyy."""
    if isinstance(value, datetime):
        return value.strftime("%H:%M %d/%m/%Y")
    try:
        return datetime.fromisoformat(str(value)).strftime("%H:%M %d/%m/%Y")
    except (TypeError, ValueError):
        return str(value or "")


# -- helpers -----------------------------------------------------------------------------------


def _attach_error(form, exc: "services.IntakeError", aliases: dict | None = None) -> None:
    """Show the service's message on the field it names, else above the form."""
    name = (exc.field or "").strip()
    candidates = [name]
    if name.startswith("applicant."):
        candidates.append("applicant_" + name.split(".", 1)[1])
    candidates.append("applicant_" + name)
    candidates.append(name + "_id")
    if aliases and name in aliases:
        candidates.insert(0, aliases[name])
    for candidate in candidates:
        field = getattr(form, candidate, None) if candidate else None
        if field is not None and hasattr(field, "errors") and hasattr(field, "data"):
            if isinstance(field.errors, tuple):
                field.errors = list(field.errors)
            field.errors.append(exc.message)
            return
    form.form_errors.append(exc.message)


def _procedure_label(p: Procedure) -> str:
    return f"{p.national_code} – {p.name}" if p.national_code else p.name


def _active_procedures() -> list[Procedure]:
    return db.session.scalars(
        select(Procedure).where(Procedure.active.is_(True)).order_by(Procedure.field, Procedure.name)
    ).all()


def _units(active_only: bool = True) -> list[Unit]:
    query = select(Unit).order_by(Unit.name)
    if active_only:
        query = query.where(Unit.active.is_(True))
    return db.session.scalars(query).all()


def _get_procedure(raw) -> Procedure | None:
    pid = parse_id(raw)  # junk or out of range → unknown procedure, never an OverflowError
    return db.session.get(Procedure, pid) if pid is not None else None


def _get_dossier(code: str) -> Dossier:
    try:
        return services.get_dossier_for(db.session, code, current_user)
    except services.IntakeError as exc:
        abort(exc.status if exc.status in (403, 404) else 404)


def _parse_dt(raw: str | None) -> datetime | None:
    if not raw:
        return None
    for fmt in (DATETIME_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(raw.strip(), fmt)
        except ValueError:
            continue
    return None


def preview_for(procedure: Procedure | None, received_at: datetime | None) -> dict | None:
    """The appointment the receipt will print, computed before saving (domain.md §4.1–4.2, §4.8)."""
    if procedure is None:
        return None
    received_at = received_at or now()
    in_force = procedure.rule_at(received_at)
    info = {
        "procedure_id": procedure.id,
        "unit": procedure.unit.name if procedure.unit else "",
        "limit": slips.processing_time(SimpleNamespace(rule={
            "limit_unit": in_force.limit_unit, "limit_amount": in_force.limit_amount,
            "statutory_unit": in_force.statutory_unit, "statutory_amount": in_force.statutory_amount,
        }, procedure=procedure)),
        "received_at": received_at.strftime("%H:%M %d/%m/%Y"),
        "appointment": None, "forwarding_deadline": None, "explanation": [], "error": None, "warnings": [],
        "result_location": procedure.result_location or "",
    }
    if not procedure.active:
        reason = f": {procedure.inactive_reason}" if procedure.inactive_reason else "."
        info["error"] = "Thủ tục đang ngừng áp dụng" + reason
        return info
    if not procedure.has_limit:
        info["error"] = "Thủ tục chưa có thời hạn giải quyết: đề nghị quản trị bổ sung trước khi tiếp nhận."
        return info
    rule = {"limit_unit": in_force.limit_unit, "limit_amount": in_force.limit_amount,
            "supplement_rule": in_force.supplement_rule}
    try:
        result = derive(calendar_for(db.session), limit_from_rule(rule), [Event("received", received_at)])
    except ValueError:  # beyond the calendar's years
        info["error"] = services.outside_calendar_message(calendar_for(db.session), "Ngày hẹn trả")
        return info
    info["appointment"] = result.deadline.strftime("%H:%M %d/%m/%Y") if result.deadline else "Không quy định thời hạn"
    info["forwarding_deadline"] = result.forwarding_deadline.strftime("%H:%M %d/%m/%Y")
    info["explanation"] = list(result.explanation)
    info["warnings"] = warnings.deadline_warnings(db.session, received_at, result.deadline)
    return info


def _catalog_documents(procedure: Procedure | None) -> list[dict]:
    if procedure is None:
        return []
    return [{"name": d.name, "kind": d.kind, "count": d.count or 1, "take": True} for d in procedure.documents]


def _posted_documents() -> tuple[list[dict], list[str]]:
    """The document rows of the form (ticked or not) and any error, from parallel lists."""
    names = request.form.getlist("doc_name")[:MAX_DOCUMENTS]
    kinds = request.form.getlist("doc_kind")
    counts = request.form.getlist("doc_count")
    taken = set(request.form.getlist("doc_take"))
    rows, errors = [], []
    for i, name in enumerate(names):
        name = name.strip()
        if not name:  # the empty "other document" row
            continue
        kind = kinds[i] if i < len(kinds) and kinds[i] in DOCUMENT_KIND_LABELS else "original"
        raw_count = counts[i].strip() if i < len(counts) else "1"
        try:
            count = int(raw_count or "1")
            if not 1 <= count <= 99:
                raise ValueError
        except ValueError:
            count = raw_count
            if str(i) in taken:
                errors.append(f"Số lượng của “{name}” phải là số nguyên từ 1 đến 99.")
        rows.append({"name": name, "kind": kind, "count": count, "take": str(i) in taken})
    return rows, errors


def _flags(dossier: Dossier, cal=None) -> list[str]:
    try:
        return list(services.flags_for(dossier, now(), cal or calendar_for(db.session)))
    except ValueError:  # a deadline beyond the calendar's years
        return []


# -- new dossier -------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@roles_required("reception")
def new_dossier():
    form = DossierForm()
    procedures = _active_procedures()
    form.procedure_id.choices = options([("", "— Chọn thủ tục hành chính —")] + [
        (str(p.id), _procedure_label(p)) for p in procedures])
    current = now().replace(second=0)
    if request.method == "GET":
        form.received_at.data = current
        if request.args.get("procedure_id"):
            form.procedure_id.data = request.args["procedure_id"]
    default_received = request.form.get("received_at_default") or current.strftime(DATETIME_FORMAT)
    procedure = _get_procedure(form.procedure_id.data)
    if request.method == "POST":
        documents, doc_errors = _posted_documents()
        if procedure is not None and request.form.get("loaded_procedure") != str(procedure.id):
            documents = _catalog_documents(procedure)  # procedure changed without JavaScript
            doc_errors = []
            if "load" not in request.form:
                form.form_errors.append("Đã nạp thành phần hồ sơ của thủ tục vừa chọn: kiểm tra rồi bấm Lưu.")
    else:
        documents, doc_errors = _catalog_documents(procedure), []

    late_entry = False
    if request.method == "POST" and "load" not in request.form and not form.form_errors:
        valid = form.validate_on_submit()
        received_raw = request.form.get("received_at", "").strip()
        # Untouched default → the instant of saving (to the second); edited → the officer's time.
        received_at = None if received_raw in ("", default_received) else form.received_at.data
        late_entry = _is_late_entry(received_at)
        valid = _check_desk_rules(form, late_entry) and valid  # every error of the submit at once
        if valid and not doc_errors:
            chosen = [{"name": d["name"], "kind": d["kind"], "count": d["count"]}
                      for d in documents if d["take"] and d["name"]]
            try:
                dossier = services.receive_dossier(
                    db.session,
                    procedure=procedure,
                    applicant={
                        "kind": form.applicant_kind.data, "name": form.applicant_name.data,
                        "id_number": form.applicant_id_number.data or "", "phone": form.applicant_phone.data or "",
                        "email": form.applicant_email.data or "", "address": form.applicant_address.data or "",
                    },
                    channel=form.channel.data,
                    received_by=current_user._get_current_object(),
                    now=now(),
                    received_at=received_at,
                    submitted_at=form.submitted_at.data,
                    sets=form.sets.data,
                    documents=chosen,
                    code=form.code.data or None,
                    reception_point=form.reception_point.data or "",
                    request_summary=form.request_summary.data or "",
                    late_entry_reason=(form.late_entry_reason.data or "") if late_entry else "",
                )
            except services.IntakeError as exc:
                db.session.rollback()
                if exc.field and exc.field.startswith("documents"):
                    doc_errors.append(exc.message)
                else:
                    for one in ([services.IntakeError(exc.status, d["message"], d["field"]) for d in exc.details]
                                if exc.details else [exc]):
                        _attach_error(form, one, {"procedure": "procedure_id", "id_number": "applicant_id_number"})
            else:
                db.session.commit()
                appointment = (dossier.appointment_at.strftime("%H:%M %d/%m/%Y") if dossier.appointment_at
                               else "không quy định thời hạn")
                flash(f"Đã tiếp nhận hồ sơ {dossier.code}. Hẹn trả kết quả: {appointment}.", "success")
                return redirect(url_for("intake.show_dossier", code=dossier.code, new=1), code=303)
    if request.method == "POST" and request.form.get("received_at", "").strip() in ("", default_received):
        # Untouched: keep following the clock on the re-rendered form.
        form.received_at.raw_data, form.received_at.data = None, current
        default_received = current.strftime(DATETIME_FORMAT)
    received_for_preview = form.received_at.data if isinstance(form.received_at.data, datetime) else None
    status = 422 if request.method == "POST" and "load" not in request.form and (form.errors or doc_errors) else 200
    return render_template(
        "intake/new.html", form=form, procedures=procedures, procedure=procedure, documents=documents,
        doc_errors=doc_errors, kind_choices=DOCUMENT_KIND_CHOICES, default_received=default_received,
        preview=preview_for(procedure, received_for_preview), late_entry=late_entry,
        late_entry_days=LATE_ENTRY_WORKING_DAYS,
    ), status


LATE_ENTRY_WORKING_DAYS = 3
NO_PHONE_MESSAGE = ("Nhập số điện thoại của người nộp, hoặc đánh dấu “Không có số điện thoại” "
                    "(khi đó tra cứu bằng 4 số cuối số giấy tờ).")


def _is_late_entry(received_at: datetime | None) -> bool:
    """A reception time more than 3 working days before now (the desk must confirm it and say why)."""
    if not isinstance(received_at, datetime):
        return False
    try:
        return calendar_for(db.session).add_working_days(received_at, LATE_ENTRY_WORKING_DAYS) < now()
    except ValueError:  # outside the calendar: receive_dossier explains it on the field
        return False


def _add_error(field, message: str) -> None:
    field.errors = list(field.errors or []) + [message]


def _check_applicant_formats(form) -> bool:
    """The ID number, phone and e-mail checked as the service will check them, each on its field."""
    ok = True
    kind = form.applicant_kind.data if form.applicant_kind.data in services.APPLICANT_KINDS else "individual"
    checks = [(form.applicant_id_number, lambda v: services.normalise_id_number(kind, v)),
              (form.applicant_phone, services.normalise_phone), (form.applicant_email, services.normalise_email)]
    for field, check in checks:
        if field.errors:
            continue
        try:
            check(field.data or "")
        except services.IntakeError as exc:
            _add_error(field, exc.message)
            ok = False
    return ok


def _check_desk_rules(form: DossierForm, late_entry: bool) -> bool:
    """The desk's own rules, checked with WTForms' so that every error of a submit shows at once
    next to its field: the ID number, phone and e-mail as the service will check them; an individual's
    phone unless "no phone" is ticked (issue 16); a confirmation and a reason for a late entry."""
    ok = _check_applicant_formats(form)
    kind = form.applicant_kind.data if form.applicant_kind.data in services.APPLICANT_KINDS else "individual"
    if kind == "individual" and not (form.applicant_phone.data or "").strip() and not form.no_phone.data \
            and not form.applicant_phone.errors:
        _add_error(form.applicant_phone, NO_PHONE_MESSAGE)
        ok = False
    if late_entry:
        if not form.late_entry_confirmed.data:
            _add_error(form.late_entry_confirmed, f"Thời điểm tiếp nhận cách đây hơn {LATE_ENTRY_WORKING_DAYS} ngày "
                                                  "làm việc: đánh dấu xác nhận nếu đúng là thời điểm đó.")
            ok = False
        if not (form.late_entry_reason.data or "").strip():
            _add_error(form.late_entry_reason, "Nêu lý do ghi nhận muộn (được lưu cùng sự kiện tiếp nhận).")
            ok = False
    return ok


@bp.route("/scan-cccd", methods=["POST"])
@roles_required("reception")
def scan_cccd():
    """JSON for the new-dossier page's scan field: the applicant's fields read from a CCCD QR string.

    POST (the string is personal data: never in a URL or an access log), CSRF token in the
    ``X-CSRFToken`` header. Nothing is stored; the page fills its fields from the answer."""
    payload = request.get_json(silent=True)
    raw = payload.get("scan") if isinstance(payload, dict) else request.form.get("scan")
    try:
        data = parse_cccd(raw)
    except CccdError as exc:
        return jsonify({"error": {"code": "invalid_cccd", "message": str(exc), "field": "scan"}}), 422
    warning = ("Họ tên và địa chỉ không có dấu tiếng Việt: kiểm tra máy quét đã đặt chế độ gõ Unicode chưa "
               "(xem README), sửa tay nếu cần.") if looks_unaccented(data) else None
    return jsonify({"fields": data.as_dict(), "warning": warning})


@bp.route("/preview")
@roles_required("reception")
def preview_appointment():
    """JSON for the new-dossier page: the procedure's documents and the appointment before saving."""
    procedure = _get_procedure(request.args.get("procedure_id"))
    if procedure is None:
        return jsonify({"error": "Không tìm thấy thủ tục."}), 404
    received_at = _parse_dt(request.args.get("received_at"))
    info = preview_for(procedure, received_at)
    info["documents"] = [{"name": d["name"], "kind": d["kind"], "kind_label": DOCUMENT_KIND_LABELS.get(d["kind"], ""),
                          "count": d["count"]} for d in _catalog_documents(procedure)]
    return jsonify(info)


# -- home pages (registered on "/" by create_app) -------------------------------------------


WORKLIST_TITLES = {
    "not_forwarded": ("Quá hạn chuyển xử lý", "danger"),
    "to_forward": ("Cần chuyển xử lý", ""),
    "to_hand_over": ("Có kết quả, chờ trả cho người nộp", "ok"),
    "awaiting_supplement": ("Chờ người nộp bổ sung hồ sơ", "warn"),
}
URGENCY_LABELS = {
    "overdue": ("Quá hạn", "danger"),
    "due_soon": ("Sắp đến hạn", "warn"),
    "supplement_window": ("Còn hạn yêu cầu bổ sung", "warn"),
    "other": ("Trong hạn", ""),
}


def reception_home():
    """The desk's worklist of the day (issue 16)."""
    sections = queries.reception_worklist(db.session, now(), calendar_for(db.session))
    return render_template("intake/worklist.html", sections=sections, titles=WORKLIST_TITLES)


def handler_home():
    """The unit's queue, most urgent first (issue 16)."""
    unit = current_user.unit
    items, total = [], 0
    if unit is not None:
        items, total = queries.unit_queue(db.session, unit.id, now(), calendar_for(db.session),
                                          int(current_app.config.get("DUE_SOON_WORKING_DAYS", 2)))
    return render_template("intake/queue.html", unit=unit, items=items, total=total,
                           total_label=services.count_label(total, queries.COUNT_CAP), labels=URGENCY_LABELS)


# -- list --------------------------------------------------------------------------------------


@bp.route("/")
@roles_required(*VIEWERS)
def list_dossiers():
    form = ListFilterForm(formdata=request.args)
    form.status.choices = options([("", "— Tất cả —"), ("open", "Đang giải quyết")] + list(STATUS_LABELS.items()))
    units = _units(active_only=False)
    form.unit.choices = options([("", "— Tất cả —")] + [(str(u.id), u.name) for u in units])
    procedures = db.session.scalars(select(Procedure).order_by(Procedure.name)).all()
    form.procedure.choices = options([("", "— Tất cả —")] + [(str(p.id), _procedure_label(p)) for p in procedures])
    fields = db.session.scalars(select(Procedure.field).distinct().order_by(Procedure.field)).all()
    form.field.choices = options([("", "— Tất cả —")] + [(f, f) for f in fields if f])
    form.channel.choices = options([("", "— Tất cả —")] + list(CHANNEL_LABELS.items()))
    form.validate()  # only to parse dates; invalid filters are ignored, never a 500

    page = parse_page(request.args.get("page"))
    per_page = current_app.config.get("PER_PAGE", 25)

    date_from = form.date_from.data if not form.date_from.errors else None
    date_to = form.date_to.data if not form.date_to.errors else None
    try:
        items, total = services.search_dossiers(
            db.session, current_user,
            q=form.q.data or None,
            status=list(OPEN_STATUSES) if form.status.data == "open" else (form.status.data or None),
            unit_id=parse_filter_id(form.unit.data),
            procedure_id=parse_filter_id(form.procedure.data),
            field=form.field.data or None,
            channel=form.channel.data or None,
            date_from=date_from, date_to=date_to,
            overdue=True if form.deadline.data == "overdue" else None,
            due_soon=True if form.deadline.data == "due_soon" else None,
            now=now(), page=page, per_page=per_page,
        )
    except services.IntakeError as exc:
        flash(exc.message, "danger")
        items, total = [], 0
    cal = calendar_for(db.session)
    rows = [{"dossier": d, "flags": _flags(d, cal)} for d in items]
    # The total is exact up to a cap (services.COUNT_CAP, or the page asked for): beyond it "hơn 1.000".
    cap = max(services.COUNT_CAP, page * per_page)
    exact = total <= cap
    pages = max(1, math.ceil(total / per_page)) if total and exact else (page + 1 if total else 0)
    pager = SimpleNamespace(page=page, pages=pages, pages_known=exact, total=services.count_label(total, cap),
                            has_prev=page > 1, has_next=page < pages, prev_num=page - 1, next_num=page + 1)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("intake/list.html", form=form, rows=rows, pager=pager, args=args,
                           status_badges=STATUS_BADGES)


# -- dossier page and actions ------------------------------------------------------------------


def _event_form(event_type: str, dossier: Dossier, formdata=None) -> EventForm:
    form = EventForm(formdata=formdata, prefix=event_type)
    form.unit_id.choices = options([("", "— Chọn đơn vị —")] + [(str(u.id), u.name) for u in _units()])
    if formdata is None:
        form.version.data = str(dossier.version)
        if event_type == "forwarded" and dossier.procedure and dossier.procedure.unit_id:
            form.unit_id.data = str(dossier.unit_id or dossier.procedure.unit_id)
        elif event_type == "forwarded" and dossier.unit_id:
            form.unit_id.data = str(dossier.unit_id)
    if event_type in NOTE_LABELS:
        form.note.label.text = NOTE_LABELS[event_type]
    if event_type == "step_handed_over":
        form.unit_id.label.text = "Đơn vị xử lý bước tiếp theo"
    return form


def _render_show(dossier: Dossier, *, overrides: dict | None = None, void_errors: dict | None = None,
                 status: int = 200):
    overrides = overrides or {}
    try:
        allowed = list(services.allowed_events(dossier, current_user))
    except services.IntakeError:
        allowed = []
    actions = []
    for event_type in allowed:
        if event_type not in ACTIONS:
            continue
        form = overrides.get(event_type) or _event_form(event_type, dossier)
        label, fields = ACTIONS[event_type]
        actions.append({"type": event_type, "label": label, "fields": fields, "form": form,
                        "confirm": CONFIRM_MESSAGES.get(event_type, "").format(code=dossier.code),
                        "danger": event_type in DANGER_ACTIONS, "open": event_type in overrides})
    try:
        explanation = list(services.explain(db.session, dossier))
    except (services.IntakeError, ValueError):
        explanation = []
    events = list(dossier.events)
    voided_by = {e.voids_event_id: e for e in events if e.voids_event_id}
    units = {u.id: u for u in _units(active_only=False)}
    slips_links = _slip_links(dossier, events)
    try:
        reissued_appointment, reissued = services.receipt_appointment(db.session, dossier)
    except ValueError:
        reissued_appointment, reissued = None, None
    if not dossier.is_open:
        reissued = None  # offered while the applicant still waits for the result
    return render_template(
        "intake/show.html", dossier=dossier, flags=_flags(dossier), explanation=explanation, events=events,
        reissued=reissued, reissued_appointment=reissued_appointment, reissue_mark=lifecycle.REISSUE_MARK,
        voided_by=voided_by, actions=actions, units=units, slips_links=slips_links,
        can_void=current_user.role == "supervisor" and dossier.status != "cancelled",
        can_correct=current_user.role in DESK and dossier.status != "cancelled",
        void_errors=void_errors or {}, status_badges=STATUS_BADGES, classification_labels=CLASSIFICATION_LABELS,
        event_labels=EVENT_LABELS, just_received=request.args.get("new") == "1", warnings=_warnings(dossier),
        form_set=papers.form_set_for(dossier.received_at), decree=papers.decree_for(dossier.received_at),
    ), status


def _slip_links(dossier: Dossier, events: list[DossierEvent]) -> list[tuple[str, str]]:
    """The printable forms of the dossier, named and numbered by the set of its reception date."""
    forms = papers.form_set_for(dossier.received_at)

    def name(kind: str, suffix: str = "") -> str:
        form = forms.form(kind)
        return f"{form.name} ({form.short}){suffix}"

    links = [(name("receipt"), url_for("intake.print_receipt", code=dossier.code))]
    for e in events:
        if e.voided or e.voids_event_id:
            continue
        if e.type == "supplement_requested":
            links.append((name("supplement", f" – {e.at:%d/%m/%Y}"),
                          url_for("intake.print_supplement_request", code=dossier.code, event_id=e.id)))
        elif e.type == "finished" and (e.data or {}).get("result", dossier.result) == "refused":
            links.append((name("refusal"), url_for("intake.print_refusal", code=dossier.code)))
        elif e.type == "extended":
            links.append((name("apology"), url_for("intake.print_apology", code=dossier.code)))
        elif e.type == "stopped":
            stop = forms.form("stop")  # always the 2025 form 05, whatever the dossier's set
            other = "" if stop.form_set == forms.key else f", Thông tư {stop.circular}"
            links.append((f"{stop.name} ({stop.short}{other})", url_for("intake.print_stop_notice", code=dossier.code)))
    links.append((name("control"), url_for("intake.print_control_slip", code=dossier.code)))
    return links


@bp.route("/<path:code>")
@roles_required(*VIEWERS)
def show_dossier(code: str):
    return _render_show(_get_dossier(code))


def _stale(dossier: Dossier, submitted_version: str | None) -> bool:
    return submitted_version is not None and submitted_version.strip() != str(dossier.version)


def _back_with(dossier_code: str, message: str, category: str = "danger"):
    flash(message, category)
    return redirect(url_for("intake.show_dossier", code=dossier_code), code=303)


@bp.route("/<path:code>/events/<event_type>", methods=["POST"])
@roles_required(*VIEWERS)
def add_event(code: str, event_type: str):
    dossier = _get_dossier(code)
    if event_type not in ACTIONS:
        abort(404)
    form = _event_form(event_type, dossier, formdata=request.form)
    if _stale(dossier, form.version.data):
        return _back_with(dossier.code, STALE_MESSAGE, "warning")
    if not form.validate():
        return _render_show(dossier, overrides={event_type: form}, status=422)
    unit = None
    if form.unit_id.data and "unit_id" in ACTIONS[event_type][1]:
        unit_id = parse_id(form.unit_id.data)
        unit = db.session.get(Unit, unit_id) if unit_id is not None else None
        if unit is None:
            form.unit_id.errors = list(form.unit_id.errors) + ["Đơn vị không tồn tại."]
            return _render_show(dossier, overrides={event_type: form}, status=422)
    data = {}
    if event_type == "stopped":
        # Form 05 (Circular 03/2025) states the reason and its legal ground: both required on the screen.
        if not form.legal_ground.data:
            form.legal_ground.errors = list(form.legal_ground.errors) + [
                "Ghi rõ căn cứ pháp lý dừng giải quyết hồ sơ (văn bản, điều, khoản)."]
            return _render_show(dossier, overrides={event_type: form}, status=422)
        data["legal_ground"] = form.legal_ground.data
        if form.next_steps.data:
            data["next_steps"] = form.next_steps.data
    if event_type == "supplement_requested":
        data["documents_to_add"] = _posted_documents_to_add(event_type, form)
    if event_type in ("forwarded", "step_handed_over") and form.receiver_name.data:
        data["receiver_name"] = form.receiver_name.data
    try:
        services.record_event(
            db.session, dossier, event_type, user=current_user._get_current_object(), now=now(),
            at=form.at.data, note=form.note.data or "", unit=unit,
            new_deadline=form.new_deadline.data if event_type == "extended" else None,
            result=form.result.data if event_type == "finished" else None,
            expected_version=int(form.version.data) if (form.version.data or "").isdigit() else None,
            data=data or None,
        )
    except services.IntakeError as exc:
        db.session.rollback()
        if exc.status in (403, 404):
            abort(exc.status)
        if exc.status == 409:
            return _back_with(code, _conflict_message(exc))
        dossier = _get_dossier(code)
        if (exc.field or "").startswith("documents_to_add["):
            exc.field = "documents_to_add"
        _attach_error(form, exc, {"unit": "unit_id", "deadline": "new_deadline"})
        return _render_show(dossier, overrides={event_type: form}, status=422)
    except StaleDataError:
        db.session.rollback()
        return _back_with(code, STALE_MESSAGE, "warning")
    db.session.commit()
    message = DONE_MESSAGES.get(event_type, "Đã ghi nhận với hồ sơ {code}.").format(code=dossier.code)
    if event_type == "supplement_received" and services.reissued_receipt(dossier) is not None \
            and dossier.appointment_at is not None:
        message += (f" Ngày hẹn trả kết quả mới: {dossier.appointment_at:%H:%M %d/%m/%Y}; in giấy tiếp nhận cấp lại "
                    f"({lifecycle.REISSUE_MARK.lower()}).")
    flash(message, "success")
    return redirect(url_for("intake.show_dossier", code=dossier.code), code=303)


def _posted_documents_to_add(event_type: str, form: EventForm) -> list[str]:
    """Form 02's documents: the catalog documents ticked, then one free-text name per line."""
    ticked = [name.strip() for name in request.form.getlist(f"{event_type}-catalog_doc") if name.strip()]
    typed = [line.strip() for line in (form.documents_to_add.data or "").splitlines() if line.strip()]
    return ticked + typed


def _conflict_message(exc) -> str:
    message = exc.message or ""
    if "phiên bản" in message.lower() or "version" in message.lower() or "cập nhật" in message.lower():
        return STALE_MESSAGE
    return message


@bp.route("/<path:code>/events/<int:event_id>/void", methods=["POST"])
@roles_required("supervisor")
def void_event(code: str, event_id: int):
    dossier = _get_dossier(code)
    form = VoidEventForm(formdata=request.form, meta={"csrf": False})
    form.event_id.data = str(event_id)
    if _stale(dossier, form.version.data):
        return _back_with(dossier.code, STALE_MESSAGE, "warning")
    if not form.validate():
        return _render_show(dossier, void_errors={event_id: form.reason.errors[0] if form.reason.errors else
                                                  "Dữ liệu không hợp lệ."}, status=422)
    try:
        services.void_event(db.session, dossier, event_id, user=current_user._get_current_object(),
                            reason=form.reason.data, now=now(),
                            expected_version=int(form.version.data) if (form.version.data or "").isdigit() else None)
    except services.IntakeError as exc:
        db.session.rollback()
        if exc.status in (403, 404):
            abort(exc.status)
        if exc.status == 409:
            return _back_with(code, _conflict_message(exc))
        return _render_show(_get_dossier(code), void_errors={event_id: exc.message}, status=422)
    except StaleDataError:
        db.session.rollback()
        return _back_with(code, STALE_MESSAGE, "warning")
    db.session.commit()
    flash("Đã hủy bỏ sự kiện; thời hạn của hồ sơ được tính lại.", "success")
    return redirect(url_for("intake.show_dossier", code=dossier.code), code=303)


@bp.route("/<path:code>/correct", methods=["GET", "POST"])
@roles_required(*DESK)
def correct_dossier(code: str):
    dossier = _get_dossier(code)
    form = CorrectionForm(obj=None if request.method == "POST" else dossier)
    if request.method == "GET":
        form.version.data = str(dossier.version)
        documents, doc_errors = _documents_for_correction(dossier), []
    else:
        documents, doc_errors = _posted_documents()
    valid = request.method == "POST" and form.validate_on_submit()
    valid = request.method == "POST" and _check_applicant_formats(form) and valid  # all errors at once
    if valid and not doc_errors:
        if _stale(dossier, form.version.data):
            return _back_with(dossier.code, STALE_MESSAGE, "warning")
        changes = {}
        for name in CorrectionForm.FIELDS:
            value = getattr(form, name).data
            value = value if value is not None else ""
            if value != getattr(dossier, name):
                changes[name] = value
        chosen = [{"name": d["name"], "kind": d["kind"], "count": d["count"]} for d in documents if d["take"]]
        if chosen != slips.document_rows(dossier):
            changes["documents"] = chosen
        if not changes:
            form.form_errors.append("Không có thông tin nào thay đổi.")
        else:
            try:
                services.correct_dossier(db.session, dossier, changes, user=current_user._get_current_object(),
                                         now=now(), expected_version=int(form.version.data or 0))
            except services.IntakeError as exc:
                db.session.rollback()
                if exc.status in (403, 404):
                    abort(exc.status)
                if exc.status == 409:
                    return _back_with(code, _conflict_message(exc))
                dossier = _get_dossier(code)
                if exc.field and exc.field.startswith("documents"):
                    doc_errors.append(exc.message)
                else:
                    _attach_error(form, exc)
            except StaleDataError:
                db.session.rollback()
                return _back_with(code, STALE_MESSAGE, "warning")
            else:
                db.session.commit()
                flash("Đã sửa thông tin hồ sơ. In lại giấy tiếp nhận (bản in lại) để trao cho người nộp.", "success")
                return redirect(url_for("intake.show_dossier", code=dossier.code), code=303)
    status = 422 if request.method == "POST" and (form.errors or doc_errors) else 200
    return render_template("intake/correct.html", form=form, dossier=dossier, documents=documents,
                           doc_errors=doc_errors, kind_choices=DOCUMENT_KIND_CHOICES), status


def _documents_for_correction(dossier: Dossier) -> list[dict]:
    """The documents received (ticked), then the catalog's others (unticked) to add a forgotten one."""
    rows = [dict(d, take=True) for d in slips.document_rows(dossier)]
    names = {d["name"] for d in rows}
    for d in _catalog_documents(dossier.procedure):
        if d["name"] not in names:
            rows.append(dict(d, take=False))
    return rows


# -- printable slips (forms 01–05) -------------------------------------------------------------


def _warnings(dossier: Dossier) -> list[str]:
    return warnings.dossier_warnings(db.session, dossier)


def _slip(kind: str, dossier: Dossier | None = None, *, received=None, **context):
    """Render form ``kind`` of the set in force at ``received`` (the dossier's reception by default):
    the set's own template when it has one (``intake/slips/2025/apology.html``), else the shared one.
    An administrator's copy in the forms folder wins over both (tthc.templating)."""
    when = received if received is not None else (dossier.received_at if dossier is not None else now())
    form = papers.form_for(kind, when)
    return render_template(
        [f"intake/slips/{form.form_set}/{kind}.html", f"intake/slips/{kind}.html"],
        dossier=dossier, date_line=slips.date_line, now=now(), form=form, form_set=papers.form_set_for(when),
        decree=papers.decree_for(when), **context)


@bp.route("/<path:code>/receipt")
@roles_required(*VIEWERS)
def print_receipt(code: str):
    dossier = _get_dossier(code)
    url = slips.lookup_url(dossier.code)
    appointment, reissued = services.receipt_appointment(db.session, dossier)
    return _slip("receipt", dossier, documents=slips.document_rows(dossier), lookup_url=url,
                 issued_at=reissued.at if reissued is not None else dossier.received_at,
                 appointment=appointment, reissued=reissued, reissue_mark=lifecycle.REISSUE_MARK,
                 number=f"{dossier.register_number:02d}/{dossier.register_year}/TNHS",
                 qr=slips.qr_svg(url), processing_time=slips.processing_time(dossier),
                 correction=services.last_correction(dossier), warnings=_warnings(dossier))


def _event_of(dossier: Dossier, event_type: str, event_id: int | None = None) -> DossierEvent:
    found = [e for e in dossier.events if e.type == event_type and not e.voided and not e.voids_event_id
             and (event_id is None or e.id == event_id)]
    if not found:
        abort(404)
    return found[-1]


@bp.route("/<path:code>/supplement-request/<int:event_id>")
@roles_required(*VIEWERS)
def print_supplement_request(code: str, event_id: int):
    dossier = _get_dossier(code)
    event = _event_of(dossier, "supplement_requested", event_id)
    data = event.data or {}
    return _slip("supplement", dossier, event=event, applicant_name=dossier.applicant_name,
                 applicant_address=dossier.applicant_address, applicant_phone=dossier.applicant_phone,
                 procedure=dossier.procedure, request_summary=dossier.request_summary,
                 documents_to_add=data.get("documents_to_add", ""), reason=event.note,
                 officer=event.user, issued_at=event.at, number=f"{dossier.code}/BS")


@bp.route("/<path:code>/refusal")
@roles_required(*VIEWERS)
def print_refusal(code: str):
    dossier = _get_dossier(code)
    event = _event_of(dossier, "finished")
    if (event.data or {}).get("result", dossier.result) != "refused":
        abort(404)
    return _slip("refusal", dossier, applicant_name=dossier.applicant_name,
                 applicant_address=dossier.applicant_address, applicant_phone=dossier.applicant_phone,
                 procedure=dossier.procedure, request_summary=dossier.request_summary, reason=event.note,
                 officer=event.user, issued_at=event.at, number=f"{dossier.code}/TC", after_appraisal=True)


def _iso_or(value, default: datetime | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) and value else default
    except ValueError:
        return default


@bp.route("/<path:code>/apology")
@roles_required(*VIEWERS)
def print_apology(code: str):
    dossier = _get_dossier(code)
    event = _event_of(dossier, "extended")
    new_deadline = _iso_or((event.data or {}).get("new_deadline"), dossier.deadline_at)
    return _slip("apology", dossier, event=event, new_deadline=new_deadline, issued_at=event.at,
                 original_appointment=_iso_or((event.data or {}).get("previous_appointment")
                                              or (event.data or {}).get("previous_deadline"),
                                              dossier.appointment_at or dossier.original_deadline_at),
                 number=f"{dossier.code}/XL")


STOP_NEXT_STEPS = ("Ông/bà có thể bổ sung, hoàn thiện hồ sơ hoặc nộp lại hồ sơ khi đủ điều kiện theo quy định; "
                   "nếu không đồng ý với việc dừng giải quyết, ông/bà có quyền khiếu nại theo quy định của pháp luật.")


@bp.route("/<path:code>/stop-notice")
@roles_required(*VIEWERS)
def print_stop_notice(code: str):
    """Form 05 of Circular 03/2025 "Thông báo dừng giải quyết hồ sơ", from the standing ``stopped`` event."""
    dossier = _get_dossier(code)
    event = _event_of(dossier, "stopped")
    data = event.data or {}
    rule = dossier.rule or {}
    return _slip("stop", dossier, event=event, legal_ground=data.get("legal_ground", ""),
                 next_steps=data.get("next_steps") or STOP_NEXT_STEPS,
                 procedure_name=rule.get("procedure_name") or (dossier.procedure.name if dossier.procedure else ""),
                 issued_at=event.at, number=f"{dossier.code}/DGQ")


@bp.route("/<path:code>/control-slip")
@roles_required(*VIEWERS)
def print_control_slip(code: str):
    dossier = _get_dossier(code)
    coordinating = []
    for h in dossier.handovers:
        if h.to_unit and h.to_unit.id != dossier.unit_id and h.to_unit.name not in coordinating:
            coordinating.append(h.to_unit.name)
    standing = [e for e in dossier.events if not e.voided and not e.voids_event_id]
    finished = next((e for e in standing if e.type == "finished"), None)
    handed = next((e for e in standing if e.type == "handed_over"), None)
    return _slip("control", dossier, handovers=list(dossier.handovers), coordinating=coordinating,
                 finished_event=finished, handed_event=handed,
                 issued_at=dossier.received_at,
                 classification_labels=CLASSIFICATION_LABELS, number=f"{dossier.code}/KS")


# -- desk contacts (forms 02 and 03 before a dossier exists) -----------------------------------


@bp.route("/desk/")
@roles_required(*DESK)
def list_desk_contacts():
    query = select(DeskContact).order_by(DeskContact.created_at.desc(), DeskContact.id.desc())
    kind = request.args.get("kind")
    if kind in ("guidance", "refusal"):
        query = query.where(DeskContact.kind == kind)
    q = (request.args.get("q") or "").strip()
    contacts = db.session.scalars(query).all() if not q else [
        c for c in db.session.scalars(query).all() if fold(q) in fold(c.applicant_name)]
    page = parse_page(request.args.get("page"))
    per_page = current_app.config.get("PER_PAGE", 25)
    total = len(contacts)
    pages = max(1, math.ceil(total / per_page)) if total else 0
    pager = SimpleNamespace(page=page, pages=pages, total=total, has_prev=page > 1, has_next=page < pages,
                            prev_num=page - 1, next_num=page + 1)
    return render_template("intake/desk_list.html", contacts=contacts[(page - 1) * per_page: page * per_page],
                           pager=pager, args={k: v for k, v in request.args.items() if k != "page" and v},
                           kind=kind, q=q)


@bp.route("/desk/new", methods=["GET", "POST"])
@roles_required("reception")
def new_desk_contact():
    form = DeskContactForm()
    if request.method == "GET" and request.args.get("kind") in ("guidance", "refusal"):
        form.kind.data = request.args["kind"]
    form.procedure_id.choices = options([("", "— Chọn thủ tục hành chính —")] + [
        (str(p.id), _procedure_label(p)) for p in _active_procedures()])
    if form.validate_on_submit():
        try:
            contact = services.record_desk_contact(
                db.session, kind=form.kind.data, applicant_name=form.applicant_name.data,
                procedure=_get_procedure(form.procedure_id.data), reason=form.reason.data,
                officer=current_user._get_current_object(), now=now(),
                applicant_phone=form.applicant_phone.data or "", applicant_address=form.applicant_address.data or "",
                request_summary=form.request_summary.data or "", documents_to_add=form.documents_to_add.data or "",
            )
        except services.IntakeError as exc:
            db.session.rollback()
            _attach_error(form, exc, {"procedure": "procedure_id"})
        else:
            db.session.commit()
            flash("Đã ghi nhận. In phiếu để trao cho người đến liên hệ.", "success")
            return redirect(url_for("intake.print_desk_contact", contact_id=contact.id), code=303)
    status = 422 if request.method == "POST" and (form.errors or form.form_errors) else 200
    return render_template("intake/desk_form.html", form=form), status


@bp.route("/desk/<int:contact_id>/slip")
@roles_required(*DESK)
def print_desk_contact(contact_id: int):
    contact = db.session.get(DeskContact, contact_id) or abort(404)
    common = dict(applicant_name=contact.applicant_name, applicant_address=contact.applicant_address,
                  applicant_phone=contact.applicant_phone, procedure=contact.procedure,
                  request_summary=contact.request_summary, reason=contact.reason, officer=contact.officer,
                  issued_at=contact.created_at, contact=contact)
    if contact.kind == "refusal":
        return _slip("refusal", None, received=contact.created_at, number=f"{contact.id:04d}/TC",
                     after_appraisal=False, **common)
    return _slip("supplement", None, received=contact.created_at, documents_to_add=contact.documents_to_add,
                 number=f"{contact.id:04d}/HD", **common)
