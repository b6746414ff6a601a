"""Alembic environment: migrates the database named by DATABASE_URL (or the caller's URL)."""

from alembic import context

from shared.db import make_engine
from shared.models import Base

config = context.config


def render_item(type_, obj, autogen_context):
    """Write UTCDateTime as a plain DateTime so that migrations never import the models."""
    from shared.models import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    import os

    from shared.config import Settings

    return os.environ.get("DATABASE_URL", Settings.database_url)


def run_migrations_offline() -> None:
    """Write the SQL to stdout instead of running it."""
    context.configure(url=_database_url(), target_metadata=Base.metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations against the database."""
    engine = make_engine(_database_url())
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table on SQLite (copy, drop, rename). With foreign keys
            # on, dropping the old table would delete every row that points to it by
            # ON DELETE CASCADE (an account's memberships, a seminar's registrations).
            # The pragma only takes effect outside a transaction: on the driver's own
            # connection, before SQLAlchemy begins one.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        # Batch mode lets ALTER TABLE work on SQLite by copying the table.
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                          render_item=render_item)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows pointing nowhere: {broken[:5]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
