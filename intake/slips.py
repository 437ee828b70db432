"""What the printed forms (the 2018 and 2025 sets, tthc.papers; domain.md §5) need beyond the models.

The QR code of the public look-up address, the date line "…, ngày dd tháng mm năm yyyy",
the processing time as printed (committed, statutory in brackets), and whether a
print is a reprint after a correction. Reads only; never changes a dossier.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import segno
from flask import current_app
from markupsafe import Markup

from tthc.models import LIMIT_UNIT_LABELS, Dossier

def lookup_url(code: str) -> str:
    """The public look-up address of a dossier: ``{PUBLIC_BASE_URL}/tra-cuu?ma=<code>``."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}/tra-cuu?ma={quote(code, safe='')}"


QR_QUIET_ZONE = 4  # modules of white around the symbol (ISO/IEC 18004: at least 4)


def qr_svg(data: str) -> Markup:
    """An inline SVG QR code (no external asset: the desk has no internet).

    Sized by its ``viewBox`` only (no width/height in pixels), so the CSS box scales the whole
    symbol, quiet zone included, instead of clipping its right and bottom edges; the white
    background belongs to the symbol so the quiet zone survives any page colour.
    """
    qr = segno.make(data, error="m")
    return Markup(qr.svg_inline(scale=1, border=QR_QUIET_ZONE, omitsize=True, light="#fff",
                                svgclass="qr-code"))


def date_line(place: str, when: date | datetime | None) -> str:
    """"Place, ngày 05 tháng 03 năm 2025" (the header's place-and-date line)."""
    place = (place or "").strip() or "…………"
    if when is None:
        return f"{place}, ngày …… tháng …… năm ……"
    return f"{place}, ngày {when.day:02d} tháng {when.month:02d} năm {when.year}"


def _limit_text(amount: Any, unit: str | None) -> str:
    if unit == "none":
        return "Không quy định thời hạn"
    if not unit or amount is None:
        return ""
    return f"{amount} {LIMIT_UNIT_LABELS.get(unit, unit)}"


def processing_time(dossier: Dossier) -> str:
    """The committed time, with the statutory one in brackets when they differ (form 01):
    "20 ngày làm việc (theo quy định: 1 tháng)". The receipt's label does not say "theo quy định"
    again ("Thời gian giải quyết hồ sơ: …").

    Read from the rule snapshot taken at reception; the procedure's current values
    are the fallback for keys the snapshot does not carry.
    """
    rule = dossier.rule or {}
    proc = dossier.procedure
    unit = rule.get("limit_unit") or (proc.effective_unit if proc else None)
    amount = rule.get("limit_amount") if "limit_amount" in rule else (proc.effective_amount if proc else None)
    stat_unit = rule.get("statutory_unit") or (proc.limit_unit if proc else None)
    stat_amount = rule.get("statutory_amount") if "statutory_amount" in rule else (
        proc.statutory_amount if proc else None)
    effective = _limit_text(amount, unit)
    statutory = _limit_text(stat_amount, stat_unit)
    if statutory and effective and statutory != effective:
        return f"{effective} (theo quy định: {statutory})"
    return effective or statutory or "Không quy định thời hạn"


def document_rows(dossier: Dossier) -> list[dict]:
    """The documents received, normalised (name, kind, count) for the receipt."""
    rows = []
    for doc in dossier.documents or []:
        if not isinstance(doc, dict):
            continue
        try:
            count = int(doc.get("count") or 1)
        except (TypeError, ValueError):
            count = 1
        rows.append({"name": doc.get("name", ""), "kind": doc.get("kind", ""), "count": count})
    return rows
