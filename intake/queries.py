"""Reads for the desk's and the units' home pages (issue 16): nothing here writes.

- :func:`reception_worklist`: today's work of the one-stop desk: dossiers to forward (with
  their forwarding deadline, Decree 61/2018 Art. 18; domain.md §4.8), those already past it
  (flagged not forwarded), results back from the units to hand over, supplements awaited.
- :func:`unit_queue`: a handling unit's dossiers, most urgent first: overdue, due soon, then
  those whose 3-working-day window to request a supplement is still open (Decree 61/2018,
  Art. 19(4); domain.md §4.5), then the rest by deadline.

Overdue, due soon and not forwarded are the watch rules of ``deadlines.lifecycle`` (stated once),
evaluated live against ``now``: as SQL through ``deadlines.scan.sql_condition`` for the worklist's
sections, on each dossier through ``lifecycle.holds`` for the queue's ranking.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import not_, select
from sqlalchemy.orm import selectinload

from deadlines import lifecycle
from deadlines.scan import sql_condition
from intake.services import COUNT_CAP, capped_count, count_label
from tthc.models import Dossier

SECTION_LIMIT = 50
QUEUE_LIMIT = 200
SUPPLEMENT_WINDOW_WORKING_DAYS = 3  # Decree 61/2018, Art. 19(4)


@dataclass
class Section:
    key: str
    total: int  # exact up to COUNT_CAP, COUNT_CAP + 1 beyond ("hơn 1.000"): no page counts a million rows
    items: list = field(default_factory=list)

    @property
    def total_label(self) -> str:
        return count_label(self.total, COUNT_CAP)


def _section(session, key: str, *conditions, order_by, limit: int = SECTION_LIMIT) -> Section:
    total = capped_count(session, select(Dossier.id).where(*conditions), COUNT_CAP)
    items = session.scalars(
        select(Dossier).where(*conditions).options(selectinload(Dossier.procedure), selectinload(Dossier.unit))
        .order_by(*order_by, Dossier.id).limit(limit)).all() if total else []
    return Section(key, total, list(items))


def reception_worklist(session, now: datetime, cal) -> dict[str, Section]:
    """The desk's sections, each with its total and its first items, most pressing first."""
    received = Dossier.status == "received"
    late = sql_condition(lifecycle.WATCH_RULES["not_forwarded"], lifecycle.thresholds(cal, now))
    return {
        "not_forwarded": _section(session, "not_forwarded", late, order_by=[Dossier.forwarding_deadline_at]),
        "to_forward": _section(session, "to_forward", received, not_(late),  # sql_condition is never NULL
                               order_by=[Dossier.forwarding_deadline_at]),
        "to_hand_over": _section(session, "to_hand_over", Dossier.status == "finished",
                                 order_by=[Dossier.finished_at]),
        "awaiting_supplement": _section(session, "awaiting_supplement", Dossier.status == "awaiting_supplement",
                                        order_by=[Dossier.updated_at]),
    }


@dataclass
class QueueItem:
    dossier: Dossier
    urgency: str  # overdue | due_soon | supplement_window | other
    supplement_until: datetime | None = None


URGENCY_ORDER = {"overdue": 0, "due_soon": 1, "supplement_window": 2, "other": 3}


def unit_queue(session, unit_id: int, now: datetime, cal, due_soon_days: int) -> tuple[list[QueueItem], int]:
    """The unit's dossiers in progress, most urgent first, and their total (capped as the lists'
    are: exact up to COUNT_CAP, COUNT_CAP + 1 beyond; ``count_label`` says "hơn 1.000")."""
    held = (Dossier.current_unit_id == unit_id, Dossier.status == "in_progress")
    total = capped_count(session, select(Dossier.id).where(*held), COUNT_CAP)
    if not total:
        return [], 0
    options = (selectinload(Dossier.procedure),)
    by_deadline = session.scalars(select(Dossier).where(*held).options(*options)
                                  .order_by(Dossier.deadline_at.is_(None), Dossier.deadline_at, Dossier.id)
                                  .limit(QUEUE_LIMIT)).all()
    # Forwarded recently and never sent back for a supplement: the window may still be open,
    # even for a dossier whose deadline is far away (so not among the first by deadline).
    recent = session.scalars(select(Dossier).where(
        *held, Dossier.supplement_count == 0, Dossier.forwarded_at >= now - timedelta(days=10))
        .options(*options).limit(QUEUE_LIMIT)).all()
    th = lifecycle.thresholds(cal, now, due_soon_days)
    items: dict[int, QueueItem] = {}
    for d in list(by_deadline) + list(recent):
        if d.id in items:
            continue
        window_end = None
        if d.supplement_count == 0 and d.forwarded_at is not None:
            try:
                window_end = cal.add_working_days(d.forwarded_at, SUPPLEMENT_WINDOW_WORKING_DAYS)
            except ValueError:
                window_end = None
            if window_end is not None and window_end <= now:
                window_end = None
        if lifecycle.holds("overdue", d, th):
            urgency = "overdue"
        elif lifecycle.holds("due_soon", d, th):
            urgency = "due_soon"
        elif window_end is not None:
            urgency = "supplement_window"
        else:
            urgency = "other"
        items[d.id] = QueueItem(d, urgency, window_end)

    def key(item: QueueItem):
        when = item.supplement_until if item.urgency == "supplement_window" else item.dossier.deadline_at
        return URGENCY_ORDER[item.urgency], when or datetime.max, item.dossier.id

    return sorted(items.values(), key=key), total
