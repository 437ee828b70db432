"""The monthly workbook converts with LibreOffice headless to an A4 landscape PDF one page wide (issue 6).

Needs Debian's ``libreoffice-calc-nogui`` (soffice) and ``poppler-utils`` (pdfinfo,
pdftotext); skipped, with the reason shown by ``-ra``, when they are absent.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime

import pytest

from tthc.reports.queries import SummaryRow, total_row
from tthc.reports.workbook import ReportHeader, summary_workbook

TOOLS = ("soffice", "pdfinfo", "pdftotext")
missing = [t for t in TOOLS if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(missing), reason=f"LibreOffice/poppler absent ({', '.join(missing)}): "
                                "apt-get install libreoffice-calc-nogui poppler-utils")


def _header() -> ReportHeader:
    return ReportHeader(parent_agency="Ủy ban nhân dân tỉnh Bà Rịa - Vũng Tàu", agency="Sở Khoa học và Công nghệ",
                        place="Bà Rịa", report_date=datetime(2026, 3, 16), title="Báo cáo tình hình, kết quả "
                        "giải quyết thủ tục hành chính", subtitle="Kỳ báo cáo: Tháng 03/2026 (từ ngày 15/02/2026 "
                        "đến ngày 14/03/2026)")


def _rows(n: int) -> list[SummaryRow]:
    return [SummaryRow(label=f"Thủ tục cấp giấy chứng nhận đủ điều kiện hoạt động số {i} (1.{i:06d})", carried=i,
                       online=2 * i, direct=i % 7, postal=1, early=i, on_time=i % 5, late=i % 3, within=i + 1,
                       overdue=i % 4, returned=1) for i in range(1, n + 1)]


def _pdf(tmp_path, rows) -> tuple[str, list[str]]:
    xlsx = tmp_path / "monthly.xlsx"
    summary_workbook(_header(), "Thủ tục hành chính", rows, total_row(rows), str(xlsx))
    done = subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo",
                           "--convert-to", "pdf", "--outdir", str(tmp_path), str(xlsx)],
                          capture_output=True, text=True, timeout=180)
    pdf = tmp_path / "monthly.pdf"
    assert done.returncode == 0 and pdf.exists(), done.stdout + done.stderr
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    texts = [subprocess.run(["pdftotext", "-f", str(p), "-l", str(p), "-layout", str(pdf), "-"],
                            capture_output=True, text=True, check=True).stdout for p in range(1, pages + 1)]
    return info, texts


def _assert_a4_landscape(info: str) -> None:
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert (round(width), round(height)) == (842, 595), info


def test_a_small_monthly_report_prints_on_one_a4_landscape_page_plus_its_chart_page(tmp_path):
    info, texts = _pdf(tmp_path, _rows(3))
    _assert_a4_landscape(info)
    assert len(texts) == 2  # the table sheet on one page, the chart sheet on the other
    table = texts[0]
    for needle in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "(1)", "(16)", "Tổng cộng", "GIÁM ĐỐC", "Nơi nhận:"):
        assert needle in table, needle


def test_a_long_monthly_report_is_one_page_wide_on_every_page(tmp_path):
    info, texts = _pdf(tmp_path, _rows(90))
    _assert_a4_landscape(info)
    table_pages, chart_pages = texts[:-1], texts[-1:]
    assert len(table_pages) >= 2  # tall: several pages down ...
    for text in table_pages:  # ... never a page holding only some of the columns (header rows repeat)
        assert "(1)" in text and "(8)" in text and "(16)" in text
    assert any("Tổng cộng" in t for t in table_pages) and "GIÁM ĐỐC" in table_pages[-1]
    assert "Tỷ lệ đúng hạn (%)" in chart_pages[0]  # the chart sheet fits on one page
