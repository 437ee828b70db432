"""Warnings the desk must see about a dossier's dates (issue 11, domain.md §3).

A year the shipped official schedules do not cover is *estimated* from the statutory rules
until an administrator confirms it on the calendar page. A deadline counted over such a year
may move once the government announces its days off and make-up Saturdays, so the new-dossier
screen, the receipt (on screen) and the API's dossier body say so, and the desk can have the
year confirmed before the applicant leaves with the appointment.

Reads only. The confirmed years are read once per request (``flask.g``).
"""
from __future__ import annotations

from datetime import datetime
from flask import g, has_request_context
from sqlalchemy import select

from deadlines.offdays import OFFICIAL_YEARS
from tthc.models import CalendarYear


def confirmed_years(session) -> frozenset[int]:
    if has_request_context() and "tthc_confirmed_years" in g:
        return g.tthc_confirmed_years
    years = frozenset(session.scalars(select(CalendarYear.year)).all())
    if has_request_context():
        g.tthc_confirmed_years = years
    return years


def estimated_years(session, first: datetime | None, last: datetime | None) -> list[int]:
    """The years from ``first`` to ``last`` (inclusive) whose calendar is only estimated."""
    if first is None or last is None:
        return []
    confirmed = confirmed_years(session)
    return [y for y in range(min(first.year, last.year), max(first.year, last.year) + 1)
            if y not in OFFICIAL_YEARS and y not in confirmed]


def deadline_warnings(session, received_at: datetime | None, deadline_at: datetime | None) -> list[str]:
    """One message per estimated year the counting from reception to the deadline crosses."""
    years = estimated_years(session, received_at, deadline_at)
    if not years:
        return []
    listed = ", ".join(str(y) for y in years)
    return [
        f"Hạn giải quyết {deadline_at:%H:%M %d/%m/%Y} được tính theo lịch năm {listed} mới là lịch ước tính "
        f"(chưa có thông báo chính thức về ngày nghỉ, ngày làm bù): đề nghị quản trị xác nhận lịch năm {listed} "
        "trên trang Lịch làm việc để ngày hẹn trả chắc chắn."
    ]


NO_PHONE_WARNING = ("Người nộp không có số điện thoại: tra cứu hồ sơ bằng mã hồ sơ và 4 số cuối số giấy tờ "
                    "(giấy tiếp nhận ghi rõ).")


def dossier_warnings(session, dossier) -> list[str]:
    """The warnings of a stored dossier: its deadline (or appointment) over an estimated year; an
    individual applicant without a phone (the look-up then uses the ID number's digits, issue 16)."""
    deadline = dossier.deadline_at or dossier.appointment_at
    found = deadline_warnings(session, dossier.received_at, deadline)
    if dossier.applicant_kind == "individual" and not (dossier.applicant_phone or "").strip():
        found.append(NO_PHONE_WARNING)
    return found
