"""The dossier tally: the counts the dashboard sums, kept in step by the database itself (issue 13).

The dashboard's period table counts every dossier in progress (a province has a hundred thousand)
and every dossier finished in the period, its chart every dossier finished in the last twelve
periods; read from the dossier table, that is every such row on every request. The tally holds the
same counts by day or half-month instead, so a request reads a few thousand rows:

- ``r``: each dossier in progress (neither finished nor closed, not cancelled), by unit, field,
  procedure, channel and the half-month it was received in;
- ``d``: each such dossier with an original deadline, not waiting for a supplement, by unit,
  field, procedure and the day of its original deadline;
- ``f``: each dossier finished or handed over, by unit, classification and half-month of result;
- ``p``: each dossier with a result, not cancelled, by unit, field, procedure, channel,
  classification, half-month of result and half-month of reception (the summary's part
  "finished in the period").

A half-month starts on the 1st or on the ``CUTOFF_DAY``-th (15th): every monthly period of both
schemes (tthc/reports/periods.py), hence every quarter and year, starts and ends on one, so
"received before the period" and "finished in the period" are sums of whole half-months. A period
that does not (a custom range) is counted from the dossiers (:func:`aligned`). "Past its original
deadline at ``now``" is the days before today plus today's deadlines before ``now``, read live (a
range of ix_dossier_unended_deadline). Nothing is cached: the figures are those of the dossier
table when the request reads it (pages compute overdue live), each part in one statement.

Triggers on ``dossier`` keep it in step for every insert, delete and update of the columns it
reads, whoever writes (the one writer, an import, a migration, a bench's seed). They only append:
a change adds ``-1`` for what the row was and ``+1`` for what it is, so that concurrent writers
never wait for one another on a counter row (nor deadlock on two). :func:`compact` sums the rows of
a key into one (the scheduled scan does it after its pass, ``flask deadlines scan`` too); readers
sum whatever is there, so compaction changes no figure. :func:`rebuild` recomputes the tally
(``flask reports rebuild-tally``): needed only after a write that bypasses row triggers, which the
application never makes (a ``TRUNCATE dossier``, a data-only restore or a load with triggers
disabled, an SQLite ``INSERT OR REPLACE`` without recursive triggers, a batch migration that
recreates ``dossier`` on SQLite and so drops its triggers).

The DDL is attached to the metadata (``create_all`` builds it in tests and benches) and written out
in the migration ``e41c7a9d2b63`` (tests/integration/test_migrations.py compares them). Every
statement (the triggers on both databases and the rebuild) is generated from :data:`KINDS`, so what
each kind counts is stated once.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Optional

from sqlalchemy import DateTime, String, case, cast, event, func, literal, null, select, text, union_all

from deadlines.lifecycle import FINISHED_STATUSES
from tthc.reports.periods import CUTOFF_DAY

TABLE = "dossier_tally"
SQLITE_TRIGGERS = ("dossier_tally_ai", "dossier_tally_ad", "dossier_tally_au")
PG_FUNCTION = "dossier_tally_track"
PG_TRIGGER = "dossier_tally_track"
#: The tally's key, after its kind.
KEY = ("unit_id", "field", "procedure_id", "tag", "tag2", "day", "day2")
_UNENDED = "coalesce({p}.finished_at, {p}.closed_at) IS NULL AND {p}.status <> 'cancelled'"
_FINISHED = ", ".join(f"'{s}'" for s in FINISHED_STATUSES)

#: kind -> (its key's parts, in KEY's order, with ``{p}`` for the row; a day is ("day", column), the
#: day itself, or ("half", column), the first day of its half-month: the 1st or the CUTOFF_DAY-th, on
#: which every monthly period of both schemes starts and ends), membership.
KINDS = {
    "r": (("{p}.unit_id", "{p}.field", "{p}.procedure_id", "{p}.channel", "NULL", ("half", "received_at"), "NULL"),
          _UNENDED),
    "d": (("{p}.unit_id", "{p}.field", "{p}.procedure_id", "NULL", "NULL", ("day", "original_deadline_at"), "NULL"),
          _UNENDED + " AND {p}.status <> 'awaiting_supplement' AND {p}.original_deadline_at IS NOT NULL"),
    "f": (("{p}.unit_id", "NULL", "NULL", "{p}.classification", "NULL", ("half", "finished_at"), "NULL"),
          "{p}.finished_at IS NOT NULL AND {p}.status IN (" + _FINISHED + ")"),
    "p": (("{p}.unit_id", "{p}.field", "{p}.procedure_id", "{p}.channel", "{p}.classification",
           ("half", "finished_at"), ("half", "received_at")),
          "{p}.finished_at IS NOT NULL AND {p}.status <> 'cancelled'"),
}
_INSERT = f"INSERT INTO {TABLE} (kind, {', '.join(KEY)}, n) "


def read_columns() -> set[str]:
    """Every dossier column :data:`KINDS` names (tests check that :data:`COLUMNS` is this set)."""
    texts = [member for _, member in KINDS.values()]
    for parts, _ in KINDS.values():
        texts += ["{p}." + part[1] if isinstance(part, tuple) else part for part in parts]
    return set(re.findall(r"\{p\}\.(\w+)", " ".join(texts)))


#: The dossier columns the tally reads: an UPDATE OF any of them may move a dossier in it, so the
#: UPDATE trigger fires on these (in the order the migration wrote them).
COLUMNS = ("status", "unit_id", "field", "procedure_id", "channel", "received_at", "original_deadline_at",
           "finished_at", "closed_at", "classification")


def half_month(day: date) -> date:
    """The first day of ``day``'s half-month (Python's reading of the tally's ("half", column))."""
    return day.replace(day=CUTOFF_DAY if day.day >= CUTOFF_DAY else 1)


