"""Database engine and session handling for SQLite and PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import ContextManager, Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

# Execution option that makes a SQLite transaction take the write lock at BEGIN.
_IMMEDIATE = "sqlite_begin_immediate"
_SQLITE_WRITERS: "weakref.WeakKeyDictionary[Engine, SQLiteWriters]" = weakref.WeakKeyDictionary()


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
    PostgreSQL row locks and conditional updates do that job.
    """
    with sessions() as session, _writer_lock(session.get_bind()):
        session.connection(execution_options={_IMMEDIATE: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """``write_transaction`` on a plain Connection, for hot paths that use no ORM objects.

    A Session's bookkeeping costs about as much as a short write on SQLite.
    The connection is taken from the pool before the write lock and returned
    after it: under load every microsecond inside the lock is one all writers wait.
    (A process with more threads than its pool has connections could then wait for
    the pool while holding nothing useful; the services run one or two threads.)
    """
    with engine.connect() as connection, _writer_lock(engine):
        with connection.execution_options(**{_IMMEDIATE: True}).begin():
            yield connection


@contextmanager
def autocommit(engine: Engine) -> Iterator[Connection]:
    """A PostgreSQL connection on which every statement is a transaction of its own.

    For hot paths whose every write is one statement: no BEGIN and COMMIT round
    trips, and a row lock the statement takes ends with the statement's own commit
    instead of waiting for the client's next round trip. (Not for SQLite, whose
    writes need ``write_transaction`` and its write lock.)
    """
    with engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def statement_writes(engine: Engine) -> Iterator[Connection]:
    """Where a hot path writes with statements that are each complete on their own.

    PostgreSQL: ``autocommit``, every statement its own transaction, without
    BEGIN and COMMIT round trips (a registration is one statement there, see
    ``services.registration.registrations``). SQLite, which cannot write several
    tables in one statement: one write transaction around them all, holding the
    write lock. Plain connections, no Session: its bookkeeping costs about as much
    as running such statements.
    """
    if engine.dialect.name == "postgresql":
        with autocommit(engine) as connection:
            yield connection
    else:
        with write_connection(engine) as connection:
            yield connection


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for a few plain SELECTs that must not wait for writers.

    PostgreSQL: no transaction block (``autocommit``); SQLite: a read transaction,
    which in WAL mode neither waits for the writer nor holds it up.
    """
    if engine.dialect.name == "postgresql":
        with autocommit(engine) as connection:
            yield connection
    else:
        with engine.connect() as connection:
            yield connection


@contextmanager
def read_session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session for reading; it is closed (and its transaction ended) afterwards."""
    with sessions() as session:
        yield session
