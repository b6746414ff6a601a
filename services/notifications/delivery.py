"""Sending one notification exactly once: claim the row, send, record the outcome.

The row is claimed with a conditional UPDATE, so a message delivered twice, or
two workers racing for it, send one mail.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import joinedload

from shared.db import read_session, write_transaction
from shared.models import CLAIMABLE, Notification, NotificationStatus, Registration, Seminar
from shared.runtime import Runtime
from shared.times import utcnow
from services.notifications.mails import build_mail
from services.notifications.transport import PermanentFailure, TemporaryFailure, send_mail

log = logging.getLogger(__name__)


class Outcome(str, enum.Enum):
    SENT = "sent"
    SKIPPED = "skipped"    # already sent, in flight elsewhere, or no longer needed
    RETRY = "retry"
    FAILED = "failed"


def deliver(runtime: Runtime, notification_id: int, now: datetime | None = None) -> Outcome:
    """Send the notification if nobody has; raises TemporaryFailure when it should be retried."""
    now = now or utcnow()
    if not claim(runtime, notification_id, now):
        return Outcome.SKIPPED
    with read_session(runtime.sessions) as session:
        notification = session.get(
            Notification,
            notification_id,
            options=[
                joinedload(Notification.registration)
                .joinedload(Registration.seminar)
                .joinedload(Seminar.organiser)
            ],
        )
        if notification.registration.anonymised_at is not None:
            _finish(runtime, notification_id, NotificationStatus.CANCELLED, error="registration anonymised")
            return Outcome.SKIPPED
        message = build_mail(notification, runtime.settings)
        attempts = notification.attempts
    try:
        send_mail(runtime.settings.mail_url, message)
    except PermanentFailure as failure:
        _finish(runtime, notification_id, NotificationStatus.FAILED, error=str(failure))
        log.warning("notification %s failed permanently", notification_id)
        return Outcome.FAILED
    except TemporaryFailure as failure:
        final = attempts >= runtime.settings.mail_max_attempts
        status = NotificationStatus.FAILED if final else NotificationStatus.RETRY
        _finish(runtime, notification_id, status, error=str(failure))
        if final:
            log.warning("notification %s gave up after %s attempts", notification_id, attempts)
            return Outcome.FAILED
        raise
    _finish(runtime, notification_id, NotificationStatus.SENT, message_id=message["Message-ID"])
    return Outcome.SENT


def claim(runtime: Runtime, notification_id: int, now: datetime) -> bool:
    """Mark the row as being sent by us; False if it is sent, failed or in flight."""
    with write_transaction(runtime.sessions) as session:
        result = session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.status.in_(CLAIMABLE))
            .values(
                status=NotificationStatus.SENDING,
                attempts=Notification.attempts + 1,
                claimed_at=now,
            )
        )
        return result.rowcount == 1


def _finish(
    runtime: Runtime,
    notification_id: int,
    status: NotificationStatus,
    *,
    error: str | None = None,
    message_id: str | None = None,
) -> None:
    values: dict = {"status": status, "last_error": error[:1000] if error else None}
    if status == NotificationStatus.SENT:
        values.update(sent_at=utcnow(), message_id=message_id)
    with write_transaction(runtime.sessions) as session:
        session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.status == NotificationStatus.SENDING)
            .values(**values)
        )
