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


def like_pattern(query: str) -> str:
    """A LIKE pattern for a folded substring search, with wildcards escaped (escape='\\')."""
    q = fold(query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{q}%"
