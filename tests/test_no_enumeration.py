"""With double opt-in, the answer to a registration never tells whether the address was registered already."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from services.registration import create_app
from services.registration.domain.registrations import confirm_address
from shared.db import read_session
from shared.models import Notification, NotificationKind, Registration, RegistrationStatus
from tests.factories import add_seminar, person


def api_answer(client, seminar_id: int, who: dict):
    """Status code and body of a registration through the public API."""
    response = client.post(f"/api/v1/events/{seminar_id}/registrations", json=who)
    return response.status_code, response.json


def mails_to(runtime, email: str) -> list[NotificationKind]:
    with read_session(runtime.sessions) as session:
        return list(session.scalars(
            select(Notification.kind).join(Registration).where(Registration.email_key == email.lower())
            .order_by(Notification.id)))


def registration_of(runtime, email: str) -> Registration:
    with read_session(runtime.sessions) as session:
        return session.scalar(select(Registration).where(Registration.email_key == email.lower()))


def test_a_registered_address_gets_the_answer_a_new_one_gets_whatever_its_status(client, runtime):
    seminar_id = add_seminar(runtime, capacity=2)  # double opt-in, with a waiting list
    anna, bert = person(email="anna@example.org"), person(email="bert@example.org")
    assert api_answer(client, seminar_id, anna) == (201, {"status": "pending", "seminar_id": seminar_id})
    # Anna's address again, while it is unconfirmed, and once she has confirmed.
    assert api_answer(client, seminar_id, anna) == (201, {"status": "pending", "seminar_id": seminar_id})
    confirm_address(runtime, registration_of(runtime, "anna@example.org").id)
    assert registration_of(runtime, "anna@example.org").status == RegistrationStatus.CONFIRMED
    assert api_answer(client, seminar_id, anna) == (201, {"status": "pending", "seminar_id": seminar_id})
    # A newcomer gets the very same answer, seat or waiting list.
    assert api_answer(client, seminar_id, bert) == (201, {"status": "pending", "seminar_id": seminar_id})
    carla = person(email="carla@example.org")
    assert api_answer(client, seminar_id, carla) == (201, {"status": "pending", "seminar_id": seminar_id})
    assert registration_of(runtime, "carla@example.org").status == RegistrationStatus.WAITLISTED
    # The mailbox learns the truth: Anna hears she is registered already (once an hour), Carla that she waits.
    assert mails_to(runtime, "anna@example.org") == [
        NotificationKind.CONFIRM_ADDRESS, NotificationKind.ALREADY_REGISTERED, NotificationKind.CONFIRMED]
    assert mails_to(runtime, "carla@example.org") == [NotificationKind.WAITLISTED]


def test_a_full_seminar_refuses_a_registered_address_as_it_refuses_a_newcomer(client, runtime):
    seminar_id = add_seminar(runtime, capacity=1, waitlist_enabled=False)
    anna = person(email="anna@example.org")
    assert api_answer(client, seminar_id, anna)[0] == 201
    newcomer = api_answer(client, seminar_id, person(email="bert@example.org"))
    again = api_answer(client, seminar_id, anna)
    assert newcomer == again
    assert again[0] == 409 and again[1]["code"] == "seminar_full"
    assert mails_to(runtime, "anna@example.org") == [NotificationKind.CONFIRM_ADDRESS,
                                                     NotificationKind.ALREADY_REGISTERED]


@pytest.fixture
def form_client(settings):
    app = create_app(replace(settings, form_min_fill_seconds=0))
    yield app.test_client()
    app.extensions["runtime"].close()


def test_the_html_form_leads_a_registered_address_where_it_leads_a_newcomer(form_client, runtime):
    seminar_id = add_seminar(runtime, capacity=1)

    def post(email: str) -> str:
        page = form_client.get(f"/events/{seminar_id}").get_data(as_text=True)
        token = page.split('name="form_token" value="', 1)[1].split('"', 1)[0]
        response = form_client.post(f"/events/{seminar_id}", data={
            "form_token": token, "name": "Erika", "email": email, "consent": "yes"})
        assert response.status_code == 302
        return response.headers["Location"]

    first, again, waiting = post("erika@example.org"), post("erika@example.org"), post("nora@example.org")
    # Each page's link carries a token of its registration: random, signed, without the registration's id.
    tokens = [parse_qs(urlsplit(location).query)["t"][0] for location in (first, again, waiting)]
    assert len({re.sub(r"[?&]t=[^&]+", "", location) for location in (first, again, waiting)}) == 1
    assert "status=pending" in first
    for token in tokens:
        payload = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        assert payload[0] == seminar_id and isinstance(payload[1], str) and len(payload) == 2


def test_without_double_opt_in_an_address_gets_its_first_answer_again(client, runtime):
    # The documented trade-off: a seminar that confirms at once says whether a seat was taken.
    seminar_id = add_seminar(runtime, capacity=1, double_opt_in=False)
    anna = person(email="anna@example.org")
    assert api_answer(client, seminar_id, anna)[1]["status"] == "confirmed"
    assert api_answer(client, seminar_id, person(email="bert@example.org"))[1]["status"] == "waitlisted"
    assert api_answer(client, seminar_id, anna)[1]["status"] == "confirmed"
