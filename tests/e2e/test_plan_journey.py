"""The action plan in a real browser (issue 17): a supervisor records a task's quarter with a PDF as
evidence, then prints the quarter's report; the printed PDF (chromium) holds the official header,
the 8 tasks and the evidence. Screenshots and the PDF go to ``test-artifacts/``.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "papi_plan_2018.csv"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_supervisor_reports_a_quarter_with_evidence_and_prints_the_plan_report(page, live_server, artifacts,
                                                                                  tmp_path):
    from tthc.extensions import db
    from tthc.plans import services

    server = live_server
    server.app.instance_path = str(tmp_path / "instance")
    with server.app.app_context():
        services.import_file(db.session, SAMPLE.read_bytes(), SAMPLE.name)
        db.session.commit()
    username, password = server.people["supervisor"]
    page.goto(server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))

    page.click("nav.mainnav >> text=Kế hoạch")
    page.click("text=01A/KH-SKHCN")
    page.locator("#task-6 a", has_text="Quý 1/2018").click()
    page.check("input[name=status][value=done]")
    page.fill("#done_text", "Đã kiện toàn và tập huấn Ban Thanh tra nhân dân")
    page.fill("#evidence_number", "15/QĐ-SKHCN")
    page.fill("#evidence_date", "20/03/2018")
    evidence = tmp_path / "quyet-dinh-15.pdf"
    evidence.write_bytes(PDF)
    page.set_input_files("#file", str(evidence))
    with page.expect_navigation():
        page.click("#progress-form button[type=submit]")
    assert "Đã ghi nhận báo cáo tiến độ" in page.inner_text("body")
    assert "Tải tệp quyet-dinh-15.pdf" in page.inner_text("#progress")
    page.screenshot(path=str(artifacts / "plan-01-period.png"), full_page=True)

    page.goto(server.url + "/plans/")
    page.click("text=01A/KH-SKHCN")
    page.fill("#period", "2018-Q1")
    with page.expect_navigation():
        page.click("text=Xem báo cáo")
    page.screenshot(path=str(artifacts / "plan-02-report.png"), full_page=True)
    pdf = artifacts / "plan-report-2018-Q1.pdf"
    page.emulate_media(media="print")
    page.pdf(path=str(pdf), prefer_css_page_size=True)
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) absent: the printed PDF was written but not read back")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "BÁO CÁO KẾT QUẢ THỰC HIỆN KẾ HOẠCH SỐ 01A/KH-SKHCN" in text
    assert "Kế hoạch" not in text.split("CỘNG HÒA")[0]  # the menu is not printed
    for content in ("Ban hành kế hoạch triển khai", "Phổ biến quán triệt", "Lập kế hoạch rà soát", "Niêm yết công khai",
                    "Thực hiện giải quyết 100%", "Kiện toàn và tập huấn", "Tuyên truyền phổ biến",
                    "Thực hiện công tác tiếp dân"):
        assert content in text, content
    assert "15/QĐ-SKHCN" in text and "20/03/2018" in text
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert round(width) > round(height), "the printed report is landscape"
