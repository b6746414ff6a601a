"""Dramatiq actors of the notifications worker. They take ids only and are safe to run twice.

Import this module only after ``shared.broker.install_broker`` (see ``worker.py``).
"""

from __future__ import annotations

import functools

import dramatiq

from shared.config import Settings
from shared.messages import MAIL_QUEUE, SEND_NOTIFICATION, SEND_STAFF_MAIL
from shared.runtime import Runtime, make_runtime
from services.notifications.delivery import deliver
from services.notifications.staff_mails import deliver_staff_mail
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


def mail_actor(actor_name: str):
    """The actor decorator of both kinds of mail: one queue, one retry policy."""
    return dramatiq.actor(
        actor_name=actor_name,
        queue_name=MAIL_QUEUE,
        retry_when=should_retry,
        # Below the sweep's LOST_MESSAGE_AFTER (30 min), so the sweep leaves waiting retries alone.
        min_backoff=2_000,
        max_backoff=300_000,
        time_limit=120_000,
    )


@mail_actor(SEND_NOTIFICATION)
def send_notification(notification_id: int) -> None:
    """Send one notification mail unless it has been sent already."""
    deliver(worker_runtime(), notification_id)


@mail_actor(SEND_STAFF_MAIL)
def send_staff_mail(staff_mail_id: int) -> None:
    """Send one mail to one of an organiser's admins unless it has been sent already."""
    deliver_staff_mail(worker_runtime(), staff_mail_id)
