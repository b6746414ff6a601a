"""Queue and actor names, and ``enqueue`` so that senders need not import the actors."""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.broker import Broker

log = logging.getLogger(__name__)

MAIL_QUEUE = "mail"
SEND_NOTIFICATION = "send_notification"
SEND_STAFF_MAIL = "send_staff_mail"
# Webhooks have a queue and a worker of their own: a slow receiver never holds up a mail.
WEBHOOK_QUEUE = "webhooks"
DELIVER_WEBHOOK = "deliver_webhook"


def enqueue(broker: Broker, actor_name: str, queue_name: str = MAIL_QUEUE, delay_ms: int | None = None,
            **ids: int) -> bool:
    """Put one message for ``actor_name`` on the queue (after ``delay_ms``); False if the broker is unreachable.

    Callers have already committed the rows the message refers to, so a failure here
    loses nothing: the scheduler's sweep enqueues rows that were never enqueued.
    """
    message = dramatiq.Message(
        queue_name=queue_name, actor_name=actor_name, args=(), kwargs=ids, options={}
    )
    try:
        broker.enqueue(message, delay=delay_ms)
    except Exception as exc:  # redis raises several kinds; all mean "not queued"
        log.warning("could not enqueue %s %s: %s", actor_name, ids, exc.__class__.__name__)
        return False
    return True
