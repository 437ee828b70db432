"""Atomic count-and-check for the throttles (login, public look-up), across gunicorn workers.

Counting recent failures and recording a new attempt must not interleave between workers:
16 parallel wrong passwords must not all count 0 and all be evaluated. ``serialise`` takes,
for each key, a lock held until the transaction ends:

* PostgreSQL: ``pg_advisory_xact_lock`` on a 64-bit hash of the key (keys locked in sorted
  order, so two requests never wait on each other crosswise).
* SQLite: every writing request opens its transaction with ``BEGIN IMMEDIATE``
  (``tthc._configure_sqlite``), so the database lock already serialises writers; nothing to add.
"""
from __future__ import annotations

import hashlib

from sqlalchemy import text


def _key_id(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode("utf-8", "replace")).digest()[:8], "big", signed=True)


def serialise(session, *keys: str) -> None:
    """Hold a lock per key until the current transaction commits or rolls back."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key_id in sorted({_key_id(k) for k in keys}):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key_id})
