"""Notification rows: written inside the business transaction, queued after the commit."""

from __future__ import annotations

from typing import Iterable

from dramatiq.broker import Broker
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from shared.db import write_transaction
from shared.messages import SEND_NOTIFICATION, enqueue
from shared.models import Notification, NotificationKind
from shared.times import utcnow


def add_notification(
    session: Session, registration_id: int, kind: NotificationKind, dedupe_key: str = ""
) -> Notification:
    """Record one mail to send; the caller's transaction decides whether it exists."""
    notification = Notification(registration_id=registration_id, kind=kind, dedupe_key=dedupe_key)
    session.add(notification)
    return notification


def dispatch(sessions: sessionmaker[Session], broker: Broker, notification_ids: Iterable[int]) -> int:
    """Enqueue committed notifications and stamp them; returns how many reached the queue.

    Anything that could not be enqueued keeps ``enqueued_at`` empty and is picked
    up by the scheduler's sweep, so a Redis outage delays mails but loses none.
    """
    queued = [
        notification_id
        for notification_id in notification_ids
        if enqueue(broker, SEND_NOTIFICATION, notification_id=notification_id)
    ]
    if queued:
        with write_transaction(sessions) as session:
            session.execute(
                update(Notification)
                .where(Notification.id.in_(queued), Notification.enqueued_at.is_(None))
                .values(enqueued_at=utcnow())
            )
    return len(queued)
