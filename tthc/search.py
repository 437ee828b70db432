"""The dossier search index: substring search through a real text index on both databases.

The desk searches all day by a code (or its tail, ``-0015``), a name without diacritics,
an ID number or phone digits (domain.md §8, issue 13). Every one of these is a
substring match (``LIKE '%…%'``), which no B-tree index can answer, so the searched
values are indexed for substring search:

- PostgreSQL: a ``pg_trgm`` GIN index on one search text per dossier: code, folded name,
  ID number and phone, separated by ``|``, without spaces, dashes, dots and slashes
  (``JOINED``), and a literal looked for without them too. Removing the same characters
  from a text and from a part of it leaves a part of it, so every match stays a candidate;
  and the trigrams across a word's end are rare where those of words are not: "nguyen van
  an" as ``nguyenvanan`` has ``env``, ``nva``, ``ana`` (the GIN index reads 10 ms instead
  of 25 at 1M), a code's tail ``261129-0735`` loses the trigrams of a word starting with
  "0" (``"  0"``, ``" 07"``) that nearly every row has. Digits looked for in the ID number
  without its dashes are in it once joined. PostgreSQL keeps an expression index
  in step by itself. The extension is created once, in ``public``, and its operator class
  named with its schema, so that a database whose ``search_path`` is another schema
  (tests, per-tenant schemas) still works.
- SQLite: two contentless FTS5 tables with the trigram tokenizer, kept in step by
  triggers on ``dossier`` for every insert, delete and update of the searched
  columns, whoever writes: ``dossier_search`` holds code and folded name,
  ``dossier_search_number`` the ID number (also without dashes) and phone. Digits are
  apart from codes so that a phone's trigrams are not drowned in the codes' ones.
  Their rowid is not the dossier's id but its *list key*: the reception second
  (since 2000) times 2^28 plus the id, so that rowid order is the list's order
  (received_at, then id: received_at is stored to the second) and FTS5 can give the
  newest matches first and stop once it has a page and the capped count: a common
  name ("nguyen van an": 0.5 % of a province's dossiers) then costs what a page
  costs, not the thousands of matches. ``key & (2^28 - 1)`` is the dossier id.

A search uses the index only to find candidates; the exact conditions that decide a
match (the LIKEs of ``intake.services.search_dossiers``) still apply on them, so the
results are those of a plain scan, found faster. Each indexed text holds every
searched value whole (PostgreSQL: joined, as the literal looked for), so every exact
match is a candidate. Literals under 3 characters (on PostgreSQL, once joined) have no
trigram: such a query scans.

The DDL is attached to the metadata (``create_all`` in tests and benches builds it)
and written out in the migrations ``a13f7c2e5d01`` and ``b7d4e1a9c3f2`` (the joined
PostgreSQL text); ``include_name`` tells Alembic's
autogenerate to leave the FTS shadow tables and the GIN index alone.
"""
from __future__ import annotations

import re

from sqlalchemy import column, event, func, literal_column, or_, select, table, text
from sqlalchemy.sql.util import ClauseAdapter

#: The FTS5 tables (SQLite) and the shadow tables SQLite makes for each (contentless: no _content).
FTS_TABLE = "dossier_search"
FTS_NUMBER_TABLE = "dossier_search_number"
FTS_TABLES = frozenset(f"{t}{s}" for t in (FTS_TABLE, FTS_NUMBER_TABLE)
                       for s in ("", "_data", "_idx", "_docsize", "_config", "_content"))
TRGM_INDEX = "ix_dossier_search_trgm"
TRIGGERS = ("dossier_search_ai", "dossier_search_ad", "dossier_search_au")
#: An UPDATE OF one of these re-indexes the row (received_at: it is part of the list key).
COLUMNS = ("code", "applicant_name_search", "applicant_id_number", "applicant_phone", "received_at")
MIN_LITERAL = 3  # a trigram index needs at least one trigram
ID_BITS = 28
ID_MASK = (1 << ID_BITS) - 1
_EPOCH_2000 = 946684800


def _c(p: str, name: str) -> str:
    return f"coalesce({p}{name}, '')"


#: PostgreSQL: the characters the search text and the literals are looked at without (see above).
JOINED = " -./"
#: The layout of the GIN index, in its comment: create_search_index rebuilds an index without it.
TRGM_LAYOUT = "tthc.search b7d4e1a9c3f2: code|name|ID number|phone, joined (no space, dash, dot or slash)"


def document_sql(prefix: str = "") -> str:
    """PostgreSQL: the whole search text of a dossier row as SQL."""
    p = prefix
    parts = " || '|' || ".join(_c(p, c) for c in ("code", "applicant_name_search", "applicant_id_number",
                                                    "applicant_phone"))
    return f"translate({parts}, '{JOINED}', '')"


