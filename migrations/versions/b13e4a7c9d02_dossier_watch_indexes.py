"""dossier indexes for the watch rules at province scale

The scan's statements and the list filters read (status, deadline_at, extended, the three
deadline flags, received_at) and (status, forwarding_deadline_at, flag_not_forwarded) only. The lone
deadline_at index goes: every query on it names the status, and PostgreSQL, misled by
the correlation of status and deadline, walked it in deadline order over a million rows
(the dashboard's most urgent list: 1.6 s). The B-trees on the applicant's folded name, ID
number and phone go too: those are searched by substring through the search index
(a13f7c2e5d01), never by a B-tree, and each cost every intake a write.

Revision ID: b13e4a7c9d02
Revises: a13f7c2e5d01
Create Date: 2026-12-01 17:10:00
"""
from alembic import op


revision = 'b13e4a7c9d02'
down_revision = 'a13f7c2e5d01'
branch_labels = None
depends_on = None

WATCH = ['status', 'deadline_at', 'extended', 'flag_overdue', 'flag_due_soon', 'flag_apology_missing', 'received_at']


def upgrade():
    op.drop_index('ix_dossier_open_deadline', table_name='dossier')
    op.create_index('ix_dossier_open_deadline', 'dossier', WATCH, unique=False)
    op.create_index('ix_dossier_forwarding_watch', 'dossier', ['status', 'forwarding_deadline_at', 'flag_not_forwarded'],
                    unique=False)
    for name in ('ix_dossier_deadline_at', 'ix_dossier_applicant_name_search', 'ix_dossier_applicant_id_number',
                 'ix_dossier_applicant_phone'):
        op.drop_index(name, table_name='dossier')


def downgrade():
    op.create_index('ix_dossier_applicant_phone', 'dossier', ['applicant_phone'], unique=False)
    op.create_index('ix_dossier_applicant_id_number', 'dossier', ['applicant_id_number'], unique=False)
    op.create_index('ix_dossier_applicant_name_search', 'dossier', ['applicant_name_search'], unique=False)
    op.create_index('ix_dossier_deadline_at', 'dossier', ['deadline_at'], unique=False)
    op.drop_index('ix_dossier_forwarding_watch', table_name='dossier')
    op.drop_index('ix_dossier_open_deadline', table_name='dossier')
    op.create_index('ix_dossier_open_deadline', 'dossier', ['status', 'deadline_at'], unique=False)
