"""Reading seminars as the public sees them: published ones, with seats left and window state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from shared.config import Settings
from shared.links import seminar_page_url
from shared.models import MAX_ID, Organiser, Seminar, SeminarStatus, Series
from services.registration.questions import public_question
from shared.times import utcnow

PUBLIC_STATUSES = (SeminarStatus.PUBLISHED, SeminarStatus.CANCELLED)


def find_public_seminar(session: Session, seminar_id: int) -> Seminar | None:
    """Return a published (or cancelled) seminar with series, organiser and questions, or None; drafts are invisible."""
    if not 0 < seminar_id <= MAX_ID:
        return None  # e.g. an id beyond PostgreSQL's integer range
    options = [joinedload(Seminar.series), joinedload(Seminar.organiser), selectinload(Seminar.questions)]
    seminar = session.get(Seminar, seminar_id, options=options)
    if seminar is None or seminar.status not in PUBLIC_STATUSES:
        return None
    return seminar


def list_public_seminars(
    session: Session,
    *,
    series_slug: str | None = None,
    organiser_slug: str | None = None,
    starts_before: datetime | None = None,
    ends_after: datetime | None = None,
) -> list[Seminar]:
    """Published seminars, soonest first; by default only those that have not ended."""
    query = (
        select(Seminar)
        .options(joinedload(Seminar.series), joinedload(Seminar.organiser), selectinload(Seminar.questions))
        .where(Seminar.status.in_(PUBLIC_STATUSES))
        .where(Seminar.ends_at > (ends_after or utcnow()))
        .order_by(Seminar.starts_at, Seminar.id)
    )
    if series_slug:
        query = query.join(Series, Seminar.series_id == Series.id).where(Series.slug == series_slug)
    if organiser_slug:
        query = query.join(Organiser, Seminar.organiser_id == Organiser.id).where(
            Organiser.slug == organiser_slug
        )
    if starts_before:
        query = query.where(Seminar.starts_at < starts_before)
    return list(session.scalars(query))


def window_problem(seminar: Seminar, now: datetime | None = None) -> str | None:
    """Why registration is not possible now (a problem code), or None when it is open."""
    now = now or utcnow()
    if seminar.status == SeminarStatus.CANCELLED:
        return "seminar_cancelled"
    if seminar.registration_opens_at and now < seminar.registration_opens_at:
        return "registration_not_open_yet"
    if now >= seminar.closes_at:
        return "registration_closed"
    if seminar.seats_left == 0 and not seminar.waitlist_enabled:
        return "seminar_full"
    return None


def public_view(seminar: Seminar, settings: Settings, now: datetime | None = None) -> dict:
    """The public representation of a seminar (no join link, no personal data)."""
    reason = window_problem(seminar, now)
    return {
        "id": seminar.id,
        "title": seminar.title,
        "description": seminar.description,
        "status": seminar.status.value,
        "format": seminar.format,
        "location": seminar.location,
        "timezone": seminar.timezone,
        "starts_at": seminar.starts_at,
        "ends_at": seminar.ends_at,
        "capacity": seminar.capacity,
        "seats_left": seminar.seats_left,
        "waitlist_enabled": seminar.waitlist_enabled,
        "double_opt_in": seminar.double_opt_in,
        "registration": {
            "open": reason is None,
            "reason": reason,
            "opens_at": seminar.registration_opens_at,
            "closes_at": seminar.closes_at,
        },
        "questions": [public_question(q) for q in seminar.questions],
        "series": seminar.series,
        "organiser": seminar.organiser,
        "url": seminar_page_url(settings, seminar.id),
    }
