"""Organisers may name their Impressum, linked on their pages and in their mails.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 16:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organisers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('imprint_url', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('organisers', schema=None) as batch_op:
        batch_op.drop_column('imprint_url')
