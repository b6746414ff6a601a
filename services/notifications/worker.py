"""Entry point of the notifications worker: ``dramatiq services.notifications.worker``.

The broker must be installed before any ``@dramatiq.actor`` runs, hence the order.
"""

import os

from shared.broker import install_broker
from shared.config import Settings

broker = install_broker(os.environ.get("REDIS_URL", Settings.redis_url))

from services.notifications import actors  # noqa: E402  (needs the broker above)

__all__ = ["actors", "broker"]
