"""The papers of the law in force (issue 11): every printed form of a dossier names the number and the
circular of the set in force on its reception date, the decree cited follows that date, a supplement
request names its documents as a list, and an estimated calendar year is flagged to the desk.

Two dossiers go through every form: one received 01/08/2025 (the 2018 set, Decree 118/2025 already in
force) and one received 01/10/2025 (the 2025 set).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from intake import services
from tests.factories import make_procedure, make_unit, make_user
from tests.helpers import csrf_token
from tthc import papers
from tthc.extensions import db
from tthc.models import CalendarYear, Dossier, Procedure

DOCUMENTS = [("Đơn đề nghị đăng ký kết quả", "original", 1), ("Bản sao Quyết định thành lập tổ chức", "copy", 1)]


@pytest.fixture
def world(app):
    with app.app_context():
        unit = make_unit(db.session, code="QLKH", name="Phòng Quản lý Khoa học")
        procedure = make_procedure(db.session, national_code="1.004490", unit_id=unit.id, documents=DOCUMENTS,
                                   name="Đăng ký kết quả thực hiện nhiệm vụ khoa học và công nghệ",
                                   statutory_amount=1, limit_unit="months", committed_amount=20,
                                   committed_unit="working_days")
        people = SimpleNamespace(
            reception=make_user(db.session, role="reception", username="tiepnhan"),
            handler=make_user(db.session, role="handler", username="chuyenvien", unit=unit),
            head=make_user(db.session, role="handler", username="truongphong", unit=unit, is_unit_head=True),
            supervisor=make_user(db.session, role="supervisor", username="lanhdao"),
        )
        db.session.commit()
        return SimpleNamespace(procedure_id=procedure.id, people=people)


def _through_every_form(app, world, received_at: datetime) -> SimpleNamespace:
    """Received, forwarded, a supplement asked and received, extended once, refused after appraisal."""
    with app.app_context():
        s, p = db.session, world.people
        reception, handler, head = (s.merge(u) for u in (p.reception, p.handler, p.head))
        later = received_at + timedelta(days=120)
        d = services.receive_dossier(
            s, procedure=s.get(Procedure, world.procedure_id),
            applicant={"kind": "individual", "name": "Nguyễn Văn An", "id_number": "079203001234",
                       "phone": "0912345678"},
            channel="direct", received_by=reception, now=later, received_at=received_at)
        services.record_event(s, d, "forwarded", user=reception, now=later, at=received_at + timedelta(hours=1))
        ask = services.record_event(
            s, d, "supplement_requested", user=handler, now=later, at=received_at + timedelta(days=3),
            note="Thiếu bản sao", data={"documents_to_add": ["ban sao quyet dinh thanh lap to chuc",
                                                            "Biên bản họp hội đồng"]})
        services.record_event(s, d, "supplement_received", user=reception, now=later,
                              at=received_at + timedelta(days=4))
        services.record_event(s, d, "extended", user=head, now=later, at=received_at + timedelta(days=5),
                              new_deadline=d.deadline_at + timedelta(days=10), note="Chờ ý kiến chuyên gia")
        services.record_event(s, d, "finished", user=handler, now=later, at=received_at + timedelta(days=6),
                              result="refused", note="Không đạt yêu cầu thẩm định")
        result = SimpleNamespace(code=d.code, ask_id=ask.id, documents_to_add=ask.data["documents_to_add"])
        s.commit()
        return result


@pytest.mark.parametrize("received_at", [datetime(2025, 8, 1, 9, 0), datetime(2025, 10, 1, 9, 0)],
                         ids=["received-2025-08-01", "received-2025-10-01"])
def test_every_slip_of_a_dossier_names_the_number_and_circular_of_its_reception_date(
        app, client, auth, world, received_at):
    dossier = _through_every_form(app, world, received_at)
    forms = papers.form_set_for(received_at)
    auth.login(role="supervisor", username="lanhdao")
    pages = {
        "receipt": f"/dossiers/{dossier.code}/receipt",
        "supplement": f"/dossiers/{dossier.code}/supplement-request/{dossier.ask_id}",
        "refusal": f"/dossiers/{dossier.code}/refusal",
        "apology": f"/dossiers/{dossier.code}/apology",
        "control": f"/dossiers/{dossier.code}/control-slip",
    }
    for kind, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        form = forms.form(kind)
        assert f'<div class="form-number">{form.label}</div>' in html, (kind, form.label)
        assert form.title in html, (kind, form.title)
        other = papers.form_set_for(datetime(2025, 8, 1) if forms.key == "2025" else datetime(2025, 10, 1))
        assert other.circular not in html, (kind, "the other set's circular")
    apology = client.get(pages["apology"]).get_data(as_text=True)
    refusal = client.get(pages["refusal"]).get_data(as_text=True)
    for html in (apology, refusal):  # both dates are after 01/07/2025: Decree 118/2025
        assert "Nghị định số 118/2025/NĐ-CP" in html and "61/2018" not in html
    if forms.key == "2025":
        assert "đề nghị được gia hạn thời gian giải quyết" in apology
    show = client.get(f"/dossiers/{dossier.code}").get_data(as_text=True)
    for kind in pages:
        assert f"{forms.form(kind).name} ({forms.form(kind).short})" in show, kind
    assert f"Biểu mẫu theo Thông tư {forms.circular}" in show
    # The supplement request's documents: catalog spelling where the name matches, free text otherwise.
    assert dossier.documents_to_add == ["Bản sao Quyết định thành lập tổ chức", "Biên bản họp hội đồng"]
    supplement = client.get(pages["supplement"]).get_data(as_text=True)
    assert "<li>Bản sao Quyết định thành lập tổ chức</li>" in supplement
    assert "<li>Biên bản họp hội đồng</li>" in supplement


def test_the_receipt_prints_the_committed_time_with_the_statutory_one_in_brackets_once(app, client, auth, world):
    dossier = _through_every_form(app, world, datetime(2025, 10, 1, 9, 0))
    auth.login(role="supervisor", username="lanhdao")
    html = client.get(f"/dossiers/{dossier.code}/receipt").get_data(as_text=True)
    assert "Thời gian giải quyết hồ sơ: <strong>20 ngày làm việc (theo quy định: 1 tháng)</strong>" in html
    assert html.count("theo quy định") == 1


def test_an_administrators_copy_of_a_form_replaces_the_shipped_wording_without_code(app, client, auth, world,
                                                                                    tmp_path):
    folder = tmp_path / "forms"
    (folder / "2025").mkdir(parents=True)
    (folder / "2025" / "receipt.html").write_text(
        '{% extends "intake/slips/receipt.html" %}{% block mark %}<p class="local">Mẫu của Sở: bản điều chỉnh'
        '</p>{% endblock %}', encoding="utf-8")
    # The forms folder is read when the app is built: a fresh app on the same database.
    from config import TestingConfig
    from tthc import create_app

    local = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                       FORM_TEMPLATES=str(folder))
    new = _through_every_form(app, world, datetime(2025, 10, 1, 9, 0))
    old = _through_every_form(app, world, datetime(2025, 8, 1, 9, 0))
    local_client = local.test_client()
    from tests.conftest import AuthActions

    AuthActions(local, local_client).login(role="supervisor", username="lanhdao")
    html = local_client.get(f"/dossiers/{new.code}/receipt").get_data(as_text=True)
    assert "Mẫu của Sở: bản điều chỉnh" in html and "Mẫu số 01 – Thông tư 03/2025/TT-VPCP" in html
    html = local_client.get(f"/dossiers/{old.code}/receipt").get_data(as_text=True)
    assert "Mẫu của Sở" not in html and "Mẫu số 01 – Thông tư 01/2018/TT-VPCP" in html
    with local.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_supplement_request_needs_its_documents_as_a_list(app, client, auth, world):
    with app.app_context():
        s, p = db.session, world.people
        now = datetime(2026, 3, 10, 9, 0)
        d = services.receive_dossier(s, procedure=s.get(Procedure, world.procedure_id),
                                     applicant={"kind": "individual", "name": "Trần Thị Bình",
                                                "id_number": "079203001235"},
                                     channel="direct", received_by=s.merge(p.reception), now=now,
                                     received_at=datetime(2026, 3, 9, 9, 15))
        services.record_event(s, d, "forwarded", user=s.merge(p.reception), now=now)
        for bad in (None, [], "Bản sao CCCD", [""], ["  "], [3]):
            with pytest.raises(services.IntakeError) as err:
                services.record_event(s, d, "supplement_requested", user=s.merge(p.handler), now=now, note="Thiếu",
                                      data={"documents_to_add": bad})
            assert (err.value.status, err.value.field.split("[")[0]) == (422, "documents_to_add"), bad
        s.commit()
        code, version = d.code, d.version
    auth.login(role="handler", username="chuyenvien")
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert 'name="supplement_requested-catalog_doc" value="Bản sao Quyết định thành lập tổ chức"' in page
    form = {"csrf_token": csrf_token(client, f"/dossiers/{code}"), "supplement_requested-version": str(version),
            "supplement_requested-note": "Thiếu giấy tờ"}
    response = client.post(f"/dossiers/{code}/events/supplement_requested", data=form)
    assert response.status_code == 422
    assert "Liệt kê giấy tờ cần bổ sung, hoàn thiện" in response.get_data(as_text=True)
    form.update({"supplement_requested-catalog_doc": "Bản sao Quyết định thành lập tổ chức",
                 "supplement_requested-documents_to_add": "Biên bản họp hội đồng\n\n  Bản sao CCCD  "})
    assert client.post(f"/dossiers/{code}/events/supplement_requested", data=form).status_code == 303
    with app.app_context():
        d = db.session.scalar(select(Dossier).where(Dossier.code == code))
        ask = next(e for e in d.events if e.type == "supplement_requested")
        assert ask.data["documents_to_add"] == ["Bản sao Quyết định thành lập tổ chức", "Biên bản họp hội đồng",
                                                "Bản sao CCCD"]


def test_a_deadline_counted_over_an_estimated_year_is_flagged_until_the_year_is_confirmed(app, client, auth, world):
    # 2017 is not among the shipped official schedules (2018-2026): its calendar is an estimate.
    with app.app_context():
        s, p = db.session, world.people
        d = services.receive_dossier(s, procedure=s.get(Procedure, world.procedure_id),
                                     applicant={"kind": "individual", "name": "Lê Văn Cường",
                                                "id_number": "079203001236"},
                                     channel="direct", received_by=s.merge(p.reception),
                                     now=datetime(2017, 12, 20, 9, 0), received_at=datetime(2017, 12, 20, 9, 0))
        s.commit()
        code = d.code
    auth.login(role="reception", username="tiepnhan")
    for url in (f"/dossiers/{code}/receipt", f"/dossiers/{code}"):
        html = client.get(url).get_data(as_text=True)
        assert "2017" in html and "mới là lịch ước tính" in html, url
    preview = client.get(f"/dossiers/preview?procedure_id={world.procedure_id}&received_at=2017-12-20T09:00").get_json()
    assert len(preview["warnings"]) == 1 and "năm 2017, 2018" not in preview["warnings"][0]
    assert "lịch năm 2017" in preview["warnings"][0]
    assert client.get(f"/dossiers/preview?procedure_id={world.procedure_id}"
                      f"&received_at=2026-03-09T09:15").get_json()["warnings"] == []
    with app.app_context():
        db.session.add(CalendarYear(year=2017, note="Thông báo chính thức"))
        db.session.commit()
    assert "mới là lịch ước tính" not in client.get(f"/dossiers/{code}/receipt").get_data(as_text=True)


def test_a_stopped_dossier_prints_form_05_of_2025_is_counted_with_returned_and_shows_in_the_look_up(
        app, client, auth, world):
    """Issue 11, point 2: stopped by the unit head with reason and legal ground, whatever the set."""
    from tthc.reports import periods, queries

    received_at = datetime(2025, 8, 1, 9, 0)  # a 2018-set dossier: the stop notice is still 2025's form 05
    with app.app_context():
        s, p = db.session, world.people
        d = services.receive_dossier(
            s, procedure=s.get(Procedure, world.procedure_id),
            applicant={"kind": "individual", "name": "Đỗ Thị Hạnh", "id_number": "079203001239",
                       "phone": "0912345679"},
            channel="direct", received_by=s.merge(p.reception), now=received_at, received_at=received_at)
        services.record_event(s, d, "forwarded", user=s.merge(p.reception), now=received_at + timedelta(hours=1))
        s.commit()
        code, version = d.code, d.version
    auth.login(role="handler", username="truongphong")
    url = f"/dossiers/{code}/events/stopped"
    form = {"csrf_token": csrf_token(client, f"/dossiers/{code}"), "stopped-version": str(version),
            "stopped-note": "Tổ chức đề nghị đã giải thể theo quyết định của cơ quan có thẩm quyền",
            "stopped-at": "2025-08-04T09:00"}
    response = client.post(url, data=form)  # the legal ground is required on form 05
    assert response.status_code == 422 and "Ghi rõ căn cứ pháp lý" in response.get_data(as_text=True)
    form["stopped-legal_ground"] = "Khoản 2 Điều 12 Nghị định số 118/2025/NĐ-CP"
    assert client.post(url, data=form).status_code == 303

    show = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert 'data-status="stopped"' in show
    assert "Thông báo dừng giải quyết hồ sơ (mẫu 05, Thông tư 03/2025/TT-VPCP)" in show
    notice = client.get(f"/dossiers/{code}/stop-notice").get_data(as_text=True)
    for expected in ('<div class="form-number">Mẫu số 05 – Thông tư 03/2025/TT-VPCP</div>',
                     "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ", code, "Đỗ Thị Hạnh",
                     "Tổ chức đề nghị đã giải thể", "Khoản 2 Điều 12 Nghị định số 118/2025/NĐ-CP",
                     "quyền khiếu nại", "THỦ TRƯỞNG CƠ QUAN", "Độc lập - Tự do - Hạnh phúc"):
        assert expected in notice, expected
    assert client.get(f"/dossiers/{code}/apology").status_code == 404  # only the papers the dossier has

    with app.app_context():  # the report: with returned and withdrawn, outside the on-time rate
        rows = queries.summary_rows(db.session, periods.parse_range("2025-08-01", "2025-08-31"),
                                    now=datetime(2025, 12, 1))
        total = queries.total_row(rows)
        assert (total.received, total.returned, total.finished, total.in_progress) == (1, 1, 0, 0)
        assert total.on_time_rate is None

    auth.logout()
    page = client.post("/tra-cuu", data={"ma": code, "so": "5679", "csrf_token": csrf_token(client, "/tra-cuu")})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "status-stopped" in html and "data-stopped" in html
    assert '<tr data-event="stopped">' in html
    assert "Tổ chức đề nghị đã giải thể" not in html  # notes stay internal
