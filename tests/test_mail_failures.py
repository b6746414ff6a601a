"""No mail is lost when Redis, the worker or the SMTP server fails, and none goes out twice needlessly.

Everything here is real: the private redis-server is stopped, the Dramatiq worker
process is killed with SIGKILL, the aiosmtpd server is shut down.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from services.registration import create_app as create_registration_app
from services.scheduler.sweep import LOST_MESSAGE_AFTER, sweep_notifications
from shared.broker import make_broker
from shared.db import read_session, write_transaction
from shared.models import Notification, NotificationKind, NotificationStatus, Registration, RegistrationStatus
from shared.outbox import dispatch
from shared.times import utcnow
from tests.conftest import service_env
from tests.factories import add_seminar
from tests.servers import HttpServer, Worker, http, wait_until



def add_confirmed_mails(runtime, count: int) -> list[int]:
    """``count`` confirmed registrations of one seminar, each with its confirmation row (not queued)."""
    seminar_id = add_seminar(runtime, capacity=None)
    now = utcnow()
    with write_transaction(runtime.sessions) as session:
        registrations = [
            Registration(seminar_id=seminar_id, status=RegistrationStatus.CONFIRMED, name=f"Person {n}",
                         email=f"p{n}@example.org", email_key=f"p{n}@example.org", language="de",
                         consent_version="v1", consent_at=now, confirmed_at=now)
            for n in range(count)
        ]
        session.add_all(registrations)
        session.flush()
        # Rows of their own, not through add_notification: they wait until the test queues them.
        mails = [Notification(registration_id=registration.id, kind=NotificationKind.CONFIRMED, enqueued_at=now)
                 for registration in registrations]
        session.add_all(mails)
        session.flush()
        return [mail.id for mail in mails]


def statuses(runtime) -> Counter:
    with read_session(runtime.sessions) as session:
        return Counter(dict(session.execute(
            select(Notification.status, func.count()).group_by(Notification.status)
        ).all()))


def all_sent(runtime, count: int):
    return lambda: statuses(runtime)[NotificationStatus.SENT] == count


def recipients(smtp_server) -> Counter:
    return Counter(mail["X-Envelope-To"] for mail in smtp_server.sink.received)


def queue_drained(settings) -> None:
    """Wait until the mail queue, including delayed retries, is empty."""
    broker = make_broker(settings.redis_url)
    try:
        broker.join("mail", timeout=20_000)
    finally:
        broker.close()


def start_worker(settings, smtp_server, threads: int = 2) -> Worker:
    worker = Worker(service_env(settings, MAIL_URL=smtp_server.url), threads=threads)
    worker.start()
    return worker


class RefusingOneAddress:
    """The test server's handler, except that one mailbox does not exist (550 at RCPT)."""

    def __init__(self, sink, refused: str):
        self.sink, self.refused = sink, refused

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refused:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return await self.sink.handle_DATA(server, session, envelope)


def restart_smtp(smtp_server, refused: str) -> None:
    """Start the SMTP server again on its port (an aiosmtpd controller cannot be restarted)."""
    handler = RefusingOneAddress(smtp_server.sink, refused)
    smtp_server.controller = Controller(handler, hostname="127.0.0.1", port=smtp_server.port)
    smtp_server.start()


def test_registrations_while_redis_is_down_all_get_their_confirmation_once_it_is_back(
    runtime, settings, redis_server, smtp_server
):
    seminar_id = add_seminar(runtime, double_opt_in=False, capacity=None)
    registration = HttpServer(create_registration_app(settings))
    registration.start()
    redis_server.stop()
    try:
        answers = [
            http("POST", f"{registration.url}/api/v1/events/{seminar_id}/registrations",
                 {"name": f"Person {n}", "email": f"p{n}@example.org", "consent": True})
            for n in range(50)
        ]
    finally:
        redis_server.start()
        registration.stop()
    assert [status for status, _, _ in answers] == [201] * 50
    assert all(b'"confirmed"' in body for _, _, body in answers)
    # Nothing reached the queue; every row says so, for the sweep to find.
    with read_session(runtime.sessions) as session:
        assert session.scalar(select(func.count()).where(Notification.enqueued_at.is_(None))) == 50

    worker = start_worker(settings, smtp_server)
    try:
        later = utcnow() + timedelta(seconds=settings.sweep_after_seconds + 1)
        assert sweep_notifications(runtime, later) == 50
        wait_until(all_sent(runtime, 50), timeout=30, message="50 confirmations sent")
        assert sweep_notifications(runtime, later) == 0
        queue_drained(settings)
    finally:
        worker.stop()
    assert recipients(smtp_server) == Counter(f"p{n}@example.org" for n in range(50))
    assert all(mail["Subject"].startswith("Anmeldung bestätigt: ") for mail in smtp_server.sink.received)


