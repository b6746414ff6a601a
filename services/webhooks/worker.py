"""Entry point of the webhook worker: ``dramatiq services.webhooks.worker --queues webhooks``.

The broker must be installed before any ``@dramatiq.actor`` runs, hence the order.
"""

from shared.workers import install_worker

broker = install_worker("delivery_id")

from services.webhooks import actors  # noqa: E402  (needs the broker above)

__all__ = ["actors", "broker"]
