"""Text helpers shared by every feature: diacritic-free search keys, masking.

Search must ignore case and Vietnamese diacritics the same way on SQLite and
PostgreSQL (domain.md §8), so we store a folded copy of each searchable name
and fold the query the same way, rather than relying on database collations.
"""
from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str | None) -> str:
    """'Nguyễn Văn  Á' -> 'nguyen van a'."""
    if not text:
        return ""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _SPACES.sub(" ", stripped).strip().lower()


def mask(value: str | None, keep: int = 3) -> str:
    """Mask personal numbers (Decree 13/2023): keep only the last ``keep`` characters."""
    if not value:
        return ""
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]


# Decree 13/2023 on personal data: ID numbers and phones in full only for the roles that need them
# (the desk, which speaks to applicants, and supervisors). Every list, slip, export and API body
# masks them the same way (:func:`mask`) for everyone else: decided here, once.
PERSONAL_DATA_ROLES = ("reception", "supervisor")


def sees_personal_data(user) -> bool:
    return user is not None and getattr(user, "role", None) in PERSONAL_DATA_ROLES


def personal(value: str | None, user) -> str:
    """``value`` (an ID number or a phone) as ``user`` may see it: in full, or masked."""
    return (value or "") if sees_personal_data(user) else mask(value)


def like_pattern(query: str) -> str:
    """A LIKE pattern for a folded substring search, with wildcards escaped (escape='\\')."""
    q = fold(query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{q}%"


# Characters that no text field may hold: C0 controls but tab, newline and carriage return (NUL
# breaks PostgreSQL, the others break .xlsx/XML), DEL, lone UTF-16 surrogates (they cannot be
# encoded as UTF-8: a page showing one answers 500 for ever) and the noncharacters U+FFFE/U+FFFF.
FORBIDDEN_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def has_forbidden_chars(value: str) -> bool:
    return isinstance(value, str) and FORBIDDEN_CHARS.search(value) is not None


def strip_forbidden_chars(value: str, replacement: str = "") -> str:
    """``value`` without the characters of FORBIDDEN_CHARS (lone surrogates become U+FFFD)."""
    if not isinstance(value, str):
        return value
    value = re.sub("[\ud800-\udfff]", "\ufffd", value)
    return FORBIDDEN_CHARS.sub(replacement, value)


def find_forbidden(value, path: str = "") -> str | None:
    """The path (``applicant.name``, ``documents[0].name``) of the first string in a JSON value
    holding a forbidden character, or None. Keys are checked as well as values."""
    if isinstance(value, str):
        return path or "body" if has_forbidden_chars(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if has_forbidden_chars(str(key)):
                return strip_forbidden_chars(where, "?")
            found = find_forbidden(item, where)
            if found:
                return found
        return None
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = find_forbidden(item, f"{path}[{i}]")
            if found:
                return found
    return None
