"""Registering for a seminar and confirming the address: each change is one transaction.

The seat is taken with a conditional UPDATE inside the same transaction that
inserts the registration and its notification row, so capacity holds under
concurrency on SQLite and PostgreSQL. Mails are queued only after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import write_transaction
from shared.models import (
    NotificationKind,
    Registration,
    RegistrationStatus,
    Seminar,
)
from shared.outbox import add_notification, dispatch
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration.seminars import find_public_seminar, window_problem

CONSENT_VERSION = "datenschutz-v1"


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
    """Register a person for a seminar; a repeated address gets the first answer again."""
    try:
        outcome, notification_ids = _register_once(runtime, seminar_id, form, now or utcnow())
    except IntegrityError:
        # A concurrent request inserted the same address first (PostgreSQL); answer as it did.
        outcome, notification_ids = _register_once(runtime, seminar_id, form, now or utcnow())
    dispatch(runtime.sessions, runtime.broker, notification_ids)
    return outcome


def _register_once(runtime: Runtime, seminar_id: int, form: dict, now: datetime):
    with write_transaction(runtime.sessions) as session:
        seminar = find_public_seminar(session, seminar_id)
        if seminar is None:
            raise RegistrationRefused("seminar_not_found", 404)
        email_key = form["email"].strip().lower()
        existing = session.scalar(
            select(Registration).where(
                Registration.seminar_id == seminar_id, Registration.email_key == email_key
            )
        )
        if existing is not None:
            return Outcome(existing.id, existing.status, seminar_id), []
        reason = window_problem(seminar, now)
        if reason is not None:
            raise RegistrationRefused(reason)
        if not take_seat(session, seminar_id):
            raise RegistrationRefused("seminar_full")
        registration = _new_registration(runtime, seminar, form, email_key, now)
        session.add(registration)
        session.flush()
        kind = (
            NotificationKind.CONFIRM_ADDRESS
            if registration.status == RegistrationStatus.PENDING
            else NotificationKind.CONFIRMED
        )
        notification = add_notification(session, registration.id, kind)
        session.flush()
        return Outcome(registration.id, registration.status, seminar_id), [notification.id]


def take_seat(session: Session, seminar_id: int) -> bool:
    """Take one seat if one is free; atomic on both databases."""
    result = session.execute(
        update(Seminar)
        .where(Seminar.id == seminar_id)
        .where((Seminar.capacity.is_(None)) | (Seminar.seats_taken < Seminar.capacity))
        .values(seats_taken=Seminar.seats_taken + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _new_registration(
    runtime: Runtime, seminar: Seminar, form: dict, email_key: str, now: datetime
) -> Registration:
    pending = seminar.double_opt_in
    return Registration(
        seminar_id=seminar.id,
        status=RegistrationStatus.PENDING if pending else RegistrationStatus.CONFIRMED,
        name=form["name"].strip(),
        email=form["email"].strip(),
        email_key=email_key,
        language=form.get("language") or "de",
        answers=form.get("answers") or {},
        consent_version=CONSENT_VERSION,
        consent_at=now,
        source_page=form.get("source_page"),
        created_at=now,
        confirmed_at=None if pending else now,
        expires_at=now + timedelta(hours=runtime.settings.pending_expiry_hours) if pending else None,
    )


def confirm_address(runtime: Runtime, registration_id: int, now: datetime | None = None) -> RegistrationStatus:
    """Confirm a pending registration's address; confirming twice changes nothing."""
    now = now or utcnow()
    notification_ids: list[int] = []
    with write_transaction(runtime.sessions) as session:
        registration = session.get(Registration, registration_id)
        if registration is None:
            raise RegistrationRefused("not_found", 404)
        if registration.status == RegistrationStatus.PENDING:
            registration.status = RegistrationStatus.CONFIRMED
            registration.confirmed_at = now
            registration.expires_at = None
            notification = add_notification(session, registration.id, NotificationKind.CONFIRMED)
            session.flush()
            notification_ids.append(notification.id)
        status = registration.status
    dispatch(runtime.sessions, runtime.broker, notification_ids)
    return status
