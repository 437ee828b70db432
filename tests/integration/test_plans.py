"""Action plans (issue 17): import of the sample, the quarter report with the measured figures, reminders.

Through the CLI (``flask plan import/report/remind``, ``flask reports summary``) on SQLite and
PostgreSQL; the dossiers of the measured quarter are built with the real deadline rules.
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from tests import reports_fixtures as rf
from tests.factories import make_procedure, make_unit, make_user
from tests.integration.test_reports import COLUMNS, read_summary
from tthc.extensions import db
from tthc.models import Alert, AlertClock, AuditLog, Plan, PlanPeriod, PlanProgress, PlanTask, User
from tthc.plans import queries, services

SAMPLE = str(Path(__file__).resolve().parent.parent / "data" / "papi_plan_2018.csv")
NUMBER = "01A/KH-SKHCN"
NOW = datetime(2018, 4, 10, 9, 0)  # after the first quarter of the plan


@pytest.fixture
def fixed_now(monkeypatch):
    from tthc.plans import cli as plan_cli
    from tthc.reports import cli as report_cli

    monkeypatch.setattr(plan_cli, "now", lambda: NOW)
    monkeypatch.setattr(report_cli, "now", lambda: NOW)
    return NOW


def _sample_path(tmp_path):
    """An exact copy of ../shared/data/papi_plan_2018.csv (the plan's table as the department wrote it)."""
    return SAMPLE


def _state(app):
    with app.app_context():
        rows = []
        for model in (Plan, PlanTask, PlanPeriod):
            cols = [c for c in model.__table__.columns if c.name not in ("created_at", "updated_at")]
            rows.append(sorted(tuple(r) for r in db.session.execute(select(*cols)).all()))
        rows.append(db.session.scalar(select(func.count(AuditLog.id))))
        return rows


def _import(runner, path):
    return runner.invoke(args=["plan", "import", str(path)])


def test_importing_the_sample_gives_one_plan_of_8_tasks_with_their_timings_and_again_changes_nothing(
        app, runner, tmp_path):
    result = _import(runner, _sample_path(tmp_path))
    assert result.exit_code == 0, result.output
    with app.app_context():
        plans = db.session.scalars(select(Plan)).all()
        assert [(p.number, p.issued_date, p.first_year, p.last_year) for p in plans] == [
            (NUMBER, date(2018, 1, 9), 2017, 2020)]
        plan = plans[0]
        assert plan.legal_basis.startswith("Quyết định số 2922/QĐ-UBND")  # carried forward from row 1
        tasks = {t.number: t for t in plan.tasks}
        assert sorted(tasks) == list(range(1, 9))
        spans = {n: [(p.start_date, p.end_date) for p in t.periods] for n, t in tasks.items()}
        assert spans[1] == [(date(2018, 1, 1), date(2018, 1, 31))]  # a month
        assert spans[6] == [(date(2018, 1, 1), date(2018, 3, 31))]  # a quarter
        assert spans[3] == [(date(y, 1, 1), date(y, 12, 31)) for y in (2018, 2019, 2020)]  # yearly
        for n in (2, 4, 5, 7, 8):  # ongoing: every quarter 2018-2020
            assert len(spans[n]) == 12 and spans[n][0] == (date(2018, 1, 1), date(2018, 3, 31))
        # Due 5 working days after the end on the official calendar: 31/03/2018 is a Saturday.
        assert tasks[6].periods[0].due_date == date(2018, 4, 6)
        # 31/12/2018 and 01/01/2019 were off, Saturday 05/01/2019 a make-up working day.
        assert tasks[3].periods[0].due_date == date(2019, 1, 7)
    before = _state(app)
    again = _import(runner, _sample_path(tmp_path))
    assert again.exit_code == 0, again.output
    assert "nothing changed" in again.output
    assert _state(app) == before


def test_the_xlsx_of_the_sample_imports_the_same_plan(app, runner, tmp_path):
    import csv

    wb = Workbook()
    ws = wb.active
    with open(_sample_path(tmp_path), encoding="utf-8-sig", newline="") as fh:
        for row in csv.reader(fh):
            ws.append(row)
    path = tmp_path / "plan.xlsx"
    wb.save(path)
    assert _import(runner, path).exit_code == 0
    with app.app_context():
        plan = queries.find_plan_by_number(db.session, NUMBER)
        assert len(plan.tasks) == 8 and plan.tasks[2].timing == "Hàng năm"


def test_a_file_with_a_bad_row_is_refused_whole_with_the_rows_named(app, runner, tmp_path):
    text = open(_sample_path(tmp_path), encoding="utf-8").read().replace('"Quý 1/2018"', '"Sớm nhất có thể"')
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    result = _import(runner, path)
    assert result.exit_code == 1
    assert "Dòng 7" in result.output and "không hiểu thời gian" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Plan.id))) == 0


