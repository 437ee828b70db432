"""Forms of the catalog: the administrator's procedure form and the import upload.

Numbers and dates are plain text fields parsed here, so that every message is
in Vietnamese and a bad value re-renders the form with the user's input kept.
Dossier components are typed one per line ("Tên giấy tờ | bản chính | 1"),
which lets an administrator paste the list published with the procedure;
steps are a few rows of name, unit and share.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Optional

from flask_wtf.file import FileField
from wtforms import BooleanField, FieldList, FormField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from tthc.catalog.services import COMMITTED_UNITS, LIMIT_UNITS, ONLINE_LEVELS
from tthc.forms import Form, SubForm
from tthc.models import DOCUMENT_KIND_LABELS, LIMIT_UNIT_LABELS, SUPPLEMENT_RULE_LABELS, Procedure
from tthc.params import MAX_ID, parse_id, parse_int
from tthc.text import fold

EXTRA_STEP_ROWS = 2

_KIND_ALIASES = {
    "ban chinh": "original",
    "chinh": "original",
    "bc": "original",
    "original": "original",
    "ban sao": "copy",
    "sao": "copy",
    "bs": "copy",
    "copy": "copy",
    "ban chinh hoac ban sao": "original_or_copy",
    "chinh hoac sao": "original_or_copy",
    "ban chinh hoac sao": "original_or_copy",
    "original_or_copy": "original_or_copy",
}


def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value=value, label=label) for value, label in pairs]


def _length(maximum: int, label: str) -> Length:
    return Length(max=maximum, message=f"{label} dài quá {maximum} ký tự.")


class StepForm(SubForm):
    """One step of multi-unit processing (no CSRF of its own: it lives inside ProcedureForm)."""

    name = StringField("Tên bước")
    unit_id = SelectField("Đơn vị thực hiện", coerce=str, validate_choice=False)
    share_amount = StringField("Thời gian", render_kw={"inputmode": "numeric", "size": 5})

    def is_blank(self) -> bool:
        return not ((self.name.data or "").strip() or (self.unit_id.data or "").strip()
                    or (self.share_amount.data or "").strip())


class ProcedureForm(Form):
    national_code = StringField("Mã TTHC", validators=[_length(64, "Mã TTHC")],
                                render_kw={"placeholder": "ví dụ: 1.014393 hoặc 1.014393.H38"})
    name = TextAreaField("Tên thủ tục", render_kw={"rows": 2})
    field = StringField("Lĩnh vực", validators=[_length(255, "Lĩnh vực")], render_kw={"list": "field-options"})
    unit_id = SelectField("Đơn vị xử lý", coerce=str, validate_choice=False)
    limit_unit = SelectField(
        "Đơn vị thời hạn theo quy định", validate_choice=False,
        choices=_choices([("", "— Chưa có thời hạn —")] + [(u, LIMIT_UNIT_LABELS[u]) for u in LIMIT_UNITS]),
    )
    statutory_amount = StringField("Thời hạn theo quy định", render_kw={"inputmode": "numeric"})
    committed_amount = StringField("Thời hạn cam kết (rút ngắn)", render_kw={"inputmode": "numeric"})
    committed_unit = SelectField(
        "Đơn vị thời hạn cam kết", validate_choice=False,
        choices=_choices([("", "— Không cam kết rút ngắn —")] + [(u, LIMIT_UNIT_LABELS[u]) for u in COMMITTED_UNITS]),
    )
    supplement_rule = SelectField("Khi yêu cầu bổ sung hồ sơ", validate_choice=False,
                                  choices=_choices(SUPPLEMENT_RULE_LABELS.items()))
    fee = TextAreaField("Phí, lệ phí", render_kw={"rows": 2})
    online_level = SelectField("Mức độ trực tuyến", validate_choice=False,
                               choices=_choices([("", "— Không trực tuyến / chưa rõ —")] + [(v, v) for v in ONLINE_LEVELS]))
    legal_basis = TextAreaField("Căn cứ pháp lý", render_kw={"rows": 3})
    effective_date = StringField("Ngày hiệu lực", render_kw={"type": "date"})
    submission_info = TextAreaField("Cách thức thực hiện", render_kw={"rows": 2})
    result_location = TextAreaField("Nơi trả kết quả", render_kw={"rows": 2})
    source = StringField("Nguồn (địa chỉ công bố)")
    active = BooleanField("Đang áp dụng")
    inactive_reason = TextAreaField("Lý do ngừng áp dụng", render_kw={"rows": 2})
    documents = TextAreaField("Thành phần hồ sơ", render_kw={"rows": 8})
    steps = FieldList(FormField(StepForm), min_entries=0)

    def set_choices(self, units) -> None:
        choices = _choices([("", "— Chưa chọn —")] + [(str(u.id), u.name + ("" if u.active else " (ngừng hoạt động)"))
                                                       for u in units])
        self.unit_id.choices = choices
        for entry in self.steps:
            entry.form.unit_id.choices = choices

    def to_data(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The typed data for services.save_procedure, and the parsing errors by field."""
        errors: dict[str, str] = {}
        data: dict[str, Any] = {
            "national_code": (self.national_code.data or "").strip(),
            "name": " ".join((self.name.data or "").split()),
            "field": (self.field.data or "").strip(),
            "unit_id": _int_or_none(self.unit_id.data),
            "fee": self.fee.data or "",
            "online_level": self.online_level.data or "",
            "limit_unit": self.limit_unit.data or None,
            "committed_unit": self.committed_unit.data or None,
            "supplement_rule": self.supplement_rule.data or "restart",
            "legal_basis": self.legal_basis.data or "",
            "submission_info": self.submission_info.data or "",
            "result_location": self.result_location.data or "",
            "source": self.source.data or "",
            "active": bool(self.active.data),
            "inactive_reason": self.inactive_reason.data or "",
        }
        if data["unit_id"] is None and (self.unit_id.data or "").strip():
            errors["unit_id"] = "Đơn vị xử lý không tồn tại."  # not a valid id (e.g. out of range)
        for key in ("statutory_amount", "committed_amount"):
            raw = (getattr(self, key).data or "").strip()
            data[key] = None
            if raw:
                if re.fullmatch(r"\d+", raw):
                    data[key] = parse_int(raw, 0, MAX_ID)
                    if data[key] is None:
                        errors[key] = f"“{raw[:20]}” quá lớn."
                else:
                    errors[key] = f"“{raw}” không phải số nguyên dương."
        raw_date = (self.effective_date.data or "").strip()
        data["effective_date"] = None
        if raw_date:
            data["effective_date"] = parse_date(raw_date)
            if data["effective_date"] is None:
                errors["effective_date"] = f"“{raw_date}” không phải ngày hợp lệ (dd/mm/yyyy)."
        data["documents"], doc_errors = parse_documents(self.documents.data or "")
        if doc_errors:
            errors["documents"] = " ".join(doc_errors)
        steps, step_errors = [], []
        for i, entry in enumerate(self.steps, start=1):
            sub = entry.form
            if sub.is_blank():
                continue
            share_raw = (sub.share_amount.data or "").strip()
            share: Optional[int] = parse_int(share_raw, 0, MAX_ID) if re.fullmatch(r"\d+", share_raw) else None
            if share is None:
                step_errors.append(f"Bước {i}: thời gian “{share_raw}” không phải số nguyên dương.")
            unit_id = _int_or_none(sub.unit_id.data)
            if unit_id is None:
                step_errors.append(f"Bước {i}: chọn đơn vị thực hiện.")
            steps.append({"name": (sub.name.data or "").strip(), "unit_id": unit_id, "share_amount": share})
        data["steps"] = steps
        if step_errors:
            errors["steps"] = " ".join(step_errors)
        return data, errors

    def add_errors(self, errors: dict[str, str]) -> None:
        for key, message in errors.items():
            target = getattr(self, key, None)
            if target is None:
                target = self.name
            target.errors = list(target.errors or []) + [message]


