"""The receipt's QR code scans (issue 11): chromium prints the A5 receipt of a dossier with 10 documents
to PDF, pdftoppm rasterises it at 150 dpi, and a real decoder (zxing-cpp) reads exactly
``{TTHC_PUBLIC_BASE_URL}/tra-cuu?ma=<code>``. On screen, the symbol and its quiet zone sit whole inside
their box. Needs ``pdftoppm`` (poppler-utils) and the ``zxing-cpp`` package (requirements-dev.txt);
skipped with the reason shown when absent.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta

import pytest

pytestmark = pytest.mark.e2e

try:
    import zxingcpp
except ImportError:  # pragma: no cover - requirements-dev.txt installs it
    zxingcpp = None


def read_pgm(data: bytes) -> tuple[int, int, bytes]:
    """A binary PGM (P5, 8-bit) as width, height and its grey bytes."""
    match = re.match(rb"P5\s+(?:#[^\n]*\n\s*)*(\d+)\s+(\d+)\s+(\d+)\s", data)
    assert match, "pdftoppm -gray writes binary PGM"
    width, height, maxval = (int(g) for g in match.groups())
    assert maxval == 255
    pixels = data[match.end():match.end() + width * height]
    assert len(pixels) == width * height
    return width, height, pixels


def decode_qr_codes(pdf: bytes, tmp_path, dpi: int = 150) -> list[str]:
    """Every QR code zxing-cpp finds on the PDF's first page rasterised at ``dpi``."""
    source = tmp_path / "receipt.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-f", "1", "-l", "1", "-singlefile", str(source),
                    str(tmp_path / "receipt")], check=True, capture_output=True, timeout=60)
    width, height, pixels = read_pgm((tmp_path / "receipt.pgm").read_bytes())
    image = memoryview(pixels).cast("B", shape=[height, width])
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [code.text for code in found]


@pytest.mark.skipif(shutil.which("pdftoppm") is None or zxingcpp is None,
                    reason="pdftoppm (poppler-utils) or the zxing-cpp package absent: the receipt QR is NOT decoded")
def test_the_printed_receipt_qr_code_decodes_to_the_public_look_up_address(page, live_server, tmp_path, artifacts):
    from intake import services
    from sqlalchemy import select

    from tests.e2e.conftest import RECEIPT_DOCUMENTS
    from tthc.clock import now
    from tthc.extensions import db
    from tthc.models import Procedure, User

    server = live_server
    base = server.app.config["PUBLIC_BASE_URL"]
    with server.app.app_context():
        reception = db.session.scalar(select(User).where(User.username == server.people["reception"][0]))
        current = now()
        dossier = services.receive_dossier(
            db.session, procedure=db.session.get(Procedure, server.procedure_id),
            applicant={"kind": "individual", "name": "Phạm Thị Quỳnh Như", "id_number": "079203009876",
                       "phone": "0987654321", "email": "nhu.pham@example.vn",
                       "address": "102 Nguyễn Thái Học, phường Phước Trung, thành phố Bà Rịa"},
            channel="direct", received_by=reception, now=current, received_at=current - timedelta(minutes=5),
            documents=[{"name": n, "kind": k, "count": c} for n, k, c in RECEIPT_DOCUMENTS], sets=1,
            request_summary="Đăng ký kết quả đề tài “Nghiên cứu giống lúa chịu mặn vùng ven biển”")
        db.session.commit()
        code = dossier.code
    assert len(RECEIPT_DOCUMENTS) == 10
    expected = f"{base}/tra-cuu?ma={code}"

    username, password = server.people["reception"]
    page.goto(server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
    page.goto(f"{server.url}/dossiers/{code}/receipt")

    # On screen: the SVG scales by its viewBox and fits its box whole (nothing cut at the right or bottom).
    box = page.evaluate("""() => {
        const qr = document.querySelector('.qr'), svg = qr.querySelector('svg');
        const a = qr.getBoundingClientRect(), b = svg.getBoundingClientRect();
        const vb = svg.viewBox.baseVal;
        return {box: [a.left, a.top, a.right], svg: [b.left, b.top, b.right, b.bottom, b.width, b.height],
                viewBox: vb ? [vb.width, vb.height] : null, overflow: getComputedStyle(qr).overflow};
    }""")
    left, top, right, bottom, width, height = box["svg"]
    assert box["viewBox"] and box["viewBox"][0] == box["viewBox"][1] > 0, "the symbol is drawn to its viewBox"
    assert abs(width - height) < 0.5 and box["box"][0] - 0.5 <= left and right <= box["box"][2] + 0.5
    page.locator(".qr").screenshot(path=str(artifacts / "receipt-qr-screen.png"))

    pdf = page.pdf(print_background=True, prefer_css_page_size=True)
    (artifacts / "receipt-qr-a5.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)) == 1, "10 documents still fit one A5 page"
    assert decode_qr_codes(pdf, tmp_path) == [expected]
