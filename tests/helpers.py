"""Small helpers for HTTP tests."""
from __future__ import annotations

import re

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str = "/login") -> str:
    """GET a page and return the CSRF token of its first form."""
    html = client.get(url).get_data(as_text=True)
    match = _CSRF.search(html)
    if not match:
        raise AssertionError(f"no csrf_token on {url}")
    return match.group(1)


def post_form(client, url: str, data: dict, *, form_url: str | None = None, **kw):
    """POST a form with the CSRF token taken from form_url (default: the same URL)."""
    payload = dict(data)
    payload["csrf_token"] = csrf_token(client, form_url or url)
    return client.post(url, data=payload, **kw)
