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
from contextlib import ExitStack
from pathlib import Path

from bench.baseline_app import create_table
from bench.load import CONNECTIONS, GUNICORN, require_wrk, wrk
from bench.report import Row, against, print_table
from bench.stack import databases, gunicorn, redis_server, service_env
from shared.db import make_engine, make_session_factory, write_transaction
from shared.migrate import upgrade
from shared.models import Organiser, Seminar, SeminarStatus
from shared.times import utcnow

SECONDS = 6
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
    """Median registrations per second of the full path and of the bare insert, and the answers not 2xx."""
    upgrade(database_url)
    create_table(database_url)
    seminar_id = seminar_for_load(database_url)
    # Limits stay on, as in production; the per-IP one is raised since all load comes from one address.
    env = service_env(database_url, redis_url, RATE_LIMIT_PER_IP="1000000/minute")
    apps = {"full": ("services.registration:create_app()", f"/api/v1/events/{seminar_id}/registrations"),
            "base": ("bench.baseline_app:create_app()", "/insert")}
    rates: dict[str, list[float]] = {name: [] for name in apps}
    bad = 0
    with ExitStack() as stack:
        servers = {name: stack.enter_context(gunicorn(spec, env)) for name, (spec, _path) in apps.items()}
        # Interleaved rounds, median of each: a noisy neighbour then hurts both sides alike.
        for _round in range(ROUNDS):
            for name, (_spec, path) in apps.items():
                rate, non_2xx = wrk(servers[name].url + path, SECONDS, LUA)
                rates[name].append(rate)
                bad += non_2xx
    return statistics.median(rates["full"]), statistics.median(rates["base"]), bad


def run() -> list[Row]:
    """Registration POSTs through the full path against the bare insert, on each database."""
    rows = []
    with (tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as redis_url,
          databases(Path(tmp), "registration") as urls):
        for name, database_url in urls:
            full, base, failed = measure(database_url, redis_url)
            rows.append(against(f"registration POST, {name}", full, base, "req/s", TARGET,
                                note=f"{failed} answers not 2xx" if failed else ""))
    return rows


def main() -> int:
    """Print the registration rows."""
    require_wrk()
    print_table(f"registration POST, gunicorn {GUNICORN}, wrk {CONNECTIONS} connections, "
                f"median of {ROUNDS} interleaved rounds of {SECONDS} s", run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
