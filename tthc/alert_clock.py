"""The alerts' clock: what lets the unread badge skip the alerts a user has acknowledged (issue 13).

Every page shows a user's unread alerts. Acknowledgements are rows (``alert_ack``), so "nothing is
unread" could only be told by checking every alert the user sees against them: at 1,000,000 dossiers
a supervisor sees 120,000 alerts, and a department that works its inbox is in that state every day.

So alerts carry ``seq``, the clock's reading when they were raised or last moved to another unit, and
each user a watermark (``AlertWatermark``): every alert they see by role and unit with ``seq`` at
most the watermark carries their acknowledgement. The badge reads only the alerts above it. The
acknowledgement rows stay the truth; the watermark only says where checking them can stop.

Why a clock row rather than the alert ids: ids are drawn when a row is written, not when it commits,
so on PostgreSQL an alert with a smaller id than one already visible may still be in flight, and a
watermark past it would hide it. Here every transaction that raises or moves alerts advances the
clock's one row and stamps its alerts with the value, holding the row's lock until it commits; a
watermark is taken under a share lock of the same row, after which every alert stamped at or below
the clock's value is committed and visible (SQLite serialises writers anyway). An alert is inserted
as UNSEQUENCED (above every watermark) and stamped before its transaction ends.

The clock's row is created on first use (tests empty every table between them).
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tthc.models import UNSEQUENCED, Alert, AlertClock

_ROW = 1


def tick(session) -> int:
    """Advance the clock and return its new value. Its row stays locked until the transaction ends."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (insert(AlertClock).values(id=_ROW, value=1)
            .on_conflict_do_update(index_elements=[AlertClock.id], set_={"value": AlertClock.value + 1})
            .returning(AlertClock.value))
    return session.execute(stmt).scalar_one()


def stamp_new_alerts(session) -> int:
    """Give the alerts this transaction inserted or moved (still UNSEQUENCED) one new clock reading.
    Other transactions' unstamped rows are not visible to it: they stamp their own."""
    value = tick(session)
    session.execute(update(Alert).where(Alert.seq == UNSEQUENCED).values(seq=value)
                    .execution_options(synchronize_session=False))
    return value


def read_for_watermark(session) -> int:
    """The clock's value, read under a share lock: it waits for every transaction that advanced the
    clock to end, so every alert stamped at or below the value is committed and visible to the
    statements that follow (READ COMMITTED takes a snapshot per statement). 0 before any alert."""
    return session.scalar(select(AlertClock.value).where(AlertClock.id == _ROW)
                          .with_for_update(read=True)) or 0
