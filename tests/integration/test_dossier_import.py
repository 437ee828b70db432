"""Importing dossier exports into the demo: the acceptance of issue #15, on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from intake.dossier_import import queries, services
from intake.dossier_import.mapping import Mapping
from tthc.demo import load_demo
from tthc.extensions import db
from tthc.models import AuditLog, DossierCodeCounter, Dossier, DossierEvent, ImportRun, RegisterCounter

SAMPLE = "/work/shared/data/dossiers_import_sample.csv"
NOW = datetime(2026, 12, 1, 9, 0)
AGENCY = "000.00.31.H49"
STATUS_OF_WORD = {"Mới tiếp nhận": "received", "Đang xử lý": "in_progress", "Chờ bổ sung": "awaiting_supplement",
                  "Đã có kết quả": "finished", "Đã trả kết quả": "handed_over",
                  "Trả lại hồ sơ": "returned_unprocessed", "Rút hồ sơ": "withdrawn"}


def sample_rows() -> list[dict]:
    with open(SAMPLE, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def to_csv(rows: list[dict], header: list[str] | None = None) -> bytes:
    header = header or list(sample_rows()[0])
    out = io.StringIO()
    writer = csv.DictWriter(out, header)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def run_import(data: bytes, name: str = "file.csv", now: datetime = NOW, **kw) -> ImportRun:
    run_id = services.import_file(db.session, io.BytesIO(data), name, mapping=kw.pop("mapping", Mapping()), now=now,
                                  agency_code=AGENCY, commit=db.session.commit, **kw)
    return db.session.get(ImportRun, run_id)


def outcomes(run: ImportRun) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in queries.report_rows(db.session, run.id):
        out.setdefault(r.outcome, []).append(r)
    return out


_HASH: list[str] = []


@pytest.fixture
def demo(db_session, monkeypatch):
    """The demo's units and catalog (``flask demo``), and its desk officer with a password hashed once."""
    from werkzeug.security import generate_password_hash

    import tthc.demo
    from tthc.models import Unit, User

    monkeypatch.setattr(tthc.demo, "ACCOUNTS", [])
    load_demo(db_session, echo=lambda _line: None)
    if not _HASH:
        _HASH.append(generate_password_hash("unused-password", method="scrypt"))
    desk = db_session.scalar(select(Unit).where(Unit.code == "MOTCUA"))
    db_session.add(User(username="tiepnhan", full_name="Nguyễn Thị Tiếp Nhận", role="reception", unit=desk,
                        active=True, password_hash=_HASH[0]))
    db_session.commit()
    return db_session


def test_the_sample_creates_forty_dossiers_with_the_right_statuses_then_importing_again_changes_nothing(demo):
    with open(SAMPLE, "rb") as fh:
        run = run_import(fh.read(), "dossiers_import_sample.csv")
    assert run.counts == {"created": 40, "updated": 0, "unchanged": 0, "rejected": 0, "total": 40}
    expected = {r["Mã hồ sơ"]: STATUS_OF_WORD[r["Trạng thái"]] for r in sample_rows()}
    got = dict(db.session.execute(select(Dossier.code, Dossier.status)).all())
    assert got == expected
    first = db.session.get(Dossier, db.session.scalar(select(Dossier.id).where(Dossier.code == "H49.36-261116-0001")))
    assert first.external_code and first.reception_point == "Trung tâm Phục vụ hành chính công"
    assert first.appointment_at == datetime(2026, 11, 24, 16, 30)  # as printed on the receipt
    assert first.deadline_at is not None and first.deadline_at != first.appointment_at  # the engine's own
    assert first.unit is not None and first.unit.code == "QLKH"  # empty unit: the procedure's
    events_before = db.session.scalar(select(func.count(DossierEvent.id)))

    with open(SAMPLE, "rb") as fh:
        again = run_import(fh.read(), "dossiers_import_sample.csv")
    assert again.counts == {"created": 0, "updated": 0, "unchanged": 40, "rejected": 0, "total": 40}
    assert db.session.scalar(select(func.count(DossierEvent.id))) == events_before
    assert db.session.scalar(select(func.count(Dossier.id))) == 40
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.entity == "import_run")).all()
    assert actions.count("import_dossiers:start") == 2 and actions.count("import_dossiers:finish") == 2


