"""On SQLite a deleted seminar's id is never given to a new seminar (AUTOINCREMENT).

Without it SQLite hands out the highest id plus one, so deleting the newest
seminar and creating another gave the new one the old id: its calendar UID and
feed address, already in people's calendars. PostgreSQL's sequences never give
an id twice; there nothing changes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 21:40:00
"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # The table is rebuilt as it is, with AUTOINCREMENT (foreign keys stay untouched: see env.py).
    with op.batch_alter_table('seminars', recreate='always', table_kwargs={'sqlite_autoincrement': True}):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table('seminars', recreate='always', table_kwargs={'sqlite_autoincrement': False}):
        pass
