"""The per-row report of an import as an .xlsx (pure: openpyxl, write-only, streamed rows).

User text starting with ``= + - @`` is written as text, never as a formula.
"""
from __future__ import annotations

from typing import IO, Iterable, Optional, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from tthc.reports.workbook import clean_text, is_risky

OUTCOME_LABELS = {"created": "Thêm mới", "updated": "Cập nhật", "unchanged": "Không thay đổi",
                  "rejected": "Từ chối"}
EVENT_LABELS = {
    "received": "tiếp nhận", "forwarded": "chuyển xử lý", "supplement_requested": "yêu cầu bổ sung",
    "supplement_received": "nhận bổ sung", "finished": "có kết quả", "handed_over": "trả kết quả",
    "returned_unprocessed": "trả lại hồ sơ", "withdrawn": "rút hồ sơ", "stopped": "dừng xử lý",
}
HEADERS = ("Dòng", "Mã hồ sơ", "Kết quả nhập", "Sự kiện đã ghi", "Cột", "Lý do / ghi chú")
WIDTHS = (8, 26, 16, 40, 22, 80)


def events_text(events: str) -> str:
    return ", ".join(EVENT_LABELS.get(e, e) for e in events.split(",") if e)


def report_workbook(title: str, summary: Sequence[tuple[str, object]], rows: Iterable[Sequence],
                    target: Optional[IO[bytes]] = None) -> Optional[bytes]:
    """``rows``: (line, code, outcome, events, column, reason). Writes to ``target`` or returns the bytes."""
    import io

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Kết quả nhập")
    for i, width in enumerate(WIDTHS):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    bold = Font(name="Times New Roman", bold=True)
    plain = Font(name="Times New Roman")

    def cell(value, font=plain):
        c = WriteOnlyCell(ws)
        if isinstance(value, str):
            value = clean_text(value)
            c.value = value
            if is_risky(value):
                c.data_type = "s"
                c.quotePrefix = True
        else:
            c.value = value
        c.font = font
        return c

    ws.append([cell(title, bold)])
    for label, value in summary:
        ws.append([cell(label), cell(value)])
    ws.append([])
    ws.append([cell(h, bold) for h in HEADERS])
    for line, code, outcome, events, column, reason in rows:
        ws.append([cell(line), cell(code), cell(OUTCOME_LABELS.get(outcome, outcome)), cell(events_text(events)),
                   cell(column), cell(reason)])
    if target is None:
        buffer = io.BytesIO()
        wb.save(buffer)
        return buffer.getvalue()
    wb.save(target)
    return None
