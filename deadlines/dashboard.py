"""The supervisor dashboard, the alerts inbox and ``GET /api/v1/alerts`` (issue 5).

Pages compute overdue LIVE; the scan's flags only drive alerts (architecture.md).
Counts are aggregate SQL (GROUP BY), never ORM objects. The reporting period is that of
the reports (tthc/reports/periods.py, configured by ``REPORT_PERIOD_SCHEME``): by default
the government convention, the 15th of the previous month to the 14th of this month
(Decree 09/2019, Art. 12; domain.md §7); or calendar months.

The period's table IS the monthly report's row function (``summary_rows``; both groupings
in one pass, ``summary_tables``), measured now: in progress judged against the original
deadline, finished dossiers by the date of their result (domain.md §8). The action lists
and the "due soon" count watch the current deadline (``deadline_at``: an extension's new
appointment if any), through the watch rules of ``deadlines.lifecycle`` (domain.md §4.6).
Unit and field are those recorded at reception.

Never imports ``intake`` (dossier links are built by endpoint name when it exists).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import func, select

from deadlines import alerts, lifecycle
from deadlines.alerts import acknowledge, acknowledge_all, count_alerts, inbox_query, unread_count
from deadlines.lifecycle import RUNNING_STATUSES
from deadlines.scan import ALERT_KINDS, ALERT_LABELS, sql_condition
from tthc.plans.reminders import PLAN_ALERT_KINDS, PLAN_ALERT_LABELS
from tthc.auth import roles_required, safe_next, user_from_bearer
from tthc.clock import now as clock_now
from tthc.clock import to_iso
from tthc.errors import api_error
from tthc.extensions import db
from tthc.models import Dossier, Unit
from tthc.params import MAX_PAGE, parse_filter_id, parse_id, parse_int, parse_page
from tthc.reports import periods, tally
from tthc.reports.queries import NO_UNIT_LABEL, summary_tables
from tthc.templating import format_number

bp = Blueprint("watch", __name__)
api_alerts_bp = Blueprint("api_alerts", __name__, url_prefix="/api/v1")

DASHBOARD_ROLES = ("supervisor", "admin", "handler")
INBOX_ROLES = ("supervisor", "admin", "handler", "reception")
LIST_LIMIT = 50
MAX_PER_PAGE = 100


# -- periods --------------------------------------------------------------------------------------


def configured_scheme() -> str:
    """``REPORT_PERIOD_SCHEME`` ("decree09" by default, or "calendar"), as the reports use it."""
    scheme = current_app.config.get("REPORT_PERIOD_SCHEME") or periods.DECREE_09
    if scheme not in periods.SCHEMES:
        current_app.logger.warning("REPORT_PERIOD_SCHEME=%r is unknown: using %r", scheme, periods.DECREE_09)
        return periods.DECREE_09
    return scheme


def period_for(d: date, scheme: str = periods.DECREE_09) -> periods.Period:
    """The monthly reporting period containing ``d`` (tthc.reports.periods, so the dashboard and
    the reports always agree): under Decree 09 the 15th of a month .. the 14th of the next, named
    after the month of its end (``2025-03`` = 15/02–14/03, domain.md §8); else the calendar month."""
    y, m = d.year, d.month
    if scheme == periods.DECREE_09 and d.day >= periods.CUTOFF_DAY:
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return periods.month(y, m, scheme)


def period_label(period: periods.Period) -> str:
    """``MM/YYYY``: the month the period is named after (the month of its last day)."""
    return f"{period.last_day:%m/%Y}"


def previous_periods(d: date, count: int, scheme: str = periods.DECREE_09) -> list[periods.Period]:
    """The ``count`` monthly periods up to the one containing ``d``, oldest first."""
    found = [period_for(d, scheme)]
    while len(found) < count:
        found.append(period_for(found[-1].first_day - timedelta(days=1), scheme))
    return list(reversed(found))


# -- aggregates -----------------------------------------------------------------------------------


@dataclass
class Row:
    """One row of the dashboard table (a unit, a field, or the total)."""

    key: object
    label: str
    within_time: int = 0
    due_soon: int = 0
    overdue: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    # Satisfaction ratings given in the period (issue 7): a separate group, not part of the identities.
    rated: int = 0
    satisfied: int = 0

    @property
    def in_progress(self) -> int:
        """Within time + overdue, as the monthly report (``due_soon`` is a separate, live watch)."""
        return self.within_time + self.overdue

    @property
    def finished(self) -> int:
        return self.early + self.on_time + self.late

    @property
    def on_time_rate(self) -> float | None:
        """(early + on time) / finished, in %, None when nothing was finished (domain.md §7)."""
        return round(100.0 * (self.early + self.on_time) / self.finished, 2) if self.finished else None

    @property
    def satisfaction_rate(self) -> float | None:
        """satisfied / rated, in %, None when nobody rated in the period."""
        return round(100.0 * self.satisfied / self.rated, 2) if self.rated else None

    def add(self, other: "Row") -> None:
        for name in ("within_time", "due_soon", "overdue", "early", "on_time", "late", "rated", "satisfied"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Dashboard:
    now: datetime
    period_start: date
    period_end: date
    due_soon_until: datetime
    by_unit: list[Row]
    by_field: list[Row]
    total: Row
    months: list[Row]
    overdue_list: list = field(default_factory=list)
    due_soon_list: list = field(default_factory=list)


def build_dashboard(session, now: datetime, *, due_soon_until: datetime, unit_id: int | None = None,
                    months: int = 12, list_limit: int = LIST_LIMIT, scheme: str | None = None) -> Dashboard:
    """Everything the dashboard shows, in a handful of aggregate queries.

    ``scheme`` is the reporting-period scheme; None → the app's ``REPORT_PERIOD_SCHEME``."""
    scheme = scheme or configured_scheme()
    current = period_for(now.date(), scheme)
    start, end = current.first_day, current.last_day
    scope = [] if unit_id is None else [Dossier.unit_id == unit_id]

    units = dict(session.execute(select(Unit.id, Unit.name)).all())

    # The period's table is the monthly report's (tthc.reports.queries.summary_rows), measured now:
    # the same function gives the same numbers for the same period and unit (issue 10), both
    # groupings from one pass (summary_tables). In progress is judged against the original
    # deadline there (domain.md §8).
    by_unit: dict[object, Row] = {}
    by_field: dict[object, Row] = {}
    tables = summary_tables(session, current, ("unit", "field"), unit_id, now=now)
    for by, target in (("unit", by_unit), ("field", by_field)):
        for r in tables[by]:
            target[r.key] = Row(r.key, r.label, within_time=r.within, overdue=r.overdue, early=r.early,
                                on_time=r.on_time, late=r.late, rated=r.rated, satisfied=r.satisfied)

    # Beside it, what the desk acts on: due soon against the current deadline (the extension's new
    # appointment if any), the watch rule of deadlines.lifecycle as SQL, as the scan and the lists use it.
    th = lifecycle.Thresholds(now=now, due_soon_until=due_soon_until, apology_until=None)
    is_overdue = sql_condition(lifecycle.WATCH_RULES["overdue"], th)
    is_due_soon = sql_condition(lifecycle.WATCH_RULES["due_soon"], th)
    for status in RUNNING_STATUSES:
        # One query per status: with an equality on status, a range of the covering index
        # (status, deadline_at, unit_id, field), a few days' deadlines, then grouped.
        for unit, fld, n in session.execute(
            select(Dossier.unit_id, Dossier.field, func.count())
            .where(Dossier.status == status, is_due_soon, *scope)
            .group_by(Dossier.unit_id, Dossier.field)
        ):
            for key, target, label in ((unit, by_unit, units.get(unit, NO_UNIT_LABEL)), (fld, by_field, fld)):
                target.setdefault(key, Row(key, label or "(Chưa xác định lĩnh vực)")).due_soon += n

    total = Row(None, "Tổng cộng")
    for r in by_unit.values():
        total.add(r)

    # On-time rate over the last `months` reporting periods: the finished dossiers by half-month of
    # result, from the tally (tthc/reports/tally.py: a few hundred rows, not every dossier of a year).
    recent = previous_periods(now.date(), months, scheme)
    month_rows = [Row(period.first_day, period_label(period)) for period in recent]
    by_half = tally.finished_by_half_month(session, recent[0].first_day, recent[-1].end.date(), unit_id)
    for half, counts in by_half.items():  # each half-month lies in one period
        row = next(r for r, p in zip(month_rows, recent) if p.first_day <= half < p.end.date())
        row.early += counts.get("early", 0)
        row.late += counts.get("late", 0)
        # on_time, and no-limit dossiers (classification None: always on time)
        row.on_time += sum(n for classification, n in counts.items() if classification not in ("early", "late"))

    list_cols = (Dossier.code, Dossier.applicant_name, Dossier.field, Dossier.unit_id, Dossier.deadline_at,
                 Dossier.status, Dossier.extended)

    def most_urgent(*conds):
        # One indexed range per open status on (status, deadline_at), merged: with IN (...) the
        # planners walk the whole deadline index of a million rows in order instead.
        rows = []
        for status in RUNNING_STATUSES:
            rows.extend(session.execute(
                select(*list_cols, Dossier.id).where(Dossier.status == status, *conds, *scope)
                .order_by(Dossier.deadline_at, Dossier.id).limit(list_limit)
            ).all())
        rows.sort(key=lambda r: (r.deadline_at, r.id))
        return rows[:list_limit]

    overdue_list = most_urgent(is_overdue)
    due_soon_list = most_urgent(is_due_soon)

    return Dashboard(
        now=now, period_start=start, period_end=end, due_soon_until=due_soon_until,
        by_unit=sorted(by_unit.values(), key=lambda r: r.label),
        by_field=sorted(by_field.values(), key=lambda r: r.label),
        total=total, months=month_rows,
        overdue_list=[_list_item(r, units) for r in overdue_list],
        due_soon_list=[_list_item(r, units) for r in due_soon_list],
    )


