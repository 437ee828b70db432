"""Forms of the dossier import page (Flask-WTF: CSRF, Vietnamese labels)."""
from __future__ import annotations

from wtforms import BooleanField, FileField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from tthc.forms import Form


class UploadForm(Form):
    file = FileField("Tệp hồ sơ (.xlsx hoặc .csv)")
    saved_mapping = SelectField("Bảng ánh xạ cột đã lưu", coerce=str, validate_choice=False)


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value=value, label=label) for value, label in pairs]


class RunForm(Form):
    token = HiddenField()
    saved_mapping = HiddenField()
    from_run = HiddenField()  # a dry run whose mapping the real run repeats
    dry_run = BooleanField("Chạy thử: kiểm tra và báo cáo từng dòng, không ghi hồ sơ")
    save_as = StringField("Lưu bảng ánh xạ này với tên (để dùng lại)", validators=[Optional(), Length(max=120, message="Tên bảng ánh xạ dài quá 120 ký tự.")])