def test_the_monthly_report_counts_the_imported_dossiers_as_the_file_says(demo):
    from tthc.reports import periods
    from tthc.reports.queries import summary_rows, total_row

    with open(SAMPLE, "rb") as fh:
        run_import(fh.read())
    rows = sample_rows()
    # An independent count, from the file's own columns.
    words = Counter(r["Trạng thái"] for r in rows)
    channels = Counter(r["Hình thức nộp"] for r in rows)
    total = total_row(summary_rows(db.session, periods.year(2026), now=NOW))
    assert total.new == len(rows) == 40 and total.carried == 0
    assert (total.online, total.direct, total.postal) == (channels["Trực tuyến"], channels["Trực tiếp"],
                                                           channels["Bưu chính công ích"])
    assert total.finished == words["Đã có kết quả"] + words["Đã trả kết quả"]
    assert total.returned == words["Trả lại hồ sơ"] + words["Rút hồ sơ"]
    assert total.in_progress == words["Mới tiếp nhận"] + words["Đang xử lý"] + words["Chờ bổ sung"]
    # The monthly report of October 2026 (15/09 to 14/10, Decree 09/2019) counts the ones received then.
    october = total_row(summary_rows(db.session, periods.month(2026, 10), now=NOW))
    received = [datetime.strptime(r["Ngày tiếp nhận"], "%d/%m/%Y %H:%M") for r in rows]
    assert october.new == sum(datetime(2026, 9, 15) <= at < datetime(2026, 10, 15) for at in received) > 0


def test_a_later_export_with_new_events_updates_exactly_those_dossiers(demo):
    rows = sample_rows()
    run_import(to_csv(rows))
    changed = {}
    for r in rows:
        if r["Trạng thái"] == "Đang xử lý" and len(changed) < 2:
            r.update({"Trạng thái": "Đã có kết quả", "Ngày có kết quả": "27/11/2026 10:00", "Kết quả": "Cấp phép",
                      "Ngày cập nhật": "27/11/2026 10:00"})
            changed[r["Mã hồ sơ"]] = "finished"
        elif r["Trạng thái"] == "Đã có kết quả" and "handed" not in changed:
            r.update({"Trạng thái": "Đã trả kết quả", "Ngày trả kết quả": "30/11/2026 08:30",
                      "Ngày cập nhật": "30/11/2026 08:30"})
            changed[r["Mã hồ sơ"]] = "handed_over"
            changed["handed"] = r["Mã hồ sơ"]
    changed.pop("handed")
    run = run_import(to_csv(rows))
    result = outcomes(run)
    assert {r.code: r.events for r in result["updated"]} == {
        code: "finished" if status == "finished" else "handed_over" for code, status in changed.items()}
    assert len(result["unchanged"]) == 40 - len(changed) and "created" not in result and "rejected" not in result
    for code, status in changed.items():
        dossier = db.session.scalar(select(Dossier).where(Dossier.code == code))
        assert dossier.status == status and dossier.finished_at is not None
        assert dossier.classification in ("early", "on_time", "late")


def test_an_officers_record_here_is_never_rewritten_by_a_later_export(demo):
    from intake.services import record_event
    from tthc.models import User

    rows = sample_rows()
    received = next(r for r in rows if r["Trạng thái"] == "Mới tiếp nhận")
    run_import(to_csv([received]))
    dossier = db.session.scalar(select(Dossier).where(Dossier.code == received["Mã hồ sơ"]))
    desk = db.session.scalar(select(User).where(User.username == "tiepnhan"))
    record_event(db.session, dossier, "forwarded", user=desk, now=NOW, at=NOW - timedelta(days=1))
    db.session.commit()
    run = run_import(to_csv([received]))  # the export still says "Mới tiếp nhận"
    assert run.counts["unchanged"] == 1
    dossier = db.session.scalar(select(Dossier).where(Dossier.code == received["Mã hồ sơ"]))
    assert dossier.status == "in_progress" and [e.type for e in dossier.events] == ["received", "forwarded"]


