"""The CCCD QR string parser, one row per case (synthetic card data, no real person)."""
from __future__ import annotations

from datetime import date

import pytest

from intake.cccd import CccdError, looks_unaccented, parse_cccd

ADDRESS = "Số 12, đường Trần Hưng Đạo, Phường 1, Thành phố Vũng Tàu, Bà Rịa - Vũng Tàu"

VALID = [
    # (case, string, id, old id, name, birth, sex, address, issued)
    ("the seven fields of a card",
     f"079203001234|273456789|Nguyễn Văn An|01021990|Nam|{ADDRESS}|15082021",
     "079203001234", "273456789", "Nguyễn Văn An", date(1990, 2, 1), "Nam", ADDRESS, date(2021, 8, 15)),
    ("a card without an old ID",
     "001305012345||Trần Thị Bích Ngọc|29022000|Nữ|Thôn Đông, xã Phú Mỹ, huyện Tân Thành|10042021",
     "001305012345", "", "Trần Thị Bích Ngọc", date(2000, 2, 29), "Nữ",
     "Thôn Đông, xã Phú Mỹ, huyện Tân Thành", date(2021, 4, 10)),
    ("an old ID that is not 9 digits (12-digit old card) is ignored",
     "036099000111|036099000110|Lê Hoàng Phúc|31121999|Nam|Hà Nội|01012022",
     "036099000111", "", "Lê Hoàng Phúc", date(1999, 12, 31), "Nam", "Hà Nội", date(2022, 1, 1)),
    ("extra trailing fields of newer cards are tolerated",
     "079203001234|273456789|Nguyễn Văn An|01021990|Nam|Bà Rịa|15082021|Nguyễn Văn Bố|Trần Thị Mẹ||",
     "079203001234", "273456789", "Nguyễn Văn An", date(1990, 2, 1), "Nam", "Bà Rịa", date(2021, 8, 15)),
    ("the scanner's Enter, spaces and decomposed diacritics are cleaned",
     "  079203001234||Nguye\u0302\u0303n  Va\u0306n An|01021990|Nam| Bà Rịa |15082021\r\n",
     "079203001234", "", "Nguyễn Văn An", date(1990, 2, 1), "Nam", "Bà Rịa", date(2021, 8, 15)),
]


@pytest.mark.parametrize("case, raw, id_number, old_id, name, birth, sex, address, issued", VALID,
                         ids=[row[0] for row in VALID])
def test_a_card_string_gives_its_fields(case, raw, id_number, old_id, name, birth, sex, address, issued):
    data = parse_cccd(raw)
    assert (data.id_number, data.old_id_number, data.name, data.birth_date, data.sex, data.address,
            data.issue_date) == (id_number, old_id, name, birth, sex, address, issued)


INVALID = [
    ("empty", "", "Chưa nhận được chuỗi quét"),
    ("a dossier code, not a card", "000.00.31.H49-261201-0001", "cần ít nhất 7 trường"),
    ("six fields", "079203001234||Nguyễn Văn An|01021990|Nam|Bà Rịa", "nhận được 6"),
    ("an 11-digit ID", "07920300123||Nguyễn Văn An|01021990|Nam|Bà Rịa|15082021", "12 chữ số"),
    ("letters in the ID", "07920300123A||Nguyễn Văn An|01021990|Nam|Bà Rịa|15082021", "12 chữ số"),
    ("no name", "079203001234||   |01021990|Nam|Bà Rịa|15082021", "không có họ tên"),
    ("fields out of order", "079203001234||01021990|Nguyễn Văn An|Nam|Bà Rịa|15082021", "chữ số"),
    ("a birth date that is not ddmmyyyy", "079203001234||Nguyễn Văn An|1990-02-01|Nam|Bà Rịa|15082021",
     "Ngày sinh"),
    ("a birth date that does not exist", "079203001234||Nguyễn Văn An|30021990|Nam|Bà Rịa|15082021",
     "không phải ngày có thật"),
    ("an issue date before birth", "079203001234||Nguyễn Văn An|01021990|Nam|Bà Rịa|15081980", "trước ngày sinh"),
    ("a scanner without Unicode typed question marks",
     "079203001234||Nguy?n V?n An|01021990|Nam|B? R?a|15082021", "Unicode"),
    ("far too long", "079203001234||" + "A" * 3000 + "|01021990|Nam|Bà Rịa|15082021", "quá dài"),
    ("not a string", None, "Chưa nhận được chuỗi quét"),
]


@pytest.mark.parametrize("case, raw, message", INVALID, ids=[row[0] for row in INVALID])
def test_a_malformed_string_is_refused_with_a_vietnamese_message(case, raw, message):
    with pytest.raises(CccdError) as info:
        parse_cccd(raw)
    assert message in str(info.value)


def test_a_name_and_address_without_any_diacritic_are_flagged_as_a_likely_ascii_scanner():
    assert looks_unaccented(parse_cccd("079203001234||Nguyen Van An|01021990|Nam|Ba Ria|15082021"))
    assert not looks_unaccented(parse_cccd("079203001234||Nguyễn Văn An|01021990|Nam|Bà Rịa|15082021"))
