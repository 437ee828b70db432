"""Error pages in Vietnamese, and JSON errors for the API (domain.md §8 conventions)."""
from __future__ import annotations

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from tthc.extensions import db

MESSAGES = {
    400: ("Yêu cầu không hợp lệ", "Yêu cầu gửi lên không hợp lệ."),
    401: ("Chưa đăng nhập", "Vui lòng đăng nhập."),
    403: ("Không có quyền truy cập", "Tài khoản của bạn không có quyền thực hiện thao tác này."),
    404: ("Không tìm thấy", "Trang hoặc dữ liệu bạn tìm không tồn tại, hoặc bạn không có quyền xem."),
    405: ("Phương thức không được hỗ trợ", "Thao tác này không được hỗ trợ tại địa chỉ này."),
    409: ("Xung đột dữ liệu", "Dữ liệu đã bị thay đổi bởi người khác hoặc thao tác không hợp lệ ở trạng thái hiện tại."),
    413: ("Tệp quá lớn", "Tệp tải lên vượt quá dung lượng cho phép (10 MB)."),
    422: ("Dữ liệu không hợp lệ", "Dữ liệu gửi lên không hợp lệ."),
    429: ("Quá nhiều yêu cầu", "Bạn đã thử quá nhiều lần. Vui lòng thử lại sau."),
    500: ("Lỗi hệ thống", "Đã xảy ra lỗi ngoài ý muốn. Dữ liệu đã lưu trước đó không bị ảnh hưởng; vui lòng thử lại hoặc báo quản trị."),
}

API_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
             409: "conflict", 413: "too_large", 422: "validation_error", 429: "too_many_requests", 500: "server_error"}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def api_error(status: int, message: str, field: str | None = None, code: str | None = None,
              details: list[dict] | None = None):
    """The API's one error object; ``details`` lists every error when there were several (issue 16)."""
    error = {"code": code or API_CODES.get(status, "error"), "message": message, "field": field}
    if details:
        error["details"] = details
    resp = jsonify({"error": error})
    resp.status_code = status
    return resp


def render_error(status: int, message: str | None = None):
    title, default = MESSAGES.get(status, MESSAGES[500])
    if wants_json():
        return api_error(status, message or default)
    return render_template("errors/error.html", status=status, title=title, message=message or default), status


def init_app(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(400, "Phiên biểu mẫu đã hết hạn hoặc không hợp lệ (CSRF). Vui lòng tải lại trang và thử lại.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        description = exc.description if status in (409, 422) and isinstance(exc.description, str) else None
        return render_error(status, description)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("Unhandled error")
        db.session.rollback()
        return render_error(500)
