"""The pure part of the dossier import: reading files, recognising headers, one row -> its events."""
from __future__ import annotations

import csv
import io
import unicodedata
from collections import Counter
from datetime import datetime, time

import pytest

from intake.dossier_import.mapping import Mapping, MappingError, match_headers
from intake.dossier_import.reading import FileError, detect_encoding, open_table
from intake.dossier_import.rows import KnownEvent, RowRejected, own_code_parts, parse_datetime, parse_row, plan_update

SAMPLE = "/work/shared/data/dossiers_import_sample.csv"
NOW = datetime(2026, 12, 1, 9, 0)
BOUNDS = dict(now=NOW, low=datetime(2018, 1, 1), high=datetime(2026, 12, 31, 23, 59, 59))
HEADERS = ["Mã hồ sơ", "Mã TTHC", "Tên thủ tục", "Chủ hồ sơ", "Hình thức nộp", "Ngày tiếp nhận", "Ngày hẹn trả",
           "Ngày chuyển xử lý", "Ngày có kết quả", "Kết quả", "Ngày trả kết quả", "Trạng thái", "Ngày cập nhật",
           "Ghi chú"]


def row(**cells):
    base = {"Mã hồ sơ": "X-1", "Mã TTHC": "1.000001", "Tên thủ tục": "Thủ tục A", "Chủ hồ sơ": "Lê Văn A",
            "Hình thức nộp": "Trực tiếp", "Ngày tiếp nhận": "02/11/2026 08:00", "Trạng thái": "Mới tiếp nhận"}
    base.update(cells)
    return [base.get(h, "") for h in HEADERS]


def parse(values, mapping=Mapping(), agency_code=""):
    match = match_headers(HEADERS, mapping)
    return parse_row(7, values, match, HEADERS, mapping, **BOUNDS, agency_code=agency_code)


def events(parsed):
    return [(e.type, f"{e.at:%d/%m %H:%M}", e.estimated) for e in parsed.events]


def test_the_sample_file_gives_forty_rows_whose_statuses_match_an_independent_count():
    expected = Counter(r["Trạng thái"] for r in csv.DictReader(open(SAMPLE, encoding="utf-8-sig")))
    words = {"received": "Mới tiếp nhận", "in_progress": "Đang xử lý", "awaiting_supplement": "Chờ bổ sung",
             "finished": "Đã có kết quả", "handed_over": "Đã trả kết quả", "returned_unprocessed": "Trả lại hồ sơ",
             "withdrawn": "Rút hồ sơ"}
    with open(SAMPLE, "rb") as fh:
        table = open_table(fh, SAMPLE)
        match = match_headers(table.headers, Mapping())
        assert match.usable and not match.unknown
        got = Counter(words[parse_row(line, values, match, table.headers, Mapping(), **BOUNDS).status]
                      for line, values in table.rows)
    assert got == expected and sum(got.values()) == 40


def test_a_row_awaiting_a_supplement_without_its_time_takes_the_update_time_marked_estimated():
    parsed = parse(row(**{"Ngày chuyển xử lý": "02/11/2026 09:00", "Trạng thái": "Chờ bổ sung",
                          "Ngày cập nhật": "04/11/2026 10:00"}))
    assert events(parsed) == [("received", "02/11 08:00", False), ("forwarded", "02/11 09:00", False),
                              ("supplement_requested", "04/11 10:00", True)]


def test_an_implied_event_without_an_update_time_takes_the_latest_known_time():
    parsed = parse(row(**{"Trạng thái": "Đã có kết quả", "Ngày có kết quả": "05/11/2026 10:00", "Kết quả": "Cấp phép"}))
    assert events(parsed) == [("received", "02/11 08:00", False), ("forwarded", "02/11 08:00", True),
                              ("finished", "05/11 10:00", False)]
    assert parsed.events[-1].data["result"] == "approved"


def test_an_update_time_after_the_next_known_time_does_not_place_a_middle_event_after_it():
    parsed = parse(row(**{"Trạng thái": "Đã trả kết quả", "Ngày có kết quả": "05/11/2026 10:00",
                          "Kết quả": "Từ chối (có văn bản trả lời)", "Ngày trả kết quả": "06/11/2026 08:00",
                          "Ngày cập nhật": "07/11/2026 08:00"}))
    assert events(parsed)[1] == ("forwarded", "02/11 08:00", True)
    assert parsed.events[2].data["result"] == "refused"


