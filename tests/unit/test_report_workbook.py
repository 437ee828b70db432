"""The workbook builder is pure and never writes user text as a formula (issue 6)."""
from __future__ import annotations

import ast
import io
import sys
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tthc.reports.queries import SummaryRow, total_row
from tthc.reports.workbook import ReportHeader, is_risky, register_workbook, summary_workbook

ROOT = Path(__file__).resolve().parents[2]
HEADER = ReportHeader(parent_agency="UBND tỉnh", agency="Sở KH&CN", place="Bà Rịa", report_date=datetime(2026, 3, 16),
                      title="Sổ theo dõi hồ sơ", subtitle="Kỳ báo cáo")


@pytest.mark.parametrize("module", ["tthc/reports/workbook.py", "tthc/reports/periods.py"])
def test_the_pure_report_modules_import_only_the_standard_library_and_openpyxl(module):
    tree = ast.parse((ROOT / module).read_text("utf-8"))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    tops = {name.split(".")[0] for name in names}
    assert tops <= set(sys.stdlib_module_names) | {"openpyxl"}, tops


@pytest.mark.parametrize("text", ["=1+1", "+33", "-2", "@SUM(A1)", '=HYPERLINK("http://x","y")'])
def test_text_starting_like_a_formula_is_stored_as_a_quoted_string(text):
    data = register_workbook(HEADER, [f"c{i}" for i in range(14)],
                             [(1, text, text, 1, text, text, text, "", "", "", "", "", "", text)])
    ws = load_workbook(io.BytesIO(data)).active
    row = next(r for r in range(1, 20) if ws.cell(r, 1).value == 1)
    for col in (2, 3, 5, 6, 7, 14):
        cell = ws.cell(row, col)
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)
    assert is_risky(text)


def test_control_characters_that_xlsx_cannot_hold_are_dropped():
    data = register_workbook(HEADER, [f"c{i}" for i in range(14)],
                             [(1, "D1", "Thủ\x07 tục", 1, "Nguyễn\x00 An", "", "", "", "", "", "", "", "", "")])
    ws = load_workbook(io.BytesIO(data)).active
    values = {c.value for row in ws.iter_rows() for c in row}
    assert "Thủ tục" in values and "Nguyễn An" in values


def test_a_field_name_like_a_formula_stays_text_in_the_summary_and_its_chart():
    rows = [SummaryRow(label="=cmd|' /C calc'!A0", early=1)]
    wb = load_workbook(io.BytesIO(summary_workbook(HEADER, "Lĩnh vực", rows, total_row(rows))))
    assert wb["Báo cáo"]["B12"].data_type == "s" and wb["Báo cáo"]["B12"].value == rows[0].label
    assert wb["Biểu đồ"]["A2"].data_type == "s"


def test_the_total_row_sums_the_counts_and_recomputes_the_rate():
    rows = [SummaryRow(label="a", early=1, late=1, carried=2), SummaryRow(label="b", on_time=2, within=1, online=3)]
    total = total_row(rows)
    assert (total.received, total.finished, total.in_progress, total.on_time_rate) == (5, 4, 1, 0.75)
    assert rows[0].on_time_rate == 0.5 and rows[1].on_time_rate == 1.0
    assert SummaryRow(label="empty").on_time_rate is None


def test_summary_counts_and_rates_stay_numbers_with_a_number_format():
    """Issue 16: the viewer's locale renders the separators (1.234 / 50,00 % in Vietnamese), so the
    cells hold numbers and carry the format code, never text such as "1.234"."""
    rows = [SummaryRow(label="a", early=1234, late=1234)]
    ws = load_workbook(io.BytesIO(summary_workbook(HEADER, "Lĩnh vực", rows, total_row(rows))))["Báo cáo"]
    line = next(r for r in range(1, 30) if ws.cell(r, 2).value == "a")
    counts = [ws.cell(line, c) for c in range(3, 16)]
    rate = ws.cell(line, 16)
    assert any(c.value == 1234 for c in counts)
    assert all(c.number_format == "#,##0" for c in counts if isinstance(c.value, int))
    assert (rate.value, rate.number_format) == (0.5, "0.00%")

# -- the streamed tables print (issue 11) ----------------------------------------------------------------