def test_a_worker_killed_while_sending_loses_no_mail(runtime, settings, smtp_server):
    notification_ids = add_confirmed_mails(runtime, 200)
    assert dispatch(runtime.engine, runtime.broker, notification_ids) == 200
    # One thread: at most one mail is between "accepted by SMTP" and "marked sent" when the kill comes.
    worker = start_worker(settings, smtp_server, threads=1)
    smtp_server.sink.wait_for(60, timeout=30)
    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait()
    assert len(smtp_server.sink.received) < 200, "the kill came too late to test anything"
    with read_session(runtime.sessions) as session:
        assert session.scalar(select(func.count()).where(Notification.status == NotificationStatus.SENDING)) <= 1
    # The killed worker left the mail it was sending in "sending" and its prefetched
    # messages unacknowledged; the scheduler's sweep hands both back (this is its
    # round 30 minutes later; Dramatiq requeues such messages too, a minute or more later).
    # Swept before the new worker starts: with the clock moved on, mails it was just
    # sending would look stuck too, and go out twice.
    assert sweep_notifications(runtime, utcnow() + LOST_MESSAGE_AFTER + timedelta(minutes=1)) > 0
    worker = start_worker(settings, smtp_server)
    try:
        wait_until(all_sent(runtime, 200), timeout=60, message="200 mails sent")
        # Once every row is sent, messages still queued can claim nothing: no mail can follow.
    finally:
        worker.stop()
    received = recipients(smtp_server)
    assert set(received) == {f"p{n}@example.org" for n in range(200)}
    assert sum(received.values()) - 200 <= 1  # at most one duplicate for the one kill
    # A duplicate carries the Message-ID of the first copy, so mail services can fold them.
    by_recipient: dict[str, set[str]] = {}
    for mail in smtp_server.sink.received:
        by_recipient.setdefault(mail["X-Envelope-To"], set()).add(mail["Message-ID"])
    assert all(len(ids) == 1 for ids in by_recipient.values())


# Retries and refusals do not depend on the database; SQLite keeps the suite fast.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_mails_wait_while_the_smtp_server_is_down_and_arrive_when_it_is_back_except_refused_ones(
    runtime, settings, smtp_server, worker
):
    smtp_server.stop()
    notification_ids = add_confirmed_mails(runtime, 20)
    dispatch(runtime.engine, runtime.broker, notification_ids)
    # Every mail was tried, failed to connect, and waits for its retry.
    wait_until(lambda: statuses(runtime)[NotificationStatus.RETRY] == 20, timeout=20,
               message="20 mails waiting to be retried")
    with read_session(runtime.sessions) as session:
        errors = session.scalars(select(Notification.last_error)).all()
    assert all(error.startswith("smtp: ConnectionRefusedError") for error in errors)

    # Back, but one mailbox does not exist: that mail fails for good, the others arrive.
    restart_smtp(smtp_server, refused="p7@example.org")
    # The actor's retry backoff starts at 2 seconds.
    wait_until(all_sent(runtime, 19), timeout=30, message="19 mails sent after the SMTP server came back")
    wait_until(lambda: statuses(runtime)[NotificationStatus.FAILED] == 1, timeout=10, message="1 mail failed")
    assert recipients(smtp_server) == Counter(f"p{n}@example.org" for n in range(20) if n != 7)
    with read_session(runtime.sessions) as session:
        rows = session.scalars(select(Notification).order_by(Notification.id)).all()
    refused = rows[7]
    assert (refused.status, refused.sent_at) == (NotificationStatus.FAILED, None)
    assert refused.last_error == "550 5.1.1 <p7@example.org>: Recipient address rejected: User unknown"
    assert all(row.attempts >= 2 for row in rows)
    # A permanent refusal is not retried: nothing for it waits in the queue.
    queue_drained(settings)
    with read_session(runtime.sessions) as session:
        assert session.get(Notification, refused.id).attempts == refused.attempts
