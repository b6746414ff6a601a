"""The all-seminars feed: valid iCalendar with time zones, no private data, conditional GET."""

from __future__ import annotations

import icalendar
import pytest

from services.calendar_feed import create_app
from shared.db import write_transaction
from shared.models import SeminarFormat, SeminarStatus
from tests.factories import berlin, make_seminar, make_series


@pytest.fixture
def client(settings):
    app = create_app(settings)
    yield app.test_client()
    app.extensions["runtime"].close()


def test_feed_lists_published_seminars_in_local_time_without_join_links(client, runtime):
    with write_transaction(runtime.sessions) as session:
        seminar = make_seminar(
            session, title="Wieso, weshalb, warum?", join_url="https://meet.example/geheim",
            starts_at=berlin(2027, 3, 31, 13, 30), ends_at=berlin(2027, 3, 31, 15, 0),
        )
        series = make_series(session, seminar.organiser, title="Kommunal Engagiert")
        seminar.series = series
        make_seminar(session, title="Noch ein Entwurf", status=SeminarStatus.DRAFT)
        make_seminar(session, title="Konferenz", format=SeminarFormat.HYBRID, location="Berlin-Mitte",
                     starts_at=berlin(2027, 4, 12, 10), ends_at=berlin(2027, 4, 12, 16, 30))
        seminar_id = seminar.id

    response = client.get("/calendar/events.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert b"geheim" not in response.data and b"Entwurf" not in response.data

    calendar = icalendar.Calendar.from_ical(response.data)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert str(calendar["X-WR-CALNAME"]) == "Seminare"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in response.data
    assert b"X-PUBLISHED-TTL:PT1H" in response.data
    events = {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {"Wieso, weshalb, warum?", "Konferenz"}
    first = events["Wieso, weshalb, warum?"]
    assert str(first["UID"]) == f"seminar-{seminar_id}@127.0.0.1"
    assert first.decoded("DTSTART") == berlin(2027, 3, 31, 13, 30)
    assert first["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert int(first["SEQUENCE"]) == 0 and str(first["STATUS"]) == "CONFIRMED"
    assert first["CATEGORIES"].cats == ["Kommunal Engagiert"]
    assert str(first["URL"]) == f"http://127.0.0.1:8000/events/{seminar_id}"
    assert str(events["Konferenz"]["LOCATION"]) == "Berlin-Mitte / Online"


def test_cancelled_seminar_stays_in_the_feed_marked_cancelled(client, runtime):
    with write_transaction(runtime.sessions) as session:
        make_seminar(session, title="Abgesagt", status=SeminarStatus.CANCELLED, sequence=2)
    event = icalendar.Calendar.from_ical(client.get("/calendar/events.ics").data).walk("VEVENT")[0]
    assert (str(event["STATUS"]), int(event["SEQUENCE"])) == ("CANCELLED", 2)
