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
        # Batch mode lets ALTER TABLE work on SQLite by copying the table.
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                          render_item=render_item)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
