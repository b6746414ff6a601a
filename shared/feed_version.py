"""The feed version: a counter in Redis that moves after every committed change feeds show.

Session events watch the ORM for changed organisers, series, seminars and their
questions, so no code path has to remember to invalidate the feeds or the
registration service's public answers. Seat counts change through plain UPDATEs
and are not in the feeds, so they do not move the version.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from itertools import chain

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from shared.models import Organiser, Question, Seminar, Series
from shared.redis_keys import feed_changes_channel, feed_version

log = logging.getLogger(__name__)

# Questions are not in the feeds, but in the public answers and registration rules kept by the same version.
FEED_CONTENT = (Organiser, Series, Seminar, Question)
_CHANGED = "feeds_changed"


def watch_feed_changes(sessions: sessionmaker[Session], client: redis.Redis) -> None:
    """Bump the feed version after each commit that changed an organiser, series, seminar or question."""

    @event.listens_for(sessions, "before_flush")
    def _note(session, _flush_context, _instances):
        if any(isinstance(obj, FEED_CONTENT) for obj in chain(session.new, session.dirty, session.deleted)):
            session.info[_CHANGED] = True

    @event.listens_for(sessions, "after_commit")
    def _bump(session):
        if session.info.pop(_CHANGED, False):
            bump_feed_version(client)

    @event.listens_for(sessions, "after_rollback")
    def _forget(session):
        session.info.pop(_CHANGED, None)


def bump_feed_version(client: redis.Redis) -> int | None:
    """Move the version and announce it; None if Redis is unreachable.

    The change is committed already; a missed bump only delays the feeds, and
    the registration service's kept answers and rules, until their copies expire
    (see ``services.calendar_feed.cache`` and ``PUBLIC_CACHE_SECONDS``).
    """
    try:
        version = client.incr(feed_version())
        client.publish(feed_changes_channel(), version)
    except redis.RedisError as exc:
        log.warning("could not bump the feed version: %s", exc.__class__.__name__)
        return None
    return version


def current_feed_version(client: redis.Redis) -> int:
    """The version now (0 before the first change); raises RedisError when Redis is away."""
    return int(client.get(feed_version()) or 0)


class FeedVersionWatcher:
    """The feed version as this process knows it, kept current by Redis pub/sub.

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
        """The current feed version."""
        if self._pid != os.getpid():
            self._start()
        if self._live:
            return self._version
        return current_feed_version(self._client)

    def close(self) -> None:
        """Stop listening (the thread ends within its next wait)."""
        self._closed.set()
        self._live = False

    def _start(self) -> None:
        self._pid = os.getpid()
        self._live = False
        self._client = redis.Redis.from_url(self._redis_url, socket_connect_timeout=1, socket_timeout=2)
        threading.Thread(target=self._listen, name="feed-version", daemon=True).start()

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
            pubsub.subscribe(feed_changes_channel())
            pubsub.get_message(timeout=5)  # the subscription's confirmation
            # Subscribed first, read second: a bump in between is in both, none is lost.
            self._version = current_feed_version(self._client)
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
