"""The papers of the law in force: which form set and which decree a dossier's papers cite.

Pure (standard library only): a date in, the form set and the decree out (domain.md §1, §5).

- Circular 01/2018/TT-VPCP fixed the one-stop forms until Circular 03/2025/TT-VPCP of
  15/09/2025 (Annex I) replaced them. Product decision (domain.md §5): a dossier received
  before 15/09/2025 keeps the 2018 set, one received on or after it gets the 2025 set.
  The 2025 set renames form 04, adds form 05 (stopping a dossier) and renumbers the control
  slip (06) and the register (07).
- The decree cited: Decree 61/2018/NĐ-CP (amended by Decree 107/2021/NĐ-CP) before
  01/07/2025, Decree 118/2025/NĐ-CP (in force 01/07/2025) from then.
- The stop notice exists only in the 2025 set and is always its form 05; a register printed
  for a date range uses the set in force at the range's end.

Every printed form states its number and circular in a small line at the top
("Mẫu số 06 – Thông tư 03/2025/TT-VPCP"): :attr:`Form.label`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

SET_2018 = "2018"
SET_2025 = "2025"
SET_2025_FROM = date(2025, 9, 15)  # Circular 03/2025/TT-VPCP, in force 15/09/2025
DECREE_118_FROM = date(2025, 7, 1)  # Decree 118/2025/NĐ-CP, in force 01/07/2025

# What each paper is, in the product's words (the keys templates and views use).
KINDS = ("receipt", "supplement", "refusal", "apology", "stop", "control", "register")


@dataclass(frozen=True)
class Form:
    kind: str
    number: str  # "01" … "07"
    name: str  # the official name, sentence case
    circular: str  # "01/2018/TT-VPCP"
    form_set: str  # SET_2018 | SET_2025

    @property
    def label(self) -> str:
        """The small line at the top of the printed form."""
        return f"Mẫu số {self.number} – Thông tư {self.circular}"

    @property
    def short(self) -> str:
        """"mẫu 06", as buttons and links name the form."""
        return f"mẫu {self.number}"

    @property
    def title(self) -> str:
        """The name as printed in the form's title line (upper case)."""
        return self.name.upper()


@dataclass(frozen=True)
class Decree:
    number: str  # "118/2025/NĐ-CP"
    citation: str  # as a "Căn cứ" line cites it
    from_date: date | None

    @property
    def short(self) -> str:
        return f"Nghị định {self.number}"


@dataclass(frozen=True)
class FormSet:
    key: str
    circular: str
    circular_citation: str
    from_date: date | None
    forms: dict[str, Form]

    def form(self, kind: str) -> Form:
        """The form of ``kind`` in this set; the stop notice is always the 2025 form 05."""
        if kind not in KINDS:
            raise KeyError(f"unknown form kind {kind!r}; expected one of {', '.join(KINDS)}")
        if kind not in self.forms:
            return FORM_SETS[SET_2025].forms[kind]
        return self.forms[kind]

    def __iter__(self):
        return iter(self.forms.values())


def _set(key: str, circular: str, citation: str, from_date: date | None, rows) -> FormSet:
    return FormSet(key, circular, citation, from_date,
                   {kind: Form(kind, number, name, circular, key) for kind, number, name in rows})


FORM_SETS: dict[str, FormSet] = {
    SET_2018: _set(SET_2018, "01/2018/TT-VPCP",
                   "Thông tư số 01/2018/TT-VPCP ngày 23/11/2018 của Văn phòng Chính phủ", None, (
                       ("receipt", "01", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"),
                       ("supplement", "02", "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"),
                       ("refusal", "03", "Phiếu từ chối tiếp nhận giải quyết hồ sơ"),
                       ("apology", "04", "Phiếu xin lỗi và hẹn lại ngày trả kết quả"),
                       ("control", "05", "Phiếu kiểm soát quá trình giải quyết hồ sơ"),
                       ("register", "06", "Sổ theo dõi hồ sơ"),
                   )),
    SET_2025: _set(SET_2025, "03/2025/TT-VPCP",
                   "Thông tư số 03/2025/TT-VPCP ngày 15/9/2025 của Văn phòng Chính phủ", SET_2025_FROM, (
                       ("receipt", "01", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"),
                       ("supplement", "02", "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"),
                       ("refusal", "03", "Phiếu từ chối tiếp nhận giải quyết hồ sơ"),
                       ("apology", "04", "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết"),
                       ("stop", "05", "Thông báo dừng giải quyết hồ sơ"),
                       ("control", "06", "Phiếu kiểm soát quá trình giải quyết hồ sơ"),
                       ("register", "07", "Sổ theo dõi hồ sơ"),
                   )),
}

DECREE_2018 = Decree("61/2018/NĐ-CP",
                     "Nghị định số 61/2018/NĐ-CP ngày 23/4/2018 của Chính phủ về thực hiện cơ chế một cửa, "
                     "một cửa liên thông trong giải quyết thủ tục hành chính (được sửa đổi, bổ sung bởi "
                     "Nghị định số 107/2021/NĐ-CP ngày 06/12/2021)", None)
DECREE_2025 = Decree("118/2025/NĐ-CP",
                     "Nghị định số 118/2025/NĐ-CP ngày 09/6/2025 của Chính phủ về thực hiện thủ tục hành chính "
                     "theo cơ chế một cửa, một cửa liên thông tại Bộ phận Một cửa và Cổng Dịch vụ công quốc gia",
                     DECREE_118_FROM)


def _day(when: date | datetime | None) -> date | None:
    if when is None:
        return None
    return when.date() if isinstance(when, datetime) else when


def form_set_for(received: date | datetime | None) -> FormSet:
    """The form set of a dossier received at ``received``: 2025 from 15/09/2025, else 2018.

    ``None`` (nothing received yet, e.g. a blank form) gives the set in force today's way:
    the caller passes today's date when it has one; without a date the newest set.
    """
    day = _day(received)
    if day is None or day >= SET_2025_FROM:
        return FORM_SETS[SET_2025]
    return FORM_SETS[SET_2018]


def form_for(kind: str, received: date | datetime | None) -> Form:
    """The form of ``kind`` for a dossier received at ``received`` (the stop notice: always 2025 form 05)."""
    return form_set_for(received).form(kind)


def decree_for(received: date | datetime | None) -> Decree:
    """The decree in force at ``received``: 61/2018 (amended by 107/2021) before 01/07/2025, else 118/2025."""
    day = _day(received)
    if day is not None and day < DECREE_118_FROM:
        return DECREE_2018
    return DECREE_2025


def register_form_for(last_day: date | datetime | None) -> Form:
    """The register (06 of 2018, 07 of 2025) for a range: the set in force at the range's end."""
    return form_for("register", last_day)
