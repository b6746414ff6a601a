"""The whole path through real HTTP, Redis, Dramatiq worker and SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta

import icalendar

from services.calendar_feed import create_app as create_calendar_app
from services.registration import create_app as create_registration_app
from shared.db import write_transaction
from shared.demo import next_weekday
from shared.times import utcnow
from tests.conftest import service_env
from tests.factories import berlin, make_seminar
from tests.servers import HttpServer, Worker, free_port, http

MONATE = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
          "September", "Oktober", "November", "Dezember"]


def test_registration_confirmation_mail_and_feed(settings, runtime, smtp_server):
    day = next_weekday(utcnow().date(), 2, at_least_days=7)  # a Wednesday
    with write_transaction(runtime.sessions) as session:
        seminar = make_seminar(
            session,
            title="Junge Wilde: Räume schaffen für das Engagement junger Menschen",
            starts_at=berlin(day.year, day.month, day.day, 13, 30),
            ends_at=berlin(day.year, day.month, day.day, 15, 0),
            join_url="https://meet.example/junge-wilde",
        )
        seminar_id = seminar.id

    port = free_port()
    settings = settings.with_overrides(registration_base_url=f"http://127.0.0.1:{port}")
    registration = HttpServer(create_registration_app(settings), port)
    calendar = HttpServer(create_calendar_app(settings))
    worker = Worker(service_env(settings, MAIL_URL=smtp_server.url))
    registration.start()
    calendar.start()
    worker.start()
    try:
        status, _, body = http(
            "POST",
            f"{registration.url}/api/v1/events/{seminar_id}/registrations",
            {"name": "Erika Mustermann", "email": "erika@example.org", "consent": True},
        )
        assert status == 201, body
        assert b'"pending"' in body

        # 1. The double opt-in mail: the confirmation link and nothing else, no join link.
        first = smtp_server.sink.wait_for(1)[0]
        assert first["To"].addresses[0].addr_spec == "erika@example.org"
        assert first["X-Envelope-To"] == "erika@example.org"
        assert first["Subject"] == (
            "Bitte bestätigen Sie Ihre Anmeldung: "
            "„Junge Wilde: Räume schaffen für das Engagement junger Menschen“"
        )
        text = first.get_body(("plain",)).get_content()
        assert f"Mittwoch, {day.day}. {MONATE[day.month - 1]} {day.year}" in text
        assert "13:30–15:00 Uhr (Europe/Berlin" in text
        assert "meet.example" not in text
        link = re.search(rf"{registration.url}/r/(\S+)", text)
        assert link, text

        # 2. Confirming is a POST on the participant's page; it sends the confirmation.
        status, headers, _ = http("POST", f"{registration.url}/r/{link.group(1)}/confirm", data=b"")
        assert status == 302
        second = smtp_server.sink.wait_for(2)[1]
        assert second["Subject"].startswith("Anmeldung bestätigt: „Junge Wilde")
        confirmed_text = second.get_body(("plain",)).get_content()
        assert "https://meet.example/junge-wilde" in confirmed_text
        assert "13:30–15:00 Uhr" in confirmed_text

        # 3. The public feed lists the seminar at its local time, without the join link.
        status, headers, feed = http("GET", f"{calendar.url}/calendar/events.ics")
        assert status == 200
        assert headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert b"meet.example" not in feed
        events = icalendar.Calendar.from_ical(feed).walk("VEVENT")
        assert [str(e["SUMMARY"]) for e in events] == [
            "Junge Wilde: Räume schaffen für das Engagement junger Menschen"
        ]
        start = events[0].decoded("DTSTART")
        assert (start.hour, start.minute, str(start.tzinfo)) == (13, 30, "Europe/Berlin")
        assert events[0].decoded("DTSTART") - events[0].decoded("DTEND") == -timedelta(minutes=90)
    finally:
        worker.stop()
        registration.stop()
        calendar.stop()
