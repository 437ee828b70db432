"""The Excel reports against an independent count (domain.md §5 form 06, §7, §8; issue 6).

Each workbook is read back with openpyxl and every number compared with a count
made in plain Python over the fixture dossiers (tests/reports_fixtures.py): carried
over, each channel, early, on time, late, overdue in progress, extended, withdrawn,
returned, refused after appraisal, cancelled, awaiting a supplement, and the period
2026-03 (15/02–14/03/2026) that crosses Tết (16–20/02/2026).
"""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from deadlines.due_dates import working_days_late
from deadlines.store import calendar_for
from tests import reports_fixtures as rf
from tests.factories import make_procedure, make_unit
from tthc.extensions import db
from tthc.models import AuditLog, Dossier
from tthc.reports import exports, periods, queries
from tthc.reports.workbook import FONT_NAME, NATIONAL_MOTTO, NATIONAL_NAME

PERIOD = periods.parse_month("2026-03")
FIRST_DATA_ROW = 12  # rows 8–10 the table head, 11 the column numbers
COLUMNS = ("received", "carried", "online", "direct", "postal", "finished", "early", "on_time", "late",
           "in_progress", "within", "overdue", "returned", "rate")


@pytest.fixture
def dataset(app):
    with app.app_context():
        ds = rf.build(db.session)
        db.session.commit()
        rf.detach(db.session, ds)
    return ds


@pytest.fixture
def fixed_now(monkeypatch):
    """The CLI and the page read the wall clock; the tests pin it (never depend on the real date)."""
    from tthc.reports import cli, views

    monkeypatch.setattr(cli, "now", lambda: rf.NOW)
    monkeypatch.setattr(views, "now", lambda: rf.NOW)
    return rf.NOW


def read_summary(data_or_path) -> tuple[dict, dict]:
    """{label: {column: value}} for the rows, and the total row, read back from the workbook."""
    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path
    ws = load_workbook(source)["Báo cáo"]
    rows, total = {}, None
    r = FIRST_DATA_ROW
    while True:
        label = ws.cell(r, 2).value
        values = {name: ws.cell(r, 3 + i).value for i, name in enumerate(COLUMNS)}
        if label == "Tổng cộng":
            total = values
            break
        assert label, f"row {r} has no label before the total row"
        assert ws.cell(r, 1).value == r - FIRST_DATA_ROW + 1  # STT
        rows[label] = values
        r += 1
    return rows, total


def expected_rows(dossiers, key, label) -> tuple[dict, dict]:
    counts = rf.expected_counts(dossiers, PERIOD.start, PERIOD.end, key)
    rows = {label(k): rf.derived(v) for k, v in counts.items()}
    total = rf.derived({c: sum(v[c] for v in counts.values()) for c in rf.COUNTS})
    return rows, total


def assert_identities(values: dict) -> None:
    assert values["received"] == values["carried"] + values["online"] + values["direct"] + values["postal"]
    assert values["finished"] == values["early"] + values["on_time"] + values["late"]
    assert values["in_progress"] == values["within"] + values["overdue"]
    assert values["received"] == values["finished"] + values["in_progress"] + values["returned"]


def build_summary(by="field", unit=None) -> bytes:
    data, _ = exports.build_summary(db.session, PERIOD, by, unit, rf.NOW)
    return data


def _label_for(ds, by):
    if by == "field":
        return (lambda d: d.field), (lambda k: k)
    if by == "procedure":
        by_id = {p.id: p for p in ds.procedures.values()}
        return (lambda d: d.procedure_id), (lambda k: f"{by_id[k].name} ({by_id[k].national_code})")
    by_id = {u.id: u for u in ds.units.values()}
    return (lambda d: d.unit_id), (lambda k: by_id[k].name)


# -- the summary report -------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["field", "procedure", "unit"])
def test_every_number_of_the_summary_matches_an_independent_count(app, dataset, by):
    with app.app_context():
        got_rows, got_total = read_summary(build_summary(by))
    key, label = _label_for(dataset, by)
    want_rows, want_total = expected_rows(dataset.dossiers.values(), key, label)
    assert set(got_rows) == set(want_rows)
    for name, want in want_rows.items():
        assert got_rows[name] == {c: want[c] for c in COLUMNS}, name
        assert_identities(got_rows[name])
    assert got_total == {c: want_total[c] for c in COLUMNS}
    assert_identities(got_total)


