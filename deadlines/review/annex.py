"""The review's workbook (domain.md §10): sheet 1 the annex of the draft decision, sheet 2 the full
statistics, sheet 3 the documents asked for in supplement requests.

Built with the reports' workbook primitives (``tthc.reports.workbook``: the official header of
Circular 01/2018, Times New Roman, A4 landscape, user text never written as a formula). The sheets
hold one row per procedure (and rule version), a few thousand at most: openpyxl's normal mode.
Percentages are fractions with the reports' ``0.00%`` format; times used are numbers in the unit
named on the row (two decimals for working units, whole for calendar units).
"""
from __future__ import annotations

from typing import Optional, Sequence

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from deadlines.review.queries import ComponentRow, ReviewRow, coverage_text
from tthc.models import LIMIT_UNIT_LABELS
from tthc.reports.workbook import (
    BORDER,
    CENTER,
    FONT_BOLD,
    FONT_ITALIC,
    FONT_NAME,
    FONT_SMALL,
    FONT_SMALL_BOLD,
    FONT_TITLE,
    LEFT,
    PERCENT_FORMAT,
    ReportHeader,
    Target,
    _finish,
    _official_header,
    _print_setup,
    _put,
)

ANNEX_TITLE = "Danh mục thủ tục hành chính đề xuất cắt giảm thời gian giải quyết"
ANNEX_HEADERS = ("STT", "Mã TTHC", "Tên thủ tục hành chính", "Lĩnh vực", "Thời hạn theo quy định",
                 "Thời hạn đang áp dụng", "Thời hạn đề xuất", "Tỷ lệ cắt giảm (%)")
ANNEX_BASIS = ("Số hồ sơ", "Tỷ lệ đúng hạn (%)", "95% hồ sơ không quá")
ANNEX_WIDTHS = (6, 16, 46, 24, 16, 16, 16, 12, 10, 12, 14)

STATS_HEADERS = ("STT", "Mã TTHC", "Tên thủ tục hành chính", "Lĩnh vực", "Quy định tiếp nhận",
                 "Thời hạn theo quy định", "Thời hạn đang áp dụng", "Đơn vị tính thời gian sử dụng",
                 "Số hồ sơ đã giải quyết", "Tỷ lệ đúng hạn (%)", "Trung vị", "Phân vị 80", "Phân vị 95", "Tối đa",
                 "Tỷ lệ giải quyết trong nửa thời hạn (%)", "Thời hạn đề xuất", "Tỷ lệ cắt giảm (%)",
                 "Số hồ sơ trễ hạn nếu áp dụng đề xuất", "Ghi chú")
STATS_WIDTHS = (6, 14, 40, 20, 24, 14, 14, 14, 10, 11, 9, 9, 9, 9, 12, 12, 11, 12, 18)

COMPONENT_HEADERS = ("STT", "Mã TTHC", "Tên thủ tục hành chính", "Lĩnh vực", "Giấy tờ được yêu cầu bổ sung",
                     "Số lần yêu cầu", "Tổng số lần yêu cầu bổ sung của thủ tục", "Tỷ lệ (%)")
COMPONENT_WIDTHS = (6, 14, 40, 22, 46, 10, 14, 10)


def annex_rows(rows: Sequence[ReviewRow]) -> list[ReviewRow]:
    """The procedures for the draft decision: a proposal below the time in force today."""
    return [r for r in rows if r.proposed is not None and r.current and r.proposed < r.limit_amount]


def _unit_label(row: ReviewRow) -> str:
    return LIMIT_UNIT_LABELS.get(row.limit_unit, row.limit_unit)


def _cut_cell(row: ReviewRow):
    """The cut as a fraction (shown in %), "khác đơn vị" when the statutory unit differs, else blank."""
    if row.proposed is None:
        return None
    if row.units_differ:
        return "khác đơn vị"
    return None if row.cut is None else row.cut / 100


