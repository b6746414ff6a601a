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


@functools.cache
def worker_runtime() -> Runtime:
    """Connections of this worker process, made on first use (after Dramatiq has forked)."""
    return make_runtime(Settings.from_env())


@dramatiq.actor(
    actor_name=SEND_NOTIFICATION,
    queue_name=MAIL_QUEUE,
    # TemporaryFailure is raised for SMTP 4xx and connection errors: retry with backoff.
    max_retries=10,
    min_backoff=2_000,
    max_backoff=300_000,
    time_limit=120_000,
)
def send_notification(notification_id: int) -> None:
    """Send one notification mail unless it has been sent already."""
    deliver(worker_runtime(), notification_id)
