"""Public pages for citizens, without login (issue 7): the procedure catalog posted at the desk,
the dossier look-up reached from the receipt's QR code, and the one-time satisfaction rating.

Blueprint ``public`` is listed in ``tthc.auth.PUBLIC_BLUEPRINTS``: nothing here may show more
than a citizen may see (Decree 13/2023 on personal data). The look-up shows, on the applicant's
own dossier only, the status, the appointment, the public steps of the history (type and date,
never notes, units or officers) and the applicant's masked name. A wrong code and a wrong phone
give the same answer, failures are throttled per client address through ``LookupAttempt`` rows
(shared by every worker), and the phone digits are compared in constant time.

Must not import ``intake`` or ``deadlines`` (architecture.md): the citizen-facing event labels
are defined here, worded for the public.
"""
from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Regexp

from deadlines.lifecycle import PUBLIC_EVENT_LABELS
from tthc import audit, throttle
from tthc.auth import client_ip
from tthc.clock import now
from tthc.extensions import db
from tthc.forms import Form
from tthc.models import (
    CHANNEL_LABELS,
    LIMIT_UNIT_LABELS,
    STATUS_LABELS,
    Dossier,
    LookupAttempt,
    Procedure,
    Rating,
)
from tthc.params import parse_page
from tthc.text import like_pattern

bp = Blueprint("public", __name__)

PER_PAGE = 30
MAX_COMMENT = 1000
DEFAULT_MAX_FAILURES = 10
DEFAULT_WINDOW_MINUTES = 15

# The steps of the history a citizen sees come from the one vocabulary (deadlines.lifecycle).

NOT_FOUND_MESSAGE = ("Không tìm thấy hồ sơ khớp với mã hồ sơ và 4 chữ số đã nhập. "
                     "Vui lòng kiểm tra lại mã trên Giấy tiếp nhận hồ sơ và hẹn trả kết quả.")
THROTTLED_MESSAGE = ("Bạn đã tra cứu sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút, "
                     "hoặc liên hệ Bộ phận Tiếp nhận và Trả kết quả.")
CODE_LOCKED_MESSAGE = ("Mã hồ sơ này đang tạm khóa tra cứu khoảng {minutes} phút vì đã bị nhập sai số điện thoại "
                       "nhiều lần. Nếu ông/bà là người nộp hồ sơ, vui lòng liên hệ {contact} và mang theo Giấy tiếp "
                       "nhận hồ sơ và hẹn trả kết quả.")
ALREADY_RATED_MESSAGE = "Hồ sơ này đã được đánh giá. Mỗi hồ sơ chỉ được đánh giá một lần."
NOT_HANDED_OVER_MESSAGE = "Chỉ đánh giá được sau khi đã nhận kết quả giải quyết hồ sơ."


# -- helpers (pure) ------------------------------------------------------------------------------


def mask_name(name: str | None) -> str:
    """'Nguyễn Văn An' -> 'Nguyễn V** A*': the first word (the family name) is kept, every other
    word keeps its first letter and each further letter becomes '*'."""
    words = (name or "").split()
    if not words:
        return ""
    return " ".join([words[0]] + [w[0] + "*" * (len(w) - 1) for w in words[1:]])


def phone_tail(phone: str | None) -> str:
    """The last 4 digits of a phone number ('' when it has fewer than 4 digits)."""
    digits = re.sub(r"\D", "", phone or "")
    return digits[-4:] if len(digits) >= 4 else ""


def _limit(amount, unit) -> str:
    if unit == "none":
        return "Không quy định thời hạn"
    if not unit or amount is None:
        return ""
    return f"{amount} {LIMIT_UNIT_LABELS.get(unit, unit)}"


def time_limit_text(procedure: Procedure) -> str:
    """The committed time, the statutory one in brackets when they differ (as on form 01)."""
    rule = procedure.rule_at(now())  # a decided rule version replaces the committed time (domain.md §10)
    effective = _limit(rule.limit_amount, rule.limit_unit)
    statutory = _limit(rule.statutory_amount, rule.statutory_unit)
    if effective and statutory and effective != statutory:
        return f"{effective} (theo quy định: {statutory})"
    return effective or statutory or "Chưa công bố"


def _search_condition(q: str):
    """Each word in the folded name (any order, no diacritics needed), or part of the code."""
    words = [w for w in q.split() if w]
    code = Procedure.national_code.ilike(
        "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", escape="\\")
    return or_(and_(*[Procedure.name_search.like(like_pattern(w), escape="\\") for w in words]), code)


