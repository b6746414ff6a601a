"""Embedding on partner websites: CORS for allowed origins only, frame-ancestors, the iframe form, the snippets."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from services.registration import create_app
from services.registration.manage.views import embed_snippets
from shared.db import read_session, write_transaction
from shared.models import Registration, RegistrationStatus, Role
from tests.factories import PASSWORD, add_member, make_organiser, make_seminar, make_series
from tests.organiser_pages import log_in

PARTNER = "https://www.partner-verein.de"
STRANGER = "https://fremde-seite.example"
ERIKA = {"name": "Erika Mustermann", "email": "erika@example.org", "consent": True}
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}



def frame_ancestors(response) -> str:
    """The frame-ancestors directive of an answer's Content-Security-Policy."""
    directives = [part.strip() for part in response.headers["Content-Security-Policy"].split(";")]
    return next(part for part in directives if part.startswith("frame-ancestors"))


@pytest.fixture
def app(settings):
    """The registration app taking form posts at once: people need seconds to fill in a form, tests do not."""
    app = create_app(replace(settings, form_min_fill_seconds=0))
    yield app
    app.extensions["runtime"].close()


@pytest.fixture
def world(runtime):
    """Our organiser allows PARTNER and has a series with one seminar; another organiser allows STRANGER."""
    with write_transaction(runtime.sessions) as session:
        ours = make_organiser(session, slug="stiftung", allowed_origins=[PARTNER + "/"])
        theirs = make_organiser(session, allowed_origins=[STRANGER])
        series = make_series(session, ours, slug="kommunal-engagiert")
        seminar = make_seminar(session, ours, series=series, title="Bürgerhaushalt <live>")
        their_seminar = make_seminar(session, theirs)
        return SimpleNamespace(seminar=seminar.id, their_seminar=their_seminar.id, series=series.slug,
                               organiser=ours.slug, organiser_id=ours.id)


def registrations(runtime) -> list[Registration]:
    with read_session(runtime.sessions) as session:
        return session.scalars(select(Registration)).all()


def form_token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


# --- CORS on the public API ---------------------------------------------------------------


def test_allowed_partner_reads_a_seminar_and_its_series_with_cors(client, world):
    for path in (f"/api/v1/events/{world.seminar}", f"/api/v1/events?series={world.series}",
                 f"/api/v1/events?organiser={world.organiser}"):
        response = client.get(path, headers={"Origin": PARTNER})
        assert response.status_code == 200, path
        assert response.headers["Access-Control-Allow-Origin"] == PARTNER
        assert "Origin" in response.headers["Vary"]
        assert "Access-Control-Allow-Credentials" not in response.headers


def test_preflight_from_an_allowed_partner_permits_a_json_post(client, world):
    response = client.options(f"/api/v1/events/{world.seminar}/registrations",
                              headers={"Origin": PARTNER, **PREFLIGHT})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == PARTNER
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "content-type" in response.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_allowed_partner_registers_with_a_json_post(client, runtime, world):
    response = client.post(f"/api/v1/events/{world.seminar}/registrations", json=ERIKA,
                           headers={"Origin": PARTNER})
    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == PARTNER
    assert [r.email for r in registrations(runtime)] == ["erika@example.org"]


def test_preflight_from_a_stranger_is_refused(client, world):
    response = client.options(f"/api/v1/events/{world.seminar}/registrations",
                              headers={"Origin": STRANGER, **PREFLIGHT})
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers


@pytest.mark.parametrize("language, detail", [("de", "Diese Website darf"), ("en", "This website may not")])
def test_post_from_a_stranger_is_refused_on_the_server_in_the_participants_language(
        client, runtime, world, language, detail):
    # Another organiser's partner, and the browser's CORS check skipped (as curl or a bot would).
    response = client.post(f"/api/v1/events/{world.seminar}/registrations", json={**ERIKA, "language": language},
                           headers={"Origin": STRANGER})
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "origin_not_allowed"
    assert response.json["detail"].startswith(detail)
    assert registrations(runtime) == []


