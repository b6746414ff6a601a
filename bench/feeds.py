"""The all-seminars feed under load against a minimal app serving the same bytes, and feed rebuild times.

Run: ``.venv/bin/python -m bench.feeds`` (needs wrk: ``apt-get install wrk``).
Both apps run under the same gunicorn settings; the feed service answers from its
cache (one Redis read of the content version per request), as it does between changes.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.load import CONNECTIONS, GUNICORN, require_wrk
from bench.report import Row, against, print_table
from bench.stack import (
    SECRET,
    gunicorn,
    median_rates,
    memory_app,
    redis_server,
    service_env,
)
from services.calendar_feed.feeds import all_seminars_feed
from shared.config import Settings
from shared.db import make_engine, make_session_factory, read_session, write_transaction
from shared.migrate import upgrade
from shared.models import Organiser, Seminar, SeminarStatus, Series
from shared.times import utcnow
from tests.servers import http

SECONDS = 5
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


def serve_and_compare(database_url: str, redis_url: str, tmp: Path) -> list[Row]:
    """Full answers and 304s of the feed service against the minimal app serving the same bytes."""
    env = service_env(database_url, redis_url)
    with gunicorn("services.calendar_feed:create_app()", env) as feed:
        status, headers, body = http("GET", f"{feed.url}/calendar/events.ics")
        assert status == 200 and body.count(b"BEGIN:VEVENT") == FEED_SEMINARS
        with memory_app({"feed.ics": body}, tmp / "bodies", env) as baseline:
            revalidate = {"If-None-Match": {k.lower(): v for k, v in headers.items()}["etag"]}
            requests = {(kind, side): {"url": url, "headers": revalidate if kind == "304" else None}
                        for kind in TARGETS
                        for side, url in (("feed", f"{feed.url}/calendar/events.ics"),
                                          ("base", f"{baseline.url}/feed.ics"))}
            rates = median_rates(requests, SECONDS, ROUNDS)
    return [against(f"GET all-seminars feed ({FEED_SEMINARS}), {kind}", rates[(kind, "feed")], rates[(kind, "base")],
                    "req/s", target)
            for kind, target in TARGETS.items()]


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


def run() -> list[Row]:
    """The feed under load against its baseline, then the rebuild times."""
    settings = Settings(secret_key=SECRET)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with redis_server(tmp) as redis_url:
            database_url = f"sqlite:///{tmp}/feeds.db"
            upgrade(database_url)
            add_seminars(database_url, FEED_SEMINARS)
            rows = serve_and_compare(database_url, redis_url, tmp)
        for size in REBUILD_SIZES:
            database_url = f"sqlite:///{tmp}/rebuild-{size}.db"
            upgrade(database_url)
            add_seminars(database_url, size)
            rows.append(Row(f"feed rebuild, {size} seminars", rebuild_seconds(database_url, settings) * 1000, "ms"))
    return rows


def main() -> int:
    """Run the feed benchmark and print its table."""
    require_wrk()
    print_table(f"calendar feed, gunicorn {GUNICORN}, wrk {CONNECTIONS} connections, "
                f"median of {ROUNDS} interleaved rounds of {SECONDS} s", run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
