"""Writes of the action plans (domain.md §11): import, edits, reporting periods, progress and evidence.

Services take the session first and a ``now``/``today`` where time matters; they flush, the
caller commits. Every change is audited. The working-day calendar is injected
(``tthc.plans.init_app``): ``tthc`` never imports ``deadlines``.

Import: the columns of ``papi_plan_2018.csv`` (``so_ke_hoach, ngay_ke_hoach, ten_ke_hoach,
can_cu, stt, noi_dung, chu_tri, phoi_hop, thoi_gian, ket_qua``) and, optionally, ``tu_nam``,
``den_nam`` (the plan's years, else read from "giai đoạn YYYY-YYYY" in its title) and
``do_luong`` (a task's measure). Plan-level columns blank on a row carry forward from the row
above of the same plan. A file with any bad row is refused whole, nothing written; importing
the same file again changes nothing.
"""
from __future__ import annotations

import csv
import io
import os
import re
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, BinaryIO, Callable, Optional

from sqlalchemy import select

from tthc import audit
from tthc.models import (
    PLAN_MEASURE_LABELS,
    PLAN_PROGRESS_LABELS,
    Plan,
    PlanPeriod,
    PlanProgress,
    PlanTask,
    Unit,
    User,
)
from tthc.plans import timing as tm

PLAN_COLUMNS = ["so_ke_hoach", "ngay_ke_hoach", "ten_ke_hoach", "can_cu", "stt", "noi_dung", "chu_tri",
                "phoi_hop", "thoi_gian", "ket_qua"]
OPTIONAL_COLUMNS = ["tu_nam", "den_nam", "do_luong"]
CARRIED = ("ngay_ke_hoach", "ten_ke_hoach", "can_cu", "tu_nam", "den_nam")
MAX_ROWS = 500
MAX_NUMBER, MAX_TIMING, MAX_EVIDENCE_NUMBER = 64, 255, 128  # the columns' lengths (PostgreSQL enforces them)
PLAN_FIELDS = ["number", "issued_date", "title", "legal_basis", "first_year", "last_year"]
TASK_FIELDS = ["number", "content", "lead", "coordinating", "timing", "expected_result", "measure"]
PROGRESS_FIELDS = ["status", "done_text", "reason", "evidence_number", "evidence_date", "evidence_url", "file_name",
                   "file_size", "file_type"]
REPORTING_ROLES = ("supervisor", "admin")  # besides the users linked to the task

# Evidence uploads: PDF, Office (and OpenDocument) files, images. The extension and the file's
# first bytes must agree, so a renamed executable or HTML page is refused.
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
EVIDENCE_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".doc": ("application/msword", (_OLE,)),
    ".xls": ("application/vnd.ms-excel", (_OLE,)),
    ".ppt": ("application/vnd.ms-powerpoint", (_OLE,)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (_ZIP,)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (_ZIP,)),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", (_ZIP,)),
    ".odt": ("application/vnd.oasis.opendocument.text", (_ZIP,)),
    ".ods": ("application/vnd.oasis.opendocument.spreadsheet", (_ZIP,)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
}
EVIDENCE_FOLDER = "plan_evidence"
DEFAULT_EVIDENCE_MAX_BYTES = 5 * 1024 * 1024


class PlanImportError(Exception):
    """The file cannot be imported; ``messages`` (Vietnamese) say why, row by row. Nothing was written."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


class PlanValidationError(Exception):
    """Bad input on a form: ``errors`` maps a field to its Vietnamese message. Nothing was written."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class ImportReport:
    plans_created: int = 0
    plans_updated: int = 0
    plans_unchanged: int = 0
    tasks_created: int = 0
    tasks_updated: int = 0
    tasks_unchanged: int = 0
    periods_changed: int = 0
    plan_ids: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.plans_created or self.plans_updated or self.tasks_created or self.tasks_updated
                    or self.periods_changed)

    def describe(self) -> str:
        return (f"kế hoạch: {self.plans_created} mới, {self.plans_updated} cập nhật, {self.plans_unchanged} không đổi; "
                f"nhiệm vụ: {self.tasks_created} mới, {self.tasks_updated} cập nhật, "
                f"{self.tasks_unchanged} không đổi")


