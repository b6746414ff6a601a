"""The database: its engine for SQLite or PostgreSQL, and the four ways the services use it.

``read_session`` and ``write_transaction`` for work with ORM objects;
``read_connection`` and ``statement_writes`` for the hot paths' plain statements.
Every write goes through one of the two write blocks, which run the after-commit
hooks once their transaction has committed (``after_commit``, at the end).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import weakref
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Callable, ContextManager, Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

# Execution option that makes a SQLite transaction take the write lock at BEGIN.
_IMMEDIATE = "sqlite_begin_immediate"
_SQLITE_WRITERS: "weakref.WeakKeyDictionary[Engine, SQLiteWriters]" = weakref.WeakKeyDictionary()
_HOOKS: "weakref.WeakKeyDictionary[Engine, dict[str, Callable[[list], None]]]" = weakref.WeakKeyDictionary()
log = logging.getLogger(__name__)


class SQLiteWriters:
    """One write transaction at a time on a SQLite file, across threads and processes.

    Writers queue on a thread lock and an flock on a file beside the database,
    and wake the moment the previous writer is done. Without it they would wait
    in SQLite's busy handler, which sleeps in steps of up to 100 ms: under load
    the database would sit idle while requests wait.
    """

    def __init__(self, database_path: str | None):
        self._path = f"{database_path}-writer.lock" if database_path else None
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            if self._path:
                if self._pid != os.getpid():  # an inherited descriptor would share the lock
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                    self._pid = os.getpid()
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *exc_info) -> None:
        if self._path:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


def make_engine(database_url: str, **engine_options) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _make_sqlite_engine(url, **engine_options)
    engine_options.setdefault("pool_pre_ping", True)
    return create_engine(url, **engine_options)


def _make_sqlite_engine(url, **engine_options) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **engine_options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # A write transaction that starts as a reader would fail with "database is
        # locked" when it upgrades under concurrency; BEGIN IMMEDIATE waits instead.
        if connection.get_execution_options().get(_IMMEDIATE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    on_disk = url.database and url.database != ":memory:"
    _SQLITE_WRITERS[engine] = SQLiteWriters(str(Path(url.database).resolve()) if on_disk else None)
    return engine


def _writer_lock(engine: Engine) -> ContextManager:
    return _SQLITE_WRITERS.get(engine) or nullcontext()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory the services use (objects stay usable after commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def write_transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """Open one transaction meant to write; it commits on success and rolls back on error.

    On SQLite it holds the database write lock from the start, so that a
    conditional seat update and the inserts that follow are serialised; on
    PostgreSQL row locks and conditional updates do that job. After the commit,
    and after the lock is released, the after-commit hooks run (``after_commit``).
    """
    with sessions() as session:
        engine = session.get_bind()
        noted = session.info[_NOTED] = {}
        with _writer_lock(engine):
            session.connection(execution_options={_IMMEDIATE: True})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                del session.info[_NOTED]
    _run_after_commit(engine, noted)


@contextmanager
def statement_writes(engine: Engine, *, locks_rows: bool = False) -> Iterator[Connection]:
    """Where a hot path writes with plain statements (no Session: its bookkeeping costs about as much as they do).

    PostgreSQL: every statement is a transaction of its own (autocommit), without
    BEGIN and COMMIT round trips, and a row lock a statement takes ends with the
    statement's own commit instead of waiting for the client's next round trip (a
    registration is one statement there, see ``services.registration.storage``).
    With ``locks_rows`` the statements share one transaction instead, for a row one
    of them locks that the next one changes.

    SQLite, which cannot write several tables in one statement: one write
    transaction around them all, holding the write lock. The connection is taken
    from the pool before the lock and returned after it: under load every
    microsecond inside the lock is one all writers wait. (A process with more
    threads than its pool has connections could then wait for the pool while
    holding nothing useful; the services run one or two threads.)
    """
    with engine.connect() as connection:
        noted = connection.info[_NOTED] = {}
        try:
            if engine.dialect.name == "postgresql" and not locks_rows:
                try:
                    yield connection.execution_options(isolation_level="AUTOCOMMIT")
                finally:
                    # Each statement committed itself: what they noted holds even if a later one failed.
                    del connection.info[_NOTED]
                    _run_after_commit(engine, noted)
                return
            with _writer_lock(engine), connection.execution_options(**{_IMMEDIATE: True}).begin():
                yield connection
        finally:
            connection.info.pop(_NOTED, None)
    _run_after_commit(engine, noted)


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for a few plain SELECTs that must not wait for writers.

    PostgreSQL: no transaction block (autocommit); SQLite: a read transaction,
    which in WAL mode neither waits for the writer nor holds it up.
    """
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


@contextmanager
def read_session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session for reading; it is closed (and its transaction ended) afterwards."""
    with sessions() as session:
        yield session


# --- after the commit -------------------------------------------------------------------------
#
# What a transaction causes outside the database (a mail to queue, caches to drop)
# must happen only once it has committed, and must not depend on each caller
# remembering it. A write notes it with ``after_commit``; the write blocks above run
# the engine's hook for each topic after their commit, outside SQLite's write lock.

_NOTED = "seminare.after_commit"  # in Session.info and Connection.info, only inside a write block


def after_commit(writer: Session | Connection, topic: str, item: object) -> None:
    """Note ``item`` for the engine's ``topic`` hook, run once the writer's transaction has committed.

    A rollback drops the note. Only writers of ``write_transaction`` and
    ``statement_writes`` take notes: a write elsewhere would commit without its
    after-commit work, so it is refused.
    """
    noted = writer.info.get(_NOTED)
    if noted is None:
        raise RuntimeError("after_commit needs a writer from shared.db.write_transaction or statement_writes")
    noted.setdefault(topic, []).append(item)


def on_commit(engine: Engine, topic: str, hook: Callable[[list], None]) -> None:
    """Run ``hook(items)`` after each committed write on ``engine`` that noted items for ``topic``."""
    _HOOKS.setdefault(engine, {})[topic] = hook


def _run_after_commit(engine: Engine, noted: dict[str, list]) -> None:
    """Run the hooks for what a committed write noted; a failing hook is logged, the commit stands."""
    hooks = _HOOKS.get(engine, {})
    for topic, items in noted.items():
        hook = hooks.get(topic)
        if hook is None:
            continue  # nothing listens on this engine (e.g. a benchmark's own engine)
        try:
            hook(items)
        except Exception:
            log.exception("after-commit hook %s failed", topic)
