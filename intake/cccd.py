"""The QR code of the chip citizen ID card (CCCD), as a desk scanner types it (pure: standard library only).

The card's QR code holds one line of fields separated by ``|``::

    <12-digit ID>|<old 9-digit ID or empty>|<full name>|<date of birth ddmmyyyy>|<sex>|<permanent address>|<issue date ddmmyyyy>

Newer cards append further fields; they are tolerated and ignored, as is an old ID that is
empty or not 9 digits. The address keeps its commas (they are not separators). A scanner
that emulates a keyboard without Unicode types ``?`` or nothing for Vietnamese letters: such
a string is refused with a message saying how to set the scanner (README), rather than
filling a name without its diacritics.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

MIN_FIELDS = 7
MAX_LENGTH = 2000  # a real QR string is about 150 characters; anything far longer is not a card

_ID = re.compile(r"\d{12}")
_OLD_ID = re.compile(r"\d{9}")
_DATE = re.compile(r"(\d{2})(\d{2})(\d{4})")
# Latin letters that only Vietnamese (or a Unicode-typing scanner) produces.
_DIACRITIC = re.compile(r"[^\x00-\x7f]")
_BROKEN = re.compile(r"[?\ufffd]")


class CccdError(ValueError):
    """A string that is not a CCCD QR code; the message is Vietnamese, for the desk officer."""


@dataclass(frozen=True)
class CccdData:
    id_number: str
    old_id_number: str  # "" when absent or not a 9-digit number
    name: str
    birth_date: date
    sex: str
    address: str
    issue_date: date

    def as_dict(self) -> dict[str, str]:
        return {
            "id_number": self.id_number, "old_id_number": self.old_id_number, "name": self.name,
            "birth_date": self.birth_date.strftime("%d/%m/%Y"), "sex": self.sex, "address": self.address,
            "issue_date": self.issue_date.strftime("%d/%m/%Y"),
        }


def _date(text: str, what: str) -> date:
    match = _DATE.fullmatch(text)
    if not match:
        raise CccdError(f"{what} trong mã QR phải có dạng ngàythángnăm 8 chữ số (ví dụ 01021990), nhận được “{text}”.")
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise CccdError(f"{what} trong mã QR không phải ngày có thật: “{text}”.") from None


def parse_cccd(raw: str) -> CccdData:
    """The fields of a CCCD QR string; :class:`CccdError` (Vietnamese message) when it is not one."""
    if not isinstance(raw, str):
        raise CccdError("Chưa nhận được chuỗi quét từ mã QR trên thẻ CCCD.")
    text = unicodedata.normalize("NFC", raw).strip().strip("\r\n")
    if not text:
        raise CccdError("Chưa nhận được chuỗi quét từ mã QR trên thẻ CCCD.")
    if len(text) > MAX_LENGTH:
        raise CccdError("Chuỗi quét quá dài, không phải mã QR của thẻ CCCD.")
    fields = [f.strip() for f in text.split("|")]
    if len(fields) < MIN_FIELDS:
        raise CccdError(f"Chuỗi quét không phải mã QR của thẻ CCCD: cần ít nhất {MIN_FIELDS} trường ngăn cách bởi "
                        f"dấu “|”, nhận được {len(fields)}.")
    id_number, old_id, name, birth, sex, address, issued = fields[:MIN_FIELDS]
    if not _ID.fullmatch(id_number):
        raise CccdError(f"Số CCCD trong mã QR phải gồm 12 chữ số, nhận được “{id_number[:20]}”.")
    if not name:
        raise CccdError("Mã QR không có họ tên.")
    if _BROKEN.search(name + address):
        raise CccdError("Họ tên hoặc địa chỉ bị mất dấu tiếng Việt (có ký tự “?”): máy quét chưa được đặt chế độ "
                        "gõ Unicode. Xem hướng dẫn đặt máy quét trong README, hoặc nhập tay.")
    if any(ch.isdigit() for ch in name):
        raise CccdError("Họ tên trong mã QR có chữ số: chuỗi quét không đúng thứ tự các trường của thẻ CCCD.")
    birth_date = _date(birth, "Ngày sinh")
    issue_date = _date(issued, "Ngày cấp")
    if issue_date < birth_date:
        raise CccdError("Ngày cấp trong mã QR trước ngày sinh: chuỗi quét không hợp lệ.")
    return CccdData(
        id_number=id_number,
        old_id_number=old_id if _OLD_ID.fullmatch(old_id) else "",
        name=" ".join(name.split()),
        birth_date=birth_date,
        sex=sex,
        address=" ".join(address.split()),
        issue_date=issue_date,
    )


def looks_unaccented(data: CccdData) -> bool:
    """True when neither the name nor the address has a single non-ASCII letter: most Vietnamese
    names carry diacritics, so a scanner without Unicode is the likely cause (shown as a warning)."""
    return not _DIACRITIC.search(data.name + data.address)
