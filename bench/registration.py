"""Registrations per second through the full path, against a bare one-row insert, on SQLite and PostgreSQL.

Run: ``.venv/bin/python -m bench.registration`` (needs wrk: ``apt-get install wrk``).
Both apps run under the same gunicorn settings against the same database; the
full path validates, takes a seat, writes the registration and its notification
row in one transaction and enqueues the mail to Redis.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import uuid
from pathlib import Path

from bench.baseline_app import create_table
from bench.databases import throwaway_postgres
from bench.load import CONNECTIONS, GUNICORN, require_wrk, wrk
from shared.db import make_engine, make_session_factory, write_transaction
from shared.migrate import upgrade
from shared.models import Organiser, Seminar, SeminarStatus
from shared.times import utcnow
from tests.servers import GunicornServer, RedisServer

SECONDS = 8
ROUNDS = 3
TARGET = 0.4
LUA = Path(__file__).with_name("post.lua")


def seminar_for_load(database_url: str) -> int:
    """An unlimited seminar with double opt-in, so every request runs the whole path."""
    from datetime import timedelta

    engine = make_engine(database_url)
    with write_transaction(make_session_factory(engine)) as session:
        organiser = Organiser(slug=f"bench-{uuid.uuid4().hex[:6]}", name="Bench", contact_email="b@example.org",
                              privacy_policy_url="https://example.org/privacy")
        start = utcnow() + timedelta(days=30)
        seminar = Seminar(organiser=organiser, title="Lasttest", status=SeminarStatus.PUBLISHED,
                          starts_at=start, ends_at=start + timedelta(hours=1), capacity=None)
        session.add(seminar)
        session.flush()
        seminar_id = seminar.id
    engine.dispose()
    return seminar_id


def measure(database_url: str, redis_url: str) -> tuple[float, float, int]:
    upgrade(database_url)
    create_table(database_url)
    seminar_id = seminar_for_load(database_url)
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "bench-secret-key-0123456789",
           # Limits stay on, as in production; the per-IP one is raised since all load comes from one address.
           "RATE_LIMIT_PER_IP": "1000000/minute", "PATH": "/usr/bin:/bin"}
    apps = {"full": ("services.registration:create_app()", f"/api/v1/events/{seminar_id}/registrations"),
            "base": ("bench.baseline_app:create_app()", "/insert")}
    servers = {name: GunicornServer(spec, env, **GUNICORN) for name, (spec, _path) in apps.items()}
    rates: dict[str, list[float]] = {name: [] for name in apps}
    bad = 0
    for server in servers.values():
        server.start()
    try:
        # Interleaved rounds, median of each: a noisy neighbour then hurts both sides alike.
        for _round in range(ROUNDS):
            for name, (_spec, path) in apps.items():
                rate, non_2xx = wrk(servers[name].url + path, SECONDS, LUA)
                rates[name].append(rate)
                bad += non_2xx
    finally:
        for server in servers.values():
            server.stop()
    return statistics.median(rates["full"]), statistics.median(rates["base"]), bad


def main() -> int:
    require_wrk()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp))
        redis.start()
        try:
            rows.append(("sqlite", *measure(f"sqlite:///{tmp}/bench.db", redis.url)))
            with throwaway_postgres() as url:
                if url:
                    rows.append(("postgresql", *measure(url, redis.url)))
        finally:
            redis.stop()

    print(f"\nregistration POST, gunicorn {GUNICORN}, wrk {CONNECTIONS} connections, "
          f"median of {ROUNDS} interleaved rounds of {SECONDS} s")
    print(f"{'database':<12}{'full path/s':>14}{'bare insert/s':>16}{'ratio':>8}{'target':>8}{'non-2xx':>9}")
    for database, full, base, bad in rows:
        print(f"{database:<12}{full:>14.0f}{base:>16.0f}{full / base:>8.2f}{TARGET:>8.1f}{bad:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
