"""The form set and the decree a dossier's papers cite, by reception date (domain.md §1, §5)."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from tthc import papers


@pytest.mark.parametrize("received, form_set, circular", [
    (date(2018, 12, 1), "2018", "01/2018/TT-VPCP"),
    (datetime(2025, 8, 1, 9, 0), "2018", "01/2018/TT-VPCP"),
    (datetime(2025, 9, 14, 23, 59, 59), "2018", "01/2018/TT-VPCP"),  # the eve of Circular 03/2025
    (datetime(2025, 9, 15, 0, 0), "2025", "03/2025/TT-VPCP"),  # in force from 15/09/2025
    (datetime(2025, 10, 1, 9, 0), "2025", "03/2025/TT-VPCP"),
    (date(2026, 12, 1), "2025", "03/2025/TT-VPCP"),
])
def test_a_dossier_gets_the_form_set_in_force_on_its_reception_date(received, form_set, circular):
    chosen = papers.form_set_for(received)
    assert (chosen.key, chosen.circular) == (form_set, circular)


@pytest.mark.parametrize("received, decree", [
    (datetime(2025, 6, 30, 17, 0), "61/2018/NĐ-CP"),
    (datetime(2025, 7, 1, 7, 0), "118/2025/NĐ-CP"),  # Decree 118/2025 in force 01/07/2025
    (datetime(2025, 8, 1, 9, 0), "118/2025/NĐ-CP"),  # the 2018 forms, the 2025 decree
    (datetime(2025, 10, 1, 9, 0), "118/2025/NĐ-CP"),
])
def test_the_decree_cited_follows_the_reception_date(received, decree):
    assert papers.decree_for(received).number == decree
    if decree.startswith("61/"):
        assert "107/2021/NĐ-CP" in papers.decree_for(received).citation  # amended by Decree 107/2021


# domain.md §5: content -> (2018 number, 2018 name), (2025 number, 2025 name)
TABLE = {
    "receipt": (("01", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"), ("01", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả")),
    "supplement": (("02", "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"), ("02", "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ")),
    "refusal": (("03", "Phiếu từ chối tiếp nhận giải quyết hồ sơ"), ("03", "Phiếu từ chối tiếp nhận giải quyết hồ sơ")),
    "apology": (("04", "Phiếu xin lỗi và hẹn lại ngày trả kết quả"),
                ("04", "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết")),
    "stop": (None, ("05", "Thông báo dừng giải quyết hồ sơ")),
    "control": (("05", "Phiếu kiểm soát quá trình giải quyết hồ sơ"), ("06", "Phiếu kiểm soát quá trình giải quyết hồ sơ")),
    "register": (("06", "Sổ theo dõi hồ sơ"), ("07", "Sổ theo dõi hồ sơ")),
}


@pytest.mark.parametrize("kind", sorted(TABLE))
def test_every_form_of_both_sets_has_the_number_and_name_of_the_circular(kind):
    old, new = TABLE[kind]
    f2018 = papers.form_for(kind, date(2025, 8, 1))
    f2025 = papers.form_for(kind, date(2025, 10, 1))
    assert (f2025.number, f2025.name, f2025.label) == (new[0], new[1], f"Mẫu số {new[0]} – Thông tư 03/2025/TT-VPCP")
    if old is None:  # the stop notice exists only in the 2025 set: always its form 05
        assert f2018 == f2025
    else:
        assert (f2018.number, f2018.name, f2018.label) == (old[0], old[1],
                                                           f"Mẫu số {old[0]} – Thông tư 01/2018/TT-VPCP")


def test_a_register_for_a_range_uses_the_set_in_force_at_the_range_end():
    assert papers.register_form_for(date(2025, 9, 14)).label == "Mẫu số 06 – Thông tư 01/2018/TT-VPCP"
    assert papers.register_form_for(date(2025, 9, 15)).label == "Mẫu số 07 – Thông tư 03/2025/TT-VPCP"


def test_an_unknown_form_kind_is_refused():
    with pytest.raises(KeyError):
        papers.form_for("certificate", date(2025, 10, 1))