# -- reading the file ------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _dicts(header: list[Any], body) -> list[dict[str, str]]:
    keys = [_cell(h).replace("\ufeff", "").strip().lower() for h in header]
    missing = [c for c in PLAN_COLUMNS if c not in keys]
    if missing:
        raise PlanImportError(["Tệp thiếu cột: " + ", ".join(missing) + ". Dòng đầu tiên phải là dòng tiêu đề với "
                               "các cột: " + ", ".join(PLAN_COLUMNS) + "."])
    rows = []
    for values in body:
        row = {k: (_cell(values[i]) if i < len(values) else "") for i, k in enumerate(keys) if k}
        if not any(row.values()):
            continue
        if len(rows) >= MAX_ROWS:
            raise PlanImportError([f"Tệp có quá nhiều dòng (tối đa {MAX_ROWS} nhiệm vụ)."])
        rows.append(row)
    if not rows:
        raise PlanImportError(["Tệp không có dòng nhiệm vụ nào."])
    return rows


def read_table(data: bytes, filename: str) -> list[dict[str, str]]:
    """Rows of a .csv (UTF-8) or .xlsx file, keyed by the header's column names."""
    ext = os.path.splitext(filename or "")[1].lower()
    if ext not in (".csv", ".xlsx"):
        raise PlanImportError([f"Không nhận định dạng tệp “{ext or filename or 'không tên'}”: chỉ nhận .csv (UTF-8) "
                               "hoặc .xlsx."])
    if not data:
        raise PlanImportError(["Tệp rỗng: không có dòng tiêu đề."])
    if ext == ".csv":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise PlanImportError(["Không đọc được tệp CSV: tệp phải lưu với bảng mã UTF-8."]) from None
        first = text.lstrip("\r\n").splitlines()[0] if text.strip() else ""
        delimiter = max((",", ";", "\t"), key=first.count)
        try:
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
            header = next(reader, None)
            body = list(reader)
        except csv.Error as exc:
            raise PlanImportError([f"Không đọc được tệp CSV: {exc}."]) from None
        if not header:
            raise PlanImportError(["Tệp rỗng: không có dòng tiêu đề."])
        return _dicts(header, body)
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises assorted errors on malformed files
        raise PlanImportError(["Không đọc được tệp Excel (.xlsx): tệp hỏng hoặc không đúng định dạng."]) from None
    try:
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            raise PlanImportError(["Tệp rỗng: không có dòng tiêu đề."])
        return _dicts(list(header), [list(r) for r in rows])
    except PlanImportError:
        raise
    except Exception:
        raise PlanImportError(["Không đọc được tệp Excel (.xlsx): nội dung trang tính không hợp lệ."]) from None
    finally:
        wb.close()


# -- parsing rows ----------------------------------------------------------------------------------


def parse_date_text(text: str) -> Optional[date]:
    """``2018-01-09`` or ``09/01/2018``; None when unreadable."""
    raw = (text or "").strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    return None


def _year(text: str) -> Optional[int]:
    return int(text) if re.fullmatch(r"\d{4}", text or "") and tm.EARLIEST_YEAR <= int(text) <= tm.LATEST_YEAR \
        else None


