"""Retention: how long registrations are kept, and anonymising them once their time is up.

A seminar's registrations go its retention days after its end (the seminar's own
setting, else the organiser's); cancelled and expired ones go sooner, the
organiser's ``retention_days_cancelled`` after the cancellation or the moment the
confirmation time ran out. The same rule is written twice here, side by side: in
Python for the day an organiser sees (``anonymise_after``), and in SQL for the
scheduler's batch (``_due``).

Anonymising keeps a registration's status, times and seat for the organiser's
statistics and removes everything that names or describes the person. New nonces
make every link sent to them stop working; their mails still waiting are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, or_, select, update
from sqlalchemy.orm import Session

from shared.db import write_transaction
from shared.models import (
    CLAIMABLE,
    Notification,
    NotificationStatus,
    Organiser,
    Registration,
    RegistrationStatus,
    Seminar,
    new_nonce,
)
from shared.outbox import ANONYMISED
from shared.runtime import Runtime
from shared.times import in_accepted_range, local, shift

# Registrations anonymised per scheduler round at most: a round stays short however much is due.
BATCH = 500


def retention_days(seminar: Seminar, organiser: Organiser) -> int:
    """Days after the seminar's end that its registrations are kept: its own setting, else the organiser's."""
    return seminar.retention_days if seminar.retention_days is not None else organiser.retention_days


def anonymise_after(seminar: Seminar, organiser: Organiser) -> date:
    """The day (in the seminar's zone) its registrations are anonymised."""
    moment = shift(seminar.ends_at, timedelta(days=retention_days(seminar, organiser)))
    return moment.date() if not in_accepted_range(moment) else local(moment, seminar.timezone).date()


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


def anonymise(session: Session, registrations: Sequence[Registration], now: datetime) -> None:
    """Remove name, address, answers and source page; revoke every link; drop the mails still waiting."""
    for registration in registrations:
        registration.name = ""
        # Unique per row, so the (seminar, address) constraint never sees two alike,
        # and never an address, so no later registration can match it.
        registration.email = registration.email_key = f"anonymised-{registration.id}"
        registration.answers = {}
        registration.source_page = None
        registration.token_nonce = new_nonce()
        registration.feed_nonce = new_nonce()
        registration.anonymised_at = now
    if registrations:
        session.execute(
            update(Notification)
            .where(Notification.registration_id.in_([r.id for r in registrations]),
                   Notification.status.in_(CLAIMABLE))
            .values(status=NotificationStatus.CANCELLED, last_error=ANONYMISED)
            .execution_options(synchronize_session=False)
        )
        # An organiser's message to the person may name them or speak of them.
        session.execute(
            update(Notification)
            .where(Notification.registration_id.in_([r.id for r in registrations]), Notification.details.is_not(None))
            .values(details=None)
            .execution_options(synchronize_session=False)
        )
