"""The connections one process holds: database sessions, Redis and the broker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import redis
from dramatiq.broker import Broker
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from shared.broker import make_broker
from shared.config import Settings
from shared.content_version import watch_content_changes
from shared.db import make_engine, make_session_factory, read_connection
from shared.outbox import watch_outbox


@dataclass
class Runtime:
    """Shared handles of a web process, created once by its app factory."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: redis.Redis
    broker: Broker
    # What else the process opened on top (e.g. the feed service's listener).
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Release pooled connections (tests create and drop many runtimes)."""
        for close in self.closers:
            close()
        self.engine.dispose()
        self.redis.close()
        self.broker.close()


def make_runtime(settings: Settings) -> Runtime:
    """Connect to the database and Redis named in the settings (lazily: no I/O yet)."""
    engine = make_engine(settings.database_url)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        # Short timeouts: a web request must not hang when Redis is away.
        redis=redis.Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=2),
        broker=make_broker(settings.redis_url, fail_fast=True),
    )
    # The two after-commit hooks every process needs: committed changes drop the
    # public caches, and committed mails go to the queue.
    watch_content_changes(runtime.sessions, engine, runtime.redis)
    watch_outbox(engine, runtime.broker)
    return runtime


def check_database(runtime: Runtime) -> str | None:
    """Return None when the database answers, else a short reason."""
    try:
        with read_connection(runtime.engine) as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not ready"
        return exc.__class__.__name__
    return None


def check_redis(runtime: Runtime) -> str | None:
    """Return None when Redis answers, else a short reason."""
    try:
        runtime.redis.ping()
    except Exception as exc:
        return exc.__class__.__name__
    return None