def parse_rows(rows: list[dict[str, str]]) -> dict[str, dict]:
    """{plan number: {"plan": fields, "tasks": {task number: fields}}}; PlanImportError lists every bad row."""
    plans: dict[str, dict] = {}
    errors: list[str] = []
    carried: dict[str, str] = {}
    number = ""
    for line, row in enumerate(rows, start=2):
        row_number = row.get("so_ke_hoach", "").strip() or number
        if row_number != number:
            carried = {}
        number = row_number
        for key in CARRIED:
            if row.get(key, "").strip():
                carried[key] = row[key].strip()
        bad = []
        if not number:
            bad.append("thiếu số kế hoạch (so_ke_hoach)")
        elif len(number) > MAX_NUMBER:
            bad.append(f"số kế hoạch dài quá {MAX_NUMBER} ký tự")
        if len(row.get("thoi_gian", "")) > MAX_TIMING:
            bad.append(f"thời gian thực hiện dài quá {MAX_TIMING} ký tự")
        issued = parse_date_text(carried.get("ngay_ke_hoach", ""))
        if issued is None:
            bad.append(f"ngày kế hoạch “{carried.get('ngay_ke_hoach', '')}” không hợp lệ (YYYY-MM-DD hoặc DD/MM/YYYY)")
        title = carried.get("ten_ke_hoach", "")
        if not title:
            bad.append("thiếu tên kế hoạch (ten_ke_hoach)")
        stt = row.get("stt", "").strip()
        if not stt.isdigit() or not 0 < int(stt) < 10000:
            bad.append(f"số thứ tự nhiệm vụ (stt) “{stt}” phải là số nguyên dương")
        content = row.get("noi_dung", "").strip()
        if not content:
            bad.append("thiếu nội dung nhiệm vụ (noi_dung)")
        try:
            tm.parse_timing(row.get("thoi_gian", ""))
        except tm.TimingError as exc:
            bad.append(str(exc))
        measure = row.get("do_luong", "").strip() or None
        if measure is not None and measure not in PLAN_MEASURE_LABELS:
            bad.append(f"chỉ số đo lường (do_luong) “{measure}” không có; dùng: {', '.join(PLAN_MEASURE_LABELS)}")
        years = None
        if issued and title:
            first, last = tm.plan_years(title, issued)
            first = _year(carried.get("tu_nam", "")) or first
            last = _year(carried.get("den_nam", "")) or last
            if last < first:
                bad.append(f"năm kết thúc {last} trước năm bắt đầu {first}")
            years = (first, last)
        if bad:
            errors.append(f"Dòng {line}: " + "; ".join(bad))
            continue
        entry = plans.setdefault(number, {"plan": None, "tasks": {}})
        plan_fields = {"number": number, "issued_date": issued, "title": title,
                       "legal_basis": carried.get("can_cu", ""), "first_year": years[0], "last_year": years[1]}
        if entry["plan"] is not None and entry["plan"] != plan_fields:
            errors.append(f"Dòng {line}: thông tin kế hoạch {number} khác với các dòng trước của cùng kế hoạch")
            continue
        entry["plan"] = plan_fields
        if int(stt) in entry["tasks"]:
            errors.append(f"Dòng {line}: nhiệm vụ số {stt} của kế hoạch {number} bị lặp")
            continue
        task = {"number": int(stt), "content": content, "lead": row.get("chu_tri", "").strip(),
                "coordinating": row.get("phoi_hop", "").strip(), "timing": row.get("thoi_gian", "").strip(),
                "expected_result": row.get("ket_qua", "").strip()}
        if "do_luong" in row and measure is not None:
            task["measure"] = measure
        entry["tasks"][int(stt)] = task
    if errors:
        raise PlanImportError(errors)
    return plans


# -- periods ---------------------------------------------------------------------------------------


def _config(key: str, default):
    from flask import current_app, has_app_context

    return current_app.config.get(key, default) if has_app_context() else default


def due_working_days() -> int:
    return int(_config("PLAN_DUE_WORKING_DAYS", 5))


def next_working_day_for(session) -> Callable[[date], date]:
    from tthc.plans import hooks

    cal = hooks().calendar_for(session)
    return cal.next_working_day


def sync_periods(session, task: PlanTask, next_working_day: Callable[[date], date],
                 due_days: Optional[int] = None) -> int:
    """Bring the task's stored periods in line with its timing; returns the number of rows changed.

    A period no longer in the timing is removed only if nobody reported on it (reports are never lost).
    """
    due_days = due_working_days() if due_days is None else due_days
    plan = task.plan
    try:
        wanted = tm.spans(tm.parse_timing(task.timing), plan.first_year, plan.last_year, plan.issued_date)
    except tm.TimingError:
        wanted = []
    existing = {(p.start_date, p.end_date): p for p in task.periods}
    changed = 0
    for span in wanted:
        due = tm.due_date(span.end_date, due_days, next_working_day)
        period = existing.pop((span.start_date, span.end_date), None)
        if period is None:
            task.periods.append(PlanPeriod(label=span.label, start_date=span.start_date, end_date=span.end_date,
                                           due_date=due))
            changed += 1
        elif (period.label, period.due_date) != (span.label, due):
            period.label, period.due_date = span.label, due
            changed += 1
    for period in existing.values():
        if not period.progress:
            task.periods.remove(period)
            changed += 1
    session.flush()
    return changed


def refresh_due_dates(session, today: date) -> int:
    """Recompute the due dates of every period not yet past (calendar edits, a new PLAN_DUE_WORKING_DAYS)."""
    nwd = next_working_day_for(session)
    days = due_working_days()
    changed = 0
    for period in session.scalars(select(PlanPeriod).where(PlanPeriod.due_date >= today)):
        due = tm.due_date(period.end_date, days, nwd)
        if due != period.due_date:
            period.due_date = due
            changed += 1
    session.flush()
    return changed


