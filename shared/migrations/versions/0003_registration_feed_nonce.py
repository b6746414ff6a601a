"""Registrations get their own nonce for the personal calendar feed, revocable on its own.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 12:00:00
"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feed_nonce', sa.String(length=32), nullable=True))
    # Every existing registration gets its own random nonce, as new ones do.
    registrations = sa.table('registrations', sa.column('id', sa.Integer), sa.column('feed_nonce', sa.String))
    connection = op.get_bind()
    for (registration_id,) in connection.execute(sa.select(registrations.c.id)).all():
        connection.execute(
            registrations.update().where(registrations.c.id == registration_id)
            .values(feed_nonce=secrets.token_urlsafe(16))
        )
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.alter_column('feed_nonce', existing_type=sa.String(length=32), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('feed_nonce')
