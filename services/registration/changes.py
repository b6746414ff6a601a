"""Changing a published seminar: moving it (time, place, join link) and cancelling it.

Each change is one transaction that raises the seminar's SEQUENCE (so calendar
apps replace their copy) and writes a notification row per participant; the
mails are queued after the commit, and the feeds see the change through the
feed version that every seminar change bumps (``shared.feed_version``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from shared.db import write_transaction
from shared.models import (
    ACTIVE,
    NotificationKind,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarStatus,
)
from shared.outbox import add_notification, dispatch
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration import audit
from services.registration.accounts import Principal
from services.registration.registrations import RegistrationRefused

# Who hears of a new time or place: everyone who may still come.
TOLD_OF_MOVES = ACTIVE
# Who hears of a new join link: only those who may know it.
TOLD_OF_NEW_LINK = (RegistrationStatus.CONFIRMED,)

_UNSET = object()


def move_seminar(
    runtime: Runtime,
    seminar_id: int,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    location=_UNSET,
    join_url=_UNSET,
    now: datetime | None = None,
    by: Principal | None = None,
) -> list[int]:
    """Change time, place or join link; returns the ids of the change mails queued.

    A change that changes nothing sends nothing and keeps the SEQUENCE. With
    ``by``, only that organiser's seminar can be changed, and the audit log says who.
    """
    now = now or utcnow()
    with write_transaction(runtime.sessions) as session:
        seminar = _changeable(session, seminar_id, by)
        new_start = starts_at or seminar.starts_at
        new_end = ends_at or (new_start + (seminar.ends_at - seminar.starts_at) if starts_at else seminar.ends_at)
        if new_end <= new_start:
            raise RegistrationRefused("ends_before_start", 422)
        moved = (new_start, new_end) != (seminar.starts_at, seminar.ends_at)
        relocated = location is not _UNSET and location != seminar.location
        relinked = join_url is not _UNSET and join_url != seminar.join_url
        if not (moved or relocated or relinked):
            return []
        seminar.starts_at, seminar.ends_at = new_start, new_end
        if relocated:
            seminar.location = location
        if relinked:
            seminar.join_url = join_url
        if moved or relocated:
            seminar.sequence += 1
        seminar.updated_at = now
        told = TOLD_OF_MOVES if (moved or relocated) else TOLD_OF_NEW_LINK
        if by is not None:
            audit.record(session, by, "seminar.moved", "seminar", seminar.id,
                         starts_at=new_start.isoformat(), ends_at=new_end.isoformat(),
                         location_changed=relocated, join_link_changed=relinked)
        notification_ids = _tell_participants(
            session, seminar, told, NotificationKind.CHANGED, f"seq{seminar.sequence}:{now:%Y%m%dT%H%M%S.%f}"
        )
    dispatch(runtime.sessions, runtime.broker, notification_ids)
    return notification_ids


def cancel_seminar(
    runtime: Runtime, seminar_id: int, now: datetime | None = None, by: Principal | None = None
) -> list[int]:
    """Cancel a seminar: it stays in the feeds marked cancelled, every participant gets a mail.

    Cancelling twice sends nothing more. Registrations keep their status, so the
    organiser still sees who was registered.
    """
    now = now or utcnow()
    with write_transaction(runtime.sessions) as session:
        seminar = _owned(session, seminar_id, by)
        if seminar.status == SeminarStatus.CANCELLED:
            return []
        seminar.status = SeminarStatus.CANCELLED
        seminar.cancelled_at = now
        seminar.sequence += 1
        seminar.updated_at = now
        notification_ids = _tell_participants(session, seminar, ACTIVE, NotificationKind.SEMINAR_CANCELLED, "")
        if by is not None:
            audit.record(session, by, "seminar.cancelled", "seminar", seminar.id, told=len(notification_ids))
    dispatch(runtime.sessions, runtime.broker, notification_ids)
    return notification_ids


def _owned(session, seminar_id: int, by: Principal | None) -> Seminar:
    # Another organiser's seminar answers exactly like a missing one.
    seminar = session.get(Seminar, seminar_id, with_for_update=True)
    if seminar is None or (by is not None and seminar.organiser_id != by.organiser_id):
        raise RegistrationRefused("seminar_not_found", 404)
    return seminar


def _changeable(session, seminar_id: int, by: Principal | None) -> Seminar:
    seminar = _owned(session, seminar_id, by)
    if seminar.status == SeminarStatus.CANCELLED:
        raise RegistrationRefused("seminar_cancelled")
    return seminar


def _tell_participants(session, seminar: Seminar, statuses, kind: NotificationKind, dedupe_key: str) -> list[int]:
    registration_ids = session.scalars(
        select(Registration.id)
        .where(Registration.seminar_id == seminar.id, Registration.status.in_(statuses))
        .order_by(Registration.id)
    ).all()
    return [add_notification(session, registration_id, kind, dedupe_key) for registration_id in registration_ids]