def test_the_total_row_has_the_figures_worked_out_by_hand(app, dataset):
    """Worked out from the list in reports_fixtures.build, independently of any code."""
    with app.app_context():
        rows, total = read_summary(build_summary())
    assert total == {"received": 15, "carried": 4, "online": 4, "direct": 6, "postal": 1, "finished": 6, "early": 3,
                     "on_time": 1, "late": 2, "in_progress": 6, "within": 3, "overdue": 3, "returned": 3,
                     "rate": 0.6667}
    assert rows[rf.F2] == {"received": 2, "carried": 1, "online": 1, "direct": 0, "postal": 0, "finished": 1,
                           "early": 1, "on_time": 0, "late": 0, "in_progress": 1, "within": 1, "overdue": 0,
                           "returned": 0, "rate": 1.0}


def test_the_on_time_rate_is_computed_from_the_totals_not_averaged(app, dataset):
    with app.app_context():
        rows, total = read_summary(build_summary())
    average = sum(r["rate"] for r in rows.values()) / len(rows)
    assert total["rate"] == round((total["early"] + total["on_time"]) / total["finished"], 4)
    assert total["rate"] != round(average, 4)


def test_a_deadline_running_across_tet_skips_the_holiday_week(app, dataset):
    d = dataset.dossiers["carried-finished"]
    # 5 working days from Tue 10/02/2026 09:00, Tết 16–20/02 off: Tue 24/02 09:00, finished 23/02: early.
    assert d.original_deadline_at == datetime(2026, 2, 24, 9, 0)
    assert d.classification == "early"


def test_an_extended_dossier_finished_after_its_original_deadline_is_late(app, dataset):
    d = dataset.dossiers["extended-late"]
    assert d.deadline_at > d.finished_at > d.original_deadline_at
    with app.app_context():
        rows = {r.label: r for r in queries.summary_rows(db.session, PERIOD)}
    assert rows[rf.F1].late == 2  # postal-late and extended-late


def test_a_period_without_finished_dossiers_leaves_the_rate_blank(app, dataset):
    with app.app_context():
        data, _ = exports.build_summary(db.session, periods.parse_range("2026-01-15", "2026-02-09"), "field", None,
                                       rf.NOW)
        rows, total = read_summary(data)
    assert total["received"] == 1 and total["finished"] == 0 and total["rate"] is None
    assert rows[rf.F1]["rate"] is None
    assert_identities(total)


def test_the_summary_filtered_by_unit_counts_only_that_units_dossiers(app, dataset):
    u2 = dataset.units["u2"]
    with app.app_context():
        rows, total = read_summary(build_summary("field", db.session.get(type(u2), u2.id)))
    want_rows, want_total = expected_rows([d for d in dataset.dossiers.values() if d.unit_id == u2.id],
                                          lambda d: d.field, lambda k: k)
    assert rows == {k: {c: v[c] for c in COLUMNS} for k, v in want_rows.items()}
    assert total == {c: want_total[c] for c in COLUMNS}