def test_the_appointment_printed_on_the_receipt_rides_in_the_received_event():
    parsed = parse(row(**{"Ngày hẹn trả": "10/11/2026 16:30"}))
    assert parsed.events[0].data == {"channel": "direct", "appointment": "2026-11-10T16:30:00"}


def test_weekend_and_night_times_are_real_times_not_contradictions():
    parsed = parse(row(**{"Ngày tiếp nhận": "07/11/2026 21:40", "Ngày chuyển xử lý": "08/11/2026 23:00",
                          "Trạng thái": "Đang xử lý"}))  # a Saturday night, then a Sunday night
    assert events(parsed) == [("received", "07/11 21:40", False), ("forwarded", "08/11 23:00", False)]


@pytest.mark.parametrize("cells, column, words", [
    ({"Trạng thái": "Đã có kết quả", "Ngày có kết quả": "01/11/2026 10:00", "Kết quả": "Cấp phép"},
     "Ngày có kết quả", "trước thời điểm tiếp nhận"),
    ({"Ngày tiếp nhận": "31/02/2026 08:00"}, "Ngày tiếp nhận", "không phải ngày giờ hợp lệ"),
    ({"Ngày tiếp nhận": "hôm qua"}, "Ngày tiếp nhận", "không phải ngày giờ hợp lệ"),
    ({"Ngày tiếp nhận": "02/11/2026"}, "Ngày tiếp nhận", "thiếu giờ"),
    ({"Ngày tiếp nhận": "02/12/2026 08:00"}, "Ngày tiếp nhận", "ở tương lai"),
    ({"Trạng thái": "Đang xử lý", "Ngày có kết quả": "05/11/2026 10:00"}, "Ngày có kết quả", "mâu thuẫn"),
    ({"Trạng thái": "Mới tiếp nhận", "Ngày chuyển xử lý": "02/11/2026 09:00"}, "Ngày chuyển xử lý", "mâu thuẫn"),
    ({"Ngày hẹn trả": "01/11/2026 16:30"}, "Ngày hẹn trả", "trước ngày tiếp nhận"),
    ({"Trạng thái": "Đang xử lý", "Ngày chuyển xử lý": "03/11/2026 09:00", "Ngày cập nhật": "02/11/2026 09:00"},
     "Ngày cập nhật", "trước thời điểm chuyển xử lý"),
    ({"Trạng thái": "Đã có kết quả", "Ngày có kết quả": "05/11/2026 10:00"}, "Kết quả", "ô kết quả trống"),
    ({"Trạng thái": "Đã xong rồi"}, "Trạng thái", "Không nhận trạng thái"),
    ({"Hình thức nộp": "Bồ câu"}, "Hình thức nộp", "không phải hình thức nộp"),
    ({"Chủ hồ sơ": ""}, "Chủ hồ sơ", "Ô trống"),
    ({"Mã hồ sơ": "A B"}, "Mã hồ sơ", "chỉ được gồm"),
    ({"Mã TTHC": "", "Tên thủ tục": ""}, "Mã TTHC", "Thiếu cả mã TTHC và tên thủ tục"),
])
def test_a_bad_row_is_rejected_with_its_column_and_a_vietnamese_reason(cells, column, words):
    with pytest.raises(RowRejected) as caught:
        parse(row(**cells))
    assert caught.value.column == column
    assert words in caught.value.reason


@pytest.mark.parametrize("text, expected, has_time", [
    ("21/09/2026 08:05", datetime(2026, 9, 21, 8, 5), True),
    ("21/09/2026 08:05:30", datetime(2026, 9, 21, 8, 5, 30), True),
    ("08:05 21/09/2026", datetime(2026, 9, 21, 8, 5), True),
    ("2026-09-21 08:05:00", datetime(2026, 9, 21, 8, 5), True),
    ("21/09/2026", datetime(2026, 9, 21), False),
    (datetime(2026, 9, 21, 8, 5, 0, 123), datetime(2026, 9, 21, 8, 5), True),
    ("", None, True),
])
def test_dates_are_read_in_the_formats_exports_use(text, expected, has_time):
    assert parse_datetime(text) == (expected, has_time)


def test_an_appointment_without_a_time_means_the_close_of_that_day():
    parsed = parse(row(**{"Ngày hẹn trả": "10/11/2026"}))
    assert parsed.appointment_at == datetime(2026, 11, 10, 17, 0)


