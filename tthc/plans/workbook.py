"""The plan report's workbook: pure (openpyxl and tthc.reports.workbook's helpers), returns bytes or writes a file.

"Báo cáo kết quả thực hiện Kế hoạch ...": the official header (Circular 01/2018 layout, shared
with the reports), a row per task (content, lead, timing, what was done, evidence, status), the
figures the product measured, and the signature block. Times New Roman, A4 landscape, one page
wide, the table head repeated on every page; user text starting with ``= + - @`` stays text.
"""
from __future__ import annotations

from typing import Optional, Sequence

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from tthc.reports.workbook import (
    BORDER,
    CENTER,
    COUNT_FORMAT,
    FONT_BOLD,
    FONT_ITALIC,
    FONT_NAME,
    FONT_SMALL,
    FONT_SMALL_BOLD,
    FONT_TITLE,
    LEFT,
    PERCENT_FORMAT,
    TOP_LEFT,
    ReportHeader,
    Target,
    _finish,
    _official_header,
    _print_setup,
    _put,
)

WIDTHS = (6, 46, 22, 14, 46, 30, 22)
LAST = "G"


def plan_report_workbook(header: ReportHeader, headers: Sequence[str], rows: Sequence[Sequence],
                         measured: Sequence[tuple[str, Sequence[tuple[str, object]], str]],
                         target: Target = None) -> Optional[bytes]:
    """``rows``: the cells of each task; ``measured``: (title, [(label, value)], note) per measured task."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Báo cáo"
    _official_header(ws, header, LAST, "C", "E")
    _put(ws, "A5", header.title.upper(), FONT_TITLE, merge=f"A5:{LAST}5")
    _put(ws, "A6", header.subtitle, FONT_ITALIC, merge=f"A6:{LAST}6")
    ws.row_dimensions[5].height = 36
    ws.row_dimensions[6].height = 30
    head = 8
    for i, label in enumerate(headers, 1):
        _put(ws, f"{get_column_letter(i)}{head}", label, FONT_SMALL_BOLD, border=BORDER)
    ws.row_dimensions[head].height = 32
    r = head + 1
    for cells in rows:
        for i, value in enumerate(cells, 1):
            _put(ws, f"{get_column_letter(i)}{r}", value, FONT_SMALL, CENTER if i in (1, 4) else TOP_LEFT,
                 border=BORDER)
        longest = max((len(str(v)) // max(WIDTHS[i] - 2, 1) + str(v).count("\n") + 1
                       for i, v in enumerate(cells)), default=1)
        ws.row_dimensions[r].height = min(409, 15 * max(2, longest))
        r += 1

    if measured:
        r += 1
        _put(ws, f"A{r}", "SỐ LIỆU DO HỆ THỐNG THEO DÕI HỒ SƠ TTHC TỔNG HỢP", FONT_BOLD, LEFT, merge=f"A{r}:{LAST}{r}")
        r += 1
        for title, figures, note in measured:
            _put(ws, f"A{r}", f"{title}" + (f" ({note})" if note else ""), FONT_SMALL_BOLD, LEFT,
                 merge=f"A{r}:{LAST}{r}")
            r += 1
            for label, value in figures:
                _put(ws, f"B{r}", label, FONT_SMALL, LEFT, border=BORDER)
                cell = _put(ws, f"C{r}", value if value is not None else "–", FONT_SMALL, CENTER, border=BORDER)
                if isinstance(value, float):
                    cell.number_format = PERCENT_FORMAT
                elif isinstance(value, int):
                    cell.number_format = COUNT_FORMAT
                r += 1
            r += 1

    r += 1
    _put(ws, f"A{r}", "Nơi nhận:", Font(name=FONT_NAME, size=11, bold=True, italic=True), LEFT, merge=f"A{r}:B{r}")
    _put(ws, f"E{r}", header.signer_title, FONT_BOLD, merge=f"E{r}:{LAST}{r}")
    _put(ws, f"C{r}", header.preparer_title, FONT_BOLD, merge=f"C{r}:D{r}")
    for i, recipient in enumerate(header.recipients, 1):
        _put(ws, f"A{r + i}", f"- {recipient}", Font(name=FONT_NAME, size=10), LEFT, merge=f"A{r + i}:B{r + i}")
    _put(ws, f"C{r + 1}", "(Ký, ghi rõ họ tên)", FONT_ITALIC, merge=f"C{r + 1}:D{r + 1}")
    _put(ws, f"E{r + 1}", "(Ký tên, đóng dấu)", FONT_ITALIC, merge=f"E{r + 1}:{LAST}{r + 1}")

    for i, width in enumerate(WIDTHS, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = f"A{head + 1}"
    _print_setup(ws, landscape=True, title_rows=f"{head}:{head}")
    ws.print_area = f"A1:{LAST}{r + max(len(header.recipients), 1) + 4}"
    return _finish(wb, target)
