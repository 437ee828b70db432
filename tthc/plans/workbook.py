"""The plan report's workbook, on the reports' streamed table helper (tthc.reports.workbook.TableWriter).

"Báo cáo kết quả thực hiện Kế hoạch ...": sheet 1 has the official header, a row per task (content,
lead, timing, what was done, evidence, status) and the signature block; sheet 2 the figures the product
measured for the measured tasks (counts and rates as numbers). A4 landscape, one page wide, rows as
tall as their text, the head repeated on every page, user text starting with ``= + - @`` kept as text:
all of it the helper's.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional, Sequence

from openpyxl import Workbook

from tthc.reports.workbook import Column, ReportHeader, Target, TableWriter

REPORT_SHEET = "Báo cáo"
FIGURES_SHEET = "Số liệu hệ thống"
TASK_COLUMNS = (("int", 5), ("text", 40), ("text", 18), ("center", 12), ("text", 42), ("text", 26), ("text", 20))
FIGURE_COLUMNS = (Column("STT", 5, "int"), Column("Nhiệm vụ", 9, "int"), Column("Nội dung", 40),
                  Column("Chỉ tiêu", 46), Column("Số lượng", 12, "int"), Column("Tỷ lệ (%)", 12, "number"),
                  Column("Phạm vi số liệu", 40))
FIGURES_TITLE = "Số liệu do hệ thống theo dõi hồ sơ TTHC tổng hợp"


def plan_report_workbook(header: ReportHeader, headers: Sequence[str], rows: Sequence[Sequence],
                         measured: Sequence[tuple[int, str, Sequence[tuple[str, object]], str]],
                         target: Target = None) -> Optional[bytes]:
    """``rows``: the cells of each task; ``measured``: (task number, title, [(label, value)], note) per measured
    task, a value being a count (int), a rate (a fraction, float) or None."""
    wb = Workbook(write_only=True)
    columns = [Column(label, width, kind) for label, (kind, width) in zip(headers, TASK_COLUMNS)]
    report = TableWriter(REPORT_SHEET, columns, header=header, wb=wb)
    report.rows(rows)
    report.signature(header)
    if measured:
        figures = TableWriter(FIGURES_SHEET, FIGURE_COLUMNS, wb=wb, header=replace(
            header, title=FIGURES_TITLE, subtitle=f"Kèm theo {header.title[0].lower()}{header.title[1:]}"))
        lines, n = [], 0
        for task_number, title, values, note in measured:
            for label, value in values:
                n += 1
                rate = round(value * 100, 2) if isinstance(value, float) else None
                count = value if isinstance(value, int) and not isinstance(value, bool) else None
                lines.append([n, task_number, title, label, count, rate, note])
        figures.rows(lines)
    return report.finish(target)