# -- catalog -------------------------------------------------------------------------------------


@bp.route("/thu-tuc")
def list_procedures():
    q = (request.args.get("q") or "").strip()[:200]
    field = (request.args.get("linh-vuc") or "").strip()[:255]
    query = select(Procedure).where(Procedure.active.is_(True))
    if q:
        query = query.where(_search_condition(q))
    if field:
        query = query.where(Procedure.field == field)
    query = query.order_by(Procedure.field, Procedure.name_search, Procedure.id)
    page = db.paginate(query, page=parse_page(request.args.get("page")), per_page=PER_PAGE,
                       max_per_page=PER_PAGE, error_out=False)
    fields = db.session.execute(
        select(Procedure.field, func.count(Procedure.id)).where(Procedure.active.is_(True))
        .group_by(Procedure.field).order_by(Procedure.field)).all()
    args = {k: v for k, v in {"q": q, "linh-vuc": field}.items() if v}
    return render_template("public/procedures.html", page=page, q=q, field=field, fields=fields, args=args)


@bp.route("/thu-tuc/<int:procedure_id>")
def show_procedure(procedure_id: int):
    procedure = db.session.scalar(
        select(Procedure).where(Procedure.id == procedure_id, Procedure.active.is_(True))
        .options(selectinload(Procedure.documents), selectinload(Procedure.unit))
    ) or abort(404)
    return render_template("public/procedure.html", procedure=procedure, time_limit=time_limit_text(procedure),
                           channel_labels=CHANNEL_LABELS)


# -- dossier look-up -----------------------------------------------------------------------------


class LookupForm(Form):
    ma = StringField("Mã hồ sơ", validators=[DataRequired("Nhập mã hồ sơ."), Length(max=64, message="Mã hồ sơ quá dài.")])
    so = StringField("4 số cuối điện thoại (hoặc của số giấy tờ nếu không khai điện thoại)", validators=[
        DataRequired("Nhập 4 số cuối số điện thoại của người nộp (không khai điện thoại: 4 số cuối số giấy tờ)."),
        Regexp(r"^\d{4}$", message="Nhập đúng 4 chữ số: cuối số điện thoại đã khai khi nộp hồ sơ (không khai "
                                    "điện thoại: cuối số giấy tờ).")])


class RatingForm(LookupForm):
    ma = HiddenField(validators=[DataRequired(), Length(max=64)])
    so = HiddenField(validators=[DataRequired(), Regexp(r"^\d{4}$")])
    satisfied = RadioField("Mức độ hài lòng", choices=[SelectChoice("1", "Hài lòng"), SelectChoice("0", "Không hài lòng")],
                           validators=[InputRequired("Chọn Hài lòng hoặc Không hài lòng.")])
    comment = TextAreaField("Góp ý (không bắt buộc)", validators=[
        Length(max=MAX_COMMENT, message=f"Góp ý tối đa {MAX_COMMENT} ký tự.")])


def _window_minutes() -> int:
    return int(current_app.config.get("PUBLIC_LOOKUP_WINDOW_MINUTES", DEFAULT_WINDOW_MINUTES))


def lookup_throttled(session_, ip: str, at) -> bool:
    """Too many failed look-ups from this address within the window (successes don't count)."""
    since = at - timedelta(minutes=_window_minutes())
    failures = session_.scalar(select(func.count(LookupAttempt.id)).where(
        LookupAttempt.ip == ip, LookupAttempt.success.is_(False), LookupAttempt.at >= since))
    return failures >= int(current_app.config.get("PUBLIC_LOOKUP_MAX_FAILURES", DEFAULT_MAX_FAILURES))


def lookup_digits(dossier: Dossier) -> str:
    """The 4 digits that open the look-up: the phone's last 4, or, for an applicant without a
    phone ("không có số điện thoại" at the desk, issue 16), the last 4 digits of the ID number.
    The receipt says which ones (intake/slips)."""
    return phone_tail(dossier.applicant_phone) or phone_tail(dossier.applicant_id_number)


def find_by_code(session_, code: str) -> Dossier | None:
    """The dossier of ``code`` typed in any letter case: codes are unique as stored; the product's
    own codes are upper case (``000.00.31.H49-...``), an external code is tried as typed, upper
    and lower case (each an indexed equality, never a scan)."""
    code = code.strip()
    for candidate in dict.fromkeys((code, code.upper(), code.lower())):
        dossier = session_.scalar(select(Dossier).where(Dossier.code == candidate))
        if dossier is not None:
            return dossier
    return None