def test_reading_from_a_stranger_gets_a_refusal_it_can_read_but_no_seminar(client, world):
    response = client.get(f"/api/v1/events/{world.seminar}", headers={"Origin": STRANGER, "Accept-Language": "en"})
    assert response.status_code == 403
    assert response.json["code"] == "origin_not_allowed" and response.json["title"] == "Website not allowed"
    assert "Bürgerhaushalt" not in response.get_data(as_text=True)
    # Readable, so that the widget can show why; the refusal carries no seminar data.
    assert response.headers["Access-Control-Allow-Origin"] == STRANGER
    series = client.get(f"/api/v1/events?series={world.series}", headers={"Origin": STRANGER})
    assert series.status_code == 403


def test_requests_without_origin_and_from_the_service_itself_work_as_before(client, runtime, settings, world):
    plain = client.get(f"/api/v1/events/{world.seminar}")
    assert plain.status_code == 200 and "Access-Control-Allow-Origin" not in plain.headers
    own = client.post(f"/api/v1/events/{world.seminar}/registrations", json=ERIKA,
                      headers={"Origin": settings.registration_base_url})
    assert own.status_code == 201
    anyone = client.post(f"/api/v1/events/{world.their_seminar}/registrations", json=ERIKA)
    assert anyone.status_code == 201
    assert len(registrations(runtime)) == 2


def test_unknown_seminar_from_a_partner_is_still_not_found(client, world):
    response = client.get("/api/v1/events/999999", headers={"Origin": PARTNER})
    assert response.status_code == 404 and response.json["code"] == "seminar_not_found"


# --- the iframe pages -----------------------------------------------------------------------


