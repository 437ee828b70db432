"""scan indexes: the flag first, so that a steady pass only seeks

Per kind the clock changes, one index (flag, then the columns of its rule) serves both the
statement that sets the flag and the statements that clear it (deadlines/scan.py), each a
seek that finds nothing when nothing changed. They replace the small partial indexes on the
flags that are on (a steady pass read every flagged dossier through them), and the flag
columns leave the list filters' indexes. "Finished late" is the writer's flag: the index that
let the scan set it (finished after the original deadline) goes; the one by date of result,
for its alerts, stays.

Revision ID: c13f5a9e2b47
Revises: 211d3823ff33
Create Date: 2026-12-01 12:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'c13f5a9e2b47'
down_revision = '211d3823ff33'
branch_labels = None
depends_on = None

WATCH = (('overdue', ['status', 'deadline_at']),
         ('due_soon', ['status', 'deadline_at']),
         ('not_forwarded', ['status', 'forwarding_deadline_at']),
         ('apology_missing', ['status', 'extended', 'deadline_at']))
OLD_PARTIAL = (('flag_due_soon', ['status', 'deadline_at']),
               ('flag_overdue', ['status', 'deadline_at']),
               ('flag_not_forwarded', ['status', 'forwarding_deadline_at']),
               ('flag_apology_missing', ['status', 'deadline_at', 'extended']))


def upgrade():
    for flag, _ in OLD_PARTIAL:
        op.drop_index(f'ix_dossier_{flag}', table_name='dossier')
    op.drop_index('ix_dossier_finished_after_deadline', table_name='dossier')
    op.drop_index('ix_dossier_open_deadline', table_name='dossier')
    op.create_index('ix_dossier_open_deadline', 'dossier', ['status', 'deadline_at', 'extended', 'received_at'])
    op.drop_index('ix_dossier_forwarding_watch', table_name='dossier')
    op.create_index('ix_dossier_forwarding_watch', 'dossier', ['status', 'forwarding_deadline_at'])
    for kind, cols in WATCH:
        op.create_index(f'ix_dossier_watch_{kind}', 'dossier', [f'flag_{kind}', *cols])


def downgrade():
    for kind, _ in WATCH:
        op.drop_index(f'ix_dossier_watch_{kind}', table_name='dossier')
    op.drop_index('ix_dossier_forwarding_watch', table_name='dossier')
    op.create_index('ix_dossier_forwarding_watch', 'dossier', ['status', 'forwarding_deadline_at', 'flag_not_forwarded'])
    op.drop_index('ix_dossier_open_deadline', table_name='dossier')
    op.create_index('ix_dossier_open_deadline', 'dossier', ['status', 'deadline_at', 'extended', 'flag_overdue',
                                                            'flag_due_soon', 'flag_apology_missing', 'received_at'])
    op.create_index('ix_dossier_finished_after_deadline', 'dossier', ['status', 'flag_finished_late'],
                    sqlite_where=sa.text('finished_at > original_deadline_at'),
                    postgresql_where=sa.text('finished_at > original_deadline_at'))
    for flag, cols in OLD_PARTIAL:
        op.create_index(f'ix_dossier_{flag}', 'dossier', [*cols, flag], sqlite_where=sa.text(f'{flag} = 1'),
                        postgresql_where=sa.text(flag))