def _head(ws, r: int, labels: Sequence[str]) -> int:
    for i, label in enumerate(labels, 1):
        _put(ws, f"{get_column_letter(i)}{r}", label, FONT_SMALL_BOLD, CENTER, border=BORDER)
    ws.row_dimensions[r].height = 60
    for i in range(1, len(labels) + 1):
        _put(ws, f"{get_column_letter(i)}{r + 1}", f"({i})", FONT_SMALL, CENTER, border=BORDER)
    return r + 2


def _line(ws, r: int, values: Sequence, percent_columns: Sequence[int] = (), text_columns: Sequence[int] = ()):
    for i, value in enumerate(values, 1):
        cell = _put(ws, f"{get_column_letter(i)}{r}", value, FONT_SMALL, LEFT if i in text_columns else CENTER,
                    border=BORDER)
        if i in percent_columns and not isinstance(value, str):
            cell.number_format = PERCENT_FORMAT


def _widths(ws, widths: Sequence[float]) -> None:
    for i, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = width


def _annex_sheet(ws, header: ReportHeader, rows: Sequence[ReviewRow], window_text: str, coverage) -> None:
    n = len(ANNEX_WIDTHS)
    last = get_column_letter(n)
    _official_header(ws, header, last, "D", "F")
    _put(ws, "A5", ANNEX_TITLE.upper(), FONT_TITLE, merge=f"A5:{last}5")
    _put(ws, "A6", f"(Kèm theo dự thảo Quyết định của Ủy ban nhân dân tỉnh; căn cứ số liệu hồ sơ giải quyết "
                   f"{window_text}; thời hạn đề xuất bảo đảm ít nhất {coverage}% số hồ sơ đã giải quyết)",
         FONT_ITALIC, merge=f"A6:{last}6")
    ws.row_dimensions[6].height = 32
    head = 8
    for i, label in enumerate(ANNEX_HEADERS, 1):
        col = get_column_letter(i)
        _put(ws, f"{col}{head}", label, FONT_SMALL_BOLD, CENTER, merge=f"{col}{head}:{col}{head + 1}",
             border=BORDER)
    first_basis = len(ANNEX_HEADERS) + 1
    _put(ws, f"{get_column_letter(first_basis)}{head}", "Căn cứ đề xuất", FONT_SMALL_BOLD, CENTER,
         merge=f"{get_column_letter(first_basis)}{head}:{last}{head}", border=BORDER)
    for i, label in enumerate(ANNEX_BASIS, first_basis):
        _put(ws, f"{get_column_letter(i)}{head + 1}", label, FONT_SMALL_BOLD, CENTER, border=BORDER)
    ws.row_dimensions[head].height = 30
    ws.row_dimensions[head + 1].height = 45
    for i in range(1, n + 1):
        _put(ws, f"{get_column_letter(i)}{head + 2}", f"({i})", FONT_SMALL, CENTER, border=BORDER)
    r = head + 3
    for index, row in enumerate(rows, 1):
        p95 = f"{row.p95:g} {_unit_label(row)}".replace(".", ",") if row.p95 is not None else ""
        _line(ws, r, [index, row.national_code, row.name, row.field, row.statutory_text(), row.limit_text(),
                      row.limit_text(row.proposed), _cut_cell(row), row.finished, row.on_time_rate, p95],
              percent_columns=(8, 10), text_columns=(3, 4))
        r += 1
    if not rows:
        _put(ws, f"A{r}", "Không có thủ tục nào đủ dữ liệu để đề xuất cắt giảm thời gian giải quyết.", FONT_ITALIC,
             LEFT, merge=f"A{r}:{last}{r}", border=BORDER)
        r += 1
    r += 1
    _put(ws, f"A{r}", "Nơi nhận:", Font(name=FONT_NAME, size=11, bold=True, italic=True), LEFT, merge=f"A{r}:D{r}")
    _put(ws, f"H{r}", header.signer_title, FONT_BOLD, merge=f"H{r}:{last}{r}")
    _put(ws, f"E{r}", header.preparer_title, FONT_BOLD, merge=f"E{r}:G{r}")
    for i, recipient in enumerate(header.recipients, 1):
        _put(ws, f"A{r + i}", f"- {recipient}", Font(name=FONT_NAME, size=10), LEFT, merge=f"A{r + i}:D{r + i}")
    _put(ws, f"E{r + 1}", "(Ký, ghi rõ họ tên)", FONT_ITALIC, merge=f"E{r + 1}:G{r + 1}")
    _put(ws, f"H{r + 1}", "(Ký tên, đóng dấu)", FONT_ITALIC, merge=f"H{r + 1}:{last}{r + 1}")
    _widths(ws, ANNEX_WIDTHS)
    ws.freeze_panes = f"C{head + 3}"
    _print_setup(ws, landscape=True, title_rows=f"{head}:{head + 2}")
    ws.print_area = f"A1:{last}{r + max(len(header.recipients), 1) + 4}"


