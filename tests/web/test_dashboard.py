"""Dashboard, alerts inbox and GET /api/v1/alerts (issue 5): numbers checked against an independent count."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from deadlines.scan import run_scan
from deadlines.store import calendar_for
from tests.factories import make_dossier, make_procedure, make_unit, make_user
from tests.helpers import csrf_token
from tthc.auth import hash_token
from tthc.extensions import db
from tthc.models import ApiToken, Dossier, Unit, User

NOW = datetime(2026, 3, 20, 10, 0)  # a Friday; the reporting period is 15/03–14/04/2026
FIELDS = ("Sở hữu trí tuệ", "An toàn bức xạ và hạt nhân")


class _Plain:
    """A plain copy of a row's columns (the HTTP tests must not hold a session open: SQLite locks)."""

    def __init__(self, obj, names):
        for name in names:
            setattr(self, name, getattr(obj, name))


@pytest.fixture
def dash(app, monkeypatch):
    monkeypatch.setattr("deadlines.dashboard.clock_now", lambda: NOW)
    with app.app_context():
        data = _build(db.session)
        db.session.remove()
    return data


R1 = {"limit_unit": "working_days", "limit_amount": 1, "supplement_rule": "restart"}
R2 = {"limit_unit": "working_days", "limit_amount": 2, "supplement_rule": "restart"}
R10 = {"limit_unit": "working_days", "limit_amount": 10, "supplement_rule": "restart"}
MON_16 = datetime(2026, 3, 16, 8, 0)


def _specs(k: int) -> list[dict]:
    """Dossiers with real events (tests.factories.make_dossier, through the one writer)."""
    fwd = ("forwarded", MON_16 + timedelta(hours=1))
    specs = [
        # in progress, past its 1-working-day deadline (17/03 08:00+k): overdue, live and in the period's table
        dict(rule=R1, received_at=MON_16 + timedelta(minutes=k), events=[fwd]),
        # received, not forwarded, due Monday 23/03 10:00: due soon (and within time)
        dict(rule=R2, received_at=datetime(2026, 3, 19, 10, 0)),
        # awaiting the applicant's supplement: within time
        dict(rule=R10, received_at=datetime(2026, 3, 18, 8, 0), events=[
            ("forwarded", datetime(2026, 3, 18, 9, 0)),
            ("supplement_requested", datetime(2026, 3, 19, 8, 0), {"documents_to_add": ["Bản sao"]})]),
        # finished early, on time (then handed over), late
        dict(rule=R10, received_at=MON_16, events=[fwd, ("finished", datetime(2026, 3, 18, 9, 0))]),
        dict(rule=R1, received_at=datetime(2026, 3, 19, 8, 0), events=[
            ("forwarded", datetime(2026, 3, 19, 9, 0)), ("finished", datetime(2026, 3, 20, 7, 30)),
            ("handed_over", datetime(2026, 3, 20, 9, 0))]),
        dict(rule=R1, received_at=MON_16, events=[fwd, ("finished", datetime(2026, 3, 18, 9, 0))]),
        # finished late before the Decree 09 period (10/03), inside the calendar month
        dict(rule=R1, received_at=datetime(2026, 3, 2, 8, 0), events=[
            ("forwarded", datetime(2026, 3, 2, 9, 0)), ("finished", datetime(2026, 3, 10, 9, 0))]),
        # withdrawn (returned/withdrawn/stopped column of the report) and cancelled (out of statistics)
        dict(rule=R1, received_at=MON_16, events=[("withdrawn", MON_16 + timedelta(hours=2), {"note": "Rút"})]),
        dict(rule=R1, received_at=MON_16, events=[("cancelled", MON_16 + timedelta(hours=2), {"note": "Nhầm"})]),
    ]
    if k == 3:
        specs += [
            # Extended after its original deadline (17/03 08:00) to 30/03: the action lists and badges
            # watch the new appointment (not overdue); the period's table, like the monthly report,
            # counts it overdue against the original deadline (domain.md §4.6, §8; issue 10, defect 3).
            dict(rule=R1, received_at=MON_16, events=[fwd, ("extended", datetime(2026, 3, 17, 10, 0),
                                                             {"new_deadline": datetime(2026, 3, 30, 17, 0),
                                                              "late_apology": True})]),
            # Extended, finished after the original deadline but before the new one: late.
            dict(rule=R1, received_at=MON_16, events=[fwd, ("extended", datetime(2026, 3, 16, 15, 0),
                                                             {"new_deadline": datetime(2026, 3, 25, 17, 0)}),
                                                       ("finished", datetime(2026, 3, 19, 9, 0))]),
        ]
    return specs


