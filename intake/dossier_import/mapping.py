"""Column mapping of a dossier import: which header of a file carries which field (pure).

Real exports vary in their headers (domain.md §12), so the mapping is data, not code:
a JSON object an administrator saves on the import page or passes to
``flask import dossiers --mapping FILE.json``::

    {
      "columns":  {"Số hồ sơ": "code", "Cột không dùng": null},
      "statuses": {"Đã giải quyết xong": "finished"},
      "results":  {"Đạt": "approved"},
      "channels": {"Nộp qua cổng": "online"},
      "defaults": {"channel": "direct", "result": "approved"}
    }

Keys of ``columns``, ``statuses``, ``results`` and ``channels`` are compared in their
folded form (case, diacritics and spacing ignored, ``tthc.text.fold``); a header not
named in ``columns`` is recognised by the built-in Vietnamese names below, and a
``null`` value ignores that column. Imports only the standard library and ``tthc.text``.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping as TMapping

from tthc.text import fold

# field key -> (Vietnamese label, required)
FIELDS: dict[str, tuple[str, bool]] = {
    "code": ("Mã hồ sơ", True),
    "national_code": ("Mã TTHC", False),
    "procedure_name": ("Tên thủ tục", False),
    "applicant_kind": ("Loại chủ hồ sơ", False),
    "applicant_name": ("Chủ hồ sơ", True),
    "id_number": ("Số giấy tờ", False),
    "phone": ("Số điện thoại", False),
    "email": ("Email", False),
    "address": ("Địa chỉ", False),
    "request_summary": ("Nội dung yêu cầu", False),
    "channel": ("Hình thức nộp", False),
    "reception_point": ("Nơi tiếp nhận", False),
    "submitted_at": ("Ngày nộp", False),
    "received_at": ("Ngày tiếp nhận", True),
    "appointment_at": ("Ngày hẹn trả", False),
    "unit": ("Đơn vị xử lý", False),
    "forwarded_at": ("Ngày chuyển xử lý", False),
    "supplement_requested_at": ("Ngày yêu cầu bổ sung", False),
    "supplement_received_at": ("Ngày nhận bổ sung", False),
    "finished_at": ("Ngày có kết quả", False),
    "result": ("Kết quả", False),
    "handed_over_at": ("Ngày trả kết quả", False),
    "closed_at": ("Ngày kết thúc", False),
    "status": ("Trạng thái", True),
    "updated_at": ("Ngày cập nhật", False),
    "note": ("Ghi chú", False),
}

# Other spellings seen in exports (folded) -> field key. The labels above are recognised too.
_HEADER_ALIASES = {
    "so ho so": "code",
    "ma so ho so": "code",
    "ma thu tuc": "national_code",
    "ma tthc": "national_code",
    "ten tthc": "procedure_name",
    "thu tuc": "procedure_name",
    "thu tuc hanh chinh": "procedure_name",
    "doi tuong": "applicant_kind",
    "loai doi tuong": "applicant_kind",
    "nguoi nop": "applicant_name",
    "ten nguoi nop": "applicant_name",
    "ten chu ho so": "applicant_name",
    "to chuc, ca nhan": "applicant_name",
    "so cccd": "id_number",
    "so cmnd/cccd": "id_number",
    "so cccd/ho chieu": "id_number",
    "dien thoai": "phone",
    "sdt": "phone",
    "thu dien tu": "email",
    "e-mail": "email",
    "dia chi lien he": "address",
    "noi dung": "request_summary",
    "kenh nop": "channel",
    "hinh thuc tiep nhan": "channel",
    "diem tiep nhan": "reception_point",
    "thoi gian nop": "submitted_at",
    "ngay nop ho so": "submitted_at",
    "thoi gian tiep nhan": "received_at",
    "ngay nhan": "received_at",
    "ngay hen tra ket qua": "appointment_at",
    "hen tra": "appointment_at",
    "co quan xu ly": "unit",
    "phong xu ly": "unit",
    "ngay chuyen": "forwarded_at",
    "ngay yeu cau bo sung ho so": "supplement_requested_at",
    "ngay nhan ho so bo sung": "supplement_received_at",
    "ngay hoan thanh": "finished_at",
    "ngay ket qua": "finished_at",
    "ket qua giai quyet": "result",
    "ngay tra": "handed_over_at",
    "ngay tra kq": "handed_over_at",
    "ngay rut ho so": "closed_at",
    "ngay tra lai ho so": "closed_at",
    "ngay dung xu ly": "closed_at",
    "ngay dung giai quyet": "closed_at",
    "tinh trang": "status",
    "trang thai ho so": "status",
    "thoi gian cap nhat": "updated_at",
    "ngay cap nhat trang thai": "updated_at",
}

# Status words (folded) -> the product's status (domain.md §8).
STATUSES = ("received", "in_progress", "awaiting_supplement", "finished", "handed_over", "returned_unprocessed",
            "withdrawn", "stopped")
_STATUS_WORDS = {
    "moi tiep nhan": "received",
    "da tiep nhan": "received",
    "tiep nhan": "received",
    "cho chuyen xu ly": "received",
    "dang xu ly": "in_progress",
    "dang giai quyet": "in_progress",
    "da chuyen xu ly": "in_progress",
    "cho bo sung": "awaiting_supplement",
    "yeu cau bo sung": "awaiting_supplement",
    "dang bo sung": "awaiting_supplement",
    "da co ket qua": "finished",
    "cho tra ket qua": "finished",
    "da giai quyet": "finished",
    "da tra ket qua": "handed_over",
    "hoan thanh": "handed_over",
    "tra lai ho so": "returned_unprocessed",
    "da tra lai ho so": "returned_unprocessed",
    "rut ho so": "withdrawn",
    "da rut ho so": "withdrawn",
    "cong dan rut ho so": "withdrawn",
    "dung xu ly": "stopped",
    "dung giai quyet": "stopped",
    "da dung xu ly": "stopped",
}
RESULTS = ("approved", "refused")
_RESULT_WORDS = {
    "cap phep": "approved",
    "chap thuan": "approved",
    "dat": "approved",
    "da giai quyet": "approved",
    "giai quyet": "approved",
    "cap giay chung nhan": "approved",
    "tu choi": "refused",
    "khong chap thuan": "refused",
    "khong dat": "refused",
}
CHANNELS = ("direct", "online", "postal")
_CHANNEL_WORDS = {
    "truc tiep": "direct",
    "tai quay": "direct",
    "truc tuyen": "online",
    "qua mang": "online",
    "dich vu cong truc tuyen": "online",
    "buu chinh cong ich": "postal",
    "buu chinh": "postal",
    "bcci": "postal",
    "qua buu dien": "postal",
}
_KIND_WORDS = {
    "cong dan": "individual",
    "ca nhan": "individual",
    "to chuc": "organisation",
    "doanh nghiep": "organisation",
    "co quan": "organisation",
}
DEFAULTABLE = ("channel", "result", "applicant_kind", "reception_point")


class MappingError(ValueError):
    """A mapping definition that cannot be used; the message is Vietnamese."""


def nfc(text: str) -> str:
    """NFC form: Windows-1258 text decodes to base letters plus combining marks (domain.md §12)."""
    return unicodedata.normalize("NFC", text)


def _key(text: Any) -> str:
    return fold(nfc(str(text))) if text is not None else ""


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping definition (see the module docstring); ``Mapping()`` is the built-in one."""

    columns: dict[str, str | None] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    results: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_definition(cls, data: Any) -> "Mapping":
        """Validate a JSON-like definition; raises MappingError naming what is wrong."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise MappingError("Bảng ánh xạ phải là một đối tượng JSON ({...}).")
        unknown = set(data) - {"columns", "statuses", "results", "channels", "defaults", "name"}
        if unknown:
            raise MappingError(f"Bảng ánh xạ có mục không nhận: {', '.join(sorted(unknown))}.")

        def table(name: str, allowed: Iterable[str], nullable: bool = False) -> dict[str, Any]:
            raw = data.get(name) or {}
            if not isinstance(raw, dict):
                raise MappingError(f"Mục “{name}” phải là một đối tượng JSON.")
            allowed = tuple(allowed)
            out: dict[str, Any] = {}
            for k, v in raw.items():
                if not isinstance(k, str) or not k.strip():
                    raise MappingError(f"Mục “{name}” có khóa rỗng.")
                if v is None and nullable:
                    out[_key(k)] = None
                    continue
                if not isinstance(v, str) or v not in allowed:
                    raise MappingError(f"Mục “{name}”: giá trị “{v}” của “{k}” không hợp lệ; dùng một trong: "
                                       f"{', '.join(allowed)}.")
                out[_key(k)] = v
            return out

        defaults_raw = data.get("defaults") or {}
        if not isinstance(defaults_raw, dict):
            raise MappingError("Mục “defaults” phải là một đối tượng JSON.")
        defaults: dict[str, str] = {}
        for k, v in defaults_raw.items():
            if k not in DEFAULTABLE:
                raise MappingError(f"Mục “defaults”: không đặt giá trị mặc định cho “{k}”; chỉ cho: "
                                   f"{', '.join(DEFAULTABLE)}.")
            if not isinstance(v, str):
                raise MappingError(f"Mục “defaults”: giá trị của “{k}” phải là chuỗi.")
            choices = {"channel": CHANNELS, "result": RESULTS, "applicant_kind": ("individual", "organisation")}
            if k in choices and v not in choices[k]:
                raise MappingError(f"Mục “defaults”: “{v}” không hợp lệ cho “{k}”; dùng một trong: "
                                   f"{', '.join(choices[k])}.")
            defaults[k] = nfc(v.strip())
        return cls(columns=table("columns", FIELDS, nullable=True), statuses=table("statuses", STATUSES),
                   results=table("results", RESULTS), channels=table("channels", CHANNELS), defaults=defaults)

    @classmethod
    def from_json(cls, text: str) -> "Mapping":
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise MappingError(f"Tệp ánh xạ không phải JSON hợp lệ: {exc}.") from exc
        return cls.from_definition(data)

    def to_definition(self) -> dict[str, Any]:
        return {"columns": dict(self.columns), "statuses": dict(self.statuses), "results": dict(self.results),
                "channels": dict(self.channels), "defaults": dict(self.defaults)}

    # -- recognising headers and words ---------------------------------------------------------

    def field_for(self, header: Any) -> str | None:
        """The field a header carries, or None (unknown or ignored)."""
        key = _key(header)
        if not key:
            return None
        if key in self.columns:
            return self.columns[key]
        for name, (label, _required) in FIELDS.items():
            if key == fold(label) or key == name:
                return name
        return _HEADER_ALIASES.get(key)

    def status(self, word: str) -> str | None:
        key = _key(word)
        if key in self.statuses:
            return self.statuses[key]
        if key in STATUSES:
            return key
        return _STATUS_WORDS.get(key)

    def result(self, word: str) -> str | None:
        key = _key(word)
        if not key:
            return self.defaults.get("result")
        if key in self.results:
            return self.results[key]
        if key in RESULTS:
            return key
        if key in _RESULT_WORDS:
            return _RESULT_WORDS[key]
        # "Từ chối (có văn bản trả lời)", "Cấp phép lần đầu": the leading words decide.
        for words, value in _RESULT_WORDS.items():
            if key.startswith(words + " ") or key.startswith(words + "("):
                return value
        return None

    def channel(self, word: str) -> str | None:
        key = _key(word)
        if not key:
            return self.defaults.get("channel")
        if key in self.channels:
            return self.channels[key]
        if key in CHANNELS:
            return key
        return _CHANNEL_WORDS.get(key)

    def applicant_kind(self, word: str) -> str | None:
        key = _key(word)
        if not key:
            return self.defaults.get("applicant_kind", "individual")
        if key in ("individual", "organisation"):
            return key
        return _KIND_WORDS.get(key)


@dataclass(frozen=True)
class HeaderMatch:
    """How a file's header row maps to fields: index -> field, and what is missing or unknown."""

    fields: dict[int, str]
    unknown: list[tuple[int, str]]  # (index, header) neither recognised nor ignored
    ignored: list[tuple[int, str]]
    duplicates: list[tuple[int, str, str]]  # (index, header, field already taken by an earlier column)
    missing: list[str]  # required fields no column carries

    @property
    def usable(self) -> bool:
        return not self.missing

    def column_of(self, field_name: str) -> int | None:
        for index, name in self.fields.items():
            if name == field_name:
                return index
        return None


