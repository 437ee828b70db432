"""dossier search index: FTS5 trigram (SQLite) / pg_trgm GIN (PostgreSQL)

The substring search over code, folded name, ID number and phone (tthc/search.py,
issue 13). SQLite: two contentless FTS5 tables with the trigram tokenizer (code and name; ID
number and phone), whose rowid is the list's order (reception second, id), filled from
the dossiers already there, and the triggers that keep them in step with every write.
PostgreSQL: the ``pg_trgm`` extension, created once in ``public`` (if no schema has
it yet), and a GIN index on the search document. The SQL is written out here, as a
migration must stay what it was; tests/integration/test_migrations.py checks that it
builds the same objects as the models' DDL.

Note for later migrations on SQLite: a batch operation that recreates ``dossier``
drops its triggers; re-run ``tthc.search`` DDL after such a step.

Revision ID: a13f7c2e5d01
Revises: ffb39bd4f50c
Create Date: 2026-12-01 16:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'a13f7c2e5d01'
down_revision = 'ffb39bd4f50c'
branch_labels = None
depends_on = None


def _c(p, name):
    return f"coalesce({p}{name}, '')"


def _doc(p=""):
    """PostgreSQL: the whole search text."""
    return (f"{_c(p, 'code')} || ' ' || {_c(p, 'applicant_name_search')} || ' ' || {_c(p, 'applicant_id_number')}"
            f" || ' ' || replace({_c(p, 'applicant_id_number')}, '-', '') || ' ' || {_c(p, 'applicant_phone')}")


def _texts(p=""):
    """SQLite: code and folded name in dossier_search; ID number and phone in dossier_search_number."""
    return {
        "dossier_search": f"{_c(p, 'code')} || ' ' || {_c(p, 'applicant_name_search')}",
        "dossier_search_number": f"{_c(p, 'applicant_id_number')} || ' ' || "
                                 f"replace({_c(p, 'applicant_id_number')}, '-', '') || ' ' || {_c(p, 'applicant_phone')}",
    }


def _key(p=""):
    """SQLite: the FTS rowid, the list's order: reception second since 2000 * 2^28 + id."""
    return f"((CAST(strftime('%s', {p}received_at) AS INTEGER) - 946684800) * 268435456 + {p}id)"


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        new, old = _texts("new."), _texts("old.")
        insert = " ".join(f"INSERT INTO {t}(rowid, doc) VALUES ({_key('new.')}, {new[t]});" for t in new)
        delete = " ".join(f"INSERT INTO {t}({t}, rowid, doc) VALUES ('delete', {_key('old.')}, {old[t]});"
                          for t in old)
        for t, doc in _texts().items():
            op.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {t} USING fts5(doc, content='', tokenize='trigram')")
            op.execute(f"INSERT INTO {t}(rowid, doc) SELECT {_key()}, {doc} FROM dossier")
        op.execute(f"CREATE TRIGGER IF NOT EXISTS dossier_search_ai AFTER INSERT ON dossier BEGIN {insert} END")
        op.execute(f"CREATE TRIGGER IF NOT EXISTS dossier_search_ad AFTER DELETE ON dossier BEGIN {delete} END")
        op.execute("CREATE TRIGGER IF NOT EXISTS dossier_search_au AFTER UPDATE OF code, applicant_name_search, "
                   f"applicant_id_number, applicant_phone, received_at ON dossier BEGIN {delete} {insert} END")
    elif bind.dialect.name == "postgresql":
        if bind.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")) is None:
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_dossier_search_trgm ON dossier USING gin (({_doc()}) "
                   "public.gin_trgm_ops)")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("dossier_search_ai", "dossier_search_ad", "dossier_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS dossier_search")
        op.execute("DROP TABLE IF EXISTS dossier_search_number")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_dossier_search_trgm")
        # pg_trgm stays: other schemas of the database may use it.
