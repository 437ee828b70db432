"""The catalog's services against a real database: import, re-import, bad rows, export, the admin save."""
from __future__ import annotations

import csv
import io
import os

import openpyxl
import pytest
from sqlalchemy import func, select

from tests.factories import make_procedure, make_unit
from tthc.catalog import services
from tthc.catalog.services import BLANK_LIMIT_REASON, CatalogImportError, CatalogValidationError
from tthc.models import AuditLog, Procedure, ProcedureDocument, ProcedureStep

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "tthc", "data", "procedures_sample.csv")
HEADER = "national_code,name,field,limit_amount,limit_unit,fee,online_level,source"
FIELD = "Hoạt động khoa học và công nghệ"


def sample_rows() -> list[dict[str, str]]:
    """The sample file read independently of the code under test."""
    with open(SAMPLE, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def import_csv(session, text: str, filename: str = "catalog.csv"):
    return services.import_file(session, io.BytesIO(text.encode("utf-8")), filename)


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def by_code(session, code: str) -> Procedure:
    return session.scalar(select(Procedure).where(Procedure.national_code == code))


def by_name(session, name: str) -> Procedure:
    return session.scalar(select(Procedure).where(Procedure.name == name))


def xlsx_bytes(rows: list[list]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- the real sample file


def test_sample_file_creates_every_row_and_leaves_blank_limits_inactive_with_a_reason(db_session):
    rows = sample_rows()
    blank = [r for r in rows if not r["limit_amount"].strip() and not r["limit_unit"].strip()]
    assert len(rows) == 22 and blank  # the file as shipped

    with open(SAMPLE, "rb") as fh:
        report = services.import_file(db_session, fh, "procedures_sample.csv")
    db_session.commit()

    assert len(report.created) == len(rows)
    assert report.rejected == [] and report.updated == []
    assert len(report.inactive) == len(blank)
    assert {r.name for r in report.inactive} == {r["name"] for r in blank}
    assert all(r.reason == BLANK_LIMIT_REASON for r in report.inactive)
    # Line numbers are the spreadsheet's: the header is line 1.
    first_blank_line = next(i for i, r in enumerate(rows, start=2) if r in blank)
    assert report.inactive[0].row_number == first_blank_line

    assert count(db_session, Procedure) == len(rows)
    assert count(db_session, Procedure, Procedure.active.is_(False)) == len(blank)
    for r in blank:
        p = by_name(db_session, r["name"])
        assert p.limit_unit is None and p.statutory_amount is None
        assert p.inactive_reason == BLANK_LIMIT_REASON
    assert count(db_session, AuditLog, AuditLog.action == "import_create") == len(rows)


def test_sample_file_keeps_an_explicit_none_limit_and_normalises_online_levels(db_session):
    with open(SAMPLE, "rb") as fh:
        services.import_file(db_session, fh, "procedures_sample.csv")
    none_limit = by_code(db_session, "2.002711.H38")
    assert none_limit.active and none_limit.limit_unit == "none" and none_limit.statutory_amount is None
    assert none_limit.online_level == "Một phần"
    assert by_code(db_session, "2.002131.000.00.00.H58").online_level == "Toàn trình"  # was "Mức độ 4"
    suffixed = by_code(db_session, "1.014393.H38")  # the agency suffix is kept as is
    assert (suffixed.statutory_amount, suffixed.limit_unit) == (30, "working_days")
    assert by_code(db_session, "1.011937").limit_unit == "months"
    x_ray = by_name(db_session, "Thủ tục cấp giấy phép tiến hành công việc bức xạ - "
                                "Sử dụng thiết bị X-quang chẩn đoán trong y tế")
    assert x_ray.national_code is None and x_ray.name_search.startswith("thu tuc cap giay phep")


def test_reimporting_the_sample_matches_existing_procedures_instead_of_duplicating(db_session):
    rows = sample_rows()
    with open(SAMPLE, "rb") as fh:
        services.import_file(db_session, fh, "procedures_sample.csv")
    db_session.commit()
    with open(SAMPLE, "rb") as fh:
        again = services.import_file(db_session, fh, "procedures_sample.csv")
    assert again.created == [] and again.rejected == [] and again.updated == []
    assert len(again.unchanged) == len(rows)
    assert count(db_session, Procedure) == len(rows)
    assert count(db_session, AuditLog, AuditLog.action == "import_update") == 0


# ---------------------------------------------------------------- updates


def test_reimport_updates_source_fields_but_never_what_an_administrator_set(db_session):
    unit, other = make_unit(db_session), make_unit(db_session)
    p = make_procedure(db_session, national_code="1.000001", name="Tên cũ", statutory_amount=20,
                       committed_amount=15, committed_unit="working_days", unit=unit, fee="cũ")
    p.steps.append(ProcedureStep(position=0, name="Thẩm định", unit_id=unit.id, share_amount=10))
    p.steps.append(ProcedureStep(position=1, name="Phê duyệt", unit_id=other.id, share_amount=5))
    db_session.commit()

    report = import_csv(db_session, f"{HEADER}\n1.000001,Tên mới,Sở hữu trí tuệ,30,working_days,Không,Mức độ 3,http://nguon\n")
    db_session.commit()

    assert [r.national_code for r in report.updated] == ["1.000001"] and report.created == []
    db_session.expire_all()
    p = by_code(db_session, "1.000001")
    assert (p.name, p.name_search, p.field, p.fee, p.online_level, p.source) == (
        "Tên mới", "ten moi", "Sở hữu trí tuệ", "Không", "Một phần", "http://nguon")
    assert (p.statutory_amount, p.limit_unit) == (30, "working_days")
    # Untouched: committed time, unit, documents, steps.
    assert (p.committed_amount, p.committed_unit, p.unit_id) == (15, "working_days", unit.id)
    assert [d.name for d in p.documents] == ["Đơn đề nghị", "Bản sao giấy tờ pháp lý"]
    assert [(s.name, s.share_amount) for s in p.steps] == [("Thẩm định", 10), ("Phê duyệt", 5)]

    entry = db_session.scalar(select(AuditLog).where(AuditLog.action == "import_update"))
    assert entry.entity == "procedure" and entry.entity_id == str(p.id)
    assert entry.before["name"] == "Tên cũ" and entry.after["name"] == "Tên mới"
    assert entry.before["statutory_amount"] == 20 and entry.after["statutory_amount"] == 30


def test_an_import_changing_the_limit_under_existing_steps_warns_the_administrator(db_session):
    unit = make_unit(db_session)
    p = make_procedure(db_session, national_code="1.000009", name="Thủ tục liên thông", statutory_amount=10)
    p.steps.append(ProcedureStep(position=0, name="Thẩm định", unit_id=unit.id, share_amount=10))
    db_session.commit()
    report = import_csv(db_session, f"{HEADER}\n1.000009,Thủ tục liên thông,{FIELD},12,working_days,,,\n")
    assert "tổng thời gian các bước (10) không còn bằng thời hạn áp dụng (12)" in report.updated[0].reason


def test_a_row_without_code_updates_the_procedure_with_exactly_that_name(db_session):
    make_procedure(db_session, national_code=None, name="Cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ",
                   statutory_amount=7)
    report = import_csv(db_session, f"{HEADER}\n,Cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ,{FIELD},5,working_days,,,\n")
    assert len(report.updated) == 1 and report.created == []
    assert count(db_session, Procedure) == 1
    assert by_name(db_session, "Cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ").statutory_amount == 5


def test_a_row_with_a_code_gives_it_to_the_codeless_procedure_of_the_same_name(db_session):
    make_procedure(db_session, national_code=None, name="Thủ tục A")
    report = import_csv(db_session, f"{HEADER}\n1.777777,Thủ tục A,{FIELD},5,working_days,,,\n")
    assert len(report.updated) == 1 and count(db_session, Procedure) == 1
    assert by_name(db_session, "Thủ tục A").national_code == "1.777777"


def test_a_blank_limit_in_the_file_keeps_a_limit_already_set(db_session):
    make_procedure(db_session, national_code="1.000002", name="Thủ tục B", statutory_amount=12)
    report = import_csv(db_session, f"{HEADER}\n1.000002,Thủ tục B,{FIELD},,,Phí mới,,\n")
    p = by_code(db_session, "1.000002")
    assert p.active and p.statutory_amount == 12 and p.fee == "Phí mới"
    assert report.inactive == [] and "giữ thời hạn hiện có" in report.updated[0].reason


def test_a_limit_supplied_later_reactivates_a_procedure_imported_without_one(db_session):
    import_csv(db_session, f"{HEADER}\n1.000003,Thủ tục C,{FIELD},,,,,\n")
    assert not by_code(db_session, "1.000003").active
    report = import_csv(db_session, f"{HEADER}\n1.000003,Thủ tục C,{FIELD},10,working_days,,,\n")
    p = by_code(db_session, "1.000003")
    assert p.active and p.inactive_reason == "" and p.statutory_amount == 10
    assert report.inactive == [] and len(report.updated) == 1


# ---------------------------------------------------------------- bad rows

BAD_ROWS = [
    ("1.100001,Thủ tục số,{f},năm,working_days,,,", "limit_amount", "không phải số nguyên"),
    ("1.100002,Thủ tục âm,{f},-3,working_days,,,", "limit_amount", "số âm"),
    ("1.100003,Thủ tục lẻ,{f},2.5,working_days,,,", "limit_amount", "không phải số nguyên"),
    ("1.100004,Thủ tục tuần,{f},2,weeks,,,", "limit_unit", "weeks"),
    ("1.100005,,{f},5,working_days,,,", "name", "trống"),
    ("1.100006,Thủ tục không lĩnh vực,,5,working_days,,,", "field", "trống"),
    ("1.100007,Thủ tục thiếu đơn vị,{f},5,,,,", "limit_unit", "trống"),
    ("1.100008,Thủ tục thiếu số,{f},,working_days,,,", "limit_amount", "trống"),
    ("1.100009,Thủ tục none có số,{f},5,none,,,", "limit_amount", "none"),
    ("1.100010,Thủ tục mức độ lạ,{f},5,working_days,,Mức độ 9,", "online_level", "Mức độ 9"),
    ("1.100011,Thủ tục bằng không,{f},0,working_days,,,", "limit_amount", "bằng 0"),
]


@pytest.mark.parametrize("line, column, detail", BAD_ROWS, ids=[b[0].split(",")[1] or "no-name" for b in BAD_ROWS])
def test_a_bad_row_is_rejected_with_a_reason_naming_the_column_and_the_rest_imported(db_session, line, column, detail):
    text = f"{HEADER}\n1.200000,Thủ tục đúng,{FIELD},5,working_days,,,\n{line.format(f=FIELD)}\n"
    report = import_csv(db_session, text)
    assert [r.national_code for r in report.created] == ["1.200000"]
    assert len(report.rejected) == 1
    rejected = report.rejected[0]
    assert rejected.row_number == 3
    assert column in rejected.reason and detail in rejected.reason
    assert count(db_session, Procedure) == 1


def test_duplicate_codes_in_one_file_reject_the_second_as_duplicate_of_its_line(db_session):
    text = (f"{HEADER}\n1.300000,Thủ tục một,{FIELD},5,working_days,,,\n"
            f",Thủ tục không mã,{FIELD},5,working_days,,,\n"
            f"1.300000,Thủ tục một (lặp),{FIELD},7,working_days,,,\n"
            f",Thủ tục không mã,{FIELD},9,working_days,,,\n")
    report = import_csv(db_session, text)
    assert len(report.created) == 2
    assert [(r.row_number, r.reason) for r in report.rejected] == [
        (4, "Trùng mã TTHC “1.300000” với dòng 2."),
        (5, "Trùng tên thủ tục (không có mã TTHC) với dòng 3."),
    ]
    assert by_code(db_session, "1.300000").statutory_amount == 5


def test_cells_starting_with_formula_characters_are_kept_as_plain_text(db_session):
    name = '=HYPERLINK("http://evil.example","Bấm vào đây")'
    text = (f"{HEADER}\n1.400000,\"{name.replace(chr(34), chr(34) * 2)}\",-Lĩnh vực,5,working_days,"
            f"+84 phí,,@SUM(1)\n")
    report = import_csv(db_session, text)
    assert len(report.created) == 1
    p = by_code(db_session, "1.400000")
    assert (p.name, p.field, p.fee, p.source) == (name, "-Lĩnh vực", "+84 phí", "@SUM(1)")


# ---------------------------------------------------------------- file formats and file-level errors


def test_xlsx_import_reads_the_first_sheet_with_numbers_and_formulas_as_text(db_session):
    data = xlsx_bytes([
        HEADER.split(","),
        ["1.500000", "Thủ tục Excel", FIELD, 5, "working_days", "=1+1", "Mức độ 4", ""],
        ["1.500001", "Thủ tục số thực", FIELD, 10.0, "calendar_days", None, None, None],
        [None, None, None, None, None, None, None, None],
        [None, "Thủ tục không thời hạn", FIELD, None, None, None, None, None],
    ])
    report = services.import_file(db_session, io.BytesIO(data), "DanhMuc.XLSX")
    assert [r.row_number for r in report.created] == [2, 3, 5]
    assert [r.row_number for r in report.inactive] == [5]
    p = by_code(db_session, "1.500000")
    assert p.fee == "=1+1" and p.online_level == "Toàn trình" and p.statutory_amount == 5
    assert by_code(db_session, "1.500001").statutory_amount == 10


def test_csv_with_bom_and_semicolons_is_read(db_session):
    text = "\ufeff" + HEADER.replace(",", ";") + f"\n1.600000;Thủ tục chấm phẩy;{FIELD};3;working_days;Phí: 1.000 đ, có;;\n"
    report = import_csv(db_session, text)
    assert len(report.created) == 1
    assert by_code(db_session, "1.600000").fee == "Phí: 1.000 đ, có"


@pytest.mark.parametrize("filename, payload, message", [
    ("catalog.txt", HEADER.encode(), "chỉ nhận tệp .csv"),
    ("catalog.csv", b"national_code,name\n1,A\n", "thiếu cột bắt buộc: field, limit_amount"),
    ("catalog.csv", "national_code,tên\n".encode("utf-8"), "thiếu cột bắt buộc"),
    ("catalog.csv", b"", "rỗng"),
    ("catalog.csv", (HEADER + "\n,Th\xea9,x,,,,,\n").encode("latin-1"), "UTF-8"),
    ("catalog.xlsx", b"PK\x03\x04 not really a workbook", "Không đọc được tệp Excel"),
    ("catalog.csv", (HEADER + "\n").encode(), "không có dòng dữ liệu"),
])
def test_file_level_errors_raise_before_anything_is_written(db_session, filename, payload, message):
    with pytest.raises(CatalogImportError) as exc:
        services.import_file(db_session, io.BytesIO(payload), filename)
    assert message in exc.value.message
    assert count(db_session, Procedure) == 0 and count(db_session, AuditLog) == 0


# ---------------------------------------------------------------- export


def test_export_can_be_reimported_without_creating_anything(db_session):
    with open(SAMPLE, "rb") as fh:
        services.import_file(db_session, fh, "procedures_sample.csv")
    make_procedure(db_session, national_code="1.700000", name='=cmd|"/c calc"!A1', committed_amount=3,
                   committed_unit="working_days", statutory_amount=5)
    db_session.commit()
    total = count(db_session, Procedure)

    data = services.export_workbook(db_session)
    report = services.import_file(db_session, io.BytesIO(data), "danh-muc-thu-tuc.xlsx")
    assert report.created == [] and report.updated == [] and report.rejected == []
    assert len(report.unchanged) == total
    assert count(db_session, Procedure) == total


def test_export_writes_formula_like_text_as_text_in_times_new_roman_with_a_frozen_header(db_session):
    make_procedure(db_session, national_code="1.700001", name='=HYPERLINK("http://x","y")', fee="+123",
                   source="@SUM(A1)", committed_amount=8, committed_unit="working_days", statutory_amount=10)
    db_session.commit()
    wb = openpyxl.load_workbook(io.BytesIO(services.export_workbook(db_session)))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[:8] == [f"{services.COLUMN_LABELS[c]} ({c})" for c in services.IMPORT_COLUMNS]
    assert ws.freeze_panes == "A2" and ws[1][0].font.b and ws["B2"].font.name == "Times New Roman"
    assert ws.column_dimensions["B"].width >= 40
    row = {h: c for h, c in zip(header, ws[2])}
    name_cell = row["Tên thủ tục (name)"]
    assert name_cell.value == '=HYPERLINK("http://x","y")' and name_cell.data_type == "s"
    assert all(c.data_type != "f" for c in ws[2])
    assert row["Phí, lệ phí (fee)"].value == "+123"
    assert row["Thời hạn cam kết"].value == 8 and row["Thời hạn áp dụng"].value == "8 ngày làm việc"


# ---------------------------------------------------------------- the administrator's save


def _form_data(**kw):
    data = {"national_code": "1.800000", "name": "Thủ tục qua biểu mẫu", "field": FIELD, "unit_id": None,
            "fee": "", "online_level": "", "limit_unit": "working_days", "statutory_amount": 10,
            "committed_amount": None, "committed_unit": None, "supplement_rule": "restart", "legal_basis": "",
            "effective_date": None, "submission_info": "", "result_location": "", "source": "", "active": True,
            "inactive_reason": "", "documents": [], "steps": []}
    data.update(kw)
    return data


def test_save_procedure_creates_with_documents_and_steps_and_audits(db_session):
    unit, other = make_unit(db_session), make_unit(db_session)
    p = services.save_procedure(db_session, None, _form_data(
        unit_id=unit.id, committed_amount=8, committed_unit="working_days",
        documents=[{"name": "Đơn đề nghị", "kind": "original", "count": 1},
                   {"name": "Giấy phép", "kind": "copy", "count": 2}],
        steps=[{"name": "Thẩm định", "unit_id": unit.id, "share_amount": 6},
               {"name": "Ký", "unit_id": other.id, "share_amount": 2}]))
    db_session.commit()
    assert p.effective_amount == 8 and len(p.documents) == 2 and len(p.steps) == 2
    entry = db_session.scalar(select(AuditLog).where(AuditLog.action == "create", AuditLog.entity == "procedure"))
    assert entry.after["documents"][1] == {"name": "Giấy phép", "kind": "copy", "count": 2}


@pytest.mark.parametrize("changes, field", [
    ({"name": ""}, "name"),
    ({"field": ""}, "field"),
    ({"statutory_amount": None}, "statutory_amount"),
    ({"limit_unit": None, "statutory_amount": None}, "active"),
    ({"active": False, "inactive_reason": ""}, "inactive_reason"),
    ({"committed_amount": 12, "committed_unit": "working_days"}, "committed_amount"),
    ({"committed_amount": 5, "committed_unit": None}, "committed_unit"),
    ({"steps": [{"name": "a", "unit_id": None, "share_amount": 10}]}, "steps"),
])
def test_save_procedure_refuses_inconsistent_data(db_session, changes, field):
    with pytest.raises(CatalogValidationError) as exc:
        services.save_procedure(db_session, None, _form_data(**changes))
    assert field in exc.value.errors
    assert count(db_session, Procedure) == 0


def test_save_procedure_requires_steps_to_sum_to_the_effective_limit(db_session):
    unit = make_unit(db_session)
    with pytest.raises(CatalogValidationError) as exc:
        services.save_procedure(db_session, None, _form_data(
            steps=[{"name": "a", "unit_id": unit.id, "share_amount": 4},
                   {"name": "b", "unit_id": unit.id, "share_amount": 4}]))
    assert exc.value.errors["steps"] == ("Tổng thời gian các bước là 8 ngày làm việc, "
                                         "phải bằng thời hạn áp dụng 10 ngày làm việc.")


def test_save_procedure_refuses_a_code_already_used(db_session):
    make_procedure(db_session, national_code="1.800000", name="Đã có")
    with pytest.raises(CatalogValidationError) as exc:
        services.save_procedure(db_session, None, _form_data())
    assert "Đã có" in exc.value.errors["national_code"]


def test_save_procedure_update_is_audited_with_before_and_after(db_session):
    p = make_procedure(db_session, national_code="1.800001", name="Trước", statutory_amount=10)
    db_session.commit()
    services.save_procedure(db_session, p, _form_data(national_code="1.800001", name="Sau", documents=[
        {"name": "Đơn", "kind": "original", "count": 1}]))
    db_session.commit()
    entry = db_session.scalar(select(AuditLog).where(AuditLog.action == "update", AuditLog.entity == "procedure"))
    assert entry.before["name"] == "Trước" and entry.after["name"] == "Sau"
    assert len(entry.before["documents"]) == 2 and len(entry.after["documents"]) == 1
    assert count(db_session, ProcedureDocument) == 1
