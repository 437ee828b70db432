"""From the printed receipt to the public look-up, in a real browser (issue 7).

Nothing is scanned: the test reads the address the receipt's QR code carries (its
``data-lookup-url``, the same text printed under it), logs out, follows it as an anonymous
visitor, types the phone's last 4 digits and sees the dossier's status with the applicant's
masked name only. The live server's ``PUBLIC_BASE_URL`` is pointed at itself, as the reverse
proxy does in production. Screenshots go to ``test-artifacts/``.
"""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e

ID_NUMBER = "079203004321"
PHONE = "0903123456"
EMAIL = "binh.le@example.vn"


def login(page, server, role):
    username, password = server.people[role]
    page.goto(server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def test_applicant_follows_the_receipt_qr_address_and_sees_the_status(page, live_server, artifacts):
    server = live_server
    server.app.config["PUBLIC_BASE_URL"] = server.url
    login(page, server, "reception")

    page.goto(server.url + "/dossiers/new")
    page.fill("#procedure-search", "dang ky ket qua")
    # Locators, not wait_for_function: the Content-Security-Policy forbids evaluating strings (issue 12).
    page.locator("#documents-body input[name=doc_take]:checked").first.wait_for()
    page.fill("#applicant_name", "Lê Thị Bình")
    page.fill("#applicant_id_number", ID_NUMBER)
    page.fill("#applicant_phone", PHONE)
    page.fill("#applicant_email", EMAIL)
    page.fill("#applicant_address", "12 Lê Lợi, phường Phước Hiệp")
    with page.expect_navigation():
        page.locator("#save-dossier").press("Enter")
    code = page.locator("h1 .code").inner_text().strip()

    page.goto(f"{server.url}/dossiers/{code}/receipt")
    target = page.locator(".qr").get_attribute("data-lookup-url")
    assert target == f"{server.url}/tra-cuu?ma={code}"
    assert target in page.locator("article.slip").inner_text(), "the address is printed under the QR code too"
    page.screenshot(path=str(artifacts / "public-01-receipt.png"), full_page=True)

    page.goto(f"{server.url}/dossiers/{code}")  # the slip page has no menu: log out from the dossier page
    page.click("form[action$='/logout'] button")
    page.wait_for_url(re.compile(r".*/login"))
    page.goto(f"{server.url}/dossiers/{code}")
    assert "/login" in page.url, "logged out: the staff pages ask for the login again"

    # Anonymous from here on: the QR's address opens the look-up with the code filled in.
    page.goto(target)
    assert page.url == target
    assert page.locator("#ma").input_value() == code
    page.fill("#so", "0000")
    with page.expect_navigation():
        page.click(".lookup-form button[type=submit]")
    assert "Không tìm thấy hồ sơ" in page.locator("[data-lookup-error]").inner_text()
    page.fill("#so", PHONE[-4:])
    page.screenshot(path=str(artifacts / "public-02-lookup-form.png"), full_page=True)
    with page.expect_navigation():
        page.click(".lookup-form button[type=submit]")
    assert page.locator(".status").inner_text() == "Đã tiếp nhận"
    assert page.locator(".applicant").inner_text() == "Lê T** B***"
    assert re.fullmatch(r"\d{2}:\d{2} \d{2}/\d{2}/\d{4}", page.locator(".appointment").inner_text())
    assert page.locator("tr[data-event]").count() == 1
    body = page.locator("body").inner_text()
    for secret in (ID_NUMBER, PHONE, EMAIL, "Lê Thị Bình", "12 Lê Lợi", "Nguyễn Thị Tiếp Nhận"):
        assert secret not in body, secret
    page.screenshot(path=str(artifacts / "public-03-lookup-result.png"), full_page=True)

    # The catalog is public as well, and prints for posting at the desk.
    page.goto(server.url + "/thu-tuc?q=buc+xa")
    page.click("text=Cấp giấy phép tiến hành công việc bức xạ")
    assert page.locator("h1").inner_text() == "Cấp giấy phép tiến hành công việc bức xạ"
    page.screenshot(path=str(artifacts / "public-04-procedure.png"), full_page=True)
    (artifacts / "public-procedure-a4.pdf").write_bytes(page.pdf(format="A4", print_background=True))
