"""The feed version: a counter in Redis that moves after every committed change feeds show.

Session events watch the ORM for changed organisers, series and seminars, so no
code path has to remember to invalidate the feeds. Seat counts change through
plain UPDATEs and are not in the feeds, so they do not move the version.
"""

from __future__ import annotations

import logging
from itertools import chain

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from shared.models import Organiser, Seminar, Series
from shared.redis_keys import feed_changes_channel, feed_version

log = logging.getLogger(__name__)

FEED_CONTENT = (Organiser, Series, Seminar)
_CHANGED = "feeds_changed"


def watch_feed_changes(sessions: sessionmaker[Session], client: redis.Redis) -> None:
    """Bump the feed version after each commit that changed an organiser, series or seminar."""

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

    The change is committed already; a missed bump only delays the feeds until
    their cached copies expire (see ``services.calendar_feed.cache``).
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