class ImportForm(Form):
    file = FileField("Tệp danh mục (.xlsx hoặc .csv UTF-8)")


def _int_or_none(value: Any) -> Optional[int]:
    """A unit id from a select; out of range → None (like an unknown id)."""
    return parse_id(value)


def parse_date(text: str) -> Optional[date]:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def parse_documents(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """One document per line: "Tên giấy tờ | bản chính | 1" (kind and count optional)."""
    documents: list[dict[str, Any]] = []
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split("|")]
        name, kind, count = parts[0], "original", 1
        rest = parts[1:]
        if len(parts) > 3:
            name, rest = " | ".join(parts[:-2]), parts[-2:]
        if len(rest) == 1 and re.fullmatch(r"\d+", rest[0]):
            rest = ["", rest[0]]
        if rest and rest[0]:
            kind = _KIND_ALIASES.get(fold(rest[0]))
            if kind is None:
                errors.append(f"Dòng {number}: loại bản “{rest[0]}” không rõ; ghi “bản chính”, “bản sao” "
                              "hoặc “bản chính hoặc bản sao”.")
                continue
        if len(rest) > 1 and rest[1]:
            count = parse_int(rest[1], 1, 100) if re.fullmatch(r"\d+", rest[1]) else None
            if count is None:
                errors.append(f"Dòng {number}: số lượng “{rest[1][:20]}” phải là số nguyên từ 1 đến 100.")
                continue
        if not name:
            errors.append(f"Dòng {number}: thiếu tên giấy tờ.")
            continue
        documents.append({"name": name, "kind": kind, "count": count})
    return documents, errors


def format_documents(procedure: Procedure) -> str:
    return "\n".join(f"{d.name} | {DOCUMENT_KIND_LABELS.get(d.kind, d.kind).lower()} | {d.count}"
                     for d in procedure.documents)


def initial_data(procedure: Optional[Procedure]) -> dict[str, Any]:
    """The form's initial values for a procedure (or a new one)."""
    if procedure is None:
        return {"supplement_rule": "restart", "active": True, "steps": [{}] * EXTRA_STEP_ROWS}
    return {
        "national_code": procedure.national_code or "",
        "name": procedure.name,
        "field": procedure.field,
        "unit_id": str(procedure.unit_id or ""),
        "limit_unit": procedure.limit_unit or "",
        "statutory_amount": "" if procedure.statutory_amount is None else str(procedure.statutory_amount),
        "committed_amount": "" if procedure.committed_amount is None else str(procedure.committed_amount),
        "committed_unit": procedure.committed_unit or "",
        "supplement_rule": procedure.supplement_rule or "restart",
        "fee": procedure.fee or "",
        "online_level": procedure.online_level or "",
        "legal_basis": procedure.legal_basis or "",
        "effective_date": procedure.effective_date.isoformat() if procedure.effective_date else "",
        "submission_info": procedure.submission_info or "",
        "result_location": procedure.result_location or "",
        "source": procedure.source or "",
        "active": procedure.active,
        "inactive_reason": procedure.inactive_reason or "",
        "documents": format_documents(procedure),
        "steps": [{"name": s.name, "unit_id": str(s.unit_id or ""), "share_amount": str(s.share_amount)}
                  for s in procedure.steps] + [{}] * EXTRA_STEP_ROWS,
    }
