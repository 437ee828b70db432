"""The one place that reads the wall clock.

Everything is stored as naive local time of the configured zone
(Asia/Ho_Chi_Minh by default, domain.md §8), whatever zone the host runs in.
Services receive ``now`` as an argument; only views and CLI commands call this.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TZ = "Asia/Ho_Chi_Minh"


def zone() -> ZoneInfo:
    name = current_app.config.get("TIMEZONE", DEFAULT_TZ) if has_app_context() else DEFAULT_TZ
    return ZoneInfo(name)


def now() -> datetime:
    """Naive local time, to the second."""
    return datetime.now(zone()).replace(tzinfo=None, microsecond=0)


def to_iso(value: datetime | None) -> str | None:
    """ISO 8601 with the zone's offset (+07:00), as the API writes it."""
    if value is None:
        return None
    return value.replace(tzinfo=zone()).isoformat()


def from_iso(text: str) -> datetime:
    """Parse ISO 8601 with or without offset; return naive local time. Raises ValueError."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is not None:
        value = value.astimezone(zone()).replace(tzinfo=None)
    return value