def aligned(*instants: datetime) -> bool:
    """Whether each instant is the start of a half-month: a bound the tally's half-months can sum to."""
    return all(i == datetime.combine(half_month(i.date()), datetime.min.time()) for i in instants)


def _day(dialect: str, p: str, part) -> str:
    how, column = part
    x = f"{p}.{column}"
    if how == "day":
        return f"date({x})" if dialect == "sqlite" else f"CAST({x} AS date)"
    if dialect == "sqlite":
        return (f"date({x}, 'start of month', CASE WHEN CAST(strftime('%d', {x}) AS INTEGER) >= {CUTOFF_DAY} "
                f"THEN '+{CUTOFF_DAY - 1} days' ELSE '+0 days' END)")
    return (f"(CAST(date_trunc('month', {x}) AS date) + CASE WHEN extract(day FROM {x}) >= {CUTOFF_DAY} "
            f"THEN {CUTOFF_DAY - 1} ELSE 0 END)")


def _key(dialect: str, kind: str, p: str) -> list[str]:
    return [_day(dialect, p, part) if isinstance(part, tuple) else part.format(p=p) for part in KINDS[kind][0]]


def _member(kind: str, p: str) -> str:
    return "(" + KINDS[kind][1].format(p=p) + ")"


def _row(dialect: str, kind: str, p: str, n: int) -> str:
    return f"SELECT '{kind}', {', '.join(_key(dialect, kind, p))}, {n}"


def _same(dialect: str, kind: str) -> str:
    """The row was and is in the kind under the same key: an update that leaves the kind as it was."""
    old = ", ".join(k for k in _key(dialect, kind, "OLD") if k != "NULL")
    new = ", ".join(k for k in _key(dialect, kind, "NEW") if k != "NULL")
    same_key = f"({old}) IS ({new})" if dialect == "sqlite" else f"ROW({old}) IS NOT DISTINCT FROM ROW({new})"
    return f"({_member(kind, 'OLD')} AND {_member(kind, 'NEW')} AND {same_key})"


def _inserts(dialect: str, op: str) -> list[str]:
    """The INSERTs a row trigger runs for ``op`` (INSERT, DELETE, UPDATE)."""
    out = []
    for kind in KINDS:
        keep = f" AND NOT {_same(dialect, kind)}" if op == "UPDATE" else ""
        if op in ("DELETE", "UPDATE"):
            out.append(_INSERT + _row(dialect, kind, "OLD", -1) + f" WHERE {_member(kind, 'OLD')}{keep}")
        if op in ("INSERT", "UPDATE"):
            out.append(_INSERT + _row(dialect, kind, "NEW", 1) + f" WHERE {_member(kind, 'NEW')}{keep}")
    return out