def test_the_summary_workbook_has_the_official_header_and_print_setup(app, dataset):
    with app.app_context():
        wb = load_workbook(io.BytesIO(build_summary()))
        agency, parent = app.config["AGENCY_NAME"], app.config["PARENT_AGENCY"]
    ws = wb["Báo cáo"]
    assert ws["A1"].value == parent.upper() and ws["A2"].value == agency.upper()
    assert ws["H1"].value == NATIONAL_NAME and ws["H2"].value == NATIONAL_MOTTO
    assert ws["A3"].value.startswith("Số:")
    assert "ngày" in ws["H3"].value and "năm 2026" in ws["H3"].value
    assert "15/02/2026" in ws["A6"].value and "14/03/2026" in ws["A6"].value
    merged = {str(m) for m in ws.merged_cells.ranges}
    assert {"A1:E1", "H1:P1", "A2:E2", "H2:P2", "A5:P5", "C8:G8", "E9:G9"} <= merged
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0
    assert ws.freeze_panes == "C12"
    assert ws.print_title_rows == "$8:$11"
    fonts = {ws.cell(r, c).font.name for r in range(1, 16) for c in range(1, 17) if ws.cell(r, c).value is not None}
    assert fonts == {FONT_NAME}
    assert ws.cell(FIRST_DATA_ROW, 16).number_format == "0.00%"
    assert ws.column_dimensions["B"].width > ws.column_dimensions["C"].width
    values = [ws.cell(r, c).value for r in range(1, ws.max_row + 1) for c in range(1, 17)]
    assert "GIÁM ĐỐC" in values and "NGƯỜI LẬP BIỂU" in values and "Nơi nhận:" in values
    chart_sheet = wb["Biểu đồ"]
    assert len(chart_sheet._charts) == 1
    assert chart_sheet._charts[0].tagname == "barChart"
    assert [chart_sheet.cell(r, 1).value for r in (2, 3, 4)] == [rf.F1, rf.F2, "Tổng cộng"]
    assert chart_sheet["B2"].value == 0.6 and chart_sheet["B2"].number_format == "0.00%"


def test_the_summary_identity_holds_on_every_row_for_every_grouping_over_months(app, dataset):
    with app.app_context():
        for text in ("2026-01", "2026-02", "2026-03", "2026-04", "2026-Q1", "2026-H1", "2026"):
            period = periods.parse_period(text)
            for by in queries.DIMENSIONS:
                rows = queries.summary_rows(db.session, period, by=by)
                for row in rows + [queries.total_row(rows)]:
                    row.check()


# -- the register (form 06) ---------------------------------------------------------------------------


def shown(cell):
    """A cell as printed: a datetime must carry the receipt's format and reads hh:mm dd/mm/yyyy."""
    if isinstance(cell.value, datetime):
        assert cell.number_format == "hh:mm dd/mm/yyyy", cell.coordinate
        return cell.value.strftime("%H:%M %d/%m/%Y")
    return cell.value


def read_register(data: bytes):
    ws = load_workbook(io.BytesIO(data))["Sổ theo dõi hồ sơ"]
    head = next(r for r in range(1, 20) if ws.cell(r, 1).value == "Số TT")
    rows = [[shown(c) for c in row] for row in ws.iter_rows(min_row=head + 2)]
    return ws, head, rows


def test_the_register_lists_every_dossier_received_in_the_range_with_form_06_columns(app, dataset):
    with app.app_context():
        data = exports.build_register(db.session, PERIOD, None, rf.NOW, mask_personal=False)
    ws, head, rows = read_register(data)
    want = sorted((d for d in dataset.dossiers.values() if PERIOD.contains(d.received_at)),
                  key=lambda d: (d.received_at, d.id))
    assert [r[1] for r in rows] == [d.code for d in want]
    assert [ws.cell(head, c).value for c in range(1, 15)] == list(queries.REGISTER_HEADERS)
    by_code = {r[1]: r for r in rows}
    d = dataset.dossiers["f2-early"]
    row = by_code[d.code]
    assert row[0] == d.register_number and row[2] == d.procedure.name and row[3] == 1
    assert row[6] == "Phòng Sở hữu trí tuệ"
    assert row[7] == "08:00 27/02/2026" and row[9] == "09:00 27/02/2026"
    assert row[10] == "08:00 05/03/2026" and row[11] == "08:00 06/03/2026"
    assert row[12] is None  # the signature column stays blank
    assert "0912345678" in row[5] and "Lê Lợi" in row[5]
    assert by_code["D14"][13] == "Đã hủy (nhập nhầm)"
    assert "Từ chối" in by_code["D11"][13]
    assert "gia hạn" in by_code["D07"][13]
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.freeze_panes == f"C{head + 2}"
    assert ws["A1"].font.name == FONT_NAME


