"""Public seminar reads (what every embedded form loads) against a minimal app serving the same JSON bytes.

Run: ``.venv/bin/python -m bench.public_read`` (needs wrk: ``apt-get install wrk``).
The registration service answers GET /api/v1/events/{id} and the series listing
GET /api/v1/events?series=<slug> from a demo-like database (SQLite): a series of
ten upcoming seminars, each with the demo's questions. The baseline is the
minimal app of the feed benchmark (bench/memory_app.py) serving the bytes the
service answered; both run under the same gunicorn settings.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from bench.load import CONNECTIONS, GUNICORN, require_wrk
from bench.report import Row, against, print_table
from bench.stack import gunicorn, median_rates, memory_app, redis_server, service_env
from shared.db import make_engine, make_session_factory, write_transaction
from shared.demo import BERLIN, common_questions
from shared.migrate import upgrade
from shared.models import Organiser, Seminar, SeminarStatus, Series
from shared.times import utcnow
from tests.servers import http

SECONDS = 5
ROUNDS = 3
SEMINARS = 10
TARGET = 0.5


def add_series(database_url: str) -> tuple[int, str]:
    """A series of SEMINARS upcoming seminars with questions and some seats taken; returns one id and the slug."""
    engine = make_engine(database_url)
    first = utcnow().replace(hour=11, minute=30, second=0, microsecond=0) + timedelta(days=7)
    with write_transaction(make_session_factory(engine)) as session:
        organiser = Organiser(slug="stiftung-engagement", name="Deutsche Stiftung für Engagement und Ehrenamt",
                              contact_email="veranstaltungen@stiftung-engagement.example",
                              privacy_policy_url="https://stiftung-engagement.example/datenschutz")
        series = Series(organiser=organiser, slug="kommunal-engagiert", title="Kommunal Engagiert",
                        description="Kostenlose Online-Seminare für Kommunen, Verwaltungen und Engagierte.")
        seminars = [
            Seminar(organiser=organiser, series=series, title=f"Kommunal Engagiert: Thema {n + 1}",
                    description="Wie Kommunen das Ehrenamt vor Ort stärken, mit Beispielen und Zeit für Fragen.\n\n"
                                "Mit Praxisberichten aus Landkreisen.",
                    status=SeminarStatus.PUBLISHED, timezone=BERLIN, join_url="https://meet.example/thema",
                    starts_at=first + timedelta(days=28 * n), ends_at=first + timedelta(days=28 * n, minutes=90),
                    capacity=100, seats_taken=10 * n, questions=common_questions())
            for n in range(SEMINARS)
        ]
        session.add_all(seminars)
        session.flush()
        seminar_id, slug = seminars[0].id, series.slug
    engine.dispose()
    return seminar_id, slug


def fetched(url: str) -> bytes:
    """The body of a successful GET."""
    status, _headers, body = http("GET", url)
    assert status == 200, f"{url}: {status} {body[:200]!r}"
    return body


def run(workers: int = GUNICORN["workers"]) -> list[Row]:
    """Both reads against the minimal app serving the same bytes, each under ``workers`` gunicorn workers."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        database_url = f"sqlite:///{tmp}/public.db"
        upgrade(database_url)
        seminar_id, slug = add_series(database_url)
        paths = {"seminar.json": ("seminar read, GET /api/v1/events/{id}", f"/api/v1/events/{seminar_id}"),
                 "series.json": ("series listing, GET /api/v1/events?series=<slug>",
                                f"/api/v1/events?series={slug}")}
        with redis_server(tmp) as redis_url:
            env = service_env(database_url, redis_url)
            with gunicorn("services.registration:create_app()", env, workers) as service:
                bodies = {name: fetched(service.url + path) for name, (_label, path) in paths.items()}
                with memory_app(bodies, tmp / "bodies", env, workers) as baseline:
                    requests = {}
                    for name, (_label, path) in paths.items():
                        requests[(name, "service")] = {"url": service.url + path}
                        requests[(name, "base")] = {"url": f"{baseline.url}/{name}"}
                    rates = median_rates(requests, SECONDS, ROUNDS)
    return [against(label, rates[(name, "service")], rates[(name, "base")], "req/s", TARGET,
                    note=f"{len(bodies[name]):,} bytes of JSON")
            for name, (label, _path) in paths.items()]


def main() -> int:
    """Run the public-read benchmark and print its table."""
    require_wrk()
    print_table(f"public reads, gunicorn {GUNICORN}, wrk {CONNECTIONS} connections, "
                f"median of {ROUNDS} interleaved rounds of {SECONDS} s", run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
