"""Entry point of the notifications worker: ``dramatiq services.notifications.worker``.

The broker must be installed before any ``@dramatiq.actor`` runs, hence the order.
Besides the worker processes, Dramatiq starts one more process that serves their
metrics on METRICS_HOST:METRICS_PORT (default 127.0.0.1:9191, see ``shared.metrics``).
"""

import os

import dramatiq

from shared.broker import install_broker
from shared.config import Settings
from shared.logs import bind, configure_logging, unbind
from shared.metrics import serve_worker_metrics


class NotificationLogContext(dramatiq.Middleware):
    """Every log line written while a message is processed carries its notification id."""

    def __init__(self):
        self._tokens = {}  # message id -> token of ``bind``; a thread handles one message at a time

    def before_process_message(self, broker, message):
        """Bind the message's notification id to the log lines that follow."""
        self._tokens[message.message_id] = bind(notification_id=message.kwargs.get("notification_id"))

    def after_process_message(self, broker, message, *, result=None, exception=None):
        """Unbind it again."""
        token = self._tokens.pop(message.message_id, None)
        if token is not None:
            unbind(token)

    after_skip_message = after_process_message


class MetricsExporter(dramatiq.Middleware):
    """Has Dramatiq run the metrics exporter in a process of its own next to the worker processes."""

    @property
    def forks(self):
        """The exporter's function, started once by Dramatiq's main process."""
        return [serve_worker_metrics]


# Dramatiq has set up its own log format in this process; ours replaces it.
configure_logging(replace_handlers=True)
broker = install_broker(os.environ.get("REDIS_URL", Settings.redis_url))
broker.add_middleware(NotificationLogContext())
broker.add_middleware(MetricsExporter())

from services.notifications import actors  # noqa: E402  (needs the broker above)

__all__ = ["actors", "broker"]
