"""Retention settings: days to keep cancelled and expired registrations, a per-seminar override.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 13:42:49
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing organisers get the default of new ones; the model sets it from then on.
    with op.batch_alter_table('organisers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention_days_cancelled', sa.Integer(), nullable=False, server_default='7'))
    with op.batch_alter_table('organisers', schema=None) as batch_op:
        batch_op.alter_column('retention_days_cancelled', existing_type=sa.Integer(), server_default=None)

    with op.batch_alter_table('seminars', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention_days', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('seminars', schema=None) as batch_op:
        batch_op.drop_column('retention_days')

    with op.batch_alter_table('organisers', schema=None) as batch_op:
        batch_op.drop_column('retention_days_cancelled')