def test_an_applicant_named_like_a_formula_is_written_as_text_in_the_register(app, dataset):
    with app.app_context():
        data = exports.build_register(db.session, PERIOD, None, rf.NOW, mask_personal=False)
    ws, head, rows = read_register(data)
    r = next(i for i, row in enumerate(rows) if row[1] == "D13") + head + 2
    cell = ws.cell(r, 5)
    assert cell.value == rf.INJECTION
    assert cell.data_type == "s"
    assert cell.quotePrefix


def test_the_register_masks_phones_for_roles_that_do_not_need_them(app, dataset):
    with app.app_context():
        data = exports.build_register(db.session, PERIOD, None, rf.NOW, mask_personal=True)
    _, _, rows = read_register(data)
    contact = next(r[5] for r in rows if r[1] == "D13")
    assert "0987654321" not in contact and contact.endswith("*******321")


def test_the_register_for_a_unit_lists_only_its_dossiers(app, dataset):
    u2 = dataset.units["u2"]
    with app.app_context():
        unit = exports.find_unit(db.session, u2.id)
        data = exports.build_register(db.session, PERIOD, unit, rf.NOW, mask_personal=False)
    _, _, rows = read_register(data)
    assert sorted(r[1] for r in rows) == sorted(d.code for d in dataset.dossiers.values()
                                                if PERIOD.contains(d.received_at) and d.unit_id == u2.id)


# -- the late and overdue list ------------------------------------------------------------------------


def read_late(data: bytes):
    ws = load_workbook(io.BytesIO(data))["Hồ sơ quá hạn"]
    head = next(r for r in range(1, 20) if ws.cell(r, 1).value == "STT")
    return ws, [[shown(c) for c in row] for row in ws.iter_rows(min_row=head + 2)]


def test_the_late_list_has_the_finished_late_then_the_overdue_with_days_apology_and_reason(app, dataset):
    with app.app_context():
        data = exports.build_late(db.session, PERIOD, None, rf.NOW)
        cal = calendar_for(db.session)
    _, rows = read_late(data)
    D = dataset.dossiers
    finished_late = [d for d in D.values() if d.status != "cancelled" and PERIOD.contains(d.finished_at)
                     and d.classification == "late"]
    overdue = [d for d in rf.expected_dossiers_overdue(D.values(), PERIOD.start, PERIOD.end)]
    assert {r[1] for r in rows if r[8] == "Đã giải quyết, quá hạn"} == {d.code for d in finished_late} == {"D06", "D07"}
    assert {r[1] for r in rows if r[8] == "Đang giải quyết, quá hạn"} == {d.code for d in overdue} == {"D02", "D08", "D16"}
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    by_code = {r[1]: r for r in rows}
    for d in finished_late:
        assert by_code[d.code][9] == working_days_late(cal, d.original_deadline_at, d.finished_at)
    for d in overdue:
        assert by_code[d.code][9] == working_days_late(cal, d.original_deadline_at, PERIOD.end)
    assert by_code["D06"][9] == 2.0  # Wed 04/03 08:00 -> Fri 06/03 08:00
    assert by_code["D07"][10] == "Có" and by_code["D07"][11] == "Chờ ý kiến của Sở Tài chính"
    assert by_code["D07"][6] == "08:00 10/03/2026" and by_code["D07"][5] == "08:00 03/03/2026"
    assert by_code["D08"][10] == "Có" and by_code["D08"][11] == "Cần thẩm định thực tế tại cơ sở"
    assert by_code["D02"][10] == "Không" and by_code["D02"][11] is None and by_code["D02"][6] is None
    assert by_code["D16"][7] is None  # finished after the period: overdue at its end, no finish date shown


# -- the command line ---------------------------------------------------------------------------------