# -- import ----------------------------------------------------------------------------------------


def import_rows(session, rows: list[dict[str, str]], actor=None) -> ImportReport:
    parsed = parse_rows(rows)
    report = ImportReport()
    nwd = next_working_day_for(session)
    for number, entry in parsed.items():
        fields = entry["plan"]
        plan = session.scalar(select(Plan).where(Plan.number == number))
        if plan is None:
            plan = Plan(**fields)
            session.add(plan)
            session.flush()
            audit.record(session, "import", "plan", plan.id, after=fields, user=actor)
            report.plans_created += 1
        else:
            before = audit.snapshot(plan, PLAN_FIELDS)
            for key, value in fields.items():
                setattr(plan, key, value)
            after = audit.snapshot(plan, PLAN_FIELDS)
            if after != before:
                audit.record(session, "import", "plan", plan.id, before=before, after=after, user=actor)
                report.plans_updated += 1
            else:
                report.plans_unchanged += 1
        report.plan_ids.append(plan.id)
        by_number = {t.number: t for t in plan.tasks}
        for task_number, task_fields in entry["tasks"].items():
            task = by_number.get(task_number)
            if task is None:
                task = PlanTask(**task_fields)
                plan.tasks.append(task)
                session.flush()
                audit.record(session, "import", "plan_task", task.id, after=task_fields, user=actor)
                report.tasks_created += 1
            else:
                before = audit.snapshot(task, TASK_FIELDS)
                for key, value in task_fields.items():
                    setattr(task, key, value)
                after = audit.snapshot(task, TASK_FIELDS)
                if after != before:
                    audit.record(session, "import", "plan_task", task.id, before=before, after=after, user=actor)
                    report.tasks_updated += 1
                else:
                    report.tasks_unchanged += 1
        for task in plan.tasks:
            report.periods_changed += sync_periods(session, task, nwd)
    session.flush()
    return report


def import_file(session, data: bytes | BinaryIO, filename: str, actor=None) -> ImportReport:
    raw = data if isinstance(data, (bytes, bytearray)) else data.read()
    return import_rows(session, read_table(bytes(raw), filename), actor=actor)


# -- edits -----------------------------------------------------------------------------------------


def update_plan(session, plan: Plan, data: dict[str, Any], actor=None) -> bool:
    errors: dict[str, str] = {}
    number = (data.get("number") or "").strip()
    title = (data.get("title") or "").strip()
    issued = parse_date_text(data.get("issued_date") or "")
    first, last = _year(str(data.get("first_year") or "")), _year(str(data.get("last_year") or ""))
    if not number:
        errors["number"] = "Vui lòng nhập số kế hoạch."
    elif len(number) > MAX_NUMBER:
        errors["number"] = f"Số kế hoạch tối đa {MAX_NUMBER} ký tự."
    elif session.scalar(select(Plan.id).where(Plan.number == number, Plan.id != plan.id)) is not None:
        errors["number"] = f"Đã có kế hoạch số {number}."
    if not title:
        errors["title"] = "Vui lòng nhập tên kế hoạch."
    if issued is None:
        errors["issued_date"] = "Ngày ban hành không hợp lệ (DD/MM/YYYY)."
    if first is None:
        errors["first_year"] = "Năm bắt đầu phải là năm có 4 chữ số."
    if last is None:
        errors["last_year"] = "Năm kết thúc phải là năm có 4 chữ số."
    elif first is not None and last < first:
        errors["last_year"] = "Năm kết thúc không được trước năm bắt đầu."
    if errors:
        raise PlanValidationError(errors)
    before = audit.snapshot(plan, PLAN_FIELDS)
    plan.number, plan.title, plan.issued_date = number, title, issued
    plan.legal_basis = (data.get("legal_basis") or "").strip()
    plan.first_year, plan.last_year = first, last
    after = audit.snapshot(plan, PLAN_FIELDS)
    if after == before:
        return False
    audit.record(session, "update", "plan", plan.id, before=before, after=after, user=actor)
    nwd = next_working_day_for(session)
    for task in plan.tasks:
        sync_periods(session, task, nwd)
    session.flush()
    return True


