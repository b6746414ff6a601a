"""Who registered for an organiser's seminar: the list with its filters, one registration with its mails, a mail sent again.

Cancelling a registration for a participant is ``registrations.cancel_registration``
with the organiser as ``by``; moving someone up is ``waiting_list.promote``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from shared.db import read_session, write_transaction
from shared.models import Notification, Registration, RegistrationStatus
from shared.outbox import add_notification
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration.accounts import audit
from services.registration.accounts.principals import Principal
from services.registration.domain.ownership import owned_registration, owned_seminar
from services.registration.domain.refusals import NothingToResend
from services.registration.domain.registrations import STATUS_MAIL


def list_registrations(
    runtime: Runtime,
    by: Principal,
    seminar_id: int,
    *,
    statuses: Iterable[RegistrationStatus] | None = None,
    search: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> tuple[int, list[Registration]]:
    """The seminar's registrations in order of arrival, filtered; returns the total and one page."""
    with read_session(runtime.sessions) as session:
        owned_seminar(session, by, seminar_id)
        query = select(Registration).where(Registration.seminar_id == seminar_id)
        statuses = list(statuses or [])
        if statuses:
            query = query.where(Registration.status.in_(statuses))
        if search and search.strip():
            pattern = f"%{_escape_like(search.strip().lower())}%"
            query = query.where(or_(
                func.lower(Registration.name).like(pattern, escape="\\"),
                Registration.email_key.like(pattern, escape="\\"),
            ))
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        page = session.scalars(
            query.options(selectinload(Registration.notifications))
            .order_by(Registration.created_at, Registration.id).limit(limit).offset(offset)
        ).all()
        return total, list(page)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def get_registration(runtime: Runtime, by: Principal, registration_id: int) -> Registration:
    """One registration of the organiser's seminars, with its mails."""
    with read_session(runtime.sessions) as session:
        registration = owned_registration(session, by, registration_id)
        _ = registration.notifications
        return registration


def notifications_of(registration: Registration) -> list[Notification]:
    """A registration's mails, oldest first (what was sent, what failed and why)."""
    return sorted(registration.notifications, key=lambda n: (n.created_at, n.id))


def resend_mail(runtime: Runtime, by: Principal, registration_id: int, now: datetime | None = None) -> int:
    """Send the mail that fits the registration's status once more; returns the new mail's id."""
    now = now or utcnow()
    with write_transaction(runtime.sessions) as session:
        registration = owned_registration(session, by, registration_id)
        kind = STATUS_MAIL.get(registration.status)
        if kind is None:
            raise NothingToResend()
        notification_id = add_notification(session, registration.id, kind, f"resend:{now:%Y%m%dT%H%M%S.%f}")
        audit.record(session, by, "registration.mail_resent", "registration", registration.id, kind=kind.value)
    return notification_id


def log_export(runtime: Runtime, by: Principal, subject_type: str, subject_id: int, fmt: str, statuses) -> None:
    """Note in the audit log that someone took an attendee list out of the system."""
    with write_transaction(runtime.sessions) as session:
        audit.record(session, by, "attendees.exported", subject_type, subject_id, format=fmt,
                     statuses=sorted(status.value for status in statuses or []))