def _sqlite_texts(p: str = "") -> dict[str, str]:
    return {
        FTS_TABLE: f"{_c(p, 'code')} || ' ' || {_c(p, 'applicant_name_search')}",
        FTS_NUMBER_TABLE: f"{_c(p, 'applicant_id_number')} || ' ' || replace({_c(p, 'applicant_id_number')}, '-', '')"
                          f" || ' ' || {_c(p, 'applicant_phone')}",
    }


def list_key_sql(p: str = "") -> str:
    """SQLite: the FTS rowid of a dossier row, ordered as the lists are (received_at, id)."""
    return f"((CAST(strftime('%s', {p}received_at) AS INTEGER) - {_EPOCH_2000}) * {1 << ID_BITS} + {p}id)"


def sqlite_ddl() -> list[str]:
    new, old = _sqlite_texts("new."), _sqlite_texts("old.")
    insert = " ".join(f"INSERT INTO {t}(rowid, doc) VALUES ({list_key_sql('new.')}, {new[t]});" for t in new)
    delete = " ".join(f"INSERT INTO {t}({t}, rowid, doc) VALUES ('delete', {list_key_sql('old.')}, {old[t]});"
                      for t in old)
    return [
        *(f"CREATE VIRTUAL TABLE IF NOT EXISTS {t} USING fts5(doc, content='', tokenize='trigram')" for t in new),
        f"CREATE TRIGGER IF NOT EXISTS dossier_search_ai AFTER INSERT ON dossier BEGIN {insert} END",
        f"CREATE TRIGGER IF NOT EXISTS dossier_search_ad AFTER DELETE ON dossier BEGIN {delete} END",
        f"CREATE TRIGGER IF NOT EXISTS dossier_search_au AFTER UPDATE OF {', '.join(COLUMNS)} ON dossier "
        f"BEGIN {delete} {insert} END",
    ]


def sqlite_fill_sql() -> list[str]:
    """Index the dossiers already there (a migration on an existing database)."""
    return [f"INSERT INTO {t}(rowid, doc) SELECT {list_key_sql()}, {doc} FROM dossier"
            for t, doc in _sqlite_texts().items()]


PG_EXTENSION_SQL = "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"


def pg_index_sql() -> list[str]:
    return [f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON dossier USING gin (({document_sql()}) public.gin_trgm_ops)",
            f"COMMENT ON INDEX {TRGM_INDEX} IS '{TRGM_LAYOUT}'"]


def ensure_pg_trgm(connection) -> None:
    """Create ``pg_trgm`` in ``public`` unless some schema has it already (never once per schema)."""
    if connection.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")) is None:
        connection.execute(text(PG_EXTENSION_SQL))


def _sqlite_current(connection) -> dict[str, str]:
    names = (FTS_TABLE, FTS_NUMBER_TABLE, *TRIGGERS)
    rows = connection.execute(text("SELECT name, sql FROM sqlite_master WHERE name IN (%s)"
                                   % ", ".join(f"'{n}'" for n in names)))
    return {name: " ".join((sql or "").split()) for name, sql in rows}


def create_search_index(connection) -> None:
    """Build the search index on a database whose ``dossier`` table exists (idempotent; an index
    of another layout, e.g. a bench database seeded by an earlier commit, is rebuilt)."""
    name = connection.dialect.name
    if name == "sqlite":
        expected = {" ".join(s.replace("IF NOT EXISTS ", "").split()) for s in sqlite_ddl()}
        current = _sqlite_current(connection)
        if set(current.values()) == expected:
            return
        drop_search_index(connection)
        for statement in sqlite_ddl():
            connection.exec_driver_sql(statement)
        for statement in sqlite_fill_sql():
            connection.exec_driver_sql(statement)
    elif name == "postgresql":
        ensure_pg_trgm(connection)
        layout = connection.scalar(text(
            "SELECT obj_description(c.oid, 'pg_class') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relname = :name AND n.nspname = current_schema()"), {"name": TRGM_INDEX})
        if layout == TRGM_LAYOUT:
            return
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {TRGM_INDEX}")
        for statement in pg_index_sql():
            connection.exec_driver_sql(statement)


def drop_search_index(connection) -> None:
    name = connection.dialect.name
    if name == "sqlite":
        for trigger in TRIGGERS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        for t in (FTS_TABLE, FTS_NUMBER_TABLE):
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {t}")
    elif name == "postgresql":
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {TRGM_INDEX}")


def include_name(name, type_, parent_names) -> bool:
    """Alembic autogenerate filter: the search index is DDL of its own, not a model's."""
    if type_ == "table" and name in FTS_TABLES:
        return False
    if type_ == "index" and name == TRGM_INDEX:
        return False
    return True