def code_locked_until(session_, code: str, at):
    """The end of the lock of ``code`` at ``at``, or None: N failed look-ups of one code, from any
    addresses, within the window lock it for the lock time (issue 12; codes are sequential and the
    secret is 4 digits, so a per-address throttle alone lets a patient attacker walk them)."""
    cfg = current_app.config
    max_failures = int(cfg.get("PUBLIC_LOOKUP_CODE_MAX_FAILURES", 5))
    window = timedelta(minutes=int(cfg.get("PUBLIC_LOOKUP_CODE_WINDOW_MINUTES", 15)))
    lock = timedelta(minutes=int(cfg.get("PUBLIC_LOOKUP_CODE_LOCK_MINUTES", 15)))
    if max_failures <= 0:
        return None
    times = session_.scalars(select(LookupAttempt.at).where(
        LookupAttempt.code == code, LookupAttempt.success.is_(False), LookupAttempt.at >= at - window - lock)
        .order_by(LookupAttempt.at)).all()
    until = None
    for i in range(max_failures - 1, len(times)):
        if times[i] - times[i - max_failures + 1] <= window:
            end = times[i] + lock
            until = end if until is None or end > until else until
    return until if until is not None and until > at else None


def _locked_response(form, until):
    cfg = current_app.config
    minutes = max(1, int((until - now()).total_seconds() // 60) + 1)
    contact = "Bộ phận Tiếp nhận và Trả kết quả của " + (cfg.get("AGENCY_NAME") or "cơ quan")
    if cfg.get("AGENCY_PHONE"):
        contact += f", điện thoại {cfg['AGENCY_PHONE']}"
    if cfg.get("AGENCY_ADDRESS"):
        contact += f", địa chỉ {cfg['AGENCY_ADDRESS']}"
    message = CODE_LOCKED_MESSAGE.format(minutes=minutes, contact=contact)
    return render_template("public/lookup.html", form=form, error=message), 429


def _check_and_verify(code: str, digits: str):
    """Throttle by address, lock by code, verify, record the attempt: atomically across workers.
    Returns (dossier or None, refusal response or None); commits."""
    ip, at = client_ip(), now()
    code = code.strip()
    # Codes are found in any letter case: the lock counts them as one.
    key = code.upper()[:64]
    throttle.serialise(db.session, f"lookup-ip:{ip}", f"lookup-code:{key}")
    if lookup_throttled(db.session, ip, at):
        db.session.rollback()
        return None, "throttled", None
    until = code_locked_until(db.session, key, at)
    if until is not None:
        db.session.rollback()
        return None, "locked", until
    dossier = verify(db.session, code, digits)
    db.session.add(LookupAttempt(at=at, ip=ip, success=dossier is not None, code=key))
    db.session.commit()
    return dossier, None, None


def verify(session_, code: str, digits: str) -> Dossier | None:
    """The dossier whose code is ``code`` (any letter case) and whose look-up digits
    (:func:`lookup_digits`) are ``digits``, or None.

    The digits are compared in constant time, against a dummy value when the code is unknown,
    so that the work done does not tell a wrong code from a wrong phone."""
    dossier = find_by_code(session_, code)
    expected = lookup_digits(dossier) if dossier is not None else ""
    # A dossier without usable digits can never be looked up: compare against a value no input matches.
    ok = hmac.compare_digest((expected or "----").encode(), digits.encode())
    return dossier if (dossier is not None and ok) else None


def _throttled_response(form):
    message = THROTTLED_MESSAGE.format(minutes=_window_minutes())
    return render_template("public/lookup.html", form=form, error=message), 429


def _public_history(dossier: Dossier) -> list[dict]:
    return [{"label": PUBLIC_EVENT_LABELS[e.type], "at": e.at, "type": e.type}
            for e in dossier.events if not e.voided and e.type in PUBLIC_EVENT_LABELS]


def _appointment_before_extension(dossier: Dossier):
    """What the applicant held before the apology's new appointment (form 04 quotes it)."""
    for e in sorted(dossier.events, key=lambda e: e.seq, reverse=True):
        if e.type == "extended" and not e.voided:
            data = e.data or {}
            text = data.get("previous_appointment") or data.get("previous_deadline")
            try:
                return datetime.fromisoformat(text) if text else dossier.original_deadline_at
            except ValueError:
                return dossier.original_deadline_at
    return dossier.appointment_at


def _render_result(dossier: Dossier, digits: str, *, rating_form=None, message=None, status=200):
    rating = db.session.scalar(select(Rating).where(Rating.dossier_id == dossier.id))
    can_rate = dossier.status == "handed_over" and rating is None
    if can_rate and rating_form is None:
        rating_form = RatingForm(formdata=None, ma=dossier.code, so=digits)
    view = {
        "code": dossier.code,
        "masked_name": mask_name(dossier.applicant_name),
        "procedure": dossier.procedure.name if dossier.procedure else "",
        "status": dossier.status,
        "status_label": STATUS_LABELS.get(dossier.status, dossier.status),
        "received_at": dossier.received_at,
        # The appointment the applicant holds (domain.md §9); after an extension, the one it replaced too.
        "appointment_at": _appointment_before_extension(dossier) if dossier.extended else dossier.appointment_at,
        "new_appointment_at": dossier.appointment_at if dossier.extended else None,
        "handed_over_at": dossier.handed_over_at,
        "history": _public_history(dossier),
    }
    return render_template("public/result.html", d=view, rating=rating, can_rate=can_rate,
                           rating_form=rating_form, message=message), status


@bp.route("/tra-cuu", methods=["GET", "POST"])
def lookup():
    form = LookupForm()
    if request.method == "GET":
        form.ma.data = (request.args.get("ma") or "").strip()[:64]
        return render_template("public/lookup.html", form=form, error=None)
    if not form.validate_on_submit():
        return render_template("public/lookup.html", form=form, error=None), 400
    dossier, refusal, until = _check_and_verify(form.ma.data, form.so.data)
    if refusal == "throttled":
        return _throttled_response(form)
    if refusal == "locked":
        return _locked_response(form, until)
    if dossier is None:
        return render_template("public/lookup.html", form=form, error=NOT_FOUND_MESSAGE), 200
    return _render_result(dossier, form.so.data)


@bp.route("/tra-cuu/danh-gia", methods=["POST"])
def rate_dossier():
    """The applicant's one-time rating; the code and phone digits are verified again."""
    form = RatingForm()
    lookup_form = LookupForm(formdata=None, ma=(form.ma.data or "")[:64])
    at = now()
    if lookup_throttled(db.session, client_ip(), at):
        return _throttled_response(lookup_form)
    if not (form.ma.data and form.so.data and re.fullmatch(r"\d{4}", form.so.data)):
        return render_template("public/lookup.html", form=lookup_form, error=None), 400
    dossier, refusal, until = _check_and_verify(form.ma.data, form.so.data)
    if refusal == "throttled":
        return _throttled_response(lookup_form)
    if refusal == "locked":
        return _locked_response(lookup_form, until)
    if dossier is None:
        lookup_form.so.data = form.so.data
        return render_template("public/lookup.html", form=lookup_form, error=NOT_FOUND_MESSAGE), 200
    if dossier.status != "handed_over":
        return _render_result(dossier, form.so.data, message=("warning", NOT_HANDED_OVER_MESSAGE), status=409)
    if db.session.scalar(select(Rating.id).where(Rating.dossier_id == dossier.id)) is not None:
        return _render_result(dossier, form.so.data, message=("warning", ALREADY_RATED_MESSAGE), status=409)
    if not form.validate_on_submit():
        return _render_result(dossier, form.so.data, rating_form=form, status=422)
    db.session.add(Rating(dossier_id=dossier.id, satisfied=form.satisfied.data == "1",
                          comment=(form.comment.data or "").strip(), created_at=at, unit_id=dossier.unit_id))
    audit.record(db.session, "rate", "dossier", dossier.id, user=None,
                 after={"satisfied": form.satisfied.data == "1", "comment_length": len((form.comment.data or "").strip())},
                 note="đánh giá công khai của người nộp hồ sơ")
    try:
        db.session.commit()
    except IntegrityError:  # two submissions at once: the unique dossier_id keeps one
        db.session.rollback()
        return _render_result(dossier, form.so.data, message=("warning", ALREADY_RATED_MESSAGE), status=409)
    return _render_result(dossier, form.so.data,
                          message=("success", "Cảm ơn ông/bà đã đánh giá chất lượng phục vụ."))


@bp.errorhandler(404)
def not_found(_exc):
    return render_template("public/error.html", title="Không tìm thấy",
                           message="Trang hoặc thủ tục bạn tìm không tồn tại hoặc đã ngừng áp dụng."), 404
