"""Protections applied to every request and response (issue 12).

* Security headers on every response: no MIME sniffing, no framing, a Content-Security-Policy
  the app's own pages satisfy (scripts only from /static: no inline script, no ``on*=``
  handlers), and a Referrer-Policy that keeps dossier codes in URLs from leaking.
* Text at the boundary: a query parameter, form field or URL part holding a character no
  text may hold (``tthc.text.FORBIDDEN_CHARS``: NUL and other controls, lone surrogates) is
  refused before any view runs, naming the field, so no database or page ever sees it.
  JSON bodies are checked by the API itself (after authentication), see ``intake.api._body``.
* JSON nesting is bounded (``MAX_JSON_DEPTH``): a body nested 100,000 deep is a 400, not a
  RecursionError.
* The secret key: generated once per instance in development (kept in the instance folder),
  at least 32 bytes in production.

Must not import feature packages (``intake``, ``deadlines``).
"""
from __future__ import annotations

import os
import re
import secrets

from flask import Flask, render_template, request
from flask.json.provider import DefaultJSONProvider

from tthc.text import has_forbidden_chars

MAX_JSON_DEPTH = 32
MIN_SECRET_KEY_BYTES = 32
SECRET_KEY_FILE = "secret_key"

# 'unsafe-inline' for styles only: a handful of templates carry a small <style> block or a
# style attribute (print page sizes, column widths), and other work adds more. Injected CSS
# cannot run code; Jinja escapes every value anyway. Scripts, the real risk, come from /static only.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "same-origin",
}

BAD_TEXT_MESSAGE = ("Trường “{field}” chứa ký tự không hợp lệ (ký tự điều khiển hoặc ký tự không mã hóa được). "
                    "Vui lòng xóa ký tự đó và gửi lại.")

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")


class JsonTooDeep(ValueError):
    pass


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON text nests arrays/objects deeper than ``limit`` (strings ignored)."""
    depth = 0
    for match in _BRACKETS.finditer(_STRINGS.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing nesting deeper than MAX_JSON_DEPTH. The ValueError makes
    ``request.get_json()`` answer 400 (or None when silent) instead of a RecursionError."""

    def loads(self, s, **kwargs):
        text = s.decode("utf-8", "replace") if isinstance(s, (bytes, bytearray)) else s
        if json_depth_exceeds(text):
            raise JsonTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        try:
            return super().loads(s, **kwargs)
        except RecursionError as exc:
            raise JsonTooDeep("JSON nested too deep") from exc


def instance_secret_key(instance_path: str) -> str:
    """The instance's own development key: generated at first start, then read back."""
    path = os.path.join(instance_path, SECRET_KEY_FILE)
    try:
        with open(path, encoding="ascii") as fh:
            key = fh.read().strip()
        if len(key) >= MIN_SECRET_KEY_BYTES:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    try:
        os.link(tmp, path)  # atomic; a concurrent first start keeps the key that won
    except FileExistsError:
        with open(path, encoding="ascii") as fh:
            key = fh.read().strip() or key
    finally:
        os.unlink(tmp)
    return key


def configure_secret_key(app: Flask) -> None:
    key = app.config.get("SECRET_KEY")
    if not key and app.config.get("SECRET_KEY_FROM_INSTANCE"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
        return
    if not key and app.config.get("TESTING"):
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        return
    if not key:
        raise RuntimeError("TTHC_SECRET_KEY is not set: refusing to start without a secret key "
                           "(set it, or TTHC_ENV=development for local use).")
    length = len(key.encode("utf-8") if isinstance(key, str) else key)
    if length < MIN_SECRET_KEY_BYTES and not app.config.get("TESTING"):
        raise RuntimeError(f"TTHC_SECRET_KEY is too short ({length} bytes): use at least {MIN_SECRET_KEY_BYTES} "
                           "random bytes, e.g. python3 -c 'import secrets; print(secrets.token_hex(32))'.")


def _bad_text_field() -> tuple[str, int] | None:
    """The first query parameter (400), form field (422) or URL part (404) holding a forbidden character."""
    for key, value in request.args.items(multi=True):
        if has_forbidden_chars(key) or has_forbidden_chars(value):
            return key, 400
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in request.form.items(multi=True):
            if has_forbidden_chars(key) or has_forbidden_chars(value):
                return key, 422
    for key, value in (request.view_args or {}).items():
        if isinstance(value, str) and has_forbidden_chars(value):
            return key, 404
    return None


_LONE_SURROGATES = re.compile("[\ud800-\udfff]")


def encodable(value):
    """Jinja's finalize: a value holding a lone surrogate (stored before the boundary refused
    them) is shown with U+FFFD instead of making the whole page a 500. Markup stays Markup."""
    if isinstance(value, str) and _LONE_SURROGATES.search(value):
        return type(value)(_LONE_SURROGATES.sub("\ufffd", str(value)))
    return value


def init_app(app: Flask) -> None:
    app.json = BoundedJSONProvider(app)
    app.jinja_env.finalize = encodable

    @app.before_request
    def refuse_forbidden_text():
        if request.path.startswith("/api/"):
            return None  # the API answers its own JSON errors, after authentication
        found = _bad_text_field()
        if found is None:
            return None
        field, status = found
        from tthc.text import strip_forbidden_chars

        message = BAD_TEXT_MESSAGE.format(field=strip_forbidden_chars(field, "?")[:64])
        if status == 404:
            message = None
        from tthc.errors import MESSAGES

        title, default = MESSAGES[status]
        blueprint = (request.endpoint or "").split(".", 1)[0]
        template = "public/error.html" if blueprint == "public" else "errors/error.html"
        return render_template(template, status=status, title=title, message=message or default), status

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
