"""The scale-out drill: two registration services, two workers and two schedulers on one PostgreSQL and one Redis.

200 people register at once for 20 seats, spread over both services. Exactly 20
get a seat, every mail goes out once (none lost, none twice), and the reminder
goes out once per seat although two schedulers run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from shared.db import read_session, write_transaction
from shared.models import Notification, NotificationKind, NotificationStatus, Registration, RegistrationStatus, Seminar
from shared.times import utcnow
from tests.conftest import service_env
from tests.factories import add_seminar, person
from tests.servers import PROJECT_ROOT, GunicornServer, Worker, http, wait_until

PEOPLE, SEATS = 200, 20


@pytest.fixture
def stack(settings, smtp_server):
    """Both registration services, both workers and both schedulers, stopped again afterwards."""
    env = service_env(settings, MAIL_URL=smtp_server.url, RATE_LIMIT_PER_IP="", RATE_LIMIT_PER_EMAIL="",
                      SCHEDULER_INTERVAL_SECONDS="0.5", LOG_FORMAT="json")
    apps = [GunicornServer("services.registration:create_app()", env, workers=2, threads=4) for _ in range(2)]
    workers = [Worker(env) for _ in range(2)]
    schedulers = []
    try:
        for process in (*apps, *workers):
            process.start()
        for _ in range(2):
            schedulers.append(subprocess.Popen([sys.executable, "-m", "services.scheduler"], cwd=PROJECT_ROOT,
                                               env=env, stderr=subprocess.DEVNULL, start_new_session=True))
        yield apps
    finally:
        for scheduler in schedulers:
            os.killpg(scheduler.pid, signal.SIGTERM)
            scheduler.wait(15)
        for process in (*workers, *apps):
            process.stop()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_of_everything_give_twenty_seats_and_every_mail_once(runtime, smtp_server, stack):
    seminar_id = add_seminar(runtime, capacity=SEATS, double_opt_in=False, reminder_offsets=[])

    def register(n: int) -> int:
        app = stack[n % 2]
        return http("POST", f"{app.url}/api/v1/events/{seminar_id}/registrations", json_body=person(n))[0]

    with ThreadPoolExecutor(max_workers=32) as pool:
        codes = list(pool.map(register, range(PEOPLE)))
    assert codes == [201] * PEOPLE

    with read_session(runtime.sessions) as session:
        statuses = Counter(session.scalars(select(Registration.status)))
        assert session.get(Seminar, seminar_id).seats_taken == SEATS
    assert statuses == {RegistrationStatus.CONFIRMED: SEATS, RegistrationStatus.WAITLISTED: PEOPLE - SEATS}
    smtp_server.sink.wait_for(PEOPLE, timeout=60)

    # The seminar comes close: its 10-minute reminder is due from a second from now, later than every
    # seat was confirmed (a seat confirmed after a reminder's moment gets none).
    start = utcnow() + timedelta(minutes=10, seconds=1)
    with write_transaction(runtime.sessions) as session:
        session.execute(update(Seminar).where(Seminar.id == seminar_id).values(
            starts_at=start, ends_at=start + timedelta(minutes=90), reminder_offsets=[10]))

    def reminders_sent() -> int:
        with read_session(runtime.sessions) as session:
            return session.scalar(select(func.count()).where(
                Notification.kind == NotificationKind.REMINDER, Notification.status == NotificationStatus.SENT))

    wait_until(lambda: reminders_sent() == SEATS, timeout=60, message="one reminder per seat")
    wait_until(lambda: len(smtp_server.sink.received) >= PEOPLE + SEATS, timeout=30, message="the reminders")
    # Let both schedulers go round a few more times: nothing more may come.
    time.sleep(3)
    received = Counter((mail["X-Envelope-To"], mail["Subject"].split(":")[0]) for mail in smtp_server.sink.received)
    assert len(smtp_server.sink.received) == PEOPLE + SEATS
    assert all(count == 1 for count in received.values()), [key for key, count in received.items() if count > 1]
    kinds = Counter(key[1] for key in received)
    assert kinds == {"Anmeldung bestätigt": SEATS, "Sie stehen auf der Warteliste": PEOPLE - SEATS,
                     "Erinnerung": SEATS}
    with read_session(runtime.sessions) as session:
        unsent = session.scalar(select(func.count()).where(Notification.status != NotificationStatus.SENT))
    assert unsent == 0