def trigger_sql(dialect: str) -> list[str]:
    """The statements that create the triggers on ``dialect`` ("sqlite" or "postgresql")."""
    columns = ", ".join(COLUMNS)
    if dialect == "sqlite":
        ai, ad, au = SQLITE_TRIGGERS
        body = {op: " ".join(s + ";" for s in _inserts(dialect, op)) for op in ("INSERT", "DELETE", "UPDATE")}
        return [
            f"CREATE TRIGGER IF NOT EXISTS {ai} AFTER INSERT ON dossier BEGIN {body['INSERT']} END",
            f"CREATE TRIGGER IF NOT EXISTS {ad} AFTER DELETE ON dossier BEGIN {body['DELETE']} END",
            f"CREATE TRIGGER IF NOT EXISTS {au} AFTER UPDATE OF {columns} ON dossier BEGIN {body['UPDATE']} END",
        ]
    branches = []
    for op in ("INSERT", "DELETE", "UPDATE"):
        branches.append(f"IF TG_OP = '{op}' THEN " + " ".join(s + ";" for s in _inserts(dialect, op)) + " END IF;")
    return [
        f"CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        + " ".join(branches) + " RETURN NULL; END $$",
        f"DROP TRIGGER IF EXISTS {PG_TRIGGER} ON dossier",
        f"CREATE TRIGGER {PG_TRIGGER} AFTER INSERT OR DELETE OR UPDATE OF {columns} ON dossier "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()",
    ]


