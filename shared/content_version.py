"""The content version: a counter in Redis that moves after every committed change of what the public sees.

The calendar service's feeds and the registration service's kept public answers
and registration rules are built for one version and dropped when it moves, in
every process within milliseconds (pub/sub). Session events watch the ORM for
changed organisers, series, seminars and their questions, and the bump runs
after the commit (``shared.db.after_commit``), so no code path has to remember
to drop a cache. Seat counts change through plain UPDATEs and are no content:
they do not move the version.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from itertools import chain

import redis
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from shared.db import after_commit, on_commit
from shared.models import Organiser, Question, Seminar, Series, WebhookEndpoint
from shared.redis_keys import content_changes_channel, content_version

log = logging.getLogger(__name__)

# What public answers, feeds and kept registration rules are built from (the rules know the
# organiser's webhook events too).
PUBLIC_CONTENT = (Organiser, Series, Seminar, Question, WebhookEndpoint)
# The after-commit topic of a change to public content.
CONTENT_CHANGED = "content changed"


def watch_content_changes(sessions: sessionmaker[Session], engine: Engine, client: redis.Redis) -> None:
    """Bump the content version after each commit that changed an organiser, series, seminar or question."""

    @event.listens_for(sessions, "before_flush")
    def _note(session, _flush_context, _instances):
        if any(isinstance(obj, PUBLIC_CONTENT) for obj in chain(session.new, session.dirty, session.deleted)):
            after_commit(session, CONTENT_CHANGED, True)

    on_commit(engine, CONTENT_CHANGED, lambda _changes: bump_content_version(client))


def bump_content_version(client: redis.Redis) -> int | None:
    """Move the version and announce it; None if Redis is unreachable.

    The change is committed already; a missed bump only delays the feeds, and
    the registration service's kept answers and rules, until their copies expire
    (``FEED_CACHE_SECONDS`` and ``PUBLIC_CACHE_SECONDS``).
    """
    try:
        version = client.incr(content_version())
        client.publish(content_changes_channel(), version)
    except redis.RedisError as exc:
        log.warning("could not bump the content version: %s", exc.__class__.__name__)
        return None
    return version


def current_content_version(client: redis.Redis) -> int:
    """The version now (0 before the first change); raises RedisError when Redis is away."""
    return int(client.get(content_version()) or 0)


class ContentVersionWatcher:
    """The content version as this process knows it, kept current by Redis pub/sub.

    While subscribed, reading the version costs no round trip: a bump reaches
    every process within milliseconds. While not subscribed (starting, Redis
    away, connection lost) each read asks Redis, and raises if Redis is away.
    The listener starts lazily in each process, so it survives gunicorn's fork.
    """

    def __init__(self, redis_url: str):
        self._redis_url = redis_url
        self._version = 0
        self._live = False
        self._pid: int | None = None
        self._closed = threading.Event()
        self._client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=2)

    def current(self) -> int:
        """The current content version."""
        if self._pid != os.getpid():
            self._start()
        if self._live:
            return self._version
        return current_content_version(self._client)

    def close(self) -> None:
        """Stop listening (the thread ends within its next wait)."""
        self._closed.set()
        self._live = False

    def _start(self) -> None:
        self._pid = os.getpid()
        self._live = False
        self._client = redis.Redis.from_url(self._redis_url, socket_connect_timeout=1, socket_timeout=2)
        threading.Thread(target=self._listen, name="content-version", daemon=True).start()

    def _listen(self) -> None:
        pid = os.getpid()
        while self._pid == pid and not self._closed.is_set():
            try:
                self._follow()
            except (redis.RedisError, OSError, ValueError):
                pass
            self._live = False
            self._closed.wait(1)  # Redis is away: requests ask it directly meanwhile

    def _follow(self) -> None:
        listener = redis.Redis.from_url(self._redis_url, socket_connect_timeout=1, socket_timeout=None)
        pubsub = listener.pubsub()
        try:
            pubsub.subscribe(content_changes_channel())
            pubsub.get_message(timeout=5)  # the subscription's confirmation
            # Subscribed first, read second: a bump in between is in both, none is lost.
            self._version = current_content_version(self._client)
            self._live = True
            quiet_since = time.monotonic()
            while self._pid == os.getpid() and not self._closed.is_set():
                message = pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                if message is not None:
                    self._version = max(self._version, int(message["data"]))
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > 30:
                    pubsub.ping()  # a dead connection shows itself here, not never
                    quiet_since = time.monotonic()
        finally:
            self._live = False
            pubsub.close()
            listener.close()
