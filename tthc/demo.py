"""Demo data for a first run: handling units, the sample catalog, one account per role.

Idempotent: each piece is created only when missing, and a password is printed
only when its account is created (once).
"""
from __future__ import annotations

import os
import secrets
from typing import Callable

from sqlalchemy import func, select

from tthc import accounts
from tthc.models import Procedure, Unit, User

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
SAMPLE_CATALOG = os.path.join(DATA_DIR, "procedures_sample.csv")
SAMPLE_PLAN = os.path.join(DATA_DIR, "papi_plan_2018.csv")

UNITS = [
    ("MOTCUA", "Bộ phận Tiếp nhận và Trả kết quả"),
    ("QLKH", "Phòng Quản lý Khoa học"),
    ("QLCN", "Phòng Quản lý Công nghệ và Chuyên ngành"),
    ("TDC", "Chi cục Tiêu chuẩn Đo lường Chất lượng"),
    ("BCVT", "Phòng Bưu chính, Viễn thông và Công nghệ thông tin"),
]

# Which unit handles which field in the demo (an administrator sets the real mapping per procedure).
FIELD_UNITS = {
    "Hoạt động khoa học và công nghệ": "QLKH",
    "Sở hữu trí tuệ": "QLCN",
    "An toàn bức xạ và hạt nhân": "QLCN",
    "Tiêu chuẩn, đo lường, chất lượng": "TDC",
}

ACCOUNTS = [
    ("admin", "admin", None, "Quản trị hệ thống", False),
    ("tiepnhan", "reception", "MOTCUA", "Nguyễn Thị Tiếp Nhận", False),
    ("chuyenvien", "handler", "QLKH", "Trần Văn Chuyên Viên", False),
    ("truongphong", "handler", "QLKH", "Lê Thị Trưởng Phòng", True),
    ("lanhdao", "supervisor", None, "Phạm Văn Lãnh Đạo", False),
]


def load_demo(session, echo: Callable[[str], None] = print) -> bool:
    """Create what is missing; return True when anything was created."""
    created = False
    units: dict[str, Unit] = {}
    for code, name in UNITS:
        unit = session.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            unit = Unit(code=code, name=name, active=True)
            session.add(unit)
            created = True
        units[code] = unit
    session.flush()

    if not session.scalar(select(func.count(Procedure.id))):
        from tthc.catalog.services import import_file

        with open(SAMPLE_CATALOG, "rb") as fh:
            report = import_file(session, fh, "procedures_sample.csv")
        for procedure in session.scalars(select(Procedure).where(Procedure.unit_id.is_(None))):
            code = FIELD_UNITS.get(procedure.field)
            if code:
                procedure.unit = units[code]
        echo(f"demo catalog: {len(report.created)} procedures created, {len(report.inactive)} inactive "
             f"(no time limit in the source), {len(report.rejected)} rejected")
        created = True

    from tthc.models import Plan

    if not session.scalar(select(func.count(Plan.id))):
        from tthc.plans.services import import_file as import_plan

        # The PAPI plan 01A/KH-SKHCN (domain.md §11); its do_luong column links tasks 4 and 5 to their measures.
        with open(SAMPLE_PLAN, "rb") as fh:
            result = import_plan(session, fh.read(), "papi_plan_2018.csv")
        echo(f"demo plan: {result.describe()}")
        created = True

    new_accounts = []
    for username, role, unit_code, full_name, head in ACCOUNTS:
        if session.scalar(select(User).where(User.username == username)) is not None:
            continue
        password = secrets.token_urlsafe(9)
        accounts.create_user(session, username, role, password, unit=units.get(unit_code) if unit_code else None,
                             full_name=full_name, is_unit_head=head)
        new_accounts.append((username, role, password))
    if new_accounts:
        created = True
        echo("demo accounts (passwords are shown only this once):")
        for username, role, password in new_accounts:
            echo(f"  {username:<12} {role:<11} {password}")
    return created