def _title_rows(ws, title: str, subtitle: str, n: int) -> int:
    last = get_column_letter(n)
    _put(ws, "A1", title.upper(), FONT_TITLE, merge=f"A1:{last}1")
    _put(ws, "A2", subtitle, FONT_ITALIC, merge=f"A2:{last}2")
    return 4


def _stats_sheet(ws, rows: Sequence[ReviewRow], window_text: str, coverage) -> None:
    head = _title_rows(ws, "Thống kê thời gian giải quyết thực tế theo thủ tục",
                       f"Hồ sơ giải quyết xong {window_text}; thời gian sử dụng tính như thời hạn (từ thời điểm "
                       f"bắt đầu tính, theo đơn vị thời hạn đang áp dụng, không tính thời gian tạm dừng); "
                       f"đề xuất bảo đảm {coverage}% hồ sơ", len(STATS_HEADERS))
    r = _head(ws, head, STATS_HEADERS)
    for index, row in enumerate(rows, 1):
        _line(ws, r, [index, row.national_code, row.name, row.field, row.version_label, row.statutory_text(),
                      row.limit_text(), _unit_label(row) if row.has_limit else "", row.finished, row.on_time_rate,
                      row.median, row.p80, row.p95, row.maximum, row.within_half,
                      row.limit_text(row.proposed) if row.proposed is not None else "", _cut_cell(row),
                      row.late_under_proposal, row.note],
              percent_columns=(10, 15, 17), text_columns=(3, 4, 5))
        r += 1
    _widths(ws, STATS_WIDTHS)
    ws.freeze_panes = f"D{head + 2}"
    _print_setup(ws, landscape=True, title_rows=f"{head}:{head + 1}")


def _components_sheet(ws, rows: Sequence[ComponentRow], window_text: str) -> None:
    head = _title_rows(ws, "Thành phần hồ sơ được yêu cầu bổ sung",
                       f"Các lần yêu cầu bổ sung, hoàn thiện hồ sơ (mẫu 02) {window_text}", len(COMPONENT_HEADERS))
    r = _head(ws, head, COMPONENT_HEADERS)
    for index, row in enumerate(rows, 1):
        share = row.requests / row.total_requests if row.total_requests else None
        _line(ws, r, [index, row.national_code, row.name, row.field, row.document, row.requests,
                      row.total_requests, share], percent_columns=(8,), text_columns=(3, 4, 5))
        r += 1
    _widths(ws, COMPONENT_WIDTHS)
    ws.freeze_panes = f"D{head + 2}"
    _print_setup(ws, landscape=True, title_rows=f"{head}:{head + 1}")


def review_workbook(header: ReportHeader, rows: Sequence[ReviewRow], components: Sequence[ComponentRow],
                    window_text: str, coverage, target: Target = None) -> Optional[bytes]:
    coverage = coverage_text(coverage)
    wb = Workbook()
    annex = wb.active
    annex.title = "Phụ lục dự thảo QĐ"
    _annex_sheet(annex, header, annex_rows(rows), window_text, coverage)
    _stats_sheet(wb.create_sheet("Thống kê đầy đủ"), rows, window_text, coverage)
    _components_sheet(wb.create_sheet("Thành phần hồ sơ"), components, window_text)
    return _finish(wb, target)
