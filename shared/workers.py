"""What every Dramatiq worker of the product sets up before its actors are imported: logs, broker, metrics.

Besides the worker processes, Dramatiq starts one more process that serves their
metrics on METRICS_HOST:METRICS_PORT (default 127.0.0.1:9191, see ``shared.metrics``).
"""

from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from shared.broker import install_broker
from shared.config import Settings
from shared.logs import bind, configure_logging, unbind
from shared.metrics import serve_worker_metrics

# A worker's environment. Dramatiq reads how long an idle worker waits before it
# looks at the queue again from this variable, in ms (jittered to 50-100 ms here);
# its default, 1000, lets the first message after a quiet spell wait up to a second.
# Idle, that is a few dozen small Redis reads a second per process.
WORKER_ENV = {"dramatiq_worker_timeout": "100"}


class MessageLogContext(dramatiq.Middleware):
    """Every log line written while a message is processed carries the row id the message names."""

    def __init__(self, id_name: str):
        self.id_name = id_name
        self._tokens = {}  # message id -> token of ``bind``; a thread handles one message at a time

    def before_process_message(self, broker, message):
        """Bind the message's row id to the log lines that follow."""
        self._tokens[message.message_id] = bind(**{self.id_name: message.kwargs.get(self.id_name)})

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


def install_worker(id_name: str) -> RedisBroker:
    """Set up a worker whose messages name a row by ``id_name``; returns its broker, installed globally."""
    # Dramatiq has set up its own log format in this process; ours replaces it.
    configure_logging(replace_handlers=True)
    broker = install_broker(os.environ.get("REDIS_URL", Settings.redis_url))
    broker.add_middleware(MessageLogContext(id_name))
    broker.add_middleware(MetricsExporter())
    return broker
