"""Whose seminars a personal feed shows: one address's registrations at one organiser, which share one feed secret.

The calendar service builds the feed, the registration service renews its
secret; both take the feed's registrations from here. Another organiser's
seminars (and their join links) are never in it, and a new secret for one of
the registrations is the new secret of all of them, so no earlier link lives on.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, select

from shared.models import Registration, Seminar


def same_feed(registration: Registration) -> ColumnElement[bool]:
    """The condition for the registrations whose seminars share ``registration``'s personal feed."""
    organiser_seminars = select(Seminar.id).where(Seminar.organiser_id == registration.seminar.organiser_id)
    return and_(Registration.email_key == registration.email_key,
                Registration.seminar_id.in_(organiser_seminars.scalar_subquery()),
                Registration.anonymised_at.is_(None))
