"""Dates at and beyond the edges: refused where they come in, and one seminar's bad dates never break another's pages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.db import write_transaction
from shared.models import Organiser, Role, SeminarStatus
from tests.factories import add_api_token, add_member, berlin, make_organiser, make_seminar, make_series
from tests.organiser_pages import csrf, log_in

MANAGE = "/api/v1/manage"
FAR = datetime(9999, 12, 31, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def world(runtime):
    """Two organisers, each with a series and a published seminar; ours has an admin token."""
    with write_transaction(runtime.sessions) as session:
        ours = make_organiser(session, slug="stiftung")
        theirs = make_organiser(session, slug="landkreis")
        our_series = make_series(session, ours, slug="kommunal-engagiert")
        their_series = make_series(session, theirs, slug="ehrenamt")
        make_seminar(session, ours, series=our_series, title="Unser Seminar")
        make_seminar(session, theirs, series=their_series, title="Ihr Seminar")
        ids = {"ours": ours.id, "theirs": theirs.id, "our_series": our_series.id}
    return {**ids, "token": {"Authorization": f"Bearer {add_api_token(runtime, ids['ours'], Role.ADMIN)}"}}


def public_pages_answer(client, feeds) -> dict[str, int]:
    """The status of every page and feed that lists seminars of every organiser."""
    return {
        "/": client.get("/").status_code,
        "/api/v1/events": client.get("/api/v1/events").status_code,
        "/embed/series/ehrenamt": client.get("/embed/series/ehrenamt").status_code,
        "/calendar/events.ics": feeds.get("/calendar/events.ics").status_code,
        "/calendar/organisers/landkreis.ics": feeds.get("/calendar/organisers/landkreis.ics").status_code,
        "/calendar/organisers/stiftung.ics": feeds.get("/calendar/organisers/stiftung.ics").status_code,
        "/calendar/series/kommunal-engagiert.ics": feeds.get("/calendar/series/kommunal-engagiert.ics").status_code,
    }


def test_a_seminar_in_the_year_9999_is_refused_and_every_page_stays_up(client, feeds, world):
    far = {"title": "Fern", "starts_at": FAR.isoformat(), "ends_at": (FAR + timedelta(hours=1)).isoformat(),
           "publish": True}
    answer = client.post(f"{MANAGE}/events", json=far, headers=world["token"])
    assert answer.status_code == 422
    assert answer.json["errors"]["starts_at"] == ["Bitte ein Datum zwischen dem 1. Januar 2000 und dem 31. Dezember "
                                                  "2099 angeben."]
    assert set(public_pages_answer(client, feeds).values()) == {200}


@pytest.mark.parametrize("query", [
    "from=0001-01-01T00:00:00%2B14:00", "to=9999-12-31T23:59:59-14:00", "from=1999-12-31T22:59:59-01:00",
])
def test_public_lists_refuse_moments_outside_the_accepted_dates(client, query):
    answer = client.get(f"/api/v1/events?{query}", headers={"Accept-Language": "en"})
    assert answer.status_code == 422
    assert answer.mimetype == "application/problem+json"
    assert answer.json["code"] == "validation_failed"


def test_a_seminar_longer_than_a_week_is_refused_when_created_and_when_moved(client, world, runtime):
    start = berlin(2027, 3, 3, 13, 30)
    week = {"title": "Woche", "starts_at": start.isoformat(), "ends_at": (start + timedelta(days=7, minutes=1)).isoformat()}
    created = client.post(f"{MANAGE}/events", json=week, headers=world["token"])
    assert created.status_code == 422 and "ends_at" in created.json["errors"]

    week["ends_at"] = (start + timedelta(days=7)).isoformat()  # a week exactly is fine
    seminar = client.post(f"{MANAGE}/events", json={**week, "publish": True}, headers=world["token"]).json
    moved = client.post(f"{MANAGE}/events/{seminar['id']}/move", headers=world["token"],
                        json={"ends_at": (start + timedelta(days=8)).isoformat()})
    assert moved.status_code == 422 and moved.json["code"] == "seminar_too_long"
    out_of_range = client.post(f"{MANAGE}/events/{seminar['id']}/move", headers=world["token"],
                               json={"starts_at": "2100-01-01T10:00:00+00:00"})
    assert out_of_range.status_code == 422 and "starts_at" in out_of_range.json["errors"]


def test_a_seminar_stored_beyond_the_dates_is_left_out_of_lists_and_feeds_and_counted(client, feeds, world, runtime):
    # Written as an installation from before the bounds may hold it.
    with write_transaction(runtime.sessions) as session:
        make_seminar(session, session.get(Organiser, world["theirs"]), title="Jenseits", starts_at=FAR,
                     ends_at=FAR + timedelta(hours=1), status=SeminarStatus.PUBLISHED)
    before = _left_out(client)
    assert set(public_pages_answer(client, feeds).values()) == {200}
    listed = [seminar["title"] for seminar in client.get("/api/v1/events").json]
    assert "Jenseits" not in listed and {"Unser Seminar", "Ihr Seminar"} <= set(listed)
    assert b"Ihr Seminar" in feeds.get("/calendar/organisers/landkreis.ics").data
    assert _left_out(client) > before


def test_a_seminar_stored_beyond_the_dates_still_shows_on_its_organisers_pages(client, world, runtime):
    with write_transaction(runtime.sessions) as session:
        seminar = make_seminar(session, session.get(Organiser, world["ours"]), title="Jenseits", starts_at=FAR,
                               ends_at=FAR + timedelta(hours=1))
        seminar_id = seminar.id
    assert client.get(f"{MANAGE}/events", headers=world["token"]).status_code == 200
    assert client.get(f"{MANAGE}/events/{seminar_id}", headers=world["token"]).status_code == 200
    add_member(runtime, world["ours"], Role.ADMIN, "admin@stiftung.example")
    log_in(client, "admin@stiftung.example", "ein langes Passwort")
    assert client.get("/manage/stiftung/").status_code == 200
    page = client.get(f"/manage/stiftung/seminars/{seminar_id}")
    assert page.status_code == 200 and "Jenseits" in page.get_data(as_text=True)


def test_the_seminar_form_refuses_a_date_before_the_first_day_datetime_knows(client, world, runtime):
    add_member(runtime, world["ours"], Role.EDITOR, "redaktion@stiftung.example")
    log_in(client, "redaktion@stiftung.example", "ein langes Passwort")
    form = {"csrf_token": csrf(client), "title": "Alt", "format": "online", "timezone": "Europe/Berlin",
            "language": "de", "date": "0001-01-01", "start_time": "00:30", "end_time": "01:30"}
    answer = client.post("/manage/stiftung/seminars/new", data=form)
    assert answer.status_code == 422
    assert "Bitte ein Datum zwischen dem 1. Januar 2000" in answer.get_data(as_text=True)


def _left_out(client) -> float:
    """The count of seminars left out of lists and feeds, as /metrics reports it (this process)."""
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith('seminare_left_out_total{what="seminar"}'):
            return float(line.split()[-1])
    return 0.0
