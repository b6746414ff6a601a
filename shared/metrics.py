"""Prometheus metrics of all services: the counters, ``/metrics`` of the web apps, the worker's exporter.

Counters live in memory and cost no I/O where they are counted. Under gunicorn and
the Dramatiq worker (several processes) PROMETHEUS_MULTIPROC_DIR must name an empty
directory of this service, made before the processes start; prometheus_client then
keeps each process's values there and ``/metrics`` adds them up. Without it the
process's own registry is shown (``flask run``, tests). Labels hold URL rules and
kinds only, never a raw path, name, address or token.
"""

from __future__ import annotations

import logging
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis
from flask import Flask, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from shared.broker import DRAMATIQ_NAMESPACE
from shared.config import Settings
from shared.logs import configure_logging, route
from shared.messages import MAIL_QUEUE, WEBHOOK_QUEUE

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "seminare_http_requests_total", "HTTP requests by service, URL rule, method and status",
    ["service", "route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "seminare_http_request_duration_seconds", "Time to answer an HTTP request, by service and URL rule",
    ["service", "route"],
)
REGISTRATION_OUTCOMES = Counter(
    "seminare_registrations_total", "Accepted registrations by outcome (pending, confirmed, waitlisted)", ["outcome"],
)
NOTIFICATIONS = Counter(
    "seminare_notifications_total", "Notification mails by kind and outcome (sent, retry, failed, cancelled)",
    ["kind", "outcome"],
)
WEBHOOKS = Counter(
    "seminare_webhook_deliveries_total", "Webhook delivery attempts by event type and outcome (sent, retry, failed)",
    ["event_type", "outcome"],
)
FEED_CACHE = Counter("seminare_feed_cache_total", "Public feed lookups by cache result (hit, miss)", ["result"])
LEFT_OUT = Counter(
    "seminare_left_out_total", "Seminars left out of a list or feed because their data could not be shown", ["what"],
)

# Dramatiq's Redis broker keeps a queue as the list "<namespace>:<queue>", its delayed
# messages (retries waiting for their backoff) as "<namespace>:<queue>.DQ".
QUEUES = tuple(name for queue in (MAIL_QUEUE, WEBHOOK_QUEUE) for name in (queue, f"{queue}.DQ"))


class QueueDepth:
    """Collector of the mail and webhook queues' lengths, read from Redis at scrape time."""

    def __init__(self, redis_url: str):
        # Short timeouts: a scrape must answer, without this gauge, when Redis is away.
        self.redis = redis.Redis.from_url(redis_url, socket_connect_timeout=0.5, socket_timeout=0.5)

    def collect(self):
        """Messages waiting in each queue and in its delay queue; nothing when Redis does not answer."""
        try:
            pipe = self.redis.pipeline(transaction=False)
            for queue in QUEUES:
                pipe.llen(f"{DRAMATIQ_NAMESPACE}:{queue}")
            lengths = pipe.execute()
        except redis.RedisError as exc:
            log.warning("queue depth not read: %s", exc.__class__.__name__)
            return []
        family = self._family()
        for queue, length in zip(QUEUES, lengths):
            family.add_metric([queue], length)
        return [family]

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("seminare_queue_messages", "Messages waiting in a Dramatiq queue", labels=["queue"])


def exposition(queue_depth: QueueDepth) -> bytes:
    """All metrics in the Prometheus text format: this service's counters and the queue depth."""
    counters = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counters = CollectorRegistry()
        MultiProcessCollector(counters)
    # The queue depth stays out of the process registry: every app made in one process would add it again.
    return generate_latest(counters) + generate_latest(queue_depth)


def install_metrics(app: Flask, service: str) -> None:
    """Count and time every request of ``app`` by URL rule and status, and answer ``/metrics``."""
    runtime = app.extensions["runtime"]
    queue_depth = QueueDepth(runtime.settings.redis_url)
    runtime.closers.append(queue_depth.redis.close)
    app.wsgi_app = RequestMetrics(app.wsgi_app, service)
    app.add_url_rule("/metrics", "metrics", lambda: Response(exposition(queue_depth), mimetype=CONTENT_TYPE_LATEST))


class RequestMetrics:
    """WSGI middleware counting each request by URL rule, method and status, and timing it."""

    def __init__(self, wsgi_app, service: str):
        self.wsgi_app = wsgi_app
        self.service = service
        # The labelled children, found once per (rule, method, status): ``labels()`` takes
        # a lock and builds its key on every call, which cost more than the feed's own answer.
        self.children: dict[tuple[str, str, int], tuple] = {}

    def __call__(self, environ, start_response):
        started = time.perf_counter()

        def start(status: str, headers: list, exc_info=None):
            # Called inside Flask's request context, so the URL rule is still known here.
            self._count(route(), environ["REQUEST_METHOD"], int(status[:3]), started)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)

    def _count(self, rule: str, method: str, status: int, started: float) -> None:
        key = (rule, method, status)
        counted = self.children.get(key)
        if counted is None:
            counted = self.children[key] = (HTTP_REQUESTS.labels(self.service, rule, method, str(status)),
                                            HTTP_DURATION.labels(self.service, rule))
        counted[0].inc()
        counted[1].observe(time.perf_counter() - started)


def serve_worker_metrics() -> int:
    """Serve the worker processes' metrics on METRICS_HOST:METRICS_PORT (a Dramatiq fork process)."""
    configure_logging(replace_handlers=True)
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # The worker processes count in their own memory; only the shared directory brings them together.
        log.warning("worker metrics off: PROMETHEUS_MULTIPROC_DIR is not set")
        return 0
    queue_depth = QueueDepth(os.environ.get("REDIS_URL", Settings.redis_url))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            """Any path answers with the metrics."""
            body = exposition(queue_depth)
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            """Scrapes are not worth a log line each."""

    host, port = os.environ.get("METRICS_HOST", "127.0.0.1"), int(os.environ.get("METRICS_PORT", "9191"))
    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        # Mails matter more than metrics: the worker processes carry on without the exporter.
        log.error("worker metrics off: cannot listen on %s:%s (%s)", host, port, exc.strerror)
        return 1
    server.serve_forever()
    return 0
