"""Every HTML form of the application tells everything at once, in Vietnamese (issue 16).

The test crawls the application as each role (and as a citizen), collects every POST form
it finds, checks that together they cover every POST endpoint of the HTML application, then
submits each one empty and once with an over-long value in every text field. In every
answer: no message of WTForms' (or Flask-WTF's) English catalogue, every error message holds
Vietnamese letters, and every field the form marks as required carries its error next to it
in the same answer (all errors of a submit together, not one per submit).
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest
import wtforms
from sqlalchemy import select

from tests.factories import PASSWORD, make_procedure, make_unit, make_user
from tests.helpers import csrf_token
from tthc.clock import now
from tthc.extensions import db
from tthc.models import Procedure, User

# The API (JSON, bearer tokens) has its own error object; logout has no fields; the scan field posts JSON.
NOT_HTML_FORMS = {"api.create_dossier", "api.create_event", "auth.logout",
                  "intake.scan_cccd"}  # JSON for the scan field's script
VIETNAMESE = re.compile(r"[àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ]", re.I)
SKIP_LINKS = re.compile(r"/(logout|static|api)/?|\.(xlsx|pdf|csv)$|/export|/download")
MAX_PAGES = 120
# Pages no link of a fresh database leads to: an estimated calendar year, a report's preview.
EXTRA_STARTS = {"admin": ["/calendar/?year=2030"], "supervisor": ["/reports/?type=summary&period=2026-11"]}


def _catalogue() -> list[re.Pattern]:
    """WTForms' English messages (its .pot catalogue) and Flask-WTF's CSRF messages, as patterns."""
    pot = Path(wtforms.__file__).parent / "locale" / "wtforms.pot"
    ids = re.findall(r'^msgid(?:_plural)? "(.+)"$', pot.read_text(encoding="utf-8"), re.M)
    ids += ["The CSRF token is missing.", "The CSRF session token is missing.", "The CSRF token has expired.",
            "The CSRF token is invalid.", "The CSRF tokens do not match."]
    patterns = []
    for msgid in ids:
        parts = re.split(r"%\(\w+\)[sd]|%s", msgid)
        patterns.append(re.compile(".{0,80}?".join(re.escape(p) for p in parts)))
    return patterns


ENGLISH = _catalogue()


def english_in(text: str) -> list[str]:
    return [m.group(0) for p in ENGLISH for m in [p.search(text)] if m]


def messages(doc) -> list[str]:
    nodes = doc.xpath("//*[contains(concat(' ', normalize-space(@class), ' '), ' error ') "
                      "or contains(@class, 'flash-danger') or contains(@class, 'flash-warning')]")
    return [" ".join(n.text_content().split()) for n in nodes if n.text_content().strip()]


def _seed(app):
    from intake import services

    with app.app_context():
        desk = make_unit(db.session, code="MOTCUA", name="Bộ phận Một cửa")
        unit = make_unit(db.session, code="QLKH", name="Phòng Quản lý Khoa học")
        procedure = make_procedure(db.session, unit_id=unit.id, name="Đăng ký kết quả nhiệm vụ khoa học")
        people = {
            "reception": make_user(db.session, role="reception", username="tiepnhan", unit=desk),
            "handler": make_user(db.session, role="handler", username="truongphong", unit=unit, is_unit_head=True),
            "supervisor": make_user(db.session, role="supervisor", username="lanhdao"),
            "admin": make_user(db.session, role="admin", username="quantri"),
        }
        make_user(db.session, role="reception", username="nguoikhac")  # an account admin pages can act on
        current = now().replace(microsecond=0)

        def receive(name):
            return services.receive_dossier(
                db.session, procedure=db.session.get(Procedure, procedure.id),
                applicant={"kind": "individual", "name": name, "id_number": "079203001234", "phone": "0912345678"},
                channel="direct", received_by=people["reception"], now=current)

        receive("Nguyễn Văn Mới")
        forwarded = receive("Trần Thị Chuyển")
        services.record_event(db.session, forwarded, "forwarded", user=people["reception"], now=current)
        for name in ("Lê Văn Xong", "Phạm Thị Nhận"):
            done = receive(name)
            services.record_event(db.session, done, "forwarded", user=people["reception"], now=current)
            services.record_event(db.session, done, "finished", user=people["handler"], now=current,
                                  result="approved")
        services.record_event(db.session, done, "handed_over", user=people["reception"], now=current)
        from tthc.demo import SAMPLE_PLAN
        from tthc.plans.services import import_file as import_plan

        with open(SAMPLE_PLAN, "rb") as fh:
            import_plan(db.session, fh.read(), "papi_plan_2018.csv")
        db.session.commit()
        return done.code


def _waiting_import(app) -> str:
    """The dossier import's mapping page of an uploaded file (its forms appear only after an upload)."""
    import os

    folder = os.path.join(app.instance_path, "imports")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "every-form-test.csv"), "w", encoding="utf-8") as fh:
        fh.write("Mã hồ sơ,Tên thủ tục,Chủ hồ sơ,Ngày tiếp nhận,Trạng thái,Cột lạ\nA-1,Thủ tục,An,01/11/2026 08:00,"
                 "Mới tiếp nhận,x\n")
    return "/imports/map?token=every-form-test"


