"""One row of a dossier export -> a checked dossier and the events its row tells (pure).

No Flask, no database: the service resolves procedures and units and writes.
A row is rejected with the column at fault and a Vietnamese reason
(:class:`RowRejected`); a good row becomes a :class:`ParsedRow` whose ``events``
are the dossier's life as far as the row tells (domain.md §12, issue #15):

* ``received`` at its real time, with the channel, the reception point and the
  appointment printed on the receipt (kept as the appointment the applicant holds);
* then, as the status implies, ``forwarded``, ``supplement_requested`` /
  ``supplement_received``, ``finished`` (approved or refused), ``handed_over``,
  ``returned_unprocessed``, ``withdrawn`` or ``stopped``;
* an event the status implies but whose time the row lacks takes the row's update
  time (``Ngày cập nhật``) when it fits before the next known time, else the latest
  known time before it, and is marked ``estimated``;
* times out of order, in the future, or a status contradicted by the times
  (a finish time on a row "Đang xử lý") reject the row. Weekends and nights are
  real times (online dossiers), never a contradiction.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Sequence

from intake.dossier_import.mapping import FIELDS, HeaderMatch, Mapping

MAX_TEXT = 2000
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEFAULT_NOTE = "Theo dữ liệu nhập từ tệp (không ghi lý do)."

# The order of a dossier's life; each time column carries one event type.
TIME_COLUMNS = {
    "received": "received_at",
    "forwarded": "forwarded_at",
    "supplement_requested": "supplement_requested_at",
    "supplement_received": "supplement_received_at",
    "finished": "finished_at",
    "handed_over": "handed_over_at",
}
ORDER = ("received", "forwarded", "supplement_requested", "supplement_received", "finished", "handed_over")
CLOSING = {"returned_unprocessed", "withdrawn", "stopped"}

# status -> (event types it requires, event types a given time may add)
_SUPPLEMENT = {"supplement_requested", "supplement_received"}
STATUS_EVENTS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "received": (("received",), frozenset()),
    "in_progress": (("received", "forwarded"), frozenset(_SUPPLEMENT)),
    "awaiting_supplement": (("received", "forwarded", "supplement_requested"), frozenset()),
    "finished": (("received", "forwarded", "finished"), frozenset(_SUPPLEMENT)),
    "handed_over": (("received", "forwarded", "finished", "handed_over"), frozenset(_SUPPLEMENT)),
    "returned_unprocessed": (("received", "returned_unprocessed"), frozenset({"forwarded"} | _SUPPLEMENT)),
    "withdrawn": (("received", "withdrawn"), frozenset({"forwarded"} | _SUPPLEMENT)),
    "stopped": (("received", "forwarded", "stopped"), frozenset(_SUPPLEMENT)),
}
# After a supplement request, these statuses mean the supplement came back.
_PAST_SUPPLEMENT = {"in_progress", "finished", "handed_over"}

STATUS_WORDS_VI = {
    "received": "Mới tiếp nhận", "in_progress": "Đang xử lý", "awaiting_supplement": "Chờ bổ sung",
    "finished": "Đã có kết quả", "handed_over": "Đã trả kết quả", "returned_unprocessed": "Trả lại hồ sơ",
    "withdrawn": "Rút hồ sơ", "stopped": "Dừng xử lý", "cancelled": "Đã hủy",
}
EVENT_WORDS_VI = {
    "received": "tiếp nhận", "forwarded": "chuyển xử lý", "supplement_requested": "yêu cầu bổ sung",
    "supplement_received": "nhận bổ sung", "finished": "có kết quả", "handed_over": "trả kết quả",
    "returned_unprocessed": "trả lại hồ sơ", "withdrawn": "rút hồ sơ", "stopped": "dừng xử lý",
}


class RowRejected(Exception):
    """The row cannot be imported: ``column`` (the file's header, or a field label) and a Vietnamese reason."""

    def __init__(self, column: str, reason: str):
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


@dataclass
class PlannedEvent:
    type: str
    at: datetime
    estimated: bool = False
    note: str = ""
    column: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParsedRow:
    line: int
    code: str
    national_code: str
    procedure_name: str
    applicant_kind: str
    applicant_name: str
    id_number: str
    phone: str
    email: str
    address: str
    request_summary: str
    channel: str
    reception_point: str
    submitted_at: datetime | None
    received_at: datetime
    appointment_at: datetime | None
    unit: str
    status: str
    updated_at: datetime | None
    note: str
    events: list[PlannedEvent]


# -- cells -----------------------------------------------------------------------------------

_DATE_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y %Hh%M", "%H:%M %d/%m/%Y", "%H:%M:%S %d/%m/%Y",
                 "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
                 "%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")