def _task_snapshot(task: PlanTask) -> dict[str, Any]:
    snap = audit.snapshot(task, TASK_FIELDS)
    snap["unit_ids"] = sorted(u.id for u in task.units)
    snap["user_ids"] = sorted(u.id for u in task.users)
    return snap


def update_task(session, task: PlanTask, data: dict[str, Any], actor=None) -> bool:
    """Edit a task's text, timing, measure and its linked units and users (ids). Audited."""
    errors: dict[str, str] = {}
    content = (data.get("content") or "").strip()
    timing_text = (data.get("timing") or "").strip()
    measure = (data.get("measure") or "").strip() or None
    if not content:
        errors["content"] = "Vui lòng nhập nội dung nhiệm vụ."
    try:
        if len(timing_text) > MAX_TIMING:
            raise tm.TimingError(f"thời gian thực hiện tối đa {MAX_TIMING} ký tự")
        tm.parse_timing(timing_text)
    except tm.TimingError as exc:
        errors["timing"] = str(exc)[0].upper() + str(exc)[1:] + "."
    if measure is not None and measure not in PLAN_MEASURE_LABELS:
        errors["measure"] = "Chỉ số đo lường không hợp lệ."
    unit_ids = sorted({int(i) for i in data.get("unit_ids") or [] if str(i).isdigit() and len(str(i)) < 10})
    user_ids = sorted({int(i) for i in data.get("user_ids") or [] if str(i).isdigit() and len(str(i)) < 10})
    units = list(session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))) if unit_ids else []
    users = list(session.scalars(select(User).where(User.id.in_(user_ids), User.active.is_(True)))) if user_ids else []
    if len(units) != len(unit_ids):
        errors["unit_ids"] = "Có đơn vị không tồn tại."
    if len(users) != len(user_ids):
        errors["user_ids"] = "Có tài khoản không tồn tại hoặc đã khóa."
    if errors:
        raise PlanValidationError(errors)
    before = _task_snapshot(task)
    task.content, task.timing, task.measure = content, timing_text, measure
    task.lead = (data.get("lead") or "").strip()
    task.coordinating = (data.get("coordinating") or "").strip()
    task.expected_result = (data.get("expected_result") or "").strip()
    task.units, task.users = units, users
    session.flush()
    after = _task_snapshot(task)
    if after == before:
        return False
    audit.record(session, "update", "plan_task", task.id, before=before, after=after, user=actor)
    sync_periods(session, task, next_working_day_for(session))
    return True


def suggest_links(session, task: PlanTask) -> tuple[list[Unit], list[User]]:
    """Units and users whose name appears in the task's lead or coordinating text ("Đ/c Thắng" → Thắng)."""
    from tthc.text import fold

    text = fold(f"{task.lead} {task.coordinating}")
    words = set(re.findall(r"\w+", text))
    units = [u for u in session.scalars(select(Unit).where(Unit.active.is_(True)))
             if fold(u.name) and fold(u.name) in text]
    users = []
    for u in session.scalars(select(User).where(User.active.is_(True))):
        given = fold(u.full_name).split()[-1:] if u.full_name else []
        if given and given[0] in words and len(given[0]) > 2:
            users.append(u)
    return units, users


# -- progress and evidence -------------------------------------------------------------------------