def _list_item(row, units) -> dict:
    return {"code": row.code, "applicant_name": row.applicant_name, "field": row.field,
            "unit": units.get(row.unit_id, ""), "deadline_at": row.deadline_at, "status": row.status,
            "extended": row.extended}


# -- server-side SVG charts -----------------------------------------------------------------------


def _rate_color(rate: float | None) -> str:
    if rate is None:
        return "#98a2b3"
    if rate >= 95:
        return "#12b76a"
    if rate >= 80:
        return "#f79009"
    return "#d92d20"


def _wrap(label: str, width: int) -> list[str]:
    """A label in lines of at most ``width`` characters, cut between words (never dropped)."""
    lines: list[str] = []
    for word in label.split():
        while len(word) > width:  # one very long word: split it rather than overflow
            lines.append(word[:width])
            word = word[width:]
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _pct(rate: float | None, decimals: int) -> str:
    """'97,50 %': the Vietnamese format of the pages (tthc.templating.format_percent)."""
    if rate is None:
        return "–"
    return f"{rate:,.{decimals}f}".replace(",", "\x00").replace(".", ",").replace("\x00", ".") + " %"


def hbar_chart(rows: list[Row], title: str) -> Markup:
    """Horizontal bars: on-time rate per row (0–100 %). A long unit name wraps onto several
    lines (the row grows), so no label is ever cut."""
    bar_h, gap, label_w, chart_w, line_h, chars = 22, 8, 230, 360, 14, 34
    wrapped = [_wrap(r.label, chars) for r in rows]
    heights = [max(bar_h, len(lines) * line_h + 8) for lines in wrapped]
    height = sum(h + gap for h in heights) + 30 if rows else bar_h + gap + 30
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {label_w + chart_w + 80} '
             f'{height}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    y = 10
    for r, lines, row_h in zip(rows, wrapped, heights):
        rate = r.on_time_rate
        w = 0 if rate is None else chart_w * rate / 100
        text = _pct(rate, 2)
        bar_y = y + (row_h - bar_h) / 2
        first = y + (row_h - len(lines) * line_h) / 2 + 11
        tspans = "".join(f'<tspan x="{label_w - 6}" y="{first + i * line_h:.1f}">{escape(line)}</tspan>'
                         for i, line in enumerate(lines))
        parts.append(f'<text text-anchor="end" font-size="12">{tspans}</text>')
        parts.append(f'<rect x="{label_w}" y="{bar_y:.1f}" width="{chart_w}" height="{bar_h}" fill="#eef2f6"/>')
        parts.append(f'<rect x="{label_w}" y="{bar_y:.1f}" width="{w:.1f}" height="{bar_h}" fill="{_rate_color(rate)}">'
                     f'<title>{escape(r.label)}: {text} ({r.finished} hồ sơ)</title></rect>')
        parts.append(f'<text x="{label_w + chart_w + 6}" y="{bar_y + 16:.1f}" font-size="12">{text}</text>')
        y += row_h + gap
    parts.append("</svg>")
    return Markup("".join(parts))


