"""The server-rendered seminar page and form, and the participant's own page."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sqlalchemy import select

from services.registration import create_app
from shared.db import read_session, write_transaction
from shared.links import participant_page_url
from shared.models import Notification, NotificationKind, Registration, RegistrationStatus, SeminarStatus
from tests.factories import make_seminar
from tests.translations import german_left_in, german_words_in


@pytest.fixture
def client(settings):
    # People need seconds to fill in the form; tests do not wait that long.
    app = create_app(replace(settings, form_min_fill_seconds=0))
    yield app.test_client()
    app.extensions["runtime"].close()


def seminar_id(runtime, **overrides) -> int:
    with write_transaction(runtime.sessions) as session:
        return make_seminar(session, **overrides).id


def form_token(client, event_id: int) -> str:
    page = client.get(f"/events/{event_id}").get_data(as_text=True)
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


def registrations(runtime):
    with read_session(runtime.sessions) as session:
        return session.scalars(select(Registration)).all()


def test_start_page_lists_upcoming_seminars(client, runtime):
    event_id = seminar_id(runtime, title="Junge Wilde")
    page = client.get("/").get_data(as_text=True)
    assert f'href="/events/{event_id}?lang=de"' in page and "Junge Wilde" in page
    assert '<html lang="de">' in page


def test_a_cancelled_seminar_is_marked_on_the_start_page_and_its_own(client, runtime):
    on_id = seminar_id(runtime, title="Junge Wilde")
    off_id = seminar_id(runtime, title="Fördermittel für Vereine", status=SeminarStatus.CANCELLED)
    page = client.get("/").get_data(as_text=True)
    on = page[page.index(f'id="seminar-{on_id}"'):]
    on = on[:on.index("</h2>")]
    off = page[page.index(f'id="seminar-{off_id}"'):]
    off = off[:off.index("</h2>")]
    assert "Abgesagt" in off and "Fördermittel für Vereine" in off
    assert "Abgesagt" not in on
    english = client.get("/?lang=en").get_data(as_text=True)
    assert '<span class="tag">Cancelled</span>' in english
    detail = client.get(f"/events/{off_id}").get_data(as_text=True)
    assert '<h1><span class="tag">Abgesagt</span> Fördermittel für Vereine</h1>' in detail


def test_form_post_registers_and_says_what_happens_next(client, runtime):
    event_id = seminar_id(runtime)
    response = client.post(f"/events/{event_id}", data={
        "form_token": form_token(client, event_id), "name": "Erika", "email": "erika@example.org",
        "consent": "yes",
    })
    assert response.status_code == 302
    result = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Fast geschafft: Bitte bestätigen Sie Ihre Anmeldung" in result and "erika@example.org" in result
    assert [(r.email, r.status) for r in registrations(runtime)] == [("erika@example.org", RegistrationStatus.PENDING)]


def test_form_errors_are_shown_next_to_the_fields(client, runtime):
    event_id = seminar_id(runtime)
    response = client.post(f"/events/{event_id}?lang=en", data={
        "form_token": form_token(client, event_id), "name": "", "email": "nope",
    })
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="email-error">Please enter a valid email address.' in page
    assert 'aria-describedby="consent-error"' in page
    assert registrations(runtime) == []


def test_honeypot_and_forged_tokens_store_nothing(client, runtime):
    event_id = seminar_id(runtime)
    filled = {"name": "Bot", "email": "bot@example.org", "consent": "yes"}
    honeypot = client.post(f"/events/{event_id}", data={**filled, "form_token": form_token(client, event_id),
                                                        "website": "http://spam.example"})
    assert honeypot.status_code == 302  # looks like success to the bot
    forged = client.post(f"/events/{event_id}", data={**filled, "form_token": "1.forged.token"})
    assert forged.status_code == 400
    other_seminar = client.post(f"/events/{event_id}", data={**filled, "form_token": form_token(client, seminar_id(runtime))})
    assert other_seminar.status_code == 400
    assert registrations(runtime) == []


def test_participant_confirms_on_their_page_with_a_post(client, runtime, settings):
    event_id = seminar_id(runtime)
    client.post(f"/api/v1/events/{event_id}/registrations",
                json={"name": "Erika", "email": "erika@example.org", "consent": True})
    registration = registrations(runtime)[0]
    url = participant_page_url(settings, registration.id, registration.token_nonce)
    path = url.removeprefix(settings.registration_base_url)

    page = client.get(path).get_data(as_text=True)
    assert "E-Mail-Adresse bestätigen" in page and 'method="post"' in page
    assert registrations(runtime)[0].status == RegistrationStatus.PENDING  # a GET changes nothing

    assert client.post(f"{path}/confirm").status_code == 302
    assert client.post(f"{path}/confirm").status_code == 302  # twice is harmless
    assert registrations(runtime)[0].status == RegistrationStatus.CONFIRMED
    with read_session(runtime.sessions) as session:
        kinds = sorted(n.kind.value for n in session.scalars(select(Notification)))
    assert kinds == [NotificationKind.CONFIRM_ADDRESS.value, NotificationKind.CONFIRMED.value]


def test_tampered_or_revoked_participant_links_are_not_found(client, runtime, settings):
    event_id = seminar_id(runtime)
    client.post(f"/api/v1/events/{event_id}/registrations",
                json={"name": "Erika", "email": "erika@example.org", "consent": True})
    registration = registrations(runtime)[0]
    path = participant_page_url(settings, registration.id, registration.token_nonce).removeprefix(
        settings.registration_base_url)
    assert client.get(path[:-2] + "xx").status_code == 404
    with write_transaction(runtime.sessions) as session:
        session.get(Registration, registration.id).token_nonce = "renewed"
    assert client.get(path).status_code == 404


def test_cancelling_asks_once_more_and_then_frees_the_seat(client, runtime, settings):
    event_id = seminar_id(runtime, capacity=1, double_opt_in=False)
    for n in (1, 2):
        client.post(f"/api/v1/events/{event_id}/registrations",
                    json={"name": f"P{n}", "email": f"p{n}@example.org", "consent": True})
    first = registrations(runtime)[0]
    path = participant_page_url(settings, first.id, first.token_nonce).removeprefix(settings.registration_base_url)

    question = client.get(f"{path}/cancel").get_data(as_text=True)
    assert "Wirklich abmelden?" in question and 'method="post"' in question
    assert registrations(runtime)[0].status == RegistrationStatus.CONFIRMED  # GET changes nothing

    assert client.post(f"{path}/cancel").status_code == 302
    assert client.post(f"{path}/cancel").status_code == 302
    assert [r.status for r in registrations(runtime)] == [RegistrationStatus.CANCELLED, RegistrationStatus.CONFIRMED]
    assert "Sie sind abgemeldet." in client.get(path).get_data(as_text=True)


def test_participant_calendar_file_has_the_join_link_only_when_confirmed(client, runtime, settings):
    import icalendar

    event_id = seminar_id(runtime, join_url="https://meet.example/raum-7")
    client.post(f"/api/v1/events/{event_id}/registrations",
                json={"name": "Erika", "email": "erika@example.org", "consent": True})
    registration = registrations(runtime)[0]
    path = participant_page_url(settings, registration.id, registration.token_nonce).removeprefix(
        settings.registration_base_url)
    pending = client.get(f"{path}/seminar.ics")
    assert pending.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert b"raum-7" not in pending.data
    client.post(f"{path}/confirm")
    event = icalendar.Calendar.from_ical(client.get(f"{path}/seminar.ics").data).walk("VEVENT")[0]
    assert "https://meet.example/raum-7" in str(event["DESCRIPTION"])
    assert str(event["UID"]) == f"seminar-{event_id}@127.0.0.1"
    page = client.get(path).get_data(as_text=True)
    assert "calendar.google.com/calendar/render?action=TEMPLATE" in page


def test_form_asks_the_seminars_questions(client, runtime):
    from shared.models import Question, QuestionKind

    event_id = seminar_id(runtime)
    with write_transaction(runtime.sessions) as session:
        session.add(Question(seminar_id=event_id, key="role", kind=QuestionKind.SINGLE_CHOICE, required=True,
                             label_de="Ihre Rolle", label_en="Your role",
                             options=[{"value": "mayor", "label_de": "Ortsbürgermeisterin oder Ortsbürgermeister", "label_en": "Mayor"}]))
    page = client.get(f"/events/{event_id}").get_data(as_text=True)
    assert "<legend>Ihre Rolle" in page and 'name="q-role" value="mayor"' in page
    base = {"form_token": form_token(client, event_id), "name": "Erika", "email": "erika@example.org",
            "consent": "yes"}
    missing = client.post(f"/events/{event_id}", data=base)
    assert missing.status_code == 422 and 'id="q-role-error">Dieses Feld ist erforderlich.' in missing.get_data(as_text=True)
    assert client.post(f"/events/{event_id}", data={**base, "q-role": "mayor"}).status_code == 302
    assert registrations(runtime)[0].answers == {"role": "mayor"}


def test_participant_page_offers_the_personal_feed_and_renews_its_address(client, runtime, settings):
    from html import unescape
    from urllib.parse import parse_qs, urlsplit

    from services.calendar_feed import create_app as create_feed_app

    event_id = seminar_id(runtime, double_opt_in=False, join_url="https://meet.example/raum-9")
    client.post(f"/api/v1/events/{event_id}/registrations",
                json={"name": "Erika", "email": "erika@example.org", "consent": True})
    registration = registrations(runtime)[0]
    path = participant_page_url(settings, registration.id, registration.token_nonce).removeprefix(
        settings.registration_base_url)
    page = unescape(client.get(path).get_data(as_text=True))
    webcal = re.search(r'href="(webcal://[^"]+/calendar/personal/[^"]+\.ics)"', page).group(1)
    feed_path = urlsplit(webcal).path
    google = re.search(r'href="(https://calendar\.google\.com/calendar/render\?cid=[^"]+)"', page).group(1)
    assert parse_qs(urlsplit(google).query)["cid"] == [webcal]
    outlook = re.search(r'href="(https://outlook\.live\.com/calendar/0/addfromweb\?[^"]+)"', page).group(1)
    assert parse_qs(urlsplit(outlook).query)["url"] == [f"{settings.calendar_base_url}{feed_path}"]

    feed_app = create_feed_app(settings)
    try:
        feeds = feed_app.test_client()
        assert b"raum-9" in feeds.get(feed_path).data
        assert client.post(f"{path}/feed").status_code == 302
        assert feeds.get(feed_path).status_code == 404  # the old address is dead at once
        renewed = urlsplit(re.search(r'href="(webcal://[^"]+)"', unescape(client.get(path).get_data(as_text=True)))
                           .group(1)).path
        assert renewed != feed_path and feeds.get(renewed).status_code == 200
    finally:
        feed_app.extensions["runtime"].close()


def test_every_page_of_a_registration_in_english_carries_no_german(client, runtime, settings):
    event_id = seminar_id(runtime)
    english = {"lang": "en"}
    posted = client.post(f"/events/{event_id}", query_string=english, data={
        "form_token": form_token(client, event_id), "name": "Erika", "email": "erika@example.org", "consent": "yes"})
    assert posted.status_code == 302, posted.get_data(as_text=True)[:3000]
    pages = {"registered": client.get(posted.headers["Location"]).get_data(as_text=True)}
    registration = registrations(runtime)[0]
    path = participant_page_url(settings, registration.id, registration.token_nonce).removeprefix(
        settings.registration_base_url)
    pages["pending"] = client.get(path, query_string=english).get_data(as_text=True)
    client.post(f"{path}/confirm", query_string=english)
    pages["confirmed"] = client.get(path, query_string=english).get_data(as_text=True)
    pages["cancel question"] = client.get(f"{path}/cancel", query_string=english).get_data(as_text=True)
    client.post(f"{path}/cancel", query_string=english)
    pages["cancelled"] = client.get(path, query_string=english).get_data(as_text=True)
    pages["form errors"] = client.post(f"/events/{event_id}", query_string=english, data={
        "form_token": form_token(client, event_id), "name": "", "email": "nope"}).get_data(as_text=True)

    assert "You are no longer registered." in pages["cancelled"]
    for name, page in pages.items():
        assert german_left_in(page) == [], name
        assert german_words_in(page, data=("Ein Seminar für Tests.",)) == set(), name


def test_a_full_seminar_says_before_sending_that_the_form_leads_to_the_waiting_list(client, runtime):
    event_id = seminar_id(runtime, capacity=1, seats_taken=1)
    page = client.get(f"/events/{event_id}").get_data(as_text=True)
    assert "Ausgebucht – Sie kommen auf die Warteliste." in page
    assert '<button type="submit">Auf die Warteliste</button>' in page and "Verbindlich anmelden" not in page
    english = client.get(f"/events/{event_id}?lang=en").get_data(as_text=True)
    assert '<button type="submit">Join the waiting list</button>' in english
    assert client.get(f"/api/v1/events/{event_id}").get_json()["registration"]["waiting_list"] is True

    free = client.get(f"/events/{seminar_id(runtime, capacity=2, seats_taken=1)}").get_data(as_text=True)
    assert "Freie Plätze: 1" in free and '<button type="submit">Verbindlich anmelden</button>' in free
    assert "Warteliste." not in free


def test_a_closed_registration_says_since_when_and_whom_to_ask(client, runtime):
    from datetime import timedelta

    from tests.factories import berlin
    from shared.times import utcnow

    closed_id = seminar_id(runtime, starts_at=utcnow() + timedelta(days=3),
                           registration_closes_at=berlin(2026, 11, 30, 12, 0))
    page = client.get(f"/events/{closed_id}").get_data(as_text=True)
    assert "Die Anmeldung für dieses Seminar ist beendet." in page
    assert "Sie ist seit Montag, 30. November 2026, 12:00 Uhr geschlossen." in page
    assert "Fragen? Schreiben Sie an" in page and 'href="mailto:' in page and "<form" not in page.split("<main>")[1]

    later_id = seminar_id(runtime, registration_opens_at=berlin(2036, 1, 5, 9, 0),
                          starts_at=berlin(2036, 2, 4, 13, 30))
    english = client.get(f"/events/{later_id}?lang=en").get_data(as_text=True)
    assert "It opens on Saturday, 5 January 2036, 09:00." in english and "Questions? Write to" in english
