"""The desk's day in a real browser (issue 16): each role lands on its own page; the desk reads
a chip ID card (CCCD) with a scanner typing its QR string and Enter, and saves the dossier with
the keyboard only. Screenshots are kept in ``test-artifacts/``."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e

SCAN = ("079203009876|273456780|Hoàng Thị Thu Hà|15061988|Nữ|"
        "Số 7, đường Lê Lợi, phường Phước Trung, thành phố Bà Rịa|20092021")


def keyboard_login(page, server, role):
    username, password = server.people[role]
    page.goto(server.url + "/login")
    page.locator("#username").focus()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.fullmatch(r"https?://[^/]+/", page.url), page.url


def logout(page):
    page.click("form[action$='/logout'] button")
    page.wait_for_url(re.compile(r".*/login"))


def test_reception_scans_a_card_and_saves_a_dossier_with_the_keyboard_only(page, live_server, artifacts):
    from playwright.sync_api import expect

    server = live_server
    keyboard_login(page, server, "reception")
    assert page.locator("h1").inner_text() == "Việc trong ngày"
    assert page.locator("#worklist-q").count() == 1
    page.screenshot(path=str(artifacts / "16-01-reception-worklist.png"), full_page=True)

    with page.expect_navigation():
        page.keyboard.press("Alt+n")  # the worklist's "Tiếp nhận hồ sơ" link (accesskey n)
    assert page.url.endswith("/dossiers/new")

    # The procedure search has the focus: a few letters without diacritics, Enter goes on to the applicant.
    page.keyboard.type("dang ky ket qua")
    # Locators, not wait_for_function: the Content-Security-Policy forbids evaluating strings.
    expect(page.locator("#documents-body input[name=doc_take]:checked")).to_have_count(10)
    page.keyboard.press("Enter")

    # A malformed scan fills nothing and says why.
    page.keyboard.press("F2")
    page.keyboard.type("079203009876|Hoàng Thị Thu Hà")
    page.keyboard.press("Enter")
    page.wait_for_selector("#cccd-scan-error:not([hidden])")
    assert "7 trường" in page.locator("#cccd-scan-error").inner_text()
    assert page.input_value("#applicant_name") == ""
    assert page.url.endswith("/dossiers/new"), "the scanner's Enter must not submit the form"

    # The scanner types the card's QR string and Enter.
    page.keyboard.press("F2")
    page.keyboard.type(SCAN)
    page.keyboard.press("Enter")
    expect(page.locator("#applicant_name")).to_have_value("Hoàng Thị Thu Hà")
    assert page.input_value("#applicant_id_number") == "079203009876"
    assert page.input_value("#applicant_address") == "Số 7, đường Lê Lợi, phường Phước Trung, thành phố Bà Rịa"
    assert page.locator("#cccd-scan-error").is_hidden()
    assert page.url.endswith("/dossiers/new")
    expect(page.locator("#applicant_phone")).to_be_focused()
    page.keyboard.type("0987654321")
    page.screenshot(path=str(artifacts / "16-02-new-dossier-scanned.png"), full_page=True)

    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "?new=1" in page.url
    code = page.locator("h1 .code").inner_text().strip()
    assert re.fullmatch(r"000\.00\.31\.H49-\d{6}-\d{4}", code)
    body = page.locator("main").inner_text()
    assert "Hoàng Thị Thu Hà" in body and "079203009876" in body
    page.screenshot(path=str(artifacts / "16-03-dossier-saved.png"), full_page=True)

    page.goto(server.url + "/")
    assert code in page.locator("#to_forward").inner_text()
    logout(page)


def test_a_handler_lands_on_the_queue_and_a_supervisor_on_the_dashboard(page, live_server, artifacts):
    server = live_server
    keyboard_login(page, server, "handler")
    assert page.locator("#unit-queue").count() == 1
    assert "đang xử lý" in page.locator("h1").inner_text()
    page.screenshot(path=str(artifacts / "16-04-handler-queue.png"), full_page=True)
    logout(page)

    keyboard_login(page, server, "supervisor")
    assert page.locator("h1").inner_text() == "Bảng theo dõi giải quyết hồ sơ"
    assert page.locator("#home-alerts").count() == 1
    # No chart label is cut: each label is whole and every text lies inside its chart.
    overflow = page.evaluate("""() => [...document.querySelectorAll('svg.chart text')].filter(t => {
        const box = t.getBBox(), view = t.ownerSVGElement.viewBox.baseVal;
        return box.x < 0 || box.y < 0 || box.x + box.width > view.width || box.y + box.height > view.height;
    }).map(t => t.textContent)""")
    assert overflow == []
    labels = page.evaluate("[...document.querySelectorAll('svg.chart')][0].textContent")
    assert "Phòng Quản lý Khoa học" in labels
    page.screenshot(path=str(artifacts / "16-05-supervisor-dashboard.png"), full_page=True)