def test_a_code_of_the_agencys_own_format_must_carry_its_reception_day():
    assert own_code_parts("000.00.31.H49-261102-0007", "000.00.31.H49") == (datetime(2026, 11, 2).date(), 7)
    assert own_code_parts("H49.36-261102-0007", "000.00.31.H49") is None
    with pytest.raises(RowRejected, match="mang ngày 03/11/2026"):
        parse(row(**{"Mã hồ sơ": "000.00.31.H49-261103-0001"}), agency_code="000.00.31.H49")


def cp1258(text: str) -> bytes:
    """Encode as Excel does in Vietnamese Windows: base letters (â, ê, ơ ...) precomposed, tone marks combining."""
    out = b""
    for ch in text:
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(m for m in parts if m in "\u0300\u0301\u0303\u0309\u0323")
        base = unicodedata.normalize("NFC", "".join(m for m in parts if m not in tones))
        out += base.encode("cp1258") + tones.encode("cp1258")
    return out


def test_cp1258_files_decode_to_nfc_text_equal_to_the_utf8_ones():
    text = "Mã hồ sơ;Chủ hồ sơ;Trạng thái\nA-1;Nguyễn Thị Huyền Trang;Chờ bổ sung\n"
    tables = {}
    for name, data in {"utf8": text.encode("utf-8"), "bom": b"\xef\xbb\xbf" + text.encode("utf-8"),
                       "cp1258": cp1258(text)}.items():
        stream = io.BytesIO(data)
        table = open_table(stream, "x.csv")
        tables[name] = (table.encoding, table.headers, list(table.rows))
    assert [t[0] for t in tables.values()] == ["utf-8", "utf-8-sig", "cp1258"]
    # cp1258 has no precomposed "ễ": it decodes to "ê" + a combining tilde, normalised back to NFC here
    assert b"\xea\xde" in cp1258("ễ") and tables["cp1258"][2][0][1][1] == "Nguyễn Thị Huyền Trang"
    assert tables["cp1258"][1:] == tables["utf8"][1:] == tables["bom"][1:]


def test_a_long_valid_utf8_file_is_still_detected_as_utf8_past_the_first_chunk():
    data = ("a," * 40000 + "ễ\n").encode("utf-8")
    assert detect_encoding(io.BytesIO(data)) == "utf-8"
    assert detect_encoding(io.BytesIO(data + cp1258("ệ"))) == "cp1258"


def test_a_file_of_another_type_or_empty_is_refused_as_a_whole():
    with pytest.raises(FileError, match="chỉ nhận .csv hoặc .xlsx"):
        open_table(io.BytesIO(b"x"), "a.pdf")
    with pytest.raises(FileError, match="Tệp rỗng"):
        open_table(io.BytesIO(b""), "a.csv")
    with pytest.raises(FileError, match="Excel"):
        open_table(io.BytesIO(b"not a zip"), "a.xlsx")


def test_a_mapping_names_unknown_headers_status_words_and_defaults():
    mapping = Mapping.from_json('{"columns": {"Số biên nhận": "code", "Cột rác": null, "Hạn": "appointment_at"},'
                                ' "statuses": {"Hoàn tất": "handed_over"}, "defaults": {"channel": "online"}}')
    headers = ["Số biên nhận", "Cột rác", "Tên thủ tục", "Chủ hồ sơ", "Ngày tiếp nhận", "Trạng thái", "Khác"]
    match = match_headers(headers, mapping)
    assert match.fields == {0: "code", 2: "procedure_name", 3: "applicant_name", 4: "received_at", 5: "status"}
    assert match.ignored == [(1, "Cột rác")] and match.unknown == [(6, "Khác")] and match.usable
    assert mapping.status("HOÀN TẤT") == "handed_over" and mapping.channel("") == "online"
    assert not match_headers(["Mã hồ sơ", "Trạng thái"], Mapping()).usable


@pytest.mark.parametrize("text, words", [
    ("[1]", "đối tượng JSON"),
    ('{"columns": {"A": "nothing"}}', "không hợp lệ"),
    ('{"defaults": {"phone": "0"}}', "không đặt giá trị mặc định"),
    ('{"oops": 1}', "không nhận"),
    ("{", "không phải JSON"),
])
def test_a_broken_mapping_is_refused_with_a_reason(text, words):
    with pytest.raises(MappingError, match=words):
        Mapping.from_json(text)


