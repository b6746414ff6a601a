"""The waiting list: seats taken and given back, and who moves up into a free seat.

First come, first served: when a seat frees, the longest-waiting person who may
move up gets it (``fill_free_seats``); an organiser may also move one person up
ahead of the queue (``promote``). Both go through ``_move_up``. With double opt-in
only people who confirmed their address may move up: the join link that comes
with the seat goes only to addresses their owners confirmed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Connection, select, true, update
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import write_transaction
from shared.models import NotificationKind, Registration, RegistrationStatus, Seminar, WebhookEvent
from shared.outbox import add_notification, round_key
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration.accounts import audit
from services.registration.accounts.principals import Principal
from services.registration.domain.ownership import owned_registration
from services.registration.domain.refusals import AddressNotConfirmed, NotWaitlisted, SeminarFull
from services.registration.domain.webhooks import emit, registration_data
from services.registration.storage import TAKE_SEAT


def take_seat(session: Session | Connection, seminar_id: int) -> bool:
    """Take one seat if one is free; atomic on both databases."""
    return session.execute(TAKE_SEAT, {"seminar_id": seminar_id}).rowcount == 1


def release_seat(session: Session, seminar_id: int) -> None:
    """Give one seat back."""
    session.execute(
        update(Seminar)
        .where(Seminar.id == seminar_id, Seminar.seats_taken > 0)
        .values(seats_taken=Seminar.seats_taken - 1)
        .execution_options(synchronize_session=False)
    )


def may_move_up(seminar: Seminar, registration: Registration) -> bool:
    """Whether this waiting person may get a seat: with double opt-in, only once the address is confirmed."""
    return not seminar.double_opt_in or registration.email_confirmed_at is not None


def _may_move_up_in_sql(seminar: Seminar) -> ColumnElement[bool]:
    """``may_move_up`` as a condition on the registrations table, for finding the next person."""
    return Registration.email_confirmed_at.is_not(None) if seminar.double_opt_in else true()


def fill_free_seats(session: Session, settings: Settings, seminar_id: int, now: datetime) -> list[int]:
    """Move the longest-waiting people who may move up into free seats; returns their promotion mails' ids."""
    seminar = session.get(Seminar, seminar_id)
    notification_ids = []
    while True:
        candidate = session.scalar(
            select(Registration)
            .where(Registration.seminar_id == seminar_id, Registration.status == RegistrationStatus.WAITLISTED,
                   _may_move_up_in_sql(seminar))
            .order_by(Registration.created_at, Registration.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if candidate is None or not take_seat(session, seminar_id):
            break
        notification_ids.append(_move_up(session, settings, candidate, now, round_key(candidate.created_at)))
    return notification_ids


def promote(runtime: Runtime, by: Principal, registration_id: int, now: datetime | None = None) -> int:
    """Give one waiting person a free seat now, ahead of the queue; returns the promotion mail's id."""
    now = now or utcnow()
    with write_transaction(runtime.sessions) as session:
        registration = owned_registration(session, by, registration_id, lock=True)
        if registration.status != RegistrationStatus.WAITLISTED:
            raise NotWaitlisted()
        if not may_move_up(registration.seminar, registration):
            raise AddressNotConfirmed()
        if not take_seat(session, registration.seminar_id):
            raise SeminarFull()
        audit.record(session, by, "registration.promoted", "registration", registration.id,
                     seminar_id=registration.seminar_id)
        return _move_up(session, runtime.settings, registration, now, f"manual:{now:%Y%m%dT%H%M%S.%f}")


def _move_up(session: Session, settings: Settings, registration: Registration, now: datetime, dedupe_key: str) -> int:
    """The seat is taken: confirm the registration, write its promotion mail and tell the partner systems."""
    registration.status = RegistrationStatus.CONFIRMED
    registration.confirmed_at = now
    registration.expires_at = None
    emit(session, registration.seminar.organiser_id, WebhookEvent.REGISTRATION_PROMOTED,
         lambda: registration_data(session, settings, registration, registration.seminar_id), now)
    return add_notification(session, registration.id, NotificationKind.PROMOTED, dedupe_key)
