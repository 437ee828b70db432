"""The one workbook builder: pure (openpyxl and the standard library only), returns bytes or writes a file.

Features supply rows; views and the CLI only send or save what this returns. It serves the
catalog export, the summary report, the register and the late list.
- The summary report is small: openpyxl's normal mode, for the merged official
  header (parent agency and agency left, quốc hiệu and tiêu ngữ right, number, place
  and date), the signature block and a chart sheet.
- The streamed tables (:class:`TableWriter`: the register, form 06 of 2018 / 07 of 2025,
  the late list, the catalog export) are written in ``write_only`` mode: memory stays flat
  in the number of rows; they print (thin borders, wrapped text, widths and row heights that
  show every value whole, dates ``hh:mm dd/mm/yyyy``).
- User text starting with ``= + - @`` is written as a text cell with a quote prefix,
  never as a formula (formula injection): :func:`set_text_or_value`, the one guard;
  characters XML cannot hold are dropped.
Every sheet: Times New Roman, A4 (landscape for the tables), fit to one page wide, header
rows frozen and repeated on every printed page, "Trang n/N" in the footer.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Iterable, Optional, Sequence, Union

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
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
    form_label: str = ""  # "Mẫu số 07 – Thông tư 03/2025/TT-VPCP" on the forms (the register)

    def place_and_date(self) -> str:
        d = self.report_date
        place = f"{self.place}, " if self.place else ""
        return f"{place}ngày {d.day:02d} tháng {d.month:02d} năm {d.year}"


def clean_text(value: str) -> str:
    """Drop the control characters an .xlsx cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if ILLEGAL_CHARACTERS_RE.search(value) else value


def is_risky(value) -> bool:
    return isinstance(value, str) and value.startswith(RISKY_PREFIXES)


def set_text_or_value(cell, value) -> None:
    """The one formula-injection guard: text is always a string cell (never a formula), quote-prefixed
    when it starts with ``= + - @`` so that editing it in Excel keeps it text; characters an .xlsx cannot
    hold are dropped. Other values are written as they are. (The streamed tables apply the same rule with
    pre-styled cells, see :meth:`TableWriter.rows`.)"""
    if isinstance(value, str):
        value = clean_text(value)
        cell.value = value
        cell.data_type = "s"
        if is_risky(value):
            cell.quotePrefix = True
    else:
        cell.value = value


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
    set_text_or_value(cell, value)
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
    ("O", "O", "Trả lại / rút / dừng giải quyết"),  # returned, withdrawn, stopped: outside the on-time rate
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


# -- streamed tables (write_only): catalog export, register, late list -----------------------------------

DATETIME_FORMAT = "hh:mm dd/mm/yyyy"  # the receipt's format (form 01)
DATE_FORMAT = "dd/mm/yyyy"
TABLE_FONT_SIZE = 10
LINE_HEIGHT = 12.5  # points per line of 10 pt Times New Roman, with leading
ROW_PADDING = 3.0


@dataclass(frozen=True)
class Column:
    """One column of a streamed table: its title, width (Excel character units) and kind of value.

    ``kind``: ``text`` (wrapped, left), ``center`` (wrapped, centred), ``int`` (centred),
    ``number`` (right), ``datetime`` (``hh:mm dd/mm/yyyy``), ``date`` (``dd/mm/yyyy``).
    """

    label: str
    width: float
    kind: str = "text"


def _chars_per_line(width: float) -> float:
    # An Excel width unit is one digit of the default font (Calibri 11); 10 pt Times New Roman (or its
    # metric twin Liberation Serif) sets about 1.45 average Vietnamese letters per unit (measured in
    # LibreOffice's PDF). 1.35 per unit, less the cell's padding, errs low: rows a little taller, never cut.
    return max(1.0, width * 1.35 - 1.0)


