"""Dramatiq actors of the webhook worker. They take ids only and are safe to run twice.

Import this module only after ``shared.broker.install_broker`` (see ``worker.py``).
"""

from __future__ import annotations

import functools

import dramatiq

from shared.config import Settings
from shared.messages import DELIVER_WEBHOOK, WEBHOOK_QUEUE
from shared.runtime import Runtime, make_runtime
from services.webhooks.delivery import deliver

# Retries for anything unexpected (e.g. the database away for a moment); a receiver's
# failures are not exceptions: ``deliver`` records them and queues the next attempt itself.
MAX_OTHER_RETRIES = 10


@functools.cache
def worker_runtime() -> Runtime:
    """Connections of this worker process, made on first use (after Dramatiq has forked)."""
    return make_runtime(Settings.from_env())


@dramatiq.actor(
    actor_name=DELIVER_WEBHOOK,
    queue_name=WEBHOOK_QUEUE,
    max_retries=MAX_OTHER_RETRIES,
    min_backoff=2_000,
    max_backoff=300_000,
    # A receiver may take webhook_timeout_seconds to connect and as long again to answer.
    time_limit=60_000,
)
def deliver_webhook(delivery_id: int) -> None:
    """Post one webhook delivery if it is due and not sent already."""
    deliver(worker_runtime(), delivery_id)
