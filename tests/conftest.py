"""Fixtures: real Redis, SQLite and PostgreSQL databases, SMTP server, Dramatiq worker."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shared.config import Settings
from shared.migrate import upgrade
from shared.runtime import make_runtime
from tests.servers import RedisServer, SmtpServer, Worker

ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SECRET = "test-secret-key-that-is-long-enough"
# The real-browser fixtures (chromium, the live app, axe-core) for every test module.
pytest_plugins = ["tests.browser"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One private redis-server for the whole run (each test starts with it empty)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    """URL of the private Redis, flushed so that no test sees another's queue."""
    import redis

    if redis_server.process.poll() is not None:  # a test stopped it
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


def _postgres_admin_engine():
    return create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgres_admin():
    """An engine on the local PostgreSQL server; missing PostgreSQL fails on CI."""
    engine = _postgres_admin_engine()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        message = f"PostgreSQL is not reachable at {make_url(POSTGRES_ADMIN_URL).render_as_string()}: {exc}"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    yield engine
    engine.dispose()


def _postgres_url(name: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _fresh_postgres_database(postgres_admin, template: str | None = None) -> tuple[str, str]:
    name = f"seminare_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    return name, _postgres_url(name)


def _drop_postgres_database(postgres_admin, name: str) -> None:
    with postgres_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# Every storage test starts from a copy of a database migrated once per run:
# copying takes milliseconds, running the migrations a few hundred (the migrations
# themselves are tested in test_storage.py).
@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite file at the newest schema, to copy."""
    path = tmp_path_factory.mktemp("template") / "seminare.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def migrated_postgres(postgres_admin):
    """The name of a PostgreSQL database at the newest schema, to create others from."""
    name, url = _fresh_postgres_database(postgres_admin)
    upgrade(url)  # its engine is disposed afterwards: a template must have no connections
    yield name
    _drop_postgres_database(postgres_admin, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A migrated, empty database: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "seminare.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        yield f"sqlite:///{path}"
        return
    admin = request.getfixturevalue("postgres_admin")
    name, url = _fresh_postgres_database(admin, template=request.getfixturevalue("migrated_postgres"))
    yield url
    _drop_postgres_database(admin, name)


@pytest.fixture
def settings(database_url, redis_url, tmp_path) -> Settings:
    """Settings of the test's services; mails go to a Maildir unless a test says otherwise."""
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        mail_url=f"maildir:{tmp_path / 'mail'}",
        secret_key=SECRET,
        registration_base_url="http://127.0.0.1:8000",
        calendar_base_url="http://127.0.0.1:8001",
    )


@pytest.fixture
def runtime(settings):
    """Database sessions, Redis and broker for domain-level tests."""
    runtime = make_runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def app(settings):
    """The registration app on the test's settings (a module may define its own ``app``)."""
    from services.registration import create_app

    app = create_app(settings)
    yield app
    app.extensions["runtime"].close()


@pytest.fixture
def client(app):
    """A test client of ``app``."""
    return app.test_client()


@pytest.fixture
def feeds(settings):
    """A test client of the calendar feed service on the test's database and Redis."""
    from services.calendar_feed import create_app as create_feed_app

    app = create_feed_app(settings)
    yield app.test_client()
    app.extensions["runtime"].close()


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def service_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """Environment for a service process started by a test."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        MAIL_URL=settings.mail_url,
        SECRET_KEY=settings.secret_key,
        REGISTRATION_BASE_URL=settings.registration_base_url,
        CALENDAR_BASE_URL=settings.calendar_base_url,
    )
    env.update(overrides)
    return env


@pytest.fixture
def worker(settings, smtp_server):
    """A real Dramatiq worker sending to the test SMTP server."""
    process = Worker(service_env(settings, MAIL_URL=smtp_server.url))
    process.start()
    yield process
    process.stop()
