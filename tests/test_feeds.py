"""All five feeds: two independent parsers agree, personal data stays personal, caching never serves stale bytes."""

from __future__ import annotations

import gzip
import time
from datetime import timedelta, timezone

import icalendar
import pytest
import vobject
from sqlalchemy import event

from services.calendar_feed import create_app
from services.registration.domain.seminar_changes import cancel_seminar, move_seminar
from services.registration.domain.registrations import confirm_address, register, renew_feed_link
from shared.db import read_session, write_transaction
from shared.links import personal_feed_url
from shared.models import Registration, SeminarFormat
from shared.times import utcnow
from tests.factories import berlin, make_organiser, make_seminar, make_series, person
from tests.servers import free_port

EHRENAMT = "ehrenamt@example.org"

UTC = timezone.utc


@pytest.fixture
def app(settings):
    app = create_app(settings)
    yield app
    app.extensions["runtime"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(runtime):
    """The foundation's series around the change to winter time, plus another organiser's seminar."""
    with write_transaction(runtime.sessions) as session:
        foundation = make_organiser(session, slug="stiftung", name="Stiftung Mitarbeit")
        series = make_series(session, foundation, slug="kommunal-engagiert", title="Kommunal Engagiert")
        # Last Wednesday of October 2027 (still summer time) and one in November (winter time).
        october = make_seminar(session, foundation, series=series, title="Wieso, weshalb, warum?",
                               starts_at=berlin(2027, 10, 27, 13, 30), ends_at=berlin(2027, 10, 27, 15, 0))
        november = make_seminar(session, foundation, series=series, title="Bürgerbeteiligung digital",
                                starts_at=berlin(2027, 11, 24, 13, 30), ends_at=berlin(2027, 11, 24, 15, 0))
        district = make_organiser(session, slug="landkreis", name="Landkreis")
        elsewhere = make_seminar(session, district, title="Ehrenamt im Landkreis", format=SeminarFormat.IN_PERSON,
                                 location="Kreishaus, Saal 2", join_url=None,
                                 starts_at=berlin(2027, 11, 3, 18), ends_at=berlin(2027, 11, 3, 20))
        return {"october": october.id, "november": november.id, "elsewhere": elsewhere.id}


def soon(fetch, until, seconds=2.0):
    """The first answer of ``fetch`` that satisfies ``until``: a change reaches the feed
    process through Redis pub/sub, within milliseconds, not within the same instant."""
    deadline = time.monotonic() + seconds
    while True:
        answer = fetch()
        if until(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.005)



def both_parsers(body: bytes) -> dict[str, tuple]:
    """Events by UID as (summary, start as UTC, status), once per parser; asserts the two agree."""
    by_icalendar = {
        str(e["UID"]): (str(e["SUMMARY"]), e.decoded("DTSTART").astimezone(UTC), str(e.get("STATUS")))
        for e in icalendar.Calendar.from_ical(body).walk("VEVENT")
    }
    parsed = vobject.readOne(body.decode())
    by_vobject = {
        e.uid.value: (e.summary.value, e.dtstart.value.astimezone(UTC), e.status.value)
        for e in parsed.contents.get("vevent", [])
    }
    assert by_icalendar == by_vobject
    return by_icalendar


def test_every_feed_gives_the_same_instants_to_both_parsers_across_the_time_change(client, runtime, world):
    registration = register(runtime, world["november"], person(email=EHRENAMT))
    confirm_address(runtime, registration.registration_id)
    with read_session(runtime.sessions) as session:
        nonce = session.get(Registration, registration.registration_id).feed_nonce
    personal = personal_feed_url(runtime.settings, registration.registration_id, nonce).split("8001", 1)[1]

    october = ("Wieso, weshalb, warum?", berlin(2027, 10, 27, 13, 30), "CONFIRMED")
    november = ("Bürgerbeteiligung digital", berlin(2027, 11, 24, 13, 30), "CONFIRMED")
    assert october[1].hour == 11 and november[1].hour == 12  # 13:30 in summer vs winter time, as UTC
    uid = {name: f"seminar-{world[name]}@127.0.0.1" for name in world}
    expected = {
        "/calendar/events.ics": {uid["october"], uid["november"], uid["elsewhere"]},
        "/calendar/series/kommunal-engagiert.ics": {uid["october"], uid["november"]},
        "/calendar/organisers/landkreis.ics": {uid["elsewhere"]},
        f"/calendar/events/{world['october']}.ics": {uid["october"]},
        personal: {uid["november"]},
    }
    for url, uids in expected.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        events = both_parsers(response.data)
        assert set(events) == uids, url
        if uid["october"] in events:
            assert events[uid["october"]] == october
        if uid["november"] in events:
            assert events[uid["november"]] == november
        calendar = icalendar.Calendar.from_ical(response.data)
        assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
        assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in response.data and b"X-PUBLISHED-TTL:PT1H" in response.data
        # The join link and the participant's name appear in the personal feed only.
        assert (b"meet.example" in response.data) == (url == personal), url
        assert b"Mustermann" not in response.data and b"ehrenamt@" not in response.data

    series = icalendar.Calendar.from_ical(client.get("/calendar/series/kommunal-engagiert.ics").data)
    assert str(series["X-WR-CALNAME"]) == str(series["NAME"]) == "Kommunal Engagiert"
    event = series.walk("VEVENT")[0]
    assert event["CATEGORIES"].cats == ["Kommunal Engagiert"]
    assert {"DTSTAMP", "LAST-MODIFIED", "CREATED", "SEQUENCE", "URL", "DESCRIPTION"} <= set(event)
    assert f"/events/{world['october']}" in str(event["DESCRIPTION"])
    elsewhere = icalendar.Calendar.from_ical(client.get("/calendar/organisers/landkreis.ics").data).walk("VEVENT")[0]
    assert str(elsewhere["LOCATION"]) == "Kreishaus, Saal 2"


def test_unknown_names_and_bad_tokens_give_404_problems(client, world):
    for url in ("/calendar/series/gibt-es-nicht.ics", "/calendar/organisers/niemand.ics",
                "/calendar/events/999999.ics", "/calendar/events/99999999999.ics",
                "/calendar/personal/gefaelscht.ics", "/calendar/nichts.ics"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.mimetype == "application/problem+json"
    assert client.get("/calendar/series/x.ics", headers={"Accept-Language": "en"}).json["title"] == "Not found"


def test_a_move_keeps_the_uid_raises_the_sequence_and_shows_at_once(client, runtime, world):
    url = f"/calendar/events/{world['october']}.ics"
    before = icalendar.Calendar.from_ical(client.get(url).data).walk("VEVENT")[0]
    assert client.get(url).headers["ETag"]  # cached now

    move_seminar(runtime, world["october"], starts_at=berlin(2027, 10, 28, 14))
    moved = soon(lambda: client.get(url).data, lambda body: b"20271028T140000" in body)
    after = icalendar.Calendar.from_ical(moved).walk("VEVENT")[0]
    assert after["UID"] == before["UID"]
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert after.decoded("DTSTART") == berlin(2027, 10, 28, 14)
    assert after.decoded("DTEND") == berlin(2027, 10, 28, 15, 30)  # the length is kept

    cancel_seminar(runtime, world["october"])
    for feed in (url, "/calendar/events.ics", "/calendar/series/kommunal-engagiert.ics"):
        events = both_parsers(soon(lambda: client.get(feed).data, lambda body: b"STATUS:CANCELLED" in body))
        assert events[str(after["UID"])][2] == "CANCELLED", feed
    cancelled = icalendar.Calendar.from_ical(client.get(url).data).walk("VEVENT")[0]
    assert int(cancelled["SEQUENCE"]) == int(after["SEQUENCE"]) + 1


def test_cancelled_seminars_leave_the_public_feeds_after_the_configured_days(runtime, settings, world):
    cancel_seminar(runtime, world["october"], now=utcnow() - timedelta(days=31))
    cancel_seminar(runtime, world["november"], now=utcnow() - timedelta(days=29))
    app = create_app(settings)  # default: kept for 30 days
    try:
        events = both_parsers(app.test_client().get("/calendar/events.ics").data)
        assert set(events) == {f"seminar-{world['november']}@127.0.0.1", f"seminar-{world['elsewhere']}@127.0.0.1"}
        # The seminar's own feed still answers, marked cancelled.
        own = both_parsers(app.test_client().get(f"/calendar/events/{world['october']}.ics").data)
        assert [status for _, _, status in own.values()] == ["CANCELLED"]
    finally:
        app.extensions["runtime"].close()


def test_personal_feed_follows_registrations_and_its_link_can_be_renewed(client, runtime, world):
    first = register(runtime, world["october"], person(email=EHRENAMT))
    confirm_address(runtime, first.registration_id)
    second = register(runtime, world["november"], person(email="EHRENAMT@example.org"))  # same address, other case
    with read_session(runtime.sessions) as session:
        nonce = session.get(Registration, first.registration_id).feed_nonce
    url = personal_feed_url(runtime.settings, first.registration_id, nonce).split("8001", 1)[1]

    response = client.get(url)
    assert response.headers["Cache-Control"] == "private, max-age=3600"
    assert set(both_parsers(response.data)) == {f"seminar-{world['october']}@127.0.0.1"}  # second is not confirmed
    confirm_address(runtime, second.registration_id)
    changed = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert changed.status_code == 200
    assert len(both_parsers(changed.data)) == 2
    assert changed.last_modified >= response.last_modified

    renew_feed_link(runtime, first.registration_id)
    assert client.get(url).status_code == 404
    with read_session(runtime.sessions) as session:
        renewed = session.get(Registration, first.registration_id).feed_nonce
    assert client.get(personal_feed_url(runtime.settings, first.registration_id, renewed).split("8001", 1)[1]).status_code == 200


def test_conditional_requests_head_and_gzip(client, runtime, world):
    first = client.get("/calendar/events.ics")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert not etag.startswith("W/") and first.headers["Cache-Control"] == "public, max-age=3600"
    assert "Accept-Encoding" in first.headers["Vary"]
    not_modified = client.get("/calendar/events.ics", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    # What guides the client's cache comes again; the ETag makes Last-Modified redundant.
    assert not_modified.headers["ETag"] == etag and not_modified.headers["Cache-Control"] == "public, max-age=3600"
    assert not_modified.headers["Vary"] == "Accept-Encoding" and "Last-Modified" not in not_modified.headers
    # A list of tags, or the weak form of ours, matches too; another tag does not.
    for offered, status in ((f'"other", {etag}', 304), (f"W/{etag}", 304), ('"other"', 200), ("*", 304)):
        assert client.get("/calendar/events.ics", headers={"If-None-Match": offered}).status_code == status, offered
    assert client.get("/calendar/events.ics", headers={"If-Modified-Since": last_modified}).status_code == 304
    assert client.get("/calendar/events.ics", headers={"If-Modified-Since": "not a date"}).status_code == 200

    head = client.head("/calendar/events.ics")
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"] == etag
    assert int(head.headers["Content-Length"]) == len(first.data)

    zipped = client.get("/calendar/events.ics", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.headers["ETag"] != etag
    assert gzip.decompress(zipped.data) == first.data
    refused = client.get("/calendar/events.ics", headers={"Accept-Encoding": "gzip;q=0, deflate"})
    assert "Content-Encoding" not in refused.headers and refused.data == first.data
    assert client.get("/calendar/events.ics", headers={"Accept-Encoding": "gzip",
                                                       "If-None-Match": zipped.headers["ETag"]}).status_code == 304

    move_seminar(runtime, world["november"], location="Online und im Rathaus")  # an online seminar: no SEQUENCE rise,
    move_seminar(runtime, world["november"], starts_at=berlin(2027, 11, 24, 14))  # but the time is a change
    changed = soon(lambda: client.get("/calendar/events.ics", headers={"If-None-Match": etag,
                                                                        "If-Modified-Since": last_modified}),
                   lambda response: response.status_code == 200)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.last_modified > first.last_modified
    assert client.get("/calendar/events.ics", headers={"If-Modified-Since": changed.headers["Last-Modified"]}).status_code == 304


def test_a_feed_is_built_once_per_change_and_shared_between_processes(app, settings, runtime, world):
    statements = []
    event.listen(runtime.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    client = app.test_client()
    first = client.get("/calendar/events.ics").data
    feed_engine = app.extensions["runtime"].engine
    built = []
    event.listen(feed_engine, "before_cursor_execute", lambda *args: built.append(args[2]))
    for _ in range(5):
        assert client.get("/calendar/events.ics").data == first
    assert built == []  # served from this process's cache

    other = create_app(settings)  # another gunicorn worker: same Redis, empty memory
    try:
        other_built = []
        event.listen(other.extensions["runtime"].engine, "before_cursor_execute",
                     lambda *args: other_built.append(args[2]))
        assert other.test_client().get("/calendar/events.ics").data == first
        assert other_built == []  # taken from Redis

        with write_transaction(runtime.sessions) as session:
            from shared.models import Seminar

            session.get(Seminar, world["elsewhere"]).title = "Ehrenamt im Landkreis (neuer Titel)"
        assert b"neuer Titel" in soon(lambda: other.test_client().get("/calendar/events.ics").data,
                                      lambda body: b"neuer Titel" in body)
        assert other_built  # rebuilt after the change...
        assert b"neuer Titel" in soon(lambda: client.get("/calendar/events.ics").data,
                                      lambda body: b"neuer Titel" in body)
        assert built == []  # ...once: this process took the new bytes from Redis
    finally:
        other.extensions["runtime"].close()


def test_feeds_are_served_from_the_database_while_redis_is_away(settings, runtime, world):
    app = create_app(settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        client = app.test_client()
        response = client.get("/calendar/series/kommunal-engagiert.ics")
        assert response.status_code == 200 and len(both_parsers(response.data)) == 2
        assert client.get("/calendar/series/kommunal-engagiert.ics",
                          headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    finally:
        app.extensions["runtime"].close()
