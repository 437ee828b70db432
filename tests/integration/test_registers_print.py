"""The register and the late list print (issue 11): 200 dossiers through the real export, converted with
LibreOffice headless to PDF; ``pdftotext -layout`` shows every dossier code whole, every page holds the
first and the last column (the header rows repeat, the sheet is one page wide), pages are A4 landscape
and numbered. One conversion of both workbooks (LibreOffice starts once).

Needs Debian's ``libreoffice-calc-nogui`` (soffice) and ``poppler-utils`` (pdfinfo, pdftotext); skipped,
with the reason shown by ``-ra``, when they are absent. The layout does not depend on the database:
SQLite only.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta

import pytest

from tests.factories import make_procedure, make_unit
from tests.reports_fixtures import Builder
from tthc.extensions import db
from tthc.reports import exports, periods

TOOLS = ("soffice", "pdfinfo", "pdftotext")
missing = [t for t in TOOLS if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(missing), reason=f"LibreOffice/poppler absent ({', '.join(missing)}): "
                                "apt-get install libreoffice-calc-nogui poppler-utils")

PERIOD = periods.parse_month("2026-03")  # 15/02/2026 .. 14/03/2026
NOW = datetime(2026, 3, 25, 9, 0)
CODE = re.compile(r"000\.00\.31\.H49-\d{6}-\d{4}")
NAMES = ["Nguyễn Văn An", "Công ty TNHH Giải pháp Công nghệ Môi trường và Năng lượng Tái tạo Miền Nam",
         "Trần Thị Bích Ngọc", "Viện Nghiên cứu Ứng dụng Khoa học Kỹ thuật Nông nghiệp Vùng Đông Nam Bộ",
         "Lê Hoàng Phúc"]
ADDRESSES = ["12 Lê Lợi, phường Bến Thành", "Lô B2-7, Khu công nghiệp Phú Mỹ II, phường Phú Mỹ, "
             "thành phố Hồ Chí Minh", "198 Bạch Đằng, phường Phước Trung, thành phố Bà Rịa"]


def _dataset(session) -> list[str]:
    units = [make_unit(session, name="Phòng Quản lý Khoa học"),
             make_unit(session, name="Chi cục Tiêu chuẩn Đo lường Chất lượng")]
    procedures = [
        make_procedure(session, name="Cấp Giấy chứng nhận đăng ký hoạt động của tổ chức khoa học và công nghệ "
                       "(trường hợp thay đổi, bổ sung nội dung ghi trong giấy chứng nhận)", statutory_amount=5,
                       unit_id=units[0].id),
        make_procedure(session, name="Đăng ký kết quả thực hiện nhiệm vụ khoa học và công nghệ", statutory_amount=8,
                       unit_id=units[1].id),
    ]
    bld = Builder(session)
    codes = []
    start = datetime(2026, 2, 23, 7, 30)
    for i in range(200):
        received = start + timedelta(days=i // 12, minutes=37 * (i % 12))
        code = f"000.00.31.H49-{received:%y%m%d}-{i % 12 + 1:04d}"
        d = bld.dossier(code, procedures[i % 2], units[i % 2], received, name=NAMES[i % len(NAMES)],
                        phone=f"09{i:08d}", address=ADDRESSES[i % len(ADDRESSES)])
        bld.event(d, "forwarded", received + timedelta(hours=1))
        if i % 3 == 0:  # finished: some early, some late (after the 5 or 8 working days)
            bld.event(d, "finished", received + timedelta(days=3 if i % 2 else 12))
        if i % 7 == 0:
            bld.event(d, "extended", received + timedelta(days=2),
                      data={"new_deadline": (received + timedelta(days=20)).isoformat()})
            d.events[-1].note = "Chờ ý kiến thẩm định của Hội đồng khoa học và công nghệ chuyên ngành"
        codes.append(code)
    session.commit()
    return codes


def _convert(tmp_path, workbooks: dict[str, bytes]) -> dict[str, tuple[str, list[str]]]:
    for name, data in workbooks.items():
        (tmp_path / f"{name}.xlsx").write_bytes(data)
    done = subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo",
                           "--convert-to", "pdf", "--outdir", str(tmp_path),
                           *(str(tmp_path / f"{name}.xlsx") for name in workbooks)],
                          capture_output=True, text=True, timeout=240)
    out = {}
    for name in workbooks:
        pdf = tmp_path / f"{name}.pdf"
        assert done.returncode == 0 and pdf.exists(), done.stdout + done.stderr
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
        out[name] = (info, [subprocess.run(["pdftotext", "-f", str(p), "-l", str(p), "-layout", str(pdf), "-"],
                                           capture_output=True, text=True, check=True).stdout
                            for p in range(1, pages + 1)])
    return out


def test_the_register_and_the_late_list_of_200_dossiers_print_every_code_whole_on_pages_with_all_columns(
        app, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("the printed layout does not depend on the database")
    with app.app_context():
        codes = _dataset(db.session)
        register = exports.build_register(db.session, PERIOD, None, NOW, mask_personal=False)
        late = exports.build_late(db.session, PERIOD, None, NOW)
        late_codes = [r[1] for r in _late_rows(late)]
    assert len(late_codes) > 30, "the late list spans pages too"
    printed = _convert(tmp_path, {"register": register, "late": late})

    for name, expected, last_column in (("register", codes, "(14)"), ("late", late_codes, "(12)")):
        info, pages = printed[name]
        width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
        assert (round(width), round(height)) == (842, 595), f"{name}: A4 landscape"
        assert len(pages) >= 2, f"{name}: long enough to need several pages"
        for number, text in enumerate(pages, 1):
            assert "(1)" in text and last_column in text, f"{name} page {number}: the header rows repeat"
            assert f"Trang {number}/{len(pages)}" in text, f"{name} page {number}: numbered"
        found = [code for text in pages for code in CODE.findall(text)]
        assert sorted(found) == sorted(expected), f"{name}: every code printed once and whole"
    assert "Mẫu số 07 – Thông tư 03/2025/TT-VPCP" in printed["register"][1][0]
    assert re.search(r"\d{2}:\d{2} \d{2}/\d{2}/\d{4}", printed["register"][1][0]), "dates as hh:mm dd/mm/yyyy"


def _late_rows(data: bytes):
    import io

    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(data), read_only=True)["Hồ sơ quá hạn"]
    rows = list(ws.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r and r[0] == "STT")
    return [r for r in rows[head + 2:] if r and r[1]]
