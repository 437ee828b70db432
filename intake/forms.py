"""Web forms of the reception desk (Vietnamese labels).

Forms only parse and shape input; every rule (state machine, identity numbers,
times not in the future ...) is checked by ``intake.services``, whose
``IntakeError`` the views attach to the field it names.
"""
from __future__ import annotations

from datetime import datetime

from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from tthc.forms import Form
from tthc.models import CHANNEL_LABELS, DOCUMENT_KIND_LABELS

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
APPLICANT_KINDS = [("individual", "Cá nhân"), ("organisation", "Tổ chức")]
RESULT_CHOICES = [("approved", "Có kết quả (chấp thuận / cấp)"), ("refused", "Từ chối sau thẩm định (có lý do)")]
DOCUMENT_KIND_CHOICES = list(DOCUMENT_KIND_LABELS.items())
MAX_DOCUMENTS = 60


def options(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs (WTForms 3.3 deprecates plain tuples)."""
    return [SelectChoice(str(value), label) for value, label in pairs]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


DT_MESSAGE = "Nhập thời điểm đầy đủ ngày, tháng, năm, giờ và phút."


class LocalDateTimeField(DateTimeLocalField):
    """``<input type=datetime-local>`` with minutes ("YYYY-MM-DDTHH:MM"), seconds tolerated."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=[DATETIME_FORMAT, "%Y-%m-%dT%H:%M:%S"], **kwargs)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return self.data.strftime(DATETIME_FORMAT) if isinstance(self.data, datetime) else ""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(DT_MESSAGE) from None


class WholeNumberField(IntegerField):
    """IntegerField with a Vietnamese message (WTForms ships no Vietnamese translation)."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Nhập một số nguyên.") from None


class DossierForm(Form):
    """New dossier at the desk. The documents received are parsed from the request by the view."""

    procedure_id = SelectField("Thủ tục hành chính", validate_choice=False, coerce=str,
                               validators=[DataRequired("Chọn thủ tục hành chính.")])
    channel = SelectField("Kênh nộp", validate_choice=False, choices=options(CHANNEL_LABELS.items()), default="direct")
    applicant_kind = SelectField("Người nộp là", validate_choice=False, choices=options(APPLICANT_KINDS),
                                 default="individual")
    applicant_name = StringField("Họ tên cá nhân / tên tổ chức", filters=[_strip],
                                 validators=[DataRequired("Nhập tên người nộp hồ sơ."), Length(max=255)])
    applicant_id_number = StringField("Số CCCD / hộ chiếu / mã số thuế", filters=[_strip],
                                      validators=[Length(max=32)])
    applicant_phone = StringField("Số điện thoại", filters=[_strip], validators=[Length(max=32)])
    no_phone = BooleanField("Không có số điện thoại (tra cứu bằng 4 số cuối số giấy tờ)")
    applicant_email = StringField("Email", filters=[_strip],
                                  validators=[Length(max=255)])
    applicant_address = StringField("Địa chỉ", filters=[_strip], validators=[Length(max=500)])
    request_summary = TextAreaField("Nội dung yêu cầu giải quyết", filters=[_strip], validators=[Length(max=2000)])
    late_entry_confirmed = BooleanField("Xác nhận ghi nhận muộn: hồ sơ đã được tiếp nhận vào thời điểm trên")
    late_entry_reason = TextAreaField("Lý do ghi nhận muộn", filters=[_strip], validators=[Length(max=2000)])
    sets = WholeNumberField("Số bộ hồ sơ", default=1,
                        validators=[InputRequired("Nhập số bộ hồ sơ."),
                                    NumberRange(min=1, max=99, message="Số bộ hồ sơ từ 1 đến 99.")])
    received_at = LocalDateTimeField("Thời điểm tiếp nhận", validators=[Optional()])
    submitted_at = LocalDateTimeField("Thời điểm nộp trực tuyến / gửi bưu chính", validators=[Optional()])
    code = StringField("Mã hồ sơ do hệ thống tỉnh cấp (nếu có)", filters=[_strip], validators=[Length(max=64)])
    reception_point = StringField("Nơi tiếp nhận (nếu không phải Bộ phận Một cửa của Sở)", filters=[_strip],
                                  validators=[Length(max=255)])



class EventForm(Form):
    """One action on a dossier; the view shows only the fields its event type uses."""

    version = HiddenField()
    unit_id = SelectField("Đơn vị nhận", validate_choice=False, coerce=str, validators=[Optional()])
    receiver_name = StringField("Người nhận hồ sơ (tại đơn vị)", filters=[_strip], validators=[Length(max=255)])
    result = SelectField("Kết quả", validate_choice=False, choices=options(RESULT_CHOICES), validators=[Optional()])
    new_deadline = LocalDateTimeField("Ngày hẹn trả mới", validators=[Optional()])
    documents_to_add = TextAreaField("Giấy tờ khác cần bổ sung, hoàn thiện (mỗi dòng một giấy tờ)", filters=[_strip],
                                     validators=[Length(max=4000)])
    note = TextAreaField("Ghi chú / lý do", filters=[_strip], validators=[Length(max=4000)])
    legal_ground = TextAreaField("Căn cứ pháp lý (văn bản, điều, khoản)", filters=[_strip],
                                 validators=[Length(max=2000)])
    next_steps = TextAreaField("Người nộp có thể (để trống: nội dung mặc định của mẫu 05)", filters=[_strip],
                               validators=[Length(max=2000)])
    at = LocalDateTimeField("Thời điểm thực tế (để trống nếu là bây giờ)", validators=[Optional()])


class VoidEventForm(Form):
    version = HiddenField()
    event_id = HiddenField(validators=[DataRequired()])
    reason = TextAreaField("Lý do hủy bỏ sự kiện", filters=[_strip],
                           validators=[DataRequired("Nêu lý do hủy bỏ sự kiện."), Length(max=2000)])


class CorrectionForm(Form):
    """Correcting wrongly entered fields of a dossier (audited; the receipt is reprinted)."""

    version = HiddenField()
    applicant_kind = SelectField("Người nộp là", validate_choice=False, choices=options(APPLICANT_KINDS))
    applicant_name = StringField("Họ tên cá nhân / tên tổ chức", filters=[_strip],
                                 validators=[DataRequired("Nhập tên người nộp hồ sơ."), Length(max=255)])
    applicant_id_number = StringField("Số CCCD / hộ chiếu / mã số thuế", filters=[_strip],
                                      validators=[Length(max=32)])
    applicant_phone = StringField("Số điện thoại", filters=[_strip], validators=[Length(max=32)])
    applicant_email = StringField("Email", filters=[_strip],
                                  validators=[Length(max=255)])
    applicant_address = StringField("Địa chỉ", filters=[_strip], validators=[Length(max=500)])
    request_summary = TextAreaField("Nội dung yêu cầu giải quyết", filters=[_strip], validators=[Length(max=2000)])
    sets = WholeNumberField("Số bộ hồ sơ", validators=[InputRequired("Nhập số bộ hồ sơ."),
                                                   NumberRange(min=1, max=99, message="Số bộ hồ sơ từ 1 đến 99.")])
    FIELDS = ("applicant_kind", "applicant_name", "applicant_id_number", "applicant_phone", "applicant_email",
              "applicant_address", "request_summary", "sets")


class DeskContactForm(Form):
    """Guidance (form 02) or refusal (form 03) at the desk, before any dossier exists."""

    kind = SelectField("Loại", validate_choice=False, choices=options([
        ("guidance", "Hướng dẫn bổ sung, hoàn thiện hồ sơ (mẫu 02)"),
        ("refusal", "Từ chối tiếp nhận hồ sơ (mẫu 03)"),
    ]))
    procedure_id = SelectField("Thủ tục hành chính", validate_choice=False, coerce=str, validators=[Optional()])
    applicant_name = StringField("Họ tên cá nhân / tên tổ chức", filters=[_strip],
                                 validators=[DataRequired("Nhập tên người đến liên hệ."), Length(max=255)])
    applicant_phone = StringField("Số điện thoại", filters=[_strip], validators=[Length(max=32)])
    applicant_address = StringField("Địa chỉ", filters=[_strip], validators=[Length(max=500)])
    request_summary = TextAreaField("Nội dung yêu cầu giải quyết", filters=[_strip], validators=[Length(max=2000)])
    documents_to_add = TextAreaField("Giấy tờ cần bổ sung, hoàn thiện (mẫu 02)", filters=[_strip],
                                     validators=[Length(max=4000)])
    reason = TextAreaField("Lý do", filters=[_strip],
                           validators=[DataRequired("Nêu lý do hướng dẫn / từ chối."), Length(max=4000)])


class ListFilterForm(Form):
    """Filters of the dossier list (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField("Tìm kiếm", filters=[_strip])
    status = SelectField("Trạng thái", validate_choice=False, coerce=str, validators=[Optional()])
    unit = SelectField("Đơn vị", validate_choice=False, coerce=str, validators=[Optional()])
    procedure = SelectField("Thủ tục", validate_choice=False, coerce=str, validators=[Optional()])
    field = SelectField("Lĩnh vực", validate_choice=False, coerce=str, validators=[Optional()])
    channel = SelectField("Kênh nộp", validate_choice=False, coerce=str, validators=[Optional()])
    date_from = DateField("Tiếp nhận từ ngày", validators=[Optional()])
    date_to = DateField("đến ngày", validators=[Optional()])
    deadline = SelectField("Hạn", validate_choice=False, coerce=str, validators=[Optional()],
                           choices=options([("", "— Tất cả —"), ("overdue", "Đang quá hạn"),
                                            ("due_soon", "Sắp đến hạn")]))
