"""The procedure catalog's rules: reading import files, importing rows, exporting, saving the admin form.

No Flask request objects here: the session is passed in and callers commit
(architecture.md). Messages meant for administrators are in Vietnamese.

Import rules (domain.md §2, issue 2): a row matches an existing procedure by
national code, or by exact name when it has no code; it updates only what the
source file carries (name, field, statutory limit, fee, online level, source)
and never the committed time, unit, documents or steps an administrator set.
An explicit ``none`` is a valid limit; a blank limit imports the procedure
inactive with a reason, never guessed.
"""
from __future__ import annotations

import csv
import io
import os
import re
import time
import zipfile
from dataclasses import dataclass, field as dc_field
from datetime import date, datetime
from typing import Any, BinaryIO, Iterable, Optional

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from tthc import audit
from tthc.clock import now
from tthc.models import (
    DOCUMENT_KIND_LABELS,
    LIMIT_UNIT_LABELS,
    SUPPLEMENT_RULE_LABELS,
    Procedure,
    ProcedureDocument,
    ProcedureStep,
    Unit,
)
from tthc.reports.workbook import Column, table_workbook
from tthc.text import fold, has_forbidden_chars

# The columns of procedures_sample.csv, in order; an export writes them first.
IMPORT_COLUMNS = ["national_code", "name", "field", "limit_amount", "limit_unit", "fee", "online_level", "source"]
COLUMN_LABELS = {
    "national_code": "Mã TTHC",
    "name": "Tên thủ tục",
    "field": "Lĩnh vực",
    "limit_amount": "Thời hạn theo quy định",
    "limit_unit": "Đơn vị thời hạn",
    "fee": "Phí, lệ phí",
    "online_level": "Mức độ trực tuyến",
    "source": "Nguồn",
}
LIMIT_UNITS = ("working_days", "working_hours", "calendar_days", "months", "none")
# Units a committed (reduced) time may use: "none" is not a reduction of anything.
COMMITTED_UNITS = ("working_days", "working_hours", "calendar_days", "months")
ONLINE_LEVELS = ("Toàn trình", "Một phần")
SUPPLEMENT_RULES = tuple(SUPPLEMENT_RULE_LABELS)
DOCUMENT_KINDS = tuple(DOCUMENT_KIND_LABELS)

BLANK_LIMIT_REASON = "Chưa có thời hạn giải quyết trong tệp nguồn: cần bổ sung trước khi áp dụng"
MAX_ROWS = 20000
MAX_COLUMNS = 64
MAX_XLSX_PARTS = 500
MAX_XLSX_UNCOMPRESSED = 64 * 1024 * 1024
MAX_AMOUNT = 9999  # no procedure runs 10 000 units; also keeps PostgreSQL's INTEGER safe

# Snapshot of a procedure for the audit log.
AUDIT_FIELDS = [
    "national_code", "name", "field", "unit_id", "fee", "online_level", "limit_unit", "statutory_amount",
    "committed_amount", "committed_unit", "supplement_rule", "legal_basis", "effective_date", "submission_info",
    "result_location", "source", "active", "inactive_reason",
]

# Friendly spellings accepted in the limit_unit column (folded), besides the codes themselves.
_UNIT_ALIASES = {
    "ngay lam viec": "working_days",
    "gio lam viec": "working_hours",
    "gio": "working_hours",
    "ngay": "calendar_days",
    "ngay lich": "calendar_days",
    "thang": "months",
    "khong": "none",
    "khong quy dinh": "none",
    "khong quy dinh thoi han": "none",
}
_ONLINE_ALIASES = {
    "muc do 4": "Toàn trình",
    "toan trinh": "Toàn trình",
    "muc do 3": "Một phần",
    "mot phan": "Một phần",
}


class CatalogImportError(Exception):
    """The file as a whole cannot be imported (nothing is written)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class CatalogValidationError(Exception):
    """The admin form's data breaks a rule; ``errors`` maps form field names to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class RowResult:
    row_number: int  # the spreadsheet line number, the header being line 1
    name: str
    national_code: str
    reason: str = ""


@dataclass
class ImportReport:
    created: list[RowResult] = dc_field(default_factory=list)
    updated: list[RowResult] = dc_field(default_factory=list)
    rejected: list[RowResult] = dc_field(default_factory=list)
    # Created or updated procedures left inactive (no time limit in the source); also listed above.
    inactive: list[RowResult] = dc_field(default_factory=list)
    # Rows matching a procedure whose imported data already equals the file (nothing written).
    unchanged: list[RowResult] = dc_field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.created) + len(self.updated) + len(self.unchanged) + len(self.rejected)


