"""The administrator's import page through HTTP: upload, preview with recognised columns, a mapping
step for an unknown header, the run, its report on the page and as .xlsx, estimated events shown."""
from __future__ import annotations

import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from tests.helpers import csrf_token
from tthc.extensions import db
from tthc.models import Dossier, ImportMapping

SAMPLE = "/work/shared/data/dossiers_import_sample.csv"


@pytest.fixture
def admin(app, auth, monkeypatch):
    import tthc.demo
    from tthc.demo import load_demo

    monkeypatch.setattr(tthc.demo, "ACCOUNTS", [])
    with app.app_context():
        load_demo(db.session, echo=lambda _line: None)
        db.session.commit()
    auth.login("admin")
    return auth


def upload(client, data: bytes, name: str):
    token = csrf_token(client, "/imports/")
    return client.post("/imports/preview", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_upload_preview_map_an_unknown_header_run_and_read_the_report(client, admin, app):
    with open(SAMPLE, encoding="utf-8-sig") as fh:
        text = fh.read()
    text = text.replace("Ngày tiếp nhận", "Thời điểm nhận hồ sơ", 1)  # a header no mapping knows
    response = upload(client, text.encode("utf-8"), "xuat.csv")
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Chưa có cột cho" in html and "“Ngày tiếp nhận”" in html
    assert "chưa nhận ra" in html and "H49.36-260921-0001" in html  # the first rows are previewed
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    index = re.search(r'<select name="col_(\d+)" aria-label="Cột Thời điểm nhận hồ sơ', html).group(1)

    mapped = client.post("/imports/map", data={"csrf_token": csrf_token(client, "/imports/"), "token": token,
                                               "mapping": "", f"col_{index}": "received_at"})
    html = mapped.get_data(as_text=True)
    assert mapped.status_code == 200 and "Chưa có cột cho" not in html
    run = client.post("/imports/run", data={"csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                                                                    html).group(1),
                                            "token": token, "saved_mapping": "", f"col_{index}": "received_at",
                                            "save_as": "Trung tâm PVHCC"})
    assert run.status_code == 302, run.get_data(as_text=True)[:300]
    report = client.get(run.headers["Location"])
    html = report.get_data(as_text=True)
    assert report.status_code == 200 and "<strong>40</strong><span>thêm mới</span>" in html
    with app.app_context():
        assert db.session.scalar(select(Dossier.id).where(Dossier.code == "H49.36-260909-0001")) is not None
        saved = db.session.scalar(select(ImportMapping))
        assert saved.name == "Trung tâm PVHCC" and "thoi diem nhan ho so" in saved.definition["columns"]

    xlsx = client.get(run.headers["Location"] + "/report.xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    rows = [r for r in openpyxl.load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True)
            if isinstance(r[0], int)]
    assert len(rows) == 40

    # An event the status implied without its time is marked estimated on the dossier page.
    page = client.get("/dossiers/H49.36-260909-0001").get_data(as_text=True)
    assert "ước tính" in page


def test_a_file_of_another_type_is_refused_with_a_message(client, admin):
    response = upload(client, b"%PDF-1.4", "ho-so.pdf")
    assert response.status_code == 400 and "chỉ nhận .csv hoặc .xlsx" in response.get_data(as_text=True)


def test_an_unknown_run_is_404_and_a_lost_upload_sends_back_to_the_start(client, admin):
    assert client.get("/imports/999999").status_code == 404
    response = client.get("/imports/map?token=nope")
    assert response.status_code == 302 and response.headers["Location"].endswith("/imports/")


def test_after_a_dry_run_the_same_file_imports_for_real_from_the_run_page(client, admin, app):
    with open(SAMPLE, "rb") as fh:
        response = upload(client, fh.read(), "mau.csv")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    dry = client.post("/imports/run", data={"csrf_token": csrf_token(client, "/imports/"), "token": token,
                                            "saved_mapping": "", "dry_run": "y"})
    page = client.get(dry.headers["Location"]).get_data(as_text=True)
    assert "Chạy thử" in page and "Nhập thật tệp này" in page
    with app.app_context():
        assert db.session.scalar(select(Dossier.id)) is None
    from_run = re.search(r'name="from_run" type="hidden" value="(\d+)"', page).group(1)
    real = client.post("/imports/run", data={"csrf_token": csrf_token(client, "/imports/"), "token": token,
                                             "from_run": from_run})
    assert "<strong>40</strong><span>thêm mới</span>" in client.get(real.headers["Location"]).get_data(as_text=True)