def _logout(client):
    page = client.get("/login")
    if page.status_code == 200:
        return
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def _login(client, username):
    _logout(client)
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302


def _crawl(client, starts):
    """Every POST form reachable from ``starts``: {(action, frozenset(field names)): (page, form element)}."""
    seen_paths, queue, forms = set(), list(starts), {}
    while queue and len(seen_paths) < MAX_PAGES:
        url = queue.pop(0)
        parts = urlsplit(url)
        # One visit per path and query keys; plan pages (many periods alike) once per shape.
        path = re.sub(r"\d+", "N", parts.path) if parts.path.startswith("/plans") else parts.path
        key = (path, tuple(sorted(re.findall(r"([^&=]+)=", parts.query))))
        if key in seen_paths:
            continue
        seen_paths.add(key)
        response = client.get(url)
        if response.status_code != 200 or not response.mimetype == "text/html":
            continue
        doc = lxml.html.fromstring(response.get_data(as_text=True))
        for form in doc.xpath("//form"):
            if (form.get("method") or "get").lower() != "post":
                continue
            action = urljoin(url, form.get("action") or url)
            names = frozenset(el.get("name") for el in form.xpath(".//input|.//select|.//textarea") if el.get("name"))
            forms.setdefault((urlsplit(action).path, names), (url, form))
        for href in doc.xpath("//a/@href"):
            target = urljoin(url, href)
            if target.startswith(("http://localhost/", "/")) and not SKIP_LINKS.search(urlsplit(target).path):
                queue.append(urlsplit(target).path + ("?" + urlsplit(target).query if urlsplit(target).query else ""))
    return forms


def _fields(form):
    """(name, kind, required) of the form's user fields (hidden ones are kept as they are)."""
    out = []
    for el in form.xpath(".//input|.//select|.//textarea"):
        name = el.get("name")
        if not name:
            continue
        kind = el.tag if el.tag != "input" else (el.get("type") or "text").lower()
        required = el.get("required") is not None or el.get("aria-required") == "true"
        out.append((name, kind, required, el))
    return out


TEXT_KINDS = {"text", "textarea", "search", "email", "tel", "password", "url", "number", "date", "datetime-local"}


def _payload(form, token, fill=None):
    data = {}
    for name, kind, _required, el in _fields(form):
        if kind == "hidden":
            data[name] = token if name == "csrf_token" else (el.get("value") or "")
        elif kind in ("submit", "button", "checkbox", "radio", "file"):
            continue
        elif kind in TEXT_KINDS and fill is not None and kind not in ("number", "date", "datetime-local"):
            data[name] = fill
        else:
            data[name] = ""
    return data


def _field_has_error(doc, name) -> bool:
    for el in doc.xpath(f"//*[@name='{name}']"):
        box = el.xpath("ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' field ')][1]")
        if box and box[0].xpath(".//*[contains(concat(' ', normalize-space(@class), ' '), ' error ')]"):
            return True
    return False