# --------------------------------------------------------------------------- reading files


def _canonical_header(raw: Any) -> str:
    """Map a header cell to a column key: 'limit_unit', 'Mã TTHC (national_code)' or 'Mã TTHC' all work."""
    text = "" if raw is None else str(raw).replace("\ufeff", "").strip()
    match = re.search(r"\(([A-Za-z_]+)\)\s*$", text)
    if match and match.group(1).lower() in IMPORT_COLUMNS:
        return match.group(1).lower()
    key = text.lower()
    if key in IMPORT_COLUMNS:
        return key
    folded = fold(text)
    for column, label in COLUMN_LABELS.items():
        if folded == fold(label):
            return column
    return key


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _rows_to_dicts(header: list[Any], rows: Iterable[list[Any]]) -> list[dict[str, str]]:
    keys = [_canonical_header(h) for h in header]
    missing = [c for c in IMPORT_COLUMNS if c not in keys]
    if missing:
        raise CatalogImportError(
            "Tệp thiếu cột bắt buộc: " + ", ".join(missing)
            + ". Dòng đầu tiên phải là dòng tiêu đề với các cột: " + ", ".join(IMPORT_COLUMNS) + "."
        )
    result: list[dict[str, str]] = []
    for values in rows:
        if len(result) >= MAX_ROWS:
            raise CatalogImportError(f"Tệp có quá nhiều dòng (tối đa {MAX_ROWS} dòng dữ liệu).")
        row: dict[str, str] = {}
        for i, key in enumerate(keys):
            if not key or key in row:
                continue
            row[key] = _cell_text(values[i]) if i < len(values) else ""
        result.append(row)
    # Spreadsheets often carry formatted but empty rows at the end.
    while result and not any(v.strip() for v in result[-1].values()):
        result.pop()
    return result