def attach(dossier_table) -> None:
    """Build the index whenever ``create_all`` creates the dossier table; drop it with the table."""
    event.listen(dossier_table, "after_create", lambda target, connection, **kw: create_search_index(connection))
    event.listen(dossier_table, "after_drop", lambda target, connection, **kw: drop_search_index(connection))


# -- queries ---------------------------------------------------------------------------------------


#: At most this many characters of a literal go to FTS5, its end (PostgreSQL: PG_LITERAL_CHARS). Any part of
#: a literal is a necessary condition (the exact LIKEs decide); fewer trigrams walk fewer doclists, and a
#: code's own part (-YYMMDD-NNNN, 12 characters) is what tells it apart: its agency prefix is in
#: every code, so its trigrams are in every row (a full code: 16 ms -> 1.5 ms at 1M).
FTS_PHRASE_CHARS = 12


def _fts_phrase(literal: str) -> str:
    return '"' + literal[-FTS_PHRASE_CHARS:].replace('"', '""') + '"'


def _like_escape(literal: str) -> str:
    return "%" + literal.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


#: At most this many characters of a joined literal go to pg_trgm, its end: each trigram is a posting
#: list the GIN index reads, and a word's are long ("nguyen", in a third of the names); ten characters
#: keep a code's date and number, a phone's digits, most of a name (measured at 1M: a code 2.9 ms
#: instead of 5.6 with 12, a common name the same candidates).
PG_LITERAL_CHARS = 10
_JOINED = str.maketrans("", "", JOINED)


def _pg_literal(literal: str) -> str:
    """The part of a literal pg_trgm looks for: its end once joined (without ``JOINED``), without
    the punctuation around it (the padded trigrams of a word start, "  0" or " 00", are in nearly
    every row; "0015" inside '%...%' has none). Under 3 characters: no trigram to look for."""
    tail = literal.translate(_JOINED)[-PG_LITERAL_CHARS:]
    core = re.sub(r"^\W+|\W+$", "", tail)
    return core if len(core) >= MIN_LITERAL else tail


class Candidates:
    """What a search looks for, per index: ``text`` literals (code, name) and ``number`` literals
    (ID number, phone digits). Build with :func:`candidates`; run with :func:`page`."""

    def __init__(self, dialect: str, text_literals: list[str], number_literals: list[str]):
        self.dialect, self.text, self.number = dialect, text_literals, number_literals

    def condition(self, id_column):
        """PostgreSQL: one condition answered by the GIN index."""
        doc = literal_column(f"({document_sql('dossier.')})")
        tails = sorted({_pg_literal(s) for s in (*self.text, *self.number)})
        return or_(*(doc.ilike(_like_escape(s), escape="\\") for s in tails))

    def sqlite_parts(self) -> list[tuple[str, str]]:
        parts = []
        for fts, literals in ((FTS_TABLE, self.text), (FTS_NUMBER_TABLE, self.number)):
            if literals:
                parts.append((fts, " OR ".join(_fts_phrase(s) for s in sorted(set(literals)))))
        return parts


def candidates(dialect_name: str, text_literals, number_literals=()) -> Candidates | None:
    """The index's part of a search, or ``None`` when a literal is too short for trigrams (the
    caller's exact conditions then scan) or the database has no such index."""
    text_literals = [s for s in text_literals if s is not None]
    number_literals = [s for s in number_literals if s is not None]
    every = text_literals + number_literals
    if not every or any(len(s) < MIN_LITERAL for s in every) or dialect_name not in ("sqlite", "postgresql"):
        return None
    if dialect_name == "postgresql" and any(len(_pg_literal(s)) < MIN_LITERAL for s in every):
        return None  # "a-b": no trigram once joined
    return Candidates(dialect_name, text_literals, number_literals)


def page(session, stmt, found: Candidates, *, entity, order_by, offset: int, limit: int, cap: int):
    """One page of ``stmt`` (a Select of ``entity`` whose WHERE holds the exact conditions) among
    the candidates, newest first, and its count exact up to ``cap`` (``cap + 1`` = more)."""
    if found.dialect == "postgresql":
        return _pg_page(session, stmt, found, entity=entity, order_by=order_by, offset=offset, limit=limit,
                        cap=cap)
    # SQLite: per FTS table, the keys of the newest matches passing every condition, newest first,
    # FTS5 walking its doclists from the newest and stopping at cap + 1.
    keys: set[int] = set()
    where = stmt.whereclause
    for fts_name, match in found.sqlite_parts():
        fts = table(fts_name, column("rowid"))
        q = (select(fts.c.rowid).select_from(fts)
             .join(entity, entity.id == fts.c.rowid.op("&")(ID_MASK))
             .where(text(f"{fts_name} MATCH :search_match").bindparams(search_match=match))
             .order_by(fts.c.rowid.desc()).limit(cap + 1))
        if where is not None:
            q = q.where(where)
        keys.update(session.scalars(q))
    total = min(len(keys), cap + 1)
    ids = [k & ID_MASK for k in sorted(keys, reverse=True)[offset:offset + limit]]
    if not ids:
        return [], total
    items = session.scalars(select(entity).where(entity.id.in_(ids)).order_by(*order_by)).all()
    return list(items), total


