"""The base of every HTML form: WTForms' built-in messages in Vietnamese.

WTForms 3.3 ships no Vietnamese catalogue (``wtforms/locale`` has no ``vi``) and
Flask-WTF's own translations need Flask-Babel, which this project does not use.
So :class:`Form` gives WTForms a small translations object (``Meta.get_translations``)
covering every message of WTForms' catalogue (``wtforms/locale/wtforms.pot``) and
Flask-WTF's CSRF messages: a validator written without its own message, such as a
bare ``Length(max=255)``, then speaks Vietnamese on every page.

Every form of the application derives from :class:`Form` (``tests/web/test_every_form.py``
checks that none shows a message of WTForms' English catalogue).
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.form import _FlaskFormCSRF
from wtforms import Form as WTForm
from wtforms.validators import ValidationError

# msgid -> Vietnamese, with WTForms' own %-placeholders kept.
MESSAGES: dict[str, str] = {
    "Invalid field name '%s'.": "Tên trường không hợp lệ: '%s'.",
    "Field must be equal to %(other_name)s.": "Giá trị phải trùng với trường %(other_name)s.",
    "Field must be at least %(min)d character long.": "Cần ít nhất %(min)d ký tự.",
    "Field must be at least %(min)d characters long.": "Cần ít nhất %(min)d ký tự.",
    "Field cannot be longer than %(max)d character.": "Không được dài quá %(max)d ký tự.",
    "Field cannot be longer than %(max)d characters.": "Không được dài quá %(max)d ký tự.",
    "Field must be exactly %(max)d character long.": "Phải có đúng %(max)d ký tự.",
    "Field must be exactly %(max)d characters long.": "Phải có đúng %(max)d ký tự.",
    "Field must be between %(min)d and %(max)d characters long.": "Độ dài phải từ %(min)d đến %(max)d ký tự.",
    "Number must be at least %(min)s.": "Số phải lớn hơn hoặc bằng %(min)s.",
    "Number must be at most %(max)s.": "Số phải nhỏ hơn hoặc bằng %(max)s.",
    "Number must be between %(min)s and %(max)s.": "Số phải từ %(min)s đến %(max)s.",
    "Date must be at least %(min)s.": "Ngày phải từ %(min)s trở đi.",
    "Date must be at most %(max)s.": "Ngày phải đến %(max)s là muộn nhất.",
    "Date must be between %(min)s and %(max)s.": "Ngày phải trong khoảng %(min)s đến %(max)s.",
    "This field is required.": "Trường này bắt buộc nhập.",
    "Invalid input.": "Giá trị không hợp lệ.",
    "Invalid email address.": "Địa chỉ thư điện tử không hợp lệ.",
    "Invalid IP address.": "Địa chỉ IP không hợp lệ.",
    "Invalid Mac address.": "Địa chỉ MAC không hợp lệ.",
    "Invalid URL.": "Địa chỉ trang web không hợp lệ.",
    "Invalid UUID.": "Mã UUID không hợp lệ.",
    "Invalid value, must be one of: %(values)s.": "Giá trị không hợp lệ, phải là một trong: %(values)s.",
    "Invalid value, can't be any of: %(values)s.": "Giá trị không hợp lệ, không được là: %(values)s.",
    "This field cannot be edited.": "Trường này không được sửa.",
    "This field is disabled and cannot have a value.": "Trường này đã bị khóa, không được nhập giá trị.",
    "Invalid CSRF Token.": "Mã bảo vệ biểu mẫu không hợp lệ: tải lại trang rồi gửi lại.",
    "CSRF token missing.": "Thiếu mã bảo vệ biểu mẫu: tải lại trang rồi gửi lại.",
    "CSRF failed.": "Kiểm tra mã bảo vệ biểu mẫu không đạt: tải lại trang rồi gửi lại.",
    "CSRF token expired.": "Mã bảo vệ biểu mẫu đã hết hạn: tải lại trang rồi gửi lại.",
    "Invalid Choice: could not coerce.": "Lựa chọn không hợp lệ.",
    "Choices cannot be None.": "Chưa có danh sách lựa chọn.",
    "Not a valid choice.": "Lựa chọn không hợp lệ.",
    "Invalid choice(s): one or more data inputs could not be coerced.": "Có lựa chọn không hợp lệ.",
    "'%(value)s' is not a valid choice for this field.": "'%(value)s' không phải lựa chọn hợp lệ.",
    "'%(value)s' are not valid choices for this field.": "'%(value)s' không phải các lựa chọn hợp lệ.",
    "Not a valid datetime value.": "Thời điểm không hợp lệ: nhập đủ ngày, tháng, năm, giờ và phút.",
    "Not a valid date value.": "Ngày không hợp lệ: nhập đủ ngày, tháng, năm.",
    "Not a valid time value.": "Giờ không hợp lệ.",
    "Not a valid week value.": "Tuần không hợp lệ.",
    "Not a valid integer value.": "Nhập một số nguyên.",
    "Not a valid decimal value.": "Nhập một số thập phân.",
    "Not a valid float value.": "Nhập một số.",
    # Flask-WTF's CSRF check raises these itself, outside WTForms' gettext.
    "The CSRF token is missing.": "Thiếu mã bảo vệ biểu mẫu: tải lại trang rồi gửi lại.",
    "The CSRF session token is missing.": "Phiên làm việc đã hết hạn: tải lại trang rồi gửi lại.",
    "The CSRF token has expired.": "Mã bảo vệ biểu mẫu đã hết hạn: tải lại trang rồi gửi lại.",
    "The CSRF token is invalid.": "Mã bảo vệ biểu mẫu không hợp lệ: tải lại trang rồi gửi lại.",
    "The CSRF tokens do not match.": "Mã bảo vệ biểu mẫu không khớp: tải lại trang rồi gửi lại.",
}


class VietnameseTranslations:
    """The gettext interface WTForms calls (``gettext``/``ngettext``); unknown strings pass through."""

    def gettext(self, string: str) -> str:
        return MESSAGES.get(string, string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return MESSAGES.get(singular if n == 1 else plural, singular if n == 1 else plural)


TRANSLATIONS = VietnameseTranslations()


def translate(message: str) -> str:
    return MESSAGES.get(message, message)


class _VietnameseCSRF(_FlaskFormCSRF):
    def validate_csrf_token(self, form, field):
        try:
            super().validate_csrf_token(form, field)
        except ValidationError as exc:
            raise ValidationError(translate(str(exc.args[0]) if exc.args else "CSRF failed.")) from None


class Form(FlaskForm):
    """A FlaskForm whose built-in messages are Vietnamese."""

    class Meta(FlaskForm.Meta):
        csrf_class = _VietnameseCSRF

        def get_translations(self, form):
            return TRANSLATIONS


class SubForm(WTForm):
    """A form nested in another (``FormField``), without CSRF of its own, in Vietnamese too."""

    class Meta:
        def get_translations(self, form):
            return TRANSLATIONS