def known(*pairs):
    return [KnownEvent(t, datetime(2026, 11, d, h)) for t, d, h in pairs]


def test_a_later_export_adds_only_the_new_events_after_those_recorded_here():
    parsed = parse(row(**{"Ngày chuyển xử lý": "02/11/2026 09:00", "Trạng thái": "Đã trả kết quả",
                          "Ngày có kết quả": "05/11/2026 10:00", "Kết quả": "Cấp phép",
                          "Ngày trả kết quả": "06/11/2026 08:00"}))
    new = plan_update(known(("received", 2, 8), ("forwarded", 2, 9)), "in_progress", parsed)
    assert [(e.type, e.estimated) for e in new] == [("finished", False), ("handed_over", False)]
    assert plan_update(known(("received", 2, 8), ("forwarded", 2, 9), ("finished", 5, 10), ("handed_over", 6, 8)),
                       "handed_over", parsed) == []


def test_a_dossier_further_on_here_than_in_the_file_is_unchanged():
    parsed = parse(row(**{"Ngày chuyển xử lý": "02/11/2026 09:00", "Trạng thái": "Đang xử lý"}))
    assert plan_update(known(("received", 2, 8), ("forwarded", 2, 9), ("finished", 4, 9)), "finished", parsed) == []


def test_a_supplement_recorded_here_comes_back_when_the_file_says_the_dossier_moved_on():
    parsed = parse(row(**{"Ngày chuyển xử lý": "02/11/2026 09:00", "Trạng thái": "Đang xử lý",
                          "Ngày cập nhật": "09/11/2026 10:00"}))
    new = plan_update(known(("received", 2, 8), ("forwarded", 2, 9), ("supplement_requested", 4, 9)),
                      "awaiting_supplement", parsed)
    assert [(e.type, f"{e.at:%d/%m %H:%M}", e.estimated) for e in new] == [("supplement_received", "09/11 10:00", True)]


def test_a_file_whose_story_diverges_from_the_one_recorded_here_is_rejected():
    parsed = parse(row(**{"Trạng thái": "Rút hồ sơ", "Ngày cập nhật": "05/11/2026 10:00"}))
    with pytest.raises(RowRejected, match="không ghi đè"):
        plan_update(known(("received", 2, 8), ("forwarded", 2, 9), ("finished", 4, 9)), "finished", parsed)
    late = parse(row(**{"Ngày chuyển xử lý": "02/11/2026 09:00", "Trạng thái": "Đã có kết quả",
                        "Ngày có kết quả": "03/11/2026 10:00", "Kết quả": "Cấp phép"}))
    with pytest.raises(RowRejected, match="trước sự kiện đã ghi"):
        plan_update(known(("received", 2, 8), ("forwarded", 2, 9), ("extended", 4, 9)), "in_progress", late)


def test_the_close_of_office_hours_is_the_default_time_of_a_day_only_appointment():
    match = match_headers(HEADERS, Mapping())
    parsed = parse_row(2, row(**{"Ngày hẹn trả": "10/11/2026"}), match, HEADERS, Mapping(), **BOUNDS,
                       day_close=time(16, 30))
    assert parsed.appointment_at == datetime(2026, 11, 10, 16, 30)


def _statuses(data: bytes, name: str) -> list[tuple[str, str, tuple]]:
    table = open_table(io.BytesIO(data), name)
    match = match_headers(table.headers, Mapping())
    out = []
    for line, values in table.rows:
        parsed = parse_row(line, values, match, table.headers, Mapping(), **BOUNDS)
        out.append((parsed.code, parsed.applicant_name, tuple((e.type, e.at, e.estimated) for e in parsed.events)))
    return out


def test_the_sample_as_xlsx_with_real_dates_and_as_cp1258_reads_exactly_as_the_utf8_csv():
    import openpyxl

    with open(SAMPLE, "rb") as fh:
        raw = fh.read()
    expected = _statuses(raw, "sample.csv")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(rows[0])
    for r in rows[1:]:  # Excel stores the times as dates, not text
        ws.append([datetime.strptime(v, "%d/%m/%Y %H:%M") if v[:2].isdigit() and v[2:3] == "/" else v for v in r])
    buffer = io.BytesIO()
    wb.save(buffer)
    assert _statuses(buffer.getvalue(), "sample.xlsx") == expected
    assert _statuses(cp1258(raw.decode("utf-8-sig")), "sample.csv") == expected
    assert len(expected) == 40
