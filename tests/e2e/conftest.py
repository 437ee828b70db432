"""Browser journeys: Playwright driving Debian's headless chromium against a live server.

Every test here is marked ``e2e`` and SKIPPED, with the reason shown in the summary,
when no chromium is installed (``/usr/bin/chromium`` or ``chromium`` on PATH) or the
``playwright`` package is missing. Playwright's own browser download is never used.

The server is the real application (werkzeug's ``make_server`` in a thread) on a
SQLite file with its tables created and a small catalog from ``tests.factories``;
screenshots and PDFs go to ``test-artifacts/`` (gitignored).
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
E2E_DIR = Path(__file__).resolve().parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def find_chromium() -> str | None:
    if os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _skip_reason() -> str | None:
    if find_chromium() is None:
        return "e2e: chromium not found (/usr/bin/chromium or `chromium` on PATH): browser journeys NOT run"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "e2e: the playwright Python package is not installed: browser journeys NOT run"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    for item in items:
        if E2E_DIR not in Path(str(item.fspath)).resolve().parents:
            continue
        item.add_marker(pytest.mark.e2e)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_report_header(config):
    reason = _skip_reason()
    return [f"NOTICE: {reason}"] if reason else [f"e2e browser: {find_chromium()}"]


class LiveServer:
    def __init__(self, app, url: str, people: dict, procedure_id: int, documents: list[str]):
        self.app, self.url, self.people, self.procedure_id, self.documents = app, url, people, procedure_id, documents


RECEIPT_DOCUMENTS = [
    ("Đơn đề nghị đăng ký kết quả thực hiện nhiệm vụ khoa học và công nghệ (theo mẫu)", "original", 1),
    ("Báo cáo tổng hợp kết quả thực hiện nhiệm vụ khoa học và công nghệ đã được chỉnh sửa theo ý kiến hội đồng",
     "original", 1),
    ("Báo cáo tóm tắt kết quả thực hiện nhiệm vụ", "original", 1),
    ("Quyết định thành lập Hội đồng đánh giá, nghiệm thu kết quả thực hiện nhiệm vụ", "copy", 1),
    ("Biên bản họp Hội đồng đánh giá, nghiệm thu kết quả thực hiện nhiệm vụ khoa học và công nghệ", "copy", 1),
    ("Bản sao hợp đồng thực hiện nhiệm vụ khoa học và công nghệ (nếu có)", "copy", 1),
    ("Văn bản xác nhận về sự thỏa thuận của các tổ chức, cá nhân đăng ký quyền tác giả", "original_or_copy", 1),
    ("Phụ lục tài liệu, số liệu, bản vẽ, phần mềm kèm theo báo cáo tổng hợp", "original", 2),
    ("Giấy chứng nhận đăng ký doanh nghiệp hoặc quyết định thành lập tổ chức chủ trì", "copy", 1),
    ("Văn bản ủy quyền nộp hồ sơ (trường hợp nộp thay)", "original", 1),
]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    from werkzeug.serving import make_server

    from config import TestingConfig
    from tests.factories import PASSWORD, make_procedure, make_unit, make_user
    from tthc import create_app
    from tthc.extensions import db

    db_file = tmp_path_factory.mktemp("e2e") / "e2e.sqlite"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_file}", AGENCY_PLACE="Bà Rịa",
                     AGENCY_ADDRESS="198 Bạch Đằng, phường Phước Trung", AGENCY_PHONE="0254 3852 000",
                     PUBLIC_BASE_URL="https://dichvucong.example.gov.vn")
    with app.app_context():
        db.create_all()
        desk = make_unit(db.session, code="MOTCUA", name="Bộ phận Tiếp nhận và Trả kết quả")
        unit = make_unit(db.session, code="QLKH", name="Phòng Quản lý Khoa học")
        procedure = make_procedure(
            db.session, national_code="1.004490", name="Đăng ký kết quả thực hiện nhiệm vụ khoa học và công nghệ "
            "không sử dụng ngân sách nhà nước", documents=RECEIPT_DOCUMENTS, unit_id=unit.id,
            statutory_amount=15, committed_amount=10, committed_unit="working_days",
        )
        make_procedure(db.session, national_code="1.003579", name="Cấp giấy phép tiến hành công việc bức xạ",
                       field="An toàn bức xạ và hạt nhân", unit_id=unit.id)
        people = {
            "reception": make_user(db.session, role="reception", username="tiepnhan", unit=desk,
                                   full_name="Nguyễn Thị Tiếp Nhận"),
            "handler": make_user(db.session, role="handler", username="chuyenvien", unit=unit,
                                 full_name="Trần Văn Chuyên Viên"),
            "supervisor": make_user(db.session, role="supervisor", username="lanhdao", full_name="Phạm Văn Lãnh Đạo"),
        }
        db.session.commit()
        people = {role: (u.username, PASSWORD) for role, u in people.items()}
        procedure_id = procedure.id
        documents = [d[0] for d in RECEIPT_DOCUMENTS]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}", people, procedure_id, documents)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