def _build(s):
    cal = calendar_for(s)
    units = [make_unit(s, name="Phòng Quản lý chuyên ngành"), make_unit(s, name="Chi cục Tiêu chuẩn")]
    proc = make_procedure(s)
    dossiers = []
    for ui, unit in enumerate(units):
        for fi, fld in enumerate(FIELDS):
            for spec in _specs(ui * 2 + fi):
                dossiers.append(make_dossier(s, proc, unit=unit, field=fld, cal=cal, **spec))
    s.commit()
    cols = ("id", "code", "status", "unit_id", "deadline_at", "finished_at", "classification", "received_at",
            "closed_at", "original_deadline_at")
    return {"units": [_Plain(u, ("id", "name")) for u in units], "dossiers": [_Plain(d, cols) for d in dossiers],
            "cal": cal}


DECREE_09_PERIOD = (datetime(2026, 3, 15), datetime(2026, 4, 15))  # 15/03–14/04/2026 (Decree 09/2019)
CALENDAR_PERIOD = (datetime(2026, 3, 1), datetime(2026, 4, 1))  # March 2026


def expected_counts(app, cal, unit_id=None, period=DECREE_09_PERIOD):
    """An independent count in plain Python over every dossier row."""
    with app.app_context():
        return _expected(db.session, cal, unit_id, period)


def _expected(session, cal, unit_id, period=DECREE_09_PERIOD):
    """The monthly report's rules (domain.md §7, §8), measured now (the period is running); "due
    soon" is the live watch on the current deadline, beside them."""
    soon_until = cal.add_working_days(NOW, 2)
    start, end = period
    measured = min(end, NOW)
    out = {}
    for d in session.scalars(select(Dossier)):
        if unit_id is not None and d.unit_id != unit_id:
            continue
        if d.status == "cancelled" or d.received_at >= end:
            continue
        ended = d.finished_at or d.closed_at
        if ended is not None and ended < start:
            continue
        row = out.setdefault(d.unit_id, dict(within_time=0, due_soon=0, overdue=0, early=0, on_time=0, late=0))
        if d.status in ("received", "in_progress") and NOW <= d.deadline_at <= soon_until:
            row["due_soon"] += 1
        if d.finished_at is not None and start <= d.finished_at < end:
            row[d.classification] += 1
        elif d.finished_at is None and d.closed_at is not None and start <= d.closed_at < end:
            pass  # returned / withdrawn / stopped: not a column of the dashboard's table
        elif d.original_deadline_at < measured and d.status != "awaiting_supplement":
            row["overdue"] += 1
        else:
            row["within_time"] += 1
    return out


def page_counts(html: str, table_id: str) -> dict[str, dict[str, int]]:
    table = re.search(rf'<table class="data" id="{table_id}">(.*?)</table>', html, re.S).group(1)
    rows = {}
    for key, body in re.findall(r'<tr[^>]*data-key="([^"]*)">(.*?)</tr>', table, re.S):
        rows[key] = {col: int(v) for col, v in re.findall(r'data-col="(\w+)">(\d+)<', body)}
    return rows


def test_dashboard_numbers_equal_an_independent_count(app, client, auth, dash):
    auth.login("supervisor")
    resp = client.get("/dashboard")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    expected = expected_counts(app, dash["cal"])
    shown = page_counts(html, "by-unit")
    for unit in dash["units"]:
        assert shown[str(unit.id)] == expected[unit.id]
    total = {k: sum(r[k] for r in expected.values()) for k in next(iter(expected.values()))}
    assert shown["total"] == total
    # The extended dossier in progress is overdue against its original deadline, as in the monthly report;
    # the extended one finished after its original deadline is late (defect 3 of issue 10).
    assert total["overdue"] == 5 and total["late"] == 5 and total["due_soon"] == 4
    by_field = page_counts(html, "by-field")
    assert sum(r["overdue"] for k, r in by_field.items() if k != "total") == total["overdue"]
    assert "<svg" in html and "Tỷ lệ giải quyết đúng hạn" in html


