"""Seminars as the public sees them: published (and cancelled) ones, with seats left and whether registration is open."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from shared.config import Settings
from shared.containment import each_shown, showable
from shared.links import seminar_page_url
from shared.models import PUBLIC_STATUSES, Organiser, Seminar, Series, is_row_id
from shared.times import utcnow
from services.registration.domain.questions import public_question
from services.registration.domain.registration_window import closed_reason, joins_waiting_list


def find_public_seminar(session: Session, seminar_id: int) -> Seminar | None:
    """Return a published (or cancelled) seminar with series, organiser and questions, or None; drafts are invisible."""
    if not is_row_id(seminar_id):
        return None
    options = [joinedload(Seminar.series), joinedload(Seminar.organiser), selectinload(Seminar.questions)]
    seminar = session.get(Seminar, seminar_id, options=options)
    if seminar is None or seminar.status not in PUBLIC_STATUSES or not each_shown([seminar], showable):
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
    """Published seminars, soonest first; by default only those that have not ended; any that cannot be shown left out."""
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
    return each_shown(session.scalars(query), showable)


def public_view(seminar: Seminar, settings: Settings, now: datetime | None = None) -> dict:
    """The public representation of a seminar (no join link, no personal data)."""
    reason = closed_reason(seminar, now)
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
            "reason": reason.code if reason else None,
            "waiting_list": joins_waiting_list(seminar, now),
            "opens_at": seminar.registration_opens_at,
            "closes_at": seminar.closes_at,
        },
        "questions": [public_question(q) for q in seminar.questions],
        "series": seminar.series,
        "organiser": seminar.organiser,
        "url": seminar_page_url(settings, seminar.id),
    }