#: PostgreSQL, more matches than the count's cap: the first pages (up to this many rows) are looked for by
#: walking the list's order from the newest row, at most WALK_FACTOR rows per row asked for (a density of
#: 1/400; about where walking and sorting every match cost the same). At 1M, "nguyen van an" matches
#: 1/164 of the dossiers and its first page is 3,700 rows away; "-0015" (1/233, fewer among the newest)
#: walks 10,000 rows in vain, then sorts.
WALK_MAX_ROWS = 100
WALK_FACTOR = 400


def _pg_page(session, stmt, found: Candidates, *, entity, order_by, offset: int, limit: int, cap: int):
    """PostgreSQL: the count and the page, without sorting every match when there are many
    (``stmt`` selects ``entity`` alone; its WHERE holds the exact conditions).

    1. The matches through the GIN index, at most ``cap + 1`` of them in the table's order (the
       bitmap heap scan stops there), sorted among themselves: the count and, when there are at
       most ``cap`` matches, the page, since these are all of them (one statement).
    2. More: a common name ("nguyen van an": 6,100 matches at 1M), a code's tail (``-0015``: 4,286).
       The page is the first ``offset + limit`` rows passing the exact conditions when the list's
       order (``ix_dossier_received_at``) is walked from the newest row: a walk of at most
       ``WALK_FACTOR * (offset + limit)`` rows (a subquery's LIMIT, under which no condition is
       pushed), which stops at the page's last row; a few thousand rows for a common name instead
       of rechecking and sorting all of its matches (and the GIN index does not order).
    3. Fewer matches among the newest rows than that, or a page further on: every match through
       the GIN index, sorted (materialized first: PostgreSQL, misjudging how many rows the trigram
       condition keeps, would otherwise walk the whole sort index instead, 0.4 s for ``-0015``).
    """
    gin = found.condition(entity.id)
    matched = (stmt.where(gin).order_by(None).with_only_columns(*_order_columns(entity, order_by))
               .limit(cap + 1).subquery())
    rows = session.execute(select(matched.c.id, func.count().over())
                           .order_by(*(ClauseAdapter(matched).traverse(o) for o in order_by))
                           .offset(offset).limit(limit)).all()
    if rows:
        total = rows[0][1]
    elif offset == 0:
        total = 0
    else:  # past the last match: the count alone
        total = session.scalar(select(func.count()).select_from(matched)) or 0
    ids = [r[0] for r in rows]
    if total > cap:
        ids = []
        if offset + limit <= WALK_MAX_ROWS and stmt.whereclause is not None:
            walk = (select(*_order_columns(entity, order_by), stmt.whereclause.label("passes"))
                    .order_by(*order_by).limit(WALK_FACTOR * (offset + limit)).subquery())
            ids = session.scalars(select(walk.c.id).where(walk.c.passes)
                                  .order_by(*(ClauseAdapter(walk).traverse(o) for o in order_by))
                                  .offset(offset).limit(limit)).all()
        if len(ids) < limit:
            every = stmt.where(gin).order_by(None).with_only_columns(*_order_columns(entity, order_by)) \
                .cte("search_matches").prefix_with("MATERIALIZED")
            ids = session.scalars(select(every.c.id).order_by(*(ClauseAdapter(every).traverse(o) for o in order_by))
                                  .offset(offset).limit(limit)).all()
    items = session.scalars(select(entity).where(entity.id.in_(ids)).order_by(*order_by)).all() if ids else []
    return list(items), total


def _order_columns(entity, order_by) -> list:
    """The id and the columns ``order_by`` sorts on (``column.desc()`` or a column)."""
    columns = {"id": entity.id}
    for clause in order_by:
        col = getattr(clause, "element", clause)
        columns.setdefault(col.key, col)
    return list(columns.values())


__all__ = ["FTS_NUMBER_TABLE", "FTS_TABLE", "FTS_TABLES", "ID_MASK", "TRGM_INDEX", "Candidates", "attach",
           "candidates", "create_search_index", "document_sql", "drop_search_index", "ensure_pg_trgm",
           "include_name", "list_key_sql", "page", "pg_index_sql", "sqlite_ddl"]