def _submit(client, page, form, fill=None):
    action = urljoin(page, form.get("action") or page)
    if client.get(page).status_code != 200:
        return None, ""  # the page is gone (e.g. a dossier whose state moved on): nothing to submit
    token = csrf_token(client, page)
    response = client.post(urlsplit(action).path, data=_payload(form, token, fill))
    assert response.status_code < 500, (action, response.status_code)
    if response.status_code in (301, 302, 303) and response.location:
        response = client.get(response.location)
    if response.mimetype != "text/html":
        return None, ""
    text = response.get_data(as_text=True)
    return lxml.html.fromstring(text), text


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_form_answers_all_its_errors_at_once_in_vietnamese(app, client):
    handed_over = _seed(app)
    with app.app_context():
        users = [u for u in db.session.scalars(select(User)) if u.username != "nguoikhac"]
        usernames = {u.role: u.username for u in users}
        # Emptying the account form of a user the test logs in as would switch that account off.
        own_pages = {f"/admin/users/{u.id}" for u in users}
    discovered = {}
    starts = dict(EXTRA_STARTS, admin=EXTRA_STARTS.get("admin", []) + [_waiting_import(app)])
    for role in ("reception", "handler", "supervisor", "admin", None):
        if role:
            _login(client, usernames[role])
            found = _crawl(client, ["/", *starts.get(role, [])])
        else:
            _logout(client)
            found = _crawl(client, ["/tra-cuu", "/thu-tuc", "/login"])
            # The rating form appears only on the answer of a look-up of a handed-over dossier.
            answer = client.post("/tra-cuu", data={"ma": handed_over, "so": "5678",
                                                   "csrf_token": csrf_token(client, "/tra-cuu")})
            for form in lxml.html.fromstring(answer.get_data(as_text=True)).xpath("//form[@method='post']"):
                names = frozenset(el.get("name") for el in form.xpath(".//input|.//textarea") if el.get("name"))
                found.setdefault((urljoin("/tra-cuu", form.get("action")), names), ("/tra-cuu", form))
        for key, (page, form) in found.items():
            discovered.setdefault(key, (role, page, form))

    adapter = app.url_map.bind("localhost")
    covered = set()
    for (path, _names), _ in discovered.items():
        try:
            covered.add(adapter.match(path, method="POST")[0])
        except Exception:  # noqa: BLE001 - a form posting to a GET-only URL would show here
            pytest.fail(f"a form posts to {path}, which takes no POST")
    post_endpoints = {r.endpoint for r in app.url_map.iter_rules() if "POST" in r.methods}
    missing = post_endpoints - covered - NOT_HTML_FORMS
    assert not missing, f"POST endpoints no crawled page offers a form for: {sorted(missing)}"

    problems = []
    current_role = "none"
    order = {None: 0, "reception": 1, "handler": 2, "supervisor": 3, "admin": 4}
    for (path, _names), (role, page, form) in sorted(discovered.items(), key=lambda kv: order[kv[1][0]]):
        if path == "/logout" or urlsplit(page).path in own_pages or path.startswith(tuple(p + "/" for p in own_pages)):
            continue
        if role != current_role:
            if role:
                _login(client, usernames[role])
            else:
                _logout(client)
            current_role = role
        required = [name for name, kind, req, _el in _fields(form) if req and kind != "hidden"]
        for label, fill in (("empty", None), ("over-long", "x" * 3000)):
            doc, text = _submit(client, page, form, fill)
            if doc is None:
                continue
            for english in english_in(text):
                problems.append(f"{path} [{label}]: English message {english!r}")
            for message in messages(doc):
                if not VIETNAMESE.search(message):
                    problems.append(f"{path} [{label}]: message without Vietnamese letters {message!r}")
            if label == "empty" and doc.xpath("//form"):
                for name in required:
                    if doc.xpath(f"//*[@name='{name}']") and not _field_has_error(doc, name):
                        problems.append(f"{path} [empty]: required field {name!r} shows no error of its own")
    assert not problems, "\n".join(problems)
