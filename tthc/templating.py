"""Jinja filters and globals shared by every template (dates in Vietnamese formats, labels, navigation)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import os

from flask import current_app, request, url_for
from flask_login import current_user
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, TemplateNotFound

from tthc import models, text


def format_dt(value: datetime | None) -> str:
    """hh:mm dd/mm/yyyy, the format of the receipt (Circular 01/2018, form 01)."""
    return value.strftime("%H:%M %d/%m/%Y") if value else ""


def format_date(value: date | datetime | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def format_number(value, decimals: int = 0) -> str:
    """Vietnamese number format: '.' groups thousands, ',' marks decimals (1.234; 50,00)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return str(value)
    # Half up, as people round (97,125 -> 97,13), not the binary float's 97,12.
    exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{exact:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def format_percent(value, decimals: int = 2) -> str:
    """A percentage in Vietnamese format ('50,00 %'); blank when there is none (nothing finished)."""
    return "" if value is None else f"{format_number(value, decimals)} %"


def personal_filter(value: str | None) -> str:
    """``|personal``: an ID number or phone in full for the roles that need it, masked for the others
    (Decree 13/2023; the rule is tthc.text.sees_personal_data), on every page and slip."""
    user = current_user if current_user.is_authenticated else None
    return text.personal(value, user)


def limit_text(amount, unit) -> str:
    if unit == "none":
        return models.LIMIT_UNIT_LABELS["none"]
    if unit is None or amount is None:
        return "Chưa có thời hạn"
    return f"{amount} {models.LIMIT_UNIT_LABELS.get(unit, unit)}"


def rule_today(procedure) -> "models.RuleInForce":
    """The procedure's rule in force now (a decided rule version from its effective date, domain.md §10)."""
    from tthc.clock import now

    return procedure.rule_at(now())


# (endpoint, label, roles)
NAVIGATION = [
    ("main.index", "Trang chủ", ("reception", "handler", "supervisor", "admin")),
    ("intake.new_dossier", "Tiếp nhận hồ sơ", ("reception",)),
    ("intake.list_dossiers", "Hồ sơ", ("reception", "handler", "supervisor", "admin")),
    ("intake.list_desk_contacts", "Hướng dẫn, từ chối tại quầy", ("reception", "supervisor")),
    ("watch.show_dashboard", "Bảng theo dõi", ("supervisor", "admin", "handler")),
    ("watch.list_alerts", "Cảnh báo", ("supervisor", "admin", "handler", "reception")),
    ("reports.index", "Báo cáo", ("supervisor", "admin")),
    ("review.show_review", "Rà soát thời hạn", ("supervisor", "admin")),
    ("plans.list_plans", "Kế hoạch", ("reception", "handler", "supervisor", "admin")),
    ("catalog.list_procedures", "Danh mục thủ tục", ("reception", "handler", "supervisor", "admin")),
    ("dossier_import.index", "Nhập hồ sơ", ("admin",)),
    ("deadlines.show_calendar", "Lịch làm việc", ("supervisor", "admin")),
    ("admin.list_users", "Tài khoản", ("admin",)),
    ("admin.list_units", "Đơn vị", ("admin",)),
]


def navigation():
    if not current_user.is_authenticated:
        return []
    items = []
    for endpoint, label, roles in NAVIGATION:
        if current_user.role in roles and endpoint in current_app.view_functions:
            items.append({"url": url_for(endpoint), "label": label,
                          "active": request.endpoint == endpoint})
    return items


FORMS_PREFIX = "intake/slips/"


class FormTemplateLoader(BaseLoader):
    """The administrators' copies of the printed forms, searched before the shipped templates.

    ``intake/slips/receipt.html`` is looked up as ``<folder>/receipt.html`` and
    ``intake/slips/2025/receipt.html`` as ``<folder>/2025/receipt.html``: a form's wording can be
    adjusted for both sets or for one, by editing a copy of the shipped template, without
    touching the code. Only the forms can be overridden; every other template is the shipped one.
    """

    def __init__(self, folder: str):
        self.folder = folder
        self._files = FileSystemLoader(folder)

    def get_source(self, environment, template):
        if not template.startswith(FORMS_PREFIX):
            raise TemplateNotFound(template)
        return self._files.get_source(environment, template[len(FORMS_PREFIX):])


def forms_folder(app) -> str:
    return app.config.get("FORM_TEMPLATES") or os.path.join(app.instance_path, "forms")


def init_app(app) -> None:
    # Administrators' copies of the forms first, then the shipped templates (README, "Printed forms").
    app.jinja_loader = ChoiceLoader([FormTemplateLoader(forms_folder(app)), app.jinja_loader])
    app.jinja_env.filters["dt"] = format_dt
    app.jinja_env.filters["d"] = format_date
    app.jinja_env.filters["num"] = format_number
    app.jinja_env.filters["personal"] = personal_filter
    app.jinja_env.filters["pct"] = format_percent
    app.jinja_env.globals.update(
        limit_text=limit_text,
        rule_today=rule_today,
        navigation=navigation,
        ROLE_LABELS=models.ROLE_LABELS,
        LIMIT_UNIT_LABELS=models.LIMIT_UNIT_LABELS,
        DOCUMENT_KIND_LABELS=models.DOCUMENT_KIND_LABELS,
        SUPPLEMENT_RULE_LABELS=models.SUPPLEMENT_RULE_LABELS,
        STATUS_LABELS=models.STATUS_LABELS,
        CHANNEL_LABELS=models.CHANNEL_LABELS,
    )

    @app.context_processor
    def agency():
        cfg = app.config
        return {"agency": {"name": cfg["AGENCY_NAME"], "parent": cfg["PARENT_AGENCY"], "code": cfg["AGENCY_CODE"],
                           "address": cfg["AGENCY_ADDRESS"], "place": cfg["AGENCY_PLACE"], "phone": cfg["AGENCY_PHONE"]}}