_DAY_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d")


_COMMON = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?")


def parse_datetime(value: Any) -> tuple[datetime | None, bool]:
    """(instant, has_time) of a cell: '21/09/2026 08:05', '08:05 21/09/2026', ISO, or an Excel datetime.

    A blank cell gives (None, True); raises ValueError for anything else.
    """
    if value is None or value == "":
        return None, True
    if isinstance(value, str):
        match = _COMMON.fullmatch(value.strip())
        if match:  # the exports' own format, without strptime's cost (a hundred thousand rows)
            d, m, y, hh, mm, ss = match.groups()
            return datetime(int(y), int(m), int(d), int(hh), int(mm), int(ss or 0)), True
    if isinstance(value, datetime):
        return value.replace(microsecond=0, tzinfo=None), value.time() != time()
    if isinstance(value, date):
        return datetime.combine(value, time()), False
    text = re.sub(r"\s+", " ", str(value).strip())
    if not text:
        return None, True
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(microsecond=0), True
        except ValueError:
            continue
    for fmt in _DAY_FORMATS:
        try:
            return datetime.strptime(text, fmt), False
        except ValueError:
            continue
    raise ValueError(text)


def fmt(dt: datetime) -> str:
    return f"{dt:%H:%M %d/%m/%Y}"


def own_code_parts(code: str, agency_code: str) -> tuple[date, int] | None:
    """(day, sequence) when ``code`` has the agency's own format ``<agency>-YYMMDD-XXXX`` (domain.md §6)."""
    match = re.fullmatch(rf"{re.escape(agency_code)}-(\d{{2}})(\d{{2}})(\d{{2}})-(\d{{4}})", code)
    if not match:
        return None
    yy, mm, dd, seq = (int(g) for g in match.groups())
    try:
        return date(2000 + yy, mm, dd), seq
    except ValueError:
        return None


# -- a row -------------------------------------------------------------------------------------


class _Cells:
    def __init__(self, values: Sequence[Any], match: HeaderMatch, headers: Sequence[Any]):
        self.values = values
        self.index = {name: i for i, name in match.fields.items()}
        self.headers = headers

    def column(self, name: str) -> str:
        i = self.index.get(name)
        if i is not None and i < len(self.headers) and str(self.headers[i]).strip():
            return str(self.headers[i]).strip()
        return FIELDS[name][0] if name in FIELDS else name

    def raw(self, name: str) -> Any:
        i = self.index.get(name)
        if i is None or i >= len(self.values):
            return ""
        return self.values[i]

    def text(self, name: str, max_len: int = 255, required: bool = False) -> str:
        value = self.raw(name)
        if isinstance(value, datetime):
            value = fmt(value)
        text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", str(value or "")).strip()
        if required and not text:
            raise RowRejected(self.column(name), "Ô trống.")
        if len(text) > max_len:
            raise RowRejected(self.column(name), f"Dài quá {max_len} ký tự.")
        return text

    def when(self, name: str, *, now: datetime, low: datetime, high: datetime,
             day_only_time: time | None = None) -> datetime | None:
        value = self.raw(name)
        try:
            at, has_time = parse_datetime(value)
        except ValueError:
            raise RowRejected(self.column(name), f"“{value}” không phải ngày giờ hợp lệ (dạng dd/mm/yyyy hh:mm).") \
                from None
        if at is None:
            return None
        if not has_time:
            if day_only_time is None:
                raise RowRejected(self.column(name), f"“{value}” thiếu giờ; ghi dạng dd/mm/yyyy hh:mm.")
            at = datetime.combine(at.date(), day_only_time)
        if not low <= at <= high:
            raise RowRejected(self.column(name), f"{fmt(at)} nằm ngoài phạm vi lịch làm việc ({low.year}–{high.year}).")
        if at > now and name != "appointment_at":
            raise RowRejected(self.column(name), f"{fmt(at)} ở tương lai.")
        return at


