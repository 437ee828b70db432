"""A fixture dataset for the report tests: dossiers built directly with the models.

Deadlines come from the real rules (deadlines.store.refresh_dossier with the shipped
2026 calendar, so Tết 16–20/02/2026 is off); statuses and timestamps are set the way
intake sets them. The independent expected counts are computed in plain Python.
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from deadlines.store import calendar_for, refresh_dossier
from tests.factories import make_procedure, make_unit
from tthc.models import Dossier, DossierEvent

F1 = "Hoạt động khoa học và công nghệ"
F2 = "Sở hữu trí tuệ"
INJECTION = '=HYPERLINK("http://evil.example","bấm vào đây")'
# --period 2026-03: 15/02/2026 00:00 .. 14/03/2026 23:59:59, across Tết 16–20/02/2026.
START = datetime(2026, 2, 15)
END = datetime(2026, 3, 15)
NOW = datetime(2026, 3, 25, 9, 0)

STATUS_AFTER = {
    "received": "received", "forwarded": "in_progress", "supplement_requested": "awaiting_supplement",
    "supplement_received": "in_progress", "finished": "finished", "handed_over": "handed_over",
    "returned_unprocessed": "returned_unprocessed", "withdrawn": "withdrawn", "cancelled": "cancelled",
}
_numbers = itertools.count(1)


@dataclass
class Dataset:
    dossiers: dict[str, Dossier] = field(default_factory=dict)
    units: dict[str, object] = field(default_factory=dict)
    procedures: dict[str, object] = field(default_factory=dict)


class Builder:
    def __init__(self, session):
        self.session = session
        self.cal = calendar_for(session)

    def dossier(self, code, procedure, unit, received_at, channel="direct", name="Nguyễn Văn An",
                phone="0912345678", address="12 Lê Lợi, phường Bến Thành", supplement_rule="restart") -> Dossier:
        n = next(_numbers)
        d = Dossier(
            code=code, procedure_id=procedure.id, procedure=procedure, field=procedure.field, unit_id=unit.id,
            rule={"limit_unit": procedure.limit_unit, "limit_amount": procedure.statutory_amount,
                  "supplement_rule": supplement_rule},
            applicant_name=name, applicant_phone=phone, applicant_address=address, channel=channel,
            received_at=received_at, register_year=received_at.year, register_number=n, sets=1,
            appointment_at=None, status="received",
        )
        self.session.add(d)
        self.event(d, "received", received_at)
        d.appointment_at = d.deadline_at
        return d

    def event(self, d: Dossier, type_: str, at: datetime, note: str = "", data: dict | None = None) -> Dossier:
        d.events.append(DossierEvent(seq=len(d.events) + 1, type=type_, at=at, note=note, data=data or {},
                                     voided=False, recorded_at=at))
        d.status = STATUS_AFTER.get(type_, d.status)
        if type_ == "forwarded":
            d.forwarded_at = at
        elif type_ == "extended":
            d.extended = True
        elif type_ == "finished":
            d.result = (data or {}).get("result", "approved")
        elif type_ == "handed_over":
            d.handed_over_at = at
        elif type_ in ("returned_unprocessed", "withdrawn", "cancelled"):
            d.closed_at = at
        refresh_dossier(self.session, d, self.cal)
        return d


def build(session) -> Dataset:
    ds = Dataset()
    u1 = make_unit(session, name="Phòng Quản lý khoa học")
    u2 = make_unit(session, name="Phòng Sở hữu trí tuệ")
    a = make_procedure(session, field=F1, name="Cấp giấy chứng nhận doanh nghiệp KH&CN", statutory_amount=5, unit_id=u1.id)
    b = make_procedure(session, field=F2, name="Cấp giấy chứng nhận tổ chức giám định SHCN", statutory_amount=30,
                       unit_id=u2.id)
    c = make_procedure(session, field=F1, name="Đăng ký kết quả nhiệm vụ KH&CN", statutory_amount=5, unit_id=u2.id)
    ds.units.update(u1=u1, u2=u2)
    ds.procedures.update(a=a, b=b, c=c)
    bld = Builder(session)
    D = ds.dossiers

    # 1. carried over (received before Tết), finished in the period; the deadline runs across Tết.
    d = D["carried-finished"] = bld.dossier("D01", a, u1, datetime(2026, 2, 10, 9, 0))
    bld.event(d, "forwarded", datetime(2026, 2, 10, 10, 0))
    bld.event(d, "finished", datetime(2026, 2, 23, 10, 0))
    # 2. carried over, still open, overdue at the end.
    d = D["carried-overdue"] = bld.dossier("D02", a, u1, datetime(2026, 1, 20, 8, 0))
    bld.event(d, "forwarded", datetime(2026, 1, 20, 9, 0))
    # 3. returned before the period: out.
    d = D["returned-before"] = bld.dossier("D03", a, u1, datetime(2026, 1, 5, 8, 0))
    bld.event(d, "returned_unprocessed", datetime(2026, 1, 9, 8, 0), note="Không thuộc thẩm quyền")
    # 4. finished (and handed over) before the period: out.
    d = D["finished-before"] = bld.dossier("D04", a, u1, datetime(2026, 1, 5, 8, 0))
    bld.event(d, "forwarded", datetime(2026, 1, 5, 9, 0))
    bld.event(d, "finished", datetime(2026, 1, 8, 8, 0))
    bld.event(d, "handed_over", datetime(2026, 1, 9, 8, 0))
    # 5. new online, finished on time (on the deadline's day, before its time).
    d = D["online-on-time"] = bld.dossier("D05", a, u1, datetime(2026, 2, 25, 8, 0), channel="online")
    bld.event(d, "forwarded", datetime(2026, 2, 25, 9, 0))
    bld.event(d, "finished", d.original_deadline_at - timedelta(minutes=30))
    # 6. new postal, finished late.
    d = D["postal-late"] = bld.dossier("D06", a, u1, datetime(2026, 2, 25, 8, 0), channel="postal")
    bld.event(d, "forwarded", datetime(2026, 2, 25, 9, 0))
    bld.event(d, "finished", d.original_deadline_at + timedelta(days=2))
    # 7. extended with an apology, finished after the original deadline but before the new one: late.
    d = D["extended-late"] = bld.dossier("D07", a, u1, datetime(2026, 2, 24, 8, 0))
    bld.event(d, "forwarded", datetime(2026, 2, 24, 9, 0))
    new = d.original_deadline_at + timedelta(days=7)
    bld.event(d, "extended", d.original_deadline_at - timedelta(days=1), note="Chờ ý kiến của Sở Tài chính",
              data={"new_deadline": new.isoformat()})
    bld.event(d, "finished", d.original_deadline_at + timedelta(days=1))
    # 8. extended, still open at the end, past its original deadline: overdue, apology issued.
    d = D["extended-overdue"] = bld.dossier("D08", c, u2, datetime(2026, 3, 2, 8, 0))
    bld.event(d, "forwarded", datetime(2026, 3, 2, 9, 0))
    new = d.original_deadline_at + timedelta(days=14)
    bld.event(d, "extended", d.original_deadline_at - timedelta(days=1), note="Cần thẩm định thực tế tại cơ sở",
              data={"new_deadline": new.isoformat()})
    # 9. new online, withdrawn in the period.
    d = D["withdrawn"] = bld.dossier("D09", a, u1, datetime(2026, 2, 26, 8, 0), channel="online")
    bld.event(d, "withdrawn", datetime(2026, 3, 2, 8, 0), note="Người nộp xin rút")
    # 10. new direct, returned unprocessed in the period.
    d = D["returned"] = bld.dossier("D10", c, u2, datetime(2026, 2, 26, 8, 0))
    bld.event(d, "returned_unprocessed", datetime(2026, 2, 27, 8, 0), note="Không đủ điều kiện")
    # 11. refused after appraisal (finished early, result refused).
    d = D["refused"] = bld.dossier("D11", a, u1, datetime(2026, 2, 23, 8, 0))
    bld.event(d, "forwarded", datetime(2026, 2, 23, 9, 0))
    bld.event(d, "finished", datetime(2026, 2, 24, 9, 0), data={"result": "refused"})
    # 12. awaiting a supplement at the end, past its deadline: counted within time.
    d = D["awaiting"] = bld.dossier("D12", a, u1, datetime(2026, 2, 23, 8, 0), channel="online")
    bld.event(d, "forwarded", datetime(2026, 2, 23, 9, 0))
    bld.event(d, "supplement_requested", datetime(2026, 2, 25, 9, 0), note="Thiếu bản sao")
    # 13. received at the end of the period, within time; the applicant's name is a formula.
    d = D["open-within"] = bld.dossier("D13", a, u1, datetime(2026, 3, 13, 8, 0), name=INJECTION,
                                       phone="0987654321")
    # 14. cancelled (entered by mistake): out of statistics.
    d = D["cancelled"] = bld.dossier("D14", a, u1, datetime(2026, 2, 26, 8, 0))
    bld.event(d, "cancelled", datetime(2026, 2, 27, 8, 0), note="Nhập nhầm")
    # 15. received after the period: out.
    D["after"] = bld.dossier("D15", a, u1, datetime(2026, 3, 16, 8, 0))
    # 16. received in the period, finished after it: in progress (overdue) at the end, whatever its status now.
    d = D["finished-after"] = bld.dossier("D16", c, u2, datetime(2026, 3, 2, 8, 0))
    bld.event(d, "forwarded", datetime(2026, 3, 2, 9, 0))
    bld.event(d, "finished", datetime(2026, 3, 20, 8, 0))
    # 17. carried over, withdrawn in the period.
    d = D["carried-withdrawn"] = bld.dossier("D17", a, u1, datetime(2026, 2, 12, 8, 0), channel="online")
    bld.event(d, "withdrawn", datetime(2026, 2, 24, 8, 0), note="Rút để bổ sung sau")
    # 18. second field: carried over (30 working days), within time at the end.
    d = D["f2-carried-within"] = bld.dossier("D18", b, u2, datetime(2026, 2, 12, 8, 0), channel="postal")
    bld.event(d, "forwarded", datetime(2026, 2, 12, 9, 0))
    # 19. second field: new, finished early and handed over.
    d = D["f2-early"] = bld.dossier("D19", b, u2, datetime(2026, 2, 27, 8, 0), channel="online")
    bld.event(d, "forwarded", datetime(2026, 2, 27, 9, 0))
    bld.event(d, "finished", datetime(2026, 3, 5, 8, 0))
    bld.event(d, "handed_over", datetime(2026, 3, 6, 8, 0))
    session.flush()
    return ds


def build_changed_after_the_end(session) -> Dataset:
    """Dossiers whose deadline state changed after the end of 2026-03 (15/02–14/03/2026): a report of
    that period must count them as they stood at its end, not as they are now (domain.md §8).

    Procedures of 5 working days; each received 02/02/2026 09:00 and forwarded at 09:30, hence
    due 09/02/2026 09:00 and past it at the end unless a supplement was awaited then. Procedure "a"
    holds those overdue at the end (today's state says otherwise for X01, X02), "b" those within time
    (today's state says overdue), so that the two errors cannot cancel out in a row.
    """
    ds = Dataset()
    unit = make_unit(session, name="Phòng Tiêu chuẩn")
    a = make_procedure(session, field=F1, name="Công bố hợp chuẩn", statutory_amount=5, unit_id=unit.id)
    b = make_procedure(session, field=F1, name="Công bố hợp quy", statutory_amount=5, unit_id=unit.id)
    ds.units.update(u=unit)
    ds.procedures.update(a=a, b=b)
    bld = Builder(session)
    D = ds.dossiers
    received, forwarded = datetime(2026, 2, 2, 9, 0), datetime(2026, 2, 2, 9, 30)

    def opened(key, code, rule="restart", procedure=a):
        d = D[key] = bld.dossier(code, procedure, unit, received, supplement_rule=rule)
        bld.event(d, "forwarded", forwarded)
        return d

    # Overdue at the end, supplement requested after it: now awaiting, was overdue.
    d = opened("requested-after", "X01")
    bld.event(d, "supplement_requested", datetime(2026, 3, 20, 9, 0), note="Thiếu bản sao")
    # Overdue at the end, supplement requested and received after it: the restart moves today's deadline.
    d = opened("restarted-after", "X02")
    bld.event(d, "supplement_requested", datetime(2026, 3, 20, 9, 0), note="Thiếu bản sao")
    bld.event(d, "supplement_received", datetime(2026, 3, 23, 9, 0))
    # Awaiting at the end (request after the deadline), received after it under "pause": the deadline
    # stays 09/02 and the status is in progress now, but it was within time at the end.
    d = opened("awaiting-then-received", "X03", rule="pause", procedure=b)
    bld.event(d, "supplement_requested", datetime(2026, 3, 2, 9, 0), note="Thiếu bản sao")
    bld.event(d, "supplement_received", datetime(2026, 3, 18, 9, 0))
    # Awaiting at the end, returned unprocessed after it: within time at the end.
    d = opened("awaiting-then-returned", "X04", procedure=b)
    bld.event(d, "supplement_requested", datetime(2026, 3, 2, 9, 0), note="Thiếu bản sao")
    bld.event(d, "returned_unprocessed", datetime(2026, 3, 20, 9, 0), note="Không bổ sung")
    # Control: a voided request after the end changes nothing (overdue then and now).
    d = opened("voided-after", "X05")
    bld.event(d, "supplement_requested", datetime(2026, 3, 20, 9, 0), note="Nhầm")
    d.events[-1].voided = True
    d.status = "in_progress"
    refresh_dossier(session, d, bld.cal)
    # Control: requested and received within the period (restart): today's state is the state then.
    d = opened("restarted-within", "X06")
    bld.event(d, "supplement_requested", datetime(2026, 3, 2, 9, 0), note="Thiếu bản sao")
    bld.event(d, "supplement_received", datetime(2026, 3, 3, 9, 0))
    session.flush()
    return ds


COUNTS = ("carried", "online", "direct", "postal", "early", "on_time", "late", "within", "overdue", "returned")


def expected_counts(dossiers, start, end, key, measured=None) -> dict:
    """The report, counted in plain Python over the dossiers (domain.md §7, §8); in progress is
    measured at ``measured`` (now, for a running period), by default the end. Reads today's status:
    for dossiers without supplement events after the measuring instant (build_changed_after_the_end
    has its own hand-worked figures)."""
    measured = end if measured is None else min(end, measured)
    rows: dict = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    for d in dossiers:
        if d.status == "cancelled" or d.received_at >= end:
            continue
        ended = d.finished_at or d.closed_at
        if ended is not None and ended < start:
            continue
        row = rows[key(d)]
        if d.received_at < start:
            row["carried"] += 1
        else:
            row[d.channel] += 1
        if d.finished_at is not None and start <= d.finished_at < end:
            row[d.classification or "on_time"] += 1
        elif d.finished_at is None and d.closed_at is not None and start <= d.closed_at < end:
            row["returned"] += 1
        elif (d.original_deadline_at is not None and d.original_deadline_at < measured
              and d.status != "awaiting_supplement"):
            row["overdue"] += 1
        else:
            row["within"] += 1
    return dict(rows)


def derived(counts: dict) -> dict:
    out = dict(counts)
    out["received"] = counts["carried"] + counts["online"] + counts["direct"] + counts["postal"]
    out["finished"] = counts["early"] + counts["on_time"] + counts["late"]
    out["in_progress"] = counts["within"] + counts["overdue"]
    out["rate"] = round((counts["early"] + counts["on_time"]) / out["finished"], 4) if out["finished"] else None
    return out


def expected_dossiers_overdue(dossiers, start, end) -> list:
    """In progress at the end and past the original deadline (not while awaiting a supplement)."""
    out = []
    for d in dossiers:
        if d.status == "cancelled" or d.received_at >= end:
            continue
        ended = d.finished_at or d.closed_at
        if ended is not None and ended < end:
            continue
        if d.original_deadline_at is not None and d.original_deadline_at < end and d.status != "awaiting_supplement":
            out.append(d)
    return out


def detach(session, ds: Dataset) -> None:
    """Load what the tests read, then detach: no session (nor SQLite lock) outlives the fixture."""
    for d in ds.dossiers.values():
        _ = (d.id, d.procedure.name, d.procedure.national_code, d.original_deadline_at)
    for obj in list(ds.units.values()) + list(ds.procedures.values()):
        _ = obj.id
    session.expunge_all()
    session.close()