def match_headers(headers: list[Any], mapping: Mapping) -> HeaderMatch:
    """Recognise each header cell. A procedure needs ``national_code`` or ``procedure_name``."""
    fields: dict[int, str] = {}
    unknown, ignored, duplicates = [], [], []
    for index, header in enumerate(headers):
        text = nfc(str(header)).strip() if header is not None else ""
        if not text:
            continue
        name = mapping.field_for(text)
        if name is None:
            (ignored if _key(text) in mapping.columns else unknown).append((index, text))
        elif name in fields.values():
            duplicates.append((index, text, name))
        else:
            fields[index] = name
    present = set(fields.values())
    missing = [name for name, (_label, required) in FIELDS.items() if required and name not in present]
    if not present & {"national_code", "procedure_name"}:
        missing.append("national_code")
    return HeaderMatch(fields=fields, unknown=unknown, ignored=ignored, duplicates=duplicates, missing=missing)


def label(field_name: str) -> str:
    return FIELDS[field_name][0] if field_name in FIELDS else field_name


def describe_missing(match: HeaderMatch) -> str:
    names = []
    for name in match.missing:
        names.append("Mã TTHC hoặc Tên thủ tục" if name == "national_code" and "procedure_name" not in
                     match.fields.values() else label(name))
    return "Tệp thiếu cột: " + ", ".join(f"“{n}”" for n in names) + "."


def mapping_with_columns(base: Mapping, columns: TMapping[str, str | None]) -> Mapping:
    """``base`` with more header -> field entries (the page's mapping step)."""
    merged = dict(base.columns)
    for header, value in columns.items():
        merged[_key(header)] = value
    return Mapping(columns=merged, statuses=dict(base.statuses), results=dict(base.results),
                   channels=dict(base.channels), defaults=dict(base.defaults))
