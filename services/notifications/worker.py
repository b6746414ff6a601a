"""Entry point of the notifications worker: ``dramatiq services.notifications.worker``.

The broker must be installed before any ``@dramatiq.actor`` runs, hence the order.
"""

from shared.workers import install_worker

broker = install_worker("notification_id")

from services.notifications import actors  # noqa: E402  (needs the broker above)

__all__ = ["actors", "broker"]
