"""The public registration API: one transaction, enqueue after commit, clear errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from sqlalchemy import select

from services.registration import create_app
from shared.broker import DRAMATIQ_NAMESPACE
from shared.db import read_session
from shared.messages import MAIL_QUEUE
from shared.models import (
    Notification,
    NotificationKind,
    NotificationStatus,
    Registration,
    RegistrationStatus,
    SeminarStatus,
)
from shared.times import utcnow
from services.scheduler.sweep import sweep_notifications
from tests.factories import add_seminar
from tests.servers import free_port

ERIKA = {"name": "Erika Mustermann", "email": "erika@example.org", "consent": True}


def queue_length(redis_url: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        return client.llen(f"{DRAMATIQ_NAMESPACE}:{MAIL_QUEUE}")
    finally:
        client.close()


@pytest.fixture
def client(settings):
    app = create_app(settings)
    yield app.test_client()
    app.extensions["runtime"].close()



def rows(runtime):
    with read_session(runtime.sessions) as session:
        return (
            session.scalars(select(Registration)).all(),
            session.scalars(select(Notification)).all(),
        )


def test_registration_writes_row_and_notification_then_enqueues(client, runtime, settings):
    seminar_id = add_seminar(runtime)
    response = client.post(f"/api/v1/events/{seminar_id}/registrations", json=ERIKA)
    assert response.status_code == 201
    assert response.json == {"status": "pending", "seminar_id": seminar_id}

    registrations, notifications = rows(runtime)
    assert [(r.email, r.status) for r in registrations] == [("erika@example.org", RegistrationStatus.PENDING)]
    assert registrations[0].consent_at is not None and registrations[0].expires_at is not None
    assert [(n.kind, n.status) for n in notifications] == [(NotificationKind.CONFIRM_ADDRESS, NotificationStatus.QUEUED)]
    assert notifications[0].enqueued_at is not None
    assert queue_length(settings.redis_url) == 1


def test_without_double_opt_in_the_registration_is_confirmed_at_once(client, runtime):
    seminar_id = add_seminar(runtime, double_opt_in=False)
    response = client.post(f"/api/v1/events/{seminar_id}/registrations", json=ERIKA)
    assert response.json["status"] == "confirmed"
    registrations, notifications = rows(runtime)
    assert registrations[0].confirmed_at is not None
    assert [n.kind for n in notifications] == [NotificationKind.CONFIRMED]


def test_registration_succeeds_while_redis_is_down_and_the_sweep_sends_later(settings, runtime):
    seminar_id = add_seminar(runtime)
    unreachable = settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    app = create_app(unreachable)
    response = app.test_client().post(f"/api/v1/events/{seminar_id}/registrations", json=ERIKA)
    app.extensions["runtime"].close()
    assert response.status_code == 201

    _, notifications = rows(runtime)
    assert notifications[0].enqueued_at is None
    assert queue_length(settings.redis_url) == 0

    # Redis is back: the scheduler's sweep finds the row that never reached the queue.
    assert sweep_notifications(runtime, utcnow()) == 0  # too fresh: maybe still being enqueued
    later = utcnow() + timedelta(seconds=settings.sweep_after_seconds + 1)
    assert sweep_notifications(runtime, later) == 1
    _, notifications = rows(runtime)
    assert notifications[0].enqueued_at is not None
    assert queue_length(settings.redis_url) == 1


def test_same_address_twice_gets_the_same_answer_and_a_mail_instead_of_a_new_registration(client, runtime):
    seminar_id = add_seminar(runtime)
    first = client.post(f"/api/v1/events/{seminar_id}/registrations", json=ERIKA)
    again = client.post(
        f"/api/v1/events/{seminar_id}/registrations", json={**ERIKA, "email": "ERIKA@Example.org"}
    )
    third = client.post(f"/api/v1/events/{seminar_id}/registrations", json=ERIKA)
    assert (first.status_code, first.json) == (again.status_code, again.json) == (third.status_code, third.json)
    registrations, notifications = rows(runtime)
    assert len(registrations) == 1
    # The address owner is told by mail, at most once an hour (no inbox flooding).
    assert [n.kind for n in notifications] == [NotificationKind.CONFIRM_ADDRESS, NotificationKind.ALREADY_REGISTERED]


def test_missing_and_invalid_fields_are_reported_per_field_in_german(client, runtime):
    seminar_id = add_seminar(runtime)
    response = client.post(
        f"/api/v1/events/{seminar_id}/registrations",
        json={"name": "  ", "email": "not-an-address", "consent": False, "colour": "blue"},
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.json
    assert problem["status"] == 422 and problem["title"] == "Eingaben prüfen"
    assert problem["errors"] == {
        "name": ["Dieses Feld darf nicht leer sein."],
        "email": ["Bitte geben Sie eine gültige E-Mail-Adresse an."],
        "consent": ["Bitte stimmen Sie der Datenschutzerklärung zu."],
        "colour": ["Dieses Feld ist unbekannt."],
    }
    assert rows(runtime) == ([], [])


def test_errors_are_in_english_when_asked(client, runtime):
    seminar_id = add_seminar(runtime)
    response = client.post(
        f"/api/v1/events/{seminar_id}/registrations",
        json={"email": "erika@example.org", "consent": True},
        headers={"Accept-Language": "en-GB,en;q=0.9"},
    )
    assert response.status_code == 422
    assert response.headers["Content-Language"] == "en"
    assert response.json["errors"] == {"name": ["This field is required."]}


def test_overlong_name_is_refused(client, runtime):
    seminar_id = add_seminar(runtime)
    response = client.post(f"/api/v1/events/{seminar_id}/registrations", json={**ERIKA, "name": "x" * 201})
    assert response.status_code == 422
    assert response.json["errors"] == {"name": ["Dieser Text ist zu lang."]}


def test_malformed_json_is_a_400_problem(client, runtime):
    seminar_id = add_seminar(runtime)
    response = client.post(
        f"/api/v1/events/{seminar_id}/registrations", data="{oops", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json["code"] == "malformed_request"


def test_oversized_body_is_refused(client, runtime):
    seminar_id = add_seminar(runtime)
    response = client.post(
        f"/api/v1/events/{seminar_id}/registrations",
        data=b'{"name": "' + b"x" * 100_000 + b'"}',
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.json["code"] == "payload_too_large"


def test_unknown_and_draft_seminars_are_not_found(client, runtime):
    draft_id = add_seminar(runtime, status=SeminarStatus.DRAFT)
    for seminar_id in (draft_id, 987654):
        response = client.post(f"/api/v1/events/{seminar_id}/registrations", json=ERIKA)
        assert response.status_code == 404
        assert response.json["code"] == "seminar_not_found"
        assert client.get(f"/api/v1/events/{seminar_id}").status_code == 404


def test_full_seminar_without_waiting_list_refuses_with_409(client, runtime):
    seminar_id = add_seminar(runtime, capacity=1, waitlist_enabled=False)
    assert client.post(f"/api/v1/events/{seminar_id}/registrations", json=ERIKA).status_code == 201
    response = client.post(
        f"/api/v1/events/{seminar_id}/registrations", json={**ERIKA, "email": "max@example.org"}
    )
    assert response.status_code == 409
    assert response.json["code"] == "seminar_full"
    assert response.json["title"] == "Ausgebucht"


def test_registration_after_start_is_closed(client, runtime):
    seminar_id = add_seminar(runtime, starts_at=utcnow() - timedelta(minutes=5))
    response = client.post(f"/api/v1/events/{seminar_id}/registrations", json=ERIKA)
    assert response.status_code == 409
    assert response.json["code"] == "registration_closed"


def test_public_seminar_shows_seats_left_but_never_the_join_link(client, runtime):
    seminar_id = add_seminar(runtime, capacity=20, join_url="https://meet.example/secret-room")
    client.post(f"/api/v1/events/{seminar_id}/registrations", json=ERIKA)
    response = client.get(f"/api/v1/events/{seminar_id}")
    assert response.status_code == 200
    assert response.json["seats_left"] == 19
    assert response.json["registration"] == {
        "open": True, "reason": None, "waiting_list": False, "opens_at": None, "closes_at": response.json["starts_at"],
    }
    assert b"secret-room" not in response.data
    listing = client.get("/api/v1/events")
    assert [s["id"] for s in listing.json] == [seminar_id]
    assert b"secret-room" not in listing.data
