"""The plan report's workbook prints, through LibreOffice headless, on A4 landscape one page wide (issue 17).

Needs ``soffice`` and poppler (``pdfinfo``, ``pdftotext``); skipped with the reason shown by ``-ra``.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime

import pytest

from tthc.plans.queries import REPORT_HEADERS
from tthc.plans.workbook import plan_report_workbook
from tthc.reports.workbook import ReportHeader

TOOLS = ("soffice", "pdfinfo", "pdftotext")
missing = [t for t in TOOLS if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(missing), reason=f"LibreOffice/poppler absent ({', '.join(missing)}): "
                                "apt-get install libreoffice-calc-nogui poppler-utils")


def test_the_plan_report_prints_a4_landscape_with_header_every_task_figures_and_signatures(tmp_path):
    header = ReportHeader(parent_agency="Ủy ban nhân dân tỉnh Bà Rịa - Vũng Tàu", agency="Sở Khoa học và Công nghệ",
                          place="Bà Rịa", report_date=datetime(2018, 4, 10),
                          title="Báo cáo kết quả thực hiện Kế hoạch số 01A/KH-SKHCN ngày 09/01/2018",
                          subtitle="Kỳ báo cáo: Quý 1/2018 (từ ngày 01/01/2018 đến ngày 31/03/2018)")
    rows = [[n, f"Nội dung nhiệm vụ số {n} " + "rất dài " * 12, "Đ/c Thắng", "Thường xuyên",
             f"Đã thực hiện việc {n}", f"Văn bản số {n}/QĐ-SKHCN", "Đã hoàn thành (đã báo cáo đúng hạn)"]
            for n in range(1, 9)]
    measured = [(5, "Kết quả giải quyết TTHC trong kỳ", [("Đã giải quyết", 3), ("Tỷ lệ", 0.6667)], "Quý 1/2018")]
    xlsx = tmp_path / "plan.xlsx"
    plan_report_workbook(header, REPORT_HEADERS, rows, measured, str(xlsx))
    done = subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo",
                           "--convert-to", "pdf", "--outdir", str(tmp_path), str(xlsx)],
                          capture_output=True, text=True, timeout=180)
    pdf = tmp_path / "plan.pdf"
    assert done.returncode == 0 and pdf.exists(), done.stdout + done.stderr
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert (round(width), round(height)) == (842, 595), info
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    texts = [subprocess.run(["pdftotext", "-f", str(p), "-l", str(p), "-layout", str(pdf), "-"],
                            capture_output=True, text=True, check=True).stdout for p in range(1, pages + 1)]
    whole = "\n".join(texts)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in texts[0] and "BÁO CÁO KẾT QUẢ THỰC HIỆN KẾ HOẠCH" in texts[0]
    report = [t for t in texts if "Chỉ tiêu" not in t]  # the figures sheet prints after the report sheet
    assert report and len(report) < len(texts)
    for text in report:  # one page wide: every page has the whole head row
        assert "STT" in text and "Tình trạng" in text
    for n in range(1, 9):
        assert f"Văn bản số {n}/QĐ-SKHCN" in whole
    assert "66.67" in whole or "66,67" in whole
    assert "GIÁM ĐỐC" in report[-1] and "Nơi nhận:" in report[-1]
