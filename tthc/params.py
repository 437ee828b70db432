"""Bounded integers from query strings, form fields and URL paths.

Python ints are unbounded but database columns are not: an id like
``99999999999999999999`` reaching a query raises OverflowError on SQLite and
"integer out of range" on PostgreSQL, i.e. an HTTP 500. Every id or page number
taken from a request goes through these helpers, so that bad input is treated
like any other unknown id or past-the-end page (project rule: never a 500).
"""
from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter

MAX_ID = 2_147_483_647  # the largest PostgreSQL INTEGER (SQLite's INTEGER is wider)
MAX_PAGE = 1_000_000
_MAX_DIGITS = 12  # more digits than this is out of range anyway: never int() a huge string


def parse_int(raw: Any, low: int, high: int) -> int | None:
    """``raw`` as an int when it is plain decimal digits within ``low..high``; otherwise None."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw).strip()
        if not text.isascii() or not text.isdigit() or len(text.lstrip("0")) > _MAX_DIGITS:
            return None
        value = int(text)
    return value if low <= value <= high else None


def parse_id(raw: Any) -> int | None:
    """A database id (1..2_147_483_647) or None: out-of-range ids behave like unknown ones."""
    return parse_int(raw, 1, MAX_ID)


def parse_filter_id(raw: Any) -> int | None:
    """An optional id filter (``?unit=``): empty or not a number → None (no filter); a number
    that cannot be an id (0, out of range) → 0, which matches nothing, like an unknown id."""
    if raw is None or not str(raw).strip():
        return None
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = parse_id(text)
    return value if value is not None else 0


def parse_page(raw: Any, default: int = 1) -> int:
    """A page number, never an error: junk gives ``default``; too large is clamped to MAX_PAGE."""
    if raw is None or isinstance(raw, bool):
        return default
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit():
        return default
    if len(text.lstrip("0")) > _MAX_DIGITS:
        return MAX_PAGE
    return min(max(1, int(text)), MAX_PAGE)


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in URLs, limited to MAX_ID: a larger number does not match the route (404)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app) -> None:
    """Make every ``<int:...>`` route of the app bounded (register before the blueprints)."""
    app.url_map.converters["int"] = BoundedIntConverter
