"""When a seminar is: inside the accepted dates, ending after it starts, at most a week long; a new start keeps its length."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.problems import Refusal
from shared.times import in_accepted_range
from services.registration.domain.refusals import DateOutOfRange, EndsBeforeStart, SeminarTooLong

# Longer events are several seminars (a series); a week holds any conference or summer school.
LONGEST_SEMINAR = timedelta(days=7)


def span_problem(starts_at: datetime | None, ends_at: datetime | None) -> type[Refusal] | None:
    """What is wrong with a seminar's start and end, or None; an end not given yet is not judged."""
    for moment in (starts_at, ends_at):
        if moment is not None and not in_accepted_range(moment):
            return DateOutOfRange
    if starts_at is None or ends_at is None:
        return None
    if ends_at <= starts_at:
        return EndsBeforeStart
    if ends_at - starts_at > LONGEST_SEMINAR:
        return SeminarTooLong
    return None


def new_span(starts_at: datetime, ends_at: datetime, *, new_start: datetime | None = None,
             new_end: datetime | None = None) -> tuple[datetime, datetime]:
    """The seminar's start and end after a change of either; refused (``span_problem``) if they cannot be.

    A new start without a new end keeps the seminar's length: a move to another
    day is the common case, and the end would otherwise come before the new start.
    """
    start = new_start or starts_at
    end = new_end or (start + (ends_at - starts_at) if new_start else ends_at)
    problem = span_problem(start, end)
    if problem is not None:
        raise problem()
    return start, end