def _read_csv(data: bytes) -> list[dict[str, str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogImportError(
            "Không đọc được tệp CSV: tệp phải được lưu với bảng mã UTF-8 "
            "(trong Excel: Lưu thành › “CSV UTF-8 (Comma delimited)”)."
        ) from exc
    if not text.strip():
        raise CatalogImportError("Tệp rỗng: không có dòng tiêu đề.")
    first_line = text.lstrip("\r\n").splitlines()[0]
    # Column names contain no separators, so the header line tells the delimiter
    # (Excel in Vietnamese locale saves CSV with ";").
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    delimiter = max(counts, key=lambda d: counts[d])
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        header = next(reader)
        body = list(reader)
    except csv.Error as exc:
        raise CatalogImportError(f"Không đọc được tệp CSV: {exc}.") from exc
    return _rows_to_dicts(header, body)


def _check_xlsx_archive(data: bytes) -> None:
    """Refuse, before any XML parser sees them, workbooks that could hold a worker: too many
    parts, too much uncompressed data (zip bombs), or XML declaring a DTD or entities (billion
    laughs, external entities). openpyxl then parses through defusedxml (installed)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CatalogImportError("Không đọc được tệp Excel (.xlsx): tệp hỏng hoặc không đúng định dạng.") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_XLSX_PARTS or sum(i.file_size for i in infos) > MAX_XLSX_UNCOMPRESSED:
            raise CatalogImportError("Tệp Excel quá lớn khi giải nén: hãy chỉ giữ một trang tính danh mục "
                                     f"(tối đa {MAX_ROWS} dòng) và lưu lại.")
        for info in infos:
            if not info.filename.endswith((".xml", ".rels", ".vml")):
                continue
            try:
                with archive.open(info) as part:
                    content = part.read(MAX_XLSX_UNCOMPRESSED + 1)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
                raise CatalogImportError("Không đọc được tệp Excel (.xlsx): tệp hỏng.") from exc
            if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
                raise CatalogImportError("Tệp Excel chứa khai báo DTD/ENTITY không được phép trong tệp .xlsx "
                                         "hợp lệ: hãy mở bằng Excel và lưu lại thành tệp .xlsx mới.")


def _bounded(rows: Iterable, seconds: float) -> Iterable:
    """The rows, refusing the file once reading it takes longer than ``seconds``."""
    deadline = time.monotonic() + seconds
    for i, row in enumerate(rows):
        if i % 200 == 0 and time.monotonic() > deadline:
            raise CatalogImportError(f"Đọc tệp quá {seconds:g} giây: tệp quá lớn hoặc có quá nhiều ô định dạng trống. "
                                     "Hãy chỉ giữ các dòng và cột của danh mục rồi lưu lại.")
        yield row


def _read_xlsx(data: bytes, seconds: float = 20.0) -> list[dict[str, str]]:
    import openpyxl

    _check_xlsx_archive(data)
    try:
        # Not data_only: a formula is read as the text the user typed, never evaluated.
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises assorted errors (ParseError, KeyError...)
        raise CatalogImportError("Không đọc được tệp Excel (.xlsx): tệp hỏng hoặc không đúng định dạng.") from exc
    try:
        if not wb.worksheets:
            raise CatalogImportError("Tệp Excel không có trang tính nào.")
        # At most MAX_COLUMNS columns: a sheet claiming A1:XFD1048576 would otherwise be padded
        # to 16,384 values a row.
        rows = _bounded(wb.worksheets[0].iter_rows(values_only=True, max_col=MAX_COLUMNS,
                                                   max_row=MAX_ROWS + 1), seconds)
        header = next(rows, None)
        if header is None or not any(v not in (None, "") for v in header):
            raise CatalogImportError("Tệp rỗng: không có dòng tiêu đề.")
        return _rows_to_dicts(list(header), (list(r) for r in rows))
    except CatalogImportError:
        raise
    except Exception as exc:  # openpyxl raises assorted errors on malformed sheets
        raise CatalogImportError("Không đọc được tệp Excel (.xlsx): nội dung trang tính không hợp lệ.") from exc
    finally:
        wb.close()


def read_table(stream: BinaryIO | bytes, filename: str) -> list[dict[str, str]]:
    """Rows of a .csv or .xlsx file as dicts keyed by column name (the header is line 1)."""
    ext = os.path.splitext(filename or "")[1].lower()
    if ext not in (".csv", ".xlsx"):
        raise CatalogImportError(
            f"Không nhận định dạng tệp “{ext or filename or 'không tên'}”: chỉ nhận tệp .csv (UTF-8) hoặc .xlsx."
        )
    data = stream if isinstance(stream, (bytes, bytearray)) else stream.read()
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not data:
        raise CatalogImportError("Tệp rỗng: không có dòng tiêu đề.")
    if ext == ".csv":
        return _read_csv(bytes(data))
    seconds = float(current_app.config.get("CATALOG_IMPORT_SECONDS", 20)) if has_app_context() else 20.0
    return _read_xlsx(bytes(data), seconds)


# --------------------------------------------------------------------------- importing rows


@dataclass
class _ParsedRow:
    national_code: str
    name: str
    field: str
    limit_unit: Optional[str]
    statutory_amount: Optional[int]
    fee: str
    online_level: str
    source: str

    @property
    def has_limit(self) -> bool:
        return self.limit_unit is not None


def parse_amount(raw: str, column: str) -> int:
    """A positive whole number of days/hours/months; raises ValueError with a message naming the column."""
    text = raw.strip()
    if re.fullmatch(r"[+-]?\d+", text):
        value = int(text)
        if value < 0:
            raise ValueError(f"Cột {column}: “{raw}” là số âm; thời hạn phải là số nguyên dương.")
        if value == 0:
            raise ValueError(
                f"Cột {column}: thời hạn bằng 0 không hợp lệ "
                "(dùng giờ làm việc cho thủ tục giải quyết trong ngày, hoặc none nếu không quy định thời hạn)."
            )
        if value > MAX_AMOUNT:
            raise ValueError(f"Cột {column}: “{raw}” quá lớn (tối đa {MAX_AMOUNT}).")
        return value
    raise ValueError(f"Cột {column}: “{raw}” không phải số nguyên (ví dụ: 5).")


def normalise_limit_unit(raw: str) -> Optional[str]:
    """The unit code for 'working_days', 'ngày làm việc', ...; None when unknown."""
    text = raw.strip()
    if text.lower() in LIMIT_UNITS:
        return text.lower()
    return _UNIT_ALIASES.get(fold(text))


def normalise_online_level(raw: str) -> Optional[str]:
    """'Mức độ 4' -> 'Toàn trình', 'Mức độ 3' -> 'Một phần', blank stays blank; None when unknown."""
    text = raw.strip()
    if not text:
        return ""
    return _ONLINE_ALIASES.get(fold(text))


def _parse_row(row: dict[str, str]) -> tuple[Optional[_ParsedRow], list[str]]:
    def cell(key: str) -> str:
        # Text is kept exactly as written, including a leading = + - @ (never evaluated).
        return (row.get(key) or "").strip()

    errors: list[str] = [f"Cột {key} chứa ký tự không hợp lệ (ký tự điều khiển)." for key, value in row.items()
                         if has_forbidden_chars(value)]
    code, name, field_ = cell("national_code"), cell("name"), cell("field")
    if not name:
        errors.append("Cột name (tên thủ tục) trống.")
    if not field_:
        errors.append("Cột field (lĩnh vực) trống.")
    elif len(field_) > 255:
        errors.append("Cột field (lĩnh vực) dài quá 255 ký tự.")
    if len(code) > 64:
        errors.append("Cột national_code (mã TTHC) dài quá 64 ký tự.")

    amount_raw, unit_raw = cell("limit_amount"), cell("limit_unit")
    limit_unit: Optional[str] = None
    amount: Optional[int] = None
    if unit_raw:
        limit_unit = normalise_limit_unit(unit_raw)
        if limit_unit is None:
            errors.append(
                f"Cột limit_unit: “{unit_raw}” không hợp lệ; dùng một trong: {', '.join(LIMIT_UNITS)}."
            )
        elif limit_unit == "none":
            if amount_raw:
                errors.append(
                    f"Cột limit_amount phải để trống khi limit_unit là none (không quy định thời hạn), "
                    f"nhưng đang là “{amount_raw}”."
                )
        elif not amount_raw:
            errors.append(f"Cột limit_amount trống trong khi limit_unit là {limit_unit}: cần ghi số thời hạn.")
    if amount_raw:
        try:
            amount = parse_amount(amount_raw, "limit_amount")
        except ValueError as exc:
            errors.append(str(exc))
        if not unit_raw:
            errors.append(
                f"Cột limit_unit trống trong khi limit_amount là “{amount_raw}”: "
                f"cần ghi đơn vị ({', '.join(LIMIT_UNITS)})."
            )

    online_raw = cell("online_level")
    online = normalise_online_level(online_raw)
    if online is None:
        errors.append(
            f"Cột online_level: “{online_raw}” không hợp lệ; dùng “Toàn trình”, “Một phần” "
            "(hoặc “Mức độ 4”, “Mức độ 3”), hoặc để trống."
        )
    if errors:
        return None, errors
    return _ParsedRow(
        national_code=code, name=name, field=field_, limit_unit=limit_unit,
        statutory_amount=amount if limit_unit not in (None, "none") else None,
        fee=cell("fee"), online_level=online or "", source=cell("source"),
    ), []


def _steps_note(procedure: Procedure) -> str:
    """Warn when an import changed the limit under steps an administrator had split."""
    if not procedure.steps:
        return ""
    total = sum(s.share_amount for s in procedure.steps)
    if procedure.effective_amount != total:
        return (f"Lưu ý: tổng thời gian các bước ({total}) không còn bằng thời hạn áp dụng "
                f"({procedure.effective_amount}); cần kiểm tra lại các bước.")
    return ""


def import_rows(session, rows: list[dict[str, str]], actor=None) -> ImportReport:
    """Create or update procedures from rows (line numbers count the header as line 1). Caller commits."""
    report = ImportReport()
    existing = session.scalars(select(Procedure).options(selectinload(Procedure.steps))).all()
    by_code: dict[str, Procedure] = {p.national_code: p for p in existing if p.national_code}
    by_name: dict[str, list[Procedure]] = {}
    for p in existing:
        by_name.setdefault(p.name, []).append(p)
    seen_codes: dict[str, int] = {}
    seen_names: dict[str, int] = {}  # code-less rows, by exact name
    touched: dict[int, int] = {}  # id(procedure) -> line that wrote it

    for index, row in enumerate(rows):
        line = index + 2
        if not any((v or "").strip() for v in row.values()):
            continue
        code = (row.get("national_code") or "").strip()
        name = (row.get("name") or "").strip()

        # Duplicates inside the file are judged on the raw key, whatever else is wrong with the row.
        if code:
            if code in seen_codes:
                report.rejected.append(RowResult(line, name, code, f"Trùng mã TTHC “{code}” với dòng {seen_codes[code]}."))
                continue
            seen_codes[code] = line
        elif name:
            if name in seen_names:
                report.rejected.append(RowResult(
                    line, name, code, f"Trùng tên thủ tục (không có mã TTHC) với dòng {seen_names[name]}."))
                continue
            seen_names[name] = line

        parsed, errors = _parse_row(row)
        if parsed is None:
            report.rejected.append(RowResult(line, name, code, " ".join(errors)))
            continue

        target: Optional[Procedure] = None
        notes: list[str] = []
        if code:
            target = by_code.get(code)
            if target is None:
                # A procedure entered earlier without its code: give it the code rather than duplicate it.
                candidates = [p for p in by_name.get(name, []) if not p.national_code]
                if len(candidates) == 1:
                    target = candidates[0]
                    notes.append("Đã gán mã TTHC cho thủ tục cùng tên chưa có mã.")
        else:
            candidates = by_name.get(name, [])
            if len(candidates) > 1:
                report.rejected.append(RowResult(
                    line, name, code,
                    f"Có {len(candidates)} thủ tục cùng tên trong danh mục: cần ghi mã TTHC (cột national_code) "
                    "để xác định thủ tục cần cập nhật."))
                continue
            target = candidates[0] if candidates else None
        if target is not None and id(target) in touched:
            report.rejected.append(RowResult(
                line, name, code, f"Trùng với thủ tục đã nhập ở dòng {touched[id(target)]}."))
            continue

        if target is None:
            procedure = Procedure(
                national_code=code or None, field=parsed.field, fee=parsed.fee, online_level=parsed.online_level,
                source=parsed.source, supplement_rule="restart", legal_basis="", submission_info="",
                result_location="",
            )
            procedure.set_name(parsed.name)
            if parsed.has_limit:
                procedure.limit_unit = parsed.limit_unit
                procedure.statutory_amount = parsed.statutory_amount
                procedure.active, procedure.inactive_reason = True, ""
            else:
                procedure.active, procedure.inactive_reason = False, BLANK_LIMIT_REASON
            session.add(procedure)
            session.flush()
            audit.record(session, "import_create", "procedure", procedure.id,
                         after=audit.snapshot(procedure, AUDIT_FIELDS), user=actor)
            result = RowResult(line, parsed.name, code, " ".join(notes))
            report.created.append(result)
            if not procedure.active:
                report.inactive.append(RowResult(line, parsed.name, code, BLANK_LIMIT_REASON))
            by_name.setdefault(parsed.name, []).append(procedure)
            if code:
                by_code[code] = procedure
            touched[id(procedure)] = line
            continue

        procedure = target
        before = audit.snapshot(procedure, AUDIT_FIELDS)
        old_name = procedure.name
        if code and not procedure.national_code:
            procedure.national_code = code
            by_code[code] = procedure
        if procedure.name != parsed.name:
            procedure.set_name(parsed.name)
            if procedure in by_name.get(old_name, []):
                by_name[old_name].remove(procedure)
            by_name.setdefault(parsed.name, []).append(procedure)
        procedure.field = parsed.field
        procedure.fee = parsed.fee
        procedure.online_level = parsed.online_level
        procedure.source = parsed.source
        left_inactive = False
        if parsed.has_limit:
            procedure.limit_unit = parsed.limit_unit
            procedure.statutory_amount = parsed.statutory_amount
            if not procedure.active and procedure.inactive_reason == BLANK_LIMIT_REASON:
                procedure.active, procedure.inactive_reason = True, ""
                notes.append("Đã có thời hạn: thủ tục được áp dụng trở lại.")
        elif procedure.limit_unit is not None:
            # The file has no limit but an administrator (or an earlier file) set one: keep it, never blank it.
            notes.append("Tệp không có thời hạn: giữ thời hạn hiện có "
                         f"({procedure.statutory_amount or ''} {LIMIT_UNIT_LABELS.get(procedure.limit_unit, '')}).")
        else:
            if procedure.active:
                procedure.active, procedure.inactive_reason = False, BLANK_LIMIT_REASON
            left_inactive = not procedure.active
        touched[id(procedure)] = line
        after = audit.snapshot(procedure, AUDIT_FIELDS)
        if after == before:
            report.unchanged.append(RowResult(line, parsed.name, code, " ".join(notes)))
        else:
            session.flush()
            audit.record(session, "import_update", "procedure", procedure.id, before=before, after=after, user=actor)
            steps_note = _steps_note(procedure)
            if steps_note:
                notes.append(steps_note)
            report.updated.append(RowResult(line, parsed.name, code, " ".join(notes)))
        if left_inactive:
            report.inactive.append(RowResult(line, parsed.name, code, procedure.inactive_reason or BLANK_LIMIT_REASON))
    session.flush()
    return report


def import_file(session, stream: BinaryIO | bytes, filename: str, actor=None) -> ImportReport:
    """Read a .csv/.xlsx file and import its rows. Raises CatalogImportError before writing anything."""
    rows = read_table(stream, filename)
    if not any(any((v or "").strip() for v in r.values()) for r in rows):
        raise CatalogImportError("Tệp không có dòng dữ liệu nào dưới dòng tiêu đề.")
    return import_rows(session, rows, actor=actor)


# --------------------------------------------------------------------------- export

EXPORT_EXTRA_COLUMNS = [
    ("unit", "Đơn vị xử lý", 32),
    ("committed_amount", "Thời hạn cam kết", 12),
    ("committed_unit", "Đơn vị thời hạn cam kết", 16),
    ("effective_limit", "Thời hạn áp dụng", 22),
    ("supplement_rule", "Khi bổ sung hồ sơ", 30),
    ("active", "Trạng thái", 16),
    ("inactive_reason", "Lý do ngừng áp dụng", 40),
    ("legal_basis", "Căn cứ pháp lý", 40),
    ("effective_date", "Ngày hiệu lực", 14),
    ("documents", "Số thành phần hồ sơ", 12),
    ("steps", "Số bước liên thông", 12),
]
_IMPORT_WIDTHS = {"national_code": 24, "name": 60, "field": 30, "limit_amount": 12, "limit_unit": 16, "fee": 30,
                  "online_level": 14, "source": 40}


def _effective_limit_text(p: Procedure) -> str:
    rule = p.rule_at(now())  # the time in force today: a decided rule version replaces the committed one
    unit, amount = rule.limit_unit, rule.limit_amount
    if unit == "none":
        return LIMIT_UNIT_LABELS["none"]
    if unit is None or amount is None:
        return "Chưa có thời hạn"
    return f"{amount} {LIMIT_UNIT_LABELS.get(unit, unit)}"


def export_rows(session) -> Iterable[list[Any]]:
    """The catalog's rows, import columns first (so that an export can be re-imported)."""
    query = (
        select(Procedure)
        .options(selectinload(Procedure.unit), selectinload(Procedure.documents), selectinload(Procedure.steps),
                 selectinload(Procedure.rule_versions))
        .order_by(Procedure.field, Procedure.name_search, Procedure.id)
    )
    for p in session.scalars(query):
        yield [
            p.national_code or "", p.name, p.field,
            p.statutory_amount if p.statutory_amount is not None else "", p.limit_unit or "",
            p.fee or "", p.online_level or "", p.source or "",
            p.unit.name if p.unit else "",
            p.committed_amount if p.committed_amount is not None else "", p.committed_unit or "",
            _effective_limit_text(p),
            SUPPLEMENT_RULE_LABELS.get(p.supplement_rule, p.supplement_rule or ""),
            "Đang áp dụng" if p.active else "Ngừng áp dụng",
            p.inactive_reason or "", p.legal_basis or "",
            p.effective_date.strftime("%d/%m/%Y") if p.effective_date else "",
            len(p.documents), len(p.steps),
        ]


_NUMBER_COLUMNS = {"limit_amount", "committed_amount", "documents", "steps"}


def export_workbook(session) -> bytes:
    """The whole catalog as .xlsx; the first columns are the import file's, so it can be re-imported.

    Built by the one workbook helper (tthc.reports.workbook): text is never written as a formula,
    the sheet prints on A4 landscape with borders, wrapped text and the header row on every page.
    """
    columns = [Column(f"{COLUMN_LABELS[c]} ({c})", _IMPORT_WIDTHS[c], "int" if c in _NUMBER_COLUMNS else "text")
               for c in IMPORT_COLUMNS]
    columns += [Column(label, width, "int" if key in _NUMBER_COLUMNS else "text")
                for key, label, width in EXPORT_EXTRA_COLUMNS]
    return table_workbook("Danh mục thủ tục", columns, export_rows(session), numbered=False)


def count_procedures(session) -> int:
    return session.scalar(select(func.count(Procedure.id))) or 0


# --------------------------------------------------------------------------- the admin form


def procedure_snapshot(procedure: Procedure) -> dict[str, Any]:
    data = audit.snapshot(procedure, AUDIT_FIELDS)
    data["documents"] = [{"name": d.name, "kind": d.kind, "count": d.count} for d in procedure.documents]
    data["steps"] = [{"name": s.name, "unit_id": s.unit_id, "share_amount": s.share_amount} for s in procedure.steps]
    return data


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value).strip()


def validate_procedure_data(session, procedure: Optional[Procedure], data: dict[str, Any]) -> dict[str, str]:
    """Domain rules of the admin form; returns {field: message} (empty when valid)."""
    errors: dict[str, str] = {}
    code, name, field_ = _text(data, "national_code"), _text(data, "name"), _text(data, "field")
    if not name:
        errors["name"] = "Nhập tên thủ tục."
    if not field_:
        errors["field"] = "Nhập lĩnh vực."
    elif len(field_) > 255:
        errors["field"] = "Lĩnh vực dài quá 255 ký tự."
    if len(code) > 64:
        errors["national_code"] = "Mã TTHC dài quá 64 ký tự."
    elif code:
        clash = session.scalar(select(Procedure).where(Procedure.national_code == code))
        if clash is not None and clash is not procedure:
            errors["national_code"] = f"Mã TTHC “{code}” đã được dùng cho thủ tục “{clash.name}”."

    unit_id = data.get("unit_id")
    if unit_id is not None and session.get(Unit, unit_id) is None:
        errors["unit_id"] = "Đơn vị xử lý không tồn tại."

    online = _text(data, "online_level")
    if online and online not in ONLINE_LEVELS:
        errors["online_level"] = "Mức độ trực tuyến không hợp lệ."

    limit_unit = data.get("limit_unit") or None
    statutory = data.get("statutory_amount")
    committed = data.get("committed_amount")
    committed_unit = data.get("committed_unit") or None
    if limit_unit is not None and limit_unit not in LIMIT_UNITS:
        errors["limit_unit"] = "Đơn vị thời hạn không hợp lệ."
    elif limit_unit in (None, "none"):
        if statutory is not None:
            errors["statutory_amount"] = (
                "Bỏ trống số thời hạn khi không quy định thời hạn." if limit_unit == "none"
                else "Chọn đơn vị cho thời hạn theo quy định."
            )
    elif statutory is None:
        errors["statutory_amount"] = "Nhập thời hạn theo quy định (số nguyên dương)."
    if statutory is not None and "statutory_amount" not in errors and not (1 <= statutory <= MAX_AMOUNT):
        errors["statutory_amount"] = f"Thời hạn phải là số nguyên từ 1 đến {MAX_AMOUNT}."

    if committed is not None or committed_unit is not None:
        if limit_unit in (None, "none"):
            errors["committed_amount"] = "Chỉ đặt thời hạn cam kết khi thủ tục có thời hạn theo quy định."
        elif committed is None:
            errors["committed_amount"] = "Nhập số thời hạn cam kết, hoặc bỏ chọn đơn vị cam kết."
        elif committed_unit is None:
            errors["committed_unit"] = "Chọn đơn vị cho thời hạn cam kết."
        elif committed_unit not in COMMITTED_UNITS:
            errors["committed_unit"] = "Đơn vị thời hạn cam kết không hợp lệ."
        elif not (1 <= committed <= MAX_AMOUNT):
            errors["committed_amount"] = f"Thời hạn cam kết phải là số nguyên từ 1 đến {MAX_AMOUNT}."
        elif committed_unit == limit_unit and statutory is not None and committed > statutory:
            errors["committed_amount"] = (
                f"Thời hạn cam kết ({committed}) không được dài hơn thời hạn theo quy định ({statutory}).")

    rule = data.get("supplement_rule") or "restart"
    if rule not in SUPPLEMENT_RULES:
        errors["supplement_rule"] = "Quy tắc khi bổ sung hồ sơ không hợp lệ."

    active = bool(data.get("active"))
    if active and limit_unit is None:
        errors["active"] = ("Thủ tục chưa có thời hạn giải quyết nên chưa thể áp dụng: nhập thời hạn "
                            "(hoặc chọn “không quy định thời hạn”), hoặc bỏ chọn “Đang áp dụng”.")
    if not active and not _text(data, "inactive_reason"):
        errors["inactive_reason"] = "Nhập lý do ngừng áp dụng."

    for i, doc in enumerate(data.get("documents") or [], start=1):
        if not (doc.get("name") or "").strip():
            errors["documents"] = f"Dòng {i}: thiếu tên giấy tờ."
        elif doc.get("kind") not in DOCUMENT_KINDS:
            errors["documents"] = f"Dòng {i}: loại bản không hợp lệ."
        elif not isinstance(doc.get("count"), int) or not (1 <= doc["count"] <= 100):
            errors["documents"] = f"Dòng {i}: số lượng phải là số nguyên từ 1 đến 100."
        if "documents" in errors:
            break

    steps = data.get("steps") or []
    if steps:
        eff_unit = committed_unit if committed is not None and committed_unit else limit_unit
        eff_amount = committed if committed is not None and committed_unit else statutory
        for i, step in enumerate(steps, start=1):
            share = step.get("share_amount")
            if not isinstance(share, int) or share < 1:
                errors["steps"] = f"Bước {i}: thời gian của bước phải là số nguyên dương."
                break
            if step.get("unit_id") is None:
                errors["steps"] = f"Bước {i}: chọn đơn vị thực hiện."
                break
            if session.get(Unit, step["unit_id"]) is None:
                errors["steps"] = f"Bước {i}: đơn vị không tồn tại."
                break
        if "steps" not in errors:
            if eff_unit in (None, "none") or eff_amount is None:
                errors["steps"] = "Chỉ chia bước khi thủ tục có thời hạn giải quyết."
            else:
                total = sum(s["share_amount"] for s in steps)
                if total != eff_amount:
                    errors["steps"] = (
                        f"Tổng thời gian các bước là {total} {LIMIT_UNIT_LABELS.get(eff_unit, eff_unit)}, "
                        f"phải bằng thời hạn áp dụng {eff_amount} {LIMIT_UNIT_LABELS.get(eff_unit, eff_unit)}."
                    )
    effective = data.get("effective_date")
    if effective is not None and not isinstance(effective, date):
        errors["effective_date"] = "Ngày hiệu lực không hợp lệ."
    return errors


def save_procedure(session, procedure: Optional[Procedure], data: dict[str, Any], actor=None) -> Procedure:
    """Create (procedure None) or update a procedure from the admin form's data. Caller commits.

    ``data`` holds typed values: national_code, name, field, unit_id (int|None), fee,
    online_level, limit_unit, statutory_amount, committed_amount, committed_unit
    (int|str|None), supplement_rule, legal_basis, effective_date (date|None),
    submission_info, result_location, source, active, inactive_reason,
    documents [{name, kind, count}], steps [{name, unit_id, share_amount}].
    """
    errors = validate_procedure_data(session, procedure, data)
    if errors:
        raise CatalogValidationError(errors)
    before = procedure_snapshot(procedure) if procedure is not None else None
    if procedure is None:
        procedure = Procedure()
        session.add(procedure)
    procedure.national_code = _text(data, "national_code") or None
    procedure.set_name(_text(data, "name"))
    procedure.field = _text(data, "field")
    procedure.unit_id = data.get("unit_id")
    procedure.fee = _text(data, "fee")
    procedure.online_level = _text(data, "online_level")
    procedure.limit_unit = data.get("limit_unit") or None
    procedure.statutory_amount = data.get("statutory_amount") if procedure.limit_unit not in (None, "none") else None
    if data.get("committed_amount") is not None and data.get("committed_unit"):
        procedure.committed_amount, procedure.committed_unit = data["committed_amount"], data["committed_unit"]
    else:
        procedure.committed_amount, procedure.committed_unit = None, None
    procedure.supplement_rule = data.get("supplement_rule") or "restart"
    procedure.legal_basis = _text(data, "legal_basis")
    procedure.effective_date = data.get("effective_date")
    procedure.submission_info = _text(data, "submission_info")
    procedure.result_location = _text(data, "result_location")
    procedure.source = _text(data, "source")
    procedure.active = bool(data.get("active"))
    procedure.inactive_reason = "" if procedure.active else _text(data, "inactive_reason")

    new_docs = [(d["name"].strip(), d["kind"], d["count"]) for d in data.get("documents") or []]
    if [(d.name, d.kind, d.count) for d in procedure.documents] != new_docs:
        procedure.documents = [ProcedureDocument(position=i, name=n, kind=k, count=c)
                               for i, (n, k, c) in enumerate(new_docs)]
    new_steps = [((s.get("name") or "").strip(), s["unit_id"], s["share_amount"]) for s in data.get("steps") or []]
    if [(s.name, s.unit_id, s.share_amount) for s in procedure.steps] != new_steps:
        procedure.steps = [ProcedureStep(position=i, name=n, unit_id=u, share_amount=a)
                           for i, (n, u, a) in enumerate(new_steps)]
    session.flush()
    after = procedure_snapshot(procedure)
    if before is None:
        audit.record(session, "create", "procedure", procedure.id, after=after, user=actor)
    elif after != before:
        audit.record(session, "update", "procedure", procedure.id, before=before, after=after, user=actor)
    return procedure
