"""alerts' clock and each user's watermark: the unread badge reads only the alerts above it

Every page shows the header's unread count. Once a department has acknowledged its alerts (120,000
at 1,000,000 dossiers), "nothing unread" could only be told by checking every alert against the
acknowledgements, on every page (issue 13). ``alert.seq`` is the alerts' clock reading when an alert
was raised or moved to another unit (tthc/alert_clock.py), ``alert_watermark`` the reading up to
which everything a user sees by role and unit is acknowledged; the badge reads the alerts above it
through one of three indexes, which replace the plain index on ``alert.unit_id``. The inbox's order
(newest first, then by id) gets its own index instead of the one of ``created_at`` alone: a pass
raises all its alerts at one instant, and PostgreSQL sorted 120,000 of them for a page of 25.

The alerts already there are stamped with their ids and the clock starts at the largest (no
watermark exists yet, so any order is safe); users have no watermark until their next
acknowledgement. No step is a batch on SQLite: none touches ``dossier``, whose tally triggers a
batch would drop, and the downgrade keeps the acknowledgements (see there).

Revision ID: a7c3e1f09b24
Revises: e41c7a9d2b63
Create Date: 2026-12-01 17:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c3e1f09b24'
down_revision = 'e41c7a9d2b63'
branch_labels = None
depends_on = None

UNSEQUENCED = str(1 << 62)


def upgrade():
    op.add_column('alert', sa.Column('seq', sa.BigInteger(), server_default=UNSEQUENCED, nullable=False))
    op.execute("UPDATE alert SET seq = id")
    op.create_table(
        'alert_clock',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_clock')),
    )
    op.execute("INSERT INTO alert_clock (id, value) SELECT 1, coalesce(max(id), 0) FROM alert")
    op.create_table(
        'alert_watermark',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('acked_through', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_alert_watermark_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_alert_watermark')),
    )
    op.drop_index('ix_alert_unit_id', table_name='alert')
    op.create_index('ix_alert_seq', 'alert', ['seq'], unique=False)
    op.create_index('ix_alert_unit_seq', 'alert', ['unit_id', 'seq'], unique=False)
    op.create_index('ix_alert_kind_seq', 'alert', ['kind', 'seq'], unique=False)
    op.drop_index('ix_alert_created_at', table_name='alert')
    op.create_index('ix_alert_created_at_id', 'alert', ['created_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_alert_created_at_id', table_name='alert')
    op.create_index('ix_alert_created_at', 'alert', ['created_at'], unique=False)
    op.drop_index('ix_alert_kind_seq', table_name='alert')
    op.drop_index('ix_alert_unit_seq', table_name='alert')
    op.drop_index('ix_alert_seq', table_name='alert')
    op.create_index('ix_alert_unit_id', 'alert', ['unit_id'], unique=False)
    op.drop_table('alert_watermark')
    op.drop_table('alert_clock')
    # Not a batch: on SQLite it copies the table and drops the old one, and with foreign keys on
    # (as the application's connections have them) the drop cascades to every acknowledgement.
    op.execute("ALTER TABLE alert DROP COLUMN seq")  # SQLite 3.35 and later, PostgreSQL
