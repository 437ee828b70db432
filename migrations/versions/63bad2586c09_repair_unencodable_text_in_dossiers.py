"""repair unencodable text in dossiers

Before issue 12 the API stored a lone UTF-16 surrogate ("\\ud800") or a control character
sent in a document name or an event's data: JSON columns keep them as escapes, and every
page showing the dossier then failed (a surrogate cannot be encoded as UTF-8). The boundary
now refuses them; this data migration repairs the rows already stored: a lone surrogate
becomes U+FFFD, a control character (other than tab, newline, carriage return) is dropped.
It must run before the audit triggers (audit rows holding such text stay as they are:
the audit log is append-only, and pages render such values safely).

Only rows whose JSON text holds a \\ud8..\\udf or \\u000./\\u001./\\u007f escape are read.

Revision ID: 63bad2586c09
Revises: b13e4a7c9d02
Create Date: 2026-12-01 10:05:00

"""
import json
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '63bad2586c09'
down_revision = 'b13e4a7c9d02'
branch_labels = None
depends_on = None

_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_ESCAPES = ["\\ud8", "\\ud9", "\\uda", "\\udb", "\\udc", "\\udd", "\\ude", "\\udf",
            "\\u000", "\\u001", "\\u007f"]

# (table, JSON columns) to repair.
TABLES = {
    "dossier": ("documents", "rule"),
    "dossier_event": ("data",),
}


def clean(value):
    if isinstance(value, str):
        return _CONTROLS.sub("", _SURROGATES.sub("\ufffd", value))
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    return value


def _load(raw):
    if raw is None or not isinstance(raw, (str, bytes)):
        return raw
    return json.loads(raw)


def upgrade():
    bind = op.get_bind()
    for table, columns in TABLES.items():
        for column in columns:
            text_col = sa.func.lower(sa.cast(sa.column(column), sa.Text))
            condition = sa.or_(*[text_col.like("%" + e + "%", escape="!") for e in _ESCAPES])
            rows = bind.execute(sa.select(sa.column("id"), sa.cast(sa.column(column), sa.Text))
                                .select_from(sa.table(table)).where(condition)).all()
            for row_id, raw in rows:
                value = _load(raw)
                fixed = clean(value)
                if fixed != value:
                    bind.execute(sa.text(f"UPDATE {table} SET {column} = :v WHERE id = :id")
                                 .bindparams(sa.bindparam("v", type_=sa.JSON)), {"v": fixed, "id": row_id})


def downgrade():
    pass  # the repaired text cannot be un-repaired, and need not be