def test_bad_rows_are_rejected_one_by_one_and_the_good_rows_of_the_file_import(demo):
    rows = sample_rows()[:6]
    bad = [dict(rows[0], **{"Mã hồ sơ": "BAD-1", "Mã TTHC": "9.999999", "Tên thủ tục": "Thủ tục không có"}),
           dict(rows[2], **{"Mã hồ sơ": "BAD-2", "Ngày có kết quả": "01/09/2026 10:00"}),
           dict(rows[1], **{"Mã hồ sơ": "BAD-3", "Ngày tiếp nhận": "32/09/2026 07:05"}),
           dict(rows[3])]  # the same code as a good row above
    run = run_import(to_csv(rows[:4] + bad + rows[4:]))
    result = outcomes(run)
    rejected = {r.line: (r.code, r.column, r.reason) for r in result["rejected"]}
    assert set(rejected) == {6, 7, 8, 9}
    assert rejected[6][:2] == ("BAD-1", "Tên thủ tục") and "Không có thủ tục" in rejected[6][2]
    assert rejected[7][:2] == ("BAD-2", "Ngày có kết quả") and "trước thời điểm" in rejected[7][2]
    assert rejected[8][:2] == ("BAD-3", "Ngày tiếp nhận") and "không phải ngày giờ hợp lệ" in rejected[8][2]
    assert rejected[9][1] == "Mã hồ sơ" and "với dòng 5" in rejected[9][2]
    assert len(result["created"]) == 6
    assert db.session.scalar(select(func.count(Dossier.id))) == 6
    assert db.session.scalar(select(func.count(Dossier.id)).where(Dossier.code.like("BAD-%"))) == 0


def test_an_ambiguous_procedure_name_is_a_rejection_never_a_guess(demo):
    from tests.factories import make_procedure
    from tthc.models import Procedure

    original = db.session.scalar(select(Procedure).where(Procedure.name == "Cấp Giấy chứng nhận doanh nghiệp khoa "
                                                                            "học và công nghệ"))
    make_procedure(db.session, national_code=None, name=original.name.upper(), field=original.field)
    db.session.commit()
    row = next(r for r in sample_rows() if not r["Mã TTHC"] and r["Tên thủ tục"] == original.name)
    run = run_import(to_csv([row]))
    (rejected,) = outcomes(run)["rejected"]
    assert rejected.column == "Tên thủ tục" and "khớp 2 thủ tục" in rejected.reason


def test_a_dry_run_reports_every_row_and_writes_no_dossier(demo):
    with open(SAMPLE, "rb") as fh:
        run = run_import(fh.read(), dry_run=True)
    assert run.dry_run and run.counts["created"] == 40 and run.status == "done"
    assert db.session.scalar(select(func.count(Dossier.id))) == 0
    assert db.session.scalar(select(func.count(RegisterCounter.year))) == 0


def test_after_importing_todays_own_codes_intake_continues_with_the_next_free_code(demo, client, app):
    from tthc.accounts import issue_token
    from tthc.clock import now as clock_now
    from tthc.models import Procedure, User

    today = clock_now()
    start = today.replace(hour=0, minute=0, second=0)
    rows = []
    for seq in (1, 2, 7):
        row = dict(sample_rows()[8])  # "Mới tiếp nhận"
        row.update({"Mã hồ sơ": f"{AGENCY}-{today:%y%m%d}-{seq:04d}", "Ngày tiếp nhận": f"{start:%d/%m/%Y %H:%M}",
                    "Ngày hẹn trả": "", "Ngày cập nhật": ""})
        rows.append(row)
    run = run_import(to_csv(rows), now=today)
    assert run.counts["created"] == 3
    counter = db.session.get(DossierCodeCounter, (AGENCY, today.date()))
    assert counter.last_seq == 7
    imported = db.session.scalars(select(Dossier).where(Dossier.code.like(f"{AGENCY}-%"))).all()
    assert not any(d.external_code for d in imported)
    desk = db.session.scalar(select(User).where(User.username == "tiepnhan"))
    token = issue_token(db.session, desk)
    procedure = db.session.scalar(select(Procedure).where(Procedure.national_code == "2.002131.000.00.00.H58"))
    db.session.commit()
    response = client.post("/api/v1/dossiers", headers={"Authorization": f"Bearer {token}"}, json={
        "procedure_id": procedure.id, "channel": "direct", "received_at": today.strftime("%Y-%m-%dT%H:%M"),
        "applicant": {"name": "Nguyễn Văn Bình", "id_number": "079203001234", "phone": "0905123456"}})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == f"{AGENCY}-{today:%y%m%d}-0008"
    numbers = db.session.scalars(select(Dossier.register_number).where(Dossier.register_year == today.year)).all()
    assert len(numbers) == len(set(numbers)) == 4


def test_the_report_downloads_as_xlsx_with_one_line_per_row(demo):
    import openpyxl

    with open(SAMPLE, "rb") as fh:
        run = run_import(fh.read())
    data = queries.report_workbook_for(db.session, run.id)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    lines = [row for row in sheet.iter_rows(values_only=True) if isinstance(row[0], int)]
    assert len(lines) == 40 and {r[2] for r in lines} == {"Thêm mới"}
    assert "tiếp nhận" in lines[0][3]


