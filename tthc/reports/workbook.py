"""The workbook builder: pure (openpyxl and the standard library only), returns bytes or writes a file.

Features supply rows; views and the CLI only send or save what this returns.
- The summary report is small: openpyxl's normal mode, for the merged official
  header (Circular 01/2018: parent agency and agency left, quốc hiệu and tiêu ngữ
  right, number, place and date), the signature block and a chart sheet.
- The register (form 06, A4) and the late list stream in ``write_only`` mode: memory
  stays flat in the number of rows.
- User text starting with ``= + - @`` is written as a text cell with a quote prefix,
  never as a formula (formula injection); characters XML cannot hold are dropped.
Every sheet: Times New Roman, A4, fit to one page wide, header rows frozen and
repeated on every printed page.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Iterable, Optional, Sequence, Union

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins

FONT_NAME = "Times New Roman"
NATIONAL_NAME = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
NATIONAL_MOTTO = "Độc lập - Tự do - Hạnh phúc"
RISKY_PREFIXES = ("=", "+", "-", "@")
PERCENT_FORMAT = "0.00%"
# Counts: a thousands separator, which the viewer's locale renders ("1.234" in Vietnamese); cells stay numbers.
COUNT_FORMAT = "#,##0"

Target = Union[str, IO[bytes], None]

_thin = Side(style="thin")
BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
FONT = Font(name=FONT_NAME, size=12)
FONT_BOLD = Font(name=FONT_NAME, size=12, bold=True)
FONT_ITALIC = Font(name=FONT_NAME, size=12, italic=True)
FONT_TITLE = Font(name=FONT_NAME, size=14, bold=True)
FONT_SMALL = Font(name=FONT_NAME, size=11)
FONT_SMALL_BOLD = Font(name=FONT_NAME, size=11, bold=True)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
TOP_LEFT = Alignment(horizontal="left", vertical="top", wrap_text=True)


@dataclass
class ReportHeader:
    """What the official header and the signature block say (configuration, never constants)."""

    parent_agency: str
    agency: str
    place: str
    report_date: datetime
    title: str
    subtitle: str = ""
    number: str = "Số:        /BC"
    recipients: list[str] = field(default_factory=lambda: [
        "Văn phòng UBND tỉnh;", "Sở Nội vụ;", "Giám đốc Sở (để báo cáo);", "Lưu: VT."])
    signer_title: str = "GIÁM ĐỐC"
    preparer_title: str = "NGƯỜI LẬP BIỂU"

    def place_and_date(self) -> str:
        d = self.report_date
        place = f"{self.place}, " if self.place else ""
        return f"{place}ngày {d.day:02d} tháng {d.month:02d} năm {d.year}"


def clean_text(value: str) -> str:
    """Drop the control characters an .xlsx cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if ILLEGAL_CHARACTERS_RE.search(value) else value


def is_risky(value) -> bool:
    return isinstance(value, str) and value.startswith(RISKY_PREFIXES)


def _finish(wb: Workbook, target: Target) -> Optional[bytes]:
    if target is None:
        buffer = io.BytesIO()
        wb.save(buffer)
        return buffer.getvalue()
    wb.save(target)
    return None


def _print_setup(ws, *, landscape: bool, title_rows: str) -> None:
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages tall as needed, one page wide
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.5, right=0.4, top=0.6, bottom=0.6, header=0.3, footer=0.3)
    ws.print_options.horizontalCentered = True
    ws.print_title_rows = title_rows
    ws.oddFooter.center.text = "Trang &P/&N"
    ws.oddFooter.center.font = FONT_NAME


# -- the summary report (normal mode) -----------------------------------------------------------------

SUMMARY_WIDTHS = (6, 38, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 10, 10, 11)
FIRST_TABLE_ROW = 8


