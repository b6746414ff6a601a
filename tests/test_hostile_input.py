"""Input meant to break things gets a clear 4xx answer, never a 500, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from services.calendar_feed import create_app as create_feed_app
from shared.db import read_session, write_transaction
from shared.models import Organiser, Question, QuestionKind, Registration, Role
from tests.factories import add_api_token, add_seminar, make_organiser, make_seminar, person

JSON = "application/json"


def register_raw(client, seminar_id: int, body: str):
    """A registration whose body is sent exactly as given."""
    return client.post(f"/api/v1/events/{seminar_id}/registrations", data=body, content_type=JSON)


def registrations(runtime) -> list[Registration]:
    with read_session(runtime.sessions) as session:
        return list(session.scalars(select(Registration)))


@pytest.mark.parametrize("body", [
    "[" * 30_000 + "]" * 30_000,                                      # deeper than Python's stack, under 64 KB
    '{"name": "Erika", "email": ' + "[" * 40 + "]" * 40 + "}",      # just past the depth limit
    '{"name": "Erika", "email": "erika@example.org", "consent": true, "x": ' + "9" * 5000 + "}",
    '{"name": "Erika", "name": "Mallory", "email": "erika@example.org", "consent": true}',
    '{"name": NaN, "email": "erika@example.org", "consent": true}',
    '{"name": "Erika", "email": "erika@example.org", "consent": true',
    b'{"name": "\xff\xfe", "email": "erika@example.org", "consent": true}',
])
def test_a_body_that_is_not_bounded_json_is_a_malformed_request(client, runtime, body):
    seminar_id = add_seminar(runtime)
    response = register_raw(client, seminar_id, body)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "malformed_request"
    assert registrations(runtime) == []


@pytest.mark.parametrize("field, value, where", [
    ("name", "Eri\ud800ka", ("name",)),
    ("name", "Erika\x00Mustermann", ("name",)),
    ("email", "erika\x00@example.org", ("email",)),
    ("answers", {"role": "a\udfff"}, ("answers", "role")),
    ("source_page", "https://x.example/\x00", ("source_page",)),
])
def test_text_with_nul_or_a_lone_surrogate_is_refused_by_field(client, runtime, field, value, where):
    seminar_id = add_seminar(runtime)
    body = json.dumps({**person(email="erika@example.org"), field: value})  # \\ud800 escapes, as a client sends them
    response = register_raw(client, seminar_id, body)
    assert response.status_code == 422
    errors = response.json["errors"]
    for key in where:
        errors = errors[key]
    assert errors == ["Dieser Text enthält Zeichen, die nicht erlaubt sind (etwa ein Nullzeichen)."]
    assert registrations(runtime) == []


def test_a_string_is_no_yes_and_a_key_with_a_surrogate_is_refused(client, runtime):
    seminar_id = add_seminar(runtime)
    as_string = register_raw(client, seminar_id, json.dumps({**person(), "consent": "true"}))
    assert as_string.status_code == 422 and "consent" in as_string.json["errors"]
    odd_key = register_raw(client, seminar_id, json.dumps({**person(), "answers": {"ro\ud800le": "x"}}))
    assert odd_key.status_code == 422
    assert registrations(runtime) == []


def test_nul_in_a_path_or_query_is_refused_before_the_database_sees_it(client, runtime, settings):
    seminar_id = add_seminar(runtime)
    for path in ("/api/v1/events?series=%00", "/api/v1/events?organiser=a%00b", "/embed/series/a%00b",
                 f"/events/{seminar_id}?lang=%00"):
        response = client.get(path)
        assert response.status_code == 400, path
    feeds = create_feed_app(settings)
    try:
        feed_client = feeds.test_client()
        for path in ("/calendar/series/a%00b.ics", "/calendar/organisers/%00.ics"):
            assert feed_client.get(path).status_code == 400, path
    finally:
        feeds.extensions["runtime"].close()


@pytest.fixture
def organiser(runtime):
    """An organiser's id and an admin token for it."""
    with write_transaction(runtime.sessions) as session:
        organiser_id = make_organiser(session).id
    return organiser_id, {"Authorization": f"Bearer {add_api_token(runtime, organiser_id, Role.ADMIN)}"}


def test_choice_options_need_a_value_and_labels_and_no_value_twice(client, organiser):
    _organiser_id, token = organiser
    seminar = {"title": "Fragen", "starts_at": "2031-12-10T12:30:00+00:00", "ends_at": "2031-12-10T14:00:00+00:00"}
    for options, error in (([{"label_de": "Ja", "label_en": "Yes"}], "value"),
                           ([{"value": "", "label_de": "Ja", "label_en": "Yes"}], "value"),
                           ([{"value": "ja", "label_de": "Ja"}], "label_en")):
        question = {"key": "role", "kind": "single_choice", "label_de": "Rolle", "label_en": "Role", "options": options}
        answer = client.post("/api/v1/manage/events", json={**seminar, "questions": [question]}, headers=token)
        assert answer.status_code == 422
        assert error in answer.json["errors"]["questions"]["0"]["options"]["0"]
    twice = [{"value": "ja", "label_de": "Ja", "label_en": "Yes"}, {"value": "ja", "label_de": "Jo", "label_en": "Yo"}]
    question = {"key": "role", "kind": "single_choice", "label_de": "Rolle", "label_en": "Role", "options": twice}
    answer = client.post("/api/v1/manage/events", json={**seminar, "questions": [question]}, headers=token)
    assert answer.status_code == 422 and "options" in answer.json["errors"]["questions"]["0"]


def test_a_stored_option_without_a_value_offers_nothing_and_breaks_no_registration_or_export(client, runtime,
                                                                                            organiser):
    organiser_id, token = organiser
    with write_transaction(runtime.sessions) as session:
        seminar = make_seminar(session, session.get(Organiser, organiser_id), double_opt_in=False)
        session.add(Question(seminar_id=seminar.id, key="role", kind=QuestionKind.SINGLE_CHOICE, position=0,
                             label_de="Rolle", label_en="Role", options=[{"label_de": "Ohne Wert"}, {"value": "ja"}]))
        seminar_id = seminar.id
    refused = register_raw(client, seminar_id, json.dumps({**person(1), "answers": {"role": "Ohne Wert"}}))
    assert refused.status_code == 422
    accepted = register_raw(client, seminar_id, json.dumps({**person(2), "answers": {"role": "ja"}}))
    assert accepted.status_code == 201
    export = client.get(f"/api/v1/manage/events/{seminar_id}/registrations.csv", headers=token)
    assert export.status_code == 200 and "person2@example.org" in export.get_data(as_text=True)
    page = client.get(f"/events/{seminar_id}")
    assert page.status_code == 200


def test_a_huge_number_in_the_organiser_api_is_a_malformed_request(client, organiser):
    _organiser_id, token = organiser
    body = '{"title": "X", "starts_at": "2031-12-10T12:30:00+00:00", "ends_at": "2031-12-10T14:00:00+00:00", ' \
           '"capacity": ' + "1" * 5000 + "}"
    answer = client.post("/api/v1/manage/events", data=body, content_type=JSON, headers=token)
    assert answer.status_code == 400 and answer.json["code"] == "malformed_request"