def test_flask_reports_monthly_writes_the_report_and_logs_the_export(app, dataset, runner, tmp_path, fixed_now):
    out = tmp_path / "monthly.xlsx"
    result = runner.invoke(args=["reports", "monthly", "--period", "2026-03", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows, total = read_summary(str(out))
    _, want_total = expected_rows(dataset.dossiers.values(), lambda d: d.field, lambda k: k)
    assert total == {c: want_total[c] for c in COLUMNS}
    with app.app_context():
        log = db.session.scalars(select(AuditLog).where(AuditLog.action == "export")).all()
    assert [(e.entity, e.entity_id, e.after["from"], e.after["to"]) for e in log] == [
        ("report", "summary", "2026-02-15", "2026-03-14")]


def test_flask_reports_monthly_by_unit_and_for_one_unit(app, dataset, runner, tmp_path, fixed_now):
    u1 = dataset.units["u1"]
    out = tmp_path / "by-unit.xlsx"
    result = runner.invoke(args=["reports", "monthly", "--period", "2026-03", "--by", "unit", "--unit", str(u1.id),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows, _ = read_summary(str(out))
    assert list(rows) == ["Phòng Quản lý khoa học"]


def test_flask_reports_summary_takes_any_range(app, dataset, runner, tmp_path, fixed_now):
    out = tmp_path / "year.xlsx"
    result = runner.invoke(args=["reports", "summary", "--from", "2025-12-15", "--to", "2026-12-14", "--by",
                                 "procedure", "--out", str(out)])
    assert result.exit_code == 0, result.output
    _, total = read_summary(str(out))
    year = periods.parse_range("2025-12-15", "2026-12-14")
    # The range runs past "now" (25/03/2026): in progress is measured now (D18, due 02/04, is within time).
    counts = rf.expected_counts(dataset.dossiers.values(), year.start, year.end, lambda d: 0, measured=rf.NOW)[0]
    assert total == {c: rf.derived(counts)[c] for c in COLUMNS}
    assert (total["within"], total["overdue"]) == (2, 4)


def test_flask_reports_register_and_late_write_their_workbooks(app, dataset, runner, tmp_path, fixed_now):
    reg, late = tmp_path / "register.xlsx", tmp_path / "late.xlsx"
    r1 = runner.invoke(args=["reports", "register", "--from", "2026-02-15", "--to", "2026-03-14", "--out", str(reg)])
    r2 = runner.invoke(args=["reports", "late", "--period", "2026-03", "--out", str(late)])
    assert r1.exit_code == 0, r1.output
    assert r2.exit_code == 0, r2.output
    _, _, rows = read_register(reg.read_bytes())
    assert len(rows) == sum(1 for d in dataset.dossiers.values() if PERIOD.contains(d.received_at))
    _, late_rows = read_late(late.read_bytes())
    assert {r[1] for r in late_rows} == {"D02", "D06", "D07", "D08", "D16"}


@pytest.mark.parametrize("args, message", [
    (["monthly", "--period", "2026-13"], "month 13 out of range"),
    (["monthly", "--period", "March"], "malformed period 'March': expected YYYY-MM"),
    (["monthly", "--period", "2026-03", "--unit", "999"], "no unit with id 999"),
    (["monthly", "--period", "2026-03", "--unit", "abc"], "unit must be a unit id"),
    (["summary", "--from", "2026-03-14", "--to", "2026-02-15"], "is before the start date"),
    (["summary", "--from", "2026-02-30", "--to", "2026-03-14"], "malformed start date '2026-02-30'"),
    (["register", "--from", "2026-02-15", "--to", "yesterday"], "malformed end date 'yesterday'"),
    (["late", "--period", "2026"], "malformed period '2026': expected YYYY-MM"),
])
def test_flask_reports_rejects_bad_input_with_a_clear_message(app, runner, tmp_path, args, message):
    out = tmp_path / "x.xlsx"
    result = runner.invoke(args=["reports", *args, "--out", str(out)])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    assert not out.exists()


def test_flask_reports_refuses_an_output_in_a_missing_folder(app, runner, tmp_path):
    result = runner.invoke(args=["reports", "monthly", "--period", "2026-03", "--out",
                                 str(tmp_path / "nope" / "x.xlsx")])
    assert result.exit_code == 1 and "does not exist" in result.output


def test_flask_reports_rejects_an_unknown_grouping(app, runner, tmp_path):
    result = runner.invoke(args=["reports", "monthly", "--period", "2026-03", "--by", "colour", "--out",
                                 str(tmp_path / "x.xlsx")])
    assert result.exit_code != 0 and "colour" in result.output


# -- measured at the period's end, not today (domain.md §8) --------------------------------------------


@pytest.fixture
def changed_after(app):
    with app.app_context():
        ds = rf.build_changed_after_the_end(db.session)
        db.session.commit()
        rf.detach(db.session, ds)
    return ds


def test_in_progress_is_counted_as_it_stood_at_the_end_not_as_it_is_today(app, changed_after):
    D = changed_after.dossiers
    # Today's state is what misled the report: awaiting now, or a restarted deadline after the end.
    assert D["requested-after"].original_deadline_at == datetime(2026, 2, 9, 9, 0)
    assert D["restarted-after"].original_deadline_at > PERIOD.end
    a, b = changed_after.procedures["a"], changed_after.procedures["b"]
    with app.app_context():
        rows = {r.key: r for r in queries.summary_rows(db.session, PERIOD, by="procedure", now=rf.NOW)}
        # a: X01, X02, X05, X06 overdue at the end; b: X03, X04 awaiting a supplement at the end.
        assert (rows[a.id].carried, rows[a.id].within, rows[a.id].overdue, rows[a.id].returned) == (4, 0, 4, 0)
        assert (rows[b.id].carried, rows[b.id].within, rows[b.id].overdue, rows[b.id].returned) == (2, 2, 0, 0)
        for by in ("field", "unit"):
            (row,) = queries.summary_rows(db.session, PERIOD, by=by, now=rf.NOW)
            assert (row.carried, row.within, row.overdue, row.returned) == (6, 2, 4, 0), by
            row.check()
        got, total = read_summary(build_summary("procedure"))
    assert {k: (v["within"], v["overdue"]) for k, v in got.items()} == {
        f"{a.name} ({a.national_code})": (0, 4), f"{b.name} ({b.national_code})": (2, 0)}
    assert total["within"] == 2 and total["overdue"] == 4 and total["in_progress"] == 6
    assert_identities(total)


def test_the_late_list_has_the_dossiers_overdue_at_the_end_with_the_deadline_they_had_then(app, changed_after):
    with app.app_context():
        data = exports.build_late(db.session, PERIOD, None, rf.NOW)
        cal = calendar_for(db.session)
    _, rows = read_late(data)
    by_code = {r[1]: r for r in rows}
    assert set(by_code) == {"X01", "X02", "X05", "X06"}  # not X03 / X04: awaiting a supplement at the end
    assert {r[8] for r in rows} == {"Đang giải quyết, quá hạn"}
    assert by_code["X02"][5] == "09:00 09/02/2026"  # the deadline before the restart of 23/03
    for code in ("X01", "X02", "X05"):
        assert by_code[code][9] == working_days_late(cal, datetime(2026, 2, 9, 9, 0), PERIOD.end)


def test_a_later_period_sees_the_restart_and_the_request(app, changed_after):
    """The correction only concerns what happened after the measuring instant."""
    a, b = changed_after.procedures["a"], changed_after.procedures["b"]
    with app.app_context():
        rows = {r.key: r for r in queries.summary_rows(db.session, periods.parse_month("2026-04"), by="procedure",
                                                        now=datetime(2026, 4, 20))}
    # 2026-04 (15/03–14/04): X01 awaiting, X02 due again 30/03 -> overdue, X05 and X06 overdue;
    # X03 overdue (pause, requested after the deadline), X04 returned in the period.
    assert (rows[a.id].within, rows[a.id].overdue, rows[a.id].returned) == (1, 3, 0)
    assert (rows[b.id].within, rows[b.id].overdue, rows[b.id].returned) == (0, 1, 1)


def test_a_request_at_the_very_end_came_after_it_and_a_close_after_it_leaves_the_dossier_in_progress(app):
    """Two edges of the corrections, which start from what happened at or after the measuring instant:
    a supplement request at the instant itself is after it (overdue then, awaiting now); a dossier
    withdrawn after the end without any request was in progress then (overdue), not withdrawn."""
    with app.app_context():
        bld = rf.Builder(db.session)
        unit = make_unit(db.session, name="Phòng Tiêu chuẩn")
        a = make_procedure(db.session, field=rf.F1, name="Công bố hợp chuẩn", statutory_amount=5, unit_id=unit.id)
        for code in ("E01", "E02", "E03"):
            d = bld.dossier(code, a, unit, datetime(2026, 2, 2, 9, 0))
            bld.event(d, "forwarded", datetime(2026, 2, 2, 9, 30))  # due 09/02/2026 09:00
            if code == "E01":
                bld.event(d, "supplement_requested", PERIOD.end, note="Thiếu bản sao")
            elif code == "E02":
                bld.event(d, "withdrawn", datetime(2026, 3, 20, 9, 0), note="Người nộp xin rút")
            else:  # control: requested a minute before the end, awaiting then and now
                bld.event(d, "supplement_requested", PERIOD.end - timedelta(minutes=1), note="Thiếu bản sao")
        db.session.commit()
        (row,) = queries.summary_rows(db.session, PERIOD, by="unit", now=rf.NOW)
        data = exports.build_late(db.session, PERIOD, None, rf.NOW)
    assert (row.carried, row.within, row.overdue, row.returned) == (3, 1, 2, 0)
    row.check()
    _, rows = read_late(data)
    assert sorted(r[1] for r in rows) == ["E01", "E02"]
    assert {r[5] for r in rows} == {"09:00 09/02/2026"}


def test_the_groupings_computed_together_are_each_the_grouping_computed_alone(app, dataset, changed_after):
    """The dashboard asks for two groupings in one pass (summary_tables); each is the report's rows."""
    with app.app_context():
        for now in (None, rf.NOW, datetime(2026, 3, 10, 12, 0)):
            together = queries.summary_tables(db.session, PERIOD, now=now)
            for by in queries.DIMENSIONS:
                alone = queries.summary_rows(db.session, PERIOD, by=by, now=now)
                assert [vars(r) for r in together[by]] == [vars(r) for r in alone], (by, now)
                assert len(alone) > 1 and all(r.received for r in alone), (by, now)
        with pytest.raises(ValueError, match="colour"):
            queries.summary_tables(db.session, PERIOD, ("unit", "colour"))


def test_the_correction_is_one_query_when_nothing_changed_after_the_end(app, dataset):
    from sqlalchemy import event

    statements = []
    with app.app_context():
        listener = lambda *args: statements.append(args[2]) if args[2].lstrip().upper().startswith("SELECT") else None  # noqa: E501,E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            queries.summary_rows(db.session, PERIOD, now=rf.NOW)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
    # The aggregate's four parts (queries.summary_statements), the candidate query (finding none), the
    # ratings: no dossier is loaded.
    assert len(statements) == 6, statements


def test_the_changed_dossiers_are_loaded_together_not_one_by_one(app, changed_after):
    from sqlalchemy import event

    statements = []
    with app.app_context():
        listener = lambda *args: statements.append(args[2]) if args[2].lstrip().upper().startswith("SELECT") else None  # noqa: E501,E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            queries.summary_rows(db.session, PERIOD, now=rf.NOW)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
    # Aggregate (4 parts), candidates (4 of them), their dossiers, their events, the calendar, the ratings.
    assert len(statements) <= 9, statements


# -- a period still running (domain.md §7, §8) ---------------------------------------------------------


@pytest.fixture
def running(app):
    """Two dossiers of the running period 2026-03: due 09/03 09:00 and 12/03 09:00; now is 10/03 12:00."""
    with app.app_context():
        bld = rf.Builder(db.session)
        unit = make_unit(db.session, name="Phòng Quản lý khoa học")
        a = make_procedure(db.session, field=rf.F1, name="Cấp giấy chứng nhận", statutory_amount=5,
                              unit_id=unit.id)
        for code, day in (("R01", 2), ("R02", 5)):
            d = bld.dossier(code, a, unit, datetime(2026, 3, day, 9, 0))
            bld.event(d, "forwarded", datetime(2026, 3, day, 9, 30))
        db.session.commit()
        deadlines = [d.original_deadline_at for d in db.session.scalars(select(Dossier).order_by(Dossier.code))]
    assert deadlines == [datetime(2026, 3, 9, 9, 0), datetime(2026, 3, 12, 9, 0)]
    return datetime(2026, 3, 10, 12, 0)


def test_a_running_period_counts_overdue_only_what_is_past_its_deadline_now(app, running):
    with app.app_context():
        (row,) = queries.summary_rows(db.session, PERIOD, now=running)
        assert (row.within, row.overdue) == (1, 1)
        (later,) = queries.summary_rows(db.session, PERIOD, now=datetime(2026, 3, 12, 10, 0))
        assert (later.within, later.overdue) == (0, 2)
        data = exports.build_late(db.session, PERIOD, None, running)
        cal = calendar_for(db.session)
    _, rows = read_late(data)
    assert [r[1] for r in rows] == ["R01"]
    assert rows[0][9] == working_days_late(cal, datetime(2026, 3, 9, 9, 0), running)


def test_flask_reports_measures_a_running_period_at_the_current_time(app, running, runner, tmp_path, monkeypatch):
    from tthc.reports import cli

    monkeypatch.setattr(cli, "now", lambda: running)
    summary, late = tmp_path / "monthly.xlsx", tmp_path / "late.xlsx"
    r1 = runner.invoke(args=["reports", "monthly", "--period", "2026-03", "--out", str(summary)])
    r2 = runner.invoke(args=["reports", "late", "--period", "2026-03", "--out", str(late)])
    assert r1.exit_code == 0, r1.output
    assert r2.exit_code == 0, r2.output
    _, total = read_summary(str(summary))
    assert (total["within"], total["overdue"]) == (1, 1)
    _, rows = read_late(late.read_bytes())
    assert [r[1] for r in rows] == ["R01"]


# -- GET /api/v1/summary equals the monthly report (issue 10) --------------------------------------------


API_FOR_COLUMN = {"received": "received", "carried": "carried_over", "online": "new_online", "direct": "new_direct",
                  "postal": "new_postal", "finished": "finished", "early": "early", "on_time": "on_time",
                  "late": "late", "in_progress": "in_progress", "within": "within_time", "overdue": "overdue",
                  "returned": "closed_other", "rate": "on_time_rate"}


def _as_report_cells(counts: dict) -> dict:
    cells = {column: counts[name] for column, name in API_FOR_COLUMN.items()}
    cells["rate"] = None if cells["rate"] is None else round(cells["rate"] / 100, 4)
    return cells


@pytest.mark.parametrize("by, unit_key", [("field", None), ("procedure", None), ("unit", None), ("field", "u1")])
def test_the_summary_api_equals_the_monthly_report_row_by_row(app, client, dataset, monkeypatch, by, unit_key):
    from tests.factories import make_user
    from tthc.auth import hash_token
    from tthc.models import ApiToken

    monkeypatch.setattr("intake.api.clock_now", lambda: rf.NOW)
    with app.app_context():
        if db.session.scalar(select(ApiToken).where(ApiToken.name == "summary")) is None:
            user = make_user(db.session, role="supervisor", username="summary-reader")
            db.session.add(ApiToken(user_id=user.id, token_hash=hash_token("summary-token"), name="summary"))
            db.session.commit()
        unit = dataset.units[unit_key] if unit_key else None
        data, _ = exports.build_summary(db.session, PERIOD, by, db.session.get(type(unit), unit.id) if unit else None,
                                        rf.NOW)
    rows, total = read_summary(data)
    query = f"period=2026-03&by={by}" + (f"&unit={unit.id}" if unit else "")
    body = client.get(f"/api/v1/summary?{query}", headers={"Authorization": "Bearer summary-token"}).get_json()
    assert body["period"] == {"from": "2026-02-15", "to": "2026-03-14"}
    assert [r["label"] for r in body["rows"]] == list(rows)
    for row in body["rows"]:
        assert _as_report_cells(row) == rows[row["label"]], row["label"]
    assert _as_report_cells(body["total"]) == total
