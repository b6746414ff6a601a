"""The all-seminars feed under load against a minimal app serving the same bytes, and feed rebuild times.

Run: ``.venv/bin/python -m bench.feeds`` (needs wrk: ``apt-get install wrk``).
Both apps run under the same gunicorn settings; the feed service answers from its
cache (one Redis read of the feed version per request), as it does between changes.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.load import CONNECTIONS, GUNICORN, require_wrk, wrk
from shared.db import make_engine, make_session_factory, read_session, write_transaction
from shared.migrate import upgrade
from shared.models import Organiser, Seminar, SeminarStatus, Series
from shared.config import Settings
from shared.times import utcnow
from services.calendar_feed.feeds import all_seminars_feed
from tests.servers import GunicornServer, RedisServer, http

SECONDS = 8
ROUNDS = 3
FEED_SEMINARS = 200
REBUILD_SIZES = (200, 5000)
TARGETS = {"200": 0.8, "304": 0.9}


def add_seminars(database_url: str, count: int) -> None:
    """``count`` published seminars of three series, Wednesdays 13:30 Berlin time."""
    engine = make_engine(database_url)
    with write_transaction(make_session_factory(engine)) as session:
        organiser = Organiser(slug="stiftung", name="Stiftung", contact_email="team@example.org",
                              privacy_policy_url="https://example.org/datenschutz")
        series = [Series(organiser=organiser, slug=f"reihe-{n}", title=f"Reihe {n}") for n in range(3)]
        first = utcnow().replace(hour=12, minute=30, second=0, microsecond=0) + timedelta(days=7)
        session.add_all(
            Seminar(organiser=organiser, series=series[n % 3], title=f"Kommunal Engagiert {n}",
                    description="Ein Online-Seminar für Ehrenamtliche und Kommunalpolitik.",
                    status=SeminarStatus.PUBLISHED, starts_at=first + timedelta(days=7 * (n % 300), hours=n % 5),
                    ends_at=first + timedelta(days=7 * (n % 300), hours=n % 5, minutes=90), capacity=100)
            for n in range(count)
        )
    engine.dispose()


def serve_and_compare(database_url: str, redis_url: str, tmp: Path) -> list[tuple[str, float, float, float]]:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "bench-secret-key-0123456789",
           "PATH": "/usr/bin:/bin"}
    feed = GunicornServer("services.calendar_feed:create_app()", env, **GUNICORN)
    feed.start()
    try:
        status, headers, body = http("GET", f"{feed.url}/calendar/events.ics")
        assert status == 200 and body.count(b"BEGIN:VEVENT") == FEED_SEMINARS
        (tmp / "feed.ics").write_bytes(body)
        baseline = GunicornServer("bench.feed_baseline:create_app()", {**env, "BENCH_FEED_FILE": str(tmp / "feed.ics")},
                                  **GUNICORN)
        baseline.start()
        try:
            etag = {k.lower(): v for k, v in headers.items()}["etag"]
            urls = {"feed": f"{feed.url}/calendar/events.ics", "base": f"{baseline.url}/feed.ics"}
            rates = {(kind, side): [] for kind in TARGETS for side in urls}
            for _round in range(ROUNDS):  # interleaved, medians: noise hits both sides alike
                for kind in TARGETS:
                    for side, url in urls.items():
                        rate, bad = wrk(url, SECONDS, headers={"If-None-Match": etag} if kind == "304" else None)
                        assert bad == 0 or kind == "304", f"{bad} failed requests"
                        rates[(kind, side)].append(rate)
        finally:
            baseline.stop()
    finally:
        feed.stop()
    rows = []
    for kind in TARGETS:
        full, base = statistics.median(rates[(kind, "feed")]), statistics.median(rates[(kind, "base")])
        rows.append((f"GET all-seminars feed ({FEED_SEMINARS}), {kind}", full, base, TARGETS[kind]))
    return rows


def rebuild_seconds(database_url: str, settings: Settings) -> float:
    """Median time to build the all-seminars feed from the database."""
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        with read_session(sessions) as session:
            all_seminars_feed(session, settings, utcnow())
        times.append(time.perf_counter() - started)
    engine.dispose()
    return statistics.median(times)


def main() -> int:
    require_wrk()
    settings = Settings(secret_key="bench-secret-key-0123456789")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        redis = RedisServer(tmp)
        redis.start()
        try:
            database_url = f"sqlite:///{tmp}/feeds.db"
            upgrade(database_url)
            add_seminars(database_url, FEED_SEMINARS)
            rows = serve_and_compare(database_url, redis.url, tmp)
        finally:
            redis.stop()
        rebuilds = {}
        for size in REBUILD_SIZES:
            database_url = f"sqlite:///{tmp}/rebuild-{size}.db"
            upgrade(database_url)
            add_seminars(database_url, size)
            rebuilds[size] = rebuild_seconds(database_url, settings)

    print(f"\ncalendar feed, gunicorn {GUNICORN}, wrk {CONNECTIONS} connections, "
          f"median of {ROUNDS} interleaved rounds of {SECONDS} s")
    print(f"{'path':<40}{'req/s':>10}{'baseline':>10}{'ratio':>8}{'target':>8}")
    for path, full, base, target in rows:
        print(f"{path:<40}{full:>10.0f}{base:>10.0f}{full / base:>8.2f}{target:>8.1f}")
    for size, seconds in rebuilds.items():
        print(f"{'feed rebuild, ' + str(size) + ' seminars':<40}{seconds * 1000:>9.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
