"""The review's workbook (domain.md §10): sheet 1 the annex of the draft decision, sheet 2 the full
statistics, sheet 3 the documents asked for in supplement requests.

Built with the reports' table helper (``tthc.reports.workbook.TableWriter``: the official header of
Circular 01/2018, Times New Roman, A4 landscape, rows as tall as their text, text never written as a
formula), the three sheets in one streamed workbook; sheet 1 closes with the signature block.
Percentages are numbers in % (two decimals, as the column titles say); times used are numbers in the
unit named on the row (two decimals for working units, whole for calendar units).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional, Sequence

from openpyxl import Workbook

from deadlines.review.queries import ComponentRow, ReviewRow, coverage_text
from tthc.models import LIMIT_UNIT_LABELS
from tthc.reports.workbook import Column, ReportHeader, TableWriter, Target

ANNEX_TITLE = "Danh mục thủ tục hành chính đề xuất cắt giảm thời gian giải quyết"
ANNEX_COLUMNS = (
    Column("STT", 5, "int"), Column("Mã TTHC", 14, "center"), Column("Tên thủ tục hành chính", 40),
    Column("Lĩnh vực", 20), Column("Thời hạn theo quy định", 13, "center"),
    Column("Thời hạn đang áp dụng", 13, "center"), Column("Thời hạn đề xuất", 13, "center"),
    Column("Tỷ lệ cắt giảm (%)", 10, "number"), Column("Căn cứ: số hồ sơ đã giải quyết", 10, "int"),
    Column("Căn cứ: tỷ lệ đúng hạn (%)", 11, "number"), Column("Căn cứ: 95% hồ sơ không quá", 14, "center"),
)
STATS_TITLE = "Thống kê thời gian giải quyết thực tế theo thủ tục"
STATS_COLUMNS = (
    Column("STT", 5, "int"), Column("Mã TTHC", 13, "center"), Column("Tên thủ tục hành chính", 34),
    Column("Lĩnh vực", 16), Column("Quy định tiếp nhận", 18), Column("Thời hạn theo quy định", 11, "center"),
    Column("Thời hạn đang áp dụng", 11, "center"), Column("Đơn vị tính thời gian sử dụng", 11, "center"),
    Column("Số hồ sơ đã giải quyết", 9, "int"), Column("Tỷ lệ đúng hạn (%)", 9, "number"),
    Column("Trung vị", 8, "number"), Column("Phân vị 80", 8, "number"), Column("Phân vị 95", 8, "number"),
    Column("Tối đa", 8, "number"), Column("Tỷ lệ giải quyết trong nửa thời hạn (%)", 10, "number"),
    Column("Thời hạn đề xuất", 11, "center"), Column("Tỷ lệ cắt giảm (%)", 9, "number"),
    Column("Số hồ sơ trễ hạn nếu áp dụng đề xuất", 10, "int"), Column("Ghi chú", 12),
)
COMPONENTS_TITLE = "Thành phần hồ sơ được yêu cầu bổ sung"
COMPONENT_COLUMNS = (
    Column("STT", 5, "int"), Column("Mã TTHC", 14, "center"), Column("Tên thủ tục hành chính", 40),
    Column("Lĩnh vực", 20), Column("Giấy tờ được yêu cầu bổ sung", 44), Column("Số lần yêu cầu", 10, "int"),
    Column("Tổng số lần yêu cầu bổ sung của thủ tục", 13, "int"), Column("Tỷ lệ (%)", 10, "number"),
)


def annex_rows(rows: Sequence[ReviewRow]) -> list[ReviewRow]:
    """The procedures for the draft decision: a proposal below the time in force today."""
    return [r for r in rows if r.proposed is not None and r.current and r.proposed < r.limit_amount]


def _percent(fraction: Optional[float]) -> Optional[float]:
    return None if fraction is None else round(fraction * 100, 2)


def _unit_label(row: ReviewRow) -> str:
    return LIMIT_UNIT_LABELS.get(row.limit_unit, row.limit_unit)


def _cut_cell(row: ReviewRow):
    """The cut in %, "khác đơn vị" when the statutory unit differs, blank without a proposal."""
    if row.proposed is None:
        return None
    if row.units_differ:
        return "khác đơn vị"
    return row.cut


def _annex_lines(rows: Sequence[ReviewRow]):
    for index, row in enumerate(rows, 1):
        p95 = f"{row.p95:g} {_unit_label(row)}".replace(".", ",") if row.p95 is not None else ""
        yield [index, row.national_code, row.name, row.field, row.statutory_text(), row.limit_text(),
               row.limit_text(row.proposed), _cut_cell(row), row.finished, _percent(row.on_time_rate), p95]


def _stats_lines(rows: Sequence[ReviewRow]):
    for index, row in enumerate(rows, 1):
        yield [index, row.national_code, row.name, row.field, row.version_label, row.statutory_text(),
               row.limit_text(), _unit_label(row) if row.has_limit else "", row.finished,
               _percent(row.on_time_rate), row.median, row.p80, row.p95, row.maximum, _percent(row.within_half),
               row.limit_text(row.proposed) if row.proposed is not None else "", _cut_cell(row),
               row.late_under_proposal, row.note]


def _component_lines(rows: Sequence[ComponentRow]):
    for index, row in enumerate(rows, 1):
        share = row.requests / row.total_requests if row.total_requests else None
        yield [index, row.national_code, row.name, row.field, row.document, row.requests, row.total_requests,
               _percent(share)]


def review_workbook(header: ReportHeader, rows: Sequence[ReviewRow], components: Sequence[ComponentRow],
                    window_text: str, coverage, target: Target = None) -> Optional[bytes]:
    coverage = coverage_text(coverage)
    wb = Workbook(write_only=True)
    annex = TableWriter("Phụ lục dự thảo QĐ", ANNEX_COLUMNS, wb=wb, freeze_columns=2, header=replace(
        header, title=ANNEX_TITLE,
        subtitle=(f"(Kèm theo dự thảo Quyết định của Ủy ban nhân dân tỉnh; căn cứ số liệu hồ sơ giải quyết "
                  f"{window_text}; thời hạn đề xuất bảo đảm ít nhất {coverage}% số hồ sơ đã giải quyết)")))
    listed = annex_rows(rows)
    annex.rows(_annex_lines(listed))
    if not listed:
        annex.rows([[None, None, "Không có thủ tục nào đủ dữ liệu để đề xuất cắt giảm thời gian giải quyết."]])
    annex.signature(header)
    stats = TableWriter("Thống kê đầy đủ", STATS_COLUMNS, wb=wb, freeze_columns=3, header=replace(
        header, title=STATS_TITLE,
        subtitle=(f"Hồ sơ giải quyết xong {window_text}; thời gian sử dụng tính như thời hạn (từ thời điểm bắt "
                  f"đầu tính, theo đơn vị thời hạn đang áp dụng, không tính thời gian tạm dừng); đề xuất bảo "
                  f"đảm {coverage}% hồ sơ; phân vị theo hạng gần nhất")))
    stats.rows(_stats_lines(rows))
    parts = TableWriter("Thành phần hồ sơ", COMPONENT_COLUMNS, wb=wb, freeze_columns=3, header=replace(
        header, title=COMPONENTS_TITLE,
        subtitle=f"Các lần yêu cầu bổ sung, hoàn thiện hồ sơ (mẫu 02) {window_text}"))
    parts.rows(_component_lines(components))
    return annex.finish(target)