def _quarter_dossiers(session):
    """Dossiers around the first quarter of 2018 with the real rules (the 2018 official calendar)."""
    unit = make_unit(session, name="Phòng Quản lý khoa học")
    a = make_procedure(session, field=rf.F1, statutory_amount=5, unit_id=unit.id)
    b = make_procedure(session, field=rf.F2, statutory_amount=10, unit_id=unit.id)
    bld = rf.Builder(session)
    d = bld.dossier("P01", a, unit, datetime(2017, 12, 27, 9, 0))  # carried over, finished in the quarter
    bld.event(d, "forwarded", datetime(2017, 12, 27, 10, 0))
    bld.event(d, "finished", datetime(2018, 1, 3, 9, 0))
    d = bld.dossier("P02", a, unit, datetime(2018, 1, 15, 8, 0), channel="online")  # early
    bld.event(d, "forwarded", datetime(2018, 1, 15, 9, 0))
    bld.event(d, "finished", datetime(2018, 1, 17, 9, 0))
    d = bld.dossier("P03", b, unit, datetime(2018, 2, 1, 8, 0), channel="postal")  # late, with an apology
    bld.event(d, "forwarded", datetime(2018, 2, 1, 9, 0))
    bld.event(d, "extended", datetime(2018, 2, 12, 9, 0), note="Chờ thẩm định",
              data={"new_deadline": datetime(2018, 3, 1, 8, 0).isoformat()})
    bld.event(d, "finished", datetime(2018, 2, 28, 9, 0))
    d = bld.dossier("P04", a, unit, datetime(2018, 3, 20, 8, 0))  # open and overdue at the quarter's end
    bld.event(d, "forwarded", datetime(2018, 3, 20, 9, 0))
    d = bld.dossier("P05", b, unit, datetime(2018, 3, 5, 8, 0))  # returned in the quarter
    bld.event(d, "returned_unprocessed", datetime(2018, 3, 6, 8, 0), note="Không thuộc thẩm quyền")
    d = bld.dossier("P06", a, unit, datetime(2018, 4, 2, 8, 0))  # after the quarter: out
    bld.event(d, "forwarded", datetime(2018, 4, 2, 9, 0))
    session.flush()


def _plan_workbook(path):
    """(rows of the report sheet, the task rows, {task: {figure: value}} from the figures sheet)."""
    wb = load_workbook(path)
    rows = [list(r) for r in wb["Báo cáo"].iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(rows) if r[0] == "STT")
    assert rows[head + 1][:2] == ["(1)", "(2)"]  # the column numbers, as official tables print them
    tasks = []
    for r in rows[head + 2:]:
        if not isinstance(r[0], int):
            break
        tasks.append(r)
    figures: dict[int, dict] = {}
    if "Số liệu hệ thống" in wb.sheetnames:
        for r in wb["Số liệu hệ thống"].iter_rows(values_only=True):
            if isinstance(r[0], int) and isinstance(r[1], int):
                figures.setdefault(r[1], {})[r[3]] = r[4] if r[4] is not None else r[5]
    return rows, tasks, figures


