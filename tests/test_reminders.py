"""Reminders: written by the scheduler at each offset before the start, once, for confirmed seats only.

The clock is injected (``now``); nothing sleeps.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import icalendar
import pytest
from sqlalchemy import select

from services.notifications.delivery import Outcome, deliver
from services.registration.domain.seminar_changes import cancel_seminar, move_seminar
from services.registration.domain.registrations import cancel_registration
from services.scheduler.__main__ import run_once
from services.scheduler.reminders import create_reminders
from shared.db import read_session, write_transaction
from shared.ical import seminar_uid
from shared.models import Notification, NotificationKind, NotificationStatus, Registration, RegistrationStatus
from shared.runtime import make_runtime
from tests import factories
from tests.factories import berlin

START = berlin(2031, 12, 10, 13, 30)  # a Wednesday
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
# Seminars start at START and last 90 minutes unless a test says otherwise.
add_seminar = partial(factories.add_seminar, starts_at=START, ends_at=START + 90 * MINUTE)



def add_participant(runtime, seminar_id, email, status=RegistrationStatus.CONFIRMED, confirmed_at=None) -> int:
    """A registration; ``confirmed_at`` defaults to well before any reminder is due."""
    if status == RegistrationStatus.CONFIRMED and confirmed_at is None:
        confirmed_at = START - 20 * DAY
    with write_transaction(runtime.sessions) as session:
        registration = Registration(
            seminar_id=seminar_id, status=status, name=email.split("@")[0].title(), email=email,
            email_key=email, language="de", consent_version="v1", consent_at=START - 20 * DAY,
            created_at=START - 20 * DAY, confirmed_at=confirmed_at, email_confirmed_at=confirmed_at,
        )
        session.add(registration)
        session.flush()
        return registration.id


def reminders(runtime) -> list[tuple[str, str, NotificationStatus]]:
    """(recipient, dedupe key, status) of every reminder row, in order."""
    with read_session(runtime.sessions) as session:
        rows = session.execute(
            select(Registration.email, Notification.dedupe_key, Notification.status)
            .join(Notification.registration)
            .where(Notification.kind == NotificationKind.REMINDER)
            .order_by(Notification.id)
        ).all()
    return [tuple(row) for row in rows]


def reminder_ids(runtime) -> list[int]:
    with read_session(runtime.sessions) as session:
        return session.scalars(
            select(Notification.id).where(Notification.kind == NotificationKind.REMINDER).order_by(Notification.id)
        ).all()


def test_reminders_come_once_at_each_offset_and_only_to_confirmed_seats(runtime):
    seminar_id = add_seminar(runtime)
    add_participant(runtime, seminar_id, "anna@example.org")
    # Got the seat 2 hours before the start: too late for the 24-hour reminder.
    add_participant(runtime, seminar_id, "ben@example.org", confirmed_at=START - 2 * HOUR)
    add_participant(runtime, seminar_id, "clara@example.org", RegistrationStatus.PENDING)
    add_participant(runtime, seminar_id, "dora@example.org", RegistrationStatus.WAITLISTED)
    add_participant(runtime, seminar_id, "emil@example.org", RegistrationStatus.CANCELLED)

    assert create_reminders(runtime, START - DAY - MINUTE) == 0
    assert create_reminders(runtime, START - DAY) == 1
    assert create_reminders(runtime, START - DAY + 5 * MINUTE) == 0  # every minute, but once
    assert create_reminders(runtime, START - HOUR + MINUTE) == 2
    assert create_reminders(runtime, START - 30 * MINUTE) == 0
    assert create_reminders(runtime, START + MINUTE) == 0  # started: no more reminders

    assert reminders(runtime) == [
        ("anna@example.org", "1440:20311210T1230", NotificationStatus.QUEUED),
        ("anna@example.org", "60:20311210T1230", NotificationStatus.QUEUED),
        ("ben@example.org", "60:20311210T1230", NotificationStatus.QUEUED),
    ]


def test_offsets_are_set_per_seminar(runtime):
    seminar_id = add_seminar(runtime, reminder_offsets=[2 * 24 * 60, 15])
    add_participant(runtime, seminar_id, "anna@example.org")
    assert create_reminders(runtime, START - DAY) == 1  # the 48-hour one, late but not missed
    assert create_reminders(runtime, START - HOUR) == 0
    assert create_reminders(runtime, START - 15 * MINUTE) == 1
    assert [key for _, key, _ in reminders(runtime)] == ["2880:20311210T1230", "15:20311210T1230"]

    silent = add_seminar(runtime, reminder_offsets=[])
    add_participant(runtime, silent, "ben@example.org")
    assert create_reminders(runtime, START - 10 * MINUTE) == 0


def test_after_an_outage_only_the_nearest_reminder_is_sent(runtime):
    seminar_id = add_seminar(runtime)
    add_participant(runtime, seminar_id, "anna@example.org")
    # The scheduler was down from two days before until 40 minutes before the start.
    assert create_reminders(runtime, START - 40 * MINUTE) == 1
    assert [key for _, key, _ in reminders(runtime)] == ["60:20311210T1230"]


def test_a_moved_seminar_reminds_at_its_new_time(runtime, smtp_server):
    seminar_id = add_seminar(runtime)
    add_participant(runtime, seminar_id, "anna@example.org")
    assert create_reminders(runtime, START - DAY) == 1
    [old_reminder] = reminder_ids(runtime)

    new_start = START + 7 * DAY
    move_seminar(runtime, seminar_id, starts_at=new_start, now=START - 23 * HOUR)
    assert create_reminders(runtime, START - HOUR) == 0  # nothing at the old time
    assert create_reminders(runtime, new_start - DAY - MINUTE) == 0
    assert create_reminders(runtime, new_start - DAY) == 1
    assert create_reminders(runtime, new_start - HOUR) == 1
    assert [key for _, key, _ in reminders(runtime)] == [
        "1440:20311210T1230", "1440:20311217T1230", "60:20311217T1230",
    ]

    # The reminder of the old time, if still unsent, is dropped rather than sent late.
    smtp = make_runtime(runtime.settings.with_overrides(mail_url=smtp_server.url))
    try:
        assert deliver(smtp, old_reminder, now=START - 22 * HOUR) == Outcome.SKIPPED
        new_reminder = reminder_ids(runtime)[1]
        assert deliver(smtp, new_reminder, now=new_start - DAY) == Outcome.SENT
    finally:
        smtp.close()
    [mail] = smtp_server.sink.received
    assert mail["Subject"] == "Erinnerung: „Kommunal Engagiert: Testseminar“ am Mittwoch, 17. Dezember 2031, 13:30 Uhr"
    calendar = icalendar.Calendar.from_ical(next(mail.iter_attachments()).get_payload(decode=True))
    event = calendar.walk("VEVENT")[0]
    assert (event["SEQUENCE"], event.decoded("DTSTART").day) == (1, 17)
    assert reminders(runtime)[0][2] == NotificationStatus.CANCELLED


def test_no_reminder_for_a_cancelled_seminar_or_a_cancelled_seat(runtime):
    seminar_id = add_seminar(runtime)
    anna = add_participant(runtime, seminar_id, "anna@example.org")
    add_participant(runtime, seminar_id, "ben@example.org")
    assert create_reminders(runtime, START - DAY) == 2
    anna_reminder, ben_reminder = reminder_ids(runtime)

    cancel_registration(runtime, anna, now=START - DAY + MINUTE)
    assert deliver(runtime, anna_reminder) == Outcome.SKIPPED
    cancel_seminar(runtime, seminar_id, now=START - DAY + 2 * MINUTE)
    assert deliver(runtime, ben_reminder) == Outcome.SKIPPED
    assert create_reminders(runtime, START - HOUR) == 0

    with read_session(runtime.sessions) as session:
        rows = session.scalars(select(Notification).where(Notification.kind == NotificationKind.REMINDER)
                               .order_by(Notification.id)).all()
    assert [(row.status, row.last_error) for row in rows] == [
        (NotificationStatus.CANCELLED, "registration not confirmed"),
        (NotificationStatus.CANCELLED, "seminar cancelled"),
    ]


# The worker's side does not depend on the database; the rules above run on both.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_scheduler_round_sends_reminders_through_the_worker(runtime, worker, smtp_server):
    seminar_id = add_seminar(runtime)
    add_participant(runtime, seminar_id, "anna@example.org")
    report = run_once(runtime, now=START - DAY)
    assert report["reminders_created"] == 1
    [mail] = smtp_server.sink.wait_for(1)
    assert mail["Subject"] == "Erinnerung: „Kommunal Engagiert: Testseminar“ am Mittwoch, 10. Dezember 2031, 13:30 Uhr"
    text = mail.get_body(("plain",)).get_content()
    assert "Mittwoch, 10. Dezember 2031, 13:30–15:00 Uhr (Europe/Berlin, MEZ)" in text
    assert "https://meet.example/raum-42" in text
    part = next(mail.iter_attachments())
    assert part.get_content_type() == "text/calendar" and part.get_param("method") == "REQUEST"
    event = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
    assert event["UID"] == seminar_uid(seminar_id, "127.0.0.1")
    assert run_once(runtime, now=START - DAY + MINUTE)["reminders_created"] == 0
