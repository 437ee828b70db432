"""The reception desk's domain services: validate, check permissions, append events.

Views, the JSON API and CLI commands parse input and call these functions; the
functions check role, state and data (domain.md §4, §6, §8), append events and
call the one writer (``deadlines.store.write_life``), which stores everything the
events imply (status, unit, hand-over rows, deadlines, appointment, flags), then
flush. The caller commits (or rolls back on :class:`IntakeError`).

Time is always passed in (``now``): services never read the wall clock.

The state machine is ``deadlines.lifecycle.TRANSITIONS`` (domain.md §8), the single
source for :func:`record_event`, :func:`allowed_events` (the screens' action
buttons) and the replay. Handlers act only on dossiers held by their unit; an
extension and a stop need the unit head (or a supervisor).

Administrators read everything and act on nothing (the table gives them no event).

Decisions where the domain text leaves a choice (documented in the README):

* Permissions: a dossier a user may not see answers 404 (its existence is not
  leaked); a handler who sees a dossier (it was received for their unit) that is
  currently at another unit gets 403 when acting on it.
* ``overdue`` / ``due_soon`` / ``apology_missing`` concern dossiers whose clock is
  running (received, in progress). A dossier awaiting the applicant's supplement
  is not flagged: its deadline is recomputed when the supplement arrives, and the
  reports count it as within time (domain.md §8).
* An extension recorded later than 1 working day before the deadline (Decree
  61/2018, Art. 12(2)(c); domain.md §4.6) is accepted, because refusing it would
  leave the applicant without any apology, but it is marked ``late_apology`` in the
  event's data, named in the event's note of the audit log, and still counts as
  the dossier's one extension.
* A supplement request, like a return, withdrawal, stop or cancellation, needs a
  note: the applicant must be told what to add and why (form 02), or the reason
  and legal ground of the stop (form 05 of 2025).
* Voiding is allowed for any event but ``received`` (use ``cancelled``), a voiding
  event and a correction, provided the remaining events still follow the state
  machine; status, hand-over rows and deadlines are then re-derived by replaying
  the remaining events.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Iterable

from flask import current_app, has_app_context
from sqlalchemy import false, func, not_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from deadlines import lifecycle
from deadlines.lifecycle import (
    CHANNELS,
    EVENT_LABELS,
    OPEN_STATUSES,  # noqa: F401  (re-exported: callers read the vocabulary here too)
    RUNNING_STATUSES,  # noqa: F401
    TRANSITIONS,
    LifecycleError,
)
from deadlines.scan import sql_condition
from deadlines.store import calendar_for, replay_dossier, write_life
from deadlines.workdays import WorkCalendar
from intake import codes
from tthc import audit, search
from tthc.models import (
    DOCUMENT_KIND_LABELS,
    DeskContact,
    Dossier,
    DossierEvent,
    Procedure,
    Unit,
    User,
)
from tthc.text import fold, has_forbidden_chars, like_pattern
from tthc import text as text_rules

#: The events a user records (all but ``received``, which receive_dossier records), in button order.
EVENT_TYPES = tuple(t for t in lifecycle.EVENT_TYPES if t in TRANSITIONS)

APPLICANT_KINDS = ("individual", "organisation")
RESULTS = ("approved", "refused")
DESK_CONTACT_KINDS = ("guidance", "refusal")

STALE_MESSAGE = "Hồ sơ đã được người khác cập nhật. Vui lòng tải lại hồ sơ và thực hiện lại thao tác."

MAX_SETS = 99
MAX_DOCUMENTS = 100
MAX_DOCUMENT_COUNT = 99
MAX_TEXT = 2000
CORRECTABLE_FIELDS = ("applicant_kind", "applicant_name", "applicant_id_number", "applicant_phone",
                      "applicant_email", "applicant_address", "sets", "documents", "request_summary")

_CCCD = re.compile(r"^\d{12}$")
_PASSPORT = re.compile(r"^[A-Z]\d{7,8}$")
_TAX_CODE = re.compile(r"^(\d{10})(?:-?(\d{3}))?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EXTERNAL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class IntakeError(Exception):
    """A refused operation. ``message`` is Vietnamese, for the user; ``field`` names the input at fault."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 details: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        # Every error found at once ({"field", "message"} each, the first being ``field``/``message``):
        # the API's error object carries them as ``details`` (issue 16).
        self.details = details

    def __repr__(self) -> str:
        return f"IntakeError({self.status}, {self.message!r}, field={self.field!r})"


# -- validation helpers --------------------------------------------------------------


def _text(value: Any, field: str, *, required: bool = False, max_len: int = 255, label: str = "") -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise IntakeError(422, f"{label or field} phải là chuỗi ký tự.", field)
    if len(value) > max_len:  # measured before stripping, as the API schema's maxLength is
        raise IntakeError(422, f"{label or field} dài quá {max_len} ký tự.", field)
    value = value.strip()
    if required and not value:
        what = label[:1].lower() + label[1:] if label else field  # "Nhập tên người nộp.", not "Nhập Tên ..."
        raise IntakeError(422, f"Nhập {what}.", field)
    if "\x00" in value:
        raise IntakeError(422, f"{label or field} chứa ký tự không hợp lệ.", field)
    return value