def test_the_quarter_report_lists_the_8_tasks_and_task_5_equals_the_summary_over_the_same_dates(
        app, runner, tmp_path, fixed_now):
    assert _import(runner, _sample_path(tmp_path)).exit_code == 0
    with app.app_context():
        _quarter_dossiers(db.session)
        plan = queries.find_plan_by_number(db.session, NUMBER)
        tasks = {t.number: t for t in plan.tasks}
        # The task-to-measure link is data an administrator sets (audited), not code.
        for n, key in ((4, "catalog_posted"), (5, "dossier_summary")):
            t = tasks[n]
            services.update_task(db.session, t, {"content": t.content, "timing": t.timing, "lead": t.lead,
                                                 "coordinating": t.coordinating, "measure": key,
                                                 "expected_result": t.expected_result})
        admin = make_user(db.session, role="admin")
        period = next(p for p in tasks[6].periods if p.label == "Quý 1/2018")
        services.record_progress(db.session, period, admin, {"status": "done", "done_text": "Đã kiện toàn Ban TTND",
                                                             "evidence_number": "15/QĐ-SKHCN",
                                                             "evidence_date": "20/03/2018"},
                                 now=datetime(2018, 3, 28, 10, 0))
        db.session.commit()
    out, summary = tmp_path / "plan.xlsx", tmp_path / "summary.xlsx"
    result = runner.invoke(args=["plan", "report", "--plan", NUMBER, "--period", "2018-Q1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["reports", "summary", "--from", "2018-01-01", "--to", "2018-03-31",
                               "--out", str(summary)]).exit_code == 0
    rows, tasks, figures = _plan_workbook(out)
    assert any(r[0] and "BÁO CÁO KẾT QUẢ THỰC HIỆN KẾ HOẠCH SỐ 01A/KH-SKHCN" in str(r[0]) for r in rows[:8])
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in rows[0]
    assert [t[0] for t in tasks] == list(range(1, 9))
    assert "Đã kiện toàn Ban TTND" in tasks[5][4] and "15/QĐ-SKHCN ngày 20/03/2018" in tasks[5][5]
    assert "Đã hoàn thành (đã báo cáo đúng hạn)" in tasks[5][6]
    assert "Chưa báo cáo (quá hạn)" in tasks[0][6]  # task 1 (January) was due 07/02/2018
    assert any("GIÁM ĐỐC" in r for r in rows) and any("Nơi nhận:" in r for r in rows)  # the signature block
    _, total = read_summary(str(summary))
    got = figures[5]
    names = {"received": "Tổng số hồ sơ nhận giải quyết", "carried": "Kỳ trước chuyển qua",
             "finished": "Đã giải quyết", "early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn",
             "in_progress": "Đang giải quyết", "overdue": "Đang quá hạn", "returned": "Trả lại / rút / dừng giải quyết"}
    assert {k: got[v] for k, v in names.items()} == {k: total[k] for k in names}
    assert got["Tỷ lệ đúng hạn, trước hạn"] == round(total["rate"] * 100, 2)  # a percentage on the figures sheet
    assert got["Tiếp nhận mới"] == total["online"] + total["direct"] + total["postal"]
    assert total["received"] == 5 and total["late"] == 1 and total["overdue"] == 1  # the test sees real flows
    assert got["Hồ sơ trễ hạn có văn bản xin lỗi"] == 1
    assert figures[4]["Số TTHC đang áp dụng, niêm yết công khai"] == 2
    with app.app_context():
        log = db.session.scalars(select(AuditLog).where(AuditLog.entity == "plan_report")).all()
        assert [(e.after["from"], e.after["to"]) for e in log] == [("2018-01-01", "2018-03-31")]