REGISTER_LABELS = [f"Cột {i}" for i in range(1, 15)]
LONG = "Cấp Giấy chứng nhận đăng ký hoạt động của tổ chức khoa học và công nghệ (trường hợp thay đổi, bổ sung)"


def _register_row(n: int) -> tuple:
    at = datetime(2026, 3, 9, 9, 15)
    return (n, f"000.00.31.H49-260309-{n:04d}", LONG, 1, "Nguyễn Văn An", "12 Lê Lợi, phường Bến Thành, 0912345678",
            "Phòng Quản lý Khoa học", at, at, None, None, None, "", "")


def test_the_register_prints_a4_landscape_with_borders_wrapping_dates_and_repeated_header_rows():
    header = ReportHeader(parent_agency="UBND tỉnh", agency="Sở KH&CN", place="Bà Rịa",
                          report_date=datetime(2026, 3, 16), title="Sổ theo dõi hồ sơ", subtitle="Kỳ báo cáo",
                          form_label="Mẫu số 07 – Thông tư 03/2025/TT-VPCP")
    data = register_workbook(header, REGISTER_LABELS, [_register_row(1), _register_row(2)])
    ws = load_workbook(io.BytesIO(data)).active
    head = next(r for r in range(1, 20) if ws.cell(r, 1).value == "Cột 1")
    assert [ws.cell(head + 1, c).value for c in (1, 14)] == ["(1)", "(14)"]
    assert ws.print_title_rows == f"${head}:${head + 1}"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
    assert any(c.value == "Mẫu số 07 – Thông tư 03/2025/TT-VPCP" for row in ws.iter_rows(max_row=head) for c in row)
    row = head + 2
    for col in range(1, 15):  # every cell of a data row, empty ones too, is boxed
        cell = ws.cell(row, col)
        assert cell.border.left.style == cell.border.right.style == cell.border.top.style == "thin", col
        assert cell.font.name == "Times New Roman"
    assert ws.cell(row, 3).alignment.wrap_text and ws.cell(row, 3).value == LONG
    assert ws.cell(row, 8).value == datetime(2026, 3, 9, 9, 15) and ws.cell(row, 8).number_format == "hh:mm dd/mm/yyyy"
    code_width = ws.column_dimensions["B"].width
    assert code_width * 1.35 - 1 >= len(_register_row(1)[1]), "a dossier code fits its column on one line"
    # The row is as tall as its longest wrapped value (the procedure's name takes several lines).
    assert ws.row_dimensions[row].height >= 3 * 12.5


def test_the_streamed_table_keeps_no_state_per_row():
    from tthc.reports.workbook import Column, TableWriter

    writer = TableWriter("t", [Column("a", 10), Column("b", 15.5, "datetime")], numbered=False)
    writer.rows(((f"dòng {i} " * (i % 5), datetime(2026, 1, 1)) for i in range(3000)))
    assert len(writer.ws.row_dimensions) <= 2, "row heights are handed to the writer, not kept"
    ws = load_workbook(io.BytesIO(writer.finish())).active
    assert ws.max_row == 3001 and ws.cell(3001, 2).number_format == "hh:mm dd/mm/yyyy"


def test_one_formula_guard_serves_every_workbook():
    """The catalog export, the report and the streamed lists write user text through tthc.reports.workbook:
    no other module tests text for formula prefixes."""
    offenders = []
    for path in (ROOT / "tthc").rglob("*.py"):
        if path.name == "workbook.py":
            continue
        source = path.read_text("utf-8")
        if "quotePrefix" in source or 'startswith(("=", "+", "-", "@"))' in source or "FORMULA_PREFIXES" in source:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_summary_groups_stopped_dossiers_with_returned_and_withdrawn_ones():
    rows = [SummaryRow(label="a", returned=2, early=1)]
    ws = load_workbook(io.BytesIO(summary_workbook(HEADER, "Lĩnh vực", rows, total_row(rows))))["Báo cáo"]
    labels = {c.value for row in ws.iter_rows(max_row=12) for c in row if isinstance(c.value, str)}
    assert "Trả lại / rút / dừng giải quyết" in labels and "Số hồ sơ trả lại, rút hồ sơ" not in labels
