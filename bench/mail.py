"""Mails per second from the queue to an SMTP server, against a plain smtplib loop, on SQLite and PostgreSQL.

Run: ``.venv/bin/python -m bench.mail`` or ``make bench-mail`` (about a minute).
The full path: notification ids are enqueued to Redis, a real Dramatiq worker
claims each row, renders the mail with its calendar file, sends it over SMTP and
marks it sent. The worker runs with the default settings of the dev stack and
docker-compose.yml (``services.notifications``: processes, threads, idle poll). The baseline sends the same mails, rendered beforehand,
over one smtplib connection. Both send to the same aiosmtpd server, which runs
in its own process.
"""

from __future__ import annotations

import os
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from shared.config import Settings
from shared.db import read_session, write_transaction
from shared.migrate import upgrade
from shared.models import (
    Notification,
    NotificationKind,
    NotificationStatus,
    Organiser,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarStatus,
)
from shared.outbox import dispatch
from shared.runtime import Runtime, make_runtime
from shared.times import utcnow
from services.notifications import WORKER_PROCESSES, WORKER_THREADS, worker_command
from services.notifications.mails import build_mail

from bench.report import Row, against, print_table
from bench.stack import SECRET, databases, dramatiq_worker, redis_server
from scripts.local_ports import free_port, port_is_free

MAILS = 300
ROUNDS = 3
TARGET = 0.5


@contextmanager
def smtp_sink() -> Iterator[int]:
    """An aiosmtpd server that accepts and discards every mail, in its own process; yields its port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while port_is_free(port):
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit("the SMTP sink did not start")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def add_mails(runtime: Runtime, count: int) -> list[int]:
    """A seminar with ``count`` confirmed participants and a confirmation row each."""
    now = utcnow()
    with write_transaction(runtime.sessions) as session:
        organiser = Organiser(slug=f"bench-{uuid.uuid4().hex[:8]}", name="Stiftung Mitarbeit",
                              contact_email="team@mitarbeit.example", privacy_policy_url="https://example.org/p")
        start = (now + timedelta(days=30)).replace(microsecond=0)
        seminar = Seminar(organiser=organiser, title="Kommunal Engagiert: Lasttest", status=SeminarStatus.PUBLISHED,
                          join_url="https://meet.example/lasttest", starts_at=start,
                          ends_at=start + timedelta(minutes=90), capacity=None)
        session.add(seminar)
        session.flush()
        registrations = [
            Registration(seminar_id=seminar.id, status=RegistrationStatus.CONFIRMED, name=f"Person {n}",
                         email=f"p{n}@example.org", email_key=f"p{n}@example.org", language="de",
                         consent_version="v1", consent_at=now, confirmed_at=now)
            for n in range(count)
        ]
        session.add_all(registrations)
        session.flush()
        # Rows of their own, not through add_notification, which would queue them at the
        # commit: the measurement starts with the enqueue.
        mails = [Notification(registration_id=r.id, kind=NotificationKind.CONFIRMED) for r in registrations]
        session.add_all(mails)
        session.flush()
    return [mail.id for mail in mails]


def sent_count(runtime: Runtime, ids: list[int]) -> int:
    """How many of the rows ``add_mails`` wrote in one go are marked sent.

    Those ids are consecutive, so a range does. An IN list of every id, sent
    every 20 ms, took CPU from the worker being measured on the same machine.
    """
    first, last = min(ids), max(ids)
    assert last - first + 1 == len(ids), "the ids of one round are not consecutive"
    with read_session(runtime.sessions) as session:
        return session.scalar(select(func.count()).where(
            Notification.id.between(first, last), Notification.status == NotificationStatus.SENT))


def full_path(runtime: Runtime, ids: list[int]) -> float:
    """Mails per second from enqueueing the ids until every row is marked sent."""
    started = time.perf_counter()
    assert dispatch(runtime.engine, runtime.broker, ids) == len(ids)
    deadline = started + 120
    while sent_count(runtime, ids) < len(ids):
        if time.perf_counter() > deadline:
            sys.exit("the worker did not send every mail within 120 s")
        time.sleep(0.02)
    return len(ids) / (time.perf_counter() - started)


def rendered(runtime: Runtime, ids: list[int]) -> list:
    """The same mails the worker sends, rendered up front for the baseline."""
    with read_session(runtime.sessions) as session:
        notifications = session.scalars(
            select(Notification).where(Notification.id.in_(ids)).options(
                joinedload(Notification.registration).joinedload(Registration.seminar)
                .joinedload(Seminar.organiser))
        ).all()
        return [build_mail(notification, runtime.settings) for notification in notifications]


def baseline(port: int, mails: list) -> float:
    """Mails per second of a plain smtplib loop over one connection."""
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as client:
        for message in mails:
            client.send_message(message)
    return len(mails) / (time.perf_counter() - started)


def measure(database_url: str, redis_url: str, port: int, processes: int, threads: int) -> tuple[float, float]:
    """Median mails per second of the worker and of the smtplib loop on one database."""
    upgrade(database_url)
    settings = Settings(database_url=database_url, redis_url=redis_url, mail_url=f"smtp://127.0.0.1:{port}",
                        secret_key=SECRET)
    runtime = make_runtime(settings)
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "MAIL_URL": settings.mail_url,
           "SECRET_KEY": SECRET}
    rates: dict[str, list[float]] = {"full": [], "base": []}
    try:
        with dramatiq_worker(worker_command([sys.executable, "-m"], processes, threads), env, processes):
            full_path(runtime, add_mails(runtime, 20))  # warm-up: connections, templates, imports
            # Interleaved rounds, median of each: a noisy neighbour then hurts both sides alike.
            for _round in range(ROUNDS):
                ids = add_mails(runtime, MAILS)
                mails = rendered(runtime, ids)
                rates["base"].append(baseline(port, mails))
                rates["full"].append(full_path(runtime, ids))
    finally:
        runtime.close()
    return statistics.median(rates["full"]), statistics.median(rates["base"])


def run(processes: int = WORKER_PROCESSES) -> list[Row]:
    """The worker (``processes`` x WORKER_THREADS) against the smtplib loop, on each database."""
    rows = []
    with (tempfile.TemporaryDirectory() as tmp, smtp_sink() as port, redis_server(Path(tmp)) as redis_url,
          databases(Path(tmp), "mail") as urls):
        for name, database_url in urls:
            full, base = measure(database_url, redis_url, port, processes, WORKER_THREADS)
            rows.append(against(f"mails queue to SMTP, {name}", full, base, "mails/s", TARGET,
                                note=f"worker {processes} x {WORKER_THREADS}"))
    return rows


def main() -> int:
    """Run the mail benchmark and print its table."""
    print_table(f"mails from queue to SMTP server, {MAILS} mails, median of {ROUNDS} interleaved rounds; "
                f"baseline: the same mails in a plain smtplib loop over one connection; {os.cpu_count()} CPUs", run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
