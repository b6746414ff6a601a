"""Mails to an organiser's admins (a webhook turned off after days of failures), written with their cause.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 22:38:42
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_mails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organiser_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('webhook_disabled', name='staff_mail_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=64), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('status', sa.Enum('queued', 'sending', 'sent', 'retry', 'failed', 'cancelled', name='staff_mail_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organiser_id'], ['organisers.id'], name=op.f('fk_staff_mails_organiser_id_organisers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_mails')),
    sa.UniqueConstraint('organiser_id', 'kind', 'subject_id', 'dedupe_key', 'recipient', name='uq_staff_mails_once')
    )
    with op.batch_alter_table('staff_mails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_mails_organiser_id'), ['organiser_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('staff_mails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_mails_organiser_id'))

    op.drop_table('staff_mails')
