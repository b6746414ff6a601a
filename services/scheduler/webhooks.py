"""The scheduler's part in webhooks: queue retries once they are due, hand lost ones back, forget old deliveries.

A retry after a short wait is queued by the worker as a delayed message; after a
longer one (30 minutes and up) it waits here, in the database, which survives a
Redis restart. The worker's claim makes a duplicate message harmless, so a
generous sweep is safe.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update

from shared.db import write_transaction
from shared.models import WebhookDelivery, WebhookDeliveryStatus
from shared.outbox import WEBHOOKS, dispatch
from shared.runtime import Runtime

# Longer than the worker's delayed retries (up to 5 minutes), so those are left alone.
LOST_MESSAGE_AFTER = timedelta(minutes=30)
BATCH = 500
_WAITING = (WebhookDeliveryStatus.QUEUED, WebhookDeliveryStatus.RETRY)
_DONE = (WebhookDeliveryStatus.SENT, WebhookDeliveryStatus.FAILED)


def sweep_webhooks(runtime: Runtime, now: datetime) -> int:
    """Queue the deliveries that are due and not queued, or whose message may be lost; returns how many were queued."""
    stale = now - timedelta(seconds=runtime.settings.sweep_after_seconds)
    lost = now - LOST_MESSAGE_AFTER
    d = WebhookDelivery
    waiting = d.status.in_(_WAITING)
    with write_transaction(runtime.sessions) as session:
        due = session.scalars(
            select(d.id).where(or_(
                # A retry whose wait is over (or a first try that never reached the queue).
                and_(waiting, d.enqueued_at.is_(None), or_(d.next_attempt_at <= now,
                                                            and_(d.next_attempt_at.is_(None), d.created_at < stale))),
                # The worker died while posting.
                and_(d.status == WebhookDeliveryStatus.SENDING, d.claimed_at < stale),
                # The message vanished from the queue (e.g. Redis lost its data).
                and_(waiting, d.enqueued_at < lost, or_(d.next_attempt_at.is_(None), d.next_attempt_at < lost)),
            )).order_by(d.id).limit(BATCH)
        ).all()
        if not due:
            return 0
        # A post that died half way counts as a failed attempt: tried again now.
        session.execute(update(d).where(d.id.in_(due), d.status == WebhookDeliveryStatus.SENDING)
                        .values(status=WebhookDeliveryStatus.RETRY, next_attempt_at=None))
        # Stamp them now; dispatch clears the stamp again for what does not reach the queue.
        session.execute(update(d).where(d.id.in_(due)).values(enqueued_at=now))
    return dispatch(runtime.engine, runtime.broker, due, WEBHOOKS)


def forget_old_deliveries(runtime: Runtime, now: datetime) -> int:
    """Delete finished deliveries older than WEBHOOK_LOG_DAYS (the log's keeping time); returns how many."""
    before = now - timedelta(days=runtime.settings.webhook_log_days)
    with write_transaction(runtime.sessions) as session:
        return session.execute(delete(WebhookDelivery).where(
            WebhookDelivery.status.in_(_DONE), WebhookDelivery.created_at < before)).rowcount
