"""Building feeds: which seminars each feed holds, and their iCalendar bytes.

Public feeds hold published seminars and, for ``feed_keep_cancelled_days``,
cancelled ones marked cancelled; never a join link or anything personal. The
personal feed holds the seminars one participant is confirmed for, with links.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from shared.config import Settings
from shared.containment import each_shown
from shared.ical import make_calendar, seminar_event
from shared.models import Organiser, Registration, RegistrationStatus, Seminar, SeminarStatus, Series
from shared.personal_feed import same_feed


@dataclass(frozen=True)
class PersonalFeed:
    """A personal feed's bytes and the time of the latest change it reflects."""

    body: bytes
    last_change: datetime


def all_seminars_feed(session: Session, settings: Settings, now: datetime) -> bytes:
    """Every published seminar (and recently cancelled ones, marked) as one calendar."""
    seminars = session.scalars(_public(settings, now))
    return _calendar("Seminare", f"feed-all@{settings.public_host}", seminars, settings)


def series_feed(session: Session, settings: Settings, now: datetime, slug: str) -> bytes | None:
    """The seminars of one series, or None if there is no such series."""
    series = session.scalar(select(Series).where(Series.slug == slug))
    if series is None:
        return None
    seminars = session.scalars(_public(settings, now).where(Seminar.series_id == series.id))
    return _calendar(series.title, f"feed-series-{series.id}@{settings.public_host}", seminars, settings)


def organiser_feed(session: Session, settings: Settings, now: datetime, slug: str) -> bytes | None:
    """Everything one organiser publishes, or None if there is no such organiser."""
    organiser = session.scalar(select(Organiser).where(Organiser.slug == slug))
    if organiser is None:
        return None
    seminars = session.scalars(_public(settings, now).where(Seminar.organiser_id == organiser.id))
    return _calendar(organiser.name, f"feed-organiser-{organiser.id}@{settings.public_host}", seminars, settings)


def seminar_feed(session: Session, settings: Settings, now: datetime, seminar_id: int) -> bytes | None:
    """One published or cancelled seminar (however long ago, so ``now`` plays no part), or None for drafts and unknown ids."""
    seminar = session.scalar(
        select(Seminar).options(joinedload(Seminar.series))
        .where(Seminar.id == seminar_id, Seminar.status.in_((SeminarStatus.PUBLISHED, SeminarStatus.CANCELLED)))
    )
    if seminar is None:
        return None
    return _calendar(seminar.title, f"feed-seminar-{seminar.id}@{settings.public_host}", [seminar], settings)


def personal_feed(
    session: Session, settings: Settings, registration_id: int, feed_nonce: str, now: datetime
) -> PersonalFeed | None:
    """The seminars the owner of a registration's address is confirmed for at its organiser, with join links.

    None when the token's registration is gone, anonymised or its feed link was renewed.
    """
    registration = session.get(Registration, registration_id)
    if registration is None or registration.feed_nonce != feed_nonce or registration.anonymised_at:
        return None
    mine = select(Registration).where(same_feed(registration))
    registrations = session.scalars(mine.options(joinedload(Registration.seminar).joinedload(Seminar.series))).all()
    confirmed = [r for r in registrations if r.status == RegistrationStatus.CONFIRMED and _shown(r.seminar, settings, now)]
    confirmed.sort(key=lambda r: (r.seminar.starts_at, r.seminar.id))
    events = each_shown(confirmed, lambda r: seminar_event(
        r.seminar, settings, join_url=r.seminar.join_url if r.seminar.status == SeminarStatus.PUBLISHED else None))
    body = make_calendar("Meine Seminare", f"feed-personal-{registration.id}@{settings.public_host}", events).to_ical()
    # Anything that can add or remove an event moves this forward, never back:
    # the seminars' own changes and each of the person's registration changes.
    moments = [r.seminar.updated_at for r in confirmed]
    for r in registrations:
        moments += [t for t in (r.created_at, r.confirmed_at, r.cancelled_at) if t is not None]
    return PersonalFeed(body, max(moments))


def _public(settings: Settings, now: datetime) -> Select:
    cutoff = now - timedelta(days=settings.feed_keep_cancelled_days)
    return (
        select(Seminar)
        .options(joinedload(Seminar.series))
        .where(or_(
            Seminar.status == SeminarStatus.PUBLISHED,
            and_(Seminar.status == SeminarStatus.CANCELLED,
                 func.coalesce(Seminar.cancelled_at, Seminar.updated_at) >= cutoff),
        ))
        .order_by(Seminar.starts_at, Seminar.id)
    )


def _shown(seminar: Seminar, settings: Settings, now: datetime) -> bool:
    if seminar.status == SeminarStatus.PUBLISHED:
        return True
    if seminar.status != SeminarStatus.CANCELLED:
        return False
    cancelled = seminar.cancelled_at or seminar.updated_at
    return cancelled >= now - timedelta(days=settings.feed_keep_cancelled_days)


def _calendar(name: str, uid: str, seminars, settings: Settings) -> bytes:
    events = each_shown(seminars, lambda seminar: seminar_event(seminar, settings))
    return make_calendar(name, uid, events).to_ical()
