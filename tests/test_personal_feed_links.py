"""A personal feed shows one address's seminars at one organiser, and a new feed address ends every earlier one."""

from __future__ import annotations

import pytest
from services.registration.domain.registrations import cancel_registration, register, renew_feed_link
from shared.db import read_session, write_transaction
from shared.links import personal_feed_url
from shared.models import Registration
from tests.factories import make_organiser, make_seminar, person

ERIKA = "erika@example.org"


@pytest.fixture
def seminars(runtime) -> dict[str, int]:
    """Two seminars of the foundation and one of the district, each with its own join link; no double opt-in."""
    with write_transaction(runtime.sessions) as session:
        foundation, district = make_organiser(session), make_organiser(session)
        made = {
            "first": make_seminar(session, foundation, title="Stiftung eins", join_url="https://meet.example/eins",
                                  double_opt_in=False),
            "second": make_seminar(session, foundation, title="Stiftung zwei", join_url="https://meet.example/zwei",
                                   double_opt_in=False),
            "district": make_seminar(session, district, title="Landkreis", join_url="https://meet.example/kreis",
                                     double_opt_in=False),
        }
        return {name: seminar.id for name, seminar in made.items()}


def feed_path(runtime, settings, registration_id: int) -> str:
    """The personal feed link the registration's own page shows now."""
    with read_session(runtime.sessions) as session:
        registration = session.get(Registration, registration_id)
        url = personal_feed_url(settings, registration.id, registration.feed_nonce)
    return url.removeprefix(settings.calendar_base_url)


def test_the_feed_shows_the_organisers_seminars_of_the_address_and_no_other_organisers_link(
        runtime, settings, feeds, seminars):
    ids = {name: register(runtime, seminar_id, person(email=ERIKA)).registration_id
           for name, seminar_id in seminars.items()}
    body = feeds.get(feed_path(runtime, settings, ids["first"])).get_data(as_text=True)
    assert "Stiftung eins" in body and "Stiftung zwei" in body and "meet.example/zwei" in body
    assert "Landkreis" not in body and "meet.example/kreis" not in body
    district = feeds.get(feed_path(runtime, settings, ids["district"])).get_data(as_text=True)
    assert "Landkreis" in district and "Stiftung" not in district


def test_a_new_feed_address_ends_the_old_links_of_every_registration_of_the_address(runtime, settings, feeds, seminars):
    first = register(runtime, seminars["first"], person(email=ERIKA)).registration_id
    second = register(runtime, seminars["second"], person(email=ERIKA)).registration_id
    elsewhere = register(runtime, seminars["district"], person(email=ERIKA)).registration_id
    old = {name: feed_path(runtime, settings, registration_id)
           for name, registration_id in (("first", first), ("second", second), ("district", elsewhere))}
    assert all(feeds.get(path).status_code == 200 for path in old.values())

    renew_feed_link(runtime, second)
    assert feeds.get(old["first"]).status_code == 404
    assert feeds.get(old["second"]).status_code == 404
    assert feeds.get(old["district"]).status_code == 200  # another organiser's feed is another feed
    for registration_id in (first, second):
        assert feeds.get(feed_path(runtime, settings, registration_id)).status_code == 200


def test_registering_again_after_cancelling_gives_the_registration_a_new_feed_address(runtime, settings, feeds, seminars):
    registration_id = register(runtime, seminars["first"], person(email=ERIKA)).registration_id
    old = feed_path(runtime, settings, registration_id)
    cancel_registration(runtime, registration_id)
    again = register(runtime, seminars["first"], person(email=ERIKA))
    assert again.registration_id == registration_id  # the row is reused
    assert feeds.get(old).status_code == 404
    assert feeds.get(feed_path(runtime, settings, registration_id)).status_code == 200
