"""Expired registrations keep the moment their confirmation time ran out (``expires_at``).

Retention counts an expired registration's days from that moment. Rows that
expired before this revision had it cleared; they get it back as their creation
time plus the default confirmation time (24 hours), the moment they lapsed unless
PENDING_EXPIRY_HOURS was changed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 16:20:00
"""
from datetime import timedelta

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

DEFAULT_CONFIRMATION_TIME = timedelta(hours=24)
registrations = sa.table(
    'registrations',
    sa.column('id', sa.Integer()),
    sa.column('status', sa.String(20)),
    sa.column('created_at', sa.DateTime(timezone=True)),
    sa.column('expires_at', sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    # Row by row in Python: date arithmetic is spelled differently in SQLite and
    # PostgreSQL, and expired rows are few (retention anonymises them within days).
    connection = op.get_bind()
    lapsed = connection.execute(
        sa.select(registrations.c.id, registrations.c.created_at)
        .where(registrations.c.status == 'expired', registrations.c.expires_at.is_(None))
    ).all()
    for registration_id, created_at in lapsed:
        connection.execute(
            registrations.update().where(registrations.c.id == registration_id)
            .values(expires_at=created_at + DEFAULT_CONFIRMATION_TIME)
        )


def downgrade() -> None:
    # Nothing to undo: before this revision an expired row's expires_at was simply unused.
    pass
