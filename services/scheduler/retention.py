"""Retention: anonymise registrations once their time is up, one bounded batch per scheduler round.

A seminar's registrations go its retention days after its end (the seminar's own
setting, else the organiser's); cancelled and expired ones go sooner, the
organiser's ``retention_days_cancelled`` after the cancellation or expiry.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from shared.db import write_transaction
from shared.models import Organiser, Registration, RegistrationStatus, Seminar
from shared.runtime import Runtime
from services.registration.privacy import anonymise

BATCH = 500


def anonymise_due(runtime: Runtime, now: datetime) -> int:
    """Anonymise up to one batch of registrations whose retention has ended; returns how many."""
    with write_transaction(runtime.sessions) as session:
        due = session.scalars(
            select(Registration).join(Registration.seminar).join(Seminar.organiser)
            .where(Registration.anonymised_at.is_(None), _due(session, now))
            .order_by(Registration.id).limit(BATCH)
            .with_for_update(of=Registration, skip_locked=True)
        ).all()
        anonymise(session, due, now)
        return len(due)


def _due(session: Session, now: datetime) -> ColumnElement[bool]:
    """Which registrations are due, as plain comparisons of stored times with fixed instants.

    One condition per distinct retention setting (there are few) rather than date
    arithmetic in SQL, which SQLite and PostgreSQL spell differently.
    """
    def before(days: int) -> datetime:
        return now - timedelta(days=days)

    overrides = session.scalars(select(Seminar.retention_days).where(Seminar.retention_days.is_not(None)).distinct())
    defaults = session.scalars(select(Organiser.retention_days).distinct())
    lapses = session.scalars(select(Organiser.retention_days_cancelled).distinct())
    return or_(
        false(),
        *(and_(Seminar.retention_days == days, Seminar.ends_at <= before(days)) for days in overrides),
        *(and_(Seminar.retention_days.is_(None), Organiser.retention_days == days, Seminar.ends_at <= before(days))
          for days in defaults),
        *(and_(Organiser.retention_days_cancelled == days, or_(
            and_(Registration.status == RegistrationStatus.CANCELLED, Registration.cancelled_at <= before(days)),
            and_(Registration.status == RegistrationStatus.EXPIRED, Registration.expires_at <= before(days)),
        )) for days in lapses),
    )