def _put(ws, ref: str, value, font=FONT, alignment=CENTER, merge: Optional[str] = None, border=None):
    if merge:
        ws.merge_cells(merge)
    cell = ws[ref]
    if isinstance(value, str):
        value = clean_text(value)
        if is_risky(value):
            cell.value = value
            cell.data_type = "s"
            cell.quotePrefix = True
        else:
            cell.value = value
    else:
        cell.value = value
    cell.font = font
    cell.alignment = alignment
    if border is not None and merge:
        for row in ws[merge]:
            for c in row:
                c.border = border
    elif border is not None:
        cell.border = border
    return cell


def _official_header(ws, header: ReportHeader, last_col: str, split_col: str, right_col: str) -> None:
    """Rows 1–3: agency left, quốc hiệu and tiêu ngữ right, number and place-date (Circular 01/2018)."""
    _put(ws, "A1", header.parent_agency.upper(), FONT, merge=f"A1:{split_col}1")
    _put(ws, f"{right_col}1", NATIONAL_NAME, FONT_BOLD, merge=f"{right_col}1:{last_col}1")
    _put(ws, "A2", header.agency.upper(), FONT_BOLD, merge=f"A2:{split_col}2")
    _put(ws, f"{right_col}2", NATIONAL_MOTTO, FONT_BOLD, merge=f"{right_col}2:{last_col}2")
    _put(ws, "A3", header.number, FONT, merge=f"A3:{split_col}3")
    _put(ws, f"{right_col}3", header.place_and_date(), FONT_ITALIC, merge=f"{right_col}3:{last_col}3")


SUMMARY_GROUPS = (
    # (first col, last col, label) of row 1 of the table head; single columns span three rows
    ("A", "A", "STT"),
    ("C", "G", "Số hồ sơ nhận giải quyết"),
    ("H", "K", "Số hồ sơ đã giải quyết"),
    ("L", "N", "Số hồ sơ đang giải quyết"),
    ("O", "O", "Số hồ sơ trả lại, rút hồ sơ"),
    ("P", "P", "Tỷ lệ giải quyết đúng hạn, trước hạn (%)"),
    ("Q", "S", "Mức độ hài lòng"),  # issue 7: its own group, outside the identities of columns C–O
)
SUMMARY_SUBGROUPS = (
    ("C", "Tổng số"), ("D", "Kỳ trước chuyển qua"), ("H", "Tổng số"), ("I", "Trước hạn"), ("J", "Đúng hạn"),
    ("K", "Quá hạn"), ("L", "Tổng số"), ("M", "Trong hạn"), ("N", "Quá hạn"),
    ("Q", "Số lượt đánh giá"), ("R", "Hài lòng"), ("S", "Tỷ lệ hài lòng (%)"),
)
SUMMARY_CHANNELS = (("E", "Trực tuyến"), ("F", "Trực tiếp"), ("G", "Bưu chính công ích"))


