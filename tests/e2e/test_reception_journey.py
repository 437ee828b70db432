"""The desk's daily journey in a real browser (issue 4): log in as reception, receive a dossier
with 10 documents, print its receipt (one A5 page with every field of form 01), forward it,
finish it as the unit's handler, hand the result over at the desk. Screenshots and PDFs are
kept in ``test-artifacts/``."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e


def pdf_page_count(pdf: bytes) -> int:
    """Pages of a PDF: ``/Type /Page`` objects, not the ``/Type /Pages`` tree nodes."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def login(page, server, role):
    username, password = server.people[role]
    page.goto(server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def logout(page):
    page.click("form[action$='/logout'] button")
    page.wait_for_url(re.compile(r".*/login"))


def act(page, action: str, **fields):
    """Open an action's small form on the dossier page, fill it, submit, wait for the page again."""
    box = page.locator(f"details[data-action='{action}']")
    box.locator("summary").click()
    for name, value in fields.items():
        control = box.locator(f"[name='{action}-{name}']")
        if control.evaluate("el => el.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    with page.expect_navigation():
        box.locator("button[type=submit]").click()


def test_reception_officer_receives_prints_forwards_and_hands_over_a_dossier(page, live_server, artifacts):
    server = live_server
    login(page, server, "reception")

    # New dossier: find the procedure by a diacritic-free fragment; its 10 documents come pre-ticked.
    page.goto(server.url + "/dossiers/new")
    page.fill("#procedure-search", "dang ky ket qua")
    # Locators, not wait_for_function: the Content-Security-Policy forbids evaluating strings (issue 12).
    from playwright.sync_api import expect

    expect(page.locator("#documents-body input[name=doc_take]:checked")).to_have_count(10)
    expect(page.locator("[data-preview=appointment]")).to_have_text(re.compile(r"\d{2}:\d{2} \d{2}/\d{2}/\d{4}"))
    preview = page.locator("[data-preview=appointment]").inner_text()
    page.fill("#applicant_name", "Nguyễn Văn An")
    page.fill("#applicant_id_number", "079203001234")
    page.fill("#applicant_phone", "0912345678")
    page.fill("#applicant_email", "an.nguyen@example.vn")
    page.fill("#applicant_address", "25 Trần Hưng Đạo, phường Phước Hiệp, thành phố Bà Rịa")
    page.fill("#request_summary", "Đăng ký kết quả đề tài “Ứng dụng IoT trong quan trắc môi trường nuôi tôm”")
    page.fill("#sets", "2")
    page.screenshot(path=str(artifacts / "01-new-dossier.png"), full_page=True)
    # After a full-page screenshot chromium may hit-test a click at stale coordinates: use the keyboard.
    with page.expect_navigation():
        page.locator("#save-dossier").press("Enter")
    assert "?new=1" in page.url
    code = page.locator("h1 .code").inner_text().strip()
    assert re.fullmatch(r"000\.00\.31\.H49-\d{6}-0001", code)
    assert page.locator(".status-badge").inner_text() == "Đã tiếp nhận"
    page.screenshot(path=str(artifacts / "02-dossier-received.png"), full_page=True)

    # The receipt: every field of form 01 on one A5 page.
    page.goto(f"{server.url}/dossiers/{code}/receipt")
    text = page.locator("article.slip").inner_text()
    appointment = page.locator(".appointment").inner_text()
    assert appointment == preview, "the receipt prints the appointment shown before saving"
    for expected in [code, "Nguyễn Văn An", "25 Trần Hưng Đạo", "0912345678", "an.nguyen@example.vn",
                     "Ứng dụng IoT", "Số lượng hồ sơ: 2", "10 ngày làm việc (theo quy định: 15 ngày làm việc)",
                     "Thời gian nhận hồ sơ:", "Thời gian trả kết quả giải quyết hồ sơ:", "Đăng ký nhận kết quả tại",
                     "Sổ theo dõi hồ sơ", "NGƯỜI NỘP HỒ SƠ", "NGƯỜI TIẾP NHẬN HỒ SƠ", "Nguyễn Thị Tiếp Nhận",
                     "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "SỞ KHOA HỌC VÀ CÔNG NGHỆ",
                     "Bà Rịa, ngày", "Bản sao", "Bản chính",
                     f"https://dichvucong.example.gov.vn/tra-cuu?ma={code}"]:
        assert expected in text, expected
    assert re.search(r"Thời gian nhận hồ sơ: \d{2}:\d{2} \d{2}/\d{2}/\d{4}", text)
    for name in server.documents:
        assert name in text, name
    assert page.locator(".qr svg").count() == 1
    page.screenshot(path=str(artifacts / "03-receipt.png"), full_page=True)
    pdf = page.pdf(format="A5", print_background=True)
    (artifacts / "receipt-a5.pdf").write_bytes(pdf)
    assert pdf_page_count(pdf) == 1, "the receipt with 10 documents must fit one A5 page"
    assert re.search(rb"/MediaBox\s*\[0 0 420 595\.9\d*\]", pdf), "A5 portrait: 148 x 210 mm = 420 x 595.9 pt"

    # Forward to the handling unit (reception).
    page.goto(f"{server.url}/dossiers/{code}")
    act(page, "forwarded", note="Chuyển Phòng Quản lý Khoa học")
    assert page.locator(".status-badge").inner_text() == "Đang xử lý"
    logout(page)

    # The unit's handler records the result.
    login(page, server, "handler")
    page.goto(f"{server.url}/dossiers/{code}")
    assert "*" in page.locator("dd.personal").first.inner_text(), "handlers see the ID number masked"
    act(page, "finished", result="approved", note="Đã cấp giấy chứng nhận đăng ký")
    assert page.locator(".status-badge").inner_text() == "Đã có kết quả"
    page.screenshot(path=str(artifacts / "04-dossier-finished.png"), full_page=True)
    logout(page)

    # Back at the desk: hand the result over to the applicant.
    login(page, server, "reception")
    page.goto(f"{server.url}/dossiers/{code}")
    act(page, "handed_over", note="Ông An nhận trực tiếp")
    assert page.locator(".status-badge").inner_text() == "Đã trả kết quả"
    assert page.locator("table.events tbody tr").count() == 4
    page.screenshot(path=str(artifacts / "05-dossier-handed-over.png"), full_page=True)

    page.goto(f"{server.url}/dossiers/?q=nguyen+van+an")
    assert code in page.locator("table.dossiers").inner_text()
    page.screenshot(path=str(artifacts / "06-dossier-list.png"), full_page=True)

    page.goto(f"{server.url}/dossiers/{code}/control-slip")
    assert "Phòng Quản lý Khoa học" in page.locator("table.control-rows").inner_text()
    control_pdf = page.pdf(print_background=True, prefer_css_page_size=True)
    (artifacts / "control-slip-a5.pdf").write_bytes(control_pdf)
    assert pdf_page_count(control_pdf) == 1
    page.screenshot(path=str(artifacts / "07-control-slip.png"), full_page=True)