def vbar_chart(rows: list[Row], title: str) -> Markup:
    """Vertical bars: on-time rate per reporting period."""
    bar_w, gap, chart_h, top, left = 34, 12, 160, 20, 36
    width = left + len(rows) * (bar_w + gap) + 10
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {chart_h + top + 40}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for pct in (0, 50, 100):
        y = top + chart_h - chart_h * pct / 100
        parts.append(f'<line x1="{left}" x2="{width}" y1="{y}" y2="{y}" stroke="#d0d5dd" stroke-width="1"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4}" text-anchor="end" font-size="10">{pct} %</text>')
    for i, r in enumerate(rows):
        x = left + 6 + i * (bar_w + gap)
        rate = r.on_time_rate
        h = 0 if rate is None else chart_h * rate / 100
        text = _pct(rate, 1)
        parts.append(f'<rect x="{x}" y="{top + chart_h - h:.1f}" width="{bar_w}" height="{h:.1f}" '
                     f'fill="{_rate_color(rate)}"><title>{escape(r.label)}: {text} ({r.finished} hồ sơ)</title></rect>')
        parts.append(f'<text x="{x + bar_w / 2}" y="{top + chart_h - h - 4:.1f}" text-anchor="middle" '
                     f'font-size="9">{text}</text>')
        parts.append(f'<text x="{x + bar_w / 2}" y="{top + chart_h + 14}" text-anchor="middle" font-size="10">'
                     f'{escape(r.label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


# -- views ----------------------------------------------------------------------------------------


def dossier_url(code: str) -> str:
    if "intake.show_dossier" in current_app.view_functions:
        return url_for("intake.show_dossier", code=code)
    return f"/dossiers/{code}"


def _due_soon_until(now: datetime) -> datetime:
    from deadlines.store import calendar_for

    return calendar_for(db.session).add_working_days(now, current_app.config["DUE_SOON_WORKING_DAYS"])


@bp.route("/dashboard")
@roles_required(*DASHBOARD_ROLES)
def show_dashboard():
    return _render_dashboard()


HOME_ALERTS = 10


def show_home():
    """The home page of a supervisor and of a unit head (issue 16): the dashboard, with their unread alerts first."""
    user = current_user._get_current_object()
    stmt = inbox_query(db.session, user, unread_only=True)
    alerts = db.session.execute(stmt.limit(HOME_ALERTS)).all() if stmt is not None else []
    return _render_dashboard(home_alerts=alerts)


def _render_dashboard(home_alerts=None):
    now = clock_now()
    unit_id = None
    if current_user.role == "handler":
        if current_user.unit_id is None:
            abort(403)
        unit_id = current_user.unit_id
    else:
        unit_id = parse_filter_id(request.args.get("unit"))
    data = build_dashboard(db.session, now, due_soon_until=_due_soon_until(now), unit_id=unit_id)
    units = db.session.execute(select(Unit.id, Unit.name).order_by(Unit.name)).all()
    return render_template(
        "watch/dashboard.html", data=data, unit_id=unit_id, units=units,
        unit_chart=hbar_chart([r for r in data.by_unit], "Tỷ lệ giải quyết đúng hạn theo đơn vị"),
        month_chart=vbar_chart(data.months, "Tỷ lệ giải quyết đúng hạn 12 kỳ gần nhất"),
        dossier_url=dossier_url, home_alerts=home_alerts, alert_labels=ALERT_LABELS,
    )


@bp.route("/alerts")
@roles_required(*INBOX_ROLES)
def list_alerts():
    user = current_user._get_current_object()
    unread_only = request.args.get("unread") == "1"
    kind = request.args.get("kind") or None
    if kind not in (None, *ALERT_KINDS, *PLAN_ALERT_KINDS):
        kind = None
    page = parse_page(request.args.get("page"))
    per_page = current_app.config.get("PER_PAGE", 25)
    stmt = inbox_query(db.session, user, unread_only=unread_only, kind=kind)
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all() if stmt is not None else []
    total = count_alerts(db.session, user, unread_only=unread_only, kind=kind)
    return render_template(
        "watch/alerts.html", rows=rows, total=total, page=page, per_page=per_page,
        pages=max(1, -(-total // per_page)), unread_only=unread_only, kind=kind,
        ALERT_KINDS=ALERT_KINDS, PLAN_ALERT_KINDS=PLAN_ALERT_KINDS, dossier_url=dossier_url,
    )


@bp.route("/alerts/ack", methods=["POST"])
@roles_required(*INBOX_ROLES)
def ack_alerts():
    user = current_user._get_current_object()
    if request.form.get("all") == "1":
        n = acknowledge_all(db.session, user, clock_now())
    else:
        ids = [i for i in map(parse_id, request.form.getlist("alert_id")) if i is not None]
        n = acknowledge(db.session, user, ids, clock_now())
    db.session.commit()
    flash(f"Đã xác nhận {n} cảnh báo.", "success")
    back = safe_next(request.form.get("next")) or ""
    if not back.startswith("/alerts"):
        back = url_for("watch.list_alerts")
    return redirect(back)


@api_alerts_bp.route("/alerts")
def api_list_alerts():
    """``GET /api/v1/alerts``: the token user's alerts, newest first (``unread=1`` for the unread only)."""
    user = user_from_bearer()
    if user is None:
        return api_error(401, "Thiếu hoặc sai mã truy cập (Authorization: Bearer ...).")
    raw_page = request.args.get("page", "1")
    raw_per_page = request.args.get("per_page", str(current_app.config.get("PER_PAGE", 25)))
    for name, raw in (("page", raw_page), ("per_page", raw_per_page)):
        if not (raw.strip().isascii() and raw.strip().isdigit()):
            return api_error(400, "page và per_page phải là số nguyên.", field=name)
    page = parse_int(raw_page, 1, MAX_PAGE)
    if page is None:
        return api_error(400, f"page phải từ 1 đến {MAX_PAGE}.", field="page")
    per_page = parse_int(raw_per_page, 1, MAX_PER_PAGE)
    if per_page is None:
        return api_error(400, f"per_page phải từ 1 đến {MAX_PER_PAGE}.", field="per_page")
    kind = request.args.get("kind") or None
    if kind is not None and kind not in (*ALERT_KINDS, *PLAN_ALERT_KINDS):
        return api_error(422, f"kind phải là một trong: {', '.join((*ALERT_KINDS, *PLAN_ALERT_KINDS))}.",
                         field="kind")
    unread_only = request.args.get("unread") in ("1", "true")
    stmt = inbox_query(db.session, user, unread_only=unread_only, kind=kind)
    if stmt is None:
        return api_error(403, "Tài khoản này không có hộp cảnh báo.")
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    total = count_alerts(db.session, user, unread_only=unread_only, kind=kind)
    items = [{"id": r.Alert.id, "dossier_code": r.code, "kind": r.Alert.kind,
              "created_at": to_iso(r.Alert.created_at), "acknowledged": bool(r.acknowledged)} for r in rows]
    for item, r in zip(items, rows):
        if r.Alert.plan_period_id is not None:  # a reminder about an action plan's period (issue 17)
            item["plan_period"] = {"id": r.Alert.plan_period_id, "plan": r.plan_number, "task": r.task_number,
                                   "period": r.period_label, "due_date": r.period_due_date.isoformat()}
    return {"items": items, "total": total, "page": page, "per_page": per_page}


# -- header badge ---------------------------------------------------------------------------------


def unread_alert_count() -> int:
    """Unread alerts of the logged-in user (0 when anonymous), exact up to UNREAD_CAP, UNREAD_CAP + 1
    beyond; computed once per request."""
    if not current_user.is_authenticated:
        return 0
    if "unread_alert_count" not in g:
        g.unread_alert_count = unread_count(db.session, current_user._get_current_object())
    return g.unread_alert_count


def unread_alert_label() -> str:
    """The unread count as the badge shows it: ``12``, ``1.000``, or ``hơn 1.000`` beyond the cap."""
    n = unread_alert_count()
    return f"hơn {format_number(alerts.UNREAD_CAP)}" if n > alerts.UNREAD_CAP else format_number(n)


def init_app(app) -> None:
    """Jinja globals for base.html: ``unread_alert_count()``, ``unread_alert_label()``, the alert labels."""
    app.jinja_env.globals.update(unread_alert_count=unread_alert_count, unread_alert_label=unread_alert_label,
                                 ALERT_LABELS={**ALERT_LABELS, **PLAN_ALERT_LABELS})


__all__ = ["bp", "api_alerts_bp", "init_app", "build_dashboard", "period_for"]