def drop_sql(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {t}" for t in SQLITE_TRIGGERS]
    return [f"DROP TRIGGER IF EXISTS {PG_TRIGGER} ON dossier", f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()"]


def rebuild_sql(dialect: str) -> list[str]:
    """Replace the tally by the counts of the dossiers as they are (one row per key)."""
    out = [f"DELETE FROM {TABLE}"]
    for kind in KINDS:
        key = _key(dialect, kind, "dossier")
        grouped = ", ".join(k for k in key if k != "NULL")  # PostgreSQL refuses a constant in GROUP BY
        out.append(_INSERT + f"SELECT '{kind}', {', '.join(key)}, count(*) FROM dossier "
                   f"WHERE {_member(kind, 'dossier')} GROUP BY {grouped}")
    return out


def install(connection) -> None:
    """Create the triggers (again: idempotent); fill an empty tally from the dossiers there."""
    dialect = connection.dialect.name
    for statement in trigger_sql(dialect):
        connection.exec_driver_sql(statement)
    if connection.exec_driver_sql(f"SELECT 1 FROM {TABLE} LIMIT 1").first() is None:
        for statement in rebuild_sql(dialect):
            connection.exec_driver_sql(statement)


def rebuild(connection) -> None:
    for statement in rebuild_sql(connection.dialect.name):
        connection.exec_driver_sql(statement)


#: The key in the order of ix_dossier_tally_kind_day, so that grouping by it walks the index in order.
_GROUP = "kind, day, unit_id, field, procedure_id, tag, tag2, day2"
#: A stand-in for NULL per key column, so that PostgreSQL can hash-join keys holding NULLs. A real
#: value equal to it only widens the rows a compaction deletes: they are summed by their real key.
_NONE = {"unit_id": "-1", "procedure_id": "-1", "field": "''", "tag": "''", "tag2": "''",
         "day": "DATE '0001-01-01'", "day2": "DATE '0001-01-01'"}
_SPLIT = f"SELECT {_GROUP} FROM {TABLE} GROUP BY {_GROUP} HAVING count(*) > 1 OR sum(n) = 0"


def compact(session) -> int:
    """Sum into one row the rows of each key that has several (or sums to 0, then none); returns
    the rows removed. ``session``: a Session or a Connection. In a steady tally (compacted, nothing
    written since) it reads the index once and writes nothing.

    PostgreSQL: one statement, so that the rows it deletes are exactly the rows it sums, whatever
    other transactions commit meanwhile. SQLite: inside the caller's write transaction (one writer
    at a time), the rows up to the highest id."""
    dialect = session.get_bind().dialect.name if hasattr(session, "get_bind") else session.dialect.name
    if dialect == "postgresql":
        same = " AND ".join(f"t.kind = s.kind" if c == "kind" else f"coalesce(t.{c}, {_NONE[c]}) = coalesce(s.{c}, {_NONE[c]})"
                            for c in _GROUP.split(", "))
        columns = ", ".join(f"t.{c}" for c in _GROUP.split(", "))
        removed = session.execute(text(
            f"WITH split AS ({_SPLIT}), "
            f"gone AS (DELETE FROM {TABLE} t USING split s WHERE {same} RETURNING {columns}, t.n), "
            f"summed AS (INSERT INTO {TABLE} ({_GROUP}, n) SELECT {_GROUP}, sum(n) FROM gone GROUP BY {_GROUP} "
            f"HAVING sum(n) <> 0 RETURNING 1) "
            f"SELECT (SELECT count(*) FROM gone) - (SELECT count(*) FROM summed)")).scalar_one()
        return int(removed)
    top = session.execute(text(f"SELECT max(id) FROM {TABLE}")).scalar()
    if top is None:
        return 0
    split = session.execute(text(f"SELECT {_GROUP}, sum(n), count(*) FROM {TABLE} WHERE id <= :top "
                                 f"GROUP BY {_GROUP} HAVING count(*) > 1 OR sum(n) = 0"), {"top": top}).all()
    if not split:
        return 0
    names = _GROUP.split(", ")
    keys = [dict(zip(names, row[:len(names)]), top=top) for row in split]
    same = " AND ".join(f"{c} IS :{c}" for c in names)
    session.execute(text(f"DELETE FROM {TABLE} WHERE id <= :top AND {same}"), keys)
    summed = [dict(zip(names, row[:len(names)]), n=row[len(names)]) for row in split if row[len(names)]]
    if summed:
        session.execute(text(f"INSERT INTO {TABLE} ({_GROUP}, n) VALUES "
                             f"({', '.join(':' + c for c in names)}, :n)"), summed)
    return sum(row[-1] for row in split) - len(summed)


def attach(metadata) -> None:
    """Build the triggers whenever ``create_all`` creates the tables (after all of them: the
    triggers on ``dossier`` write the tally)."""
    def after_create(target, connection, **kw):
        if connection.dialect.name in ("sqlite", "postgresql"):
            install(connection)

    event.listen(metadata, "after_create", after_create)


# -- reads ----------------------------------------------------------------------------------------


def _tally():
    from tthc.models import DossierTally

    return DossierTally


def unended(session, start: datetime, end: datetime, now: datetime, unit_id: Optional[int]) -> dict[tuple, tuple]:
    """The dossiers in progress at ``now`` of a period running at ``now`` (``start <= now < end``,
    half-month bounds: :func:`aligned`), received before ``end``, at the summary's grain (unit, field,
    procedure): ``{grain: ({channel: (in progress, received before start)}, past their original
    deadline)}``, "past" counting only those not waiting for a supplement (_fold_unended in
    tthc.reports.queries).

    One statement (one snapshot, so that no write between two reads can show a state that never
    was), four parts: the tally's half-months of reception (``r``); its days of deadline before
    today (``d``); today's deadlines already passed, read live from ix_dossier_unended_deadline
    (``t``: a day's deadlines); the dossiers dated at or after the end (``a``: none in a period
    running now but for one dated ahead), out of scope yet in the tally's days, a range of
    ix_dossier_received_at decided here (so that no partial index is walked for it).
    """
    from tthc.models import Dossier

    t, d = _tally(), Dossier
    today = datetime.combine(now.date(), datetime.min.time())
    scope = [] if unit_id is None else [t.unit_id == unit_id]
    none = {name: cast(null(), type_) for name, type_ in
            (("tag", String), ("at", DateTime), ("status", String), ("ended", DateTime))}
    # Today's deadlines passed: the range read apart (OFFSET 0: no planner merges it, nor pushes the
    # unit into it, which would send SQLite to an index in the grain's order), then grouped.
    passed = (select(d.unit_id, d.field, d.procedure_id)
              .where(d.original_deadline_at >= today, d.original_deadline_at < now, d.received_at < end,
                     func.coalesce(d.finished_at, d.closed_at).is_(None),
                     d.status.not_in(("cancelled", "awaiting_supplement")))
              .offset(0).subquery("passed"))
    parts = union_all(
        select(literal("r"), t.unit_id, t.field, t.procedure_id, t.tag, func.sum(t.n),
               func.sum(case((t.day < start.date(), t.n), else_=0)), none["at"], none["status"], none["ended"])
        .where(t.kind == "r", t.day < end.date(), *scope).group_by(t.unit_id, t.field, t.procedure_id, t.tag),
        select(literal("d"), t.unit_id, t.field, t.procedure_id, none["tag"], func.sum(t.n), literal(0),
               none["at"], none["status"], none["ended"])
        .where(t.kind == "d", t.day < today.date(), *scope).group_by(t.unit_id, t.field, t.procedure_id),
        select(literal("t"), passed.c.unit_id, passed.c.field, passed.c.procedure_id, none["tag"], func.count(),
               literal(0), none["at"], none["status"], none["ended"])
        .where(*([] if unit_id is None else [passed.c.unit_id == unit_id]))
        .group_by(passed.c.unit_id, passed.c.field, passed.c.procedure_id),
        select(literal("a"), d.unit_id, d.field, d.procedure_id, none["tag"], literal(1), literal(0),
               d.original_deadline_at, d.status, func.coalesce(d.finished_at, d.closed_at))
        .where(d.received_at >= end),
    )
    out: dict[tuple, tuple] = {}
    past: dict[tuple, int] = {}
    for part, unit, fld, procedure, channel, n, carried, deadline, status, ended in session.execute(parts):
        key = (unit, fld, procedure)
        if part == "r":
            channels, _ = out.setdefault(key, ({}, 0))
            channels[channel] = (int(n or 0), int(carried or 0))
        elif part == "d":
            past[key] = past.get(key, 0) + int(n or 0)
        elif unit_id is not None and unit != unit_id:
            continue
        elif part == "t":
            past[key] = past.get(key, 0) + int(n)
        elif (ended is None and status not in ("cancelled", "awaiting_supplement") and deadline is not None
              and deadline < today):
            past[key] = past.get(key, 0) - 1
    for key, n in past.items():
        channels, _ = out.setdefault(key, ({}, 0))
        out[key] = (channels, n)
    return out


def finished(session, start: datetime, end: datetime, unit_id: Optional[int]) -> dict[tuple, dict]:
    """The dossiers finished from ``start`` to ``end`` (half-month bounds: :func:`aligned`), not
    cancelled, received before ``end``, at the summary's grain: ``{grain: {(channel, classification,
    received before start): n}}`` (the summary's part "finished", tthc.reports.queries._counts)."""
    t = _tally()
    grain = (t.unit_id, t.field, t.procedure_id)
    scope = [] if unit_id is None else [t.unit_id == unit_id]
    out: dict[tuple, dict] = {}
    for unit, fld, procedure, channel, classification, n, carried in session.execute(
            select(*grain, t.tag, t.tag2, func.sum(t.n), func.sum(case((t.day2 < start.date(), t.n), else_=0)))
            .where(t.kind == "p", t.day >= start.date(), t.day < end.date(), t.day2 < end.date(), *scope)
            .group_by(*grain, t.tag, t.tag2)):
        n, carried = int(n or 0), int(carried or 0)
        for is_carried, count in ((True, carried), (False, n - carried)):
            if count:
                out.setdefault((unit, fld, procedure), {})[(channel, classification, is_carried)] = count
    return out


def finished_by_half_month(session, first: date, end: date, unit_id: Optional[int]) -> dict[date, dict]:
    """``{first day of a half-month: {classification: n}}`` of the dossiers finished (finished or
    handed over) from ``first`` to ``end`` (excluded; both the start of a half-month); classification
    None: no time limit."""
    t = _tally()
    scope = [] if unit_id is None else [t.unit_id == unit_id]
    out: dict[date, dict] = {}
    for day, tag, n in session.execute(
            select(t.day, t.tag, func.sum(t.n)).where(t.kind == "f", t.day >= first, t.day < end, *scope)
            .group_by(t.day, t.tag)):
        if n:
            out.setdefault(day, {})[tag] = int(n)
    return out
