"""Feed bytes built once per change: kept in this process, shared through Redis.

A cached feed is valid for one *stamp*: the content version in Redis (moved by every
committed change of a seminar, series or organiser, see ``shared.content_version``)
and the day (cancelled seminars leave the feeds by date). A request looks up
the version (kept current by pub/sub, see ``ContentVersionWatcher``) and serves the
bytes built for it; only the first request after a change builds them, and other
processes then take them from Redis.
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Callable

import redis
from werkzeug.http import http_date

from shared.content_version import ContentVersionWatcher
from shared.etags import content_etag
from shared.metrics import FEED_CACHE
from shared.redis_keys import feed_body, feed_meta


@dataclass(frozen=True)
class FeedEntry:
    """One feed's bytes, ready to send, with what conditional requests need."""

    body: bytes
    gzipped: bytes
    etag: str
    last_modified: datetime
    stamp: str | None
    built_at: float  # epoch seconds

    @property
    def http_last_modified(self) -> str:
        """Last-Modified as an HTTP date."""
        return http_date(self.last_modified)

    @classmethod
    def of(cls, body: bytes, last_modified: datetime, stamp: str | None = None, built_at: float | None = None):
        """Wrap freshly built bytes: strong ETag from the content, gzip done once."""
        return cls(
            body=body,
            # mtime=0: the same feed always compresses to the same bytes.
            gzipped=gzip.compress(body, compresslevel=6, mtime=0),
            etag=content_etag(body),
            last_modified=last_modified,
            stamp=stamp,
            built_at=time.time() if built_at is None else built_at,
        )


class FeedCache:
    """Feed entries by name, rebuilt only when the content version or the day moves."""

    def __init__(self, client: redis.Redis, versions: ContentVersionWatcher, max_age_seconds: int):
        self._redis = client
        self._versions = versions
        self._max_age = max_age_seconds
        self._entries: dict[str, FeedEntry] = {}
        self._lock = threading.Lock()
        # Found once: ``labels()`` takes a lock and builds its key on every call.
        self._hits, self._misses = FEED_CACHE.labels("hit"), FEED_CACHE.labels("miss")

    def close(self) -> None:
        """Stop following the content version."""
        self._versions.close()

    def get(self, feed: str, build: Callable[[], bytes | None], now: datetime) -> FeedEntry | None:
        """The current entry of ``feed``, building it with ``build`` when needed; None if it does not exist."""
        try:
            # isoformat() rather than strftime: a fifth of the cost, on every feed request.
            stamp = f"{self._versions.current()}:{now.date().isoformat()}"
        except redis.RedisError:
            stamp = None  # without the version nothing cached can be trusted: build afresh
        local = self._entries.get(feed)
        if stamp is not None and self._fresh(local, stamp):
            self._hits.inc()
            return local
        shared = self._from_redis(feed, stamp) if stamp is not None else None
        if shared is not None:
            self._hits.inc()
            self._remember(feed, shared)
            return shared
        self._misses.inc()
        body = build()
        if body is None:
            return None
        entry = self._store(feed, body, stamp, now, local)
        self._remember(feed, entry)
        return entry

    def _fresh(self, entry: FeedEntry | None, stamp: str) -> bool:
        return entry is not None and entry.stamp == stamp and time.time() - entry.built_at < self._max_age

    def _remember(self, feed: str, entry: FeedEntry) -> None:
        with self._lock:
            current = self._entries.get(feed)
            if current is None or current.built_at <= entry.built_at:
                self._entries[feed] = entry

    def _from_redis(self, feed: str, stamp: str) -> FeedEntry | None:
        try:
            fields = self._redis.hgetall(feed_body(feed))
        except redis.RedisError:
            return None
        if fields.get(b"stamp", b"").decode() != stamp:
            return None
        entry = FeedEntry(
            body=fields[b"body"],
            gzipped=fields[b"gzipped"],
            etag=fields[b"etag"].decode(),
            last_modified=datetime.fromtimestamp(int(fields[b"last_modified"]), timezone.utc),
            stamp=stamp,
            built_at=float(fields[b"built_at"]),
        )
        return entry if self._fresh(entry, stamp) else None

    def _store(self, feed: str, body: bytes, stamp: str | None, now: datetime, local: FeedEntry | None) -> FeedEntry:
        """Make the entry for new bytes; Last-Modified moves only when the bytes changed, never back."""
        entry = replace(FeedEntry.of(body, now), stamp=stamp)
        previous = self._previous_version(feed, local)  # (etag, last_modified) or None
        if previous is not None and previous[0] == entry.etag:
            last_modified = previous[1]
        else:
            # HTTP dates have whole seconds; a change must show as a later second.
            last_modified = _whole_second(now)
            if previous is not None and last_modified <= previous[1]:
                last_modified = _whole_second(previous[1]) + _ONE_SECOND
        entry = replace(entry, last_modified=last_modified)
        try:
            epoch = str(int(last_modified.timestamp()))
            pipe = self._redis.pipeline(transaction=False)
            pipe.hset(feed_meta(feed), mapping={"etag": entry.etag, "last_modified": epoch})
            if stamp is not None:
                pipe.hset(feed_body(feed), mapping={
                    "stamp": stamp, "body": entry.body, "gzipped": entry.gzipped, "etag": entry.etag,
                    "last_modified": epoch, "built_at": repr(entry.built_at),
                })
                pipe.expire(feed_body(feed), self._max_age)
            pipe.execute()
        except redis.RedisError:
            pass  # the next process builds its own copy
        return entry

    def _previous_version(self, feed: str, local: FeedEntry | None) -> tuple[str, datetime] | None:
        """The newest ETag and Last-Modified known for ``feed``, here or in Redis."""
        known = (local.etag, local.last_modified) if local else None
        try:
            meta = self._redis.hgetall(feed_meta(feed))
        except redis.RedisError:
            meta = {}
        if meta:
            shared = (meta[b"etag"].decode(), datetime.fromtimestamp(int(meta[b"last_modified"]), timezone.utc))
            if known is None or shared[1] >= known[1]:
                known = shared
        return known


_ONE_SECOND = timedelta(seconds=1)


def _whole_second(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(microsecond=0)
