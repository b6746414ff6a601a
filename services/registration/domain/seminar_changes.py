"""Changing a published seminar: moving it (time, place, join link) and cancelling it.

Each change is one transaction that raises the seminar's SEQUENCE (so calendar
apps replace their copy) and writes a notification row per participant; the
mails are queued after the commit, and the feeds see the change through the
content version that every seminar change moves (``shared.content_version``).
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
    WebhookEvent,
)
from shared.outbox import add_notification
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration.accounts import audit
from services.registration.accounts.principals import Principal
from services.registration.domain.ownership import owned_seminar
from services.registration.domain.refusals import SeminarCancelled
from services.registration.domain.seminar_times import new_span
from services.registration.domain.webhooks import emit, seminar_data

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
        seminar = owned_seminar(session, by, seminar_id, lock=True)
        if seminar.status == SeminarStatus.CANCELLED:
            raise SeminarCancelled()
        new_start, new_end = new_span(seminar.starts_at, seminar.ends_at, new_start=starts_at, new_end=ends_at)
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
        changed = [name for name, yes in (("starts_at", moved), ("location", relocated), ("join_url", relinked)) if yes]
        if seminar.status == SeminarStatus.PUBLISHED:
            emit(session, seminar.organiser_id, WebhookEvent.SEMINAR_CHANGED,
                 lambda: {"seminar": seminar_data(session, runtime.settings, seminar.id), "changed": changed}, now)
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
        seminar = owned_seminar(session, by, seminar_id, lock=True)
        if seminar.status == SeminarStatus.CANCELLED:
            return []
        seminar.status = SeminarStatus.CANCELLED
        seminar.cancelled_at = now
        seminar.sequence += 1
        seminar.updated_at = now
        notification_ids = _tell_participants(session, seminar, ACTIVE, NotificationKind.SEMINAR_CANCELLED, "")
        emit(session, seminar.organiser_id, WebhookEvent.SEMINAR_CANCELLED,
             lambda: {"seminar": seminar_data(session, runtime.settings, seminar.id)}, now)
        if by is not None:
            audit.record(session, by, "seminar.cancelled", "seminar", seminar.id, told=len(notification_ids))
    return notification_ids


def _tell_participants(session, seminar: Seminar, statuses, kind: NotificationKind, dedupe_key: str) -> list[int]:
    registration_ids = session.scalars(
        select(Registration.id)
        .where(Registration.seminar_id == seminar.id, Registration.status.in_(statuses))
        .order_by(Registration.id)
    ).all()
    return [add_notification(session, registration_id, kind, dedupe_key) for registration_id in registration_ids]