def can_report(user, task: PlanTask) -> bool:
    """Linked users, supervisors and administrators record a task's progress (no new role)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.role in REPORTING_ROLES or any(u.id == user.id for u in task.users)


def evidence_folder(instance_path: str) -> str:
    return os.path.join(instance_path, EVIDENCE_FOLDER)


def evidence_max_bytes() -> int:
    return int(_config("PLAN_EVIDENCE_MAX_BYTES", DEFAULT_EVIDENCE_MAX_BYTES))


def _human(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def check_evidence(filename: str, data: bytes, max_bytes: int) -> tuple[str, str]:
    """(extension, content type) of an acceptable upload; PlanValidationError in Vietnamese otherwise."""
    name = os.path.basename((filename or "").replace("\\", "/"))
    ext = os.path.splitext(name)[1].lower()
    allowed = ", ".join(sorted(EVIDENCE_TYPES))
    if ext not in EVIDENCE_TYPES:
        raise PlanValidationError({"file": f"Không nhận tệp “{name or 'không tên'}”: chỉ nhận tệp PDF, Office hoặc "
                                           f"ảnh ({allowed})."})
    if len(data) > max_bytes:
        raise PlanValidationError({"file": f"Tệp “{name}” quá lớn ({_human(len(data))}): tối đa {_human(max_bytes)}."})
    if not data:
        raise PlanValidationError({"file": f"Tệp “{name}” rỗng."})
    content_type, signatures = EVIDENCE_TYPES[ext]
    if not any(data.startswith(sig) for sig in signatures):
        raise PlanValidationError({"file": f"Nội dung tệp “{name}” không đúng định dạng {ext}: tệp bị đổi tên hoặc "
                                           "hỏng."})
    if signatures == (_ZIP,):
        try:
            zipfile.ZipFile(io.BytesIO(data)).testzip()
        except (zipfile.BadZipFile, ValueError, OSError):
            raise PlanValidationError({"file": f"Tệp “{name}” bị hỏng, không mở được."}) from None
    return ext, content_type


def record_progress(session, period: PlanPeriod, user, data: dict[str, Any], *, now: datetime,
                    upload: Optional[tuple[str, bytes]] = None, instance_path: str = "",
                    max_bytes: Optional[int] = None) -> PlanProgress:
    """Record a report on a period. Validates everything before storing anything: a refused upload
    leaves neither a file nor a row. The file is written before the flush and removed if it fails."""
    if not can_report(user, period.task):
        raise PermissionError("not linked to this task")
    errors: dict[str, str] = {}
    status = (data.get("status") or "").strip()
    if status not in PLAN_PROGRESS_LABELS:
        errors["status"] = "Vui lòng chọn tình trạng: đã hoàn thành, đang thực hiện hoặc chưa thực hiện."
    done_text = (data.get("done_text") or "").strip()
    reason = (data.get("reason") or "").strip()
    if status in ("done", "in_progress") and not done_text:
        errors["done_text"] = "Vui lòng ghi kết quả đã thực hiện."
    if status == "not_done" and not reason:
        errors["reason"] = "Chưa thực hiện: vui lòng ghi rõ lý do."
    evidence_date = None
    if (data.get("evidence_date") or "").strip():
        evidence_date = parse_date_text(data["evidence_date"])
        if evidence_date is None:
            errors["evidence_date"] = "Ngày văn bản không hợp lệ (DD/MM/YYYY)."
    evidence_number = (data.get("evidence_number") or "").strip()
    if len(evidence_number) > MAX_EVIDENCE_NUMBER:
        errors["evidence_number"] = f"Số văn bản tối đa {MAX_EVIDENCE_NUMBER} ký tự."
    url = (data.get("evidence_url") or "").strip()
    if url and not re.match(r"^https?://[^\s]+$", url, re.IGNORECASE):
        errors["evidence_url"] = "Đường dẫn phải bắt đầu bằng http:// hoặc https://."
    ext = content_type = ""
    if upload is not None:
        try:
            ext, content_type = check_evidence(upload[0], upload[1],
                                               evidence_max_bytes() if max_bytes is None else max_bytes)
        except PlanValidationError as exc:
            errors.update(exc.errors)
    if errors:
        raise PlanValidationError(errors)
    progress = PlanProgress(period=period, recorded_at=now, user_id=user.id, status=status, done_text=done_text,
                            reason=reason, evidence_number=evidence_number,
                            evidence_date=evidence_date, evidence_url=url)
    path = None
    if upload is not None:
        folder = evidence_folder(instance_path)
        os.makedirs(folder, exist_ok=True)
        progress.stored_name = secrets.token_hex(16) + ext
        progress.file_name = os.path.basename(upload[0].replace("\\", "/"))[:255]
        progress.file_size = len(upload[1])
        progress.file_type = content_type
        path = os.path.join(folder, progress.stored_name)
        with open(path, "xb") as fh:
            fh.write(upload[1])
    try:
        session.add(progress)
        session.flush()
        audit.record(session, "report", "plan_period", period.id, after=audit.snapshot(progress, PROGRESS_FIELDS),
                     user=user)
        session.flush()
    except BaseException:
        if path and os.path.exists(path):
            os.unlink(path)
        raise
    return progress


def evidence_path(progress: PlanProgress, instance_path: str) -> Optional[str]:
    if not progress.stored_name or not re.fullmatch(r"[0-9a-f]{32}\.[a-z]{3,4}", progress.stored_name):
        return None
    path = os.path.join(evidence_folder(instance_path), progress.stored_name)
    return path if os.path.isfile(path) else None
