"""Sending notifications: exactly once, retry on temporary errors, failed on 5xx, safe headers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.notifications.delivery import Outcome, deliver
from services.notifications.transport import TemporaryFailure
from shared.broker import make_broker
from shared.db import read_session, write_transaction
from shared.messages import SEND_NOTIFICATION, enqueue
from shared.models import Notification, NotificationKind, NotificationStatus, Registration, RegistrationStatus
from shared.outbox import add_notification
from shared.runtime import make_runtime
from shared.times import utcnow
from services.scheduler.sweep import sweep_notifications
from tests.factories import make_seminar
from tests.servers import free_port, wait_until


def add_registration(runtime, name="Erika Mustermann", email="erika@example.org",
                     kind=NotificationKind.CONFIRMED, language="de") -> int:
    """A confirmed registration with one notification; returns the notification id."""
    with write_transaction(runtime.sessions) as session:
        seminar = make_seminar(session)
        registration = Registration(
            seminar_id=seminar.id, status=RegistrationStatus.CONFIRMED, name=name, email=email,
            email_key=email.lower(), language=language, consent_version="v1", consent_at=utcnow(),
            confirmed_at=utcnow(),
        )
        session.add(registration)
        session.flush()
        return add_notification(session, registration.id, kind)


def notification(runtime, notification_id) -> Notification:
    with read_session(runtime.sessions) as session:
        return session.get(Notification, notification_id)


@pytest.fixture
def smtp_runtime(settings, smtp_server):
    runtime = make_runtime(settings.with_overrides(mail_url=smtp_server.url))
    yield runtime
    runtime.close()


def test_delivering_twice_sends_one_mail(smtp_runtime, smtp_server):
    notification_id = add_registration(smtp_runtime)
    assert deliver(smtp_runtime, notification_id) == Outcome.SENT
    assert deliver(smtp_runtime, notification_id) == Outcome.SKIPPED
    assert len(smtp_server.sink.received) == 1
    row = notification(smtp_runtime, notification_id)
    assert row.status == NotificationStatus.SENT and row.attempts == 1
    assert row.message_id == smtp_server.sink.received[0]["Message-ID"]


def test_the_same_message_twice_through_the_worker_sends_one_mail(settings, runtime, worker, smtp_server):
    notification_id = add_registration(runtime)
    broker = make_broker(settings.redis_url)
    assert enqueue(broker, SEND_NOTIFICATION, notification_id=notification_id)
    assert enqueue(broker, SEND_NOTIFICATION, notification_id=notification_id)
    smtp_server.sink.wait_for(1)
    wait_until(lambda: notification(runtime, notification_id).status == NotificationStatus.SENT)
    broker.join("mail", timeout=20_000)  # both messages processed
    assert len(smtp_server.sink.received) == 1
    broker.close()


def test_permanent_smtp_refusal_marks_the_notification_failed(smtp_runtime, smtp_server):
    smtp_server.sink.reply_code = "550 5.1.1 Mailbox unavailable"
    notification_id = add_registration(smtp_runtime)
    assert deliver(smtp_runtime, notification_id) == Outcome.FAILED
    row = notification(smtp_runtime, notification_id)
    assert row.status == NotificationStatus.FAILED
    assert "550" in row.last_error


def test_temporary_smtp_refusal_is_retried_and_later_sent(smtp_runtime, smtp_server):
    smtp_server.sink.reply_code = "451 4.3.0 Try again later"
    notification_id = add_registration(smtp_runtime)
    with pytest.raises(TemporaryFailure):
        deliver(smtp_runtime, notification_id)
    row = notification(smtp_runtime, notification_id)
    assert (row.status, row.attempts) == (NotificationStatus.RETRY, 1)
    assert "451" in row.last_error

    smtp_server.sink.reply_code = None
    assert deliver(smtp_runtime, notification_id) == Outcome.SENT
    assert notification(smtp_runtime, notification_id).attempts == 2
    assert len(smtp_server.sink.received) == 1


def test_unreachable_smtp_server_is_a_temporary_failure(settings, runtime):
    notification_id = add_registration(runtime)
    down = make_runtime(settings.with_overrides(mail_url=f"smtp://127.0.0.1:{free_port()}"))
    with pytest.raises(TemporaryFailure):
        deliver(down, notification_id)
    down.close()
    assert notification(runtime, notification_id).status == NotificationStatus.RETRY


def test_giving_up_after_the_last_attempt(settings, runtime):
    notification_id = add_registration(runtime)
    down = make_runtime(settings.with_overrides(mail_url=f"smtp://127.0.0.1:{free_port()}", mail_max_attempts=2))
    with pytest.raises(TemporaryFailure):
        deliver(down, notification_id)
    assert deliver(down, notification_id) == Outcome.FAILED
    down.close()
    assert notification(runtime, notification_id).status == NotificationStatus.FAILED


def test_names_cannot_inject_mail_headers(smtp_runtime, smtp_server):
    notification_id = add_registration(smtp_runtime, name="Eve\r\nBcc: victim@example.org")
    assert deliver(smtp_runtime, notification_id) == Outcome.SENT
    mail = smtp_server.sink.received[0]
    assert mail["Bcc"] is None
    assert mail["X-Envelope-To"] == "erika@example.org"
    assert mail["To"].addresses[0].display_name == "Eve Bcc: victim@example.org"


def test_mail_headers_and_parts(smtp_runtime, smtp_server):
    notification_id = add_registration(smtp_runtime, language="en")
    deliver(smtp_runtime, notification_id)
    mail = smtp_server.sink.received[0]
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Date"] is not None and mail["Message-ID"].endswith("@127.0.0.1>")
    assert mail["Reply-To"].addresses[0].addr_spec.endswith("@organiser.example")
    assert mail["Subject"].startswith("Registration confirmed: ")
    assert mail.get_body(("html",)).get_content().lstrip().startswith("<!doctype html>")
    text = mail.get_body(("plain",)).get_content()
    assert "https://meet.example/raum-42" in text and "Hello Erika Mustermann" in text


def test_sweep_hands_back_a_mail_whose_worker_died_while_sending(runtime, settings):
    notification_id = add_registration(runtime)
    with write_transaction(runtime.sessions) as session:
        row = session.get(Notification, notification_id)
        row.status = NotificationStatus.SENDING
        row.claimed_at = utcnow() - timedelta(seconds=settings.sweep_after_seconds + 5)
        row.enqueued_at = utcnow() - timedelta(seconds=settings.sweep_after_seconds + 10)
    assert sweep_notifications(runtime, utcnow()) == 1
    row = notification(runtime, notification_id)
    assert row.status == NotificationStatus.RETRY and row.enqueued_at is not None
    # A mail being sent right now is left alone.
    fresh_id = add_registration(runtime, email="max@example.org")
    with write_transaction(runtime.sessions) as session:
        fresh = session.get(Notification, fresh_id)
        fresh.status, fresh.claimed_at, fresh.enqueued_at = NotificationStatus.SENDING, utcnow(), utcnow()
    assert sweep_notifications(runtime, utcnow()) == 0


def test_sweep_leaves_sent_and_recently_queued_mails_alone(runtime, settings):
    sent_id = add_registration(runtime)
    queued_id = add_registration(runtime, email="max@example.org")
    with write_transaction(runtime.sessions) as session:
        sent = session.get(Notification, sent_id)
        sent.status, sent.enqueued_at, sent.created_at = NotificationStatus.SENT, None, utcnow() - timedelta(days=1)
        queued = session.get(Notification, queued_id)
        queued.enqueued_at = utcnow() - timedelta(minutes=5)
    assert sweep_notifications(runtime, utcnow()) == 0
