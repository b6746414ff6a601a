"""Building feeds: which seminars a feed holds and their iCalendar bytes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from shared.config import Settings
from shared.ical import make_calendar, seminar_event
from shared.models import Seminar, SeminarStatus

FEED_STATUSES = (SeminarStatus.PUBLISHED, SeminarStatus.CANCELLED)


def all_seminars_feed(session: Session, settings: Settings) -> bytes:
    """Every published (and cancelled, marked) seminar as one calendar."""
    seminars = session.scalars(
        select(Seminar)
        .options(joinedload(Seminar.series))
        .where(Seminar.status.in_(FEED_STATUSES))
        .order_by(Seminar.starts_at, Seminar.id)
    )
    events = [seminar_event(seminar, settings) for seminar in seminars]
    return make_calendar("Seminare", f"feed-all@{settings.public_host}", events).to_ical()
