"""The Dramatiq broker over Redis; set up here before any actor is imported."""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

DRAMATIQ_NAMESPACE = "seminare-dramatiq"


def make_broker(redis_url: str, *, fail_fast: bool = False) -> RedisBroker:
    """Create a Redis broker; ``fail_fast`` gives up in about a second when Redis is down.

    Web requests enqueue with ``fail_fast`` so that a registration is never held up
    by an unreachable Redis: the scheduler's sweep enqueues what was missed.
    """
    options = {"socket_connect_timeout": 1, "socket_timeout": 2} if fail_fast else {}
    client = redis.Redis.from_url(redis_url, **options)
    return RedisBroker(client=client, namespace=DRAMATIQ_NAMESPACE)


def install_broker(redis_url: str) -> RedisBroker:
    """Make a broker the global one; call this before importing any module with actors."""
    broker = make_broker(redis_url)
    dramatiq.set_broker(broker)
    return broker
