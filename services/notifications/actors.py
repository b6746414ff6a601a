"""Dramatiq actors of the notifications worker. They take ids only and are safe to run twice.

Import this module only after ``shared.broker.install_broker`` (see ``worker.py``).
"""

from __future__ import annotations

import functools

import dramatiq

from shared.config import Settings
from shared.messages import MAIL_QUEUE, SEND_NOTIFICATION
from shared.runtime import Runtime, make_runtime
from services.notifications.delivery import deliver
from services.notifications.transport import TemporaryFailure

# Retries for anything unexpected (e.g. the database away for a moment).
MAX_OTHER_RETRIES = 10


@functools.cache
def worker_runtime() -> Runtime:
    """Connections of this worker process, made on first use (after Dramatiq has forked)."""
    return make_runtime(Settings.from_env())


def should_retry(retries: int, exception: BaseException) -> bool:
    """Retry a temporary mail failure always, anything else a few times.

    ``deliver`` counts the attempts in the notification row and stops raising
    TemporaryFailure once MAIL_MAX_ATTEMPTS is reached, so the row, not a second
    counter in the message, decides when a mail is given up.
    """
    return isinstance(exception, TemporaryFailure) or retries < MAX_OTHER_RETRIES


@dramatiq.actor(
    actor_name=SEND_NOTIFICATION,
    queue_name=MAIL_QUEUE,
    retry_when=should_retry,
    # Below the sweep's LOST_MESSAGE_AFTER (30 min), so the sweep leaves waiting retries alone.
    min_backoff=2_000,
    max_backoff=300_000,
    time_limit=120_000,
)
def send_notification(notification_id: int) -> None:
    """Send one notification mail unless it has been sent already."""
    deliver(worker_runtime(), notification_id)
