"""The JSON API under ``/api/v1`` (issue 4; conventions of domain.md §8).

Every request but the OpenAPI document authenticates with a bearer token
(``Authorization: Bearer <token>``, issued by ``flask users token USERNAME``);
the blueprint is exempt from the global login and from CSRF. Errors are always
``{"error": {"code", "message", "field"}}``: 400 malformed JSON or query
parameters, 401, 403, 404, 405, 409 illegal transition or stale version, 422
validation. Endpoints parse input and call ``intake.services``; they commit.

The OpenAPI document (``intake/openapi.py``) describes exactly what is written
here; ``tests/web/test_api.py`` holds real responses against it.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request, url_for
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from deadlines.dashboard import configured_scheme as report_scheme
from deadlines.store import calendar_for
from intake import services, warnings
from intake.openapi import build_openapi
from intake.services import IntakeError
from tthc.auth import user_from_bearer
from tthc.clock import from_iso, now as clock_now, to_iso
from tthc.errors import api_error
from tthc.extensions import db
from tthc.models import STATUS_LABELS, IdempotencyKey, Procedure, Unit
from tthc.reports import exports as report_exports
from tthc.reports import periods
from tthc.reports import queries as report_queries
from tthc.text import find_forbidden, has_forbidden_chars, like_pattern, mask

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EXTERNAL_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_INT32 = 2**31 - 1
_PUBLIC_ENDPOINTS = {"api.openapi"}


class BadRequest(Exception):
    """Malformed request (400) or invalid field (422), answered as a JSON error."""

    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


@bp.before_request
def authenticate():
    if request.endpoint in _PUBLIC_ENDPOINTS:
        return None
    user = user_from_bearer()
    if user is None:
        response = api_error(401, "Thiếu hoặc sai mã truy cập (Authorization: Bearer <token>).")
        response.headers["WWW-Authenticate"] = 'Bearer realm="tthc"'
        return response
    g.api_user = user
    return None


@bp.after_app_request
def allow_header_on_405(response):
    """A 405 under /api/ names the allowed methods (RFC 9110 §15.5.6): the app's JSON error
    handler builds a new response and would otherwise drop werkzeug's Allow header."""
    if response.status_code == 405 and request.path.startswith("/api/") and "Allow" not in response.headers:
        from flask import current_app
        from werkzeug.exceptions import MethodNotAllowed

        try:
            current_app.url_map.bind_to_environ(request.environ).match(method=request.method)
        except MethodNotAllowed as exc:
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods or []))
        except Exception:  # noqa: BLE001 - only decorating an error response
            pass
    return response


@bp.errorhandler(IntakeError)
def intake_error(exc: IntakeError):
    db.session.rollback()
    return api_error(exc.status, exc.message, exc.field, details=exc.details)


@bp.errorhandler(BadRequest)
def bad_request(exc: BadRequest):
    db.session.rollback()
    return api_error(exc.status, exc.message, exc.field)


# -- parsing -------------------------------------------------------------------------


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest(400, "Nội dung gửi lên phải là JSON hợp lệ (Content-Type: application/json).")
    if not isinstance(data, dict):
        raise BadRequest(400, "Nội dung gửi lên phải là một đối tượng JSON.")
    bad = find_forbidden(data)
    if bad is not None:
        raise BadRequest(422, f"{bad}: chứa ký tự không hợp lệ (ký tự điều khiển hoặc ký tự không mã hóa được "
                              "thành UTF-8).", bad)
    return data


def _body_int(data: dict, key: str, *, required: bool = False) -> int | None:
    value = data.get(key)
    if value is None:
        if required:
            raise BadRequest(422, f"Thiếu trường {key}.", key)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(422, f"{key} phải là số nguyên.", key)
    return value


