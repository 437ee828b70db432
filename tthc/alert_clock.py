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
(or moved) as UNSEQUENCED, above every watermark, and stamped just before its transaction commits:
the clock is the last lock a transaction takes, so it never waits for a dossier row while holding
the clock (a scan holding dossier rows and a hand-over holding the clock would deadlock), and a long
import holds it only for its commit.

The clock's row is created on first use (tests empty every table between them).
"""
from __future__ import annotations

from sqlalchemy import event, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tthc.models import UNSEQUENCED, Alert, AlertClock

_ROW = 1
_PENDING = "tthc.alert_clock.pending"


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
    Uncommitted rows of other transactions are invisible to it: each transaction stamps its own."""
    value = tick(session)
    session.execute(update(Alert).where(Alert.seq == UNSEQUENCED).values(seq=value)
                    .execution_options(synchronize_session=False))
    return value


def stamp_at_commit(session) -> None:
    """Have this transaction's UNSEQUENCED alerts stamped just before it commits (see the module)."""
    session.info[_PENDING] = True


def stamp_pending(session) -> int | None:
    """Stamp now what :func:`stamp_at_commit` asked for (flushing first, so every row lock the
    transaction needs is taken before the clock's). Returns the reading, None when nothing waited."""
    if not session.info.pop(_PENDING, False):
        return None
    session.flush()
    return stamp_new_alerts(session)


def read_for_watermark(session) -> int:
    """The clock's value, read under a share lock: it waits for every transaction that advanced the
    clock to end, so every alert stamped at or below the value is committed and visible to the
    statements that follow (READ COMMITTED takes a snapshot per statement). 0 while there is no
    committed clock row (before any alert, or while the very first reading is being inserted, which
    no lock can wait for): a watermark of 0 covers nothing."""
    return session.scalar(select(AlertClock.value).where(AlertClock.id == _ROW)
                          .with_for_update(read=True)) or 0


@event.listens_for(Session, "before_commit")
def _stamp_before_commit(session) -> None:
    stamp_pending(session)


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session) -> None:
    session.info.pop(_PENDING, None)