def test_reminders_are_raised_once_per_period_and_kind_for_linked_users_else_supervisors(app, runner, tmp_path):
    assert _import(runner, _sample_path(tmp_path)).exit_code == 0
    with app.app_context():
        handler = make_user(db.session, role="handler", username="thang", full_name="Nguyễn Văn Thắng")
        other = make_user(db.session, role="handler", username="khac")
        task3 = db.session.scalar(select(PlanTask).where(PlanTask.number == 3))
        task3.users.append(handler)
        db.session.commit()
        handler_id, other_id = handler.id, other.id
    for at in ("2018-04-03", "2018-04-03", "2018-04-09"):
        assert runner.invoke(args=["plan", "remind", "--at", at]).exit_code == 0
    with app.app_context():
        from deadlines.alerts import acknowledge_all, count_alerts, unread_count

        kinds = db.session.execute(select(PlanTask.number, PlanPeriod.label, Alert.kind)
                                   .join(PlanPeriod, PlanPeriod.id == Alert.plan_period_id)
                                   .join(PlanTask, PlanTask.id == PlanPeriod.task_id)).all()
        # 03/04: task 1 missing; six Q1 periods due. 09/04: those six missing too. Task 3's year is not due.
        assert sorted(kinds) == sorted([(1, "Tháng 01/2018", "plan_missing")]
                                       + [(n, "Quý 1/2018", k) for n in (2, 4, 5, 6, 7, 8)
                                          for k in ("plan_due", "plan_missing")])
        supervisor = make_user(db.session, role="supervisor")
        assert count_alerts(db.session, supervisor) == 13
        assert count_alerts(db.session, db.session.get(User, other_id)) == 0
        # Each pass that raised reminders stamped them with the alerts' clock as it committed (issue 13):
        # two readings, one per raising pass (the second pass at 03/04 raised nothing).
        seqs = sorted(set(db.session.scalars(select(Alert.seq))))
        assert seqs == [1, 2] and db.session.scalar(select(AlertClock.value)) == 2
        acknowledge_all(db.session, supervisor, datetime(2018, 4, 9, 10, 0))
        db.session.commit()
        assert unread_count(db.session, supervisor) == 0
    assert runner.invoke(args=["plan", "remind", "--at", "2019-01-08"]).exit_code == 0
    with app.app_context():
        h = db.session.get(User, handler_id)
        assert count_alerts(db.session, h) == 1  # the year 2018 of task 3, linked to this handler
        assert count_alerts(db.session, db.session.get(User, other_id)) == 0
        # A reported period raises nothing more.
        period = db.session.scalar(select(PlanPeriod).join(PlanTask).where(PlanTask.number == 3,
                                                                           PlanPeriod.label == "Năm 2019"))
        services.record_progress(db.session, period, h, {"status": "not_done", "reason": "Chờ UBND tỉnh"},
                                 now=datetime(2019, 12, 30, 9, 0))
        db.session.commit()
    assert runner.invoke(args=["plan", "remind", "--at", "2020-01-20"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count(Alert.id)).join(PlanPeriod).join(PlanTask).where(
            PlanTask.number == 3)) == 1
        assert db.session.scalar(select(func.count(PlanProgress.id))) == 1


def test_the_year_report_measures_the_whole_year_and_bad_arguments_exit_1(app, runner, tmp_path, fixed_now):
    assert _import(runner, _sample_path(tmp_path)).exit_code == 0
    with app.app_context():
        _quarter_dossiers(db.session)
        task = db.session.scalar(select(PlanTask).where(PlanTask.number == 5))
        task.measure = "dossier_summary"
        db.session.commit()
    out, summary = tmp_path / "year.xlsx", tmp_path / "summary.xlsx"
    assert runner.invoke(args=["plan", "report", "--plan", NUMBER, "--period", "2018", "--out", str(out)]).exit_code == 0
    assert runner.invoke(args=["reports", "summary", "--from", "2018-01-01", "--to", "2018-12-31",
                               "--out", str(summary)]).exit_code == 0
    _, tasks, figures = _plan_workbook(out)
    _, total = read_summary(str(summary))
    assert len(tasks) == 8 and figures[5]["Tổng số hồ sơ nhận giải quyết"] == total["received"] == 6
    assert figures[5]["Đang giải quyết"] == total["in_progress"]
    for args, message in ((["--period", "2018-Q5"], "không hợp lệ"), (["--plan", "KHÔNG-CÓ"], "no plan numbered")):
        base = {"--plan": NUMBER, "--period": "2018-Q1", "--out": str(tmp_path / "x.xlsx")}
        base.update(dict(zip(args[::2], args[1::2])))
        result = runner.invoke(args=["plan", "report", *[x for kv in base.items() for x in kv]])
        assert result.exit_code == 1 and message in result.output
    assert not (tmp_path / "x.xlsx").exists()
