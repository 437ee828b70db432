"""Administration pages: user accounts and handling units (admin role only)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from tthc import accounts, audit
from tthc.auth import roles_required
from tthc.extensions import db
from tthc.forms import Form
from tthc.models import ROLE_LABELS, Unit, User

bp = Blueprint("admin", __name__, url_prefix="/admin")


class UserForm(Form):
    username = StringField("Tên đăng nhập", validators=[DataRequired("Nhập tên đăng nhập."), Length(max=64)])
    full_name = StringField("Họ và tên", validators=[Length(max=255)])
    role = SelectField("Vai trò", choices=[SelectChoice(value=k, label=v) for k, v in ROLE_LABELS.items()])
    unit_id = SelectField("Đơn vị", coerce=str, validators=[Optional()])
    is_unit_head = BooleanField("Trưởng đơn vị (ký phiếu xin lỗi, nhận cảnh báo của đơn vị)")
    active = BooleanField("Đang hoạt động", default=True)
    password = PasswordField("Mật khẩu ban đầu", validators=[Optional()])


class UnitForm(Form):
    code = StringField("Mã đơn vị", validators=[DataRequired("Nhập mã đơn vị."), Length(max=32)])
    name = StringField("Tên đơn vị", validators=[DataRequired("Nhập tên đơn vị."), Length(max=255)])
    active = BooleanField("Đang hoạt động", default=True)


def _unit_choices():
    units = db.session.scalars(select(Unit).order_by(Unit.name)).all()
    return [SelectChoice(value="", label="— Không thuộc đơn vị —")] + [
        SelectChoice(value=str(u.id), label=u.name) for u in units]


@bp.route("/users")
@roles_required("admin")
def list_users():
    users = db.session.scalars(select(User).order_by(User.active.desc(), User.username)).all()
    return render_template("admin/users.html", users=users)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required("admin")
def new_user():
    form = UserForm()
    form.unit_id.choices = _unit_choices()
    if form.validate_on_submit():
        try:
            unit = accounts.find_unit(db.session, form.unit_id.data)
            user = accounts.create_user(
                db.session, form.username.data, form.role.data, form.password.data or "", unit=unit,
                full_name=form.full_name.data or "", is_unit_head=form.is_unit_head.data, actor=current_user,
            )
        except accounts.AccountError as exc:
            _attach_error(form, exc)
        else:
            db.session.commit()
            flash(f"Đã tạo tài khoản {user.username}.", "success")
            return redirect(url_for("admin.list_users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit_user(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm(obj=user)
    form.unit_id.choices = _unit_choices()
    if request.method == "GET":
        form.unit_id.data = str(user.unit_id or "")
    form.username.data = user.username  # not editable
    if form.validate_on_submit():
        try:
            unit = accounts.find_unit(db.session, form.unit_id.data)
            accounts.update_user(db.session, user, role=form.role.data, unit=unit, full_name=form.full_name.data or "",
                                 is_unit_head=form.is_unit_head.data, active=form.active.data, actor=current_user)
        except accounts.AccountError as exc:
            db.session.rollback()
            _attach_error(form, exc)
        else:
            db.session.commit()
            flash(f"Đã cập nhật tài khoản {user.username}.", "success")
            return redirect(url_for("admin.list_users"))
    return render_template("admin/user_form.html", form=form, user=user)


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@roles_required("admin")
def reset_user_password(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    password = accounts.reset_password(db.session, user, actor=current_user)
    db.session.commit()
    flash(f"Mật khẩu mới của {user.username}: {password} — chỉ hiển thị một lần, hãy trao tận tay người dùng.", "warning")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/units")
@roles_required("admin")
def list_units():
    units = db.session.scalars(select(Unit).order_by(Unit.name)).all()
    return render_template("admin/units.html", units=units)


@bp.route("/units/new", methods=["GET", "POST"])
@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit_unit(unit_id: int | None = None):
    unit = (db.session.get(Unit, unit_id) or abort(404)) if unit_id else None
    form = UnitForm(obj=unit)
    if form.validate_on_submit():
        code = form.code.data.strip()
        clash = db.session.scalar(select(Unit).where(Unit.code == code))
        if clash is not None and clash is not unit:
            form.code.errors.append(f"Mã đơn vị “{code}” đã được dùng.")
        else:
            before = audit.snapshot(unit, ["code", "name", "active"]) if unit else None
            if unit is None:
                unit = Unit()
                db.session.add(unit)
            unit.code, unit.name, unit.active = code, form.name.data.strip(), form.active.data
            db.session.flush()
            audit.record(db.session, "update" if before else "create", "unit", unit.id, before=before,
                         after=audit.snapshot(unit, ["code", "name", "active"]))
            db.session.commit()
            flash(f"Đã lưu đơn vị {unit.name}.", "success")
            return redirect(url_for("admin.list_units"))
    return render_template("admin/unit_form.html", form=form, unit=unit)


def _attach_error(form: FlaskForm, exc: accounts.AccountError) -> None:
    target = {"unit": "unit_id"}.get(exc.field or "", exc.field or "")
    if target and hasattr(form, target):
        getattr(form, target).errors = list(getattr(form, target).errors) + [str(exc)]
    else:
        flash(str(exc), "danger")
