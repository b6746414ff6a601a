"""Public seminar answers kept briefly in each process: every embedded form loads one per page view.

The same store keeps each seminar's registration rules (window, questions,
waiting list), which every registration needs. A change of any seminar, its
questions, series or organiser drops them at once (the content version, followed
over Redis pub/sub as the calendar service does). What changes without it, the
seats left and whether registration is open, is at most ``seconds`` old;
whether a registration gets a seat is always decided by the database.
"""

from __future__ import annotations

import time
from typing import Callable, Hashable, TypeVar

import redis

from shared.content_version import ContentVersionWatcher

# Enough for every seminar and series listing of a large installation; a crawler
# walking through ids cannot make the cache grow beyond it.
MAX_ENTRIES = 5000
Kept = TypeVar("Kept")


class PublicAnswers:
    """Public answers (JSON bytes) and rules by key, for at most ``seconds`` and one content version."""

    def __init__(self, versions: ContentVersionWatcher, seconds: float, clock: Callable[[], float] = time.monotonic):
        self._versions = versions
        self._seconds = seconds
        self._clock = clock
        self._entries: dict[Hashable, tuple[int, float, object]] = {}

    def get(self, key: Hashable, build: Callable[[], Kept | None]) -> Kept | None:
        """The answer for ``key``, from ``build`` when none is kept (None: nothing to answer, not kept)."""
        if self._seconds <= 0:
            return build()
        try:
            version = self._versions.current()
        except redis.RedisError:
            return build()  # without Redis changes cannot be seen: build every time
        now = self._clock()
        kept = self._entries.get(key)
        if kept is not None and kept[0] == version and now - kept[1] < self._seconds:
            return kept[2]
        body = build()
        if body is not None:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (version, now, body)
        return body