def test_iframe_pages_may_be_framed_only_by_the_organisers_partners(client, world):
    for path in (f"/embed/events/{world.seminar}", f"/embed/series/{world.series}",
                 f"/embed/events/{world.seminar}/registered?status=pending"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert frame_ancestors(response) == f"frame-ancestors 'self' {PARTNER}", path
    their = client.get(f"/embed/events/{world.their_seminar}")
    assert frame_ancestors(their) == f"frame-ancestors 'self' {STRANGER}"
    unknown = client.get("/embed/series/gibt-es-nicht", headers={"Accept": "text/html"})
    assert unknown.status_code == 404
    assert frame_ancestors(unknown) == "frame-ancestors 'self'"


def test_series_iframe_lists_the_upcoming_seminars_with_links_to_their_forms(client, world):
    page = client.get(f"/embed/series/{world.series}?lang=en").get_data(as_text=True)
    assert "Bürgerhaushalt &lt;live&gt;" in page and "Seats left: 20" in page
    assert f'href="/embed/events/{world.seminar}?lang=en&amp;series={world.series}"' in page


def test_iframe_form_post_registers_and_the_result_page_says_what_comes_next(client, runtime, world):
    path = f"/embed/events/{world.seminar}?lang=en"
    response = client.post(path, data={"form_token": form_token(client, path), "name": "Erika",
                                       "email": "erika@example.org", "consent": "yes"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/embed/events/{world.seminar}/registered?status=pending")
    result = client.get(response.headers["Location"])
    assert "Almost done: please confirm your registration" in result.get_data(as_text=True)
    assert "frame.js" in result.get_data(as_text=True)
    assert [(r.email, r.status, r.language) for r in registrations(runtime)] == [
        ("erika@example.org", RegistrationStatus.PENDING, "en")]


@pytest.mark.parametrize("token", [None, "1.forged.token", "other seminar"])
def test_iframe_form_post_without_a_valid_token_is_refused(client, runtime, world, token):
    path = f"/embed/events/{world.seminar}"
    if token == "other seminar":
        token = form_token(client, f"/embed/events/{world.their_seminar}")
    data = {"name": "Erika", "email": "erika@example.org", "consent": "yes"}
    response = client.post(path, data=data if token is None else {**data, "form_token": token})
    assert response.status_code == 400
    assert "Das Formular ist abgelaufen" in response.get_data(as_text=True)
    assert registrations(runtime) == []


def test_iframe_honeypot_looks_like_success_but_stores_nothing(client, runtime, world):
    path = f"/embed/events/{world.seminar}"
    response = client.post(path, data={"form_token": form_token(client, path), "name": "Bot", "consent": "yes",
                                       "email": "bot@example.org", "website": "http://spam.example"})
    assert response.status_code == 302 and "/registered?status=pending" in response.headers["Location"]
    assert registrations(runtime) == []


def test_iframe_form_post_faster_than_a_person_stores_nothing(settings, runtime, world):
    app = create_app(replace(settings, form_min_fill_seconds=60))
    client = app.test_client()
    path = f"/embed/events/{world.seminar}"
    response = client.post(path, data={"form_token": form_token(client, path), **ERIKA, "consent": "yes"})
    app.extensions["runtime"].close()
    assert response.status_code == 302
    assert registrations(runtime) == []


def test_iframe_form_shows_field_errors_next_to_the_fields(client, runtime, world):
    path = f"/embed/events/{world.seminar}?lang=en"
    response = client.post(path, data={"form_token": form_token(client, path), "name": "", "email": "nope"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="email-error">Please enter a valid email address.' in page
    assert 'aria-describedby="consent-error"' in page
    assert f'action="/embed/events/{world.seminar}?lang=en"' in page
    assert frame_ancestors(response) == f"frame-ancestors 'self' {PARTNER}"
    assert registrations(runtime) == []


def test_iframe_form_post_counts_against_the_rate_limit(settings, runtime, world):
    app = create_app(replace(settings, rate_limit_per_ip="2/minute", form_min_fill_seconds=0))
    client = app.test_client()
    path = f"/embed/events/{world.seminar}"
    statuses = [client.post(path, data={"form_token": form_token(client, path), "name": "Erika", "consent": "yes",
                                        "email": f"erika{n}@example.org"}).status_code for n in range(3)]
    app.extensions["runtime"].close()
    assert statuses == [302, 302, 429]


# --- the widget script and the snippets -------------------------------------------------------


def test_widget_script_is_cached_and_revalidated_with_an_etag(client, settings):
    response = client.get("/widget.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.cache_control.max_age >= 600 and response.cache_control.public
    script = response.get_data(as_text=True)
    assert f'const SERVICE = "{settings.registration_base_url}"' in script
    assert "Ich stimme zu, dass meine Angaben" in script  # the consent text the server stores the version of
    assert "localStorage" not in script and "document.cookie" not in script
    again = client.get("/widget.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_organiser_pages_offer_the_widget_and_iframe_snippets(client, runtime, settings, world):
    add_member(runtime, world.organiser_id, Role.ADMIN, "admin@stiftung.example")
    assert log_in(client, "admin@stiftung.example", PASSWORD).status_code == 302
    base = settings.registration_base_url

    seminar_page = client.get(f"/manage/{world.organiser}/seminars/{world.seminar}").get_data(as_text=True)
    seminar_page = html.unescape(seminar_page)
    widget = f'<script src="{base}/widget.js" async></script>\n<seminar-registration event="{world.seminar}">'
    assert widget in seminar_page
    # What the organiser copies: the title is escaped, so that it cannot break out of the attribute.
    iframe = f'<iframe src="{base}/embed/events/{world.seminar}?lang=de" title="Bürgerhaushalt &lt;live&gt;"'
    assert iframe in seminar_page
    assert f'<seminar-registration series="{world.series}">' in seminar_page
    assert PARTNER in seminar_page  # the allowed websites are named next to the code
    series_page = html.unescape(client.get(f"/manage/{world.organiser}/series").get_data(as_text=True))
    assert f'<seminar-registration series="{world.series}">' in series_page


def test_the_readme_shows_the_iframe_snippet_the_organiser_pages_hand_out(settings):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    documented = readme.split("**iframe**", 1)[1].split("```html\n", 1)[1].split("\n```", 1)[0]
    app = create_app(replace(settings, registration_base_url="https://anmeldung.example.org"))
    try:
        with app.app_context():
            handed_out = embed_snippets("Bürgerhaushalt einfach erklärt", event_id=12)["iframe"]
    finally:
        app.extensions["runtime"].close()
    assert documented == handed_out
    assert 'addEventListener("message"' in documented  # the frame grows with its content
