"""Reminder mails: a notification row per confirmed participant when a reminder offset is reached.

Reminders are rows, not far-future queue messages, so a moved seminar simply
reminds at its new time: the row's dedupe key names the offset and the start it
reminds of, and a new start gives new keys.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError

from shared.db import read_session, write_transaction
from shared.models import (
    DEFAULT_REMINDER_OFFSETS,
    Notification,
    NotificationKind,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarStatus,
)
from shared.outbox import add_notification, reminder_key
from shared.runtime import Runtime

log = logging.getLogger(__name__)


def create_reminders(runtime: Runtime, now: datetime) -> int:
    """Write the reminders that are due at ``now`` (queued after the commit); returns how many."""
    with read_session(runtime.sessions) as session:
        upcoming = session.execute(
            select(Seminar.id, Seminar.starts_at, Seminar.reminder_offsets)
            .where(Seminar.status == SeminarStatus.PUBLISHED, Seminar.starts_at > now)
            .order_by(Seminar.starts_at)
        ).all()
    due = [(seminar_id, starts_at, offset)
           for seminar_id, starts_at, offsets in upcoming
           if (offset := due_offset(offsets, starts_at, now)) is not None]
    if not due:
        return 0
    try:
        with write_transaction(runtime.sessions) as session:
            notification_ids = [
                notification_id
                for seminar_id, starts_at, offset in due
                for notification_id in _remind(session, seminar_id, starts_at, offset)
            ]
    except IntegrityError:
        # Another scheduler wrote the same reminders first; nothing is lost.
        log.warning("reminders written concurrently; skipping this round")
        return 0
    return len(notification_ids)


def due_offset(offsets, starts_at: datetime, now: datetime) -> int | None:
    """The reminder offset (minutes) whose moment is the latest one passed, or None.

    When several have passed (the scheduler was down, or the seminar was moved
    closer), only the nearest to the start is sent: two reminders at once help nobody.
    """
    valid = [offset for offset in _offsets(offsets) if starts_at - timedelta(minutes=offset) <= now]
    return min(valid) if valid else None


def _offsets(offsets) -> list[int]:
    # Offsets come from a JSON column; ignore what is not a positive whole number.
    if offsets is None:
        return list(DEFAULT_REMINDER_OFFSETS)
    return [offset for offset in offsets if isinstance(offset, int) and not isinstance(offset, bool) and offset > 0]


def _remind(session, seminar_id: int, starts_at: datetime, offset: int) -> list[int]:
    key = reminder_key(offset, starts_at)
    moment = starts_at - timedelta(minutes=offset)
    already = exists().where(
        Notification.registration_id == Registration.id,
        Notification.kind == NotificationKind.REMINDER,
        Notification.dedupe_key == key,
    )
    registration_ids = session.scalars(
        select(Registration.id)
        .where(
            Registration.seminar_id == seminar_id,
            Registration.status == RegistrationStatus.CONFIRMED,
            # Whoever got the seat after this moment has just had a mail with everything.
            or_(Registration.confirmed_at.is_(None), Registration.confirmed_at <= moment),
            ~already,
        )
        .order_by(Registration.id)
    ).all()
    return [add_notification(session, registration_id, NotificationKind.REMINDER, key)
            for registration_id in registration_ids]