@pytest.mark.parametrize("by", ["unit", "field"])
def test_the_dashboard_table_and_the_monthly_report_come_from_the_same_function(app, dash, by):
    """Defect 3 of issue 10: the dashboard counted an extended dossier within time, the report overdue."""
    from deadlines.dashboard import build_dashboard, period_for
    from tthc.reports.queries import summary_rows

    with app.app_context():
        data = build_dashboard(db.session, NOW, due_soon_until=dash["cal"].add_working_days(NOW, 2),
                               scheme="decree09")
        report = summary_rows(db.session, period_for(NOW.date(), "decree09"), by=by, now=NOW)
    shown = data.by_unit if by == "unit" else data.by_field
    names = ("within_time", "overdue", "early", "on_time", "late")
    assert {r.key: tuple(getattr(r, n) for n in names) for r in shown} == {
        r.key: (r.within, r.overdue, r.early, r.on_time, r.late) for r in report}
    assert sum(r.overdue for r in report) == 5


def test_overdue_list_is_most_urgent_first_and_links_to_the_dossier(client, auth, dash):
    auth.login("supervisor")
    html = client.get("/dashboard").get_data(as_text=True)
    listing = re.search(r'id="overdue-list">(.*?)</table>', html, re.S).group(1)
    codes = re.findall(r'<a href="/dossiers/([^"]+)">', listing)
    # The action list watches the current deadline: the extended dossier is not in it.
    overdue = sorted((d for d in dash["dossiers"] if d.status in ("in_progress", "received")
                      and d.deadline_at < NOW), key=lambda d: d.deadline_at)
    assert len(overdue) == 4
    assert codes == [d.code for d in overdue]


def test_a_handler_sees_only_their_unit_and_reception_is_refused(app, client, auth, dash):
    unit = dash["units"][0]
    login_handler_of(app, auth, unit.id)
    html = client.get("/dashboard").get_data(as_text=True)
    shown = page_counts(html, "by-unit")
    assert set(shown) == {str(unit.id), "total"}
    assert shown["total"] == expected_counts(app, dash["cal"], unit.id)[unit.id]
    other = [d.code for d in dash["dossiers"] if d.unit_id != unit.id]
    assert not any(code in html for code in other)
    auth.logout()
    auth.login("reception")
    assert client.get("/dashboard").status_code == 403


def login_handler_of(app, auth, unit_id):
    with app.app_context():
        make_user(db.session, role="handler", username="handler-a", unit=db.session.get(Unit, unit_id))
        db.session.commit()
    return auth.login("handler", username="handler-a")


def _scan(app):
    with app.app_context():
        run_scan(db.session, NOW, cal=calendar_for(db.session))
        db.session.commit()


def test_inbox_shows_the_unit_alerts_and_acknowledging_lowers_the_unread_count(app, client, auth, dash):
    _scan(app)
    unit = dash["units"][0]
    login_handler_of(app, auth, unit.id)
    html = client.get("/alerts").get_data(as_text=True)
    unread = int(re.search(r'id="unread-count">(\d+)', html).group(1))
    ids = re.findall(r'name="alert_id" value="(\d+)"', html)
    assert unread == len(ids) > 0
    assert not any(d.code in html for d in dash["dossiers"] if d.unit_id != unit.id)
    token = csrf_token(client, "/alerts")
    resp = client.post("/alerts/ack", data={"csrf_token": token, "alert_id": ids[:2]})
    assert resp.status_code == 302
    html = client.get("/alerts").get_data(as_text=True)
    assert int(re.search(r'id="unread-count">(\d+)', html).group(1)) == unread - 2
    # Without the CSRF token the acknowledgement is refused.
    assert client.post("/alerts/ack", data={"alert_id": ids[2]}).status_code == 400


def test_the_unread_badge_counts_up_to_its_cap_and_says_more_beyond(app, client, auth, dash, monkeypatch):
    """Every page shows the badge, so it never counts a province's hundred thousand alerts (issue 13)."""
    from deadlines import alerts
    from tthc.models import Unit

    _scan(app)
    with app.app_context():
        sup = make_user(db.session, role="supervisor", username="badge-sup")
        db.session.commit()
        total = alerts.count_alerts(db.session, sup, unread_only=True)
        assert total > 3
        assert alerts.count_alerts(db.session, sup, unread_only=True, cap=total) == total
        assert alerts.count_alerts(db.session, sup, unread_only=True, cap=2) == 3
        unit = dash["units"][0]
        handler = make_user(db.session, role="handler", username="badge-handler", unit=db.session.get(Unit, unit.id))
        db.session.commit()
        handler_total = alerts.count_alerts(db.session, handler, unread_only=True)
        assert 0 < handler_total < total
        assert alerts.count_alerts(db.session, handler, unread_only=True, cap=1) == 2
    auth.login("supervisor", username="badge-sup")
    html = client.get("/alerts").get_data(as_text=True)
    assert f'id="unread-count">{total} chưa xem' in html
    monkeypatch.setattr(alerts, "UNREAD_CAP", 2)
    html = client.get("/alerts").get_data(as_text=True)
    assert 'id="unread-count">hơn 2 chưa xem' in html
    assert 'title="Cảnh báo chưa xem">hơn 2 cảnh báo</a>' in html  # the header's badge
    assert f"({total} cảnh báo)" in html  # the inbox's pager still counts them all


