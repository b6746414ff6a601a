"""PostgreSQL keeps most of each seminars page free, so the seat counter's updates stay cheap.

Every registration updates its seminar's row (``seats_taken``). On a full page the
new row version must go elsewhere, with new index entries, and later lookups walk
past the dead versions and entries; with room on the page PostgreSQL updates in
place (heap-only tuples) and prunes old versions as it goes. The table is small:
a few hundred bytes per seminar.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 14:20:00
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE seminars SET (fillfactor = 10)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE seminars RESET (fillfactor)")