def parse_row(line: int, values: Sequence[Any], match: HeaderMatch, headers: Sequence[Any], mapping: Mapping, *,
              now: datetime, low: datetime, high: datetime, day_close: time = time(17, 0),
              agency_code: str = "") -> ParsedRow:
    """Check one row and plan its events; raises RowRejected naming the column and the reason."""
    c = _Cells(values, match, headers)
    code = c.text("code", 64, required=True)
    if not CODE_RE.fullmatch(code):
        raise RowRejected(c.column("code"), f"Mã hồ sơ “{code}” chỉ được gồm chữ, số và . - _ (tối đa 64 ký tự).")
    national_code = c.text("national_code", 64)
    procedure_name = c.text("procedure_name", MAX_TEXT)
    if not national_code and not procedure_name:
        raise RowRejected(c.column("national_code" if "national_code" in c.index else "procedure_name"),
                          "Thiếu cả mã TTHC và tên thủ tục.")
    kind_raw = c.text("applicant_kind", 64)
    kind = mapping.applicant_kind(kind_raw)
    if kind is None:
        raise RowRejected(c.column("applicant_kind"), f"“{kind_raw}” không phải loại chủ hồ sơ (Công dân / Tổ chức).")
    name = c.text("applicant_name", 255, required=True)
    channel_raw = c.text("channel", 64)
    channel = mapping.channel(channel_raw)
    if channel is None:
        raise RowRejected(c.column("channel"),
                          f"“{channel_raw}” không phải hình thức nộp (Trực tiếp / Trực tuyến / Bưu chính công ích)."
                          if channel_raw else "Ô trống (Trực tiếp / Trực tuyến / Bưu chính công ích).")
    status_raw = c.text("status", 64, required=True)
    status = mapping.status(status_raw)
    if status is None:
        raise RowRejected(c.column("status"), f"Không nhận trạng thái “{status_raw}”; thêm nó vào bảng ánh xạ "
                                              "(mục statuses) nếu đây là tên khác của một trạng thái.")

    bounds = dict(now=now, low=low, high=high)
    received_at = c.when("received_at", **bounds)
    if received_at is None:
        raise RowRejected(c.column("received_at"), "Ô trống.")
    submitted_at = c.when("submitted_at", **bounds)
    if submitted_at is not None and submitted_at > received_at:
        raise RowRejected(c.column("submitted_at"),
                          f"Thời điểm nộp {fmt(submitted_at)} sau thời điểm tiếp nhận {fmt(received_at)}.")
    appointment_at = c.when("appointment_at", **bounds, day_only_time=day_close)
    if appointment_at is not None and appointment_at < received_at:
        raise RowRejected(c.column("appointment_at"),
                          f"Ngày hẹn trả {fmt(appointment_at)} trước ngày tiếp nhận {fmt(received_at)}.")
    updated_at = c.when("updated_at", **bounds)

    own = own_code_parts(code, agency_code) if agency_code else None
    if own is not None and own[0] != received_at.date():
        raise RowRejected(c.column("code"), f"Mã hồ sơ mang ngày {own[0]:%d/%m/%Y} nhưng ngày tiếp nhận là "
                                            f"{received_at:%d/%m/%Y}.")

    given: dict[str, datetime] = {"received": received_at}
    columns: dict[str, str] = {"received": c.column("received_at")}
    for event_type, column in TIME_COLUMNS.items():
        if event_type == "received":
            continue
        at = c.when(column, **bounds)
        if at is not None:
            given[event_type] = at
            columns[event_type] = c.column(column)
    closed_at = c.when("closed_at", **bounds)
    if closed_at is not None:
        if status not in CLOSING:
            raise RowRejected(c.column("closed_at"), f"Có ngày kết thúc nhưng trạng thái là “{status_raw}”.")
        given[status] = closed_at
        columns[status] = c.column("closed_at")

    result = None
    result_raw = c.text("result", 255)
    if status in ("finished", "handed_over"):
        result = mapping.result(result_raw)
        if result is None:
            raise RowRejected(c.column("result"), f"Không nhận kết quả “{result_raw}” (Cấp phép / Từ chối ...)."
                              if result_raw else "Hồ sơ đã có kết quả nhưng ô kết quả trống (Cấp phép / Từ chối).")

    note = c.text("note", MAX_TEXT)
    events = plan_events(status, given, columns, updated_at=updated_at,
                         updated_column=c.column("updated_at"), status_word=status_raw, note=note, result=result)
    received = events[0]
    received.data["channel"] = channel
    reception_point = c.text("reception_point", 255) or mapping.defaults.get("reception_point", "")
    if reception_point:
        received.data["reception_point"] = reception_point
    if appointment_at is not None:
        received.data["appointment"] = appointment_at.isoformat()
    return ParsedRow(
        line=line, code=code, national_code=national_code, procedure_name=procedure_name, applicant_kind=kind,
        applicant_name=name, id_number=c.text("id_number", 32), phone=c.text("phone", 32), email=c.text("email", 255),
        address=c.text("address", MAX_TEXT), request_summary=c.text("request_summary", MAX_TEXT), channel=channel,
        reception_point=reception_point, submitted_at=submitted_at, received_at=received_at,
        appointment_at=appointment_at, unit=c.text("unit", 255), status=status, updated_at=updated_at, note=note,
        events=events,
    )


