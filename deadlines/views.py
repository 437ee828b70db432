"""The working-day calendar page: a year as month grids; administrators edit days and confirm years.

Every edit cites the official notice, is audited, and recomputes the deadlines of
open dossiers (domain.md §3); the dossiers whose deadline moved are listed so the
desk can tell the applicants (their printed appointment stays as it was).
"""
from __future__ import annotations

import calendar as std_calendar
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from deadlines import offdays
from deadlines.store import load_overrides, recompute_open_dossiers
from tthc import audit
from tthc.auth import roles_required
from tthc.clock import now
from tthc.extensions import db
from tthc.forms import Form
from tthc.models import CalendarOverride, CalendarYear

bp = Blueprint("deadlines", __name__, url_prefix="/calendar")

FIRST_YEAR, LAST_YEAR = 2000, 2100
WEEKDAYS = ["T2", "T3", "T4", "T5", "T6", "T7", "CN"]
ACTIONS = [
    SelectChoice(value="off", label="Đặt là ngày nghỉ"),
    SelectChoice(value="working", label="Đặt là ngày làm việc (làm bù hoặc hủy ngày nghỉ)"),
    SelectChoice(value="revert", label="Bỏ điều chỉnh (trở về lịch gốc)"),
]


class DayEditForm(Form):
    day = DateField("Ngày", validators=[InputRequired("Chọn ngày.")])
    action = SelectField("Thao tác", choices=ACTIONS)
    name = StringField("Tên ngày (ví dụ: Nghỉ bù Quốc khánh)", validators=[Length(max=255)])
    note = TextAreaField("Căn cứ (số, ngày văn bản thông báo)",
                         validators=[DataRequired("Ghi rõ văn bản thông báo làm căn cứ."), Length(max=2000)])


class ConfirmYearForm(Form):
    note = TextAreaField("Căn cứ (số, ngày văn bản thông báo lịch nghỉ của năm)",
                         validators=[DataRequired("Ghi rõ văn bản thông báo làm căn cứ."), Length(max=2000)])


def _year_arg() -> int:
    raw = request.args.get("year", "")
    if not raw:
        return now().year
    try:
        year = int(raw)
    except ValueError:
        abort(404)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        abort(404)
    return year


def _months(year: int, entries: list[offdays.DayEntry]) -> list[dict]:
    by_date = {e.date: e for e in entries}
    months = []
    for month in range(1, 13):
        weeks = []
        for week in std_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            cells = []
            for d in week:
                entry = by_date.get(d)
                classes = []
                if d.month != month:
                    cells.append({"day": None})
                    continue
                if entry is not None:
                    classes.append("day-off" if entry.kind == "off" else "day-makeup")
                    classes.append(f"day-{entry.source}")
                elif d.weekday() >= 5:
                    classes.append("day-weekend")
                cells.append({"day": d, "classes": " ".join(classes), "title": entry.name if entry else ""})
            weeks.append(cells)
        months.append({"number": month, "weeks": weeks})
    return months


@bp.route("/")
@roles_required("supervisor", "admin")
def show_calendar():
    return _render_calendar(_year_arg())


def _render_calendar(year: int, *, day_form=None, confirm_form=None, status: int = 200):
    """The calendar page; a form refused on POST is shown again with its errors next to its fields."""
    confirmed = db.session.get(CalendarYear, year)
    overrides = load_overrides(db.session)
    entries = offdays.year_schedule(year, overrides, [year] if confirmed else [])
    estimated = year not in offdays.OFFICIAL_YEARS and confirmed is None
    return render_template(
        "deadlines/calendar.html",
        year=year,
        entries=entries,
        months=_months(year, entries),
        weekdays=WEEKDAYS,
        official=year in offdays.OFFICIAL_YEARS,
        estimated=estimated,
        confirmed=confirmed,
        sources=offdays.sources(year) if year in offdays.OFFICIAL_YEARS else [],
        notes=offdays.notes(year) if year in offdays.OFFICIAL_YEARS else "",
        edits=db.session.scalars(
            select(CalendarOverride).where(CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day <= date(year, 12, 31))
            .order_by(CalendarOverride.day)
        ).all(),
        day_form=day_form or DayEditForm(formdata=None),
        confirm_form=confirm_form or ConfirmYearForm(formdata=None),
        can_edit=current_user.role == "admin",
        first_year=FIRST_YEAR,
        last_year=LAST_YEAR,
    ), status