def summary_workbook(header: ReportHeader, dimension_label: str, rows: Sequence, total, target: Target = None,
                     chart_title: str = "Tỷ lệ giải quyết đúng hạn, trước hạn") -> Optional[bytes]:
    """The report "Tình hình, kết quả giải quyết TTHC".

    ``rows`` and ``total`` have ``label`` and ``cells()`` (14 numbers, the last the
    on-time rate as a fraction or None), and optionally ``satisfaction_cells()`` (rated,
    satisfied, rate as a fraction or None) for the "Mức độ hài lòng" group (columns Q–S).
    The official header spans A–P as before; the table and the print area reach S.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = "Báo cáo"
    last = "P"
    table_last = "S"
    _official_header(ws, header, last, "E", "H")
    _put(ws, "A5", header.title.upper(), FONT_TITLE, merge=f"A5:{last}5")
    _put(ws, "A6", header.subtitle, FONT_ITALIC, merge=f"A6:{last}6")
    ws.row_dimensions[5].height = 22
    head1, head2, head3, numbers = FIRST_TABLE_ROW, FIRST_TABLE_ROW + 1, FIRST_TABLE_ROW + 2, FIRST_TABLE_ROW + 3
    for first, lastc, label in SUMMARY_GROUPS:
        span = f"{first}{head1}:{lastc}{head3}" if first == lastc else f"{first}{head1}:{lastc}{head1}"
        _put(ws, f"{first}{head1}", label, FONT_SMALL_BOLD, merge=span, border=BORDER)
    _put(ws, f"B{head1}", dimension_label, FONT_SMALL_BOLD, merge=f"B{head1}:B{head3}", border=BORDER)
    for col, label in SUMMARY_SUBGROUPS:
        _put(ws, f"{col}{head2}", label, FONT_SMALL_BOLD, merge=f"{col}{head2}:{col}{head3}", border=BORDER)
    _put(ws, f"E{head2}", "Mới tiếp nhận", FONT_SMALL_BOLD, merge=f"E{head2}:G{head2}", border=BORDER)
    for col, label in SUMMARY_CHANNELS:
        _put(ws, f"{col}{head3}", label, FONT_SMALL_BOLD, border=BORDER)
    for i in range(1, 20):  # column numbers, as official tables print them
        _put(ws, f"{get_column_letter(i)}{numbers}", f"({i})", FONT_SMALL, border=BORDER)
    ws.row_dimensions[head1].height = 30
    ws.row_dimensions[head2].height = 30
    ws.row_dimensions[head3].height = 45

    r = numbers + 1
    first_data = r
    for index, row in enumerate(rows, 1):
        _summary_line(ws, r, index, row.label, row.cells(), FONT_SMALL)
        _satisfaction_line(ws, r, row, FONT_SMALL)
        r += 1
    _summary_line(ws, r, "", total.label, total.cells(), FONT_SMALL_BOLD)
    _satisfaction_line(ws, r, total, FONT_SMALL_BOLD)
    total_row_index = r

    r += 2
    _put(ws, f"A{r}", "Nơi nhận:", Font(name=FONT_NAME, size=11, bold=True, italic=True), LEFT, merge=f"A{r}:E{r}")
    _put(ws, f"K{r}", header.signer_title, FONT_BOLD, merge=f"K{r}:{last}{r}")
    _put(ws, f"F{r}", header.preparer_title, FONT_BOLD, merge=f"F{r}:I{r}")
    for i, recipient in enumerate(header.recipients, 1):
        _put(ws, f"A{r + i}", f"- {recipient}", Font(name=FONT_NAME, size=10), LEFT, merge=f"A{r + i}:E{r + i}")
    _put(ws, f"F{r + 1}", "(Ký, ghi rõ họ tên)", FONT_ITALIC, merge=f"F{r + 1}:I{r + 1}")
    _put(ws, f"K{r + 1}", "(Ký tên, đóng dấu)", FONT_ITALIC, merge=f"K{r + 1}:{last}{r + 1}")

    for i, width in enumerate(SUMMARY_WIDTHS, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = f"C{numbers + 1}"
    _print_setup(ws, landscape=True, title_rows=f"{head1}:{numbers}")
    ws.print_area = f"A1:{table_last}{r + max(len(header.recipients), 1) + 4}"

    _chart_sheet(wb, rows, total, first_data, total_row_index, dimension_label, chart_title)
    return _finish(wb, target)


def _summary_line(ws, r: int, index, label: str, cells: list, font) -> None:
    _put(ws, f"A{r}", index, font, CENTER, border=BORDER)
    _put(ws, f"B{r}", label, font, LEFT, border=BORDER)
    for offset, value in enumerate(cells):
        cell = _put(ws, f"{get_column_letter(3 + offset)}{r}", value, font, CENTER, border=BORDER)
        cell.number_format = PERCENT_FORMAT if offset == len(cells) - 1 else COUNT_FORMAT


def _satisfaction_line(ws, r: int, row, font) -> None:
    """Columns Q–S: rated, satisfied, satisfaction rate (blank when nobody rated)."""
    cells = row.satisfaction_cells() if hasattr(row, "satisfaction_cells") else [0, 0, None]
    for offset, value in enumerate(cells):
        cell = _put(ws, f"{get_column_letter(17 + offset)}{r}", value, font, CENTER, border=BORDER)
        cell.number_format = PERCENT_FORMAT if offset == 2 else COUNT_FORMAT


def _chart_sheet(wb: Workbook, rows: Sequence, total, first_data: int, total_row: int, dimension_label: str,
                 chart_title: str) -> None:
    """A second sheet: the on-time rate per row as a bar chart, from a small table of its own."""
    ws = wb.create_sheet("Biểu đồ")
    _put(ws, "A1", dimension_label, FONT_BOLD, LEFT, border=BORDER)
    _put(ws, "B1", "Tỷ lệ đúng hạn (%)", FONT_BOLD, CENTER, border=BORDER)
    r = 1
    for row in list(rows) + [total]:
        rate = row.cells()[-1]
        r += 1
        _put(ws, f"A{r}", row.label, FONT, LEFT, border=BORDER)
        cell = _put(ws, f"B{r}", rate, FONT, CENTER, border=BORDER)
        cell.number_format = PERCENT_FORMAT
    ws.column_dimensions["A"].width = 48
    ws.column_dimensions["B"].width = 18
    chart = BarChart()
    chart.type = "bar"  # horizontal bars: long field names stay readable
    chart.style = 10
    chart.title = chart_title
    chart.y_axis.title = "%"
    chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 1
    chart.x_axis.title = dimension_label
    data = Reference(ws, min_col=2, min_row=1, max_row=max(r, 2))
    categories = Reference(ws, min_col=1, min_row=2, max_row=max(r, 2))
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(categories)
    chart.dataLabels = DataLabelList(showVal=True, showSerName=False, showCatName=False, showLegendKey=False,
                                     showPercent=False)
    chart.legend = None
    chart.height = max(7.5, 1.0 * r)
    chart.width = 24
    ws.add_chart(chart, "D2")
    _print_setup(ws, landscape=True, title_rows="1:1")
    ws.page_setup.fitToHeight = 1  # the chart and its table on one page


# -- streamed lists (write_only) ----------------------------------------------------------------------


class _Streamer:
    """Header rows with styles and merges, then data rows appended as plain values."""

    # The official header takes rows 1-7, the column titles row 8, their numbers row 9.
    HEAD_ROW = 8

    def __init__(self, title: str, widths: Sequence[float], landscape: bool = True):
        self.wb = Workbook(write_only=True)
        self.ws = self.wb.create_sheet(title)
        self.row = 0
        self.widths = widths
        # write_only writes the sheet's properties, views and columns before the first row: set them now.
        for i, width in enumerate(widths, 1):
            self.ws.column_dimensions[get_column_letter(i)].width = width
        self.ws.freeze_panes = f"C{self.HEAD_ROW + 2}"
        _print_setup(self.ws, landscape=landscape, title_rows=f"{self.HEAD_ROW}:{self.HEAD_ROW + 1}")

    def styled(self, values: Sequence, font=FONT, alignment=CENTER, border=None, merges: Sequence[tuple] = (),
               height: Optional[float] = None) -> None:
        self.row += 1
        cells = []
        for value in values:
            cell = WriteOnlyCell(self.ws, value=None)
            if value is not None:
                self._set(cell, value)
            cell.font = font
            cell.alignment = alignment
            if border is not None:
                cell.border = border
            cells.append(cell)
        if height:
            self.ws.row_dimensions[self.row].height = height
        for first, last in merges:
            self.ws.merged_cells.add(f"{get_column_letter(first)}{self.row}:{get_column_letter(last)}{self.row}")
        self.ws.append(cells)

    def _set(self, cell, value) -> None:
        if isinstance(value, str):
            value = clean_text(value)
            cell.value = value
            if is_risky(value):
                cell.data_type = "s"
                cell.quotePrefix = True
        else:
            cell.value = value

    def official_header(self, header: ReportHeader, title: str, subtitle: str) -> None:
        n = len(self.widths)
        split = max(2, n // 3)
        right = max(split + 1, n - max(4, n // 2) + 1)
        blank = [None] * n

        def line(left, right_value, left_font, right_font):
            values = list(blank)
            values[0] = left
            values[right - 1] = right_value
            cells_fonts = (left_font, right_font)
            self.row += 1
            cells = []
            for i, value in enumerate(values, 1):
                cell = WriteOnlyCell(self.ws)
                if value is not None:
                    self._set(cell, value)
                    cell.font = cells_fonts[0] if i == 1 else cells_fonts[1]
                    cell.alignment = CENTER
                cells.append(cell)
            self.ws.merged_cells.add(f"A{self.row}:{get_column_letter(split)}{self.row}")
            self.ws.merged_cells.add(f"{get_column_letter(right)}{self.row}:{get_column_letter(n)}{self.row}")
            self.ws.append(cells)

        line(header.parent_agency.upper(), NATIONAL_NAME, FONT, FONT_BOLD)
        line(header.agency.upper(), NATIONAL_MOTTO, FONT_BOLD, FONT_BOLD)
        line(header.number, header.place_and_date(), FONT, FONT_ITALIC)
        self.row += 1
        self.ws.append([])
        self.styled([title] + [None] * (n - 1), FONT_TITLE, merges=[(1, n)], height=22)
        self.styled([subtitle] + [None] * (n - 1), FONT_ITALIC, merges=[(1, n)])
        self.row += 1
        self.ws.append([])

    def head(self, labels: Sequence[str], height: float = 60) -> int:
        self.styled(list(labels), FONT_SMALL_BOLD, CENTER, BORDER, height=height)
        self.styled([f"({i})" for i in range(1, len(labels) + 1)], FONT_SMALL, CENTER, BORDER)
        return self.row

    def rows(self, rows: Iterable[Sequence], text_columns: Sequence[int]) -> int:
        """Append data rows as plain values (fast path); only risky text gets a styled text cell."""
        ws = self.ws
        append = ws.append
        count = 0
        for row in rows:
            values = list(row)
            for i in text_columns:
                value = values[i]
                if value and isinstance(value, str):
                    if ILLEGAL_CHARACTERS_RE.search(value):
                        value = values[i] = ILLEGAL_CHARACTERS_RE.sub("", value)
                    if value.startswith(RISKY_PREFIXES):
                        cell = WriteOnlyCell(ws)
                        self._set(cell, value)
                        values[i] = cell
            append(values)
            count += 1
        self.row += count
        return count

    def finish(self, target: Target) -> Optional[bytes]:
        return _finish(self.wb, target)


REGISTER_WIDTHS = (7, 20, 34, 8, 22, 30, 22, 13, 13, 13, 13, 13, 10, 18)


def register_workbook(header: ReportHeader, headers: Sequence[str], rows: Iterable[Sequence],
                      target: Target = None) -> Optional[bytes]:
    """Form 06 "Sổ theo dõi hồ sơ" (Circular 01/2018), A4, streamed."""
    s = _Streamer("Sổ theo dõi hồ sơ", REGISTER_WIDTHS)
    s.official_header(header, header.title, header.subtitle)
    head = s.head(headers, height=75)
    assert head == s.HEAD_ROW + 1
    s.rows(rows, text_columns=(1, 2, 4, 5, 6, 13))
    return s.finish(target)


LATE_WIDTHS = (6, 20, 34, 22, 13, 13, 13, 13, 16, 11, 11, 34)


def late_workbook(header: ReportHeader, headers: Sequence[str], rows: Iterable[Sequence],
                  target: Target = None) -> Optional[bytes]:
    """The list of dossiers finished late or overdue, with apologies and reasons, streamed."""
    s = _Streamer("Hồ sơ quá hạn", LATE_WIDTHS)
    s.official_header(header, header.title, header.subtitle)
    head = s.head(headers, height=45)
    assert head == s.HEAD_ROW + 1
    s.rows(rows, text_columns=(1, 2, 3, 11))
    return s.finish(target)