class TableWriter:
    """A streamed (``write_only``) table that prints: A4, thin borders on every cell, wrapped text, set
    widths, each row as tall as its longest value, header rows repeated on every page, page numbers,
    dates as ``hh:mm dd/mm/yyyy``. Memory stays flat in the number of rows: one styled cell per column
    is reused for every row (openpyxl writes each row as it is appended), and a row's height is handed
    to the writer and forgotten once the row is written.

    With an official ``header`` (ReportHeader) the sheet opens with it (rows 1–7: agency and
    quốc hiệu, the form number line, the title and subtitle), then the column titles (row 8) and their
    numbers "(1)" … "(n)" (row 9), the rows repeated on every printed page. Without, the column titles
    are row 1 (the catalog export, which must re-import).
    """

    HEAD_ROW = 8

    def __init__(self, sheet_title: str, columns: Sequence[Column], *, header: Optional[ReportHeader] = None,
                 numbered: bool = True, landscape: bool = True, freeze_columns: int = 0, head_height: float = 0,
                 wb: Optional[Workbook] = None):
        self.wb = wb or Workbook(write_only=True)
        self.ws = self.wb.create_sheet(sheet_title[:31])
        self.columns = list(columns)
        self.row = 0
        n = len(self.columns)
        # write_only writes the sheet's properties, views and columns before the first row: set them now.
        for i, column in enumerate(self.columns, 1):
            self.ws.column_dimensions[get_column_letter(i)].width = column.width
        head = self.HEAD_ROW if header is not None else 1
        last_head = head + (1 if numbered else 0)
        self.ws.freeze_panes = f"{get_column_letter(freeze_columns + 1)}{last_head + 1}"
        _print_setup(self.ws, landscape=landscape, title_rows=f"{head}:{last_head}")
        self._cpl = [_chars_per_line(c.width) for c in self.columns]
        self._wrapped = [i for i, c in enumerate(self.columns) if c.kind in ("text", "center")]
        self._plain, self._quoted = self._cells(quoted=False), self._cells(quoted=True)
        if header is not None:
            self._official_header(header, n)
        self._head(head_height)
        if numbered:
            self._styled([f"({i})" for i in range(1, n + 1)], FONT_SMALL, CENTER, BORDER)

    # -- the data rows ---------------------------------------------------------------------------------

    def _cells(self, *, quoted: bool) -> list:
        font = Font(name=FONT_NAME, size=TABLE_FONT_SIZE)
        cells = []
        for index, column in enumerate(self.columns, 1):
            cell = _ColumnCell(self.ws, column=index)
            cell.font = font
            cell.border = BORDER
            horizontal = {"text": "left", "number": "right"}.get(column.kind, "center")
            cell.alignment = Alignment(horizontal=horizontal, vertical="top", wrap_text=True)
            if column.kind == "datetime":
                cell.number_format = DATETIME_FORMAT
            elif column.kind == "date":
                cell.number_format = DATE_FORMAT
            elif column.kind == "number":
                cell.number_format = "#,##0.00"  # the viewer's locale renders the separators (4,94 in Vietnamese)
            if quoted:
                cell.quotePrefix = True
            cell.fix_style()
            cells.append(cell)
        return cells

    def rows(self, rows: Iterable[Sequence]) -> int:
        """Append data rows; returns how many. Text that starts like a formula is written as quoted text.

        The fast path (a few times the cost of a bare loop otherwise): each column's pre-styled cell gets
        the value's type and value directly, and the row's cells go to the writer as they are, instead of
        through openpyxl's per-value conversion (which would build a fresh cell for every styled value).
        """
        ws = self.ws
        dims = ws.row_dimensions
        plain, quoted, cpl, wrapped = self._plain, self._quoted, self._cpl, self._wrapped
        dated = {i for i, c in enumerate(self.columns) if c.kind in ("datetime", "date")}
        width = len(self.columns)
        count = 0
        row_index = self.row
        ws._values_to_row = _prepared_row  # this sheet's rows are cells already (undone below)
        try:
            for values in rows:
                row_index += 1
                out = []
                lines = 1
                for i in range(width):
                    value = values[i] if i < len(values) else None
                    if value is None or value == "":
                        cell = plain[i]
                        cell._value, cell.data_type = None, "n"
                    elif isinstance(value, str):
                        if ILLEGAL_CHARACTERS_RE.search(value):
                            value = ILLEGAL_CHARACTERS_RE.sub("", value)
                        value = value[:32767]  # Excel's limit for a cell
                        cell = quoted[i] if value.startswith(RISKY_PREFIXES) else plain[i]
                        cell._value, cell.data_type = value, "s"  # text, never a formula
                        if i in wrapped and len(value) > cpl[i]:
                            needed = _lines(value, cpl[i])
                            if needed > lines:
                                lines = needed
                    elif isinstance(value, bool):
                        cell = plain[i]
                        cell._value, cell.data_type = value, "b"
                    elif isinstance(value, (datetime, date)):
                        cell = plain[i]
                        if i in dated:
                            cell._value, cell.data_type = value, "d"
                        else:  # a date in a column not formatted for dates: as the receipt writes it
                            shown = value.strftime("%H:%M %d/%m/%Y" if isinstance(value, datetime) else "%d/%m/%Y")
                            cell._value, cell.data_type = shown, "s"
                    elif isinstance(value, (int, float, Decimal)):
                        cell = plain[i]
                        cell._value, cell.data_type = value, "n"
                    else:
                        cell = plain[i]
                        cell._value, cell.data_type = str(value), "s"
                    cell.row = row_index
                    out.append(cell)
                # The row's height, for the writer only (a plain dict: nothing kept once the row is written).
                dims[row_index] = {"ht": f"{lines * LINE_HEIGHT + ROW_PADDING:g}", "customHeight": "1"}
                ws.append(out)
                del dims[row_index]
                count += 1
        finally:
            del ws._values_to_row
        self.row = row_index
        return count

    # -- header rows -----------------------------------------------------------------------------------

    def _styled(self, values: Sequence, font=FONT, alignment=CENTER, border=None, merges: Sequence[tuple] = (),
                height: Optional[float] = None) -> None:
        self.row += 1
        cells = []
        for value in values:
            cell = WriteOnlyCell(self.ws)
            if value is not None:
                set_text_or_value(cell, value)
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

    def _official_header(self, header: ReportHeader, n: int) -> None:
        split = max(2, n // 3)
        right = max(split + 1, n - max(4, n // 2) + 1)
        blank = [None] * n

        def line(left, right_value, left_font, right_font, align=CENTER):
            values = list(blank)
            values[0], values[right - 1] = left, right_value
            self.row += 1
            cells = []
            for i, value in enumerate(values, 1):
                cell = WriteOnlyCell(self.ws)
                if value is not None:
                    set_text_or_value(cell, value)
                    cell.font = left_font if i == 1 else right_font
                    cell.alignment = align
                cells.append(cell)
            self.ws.merged_cells.add(f"A{self.row}:{get_column_letter(split)}{self.row}")
            self.ws.merged_cells.add(f"{get_column_letter(right)}{self.row}:{get_column_letter(n)}{self.row}")
            self.ws.append(cells)

        line(header.parent_agency.upper(), NATIONAL_NAME, FONT, FONT_BOLD)
        line(header.agency.upper(), NATIONAL_MOTTO, FONT_BOLD, FONT_BOLD)
        line(header.number, header.place_and_date(), FONT, FONT_ITALIC)
        line(None, header.form_label or None, FONT, Font(name=FONT_NAME, size=10, italic=True),
             Alignment(horizontal="right", vertical="center"))
        self._styled([header.title.upper()] + [None] * (n - 1), FONT_TITLE, merges=[(1, n)], height=22)
        self._styled([header.subtitle] + [None] * (n - 1), FONT_ITALIC, merges=[(1, n)])
        self.row += 1
        self.ws.append([])

    def _head(self, height: float) -> None:
        lines = max(_lines(c.label, _chars_per_line(c.width)) for c in self.columns)
        self._styled([c.label for c in self.columns], FONT_SMALL_BOLD, CENTER, BORDER,
                     height=height or lines * 14.0 + 4)

    def signature(self, header: ReportHeader) -> None:
        """After the table, the closing block of an official report: "Nơi nhận" and the recipients on
        the left, the preparer in the middle, the signer (title, "Ký tên, đóng dấu") on the right."""
        n = len(self.columns)
        split = max(2, n // 3)
        right = max(split + 2, n - max(3, n // 3) + 1)
        small = Font(name=FONT_NAME, size=10)
        self.row += 1
        self.ws.append([])
        lines = [("Nơi nhận:", header.preparer_title, header.signer_title),
                 (None, "(Ký, ghi rõ họ tên)", "(Ký tên, đóng dấu)")]
        lines += [(f"- {r}", None, None) for r in header.recipients]
        for i, (left, middle, signer) in enumerate(lines):
            values = [None] * n
            values[0], values[split], values[right - 1] = left, middle, signer
            fonts = (Font(name=FONT_NAME, size=11, bold=True, italic=True) if i == 0 else small,
                     FONT_BOLD if i == 0 else FONT_ITALIC)
            self.row += 1
            cells = []
            for col, value in enumerate(values, 1):
                cell = WriteOnlyCell(self.ws)
                if value is not None:
                    set_text_or_value(cell, value)
                    cell.font = fonts[0] if col == 1 else fonts[1]
                    cell.alignment = LEFT if col == 1 else CENTER
                cells.append(cell)
            self.ws.merged_cells.add(f"A{self.row}:{get_column_letter(split)}{self.row}")
            if split + 1 <= right - 1:
                self.ws.merged_cells.add(f"{get_column_letter(split + 1)}{self.row}:"
                                         f"{get_column_letter(right - 1)}{self.row}")
            self.ws.merged_cells.add(f"{get_column_letter(right)}{self.row}:{get_column_letter(n)}{self.row}")
            self.ws.append(cells)

    def finish(self, target: Target = None) -> Optional[bytes]:
        return _finish(self.wb, target)


class _ColumnCell(Cell):
    """A column's pre-styled cell, reused for every row: its style is registered once."""

    __slots__ = ("_style_id",)

    def fix_style(self) -> None:
        self._style_id = self.parent.parent._cell_styles.add(self._style)

    @property
    def style_id(self) -> int:
        return self._style_id


def _prepared_row(cells, row_index):
    """Stands in for openpyxl's value-to-cell conversion on a streamed table: the cells are ready."""
    return cells


def _lines(text: str, per_line: float) -> int:
    """Lines ``text`` takes when wrapped at about ``per_line`` characters (greedy, by words)."""
    total = 0
    for paragraph in text.split("\n"):
        if len(paragraph) <= per_line:
            total += 1
            continue
        lines, used = 1, 0
        for word in paragraph.split():
            size = len(word)
            if used and used + 1 + size > per_line:
                lines += 1
                used = 0
            while size > per_line:  # a word longer than the line is broken
                lines += 1
                size -= int(per_line)
            used += (1 if used else 0) + size
        total += lines
    return total


def table_workbook(sheet_title: str, columns: Sequence[Column], rows: Iterable[Sequence], *,
                   header: Optional[ReportHeader] = None, numbered: bool = True, freeze_columns: int = 0,
                   target: Target = None) -> Optional[bytes]:
    """A workbook of one streamed table (see :class:`TableWriter`); bytes, or written to ``target``."""
    writer = TableWriter(sheet_title, columns, header=header, numbered=numbered, freeze_columns=freeze_columns)
    writer.rows(rows)
    return writer.finish(target)


# Form 06 (2018) / 07 (2025) "Sổ theo dõi hồ sơ": widths that print every value whole on A4 landscape.
REGISTER_COLUMNS = (
    ("int", 5), ("center", 25), ("text", 26), ("int", 7), ("text", 18), ("text", 22), ("text", 16),
    ("datetime", 15.5), ("datetime", 15.5), ("datetime", 15.5), ("datetime", 15.5), ("datetime", 15.5),
    ("text", 9), ("text", 16),
)


def register_workbook(header: ReportHeader, headers: Sequence[str], rows: Iterable[Sequence],
                      target: Target = None) -> Optional[bytes]:
    """The register (form 06 of Circular 01/2018, 07 of Circular 03/2025), A4 landscape, streamed."""
    columns = [Column(label, width, kind) for label, (kind, width) in zip(headers, REGISTER_COLUMNS)]
    return table_workbook("Sổ theo dõi hồ sơ", columns, rows, header=header, freeze_columns=2, target=target)


LATE_COLUMNS = (
    ("int", 5), ("center", 25), ("text", 28), ("text", 18), ("datetime", 15.5), ("datetime", 15.5),
    ("datetime", 15.5), ("datetime", 15.5), ("center", 13), ("number", 10), ("center", 9), ("text", 28),
)


def late_workbook(header: ReportHeader, headers: Sequence[str], rows: Iterable[Sequence],
                  target: Target = None) -> Optional[bytes]:
    """The list of dossiers finished late or overdue, with apologies and reasons, streamed."""
    columns = [Column(label, width, kind) for label, (kind, width) in zip(headers, LATE_COLUMNS)]
    return table_workbook("Hồ sơ quá hạn", columns, rows, header=header, freeze_columns=2, target=target)
