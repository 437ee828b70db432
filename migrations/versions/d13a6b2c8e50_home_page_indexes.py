"""home page indexes: the desk's sections and a unit's queue in their own order

The desk's "results to hand over" (status finished, oldest result first) sorted every finished
dossier on each load (144,000 at 1M dossiers); "supplements awaited" sorts by last change; a
unit's queue filtered on the unit holding the dossier, which had no index.

Revision ID: d13a6b2c8e50
Revises: c7d52e8a9f14
Create Date: 2026-12-01 13:25:00
"""
from alembic import op


revision = 'd13a6b2c8e50'
down_revision = 'c7d52e8a9f14'
branch_labels = None
depends_on = None

INDEXES = (('ix_dossier_status_finished', ['status', 'finished_at', 'id', 'classification']),
           ('ix_dossier_status_updated', ['status', 'updated_at', 'id']),
           ('ix_dossier_unit_queue', ['current_unit_id', 'status', 'deadline_at', 'id']))


def upgrade():
    for name, cols in INDEXES:
        op.create_index(name, 'dossier', cols)


def downgrade():
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name='dossier')