def _body_str(data: dict, key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequest(422, f"{key} phải là chuỗi ký tự.", key)
    return value


def parse_datetime(value: Any, field: str, status: int = 422) -> datetime | None:
    """ISO 8601 with or without offset (``YYYY-MM-DDTHH:MM`` is enough) → naive local time."""
    if value is None:
        return None
    if not isinstance(value, str) or not DATETIME_RE.fullmatch(value):
        raise BadRequest(status, f"{field}: ngày giờ theo ISO 8601, ví dụ 2026-03-09T09:15 hoặc "
                                 "2026-03-09T09:15:00+07:00.", field)
    try:
        return from_iso(value)
    except (ValueError, OverflowError):
        raise BadRequest(status, f"{field}: ngày giờ không tồn tại.", field) from None


def _query_int(key: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.args.get(key)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]+", raw):
        raise BadRequest(400, f"Tham số {key} phải là số nguyên.", key)
    value = int(raw) if len(raw) <= 12 else high + 1
    if not low <= value <= high:
        raise BadRequest(400, f"Tham số {key} phải từ {low} đến {high}.", key)
    return value


def _query_date(key: str) -> date | None:
    raw = request.args.get(key)
    if raw is None:
        return None
    if not DATE_RE.fullmatch(raw):
        raise BadRequest(400, f"Tham số {key} có dạng YYYY-MM-DD.", key)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(400, f"Tham số {key}: ngày không tồn tại.", key) from None


def _query_bool(key: str) -> bool | None:
    raw = request.args.get(key)
    if raw is None:
        return None
    if raw == "true":
        return True
    if raw == "false":
        return False
    raise BadRequest(400, f"Tham số {key} là true hoặc false.", key)


def _query_choice(key: str, choices) -> str | None:
    raw = request.args.get(key)
    if raw is None:
        return None
    if raw not in choices:
        raise BadRequest(400, f"Tham số {key} là một trong: {', '.join(choices)}.", key)
    return raw


def _query_text(key: str, max_len: int = 100) -> str | None:
    raw = request.args.get(key)
    if raw is None or raw.strip() == "":
        return None
    if len(raw) > max_len or has_forbidden_chars(raw):
        raise BadRequest(400, f"Tham số {key} không hợp lệ.", key)
    return raw


def _page_args(default_per_page: int) -> tuple[int, int]:
    page = _query_int("page", 1, 1, MAX_PAGE)
    per_page = _query_int("per_page", default_per_page, 1, MAX_PER_PAGE)
    return page, per_page


def _listing(items: list, total: int, page: int, per_page: int):
    return jsonify({"items": items, "total": total, "page": page, "per_page": per_page})


# -- serialisation -------------------------------------------------------------------


def procedure_json(p: Procedure, at: datetime | None = None) -> dict[str, Any]:
    """The procedure with the rule in force at ``at`` (now by default): a decided rule version
    replaces the committed time from its effective date (domain.md §10)."""
    rule = p.rule_at(at or clock_now())
    return {
        "id": p.id,
        "national_code": p.national_code,
        "name": p.name,
        "field": p.field,
        "unit_id": p.unit_id,
        "limit_unit": rule.limit_unit,
        "limit_amount": rule.limit_amount,
        "statutory_unit": rule.statutory_unit,
        "statutory_amount": rule.statutory_amount,
        "committed_unit": rule.committed_unit,
        "committed_amount": rule.committed_amount,
        "supplement_rule": rule.supplement_rule,
        "documents": [{"name": d.name, "kind": d.kind, "count": d.count} for d in p.documents],
    }


def unit_json(u: Unit) -> dict[str, Any]:
    return {"id": u.id, "code": u.code, "name": u.name}


def dossier_json(d, user, now: datetime, cal, *, with_events: bool = True) -> dict[str, Any]:
    full = services.sees_personal_data(user)
    rule = d.rule or {}
    body: dict[str, Any] = {
        "code": d.code,
        "external_code": bool(d.external_code),
        "reception_point": d.reception_point or "",
        "status": d.status,
        "status_label": STATUS_LABELS.get(d.status, d.status),
        "procedure_id": d.procedure_id,
        "procedure_name": rule.get("procedure_name") or "",
        "national_code": rule.get("national_code"),
        "field": d.field,
        "limit_unit": rule.get("limit_unit"),
        "limit_amount": rule.get("limit_amount") if rule.get("limit_unit") != "none" else None,
        "unit_id": d.unit_id,
        "current_unit_id": d.current_unit_id,
        "channel": d.channel,
        "applicant": {
            "kind": d.applicant_kind,
            "name": d.applicant_name,
            "id_number": d.applicant_id_number if full else mask(d.applicant_id_number),
            "phone": d.applicant_phone if full else mask(d.applicant_phone),
            "email": d.applicant_email or "",
            "address": d.applicant_address or "",
        },
        "request_summary": d.request_summary or "",
        "sets": d.sets,
        "documents": [{"name": x.get("name", ""), "kind": x.get("kind", "original"), "count": x.get("count", 1)}
                      for x in (d.documents or [])],
        "register_year": d.register_year,
        "register_number": d.register_number,
        "submitted_at": to_iso(d.submitted_at),
        "received_at": to_iso(d.received_at),
        "forwarding_deadline": to_iso(d.forwarding_deadline_at),
        "deadline": to_iso(d.deadline_at),
        "original_deadline": to_iso(d.original_deadline_at),
        "appointment_at": to_iso(d.appointment_at),
        "forwarded_at": to_iso(d.forwarded_at),
        "finished_at": to_iso(d.finished_at),
        "handed_over_at": to_iso(d.handed_over_at),
        "result": d.result,
        "classification": d.classification,
        "extended": bool(d.extended),
        "flags": services.flags_for(d, now, cal),
        "warnings": warnings.dossier_warnings(db.session, d),
        "version": d.version,
    }
    if with_events:
        body["events"] = [
            {
                "id": e.id,
                "type": e.type,
                "at": to_iso(e.at),
                "recorded_at": to_iso(e.recorded_at),
                "user": e.user.username if e.user is not None else None,
                "unit_id": e.unit_id,
                "note": e.note or "",
                "voided": bool(e.voided),
                "voids_event_id": e.voids_event_id,
                "data": {k: v for k, v in (e.data or {}).items() if k in EVENT_DATA_KEYS},
            }
            for e in sorted(d.events, key=lambda e: e.seq)
        ]
    return body


EVENT_DATA_KEYS = ("result", "new_deadline", "previous_deadline", "late_apology", "receiver_name",
                   "documents_to_add", "legal_ground", "next_steps", "channel", "fields", "voided_type")


def _dossier_response(dossier, status: int = 200, *, commit: bool = False):
    """The dossier as JSON. With ``commit``, the body is built from the flushed state and the
    session committed afterwards (saves reloading every expired attribute after the commit)."""
    user = g.api_user
    response = jsonify(dossier_json(dossier, user, clock_now(), calendar_for(db.session)))
    if commit:
        db.session.commit()
    response.status_code = status
    if status == 201:
        response.headers["Location"] = url_for("api.get_dossier", code=dossier.code)
    return response


# -- endpoints -----------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API (public: it holds no data)."""
    return jsonify(build_openapi())


@bp.get("/procedures")
def list_procedures():
    page, per_page = _page_args(MAX_PER_PAGE)
    q = _query_text("q")
    stmt = select(Procedure).where(Procedure.active.is_(True))
    if q:
        pattern = like_pattern(q)
        stmt = stmt.where(Procedure.name_search.like(pattern, escape="\\")
                          | func.lower(func.coalesce(Procedure.national_code, "")).like(pattern, escape="\\"))
    field = _query_text("field", 255)
    if field:
        stmt = stmt.where(Procedure.field == field)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = []
    if (page - 1) * per_page < total:
        items = db.session.scalars(stmt.order_by(Procedure.id).offset((page - 1) * per_page).limit(per_page)).all()
    return _listing([procedure_json(p) for p in items], total, page, per_page)


@bp.get("/units")
def list_units():
    page, per_page = _page_args(MAX_PER_PAGE)
    stmt = select(Unit).where(Unit.active.is_(True))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = []
    if (page - 1) * per_page < total:
        items = db.session.scalars(stmt.order_by(Unit.id).offset((page - 1) * per_page).limit(per_page)).all()
    return _listing([unit_json(u) for u in items], total, page, per_page)


IDEMPOTENCY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
IDEMPOTENCY_HOURS = 24


def _idempotent_start(data: dict):
    """With an ``Idempotency-Key`` header: the stored response to replay, or a claimed key row.

    The row is inserted (flushed) before any work, in the request's transaction: a concurrent
    request with the same token and key waits on the unique index (PostgreSQL) or the write
    lock (SQLite), and then finds the first one's committed response."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None, None
    if not IDEMPOTENCY_RE.fullmatch(key):
        raise BadRequest(400, "Idempotency-Key gồm 1–255 ký tự ASCII in được, không có dấu cách.", "Idempotency-Key")
    token = g.api_token
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=True).encode()).hexdigest()
    at = clock_now()
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < at - timedelta(hours=IDEMPOTENCY_HOURS)))
    for _ in range(2):
        row = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.token_id == token.id,
                                                             IdempotencyKey.key == key))
        if row is not None:
            if row.request_hash != digest:
                raise BadRequest(422, "Idempotency-Key này đã được dùng cho một yêu cầu có nội dung khác.",
                                 "Idempotency-Key")
            if row.response_status is None:
                raise BadRequest(409, "Yêu cầu với Idempotency-Key này đang được xử lý; thử lại sau.",
                                 "Idempotency-Key")
            response = current_app.response_class(row.body, status=row.response_status,
                                                  mimetype="application/json")
            if row.location:
                response.headers["Location"] = row.location
            db.session.rollback()
            return response, None
        row = IdempotencyKey(token_id=token.id, key=key, request_hash=digest, created_at=at)
        try:
            with db.session.begin_nested():  # a savepoint: a lost race leaves the transaction usable
                db.session.add(row)
            return None, row
        except IntegrityError:  # another worker claimed it first and has committed: replay its answer
            pass
    raise BadRequest(409, "Yêu cầu với Idempotency-Key này đang được xử lý; thử lại sau.", "Idempotency-Key")


SUMMARY_ROLES = ("supervisor", "admin", "handler")


def summary_counts(row) -> dict[str, Any]:
    """One row of the monthly report (tthc.reports.queries.SummaryRow) as the API writes it; the
    on-time rate is a percentage with two decimals, null when nothing was finished (domain.md §7)."""
    rate = row.on_time_rate
    return {"received": row.received, "carried_over": row.carried, "new_online": row.online,
            "new_direct": row.direct, "new_postal": row.postal, "finished": row.finished, "early": row.early,
            "on_time": row.on_time, "late": row.late, "in_progress": row.in_progress, "within_time": row.within,
            "overdue": row.overdue, "closed_other": row.returned,
            "on_time_rate": None if rate is None else round(rate * 100, 2)}


@bp.get("/summary")
def get_summary():
    """``GET /api/v1/summary?period=YYYY-MM[&by=field|procedure|unit][&unit=ID]``: the monthly report's
    rows ("Tình hình, kết quả giải quyết TTHC"), computed by the report's own function
    (tthc.reports.queries.summary_rows), so they equal the report and the dashboard's period table.
    Supervisors and administrators see every unit; a handler their own unit only."""
    user = g.api_user
    if user.role not in SUMMARY_ROLES:
        return api_error(403, "Tài khoản này không xem được số liệu tổng hợp.")
    text = (request.args.get("period") or "").strip()
    if not text:
        raise BadRequest(400, "Thiếu kỳ báo cáo: period=YYYY-MM.", "period")
    try:
        period = periods.parse_month(text, report_scheme())
    except periods.PeriodError:
        raise BadRequest(400, "Kỳ báo cáo có dạng YYYY-MM (ví dụ 2026-03).", "period") from None
    by = request.args.get("by") or "field"
    if by not in report_queries.DIMENSIONS:
        raise BadRequest(422, "by là một trong: field, procedure, unit.", "by")
    unit_id = _query_int("unit", None, 1, 2**31 - 1)
    if unit_id is not None and db.session.get(Unit, unit_id) is None:
        raise BadRequest(422, "Không tìm thấy đơn vị.", "unit")
    if user.role == "handler":
        if user.unit_id is None or (unit_id is not None and unit_id != user.unit_id):
            return api_error(403, "Chuyên viên chỉ xem được số liệu của đơn vị mình.", "unit")
        unit_id = user.unit_id
    rows = report_queries.summary_rows(db.session, period, by=by, unit_id=unit_id, now=clock_now(),
                                       state_at=report_exports.hooks().state_at(db.session))
    return {
        "period": {"from": period.first_day.isoformat(), "to": period.last_day.isoformat()},
        "rows": [{"key": r.key, "label": r.label, **summary_counts(r)} for r in rows],
        "total": summary_counts(report_queries.total_row(rows)),
    }


@bp.post("/dossiers")
def create_dossier():
    data = _body()
    replay, claim = _idempotent_start(data)
    if replay is not None:
        return replay
    response = _create_dossier(data)
    if claim is not None:
        claim.response_status, claim.body = response.status_code, response.get_data(as_text=True)
        claim.location = response.headers.get("Location", "")
    db.session.commit()
    return response


def _create_dossier(data: dict):
    procedure_id = _body_int(data, "procedure_id", required=True)
    procedure = db.session.get(Procedure, procedure_id) if 0 < procedure_id <= _INT32 else None
    if procedure is None:
        raise BadRequest(422, "Không tìm thấy thủ tục.", "procedure_id")
    applicant = data.get("applicant")
    if not isinstance(applicant, dict):
        raise BadRequest(422, "applicant phải là một đối tượng (kind, name, id_number, phone, email, address).",
                         "applicant")
    channel = data.get("channel")
    if not isinstance(channel, str):
        raise BadRequest(422, "channel là direct, online hoặc postal.", "channel")
    documents = data.get("documents")
    if documents is not None and not isinstance(documents, list):
        raise BadRequest(422, "documents phải là một danh sách.", "documents")
    code = _body_str(data, "code")
    if code is not None and not EXTERNAL_CODE_RE.fullmatch(code):
        raise BadRequest(422, "code: mã hồ sơ từ hệ thống khác gồm chữ, số và . - _ (tối đa 64 ký tự), hoặc bỏ trống "
                              "trường này để hệ thống tự cấp mã.", "code")
    sets = data.get("sets", 1)
    if sets is None:
        sets = 1
    dossier = services.receive_dossier(
        db.session,
        procedure=procedure,
        applicant=applicant,
        channel=channel,
        received_by=g.api_user,
        now=clock_now(),
        received_at=parse_datetime(data.get("received_at"), "received_at"),
        submitted_at=parse_datetime(data.get("submitted_at"), "submitted_at"),
        sets=sets,
        documents=documents,
        code=code,
        reception_point=_body_str(data, "reception_point") or "",
        request_summary=_body_str(data, "request_summary") or "",
        late_entry_reason=_body_str(data, "late_entry_reason") or "",
    )
    return _dossier_response(dossier, 201)  # the caller commits, with the idempotency record


@bp.get("/dossiers")
def list_dossiers():
    page, per_page = _page_args(25)
    status = _query_choice("status", tuple(STATUS_LABELS))
    unit_id = _query_int("unit", None, 1, _INT32)
    procedure_id = _query_int("procedure", None, 1, _INT32)
    channel = _query_choice("channel", services.CHANNELS)
    date_from, date_to = _query_date("from"), _query_date("to")
    overdue, due_soon = _query_bool("overdue"), _query_bool("due_soon")
    q = _query_text("q")
    now = clock_now()
    items, total = services.search_dossiers(
        db.session, g.api_user, q=q, status=status, unit_id=unit_id, procedure_id=procedure_id, channel=channel,
        date_from=date_from, date_to=date_to, overdue=overdue, due_soon=due_soon, now=now, page=page,
        per_page=per_page,
    )
    cal = calendar_for(db.session)
    # Counted up to a cap (issue 13): beyond it "total" is the cap and "total_exact" false.
    cap = max(services.COUNT_CAP, page * per_page)
    body = {"items": [dossier_json(d, g.api_user, now, cal, with_events=False) for d in items],
            "total": min(total, cap), "total_exact": total <= cap, "page": page, "per_page": per_page}
    return jsonify(body)


@bp.get("/dossiers/<code>")
def get_dossier(code: str):
    dossier = services.get_dossier_for(db.session, code, g.api_user)
    return _dossier_response(dossier)


@bp.post("/dossiers/<code>/events")
def create_event(code: str):
    data = _body()
    event_type = data.get("type")
    if not isinstance(event_type, str) or event_type not in services.EVENT_TYPES:
        raise BadRequest(422, f"type là một trong: {', '.join(services.EVENT_TYPES)}.", "type")
    version = _body_int(data, "version")
    unit_id = _body_int(data, "unit_id")
    note = _body_str(data, "note") or ""
    result = _body_str(data, "result")
    at = parse_datetime(data.get("at"), "at")
    new_deadline = parse_datetime(data.get("new_deadline"), "new_deadline")
    extra = {}
    if data.get("documents_to_add") is not None:
        documents = data["documents_to_add"]
        if not isinstance(documents, list) or not all(isinstance(x, str) for x in documents):
            raise BadRequest(422, "documents_to_add là danh sách tên giấy tờ (chuỗi ký tự).", "documents_to_add")
        extra["documents_to_add"] = documents
    for key in ("legal_ground", "next_steps"):  # stopped: form 05's legal ground and what the applicant may do
        value = _body_str(data, key)
        if value:
            extra[key] = value
    dossier = services.get_dossier_for(db.session, code, g.api_user)
    services.record_event(
        db.session, dossier, event_type, user=g.api_user, now=clock_now(), at=at, note=note, unit=unit_id,
        new_deadline=new_deadline, result=result, expected_version=version, data=extra or None,
    )
    return _dossier_response(dossier, 201, commit=True)
