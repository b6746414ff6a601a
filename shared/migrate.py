"""Bring a database to the newest schema with Alembic: ``python -m shared.migrate``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from shared.config import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """Return an Alembic configuration for the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser treats % as interpolation; URLs may contain escaped characters.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    """Apply every migration that the database does not have yet."""
    command.upgrade(alembic_config(database_url), "head")


def main() -> None:
    """Migrate the database configured in the environment."""
    import os

    upgrade(os.environ.get("DATABASE_URL", Settings.database_url))


if __name__ == "__main__":
    main()
