"""Registering, confirming, cancelling, and the waiting list: each change is one transaction.

A seat is taken with a conditional UPDATE inside the transaction that also writes
the registration and its notification rows, so capacity holds under concurrency
on SQLite (whose write transactions start with BEGIN IMMEDIATE) and PostgreSQL
(where the UPDATE locks the seminar row until commit). Mails are queued after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import write_transaction
from shared.models import (
    SEAT_HOLDING,
    Notification,
    NotificationKind,
    Registration,
    RegistrationStatus,
    Seminar,
)
from shared.outbox import add_notification, dispatch
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration.consent import CONSENT_VERSION
from services.registration.questions import clean_answers
from services.registration.seminars import find_public_seminar, window_problem

ACTIVE = (RegistrationStatus.PENDING, RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)


class RegistrationRefused(Exception):
    """Registration is not possible; ``code`` names the problem, ``status`` the HTTP status."""

    def __init__(self, code: str, status: int = 409):
        super().__init__(code)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Outcome:
    """What happened to a registration attempt, as the participant may learn it."""

    registration_id: int
    status: RegistrationStatus
    seminar_id: int


def register(runtime: Runtime, seminar_id: int, form: dict, now: datetime | None = None) -> Outcome:
    """Register a person; a repeated address gets the first answer again and a reminder mail.

    ``now`` is for tests; by default the time is read inside the transaction, so
    that the waiting list's order is the order in which seats were refused.
    """
    try:
        outcome, notification_ids = _register_once(runtime, seminar_id, form, now)
    except IntegrityError:
        # A concurrent request inserted the same address first (PostgreSQL); answer as it did.
        outcome, notification_ids = _register_once(runtime, seminar_id, form, now)
    dispatch(runtime.sessions, runtime.broker, notification_ids)
    return outcome


def _register_once(runtime: Runtime, seminar_id: int, form: dict, fixed_now: datetime | None):
    with write_transaction(runtime.sessions) as session:
        seminar = find_public_seminar(session, seminar_id, with_relations=False)
        now = fixed_now or utcnow()
        if seminar is None:
            raise RegistrationRefused("seminar_not_found", 404)
        email_key = form["email"].strip().lower()
        registration = session.scalar(
            select(Registration).where(
                Registration.seminar_id == seminar_id, Registration.email_key == email_key
            )
        )
        if registration is not None and registration.status in ACTIVE:
            # Same answer as the first time; the address owner learns the rest by mail.
            notification = _already_registered_mail(session, registration, now)
            return _outcome(registration), [notification.id] if notification else []
        reason = window_problem(seminar, now)
        if reason is not None and reason != "seminar_full":
            raise RegistrationRefused(reason)
        answers = clean_answers(seminar.questions, form.get("answers") or {})

        if take_seat(session, seminar_id):
            status = RegistrationStatus.PENDING if seminar.double_opt_in else RegistrationStatus.CONFIRMED
        elif seminar.waitlist_enabled:
            status = RegistrationStatus.WAITLISTED
        else:
            raise RegistrationRefused("seminar_full")
        # Read the clock after the seat decision: on PostgreSQL concurrent requests
        # wait for the seminar row there, so this order is the waiting list's order.
        now = fixed_now or utcnow()

        if registration is None:  # a cancelled or expired row is reused for the same address
            registration = Registration(seminar_id=seminar_id, email_key=email_key)
            session.add(registration)
        _fill(registration, runtime, seminar, form, answers, status, now)
        session.flush()
        kind = {
            RegistrationStatus.PENDING: NotificationKind.CONFIRM_ADDRESS,
            RegistrationStatus.CONFIRMED: NotificationKind.CONFIRMED,
            RegistrationStatus.WAITLISTED: NotificationKind.WAITLISTED,
        }[status]
        notification = add_notification(session, registration.id, kind, dedupe_key=_round(registration))
        session.flush()
        return _outcome(registration), [notification.id]


def _fill(registration, runtime, seminar, form, answers, status, now) -> None:
    needs_address_check = seminar.double_opt_in and status != RegistrationStatus.CONFIRMED
    registration.status = status
    registration.name = form["name"].strip()
    registration.email = form["email"].strip()
    registration.language = form.get("language") or "de"
    registration.answers = answers
    registration.consent_version = CONSENT_VERSION
    registration.consent_at = now
    registration.source_page = form.get("source_page")
    registration.created_at = now
    registration.confirmed_at = now if status == RegistrationStatus.CONFIRMED else None
    registration.email_confirmed_at = None
    registration.cancelled_at = None
    registration.expires_at = (
        now + timedelta(hours=runtime.settings.pending_expiry_hours) if needs_address_check else None
    )


def _round(registration: Registration) -> str:
    # A person may cancel and register again; each round gets its own mails.
    return registration.created_at.strftime("%Y%m%dT%H%M%S.%f")


def _outcome(registration: Registration) -> Outcome:
    return Outcome(registration.id, registration.status, registration.seminar_id)


def _already_registered_mail(session: Session, registration: Registration, now: datetime):
    # At most one such mail an hour, so the form cannot be used to flood an inbox.
    key = "already:" + now.strftime("%Y%m%d%H")
    exists = session.scalar(
        select(Notification.id).where(
            Notification.registration_id == registration.id,
            Notification.kind == NotificationKind.ALREADY_REGISTERED,
            Notification.dedupe_key == key,
        )
    )
    if exists:
        return None
    notification = add_notification(session, registration.id, NotificationKind.ALREADY_REGISTERED, key)
    session.flush()
    return notification


def take_seat(session: Session, seminar_id: int) -> bool:
    """Take one seat if one is free; atomic on both databases."""
    result = session.execute(
        update(Seminar)
        .where(Seminar.id == seminar_id)
        .where(Seminar.capacity.is_(None) | (Seminar.seats_taken < Seminar.capacity))
        .values(seats_taken=Seminar.seats_taken + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def release_seat(session: Session, seminar_id: int) -> None:
    """Give one seat back."""
    session.execute(
        update(Seminar)
        .where(Seminar.id == seminar_id, Seminar.seats_taken > 0)
        .values(seats_taken=Seminar.seats_taken - 1)
        .execution_options(synchronize_session=False)
    )


def promote_waiting(session: Session, seminar_id: int, now: datetime) -> list[int]:
    """Move the longest-waiting people into free seats; returns the notification ids.

    With double opt-in only people who confirmed their address move up: a seat
    never goes to an address nobody has confirmed.
    """
    seminar = session.get(Seminar, seminar_id)
    notification_ids = []
    while True:
        query = (
            select(Registration)
            .where(Registration.seminar_id == seminar_id, Registration.status == RegistrationStatus.WAITLISTED)
            .order_by(Registration.created_at, Registration.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if seminar.double_opt_in:
            query = query.where(Registration.email_confirmed_at.is_not(None))
        candidate = session.scalar(query)
        if candidate is None or not take_seat(session, seminar_id):
            break
        candidate.status = RegistrationStatus.CONFIRMED
        candidate.confirmed_at = now
        candidate.expires_at = None
        notification = add_notification(session, candidate.id, NotificationKind.PROMOTED, _round(candidate))
        session.flush()
        notification_ids.append(notification.id)
    return notification_ids


def confirm_address(runtime: Runtime, registration_id: int, now: datetime | None = None) -> RegistrationStatus:
    """Confirm the address of a registration; confirming twice changes nothing."""
    now = now or utcnow()
    notification_ids: list[int] = []
    with write_transaction(runtime.sessions) as session:
        registration = _locked(session, registration_id)
        if registration.email_confirmed_at is None and registration.status in ACTIVE:
            registration.email_confirmed_at = now
            registration.expires_at = None
        if registration.status == RegistrationStatus.PENDING:
            registration.status = RegistrationStatus.CONFIRMED
            registration.confirmed_at = now
            notification = add_notification(
                session, registration.id, NotificationKind.CONFIRMED, _round(registration)
            )
            session.flush()
            notification_ids.append(notification.id)
        elif registration.status == RegistrationStatus.WAITLISTED:
            # A seat may have freed while this person was not yet eligible.
            notification_ids += promote_waiting(session, registration.seminar_id, now)
        status = registration.status
    dispatch(runtime.sessions, runtime.broker, notification_ids)
    return status


def cancel_registration(runtime: Runtime, registration_id: int, now: datetime | None = None) -> RegistrationStatus:
    """Cancel a registration or leave the waiting list; the freed seat goes to the next person."""
    now = now or utcnow()
    notification_ids: list[int] = []
    with write_transaction(runtime.sessions) as session:
        registration = _locked(session, registration_id)
        if registration.status in ACTIVE:
            held_seat = registration.status in SEAT_HOLDING
            registration.status = RegistrationStatus.CANCELLED
            registration.cancelled_at = now
            registration.expires_at = None
            receipt = add_notification(
                session, registration.id, NotificationKind.CANCELLATION_RECEIPT, _round(registration)
            )
            session.flush()
            notification_ids.append(receipt.id)
            if held_seat:
                release_seat(session, registration.seminar_id)
                notification_ids += promote_waiting(session, registration.seminar_id, now)
        status = registration.status
    dispatch(runtime.sessions, runtime.broker, notification_ids)
    return status


def expire_unconfirmed(runtime: Runtime, now: datetime | None = None) -> int:
    """Let unconfirmed registrations lapse after their time; freed seats go to the waiting list."""
    now = now or utcnow()
    notification_ids: list[int] = []
    with write_transaction(runtime.sessions) as session:
        lapsed = session.scalars(
            select(Registration)
            .where(
                Registration.status.in_((RegistrationStatus.PENDING, RegistrationStatus.WAITLISTED)),
                Registration.expires_at < now,
            )
            .order_by(Registration.id)
            .limit(500)
            .with_for_update(skip_locked=True)
        ).all()
        seminars_with_free_seats = set()
        for registration in lapsed:
            if registration.status == RegistrationStatus.PENDING:
                release_seat(session, registration.seminar_id)
                seminars_with_free_seats.add(registration.seminar_id)
            registration.status = RegistrationStatus.EXPIRED
            registration.expires_at = None
        session.flush()
        for seminar_id in sorted(seminars_with_free_seats):
            notification_ids += promote_waiting(session, seminar_id, now)
        count = len(lapsed)
    dispatch(runtime.sessions, runtime.broker, notification_ids)
    return count


def _locked(session: Session, registration_id: int) -> Registration:
    registration = session.get(Registration, registration_id, with_for_update=True)
    if registration is None:
        raise RegistrationRefused("not_found", 404)
    return registration