@bp.route("/days", methods=["POST"])
@roles_required("admin")
def edit_day():
    form = DayEditForm()
    valid = form.validate_on_submit()
    day: date | None = form.day.data if valid else None
    if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
        form.day.errors = [f"Ngày {day:%d/%m/%Y} nằm ngoài lịch làm việc: chỉ điều chỉnh được các ngày từ năm "
                           f"{FIRST_YEAR} đến năm {LAST_YEAR}."]
        valid = False
    if not valid:
        raw_year = request.form.get("day", "")[:4]
        year = int(raw_year) if raw_year.isdigit() and FIRST_YEAR <= int(raw_year) <= LAST_YEAR else now().year
        return _render_calendar(year, day_form=form, status=422)
    existing = db.session.get(CalendarOverride, day)
    before = audit.snapshot(existing, ["day", "working", "name", "note"]) if existing else None
    if form.action.data == "revert":
        if existing is None:
            flash("Ngày này không có điều chỉnh nào để bỏ.", "warning")
            return redirect(url_for("deadlines.show_calendar", year=day.year))
        db.session.delete(existing)
        after = None
    else:
        if existing is None:
            existing = CalendarOverride(day=day)
            db.session.add(existing)
        existing.working = form.action.data == "working"
        existing.name = (form.name.data or "").strip()
        existing.note = form.note.data.strip()
        existing.created_by_id = current_user.id
        existing.created_at = now()
        after = audit.snapshot(existing, ["day", "working", "name", "note"])
    db.session.flush()
    moved = recompute_open_dossiers(db.session)
    audit.record(db.session, "calendar_" + form.action.data, "calendar_day", day.isoformat(), before=before,
                 after=after, note=form.note.data.strip())
    db.session.commit()
    flash(f"Đã cập nhật lịch ngày {day:%d/%m/%Y}. Đã tính lại hạn của hồ sơ đang giải quyết: "
          f"{len(moved)} hồ sơ thay đổi hạn.", "success")
    return render_moved(moved, day.year)


@bp.route("/years/<int:year>/confirm", methods=["POST"])
@roles_required("admin")
def confirm_year(year: int):
    if not FIRST_YEAR <= year <= LAST_YEAR:
        abort(404)
    form = ConfirmYearForm()
    if not form.validate_on_submit():
        return _render_calendar(year, confirm_form=form, status=422)
    if year in offdays.OFFICIAL_YEARS:
        flash(f"Lịch năm {year} đã là lịch chính thức.", "info")
        return redirect(url_for("deadlines.show_calendar", year=year))
    row = db.session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year)
        db.session.add(row)
    row.confirmed_at, row.confirmed_by_id, row.note = now(), current_user.id, form.note.data.strip()
    audit.record(db.session, "calendar_confirm_year", "calendar_year", year, after={"note": row.note})
    db.session.commit()
    flash(f"Đã xác nhận lịch nghỉ năm {year} là lịch chính thức.", "success")
    return redirect(url_for("deadlines.show_calendar", year=year))


def render_moved(moved, year: int):
    if not moved:
        return redirect(url_for("deadlines.show_calendar", year=year))
    return render_template("deadlines/moved.html", moved=moved, year=year)


def calendar_todos(session, today: date) -> list[tuple[str, int]]:
    """The calendar's to-dos for the administrator's home page: this year and the next, when
    their schedule is still estimated (no official list shipped, not confirmed by an administrator)."""
    todos = []
    for year in (today.year, today.year + 1):
        if year in offdays.OFFICIAL_YEARS or session.get(CalendarYear, year) is not None:
            continue
        todos.append((f"Lịch nghỉ năm {year} đang là lịch ước tính theo Bộ luật Lao động: đối chiếu với thông "
                      f"báo chính thức của Chính phủ rồi điều chỉnh và xác nhận.", year))
    return todos
