"""Reading a dossier export, row by row, from .csv or .xlsx (no Flask, no database).

* CSV: UTF-8 with or without BOM, else Windows-1258 (the code page Excel uses for
  Vietnamese). The encoding is decided by decoding the whole stream incrementally
  (memory stays flat), then the stream is read again from the start. The delimiter
  (``,`` ``;`` or tab) is the one the header line uses most.
* XLSX: the first worksheet, read in openpyxl's read-only (streaming) mode; a
  formula is read as the text typed, never evaluated; dates are real datetimes.
* Every text is NFC-normalised: Windows-1258 decodes "ễ" as "e" + combining marks.

A table is an iterator of ``(line, values)``; ``line`` is the spreadsheet line
(the header being line 1), as the per-row report names it.
"""
from __future__ import annotations

import codecs
import csv
import io
import os
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, BinaryIO, Iterator

from intake.dossier_import.mapping import nfc

CHUNK = 1 << 16
MAX_CELL = 4000


class FileError(Exception):
    """The file as a whole cannot be read; the message is Vietnamese."""


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    encoding: str  # "utf-8", "utf-8-sig", "cp1258" or "xlsx"
    close: Any = None


def detect_encoding(stream: BinaryIO) -> str:
    """'utf-8-sig' (BOM), 'utf-8', or 'cp1258' when the bytes are not valid UTF-8. Rewinds the stream."""
    stream.seek(0)
    head = stream.read(3)
    if head == codecs.BOM_UTF8:
        stream.seek(0)
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    data = head
    try:
        while True:
            decoder.decode(data)
            data = stream.read(CHUNK)
            if not data:
                decoder.decode(b"", final=True)
                break
    except UnicodeDecodeError:
        stream.seek(0)
        return "cp1258"
    stream.seek(0)
    return "utf-8"


def cell_value(value: Any) -> Any:
    """A cell as the row parser wants it: text NFC-normalised and stripped, datetimes kept, numbers as text."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.replace(microsecond=0)
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return nfc(str(value)).strip()


def _csv_table(stream: BinaryIO) -> Table:
    encoding = detect_encoding(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    first = text.readline()
    while first and not first.strip():
        first = text.readline()
    if not first.strip():
        raise FileError("Tệp rỗng: không có dòng tiêu đề.")
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    delimiter = max(counts, key=lambda d: counts[d])
    try:
        headers = next(csv.reader([first], delimiter=delimiter))
    except csv.Error as exc:
        raise FileError(f"Không đọc được dòng tiêu đề của tệp CSV: {exc}.") from exc
    reader = csv.reader(text, delimiter=delimiter)

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for values in reader:
                # reader.line_num counts physical lines after the header line
                yield reader.line_num + 1, [cell_value(v[:MAX_CELL]) for v in values]
        except csv.Error as exc:
            raise FileError(f"Tệp CSV hỏng ở dòng {reader.line_num + 1}: {exc}.") from exc

    return Table(headers=[cell_value(h) for h in headers], rows=rows(), encoding=encoding, close=text.detach)


def _xlsx_table(stream: BinaryIO) -> Table:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(stream, read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise FileError("Không đọc được tệp Excel (.xlsx): tệp hỏng hoặc không đúng định dạng.") from exc
    if not wb.worksheets:
        wb.close()
        raise FileError("Tệp Excel không có trang tính nào.")
    sheet_rows = wb.worksheets[0].iter_rows(values_only=True)
    header = None
    line = 0
    for values in sheet_rows:
        line += 1
        if values and any(v not in (None, "") for v in values):
            header = values
            break
    if header is None:
        wb.close()
        raise FileError("Tệp rỗng: không có dòng tiêu đề.")

    def rows() -> Iterator[tuple[int, list[Any]]]:
        n = line
        try:
            for values in sheet_rows:
                n += 1
                yield n, [cell_value(v) if not isinstance(v, str) else cell_value(v[:MAX_CELL]) for v in values]
        except FileError:
            raise
        except Exception as exc:  # openpyxl raises assorted errors on malformed sheets
            raise FileError(f"Không đọc được tệp Excel ở dòng {n}: nội dung trang tính không hợp lệ.") from exc

    return Table(headers=[cell_value(h) for h in header], rows=rows(), encoding="xlsx", close=wb.close)


def open_table(stream: BinaryIO, filename: str) -> Table:
    """Open a seekable binary stream as a table; raises FileError for an unusable file."""
    ext = os.path.splitext(filename or "")[1].lower()
    if ext not in (".csv", ".xlsx"):
        raise FileError(f"Không nhận định dạng tệp “{ext or filename or 'không tên'}”: chỉ nhận .csv hoặc .xlsx.")
    stream.seek(0, os.SEEK_END)
    if stream.tell() == 0:
        raise FileError("Tệp rỗng: không có dòng tiêu đề.")
    stream.seek(0)
    return _csv_table(stream) if ext == ".csv" else _xlsx_table(stream)


def is_blank(values: list[Any]) -> bool:
    return not any(v not in ("", None) for v in values)
