"""Dossiers with known times for the yearly review (issue 14), recorded through the intake services.

March 2025 has no day off; office hours 07:00–11:30, 13:30–17:00 (8 h a day). Each dossier's time
used is written below as a literal, counted by hand (the comment shows the count), so that the tests
compare the review with an independent count, not with the engine.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from intake import services
from tests.factories import make_procedure, make_unit, make_user

WINDOW = (date(2024, 12, 15), date(2025, 12, 14))
APPLICANT = {"kind": "individual", "name": "Lê Văn Cường", "id_number": "001090012345", "phone": "0912345678"}


def t(text: str) -> datetime:
    return datetime.strptime(text, "%d/%m/%Y %H:%M")


@dataclass
class Case:
    received: str
    finished: str
    used: float  # by hand, in the procedure's unit
    late: bool = False
    supplement: tuple | None = None  # (requested, received, documents asked)
    extended: tuple | None = None  # (at, new appointment)


@dataclass
class Proc:
    code: str
    name: str
    unit: str
    statutory: tuple  # (amount, unit)
    committed: tuple | None
    rule: str
    cases: list
    procedure: object = None
    procedure_id: int = 0
    dossiers: list = field(default_factory=list)

    @property
    def limit(self) -> int:
        return (self.committed or self.statutory)[0]


PROCEDURES = [
    Proc("1.000001", "Cấp giấy chứng nhận đăng ký hoạt động khoa học", "working_days", (15, "working_days"),
         (10, "working_days"), "restart", [
             Case("03/03/2025 08:00", "03/03/2025 16:00", 0.75),  # 3.5 h + 2.5 h = 6 h
             Case("03/03/2025 08:00", "05/03/2025 10:00", 2.25),  # 7 + 8 + 3 = 18 h
             Case("10/03/2025 08:00", "14/03/2025 08:00", 4.0),  # 7 + 3 × 8 + 1 = 32 h
             Case("10/03/2025 08:00", "20/03/2025 10:00", 8.25),  # 7 + 4 × 8 + 3 × 8 + 3 = 66 h
             Case("17/03/2025 08:00", "18/03/2025 08:00", 1.0),  # 7 + 1 = 8 h
             # restart: counted again from the completed supplement, Mon 10/03 08:00: 7 + 8 + 1 = 16 h
             Case("03/03/2025 08:00", "12/03/2025 08:00", 2.0,
                  supplement=("04/03/2025 09:00", "10/03/2025 08:00", ["Đơn đề nghị", "Bản sao giấy phép"])),
             # extended, finished after the original deadline (Mon 17/03 08:00): late; 7 + 9 × 8 + 1 = 96 h
             Case("03/03/2025 08:00", "19/03/2025 08:00", 12.0, late=True,
                  extended=("12/03/2025 08:00", "21/03/2025 17:00")),
         ]),
    Proc("1.000002", "Thẩm định hồ sơ đề nghị cấp giấy phép", "working_days", (20, "working_days"), None, "pause", [
             # pause: 7 + 1 = 8 h before the request (Tue 04/03 08:00), 7 + 1 after Mon 10/03 08:00: 16 h
             Case("03/03/2025 08:00", "11/03/2025 08:00", 2.0,
                  supplement=("04/03/2025 08:00", "10/03/2025 08:00", ["Bản sao giấy phép"])),
             Case("03/03/2025 08:00", "03/03/2025 16:00", 0.75),
             Case("03/03/2025 08:00", "07/03/2025 08:00", 4.0),
             Case("10/03/2025 08:00", "12/03/2025 08:00", 2.0),
             Case("10/03/2025 08:00", "24/03/2025 08:00", 10.0),  # 7 + 9 × 8 + 1 = 80 h
         ]),
    Proc("1.000003", "Cấp phép tiến hành công việc bức xạ", "calendar_days", (30, "calendar_days"), None, "restart", [
             Case("03/03/2025 10:00", "06/03/2025 09:00", 3),  # the start's date is not counted
             Case("03/03/2025 10:00", "03/03/2025 16:00", 0),
             Case("03/03/2025 10:00", "14/03/2025 10:00", 11),
             Case("03/03/2025 10:00", "14/03/2025 17:30", 12),  # after Friday's close: 12 days (due Mon 17/03)
             # restart: counted from Fri 14/03: Thu 20/03 is the 6th day
             Case("03/03/2025 10:00", "20/03/2025 10:00", 6,
                  supplement=("04/03/2025 10:00", "14/03/2025 10:00", ["Giấy xác nhận", "Bản vẽ thiết kế"])),
         ]),
    Proc("1.000004", "Cấp giấy phép xuất bản bản tin", "working_days", (1, "months"), (20, "working_days"),
         "restart", [
             Case("03/03/2025 08:00", "03/03/2025 16:00", 0.75),
             Case("17/03/2025 08:00", "18/03/2025 08:00", 1.0),
             Case("10/03/2025 08:00", "12/03/2025 08:00", 2.0),
             Case("03/03/2025 08:00", "05/03/2025 10:00", 2.25),
             Case("10/03/2025 08:00", "14/03/2025 08:00", 4.0),
         ]),
    Proc("1.000005", "Đăng ký tổ chức dịch vụ đo lường", "working_days", (10, "working_days"), None, "restart", [
             Case("03/03/2025 08:00", "03/03/2025 16:00", 0.75),
             Case("17/03/2025 08:00", "18/03/2025 08:00", 1.0),
             Case("03/03/2025 08:00", "05/03/2025 10:00", 2.25),
         ]),
]


def build(session):
    """Record the fixture; returns the procedures (with ``procedure`` and ``dossiers`` filled in)."""
    unit = make_unit(session, code="QL", name="Phòng Quản lý")
    desk = make_unit(session, code="MC", name="Một cửa")
    reception = make_user(session, "reception", unit=desk)
    handler = make_user(session, "handler", unit=unit)
    supervisor = make_user(session, "supervisor")
    ev = services.record_event
    for spec in PROCEDURES:
        kw = {}
        if spec.committed:
            kw = {"committed_amount": spec.committed[0], "committed_unit": spec.committed[1]}
        spec.procedure = make_procedure(session, national_code=spec.code, name=spec.name, unit_id=unit.id,
                                        limit_unit=spec.statutory[1], statutory_amount=spec.statutory[0],
                                        supplement_rule=spec.rule, **kw)
        spec.dossiers = []
        for case in spec.cases:
            received = t(case.received)
            d = services.receive_dossier(session, procedure=spec.procedure, applicant=dict(APPLICANT),
                                         channel="direct", received_by=reception, now=received, received_at=received)
            forwarded = received.replace(minute=30)
            ev(session, d, "forwarded", user=reception, now=forwarded, at=forwarded)
            if case.supplement:
                asked, back, documents = case.supplement
                ev(session, d, "supplement_requested", user=handler, now=t(asked), at=t(asked),
                   note="Bổ sung giấy tờ", data={"documents_to_add": documents})
                ev(session, d, "supplement_received", user=reception, now=t(back), at=t(back))
            if case.extended:
                at, new = case.extended
                ev(session, d, "extended", user=supervisor, now=t(at), at=t(at), new_deadline=t(new),
                   note="Cần thêm thời gian thẩm định")
            ev(session, d, "finished", user=handler, now=t(case.finished), at=t(case.finished), result="approved")
            spec.dossiers.append(d)
    # Outside the review: finished after the window, cancelled after finishing, still open.
    first = PROCEDURES[0].procedure
    for received, finish in (("10/12/2025 08:00", "16/12/2025 08:00"), ("10/03/2025 08:00", "11/03/2025 08:00"),
                             ("10/03/2025 08:00", None)):
        d = services.receive_dossier(session, procedure=first, applicant=dict(APPLICANT), channel="direct",
                                     received_by=reception, now=t(received), received_at=t(received))
        ev(session, d, "forwarded", user=reception, now=t(received).replace(minute=30))
        if finish:
            ev(session, d, "finished", user=handler, now=t(finish), at=t(finish), result="approved")
            if finish.startswith("11/03"):
                ev(session, d, "cancelled", user=supervisor, now=t(finish), note="Nhập nhầm thủ tục")
    session.commit()
    for spec in PROCEDURES:
        spec.procedure_id = spec.procedure.id
    # End the read transaction: on SQLite an open one would make the test client's writes wait.
    session.close()
    return PROCEDURES
