"""What is stored about a person and how it goes: retention dates, reports (Art. 15 DSGVO), erasure (Art. 17).

Anonymising keeps a registration's status, times and seat for the organiser's
statistics and removes everything that names or describes the person. New nonces
make every link sent to them stop working; their mails still waiting are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, not_, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from shared.db import read_session, write_transaction
from shared.models import (
    ACTIVE,
    CLAIMABLE,
    Notification,
    NotificationStatus,
    Organiser,
    Registration,
    Seminar,
    new_nonce,
)
from shared.outbox import ANONYMISED
from shared.runtime import Runtime
from shared.times import local, utcnow
from services.registration import audit, management
from services.registration.accounts import Principal
from services.registration.registrations import address_key

def retention_days(seminar: Seminar, organiser: Organiser) -> int:
    """Days after the seminar's end that its registrations are kept: its own setting, else the organiser's."""
    return seminar.retention_days if seminar.retention_days is not None else organiser.retention_days


def anonymise_after(seminar: Seminar, organiser: Organiser) -> date:
    """The day (in the seminar's zone) its registrations are anonymised."""
    return local(seminar.ends_at + timedelta(days=retention_days(seminar, organiser)), seminar.timezone).date()


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


def _of_person(by: Principal, email: str):
    """The organiser's registrations of this address (anonymised ones no longer carry it)."""
    return (
        select(Registration).join(Registration.seminar)
        .where(Seminar.organiser_id == by.organiser_id, Registration.email_key == address_key(email))
    )


def person_report(runtime: Runtime, by: Principal, email: str, now: datetime | None = None) -> dict[str, Any]:
    """Everything the organiser stores about an address, with seminars and mails; the request is audited.

    The audit entry holds the number of registrations only: the log must not
    become one more place that keeps the address.
    """
    now = now or utcnow()
    with write_transaction(runtime.sessions) as session:
        registrations = session.scalars(
            _of_person(by, email)
            .options(joinedload(Registration.seminar), selectinload(Registration.notifications))
            .order_by(Registration.created_at, Registration.id)
        ).all()
        audit.record(session, by, "person.reported", "person", None, registrations=len(registrations))
        organiser = session.get(Organiser, by.organiser_id)
        return {"email": address_key(email), "organiser": organiser.name, "created_at": now,
                "registrations": list(registrations)}


def erase_person(runtime: Runtime, by: Principal, email: str, now: datetime | None = None) -> int:
    """Anonymise all the organiser's registrations of an address; returns how many.

    Seats of seminars still to come are given back first, through the organiser's
    cancellation, so the next waiting people move up and are told. Registrations of
    seminars that are over keep their status for the statistics.
    """
    now = now or utcnow()
    upcoming = and_(Registration.status.in_(ACTIVE), Seminar.ends_at > now)
    with read_session(runtime.sessions) as session:
        to_cancel = session.scalars(_of_person(by, email).where(upcoming).with_only_columns(Registration.id)).all()
    for registration_id in to_cancel:
        # The cancellation receipt this queues is dropped with the other mails below,
        # unless a worker has taken it already.
        management.cancel_by_organiser(runtime, by, registration_id, now)
    with write_transaction(runtime.sessions) as session:
        # A registration made since the cancellations above is new consent; it stays.
        registrations = session.scalars(
            _of_person(by, email).where(not_(upcoming)).order_by(Registration.id)
            .with_for_update(of=Registration)
        ).all()
        anonymise(session, registrations, now)
        audit.record(session, by, "person.erased", "person", None, registrations=len(registrations))
    return len(registrations)