def test_api_lists_the_token_users_alerts(app, client, dash):
    _scan(app)
    with app.app_context():
        sup = make_user(db.session, role="supervisor", username="api-sup")
        db.session.add(ApiToken(user_id=sup.id, token_hash=hash_token("secret-token"), name="t"))
        db.session.commit()
        sup_id = sup.id
    assert client.get("/api/v1/alerts").status_code == 401
    assert client.get("/api/v1/alerts", headers={"Authorization": "Bearer nope"}).json["error"]["code"] == "unauthorized"
    headers = {"Authorization": "Bearer secret-token"}
    body = client.get("/api/v1/alerts?per_page=5", headers=headers).json
    assert body["page"] == 1 and body["per_page"] == 5 and len(body["items"]) == 5
    assert body["total"] > 5
    item = body["items"][0]
    assert set(item) >= {"dossier_code", "kind", "created_at", "acknowledged"}
    assert item["created_at"] == "2026-03-20T10:00:00+07:00" and item["acknowledged"] is False
    assert client.get("/api/v1/alerts?per_page=500", headers=headers).status_code == 400
    assert client.get("/api/v1/alerts?kind=bogus", headers=headers).status_code == 422
    # Acknowledged through the inbox → acknowledged in the API.
    from deadlines.alerts import acknowledge
    with app.app_context():
        acknowledge(db.session, db.session.get(User, sup_id), [item["id"]], NOW)
        db.session.commit()
    again = client.get("/api/v1/alerts?per_page=5", headers=headers).json
    assert next(i for i in again["items"] if i["id"] == item["id"])["acknowledged"] is True


def test_the_dashboard_follows_the_configured_calendar_month_scheme(app, client, auth, dash):
    """REPORT_PERIOD_SCHEME = "calendar": the period is the calendar month, as in the reports."""
    default = client.application.config["REPORT_PERIOD_SCHEME"]
    assert default == "decree09"
    auth.login("supervisor")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Kỳ báo cáo 15/03/2026 – 14/04/2026" in html
    decree_total = page_counts(html, "by-unit")["total"]

    app.config["REPORT_PERIOD_SCHEME"] = "calendar"
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Kỳ báo cáo 01/03/2026 – 31/03/2026" in html
    shown = page_counts(html, "by-unit")
    expected = expected_counts(app, dash["cal"], period=CALENDAR_PERIOD)
    for unit in dash["units"]:
        assert shown[str(unit.id)] == expected[unit.id]
    # The four dossiers finished late on 10/03 are in March, not in the Decree 09 period 15/03–14/04.
    assert shown["total"]["late"] == decree_total["late"] + 4
    assert shown["total"]["overdue"] == decree_total["overdue"]  # live, whatever the period
    # The 12-period chart is calendar months too: the last bar is 03/2026, not 04/2026.
    chart = re.search(r'aria-label="Tỷ lệ giải quyết đúng hạn 12 kỳ gần nhất".*?</svg>', html, re.S).group(0)
    assert "03/2026" in chart and "04/2026" not in chart and "04/2025" in chart


def test_period_for_uses_the_reports_periods_under_both_schemes():
    from datetime import date

    from deadlines.dashboard import period_for, period_label, previous_periods
    from tthc.reports import periods

    p = period_for(date(2026, 3, 20))
    assert (p.first_day, p.last_day, period_label(p)) == (date(2026, 3, 15), date(2026, 4, 14), "04/2026")
    assert p == periods.parse_period("2026-04", "decree09")
    assert period_for(date(2026, 3, 14)) == periods.parse_period("2026-03", "decree09")
    assert period_for(date(2026, 12, 15)) == periods.parse_period("2027-01", "decree09")
    c = period_for(date(2026, 3, 20), "calendar")
    assert (c.first_day, c.last_day, period_label(c)) == (date(2026, 3, 1), date(2026, 3, 31), "03/2026")
    assert period_for(date(2026, 12, 31), "calendar") == periods.parse_period("2026-12", "calendar")
    labels = [period_label(x) for x in previous_periods(date(2026, 1, 5), 3, "calendar")]
    assert labels == ["11/2025", "12/2025", "01/2026"]
