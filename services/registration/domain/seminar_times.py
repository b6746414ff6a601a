"""When a seminar is: it ends after it starts, and a new start alone keeps its length."""

from __future__ import annotations

from datetime import datetime

from services.registration.domain.refusals import EndsBeforeStart


def ends_before_start(starts_at: datetime | None, ends_at: datetime | None) -> bool:
    """Whether a span would end before (or when) it starts; False while either end is unknown."""
    return starts_at is not None and ends_at is not None and ends_at <= starts_at


def new_span(starts_at: datetime, ends_at: datetime, *, new_start: datetime | None = None,
             new_end: datetime | None = None) -> tuple[datetime, datetime]:
    """The seminar's start and end after a change of either; EndsBeforeStart if it would end first.

    A new start without a new end keeps the seminar's length: a move to another
    day is the common case, and the end would otherwise come before the new start.
    """
    start = new_start or starts_at
    end = new_end or (start + (ends_at - starts_at) if new_start else ends_at)
    if ends_before_start(start, end):
        raise EndsBeforeStart()
    return start, end