def _estimate(previous: datetime, following: datetime | None, updated_at: datetime | None) -> datetime:
    """The time of an implied event: the update time when it fits before the next known time, else the latest
    known time before it."""
    if updated_at is not None and updated_at >= previous and (following is None or updated_at <= following):
        return updated_at
    return previous


def plan_events(status: str, given: dict[str, datetime], columns: dict[str, str], *, updated_at: datetime | None,
                updated_column: str = "Ngày cập nhật", status_word: str = "", note: str = "",
                result: str | None = None) -> list[PlannedEvent]:
    """The events of a row whose status is ``status`` and whose time columns gave ``given`` (type -> time)."""
    required, optional = STATUS_EVENTS[status]
    word = status_word or STATUS_WORDS_VI[status]
    for event_type in given:
        if event_type not in required and event_type not in optional:
            raise RowRejected(columns[event_type], f"Trạng thái “{word}” mâu thuẫn với việc có thời điểm "
                                                   f"{EVENT_WORDS_VI[event_type]} ({fmt(given[event_type])}).")
    if status == "awaiting_supplement" and "supplement_received" in given:
        raise RowRejected(columns["supplement_received"], f"Trạng thái “{word}” nhưng đã có ngày nhận bổ sung.")
    types = set(required) | set(given)
    if "supplement_received" in types:
        types.add("supplement_requested")
    if "supplement_requested" in types:
        types.add("forwarded")
        if status in _PAST_SUPPLEMENT:
            types.add("supplement_received")
    closing = [t for t in required if t in CLOSING]
    chain = [t for t in ORDER if t in types] + closing

    # Known times must follow the order of the chain.
    last_type, last_at = "received", given["received"]
    for event_type in chain[1:]:
        at = given.get(event_type)
        if at is None:
            continue
        if at < last_at:
            raise RowRejected(columns[event_type], f"Thời điểm {EVENT_WORDS_VI[event_type]} {fmt(at)} trước thời "
                                                   f"điểm {EVENT_WORDS_VI[last_type]} {fmt(last_at)}.")
        last_type, last_at = event_type, at
    if updated_at is not None and updated_at < last_at:
        raise RowRejected(updated_column, f"Ngày cập nhật {fmt(updated_at)} trước thời điểm "
                                          f"{EVENT_WORDS_VI[last_type]} {fmt(last_at)}.")

    events: list[PlannedEvent] = []
    for i, event_type in enumerate(chain):
        at = given.get(event_type)
        estimated = at is None
        if at is None:
            following = next((given[t] for t in chain[i + 1:] if t in given), None)
            at = _estimate(events[-1].at, following, updated_at)
        event = PlannedEvent(type=event_type, at=at, estimated=estimated, column=columns.get(event_type, ""))
        if event_type == "finished":
            event.data["result"] = result or "approved"
        if event_type in ("supplement_requested", "returned_unprocessed", "withdrawn", "stopped"):
            event.note = note or DEFAULT_NOTE
            if event_type == "stopped":
                event.data["reason"] = event.note
        events.append(event)
    return events