def test_a_file_without_the_required_columns_is_refused_as_a_whole(demo):
    with pytest.raises(services.ImportFileError, match="Tệp thiếu cột"):
        run_import("Mã hồ sơ,Trạng thái\nA,Đang xử lý\n".encode())
    assert db.session.scalar(select(func.count(ImportRun.id))) == 0


def test_an_imported_dossier_takes_the_rule_version_in_force_on_its_reception_day(demo):
    from tthc.models import Procedure, ProcedureRuleVersion

    procedure = db.session.scalar(select(Procedure).where(Procedure.national_code == "1.014393.H38"))
    db.session.add(ProcedureRuleVersion(procedure_id=procedure.id, effective_date=date(2026, 10, 1),
                                        committed_amount=20, committed_unit="working_days",
                                        decision_number="99/QĐ-UBND", decision_date=date(2026, 9, 20)))
    db.session.commit()
    rows = [r for r in sample_rows() if r["Mã TTHC"] == "1.014393.H38"]
    run_import(to_csv(rows))
    rules = {d.received_at.date(): d.rule for d in db.session.scalars(select(Dossier))}
    assert {day < date(2026, 10, 1) for day in rules} == {True, False}
    for day, rule in rules.items():
        assert (rule["limit_amount"], rule["decision_number"]) == (
            (30, "") if day < date(2026, 10, 1) else (20, "99/QĐ-UBND"))


def test_the_command_line_dry_run_prints_the_counts_and_writes_nothing(demo, runner, tmp_path):
    mapping = tmp_path / "mapping.json"
    mapping.write_text('{"columns": {"Ghi chú": null}}', encoding="utf-8")
    result = runner.invoke(args=["import", "dossiers", SAMPLE, "--dry-run", "--mapping", str(mapping),
                                 "--report", str(tmp_path / "r.xlsx")])
    assert result.exit_code == 0, result.output
    assert "40 created, 0 updated, 0 unchanged, 0 rejected" in result.output and "dry run" in result.output
    assert (tmp_path / "r.xlsx").stat().st_size > 0
    assert db.session.scalar(select(func.count(Dossier.id))) == 0
    mapping.write_text('{"columns": {"Ghi chú": "nothing"}}', encoding="utf-8")
    result = runner.invoke(args=["import", "dossiers", SAMPLE, "--mapping", str(mapping)])
    assert result.exit_code == 2 and "không hợp lệ" in result.output


def test_the_desks_typing_rules_do_not_apply_to_imported_rows(demo):
    row = dict(sample_rows()[0], **{"Số điện thoại": "", "Số giấy tờ": "CMND 123"})  # months old, no phone
    run = run_import(to_csv([row]))
    assert run.counts["created"] == 1
    dossier = db.session.scalar(select(Dossier).where(Dossier.code == row["Mã hồ sơ"]))
    assert dossier.applicant_phone == "" and dossier.applicant_id_number == "CMND 123"


def test_a_known_code_with_another_reception_time_is_another_dossier_and_is_rejected(demo):
    row = sample_rows()[0]
    run_import(to_csv([row]))
    run = run_import(to_csv([dict(row, **{"Ngày tiếp nhận": "21/09/2026 08:06"})]))
    (rejected,) = outcomes(run)["rejected"]
    assert rejected.column == "Mã hồ sơ" and "khác thời điểm tiếp nhận" in rejected.reason


def test_a_row_stopped_by_the_unit_imports_as_stopped_with_its_reason(demo):
    row = dict(next(r for r in sample_rows() if r["Trạng thái"] == "Đang xử lý"))
    row.update({"Trạng thái": "Dừng xử lý", "Ngày cập nhật": "25/11/2026 10:00",
                "Ghi chú": "Khoản 2 Điều 18 Nghị định 118/2025/NĐ-CP"})
    run = run_import(to_csv([row]))
    assert run.counts["created"] == 1, outcomes(run)
    dossier = db.session.scalar(select(Dossier).where(Dossier.code == row["Mã hồ sơ"]))
    stopped = dossier.events[-1]
    assert dossier.status == "stopped" and dossier.closed_at == datetime(2026, 11, 25, 10, 0)
    assert stopped.type == "stopped" and stopped.note.startswith("Khoản 2") and stopped.data["estimated"]
