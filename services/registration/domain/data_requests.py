"""Requests from a person to an organiser: everything stored about an address (Art. 15 DSGVO) and its erasure (Art. 17).

Erasure anonymises as retention does (``retention.anonymise``). The audit log
notes each request with counts only: it must not become one more place that
keeps the address.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, not_, select
from sqlalchemy.orm import joinedload, selectinload

from shared.db import read_session, write_transaction
from shared.models import ACTIVE, Organiser, Registration, Seminar
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration.accounts import audit
from services.registration.accounts.principals import Principal
from services.registration.domain.ownership import of_organiser
from services.registration.domain.registrations import address_key, cancel_registration
from services.registration.domain.retention import anonymise


def _of_person(by: Principal, email: str):
    """The organiser's registrations of this address (anonymised ones no longer carry it)."""
    return (
        select(Registration).join(Registration.seminar)
        .where(of_organiser(by, Seminar.organiser_id), Registration.email_key == address_key(email))
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
        cancel_registration(runtime, registration_id, now, by=by)
    with write_transaction(runtime.sessions) as session:
        # A registration made since the cancellations above is new consent; it stays.
        registrations = session.scalars(
            _of_person(by, email).where(not_(upcoming)).order_by(Registration.id)
            .with_for_update(of=Registration)
        ).all()
        anonymise(session, registrations, now)
        audit.record(session, by, "person.erased", "person", None, registrations=len(registrations))
    return len(registrations)