# -- a later export of a known dossier ---------------------------------------------------------------


@dataclass(frozen=True)
class KnownEvent:
    type: str
    at: datetime


def plan_update(existing: Sequence[KnownEvent], status_here: str, row: ParsedRow) -> list[PlannedEvent]:
    """The events of ``row`` that a dossier already recorded here lacks, to append after its last event.

    ``existing`` are the dossier's standing events here, in order. What is recorded here is never rewritten:
    events of the row already present (by type, in order) are skipped, whatever their times; an empty list means
    "unchanged" (also when the dossier here is further on than the row). Raises RowRejected when the row's
    story and the one recorded here diverge (a new event would come before one recorded here).
    """
    if status_here == "cancelled":
        raise RowRejected("Mã hồ sơ", "Hồ sơ đã bị hủy (nhập nhầm) trên hệ thống; không cập nhật.")
    plan = list(row.events)
    known_types = [e.type for e in existing]
    plan_types = [e.type for e in plan]
    # A supplement recorded here and a row that says the dossier moved on: the supplement came back.
    if "supplement_requested" in known_types and "supplement_requested" not in plan_types \
            and row.status in _PAST_SUPPLEMENT and "forwarded" in plan_types:
        at = plan_types.index("forwarded") + 1
        requested = next(e for e in existing if e.type == "supplement_requested")
        insert = [PlannedEvent("supplement_requested", requested.at)]
        if "supplement_received" not in known_types:
            following = plan[at].at if at < len(plan) and not plan[at].estimated else None
            previous = max(requested.at, plan[at - 1].at)
            insert.append(PlannedEvent("supplement_received", _estimate(previous, following, row.updated_at),
                                       estimated=True))
        else:
            insert.append(PlannedEvent("supplement_received", next(e for e in existing
                                                                   if e.type == "supplement_received").at))
        plan[at:at] = insert
    remaining: dict[str, int] = {}
    for t in known_types:
        remaining[t] = remaining.get(t, 0) + 1
    new: list[PlannedEvent] = []
    for event in plan:
        if not new and remaining.get(event.type, 0) > 0:
            remaining[event.type] -= 1
            continue
        if remaining.get(event.type, 0) > 0:
            raise RowRejected("Trạng thái", f"Diễn biến trong tệp khác với hồ sơ đã ghi trên hệ thống (trạng thái hiện "
                                            f"tại: {STATUS_WORDS_VI.get(status_here, status_here)}); không ghi đè.")
        new.append(event)
    if not new:
        return []
    if any(remaining.get(t, 0) > 0 for t in ORDER + tuple(CLOSING)):
        raise RowRejected("Trạng thái", f"Hồ sơ trên hệ thống đã có diễn biến khác (trạng thái hiện tại: "
                                        f"{STATUS_WORDS_VI.get(status_here, status_here)}); không ghi đè.")
    last_here = max(e.at for e in existing)
    floor = last_here
    for event in new:
        if event.at < floor:
            if not event.estimated:
                raise RowRejected(event.column or EVENT_WORDS_VI[event.type].capitalize(),
                                  f"Thời điểm {EVENT_WORDS_VI[event.type]} {fmt(event.at)} trước sự kiện đã ghi trên "
                                  f"hệ thống lúc {fmt(last_here)}.")
            event.at = floor
        floor = event.at
    return new