def _int(value: Any, field: str, *, low: int, high: int, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise IntakeError(422, f"{label} phải là số nguyên.", field)
    if not low <= value <= high:
        raise IntakeError(422, f"{label} phải từ {low} đến {high}.", field)
    return value


def normalise_phone(value: Any, field: str = "applicant.phone") -> str:
    """Vietnamese phone: 10-digit mobile (0xxxxxxxxx) or 11-digit landline (02xxxxxxxxx); +84 allowed."""
    text = _text(value, field, max_len=32, label="Số điện thoại")
    if not text:
        return ""
    compact = re.sub(r"[\s.\-()]", "", text)
    if compact.startswith("+84"):
        compact = "0" + compact[3:]
    elif compact.startswith("84") and len(compact) in (11, 12):
        compact = "0" + compact[2:]
    if not compact.isdigit() or not compact.startswith("0") or not (
        len(compact) == 10 or (len(compact) == 11 and compact.startswith("02"))
    ):
        raise IntakeError(422, "Số điện thoại không hợp lệ: 10 chữ số bắt đầu bằng 0 (máy bàn 11 chữ số bắt đầu "
                               "bằng 02), có thể viết +84.", field)
    return compact


def normalise_id_number(kind: str, value: Any, field: str = "applicant.id_number") -> str:
    """Individuals: 12-digit citizen ID (CCCD) or passport (a letter and 7–8 digits);
    organisations: tax code of 10 or 13 digits, stored as ``0123456789`` or ``0123456789-001``."""
    text = _text(value, field, max_len=32, label="Số giấy tờ")
    compact = re.sub(r"\s", "", text).upper()
    if not compact:
        raise IntakeError(422, "Nhập số CCCD/hộ chiếu (cá nhân) hoặc mã số thuế (tổ chức).", field)
    if kind == "organisation":
        match = _TAX_CODE.fullmatch(compact)
        if not match:
            raise IntakeError(422, "Mã số thuế gồm 10 hoặc 13 chữ số (ví dụ 0123456789 hoặc 0123456789-001).", field)
        return match.group(1) + (f"-{match.group(2)}" if match.group(2) else "")
    if _CCCD.fullmatch(compact) or _PASSPORT.fullmatch(compact):
        return compact
    raise IntakeError(422, "Số CCCD gồm 12 chữ số; số hộ chiếu gồm 1 chữ cái và 7–8 chữ số (ví dụ C1234567).", field)


def normalise_email(value: Any, field: str = "applicant.email") -> str:
    text = _text(value, field, max_len=255, label="Thư điện tử")
    if text and not _EMAIL.match(text):
        raise IntakeError(422, "Địa chỉ thư điện tử không hợp lệ.", field)
    return text


def validate_applicant(applicant: Any) -> dict[str, str]:
    """The applicant's fields, normalised; raises IntakeError(422) naming the field at fault."""
    if not isinstance(applicant, dict):
        raise IntakeError(422, "Thiếu thông tin người nộp hồ sơ.", "applicant")
    kind = applicant.get("kind")
    kind = "individual" if kind is None else kind
    if not isinstance(kind, str) or kind not in APPLICANT_KINDS:
        raise IntakeError(422, "Loại người nộp là cá nhân (individual) hoặc tổ chức (organisation).",
                          "applicant.kind")
    checks = {
        "name": lambda: _text(applicant.get("name"), "applicant.name", required=True, label="Tên người nộp"),
        "id_number": lambda: normalise_id_number(kind, applicant.get("id_number")),
        "phone": lambda: normalise_phone(applicant.get("phone")),
        "email": lambda: normalise_email(applicant.get("email")),
        "address": lambda: _text(applicant.get("address"), "applicant.address", max_len=MAX_TEXT, label="Địa chỉ"),
    }
    person, errors = {"kind": kind}, []
    for key, check in checks.items():  # every field checked, so that all their errors are told at once
        try:
            person[key] = check()
        except IntakeError as exc:
            errors.append(exc)
    if errors:
        first = errors[0]
        raise IntakeError(422, first.message, first.field,
                          details=[{"field": e.field, "message": e.message} for e in errors] if len(errors) > 1
                          else None)
    return person


def validate_documents(documents: Any, field: str = "documents") -> list[dict[str, Any]]:
    if not isinstance(documents, list):
        raise IntakeError(422, "Danh sách giấy tờ không hợp lệ.", field)
    if len(documents) > MAX_DOCUMENTS:
        raise IntakeError(422, f"Tối đa {MAX_DOCUMENTS} giấy tờ.", field)
    result = []
    for i, doc in enumerate(documents):
        where = f"{field}[{i}]"
        if not isinstance(doc, dict):
            raise IntakeError(422, "Mỗi giấy tờ gồm tên, loại bản và số lượng.", where)
        kind = doc.get("kind")
        kind = "original" if kind is None else kind
        if not isinstance(kind, str) or kind not in DOCUMENT_KIND_LABELS:
            raise IntakeError(422, "Loại bản là original, copy hoặc original_or_copy.", f"{where}.kind")
        count = doc.get("count", 1)
        result.append({
            "name": _text(doc.get("name"), f"{where}.name", required=True, max_len=MAX_TEXT, label="Tên giấy tờ"),
            "kind": kind,
            "count": _int(count, f"{where}.count", low=1, high=MAX_DOCUMENT_COUNT, label="Số lượng"),
        })
    return result


MAX_DOCUMENTS_TO_ADD = 50


def documents_to_add_list(value: Any, catalog_names: Iterable[str] = (), field: str = "documents_to_add") -> list[str]:
    """The documents a supplement request (form 02) asks for, as a list of names so they can be counted
    (domain.md §10): a name matching one of the procedure's catalog documents (ignoring case, diacritics
    and spacing) is stored as the catalog spells it, any other as typed. Duplicates are dropped.
    Raises IntakeError(422) on anything but a non-empty list of non-empty strings."""
    if not isinstance(value, list) or not value:
        raise IntakeError(422, "Liệt kê giấy tờ cần bổ sung, hoàn thiện (danh sách tên giấy tờ).", field)
    if len(value) > MAX_DOCUMENTS_TO_ADD:
        raise IntakeError(422, f"Tối đa {MAX_DOCUMENTS_TO_ADD} giấy tờ cần bổ sung.", field)
    catalog = {" ".join(fold(name).split()): name for name in catalog_names}
    names: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        name = " ".join(_text(item, f"{field}[{i}]", required=True, max_len=MAX_TEXT, label="Tên giấy tờ").split())
        key = " ".join(fold(name).split())
        if key in seen:
            continue
        seen.add(key)
        names.append(catalog.get(key, name))
    return names


def _calendar_bounds(cal: WorkCalendar) -> tuple[datetime, datetime]:
    return datetime(cal.first_year, 1, 1), datetime(cal.last_year - 1, 12, 31, 23, 59, 59)


def _check_datetime(value: Any, field: str, cal: WorkCalendar, label: str) -> datetime:
    if not isinstance(value, datetime):
        raise IntakeError(422, f"{label} không hợp lệ.", field)
    if value.tzinfo is not None:
        raise IntakeError(422, f"{label} phải là giờ địa phương.", field)
    low, high = _calendar_bounds(cal)
    if not low <= value <= high:
        raise IntakeError(422, f"{label} nằm ngoài phạm vi lịch làm việc ({low.year}–{high.year}).", field)
    return value.replace(microsecond=0)


def outside_calendar_message(cal: WorkCalendar, what: str = "Hạn giải quyết") -> str:
    """Why a deadline cannot be computed, in Vietnamese: it falls outside the working-day calendar's
    years (the pure modules' ValueError speaks English, for developers)."""
    return (f"{what} rơi ra ngoài lịch làm việc của hệ thống (lịch có từ năm {cal.first_year} đến hết năm "
            f"{cal.last_year}): kiểm tra lại thời điểm tiếp nhận.")


def _agency_code() -> str:
    return current_app.config["AGENCY_CODE"] if has_app_context() else "000.00.00.H00"


def _due_soon_days() -> int:
    return int(current_app.config.get("DUE_SOON_WORKING_DAYS", 2)) if has_app_context() else 2


def rule_snapshot(procedure: Procedure, at: date | datetime) -> dict[str, Any]:
    """The procedure's rule in force at reception ``at`` (stored on the dossier, domain.md §1): its
    base rule, or the newest rule version in force that day (``tthc.rules``, domain.md §10)."""
    rule = procedure.rule_at(at)
    return {
        "limit_unit": rule.limit_unit,
        "limit_amount": rule.limit_amount,
        "statutory_unit": rule.statutory_unit,
        "statutory_amount": rule.statutory_amount,
        "committed_unit": rule.committed_unit,
        "committed_amount": rule.committed_amount,
        "supplement_rule": rule.supplement_rule,
        "steps": [{"name": s.name, "unit_id": s.unit_id, "share_amount": s.share_amount} for s in procedure.steps],
        "legal_basis": rule.legal_basis,
        "effective_date": rule.effective_date.isoformat() if rule.effective_date else None,
        "rule_version_id": rule.version_id,
        "decision_number": rule.decision_number,
        "procedure_name": procedure.name,
        "national_code": procedure.national_code,
    }


def _check_procedure(procedure: Procedure | None, at: date | datetime) -> Procedure:
    if procedure is None:
        raise IntakeError(422, "Không tìm thấy thủ tục.", "procedure_id")
    if not procedure.active:
        raise IntakeError(422, "Thủ tục này đang ngừng áp dụng, không tiếp nhận hồ sơ.", "procedure_id")
    rule = procedure.rule_at(at)
    unit, amount = rule.limit_unit, rule.limit_amount
    if unit is None or (unit != "none" and (amount is None or amount < 0)):
        raise IntakeError(422, "Thủ tục chưa có thời hạn giải quyết: quản trị cần bổ sung trước khi tiếp nhận.",
                          "procedure_id")
    if unit not in ("working_days", "working_hours", "calendar_days", "months", "none"):
        raise IntakeError(422, "Đơn vị thời hạn của thủ tục không hợp lệ.", "procedure_id")
    return procedure


def _resolve_unit(session, unit: Unit | int | None, field: str = "unit_id") -> Unit | None:
    if unit is None:
        return None
    if isinstance(unit, Unit):
        return unit
    if isinstance(unit, bool) or not isinstance(unit, int):
        raise IntakeError(422, "Đơn vị không hợp lệ.", field)
    found = session.get(Unit, unit) if -2**31 < unit < 2**31 else None
    if found is None:
        raise IntakeError(422, "Không tìm thấy đơn vị.", field)
    if not found.active:
        raise IntakeError(422, "Đơn vị này đã ngừng hoạt động.", field)
    return found


def _flush(session) -> None:
    """Flush, turning a concurrent update of the same dossier into a 409."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise IntakeError(409, STALE_MESSAGE) from exc


def _touch(dossier: Dossier, now: datetime) -> None:
    """Make the flush UPDATE the dossier row, so its version is checked and bumped."""
    from sqlalchemy.orm.attributes import flag_modified

    dossier.updated_at = now
    flag_modified(dossier, "updated_at")


def _check_version(dossier: Dossier, expected_version: Any) -> None:
    if expected_version is None:
        return
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise IntakeError(422, "Phiên bản hồ sơ không hợp lệ.", "version")
    if expected_version != dossier.version:
        raise IntakeError(409, STALE_MESSAGE, "version")


# -- reception -----------------------------------------------------------------------


def reserved_code_words() -> frozenset[str]:
    """Words a dossier code may not be, because a page of the dossiers' URL space has that name
    (``/dossiers/new``, ``/dossiers/preview``, ``/dossiers/desk/``...). Read from the app's routes, so
    a future route word is reserved as soon as it exists; lowercase."""
    if not has_app_context():
        return frozenset()
    cached = current_app.extensions.get("tthc_reserved_codes")
    if cached is None:
        words = set()
        for rule in current_app.url_map.iter_rules():
            if rule.endpoint.startswith("intake.") and rule.rule.startswith("/dossiers/"):
                first = rule.rule[len("/dossiers/"):].split("/", 1)[0]
                if first and "<" not in first:
                    words.add(first.lower())
        cached = current_app.extensions["tthc_reserved_codes"] = frozenset(words)
    return cached


def receive_dossier(session, *, procedure, applicant: dict, channel: str, received_by, now: datetime,
                    received_at: datetime | None = None, submitted_at: datetime | None = None, sets: int = 1,
                    documents: list[dict] | None = None, code: str | None = None, reception_point: str = "",
                    request_summary: str = "", late_entry_reason: str = "") -> Dossier:
    """Receive a complete dossier: issue its code (or keep the external one), number it in the register,
    record the ``received`` event and compute its deadlines. Flushes; the caller commits.

    ``late_entry_reason``: why the dossier is logged long after its reception (the desk's form asks
    for it beyond 3 working days, issue 16); kept in the ``received`` event's data."""
    if received_by is None or received_by.role != "reception":
        raise IntakeError(403, "Chỉ cán bộ tiếp nhận (Một cửa) được tiếp nhận hồ sơ.")
    if procedure is None:
        raise IntakeError(422, "Không tìm thấy thủ tục.", "procedure_id")
    person = validate_applicant(applicant)
    if channel not in CHANNELS:
        raise IntakeError(422, "Kênh nộp là direct (trực tiếp), online (trực tuyến) hoặc postal (bưu chính).",
                          "channel")
    sets = _int(sets, "sets", low=1, high=MAX_SETS, label="Số bộ hồ sơ")
    if documents is None:
        documents = [{"name": d.name, "kind": d.kind, "count": d.count} for d in procedure.documents]
    documents = validate_documents(documents)
    reception_point = _text(reception_point, "reception_point", label="Nơi tiếp nhận")
    request_summary = _text(request_summary, "request_summary", max_len=MAX_TEXT, label="Nội dung yêu cầu")
    late_entry_reason = _text(late_entry_reason, "late_entry_reason", max_len=MAX_TEXT, label="Lý do ghi nhận muộn")

    cal = calendar_for(session)
    received_at = _check_datetime(now if received_at is None else received_at, "received_at", cal,
                                  "Thời điểm tiếp nhận")
    if received_at > now:
        raise IntakeError(422, "Thời điểm tiếp nhận không được ở tương lai.", "received_at")
    procedure = _check_procedure(procedure, received_at)
    if submitted_at is not None:
        submitted_at = _check_datetime(submitted_at, "submitted_at", cal, "Thời điểm nộp")
        if submitted_at > received_at:
            raise IntakeError(422, "Thời điểm nộp không được sau thời điểm tiếp nhận.", "submitted_at")

    agency = _agency_code()
    external = False
    if code is not None and not (isinstance(code, str) and not code.strip()):
        if not isinstance(code, str) or not _EXTERNAL_CODE.fullmatch(code.strip()):
            raise IntakeError(422, "Mã hồ sơ từ hệ thống khác chỉ gồm chữ, số và . - _ (tối đa 64 ký tự).", "code")
        code = code.strip()
        if code.lower() in reserved_code_words():
            raise IntakeError(422, f"Mã “{code}” trùng với một địa chỉ trang của hệ thống; dùng mã khác.", "code")
        if codes.code_pattern(agency).match(code):
            raise IntakeError(422, "Mã này có dạng mã do chính hệ thống cấp; để trống để hệ thống tự cấp mã.",
                              "code")
        if session.scalar(select(Dossier.id).where(Dossier.code == code)) is not None:
            raise IntakeError(409, f"Mã hồ sơ {code} đã tồn tại.", "code")
        external = True
        if not reception_point:
            reception_point = "Trung tâm Phục vụ hành chính công"
    else:
        code = None

    dossier = Dossier(
        external_code=external,
        reception_point=reception_point,
        procedure_id=procedure.id,
        rule=rule_snapshot(procedure, received_at),
        field=procedure.field,
        unit_id=procedure.unit_id,
        applicant_kind=person["kind"],
        applicant_name=person["name"],
        applicant_name_search=fold(person["name"])[:255],
        applicant_id_number=person["id_number"],
        applicant_phone=person["phone"],
        applicant_email=person["email"],
        applicant_address=person["address"],
        request_summary=request_summary,
        channel=channel,
        documents=documents,
        sets=sets,
        submitted_at=submitted_at,
        received_at=received_at,
        received_by_id=received_by.id,
        created_at=now,
        updated_at=now,
    )
    base_data = {"channel": channel, **({"late_entry_reason": late_entry_reason} if late_entry_reason else {})}
    received = DossierEvent(dossier=dossier, seq=1, type="received", at=received_at, recorded_at=now,
                            user_id=received_by.id, unit_id=received_by.unit_id, note="", data=dict(base_data))
    try:
        life = write_life(session, dossier, cal)
    except ValueError as exc:  # the deadline falls outside the calendar's years
        raise IntakeError(422, outside_calendar_message(cal), "received_at") from exc
    # The receipt's appointment is a fact given to the applicant: kept in the received event (domain.md §9).
    received.data = dict(base_data, appointment=life.appointment_at.isoformat() if life.appointment_at else None)

    # Counters last: on PostgreSQL their row locks are held until the caller commits.
    try:
        if code is None:
            code = codes.issue_code(session, agency, received_at.date())
        dossier.code = code
        dossier.register_year = received_at.year
        dossier.register_number = codes.next_register_number(session, received_at.year)
    except codes.SequenceExhausted as exc:
        raise IntakeError(409, str(exc), "received_at") from exc
    session.add(dossier)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent intake took the external code (or a number, if forced)
        raise _clash_error(exc, dossier) from exc
    audit.record(session, "receive", "dossier", dossier.id, user=received_by,
                 after={"code": dossier.code, "procedure_id": procedure.id, "channel": channel,
                        "received_at": received_at, "deadline_at": dossier.deadline_at,
                        "register": f"{dossier.register_number}/{dossier.register_year}",
                        "external_code": external},
                 note="ghi nhận muộn: thời điểm tiếp nhận thực " + f"{received_at:%H:%M %d/%m/%Y}"
                 if (now - received_at).total_seconds() > 600 else "")
    return dossier


def _clash_error(exc: IntegrityError, dossier: Dossier) -> IntakeError:
    """A 409 naming what really clashed: the register number or the dossier code."""
    text = str(getattr(exc, "orig", exc))
    if "uq_dossier_register" in text or "register_number" in text:
        return IntakeError(409, f"Số thứ tự {dossier.register_number}/{dossier.register_year} trong sổ theo dõi hồ "
                                "sơ đã được dùng cho hồ sơ khác; vui lòng thử lại.", "register_number")
    return IntakeError(409, f"Mã hồ sơ {dossier.code} đã tồn tại.", "code")


# -- visibility ----------------------------------------------------------------------


def visible_dossiers(user) -> Any:
    """A Select of the dossiers ``user`` may see (reception, supervisor, admin: all; handler: own unit's)."""
    stmt = select(Dossier)
    if user is None:
        return stmt.where(false())
    if user.role == "handler":
        if user.unit_id is None:
            return stmt.where(false())
        return stmt.where(or_(Dossier.current_unit_id == user.unit_id, Dossier.unit_id == user.unit_id))
    if user.role in ("reception", "supervisor", "admin"):
        return stmt
    return stmt.where(false())


def can_see(dossier: Dossier, user) -> bool:
    if user is None:
        return False
    if user.role == "handler":
        return user.unit_id is not None and user.unit_id in (dossier.current_unit_id, dossier.unit_id)
    return user.role in ("reception", "supervisor", "admin")


def get_dossier_for(session, code: str, user) -> Dossier:
    """The dossier ``code`` if ``user`` may see it; IntakeError(404) otherwise."""
    dossier = None
    if isinstance(code, str) and 0 < len(code) <= 64 and not has_forbidden_chars(code):
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
    if dossier is None or not can_see(dossier, user):
        raise IntakeError(404, "Không tìm thấy hồ sơ, hoặc bạn không có quyền xem hồ sơ này.")
    return dossier


def sees_personal_data(user) -> bool:
    """Decree 13/2023: ID numbers and phones in full only for the desk and supervisors (tthc.text decides)."""
    return text_rules.sees_personal_data(user)


# -- events --------------------------------------------------------------------------


def _live_events(dossier: Dossier) -> list[DossierEvent]:
    """The dossier's processing events that stand (not voided, not voiding, not corrections), in order."""
    return sorted(
        (e for e in dossier.events if not e.voided and e.voids_event_id is None
         and (e.type in TRANSITIONS or e.type == "received")),
        key=lambda e: (e.at, e.seq),
    )


def _has_extension(dossier: Dossier) -> bool:
    return any(e.type == "extended" for e in _live_events(dossier))


def _role_allows(event_type: str, dossier: Dossier, user) -> bool:
    t = TRANSITIONS[event_type]
    if user is None or user.role not in t.roles:
        return False
    if user.role == "handler":
        if dossier.current_unit_id is None or user.unit_id != dossier.current_unit_id:
            return False
        if t.unit_head_only and not user.is_unit_head:
            return False
    return True


def allowed_events(dossier: Dossier, user) -> list[str]:
    """The event types ``user`` may record on ``dossier`` now (state, role and unit), in EVENT_TYPES order."""
    if not can_see(dossier, user):
        return []
    result = []
    for event_type in EVENT_TYPES:
        if dossier.status not in TRANSITIONS[event_type].from_states or not _role_allows(event_type, dossier, user):
            continue
        if event_type == "extended" and (dossier.extended or dossier.deadline_at is None):
            continue
        result.append(event_type)
    return result


def can_void(dossier: Dossier, user) -> bool:
    return user is not None and user.role == "supervisor"


def can_correct(dossier: Dossier, user) -> bool:
    return user is not None and user.role in ("reception", "supervisor") and dossier.status != "cancelled"


def _check_permission(event_type: str, dossier: Dossier, user) -> None:
    if not can_see(dossier, user):
        raise IntakeError(404, "Không tìm thấy hồ sơ, hoặc bạn không có quyền xem hồ sơ này.")
    t = TRANSITIONS[event_type]
    if user.role not in t.roles:
        raise IntakeError(403, f"Vai trò của bạn không được thực hiện thao tác “{EVENT_LABELS[event_type]}”.")
    if user.role == "handler":
        if dossier.current_unit_id is None or user.unit_id != dossier.current_unit_id:
            raise IntakeError(403, "Hồ sơ hiện không ở đơn vị của bạn.")
        if t.unit_head_only and not user.is_unit_head:
            raise IntakeError(403, f"Chỉ lãnh đạo đơn vị xử lý được {EVENT_LABELS[event_type].lower()}.")


def _event_time(dossier: Dossier, at: datetime | None, now: datetime, cal: WorkCalendar) -> datetime:
    if at is None:
        at = now
    at = _check_datetime(at, "at", cal, "Thời điểm")
    if at > now:
        raise IntakeError(422, "Thời điểm của sự kiện không được ở tương lai.", "at")
    live = _live_events(dossier)
    previous = max(e.at for e in live) if live else dossier.received_at
    if at < previous:
        raise IntakeError(422, f"Thời điểm của sự kiện không được trước sự kiện trước đó ({previous:%H:%M %d/%m/%Y}).",
                          "at")
    return at


def _next_seq(dossier: Dossier) -> int:
    return max((e.seq for e in dossier.events), default=0) + 1


def _dossier_state(dossier: Dossier) -> dict[str, Any]:
    return audit.snapshot(dossier, ["status", "current_unit_id", "deadline_at", "original_deadline_at", "result",
                                    "version"])


def _write(session, dossier: Dossier, cal: WorkCalendar) -> lifecycle.Life:
    """Call the one writer; an impossible sequence of events answers 409 with its reason."""
    try:
        return write_life(session, dossier, cal)
    except LifecycleError as exc:
        raise IntakeError(409, str(exc)) from exc


def record_event(session, dossier: Dossier, type: str, *, user, now: datetime, at: datetime | None = None,
                 note: str = "", unit=None, new_deadline: datetime | None = None, result: str | None = None,
                 expected_version: int | None = None, data: dict | None = None) -> DossierEvent:
    """Record one event of the state machine (domain.md §8): validate, check permissions, append the
    event and let the writer store what the events now imply."""
    event_type = type
    if not isinstance(event_type, str) or event_type not in TRANSITIONS:
        raise IntakeError(422, "Loại sự kiện không hợp lệ.", "type")
    _check_permission(event_type, dossier, user)
    _check_version(dossier, expected_version)
    transition = TRANSITIONS[event_type]
    if dossier.status not in transition.from_states:
        raise IntakeError(409, f"{transition.state_reason} Trạng thái hiện tại: {dossier.status_label}.")
    note = _text(note, "note", max_len=MAX_TEXT, label="Ghi chú")
    if transition.note_required and not note:
        raise IntakeError(422, transition.note_required, "note")
    cal = calendar_for(session)
    at = _event_time(dossier, at, now, cal)
    extra: dict[str, Any] = {}
    if data:
        if not isinstance(data, dict):
            raise IntakeError(422, "Dữ liệu kèm theo không hợp lệ.", "data")
        for key in ("receiver_name", "reason", "legal_ground", "next_steps"):
            if key in data:
                extra[key] = _text(data[key], key, max_len=MAX_TEXT, label=key)
    if event_type == "supplement_requested":
        # Form 02 names the documents to add or correct, as a list (catalog names where they match).
        catalog = [doc.name for doc in dossier.procedure.documents] if dossier.procedure is not None else []
        extra["documents_to_add"] = documents_to_add_list((data or {}).get("documents_to_add"), catalog)
    elif data and data.get("documents_to_add") is not None:
        raise IntakeError(422, "Chỉ liệt kê giấy tờ cần bổ sung khi yêu cầu bổ sung hồ sơ.", "documents_to_add")

    target_unit: Unit | None = None
    if event_type == "forwarded":
        target_unit = _resolve_unit(session, unit) or (session.get(Unit, dossier.unit_id) if dossier.unit_id else None)
        if target_unit is None:
            raise IntakeError(422, "Chọn đơn vị xử lý.", "unit_id")
    elif event_type == "step_handed_over":
        target_unit = _resolve_unit(session, unit)
        if target_unit is None:
            raise IntakeError(422, "Chọn đơn vị xử lý bước tiếp theo.", "unit_id")
        if target_unit.id == dossier.current_unit_id:
            raise IntakeError(422, "Hồ sơ đang ở đơn vị này; chọn đơn vị xử lý bước tiếp theo.", "unit_id")
    elif unit is not None:
        target_unit = _resolve_unit(session, unit)

    if event_type == "extended":
        if dossier.extended or _has_extension(dossier):
            raise IntakeError(409, "Hồ sơ đã được gia hạn một lần; mỗi hồ sơ chỉ được gia hạn một lần.")
        if dossier.deadline_at is None:
            raise IntakeError(409, "Thủ tục không quy định thời hạn giải quyết: không cần gia hạn.")
        if new_deadline is None:
            raise IntakeError(422, "Nhập ngày hẹn trả kết quả mới.", "new_deadline")
        new_deadline = _check_datetime(new_deadline, "new_deadline", cal, "Ngày hẹn mới")
        if new_deadline <= dossier.deadline_at:
            raise IntakeError(422, f"Ngày hẹn mới phải sau hạn hiện tại ({dossier.deadline_at:%H:%M %d/%m/%Y}).",
                              "new_deadline")
        if new_deadline <= at:
            raise IntakeError(422, "Ngày hẹn mới phải sau thời điểm gia hạn.", "new_deadline")
        extra["new_deadline"] = new_deadline.isoformat()
        extra["previous_deadline"] = dossier.deadline_at.isoformat()
        if dossier.appointment_at is not None:  # what form 04 quotes as the appointment the applicant held
            extra["previous_appointment"] = dossier.appointment_at.isoformat()
        # Decree 61/2018, Art. 12(2)(c) / domain.md §4.6: at the latest 1 working day before the deadline.
        if cal.add_working_days(at, 1) > dossier.deadline_at:
            extra["late_apology"] = True
    elif new_deadline is not None:
        raise IntakeError(422, "Chỉ nhập ngày hẹn mới khi gia hạn.", "new_deadline")

    if event_type == "finished":
        if result not in RESULTS:
            raise IntakeError(422, "Chọn kết quả: approved (giải quyết) hoặc refused (từ chối có lý do).", "result")
        extra["result"] = result
    elif result is not None:
        raise IntakeError(422, "Chỉ nhập kết quả khi ghi nhận có kết quả.", "result")

    before = _dossier_state(dossier)
    held_appointment = dossier.appointment_at
    event = DossierEvent(
        dossier=dossier, seq=_next_seq(dossier), type=event_type, at=at, recorded_at=now, user_id=user.id,
        unit_id=target_unit.id if target_unit is not None else user.unit_id, note=note, data=extra,
    )
    session.add(event)
    if event_type == "supplement_received":
        # Domain.md §9: a supplement that restarts (or a pause that moves) the deadline gives the
        # applicant a re-issued receipt with the new appointment; that appointment is a fact of this event.
        life = replay_dossier(session, dossier, cal)
        if life.deadline_at is not None and life.deadline_at != dossier.deadline_at \
                and life.deadline_at != held_appointment:
            event.data = dict(extra, appointment=life.deadline_at.isoformat(), reissued_receipt=True)
    _write(session, dossier, cal)
    _touch(dossier, now)
    _flush(session)
    late = at < now and (now - at).total_seconds() > 300
    audit.record(session, f"event:{event_type}", "dossier", dossier.id, user=user, before=before,
                 after=dict(_dossier_state(dossier), event_id=event.id, at=at, recorded_at=now),
                 note="; ".join(filter(None, [
                     f"ghi nhận muộn: thời điểm thực {at:%H:%M %d/%m/%Y}, ghi lúc {now:%H:%M %d/%m/%Y}" if late else "",
                     "gia hạn muộn (sau thời hạn 1 ngày làm việc trước hạn)" if extra.get("late_apology") else "",
                 ])))
    return event


def receipt_appointment(session, dossier: Dossier) -> tuple[datetime | None, DossierEvent | None]:
    """What the latest receipt (form 01) gives as the appointment, and the supplement event that
    re-issued it (None: the receipt of the reception). An extension's appointment is form 04's."""
    life = replay_dossier(session, dossier)
    event = next((e for e in dossier.events if e.id == life.receipt_event_id), None)
    return life.receipt_appointment_at, event if event is not None and event.type == "supplement_received" else None


def reissued_receipt(dossier: Dossier) -> DossierEvent | None:
    """The supplement receipt that re-issued form 01 with the appointment the applicant now holds, if any."""
    found = [e for e in _live_events(dossier)
             if e.type == "supplement_received" and (e.data or {}).get("reissued_receipt")]
    return found[-1] if found else None


def void_event(session, dossier: Dossier, event_id: int, *, user, reason: str, now: datetime,
               expected_version: int | None = None) -> DossierEvent:
    """Void an event with a reason (supervisor): a compensating ``voided`` event, nothing deleted."""
    if not can_see(dossier, user):
        raise IntakeError(404, "Không tìm thấy hồ sơ, hoặc bạn không có quyền xem hồ sơ này.")
    if user.role != "supervisor":
        raise IntakeError(403, "Chỉ lãnh đạo / giám sát được hủy một thao tác đã ghi nhận.")
    _check_version(dossier, expected_version)
    reason = _text(reason, "reason", max_len=MAX_TEXT, label="Lý do")
    if not reason:
        raise IntakeError(422, "Ghi rõ lý do hủy thao tác.", "reason")
    target = next((e for e in dossier.events if e.id == event_id), None) if isinstance(event_id, int) else None
    if target is None:
        raise IntakeError(404, "Không tìm thấy sự kiện của hồ sơ.", "event_id")
    if target.type == "received":
        raise IntakeError(409, "Không hủy được sự kiện tiếp nhận; dùng “Hủy (nhập nhầm)” để hủy cả hồ sơ.")
    if target.voided:
        raise IntakeError(409, "Sự kiện này đã bị hủy.")
    if target.voids_event_id is not None or target.type not in TRANSITIONS:
        raise IntakeError(409, "Không hủy được loại sự kiện này.")
    cal = calendar_for(session)
    before = _dossier_state(dossier)
    target.voided = True
    try:
        write_life(session, dossier, cal)
    except LifecycleError as exc:
        target.voided = False
        raise IntakeError(409, str(exc)) from exc
    event = DossierEvent(dossier=dossier, seq=_next_seq(dossier), type="voided", at=now, recorded_at=now,
                         user_id=user.id, unit_id=user.unit_id, note=reason, voids_event_id=target.id,
                         data={"voided_type": target.type})
    session.add(event)
    _touch(dossier, now)
    _flush(session)
    audit.record(session, "void_event", "dossier", dossier.id, user=user, before=before,
                 after=dict(_dossier_state(dossier), voided_event_id=target.id, voided_type=target.type), note=reason)
    return event


# -- corrections ---------------------------------------------------------------------


def correct_dossier(session, dossier: Dossier, changes: dict, *, user, now: datetime,
                    expected_version: int | None) -> Dossier:
    """Correct wrongly entered fields (reception, supervisor): applicant fields, sets, documents,
    request summary. Audited before/after; a ``corrected`` event marks receipts printed after it
    as "bản in lại sau điều chỉnh". ``changes`` uses column names (``applicant_name`` ...) or an
    ``applicant`` dict like receive_dossier's."""
    if not can_see(dossier, user):
        raise IntakeError(404, "Không tìm thấy hồ sơ, hoặc bạn không có quyền xem hồ sơ này.")
    if user.role not in ("reception", "supervisor"):
        raise IntakeError(403, "Chỉ cán bộ tiếp nhận hoặc lãnh đạo được điều chỉnh thông tin hồ sơ.")
    _check_version(dossier, expected_version)
    if dossier.status == "cancelled":
        raise IntakeError(409, "Hồ sơ đã hủy, không điều chỉnh được.")
    if not isinstance(changes, dict):
        raise IntakeError(422, "Không có thông tin điều chỉnh.")
    flat = dict(changes)
    nested = flat.pop("applicant", None)
    if nested is not None:
        if not isinstance(nested, dict):
            raise IntakeError(422, "Thông tin người nộp không hợp lệ.", "applicant")
        for key, value in nested.items():
            flat[f"applicant_{key}"] = value
    for key in flat:
        if key not in CORRECTABLE_FIELDS:
            raise IntakeError(422, "Trường này không điều chỉnh được (thủ tục, thời điểm tiếp nhận: hủy hồ sơ nhập "
                                   "nhầm và tiếp nhận lại).", key)
    current = {"kind": dossier.applicant_kind, "name": dossier.applicant_name, "id_number": dossier.applicant_id_number,
               "phone": dossier.applicant_phone, "email": dossier.applicant_email,
               "address": dossier.applicant_address}
    merged = {k: flat.get(f"applicant_{k}", v) for k, v in current.items()}
    person = validate_applicant(merged)
    new_values: dict[str, Any] = {f"applicant_{k}": v for k, v in person.items()}
    if "sets" in flat:
        new_values["sets"] = _int(flat["sets"], "sets", low=1, high=MAX_SETS, label="Số bộ hồ sơ")
    if "documents" in flat:
        new_values["documents"] = validate_documents(flat["documents"])
    if "request_summary" in flat:
        new_values["request_summary"] = _text(flat["request_summary"], "request_summary", max_len=MAX_TEXT,
                                              label="Nội dung yêu cầu")
    changed = [k for k, v in new_values.items() if getattr(dossier, k) != v]
    if not changed:
        raise IntakeError(422, "Không có thông tin nào thay đổi.")
    before = audit.snapshot(dossier, changed)
    seq = _next_seq(dossier)  # loads the events before any change (no autoflush in between)
    cal = calendar_for(session)
    for key in changed:
        setattr(dossier, key, new_values[key])
    if "applicant_name" in changed:
        dossier.applicant_name_search = fold(dossier.applicant_name)[:255]
    correction = DossierEvent(dossier=dossier, seq=seq, type="corrected", at=now, recorded_at=now,
                 user_id=user.id, unit_id=user.unit_id, note="Điều chỉnh: " + ", ".join(changed),
                 data={"fields": changed})
    session.add(correction)
    _write(session, dossier, cal)
    _touch(dossier, now)
    _flush(session)
    audit.record(session, "correct", "dossier", dossier.id, user=user, before=before,
                 after=audit.snapshot(dossier, changed))
    return dossier


def last_correction(dossier: Dossier) -> DossierEvent | None:
    """The latest correction (a receipt printed after it is marked "bản in lại sau điều chỉnh")."""
    corrections = [e for e in dossier.events if e.type == "corrected"]
    return max(corrections, key=lambda e: e.seq) if corrections else None


# -- desk contacts (forms 02 and 03 before any dossier exists) -------------------------


def record_desk_contact(session, *, kind: str, applicant_name: str, procedure=None, reason: str, officer,
                        now: datetime, applicant_phone: str = "", applicant_address: str = "",
                        request_summary: str = "", documents_to_add: str = "") -> DeskContact:
    """Guidance to supplement (form 02) or refusal (form 03) at the desk: uncoded, outside the statistics."""
    if officer is None or officer.role not in ("reception", "supervisor"):
        raise IntakeError(403, "Chỉ cán bộ tiếp nhận được ghi nhận hướng dẫn hoặc từ chối tại quầy.")
    if kind not in DESK_CONTACT_KINDS:
        raise IntakeError(422, "Loại phiếu là guidance (hướng dẫn bổ sung) hoặc refusal (từ chối).", "kind")
    contact = DeskContact(
        kind=kind,
        procedure_id=procedure.id if procedure is not None else None,
        applicant_name=_text(applicant_name, "applicant_name", required=True, label="Tên người nộp"),
        applicant_phone=normalise_phone(applicant_phone, "applicant_phone"),
        applicant_address=_text(applicant_address, "applicant_address", max_len=MAX_TEXT, label="Địa chỉ"),
        request_summary=_text(request_summary, "request_summary", max_len=MAX_TEXT, label="Nội dung yêu cầu"),
        documents_to_add=_text(documents_to_add, "documents_to_add", max_len=MAX_TEXT, label="Giấy tờ cần bổ sung"),
        reason=_text(reason, "reason", required=True, max_len=MAX_TEXT, label="Lý do"),
        officer_id=officer.id,
        created_at=now,
    )
    if kind == "guidance" and not contact.documents_to_add:
        raise IntakeError(422, "Ghi rõ giấy tờ cần bổ sung, hoàn thiện.", "documents_to_add")
    session.add(contact)
    session.flush()
    audit.record(session, f"desk_contact:{kind}", "desk_contact", contact.id, user=officer,
                 after={"applicant_name": contact.applicant_name, "procedure_id": contact.procedure_id})
    return contact


# -- lists and flags -----------------------------------------------------------------


def _as_datetime_bounds(date_from: date | datetime | None, date_to: date | datetime | None):
    start = end = None
    if date_from is not None:
        start = date_from if isinstance(date_from, datetime) else datetime.combine(date_from, datetime.min.time())
    if date_to is not None:
        if isinstance(date_to, datetime):
            end = date_to
        else:
            end = datetime.combine(date_to, datetime.max.time().replace(microsecond=0))
    return start, end


#: Lists count their rows exactly up to this many; beyond it they say "hơn 1.000" (issue 13).
COUNT_CAP = 1000


def capped_count(session, stmt, cap: int) -> int:
    """The number of rows of ``stmt``, exact up to ``cap``; ``cap + 1`` means "more than ``cap``"."""
    inner = stmt.order_by(None).with_only_columns(Dossier.id).limit(cap + 1).subquery()
    return session.scalar(select(func.count()).select_from(inner)) or 0


def count_label(total: int, cap: int = COUNT_CAP) -> str:
    """A capped count as the lists show it: ``1.000``, or ``hơn 1.000`` beyond the cap (Vietnamese digits)."""
    if total > cap:
        return f"hơn {cap:,}".replace(",", ".")
    return f"{total:,}".replace(",", ".")


def search_dossiers(session, user, *, q: str | None = None, status: str | Iterable[str] | None = None,
                    unit_id: int | None = None, procedure_id: int | None = None, field: str | None = None,
                    channel: str | None = None, date_from: date | None = None, date_to: date | None = None,
                    overdue: bool | None = None, due_soon: bool | None = None, now: datetime, page: int = 1,
                    per_page: int = 25) -> tuple[list[Dossier], int]:
    """The visible dossiers matching the filters, newest first, one page; and the total count.

    ``q`` matches the code, the applicant's name without regard to case or diacritics, the ID
    number and the phone. ``date_from`` / ``date_to`` filter the reception date, inclusive.
    """
    stmt = visible_dossiers(user)
    conditions = []
    found = None  # the search index's candidates (tthc/search.py), when ``q`` can use it
    if q is not None and str(q).strip():
        text = str(q).strip()[:100]
        pattern = like_pattern(text)
        options = [Dossier.code.ilike(pattern, escape="\\"), Dossier.applicant_name_search.like(pattern, escape="\\")]
        # What the options look for, for the search index (tthc/search.py): it finds the candidates,
        # the options decide.
        text_literals, number_literals = [fold(text)], []
        upper = re.sub(r"\s", "", text).upper()
        # A role that sees ID numbers and phones masked must not confirm them by searching (Decree 13/2023).
        if upper and sees_personal_data(user) and re.fullmatch(r"[A-Z0-9+.\-() ]+", upper):
            digits = re.sub(r"\D", "", upper)
            raw = like_pattern(upper).upper()
            options.append(func.upper(Dossier.applicant_id_number).like(raw, escape="\\"))
            number_literals.append(fold(upper))
            if len(digits) >= 3:
                if upper.startswith("+84"):
                    digits = "0" + digits[2:]
                options.append(func.replace(Dossier.applicant_id_number, "-", "").like(f"%{digits}%"))
                options.append(Dossier.applicant_phone.like(f"%{digits}%"))
                number_literals.append(digits)
        found = search.candidates(session.get_bind().dialect.name, text_literals, number_literals)
        conditions.append(or_(*options))
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        conditions.append(Dossier.status.in_(statuses))
    if unit_id is not None:
        conditions.append(or_(Dossier.unit_id == unit_id, Dossier.current_unit_id == unit_id))
    if procedure_id is not None:
        conditions.append(Dossier.procedure_id == procedure_id)
    if field:
        conditions.append(Dossier.field == field)
    if channel:
        conditions.append(Dossier.channel == channel)
    start, end = _as_datetime_bounds(date_from, date_to)
    if start is not None:
        conditions.append(Dossier.received_at >= start)
    if end is not None:
        conditions.append(Dossier.received_at <= end)
    if overdue is not None or due_soon is not None:
        # The list filters are the watch rules of deadlines.lifecycle, turned into SQL.
        th = lifecycle.thresholds(calendar_for(session), now, _due_soon_days())
        if overdue is not None:
            is_overdue = sql_condition(lifecycle.WATCH_RULES["overdue"], th)
            conditions.append(is_overdue if overdue else not_(is_overdue))
        if due_soon is not None:
            is_due_soon = sql_condition(lifecycle.WATCH_RULES["due_soon"], th)
            conditions.append(is_due_soon if due_soon else not_(is_due_soon))
    if conditions:
        stmt = stmt.where(*conditions)
    per_page = max(1, min(int(per_page), 100))
    page = max(1, int(page))
    offset = (page - 1) * per_page
    order = (Dossier.received_at.desc(), Dossier.id.desc())
    # Counted up to a cap (and to the page asked for), never a million rows: see count_label.
    cap = max(COUNT_CAP, offset + per_page)
    if found is not None:
        return search.page(session, stmt, found, entity=Dossier, order_by=order, offset=offset, limit=per_page,
                           cap=cap)
    total = capped_count(session, stmt, cap)
    if offset >= total:
        return [], total
    # The page's ids first, sorted from the indexes (a covering index sorts small entries, not whole
    # rows with their JSON), then those rows only (issue 13).
    ids = session.scalars(stmt.with_only_columns(Dossier.id).order_by(*order).offset(offset).limit(per_page)).all()
    items = session.scalars(select(Dossier).where(Dossier.id.in_(ids)).order_by(*order)).all() if ids else []
    return list(items), total


def flags_for(dossier: Dossier, now: datetime, cal: WorkCalendar) -> list[str]:
    """Live flags for display and the API (pages compute overdue live): the watch rules of
    ``deadlines.lifecycle`` evaluated on the dossier's stored derived columns."""
    return lifecycle.watch_flags(dossier, lifecycle.thresholds(cal, now, _due_soon_days()))


def explain(session, dossier: Dossier) -> list[str]:
    """How the dossier's deadlines were derived, step by step (Vietnamese), for the dossier page."""
    return list(replay_dossier(session, dossier).explanation)
