"""Hand mails (to participants and to admins) to the queue again when their message may have been lost.

Three cases: Redis was down when the row was written (never enqueued); a worker
died while sending (stuck in "sending"); a message vanished from the queue
(queued or retrying for far longer than any backoff). The actor's claim makes
a duplicate message harmless, so a generous sweep is safe.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from shared.db import write_transaction
from shared.models import NotificationStatus
from shared.outbox import MAILS, STAFF_MAILS, Outgoing, dispatch
from shared.runtime import Runtime

# Longer than the actor's largest retry backoff, so live retries are left alone.
LOST_MESSAGE_AFTER = timedelta(minutes=30)
BATCH = 500


def sweep_notifications(runtime: Runtime, now: datetime) -> int:
    """Re-enqueue mails whose message may be lost; returns how many were queued."""
    return sum(_sweep(runtime, now, kind) for kind in (MAILS, STAFF_MAILS))


def _sweep(runtime: Runtime, now: datetime, kind: Outgoing) -> int:
    """The sweep of one table of mails (both have status, created_at, enqueued_at and claimed_at)."""
    stale = now - timedelta(seconds=runtime.settings.sweep_after_seconds)
    lost = now - LOST_MESSAGE_AFTER
    mail = kind.table.c
    waiting = mail.status.in_((NotificationStatus.QUEUED, NotificationStatus.RETRY))
    with write_transaction(runtime.sessions) as session:
        due = session.scalars(
            select(mail.id)
            .where(
                or_(
                    # The worker died while sending.
                    and_(mail.status == NotificationStatus.SENDING, mail.claimed_at < stale),
                    # Redis was down when the row was written.
                    and_(waiting, mail.enqueued_at.is_(None), mail.created_at < stale),
                    # The message vanished from the queue (e.g. Redis lost its data).
                    and_(waiting, mail.enqueued_at < lost, or_(mail.claimed_at.is_(None), mail.claimed_at < lost)),
                )
            )
            .order_by(mail.id)
            .limit(BATCH)
        ).all()
        if not due:
            return 0
        session.execute(
            update(kind.table)
            .where(mail.id.in_(due), mail.status == NotificationStatus.SENDING)
            .values(status=NotificationStatus.RETRY)
        )
        # Stamp them now; dispatch clears the stamp again for what does not reach the queue.
        session.execute(update(kind.table).where(mail.id.in_(due)).values(enqueued_at=now))
    # Queued here, not by the after-commit hook: what the sweep counts is what reached the queue.
    return dispatch(runtime.engine, runtime.broker, due, kind)
