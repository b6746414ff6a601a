"""Seats, waiting list, double opt-in, cancellation, expiry and questions, on both databases."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from services.registration import create_app
from services.registration.domain.consent import CONSENT_VERSION
from services.registration.web.public_cache import PublicAnswers
from services.registration.domain.refusals import AnswersInvalid, RegistrationClosed, SeminarCancelled, SeminarFull
from services.registration.domain.registrations import (
    cancel_registration,
    confirm_address,
    expire_unconfirmed,
    register,
)
from services.scheduler.__main__ import run_once
from shared.db import read_session, write_transaction
from shared.content_version import ContentVersionWatcher
from shared.models import (
    Notification,
    Question,
    QuestionKind,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarStatus,
)
from shared.times import utcnow
from tests.factories import add_seminar, person

S = RegistrationStatus



def statuses(runtime, seminar_id) -> dict[str, RegistrationStatus]:
    with read_session(runtime.sessions) as session:
        rows = session.scalars(select(Registration).where(Registration.seminar_id == seminar_id)
                               .order_by(Registration.id))
        return {r.email.split("@")[0]: r.status for r in rows}


def seats_taken(runtime, seminar_id) -> int:
    with read_session(runtime.sessions) as session:
        return session.get(Seminar, seminar_id).seats_taken


def mails(runtime, email) -> list[str]:
    with read_session(runtime.sessions) as session:
        rows = session.scalars(
            select(Notification).join(Registration).where(Registration.email == email).order_by(Notification.id))
        return [n.kind.value for n in rows]


def test_full_seminar_puts_people_on_the_waiting_list_in_order(runtime):
    seminar_id = add_seminar(runtime, capacity=2, double_opt_in=False)
    answers = [register(runtime, seminar_id, person(n)).status for n in range(1, 5)]
    assert answers == [S.CONFIRMED, S.CONFIRMED, S.WAITLISTED, S.WAITLISTED]
    assert seats_taken(runtime, seminar_id) == 2
    assert mails(runtime, "person3@example.org") == ["waitlisted"]


def test_cancellation_frees_the_seat_for_the_first_on_the_waiting_list(runtime):
    seminar_id = add_seminar(runtime, capacity=2, double_opt_in=False)
    ids = [register(runtime, seminar_id, person(n)).registration_id for n in range(1, 5)]
    assert cancel_registration(runtime, ids[0]) == S.CANCELLED
    assert cancel_registration(runtime, ids[0]) == S.CANCELLED  # twice is harmless
    assert statuses(runtime, seminar_id) == {
        "person1": S.CANCELLED, "person2": S.CONFIRMED, "person3": S.CONFIRMED, "person4": S.WAITLISTED}
    assert seats_taken(runtime, seminar_id) == 2
    assert mails(runtime, "person1@example.org") == ["confirmed", "cancellation_receipt"]
    assert mails(runtime, "person3@example.org") == ["waitlisted", "promoted"]


def test_leaving_the_waiting_list_keeps_the_seats_as_they_are(runtime):
    seminar_id = add_seminar(runtime, capacity=1, double_opt_in=False)
    register(runtime, seminar_id, person(1))
    waiting = register(runtime, seminar_id, person(2))
    assert cancel_registration(runtime, waiting.registration_id) == S.CANCELLED
    assert seats_taken(runtime, seminar_id) == 1
    assert statuses(runtime, seminar_id) == {"person1": S.CONFIRMED, "person2": S.CANCELLED}


def test_double_opt_in_holds_the_seat_until_confirmed(runtime):
    seminar_id = add_seminar(runtime, capacity=1)
    first = register(runtime, seminar_id, person(1))
    assert first.status == S.PENDING and seats_taken(runtime, seminar_id) == 1
    assert register(runtime, seminar_id, person(2)).status == S.WAITLISTED
    assert confirm_address(runtime, first.registration_id) == S.CONFIRMED
    assert confirm_address(runtime, first.registration_id) == S.CONFIRMED
    assert mails(runtime, "person1@example.org") == ["confirm_address", "confirmed"]
    with read_session(runtime.sessions) as session:
        registration = session.get(Registration, first.registration_id)
        assert registration.email_confirmed_at and registration.confirmed_at and registration.expires_at is None
        assert registration.consent_version == CONSENT_VERSION and registration.consent_at


def test_unconfirmed_addresses_never_move_up_from_the_waiting_list(runtime):
    seminar_id = add_seminar(runtime, capacity=1)
    first = register(runtime, seminar_id, person(1))
    unconfirmed = register(runtime, seminar_id, person(2))
    confirmed = register(runtime, seminar_id, person(3))
    confirm_address(runtime, confirmed.registration_id)
    cancel_registration(runtime, first.registration_id)
    assert statuses(runtime, seminar_id) == {
        "person1": S.CANCELLED, "person2": S.WAITLISTED, "person3": S.CONFIRMED}
    # Confirming later puts person 2 next in line; the next free seat is theirs.
    confirm_address(runtime, unconfirmed.registration_id)
    cancel_registration(runtime, confirmed.registration_id)
    assert statuses(runtime, seminar_id)["person2"] == S.CONFIRMED


def test_unconfirmed_registrations_lapse_and_their_seats_go_on(runtime, settings):
    seminar_id = add_seminar(runtime, capacity=1)
    pending = register(runtime, seminar_id, person(1))
    waiting = register(runtime, seminar_id, person(2))
    confirm_address(runtime, waiting.registration_id)
    assert expire_unconfirmed(runtime, utcnow()) == 0
    later = utcnow() + timedelta(hours=settings.pending_expiry_hours, minutes=1)
    assert run_once(runtime, later)["registrations_expired"] == 1
    assert statuses(runtime, seminar_id) == {"person1": S.EXPIRED, "person2": S.CONFIRMED}
    assert seats_taken(runtime, seminar_id) == 1
    # Confirming a lapsed registration gives no seat back; registering again does.
    assert confirm_address(runtime, pending.registration_id) == S.EXPIRED
    assert register(runtime, seminar_id, person(1)).status == S.WAITLISTED


def test_registering_again_after_cancelling_starts_afresh(runtime):
    seminar_id = add_seminar(runtime, capacity=5, double_opt_in=False)
    first = register(runtime, seminar_id, person(1))
    cancel_registration(runtime, first.registration_id)
    again = register(runtime, seminar_id, person(1, name="Person Eins"))
    assert again.registration_id == first.registration_id and again.status == S.CONFIRMED
    assert seats_taken(runtime, seminar_id) == 1
    assert mails(runtime, "person1@example.org") == ["confirmed", "cancellation_receipt", "confirmed"]


def test_the_same_address_registering_again_at_once_after_cancelling_takes_one_seat(runtime):
    seminar_id = add_seminar(runtime, capacity=5, double_opt_in=False)
    first = register(runtime, seminar_id, person(1))
    cancel_registration(runtime, first.registration_id)
    start = threading.Barrier(8)

    def again(_):
        start.wait()
        return register(runtime, seminar_id, person(1))

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(again, range(8)))
    assert {(a.registration_id, a.status) for a in answers} == {(first.registration_id, S.CONFIRMED)}
    assert seats_taken(runtime, seminar_id) == 1
    sent = mails(runtime, "person1@example.org")
    assert sent[:3] == ["confirmed", "cancellation_receipt", "confirmed"]  # one new round, not eight
    assert set(sent[3:]) <= {"already_registered"} and len(sent) <= 4


def test_a_seminar_cancelled_behind_the_kept_rules_refuses_in_the_write(settings, runtime):
    seminar_id = add_seminar(runtime, capacity=5, double_opt_in=False, waitlist_enabled=True)
    versions = ContentVersionWatcher(settings.redis_url)
    kept = PublicAnswers(versions, 3600)
    register(runtime, seminar_id, person(1), kept=kept)  # the rules are kept from here on
    with runtime.engine.begin() as connection:  # plain SQL: no change notice, the kept rules go stale
        connection.execute(update(Seminar).where(Seminar.id == seminar_id).values(status=SeminarStatus.CANCELLED))
    with pytest.raises(SeminarCancelled):
        register(runtime, seminar_id, person(2), kept=kept)
    with runtime.engine.begin() as connection:  # full, and cancelled: not even the waiting list
        connection.execute(update(Seminar).where(Seminar.id == seminar_id).values(capacity=1))
    with pytest.raises(SeminarCancelled):
        register(runtime, seminar_id, person(3), kept=kept)
    assert statuses(runtime, seminar_id) == {"person1": S.CONFIRMED}
    assert seats_taken(runtime, seminar_id) == 1
    versions.close()


def test_unlimited_seminar_never_fills(runtime):
    seminar_id = add_seminar(runtime, capacity=None, double_opt_in=False)
    assert {register(runtime, seminar_id, person(n)).status for n in range(30)} == {S.CONFIRMED}


def test_a_registered_address_gets_its_first_answer_even_when_the_seminar_refuses_newcomers(runtime):
    seminar_id = add_seminar(runtime, capacity=1, waitlist_enabled=False, double_opt_in=False)
    first = register(runtime, seminar_id, person(1))
    with pytest.raises(SeminarFull):
        register(runtime, seminar_id, person(2))
    assert register(runtime, seminar_id, person(1)) == first  # full, but this address has its seat

    with write_transaction(runtime.sessions) as session:
        session.get(Seminar, seminar_id).registration_closes_at = utcnow() - timedelta(minutes=1)
    assert register(runtime, seminar_id, person(1)) == first  # closed, and still the same answer
    with pytest.raises(RegistrationClosed):
        register(runtime, seminar_id, person(3))
    assert statuses(runtime, seminar_id) == {"person1": S.CONFIRMED}
    assert mails(runtime, "person1@example.org") == ["confirmed", "already_registered"]  # one an hour


@pytest.mark.parametrize("changes, code", [
    ({"status": SeminarStatus.CANCELLED}, "seminar_cancelled"),
    ({"registration_opens_at": utcnow() + timedelta(days=1)}, "registration_not_open_yet"),
    ({"registration_closes_at": utcnow() - timedelta(minutes=1)}, "registration_closed"),
])
def test_closed_registration_answers_409_with_the_reason(settings, runtime, changes, code):
    seminar_id = add_seminar(runtime, **changes)
    response = create_app(settings).test_client().post(
        f"/api/v1/events/{seminar_id}/registrations", json=person(1, language="en"))
    assert response.status_code == 409
    assert response.json["code"] == code
    assert response.headers["Content-Language"] == "en"
    public = create_app(settings).test_client().get(f"/api/v1/events/{seminar_id}").json
    assert public["registration"]["open"] is False and public["registration"]["reason"] == code


def add_questions(runtime, seminar_id):
    with write_transaction(runtime.sessions) as session:
        session.add_all([
            Question(seminar_id=seminar_id, position=1, key="organisation", kind=QuestionKind.SHORT_TEXT,
                     label_de="Organisation", label_en="Organisation"),
            Question(seminar_id=seminar_id, position=2, key="role", kind=QuestionKind.SINGLE_CHOICE,
                     label_de="Rolle", label_en="Role", required=True,
                     options=[{"value": "mayor", "label_de": "Ortsbürgermeisterin oder Ortsbürgermeister", "label_en": "Mayor"},
                              {"value": "volunteer", "label_de": "Ehrenamtlich", "label_en": "Volunteer"}]),
            Question(seminar_id=seminar_id, position=3, key="topics", kind=QuestionKind.MULTIPLE_CHOICE,
                     label_de="Themen", label_en="Topics",
                     options=[{"value": "youth", "label_de": "Jugend", "label_en": "Youth"},
                              {"value": "funding", "label_de": "Förderung", "label_en": "Funding"}]),
            Question(seminar_id=seminar_id, position=4, key="notes", kind=QuestionKind.LONG_TEXT,
                     label_de="Anmerkungen", label_en="Notes"),
            Question(seminar_id=seminar_id, position=5, key="recording", kind=QuestionKind.CHECKBOX,
                     label_de="Aufzeichnung ist ok", label_en="Recording is fine", required=True),
        ])


def test_answers_to_the_seminars_questions_are_checked_and_stored(runtime):
    seminar_id = add_seminar(runtime)
    add_questions(runtime, seminar_id)
    good = {"organisation": "  Ortsgemeinde Kell am See ", "role": "mayor", "topics": ["youth", "funding"],
            "recording": True}
    outcome = register(runtime, seminar_id, person(1, answers=good))
    with read_session(runtime.sessions) as session:
        assert session.get(Registration, outcome.registration_id).answers == {
            "organisation": "Ortsgemeinde Kell am See", "role": "mayor", "topics": ["youth", "funding"],
            "recording": True}

    with pytest.raises(AnswersInvalid) as invalid:
        register(runtime, seminar_id, person(2, answers={
            "role": "king", "topics": ["youth", "youth"], "notes": "x" * 4001, "colour": "blue"}))
    assert invalid.value.errors == {
        "role": ["invalid_choice"], "topics": ["invalid_choice"], "notes": ["too_long"],
        "recording": ["required"], "colour": ["unknown_field"]}
    assert list(statuses(runtime, seminar_id)) == ["person1"]


def test_question_errors_reach_the_api_client_per_question(settings, runtime):
    seminar_id = add_seminar(runtime)
    add_questions(runtime, seminar_id)
    client = create_app(settings).test_client()
    public = client.get(f"/api/v1/events/{seminar_id}").json
    assert [q["key"] for q in public["questions"]] == ["organisation", "role", "topics", "notes", "recording"]
    assert public["questions"][1]["options"][0] == {"value": "mayor", "label_de": "Ortsbürgermeisterin oder Ortsbürgermeister",
                                                     "label_en": "Mayor"}
    response = client.post(f"/api/v1/events/{seminar_id}/registrations",
                           json=person(1, answers={"role": 5, "recording": True}))
    assert response.status_code == 422
    assert response.json["errors"] == {"answers": {"role": ["Dieser Wert hat den falschen Typ."]}}


def test_too_many_posts_from_one_address_get_429_with_retry_after(settings, runtime):
    seminar_id = add_seminar(runtime)
    client = create_app(settings.with_overrides(rate_limit_per_email="2/minute")).test_client()
    codes = [client.post(f"/api/v1/events/{seminar_id}/registrations", json=person(1)).status_code
             for _ in range(3)]
    assert codes == [201, 201, 429]
    limited = client.post(f"/api/v1/events/{seminar_id}/registrations", json=person(1))
    assert limited.json["code"] == "rate_limited" and 0 < int(limited.headers["Retry-After"]) <= 60
    # Another address from the same network is still welcome.
    assert client.post(f"/api/v1/events/{seminar_id}/registrations", json=person(2)).status_code == 201


def test_too_many_posts_from_one_ip_get_429(settings, runtime):
    seminar_id = add_seminar(runtime)
    client = create_app(settings.with_overrides(rate_limit_per_ip="3/minute")).test_client()
    codes = [client.post(f"/api/v1/events/{seminar_id}/registrations", json=person(n)).status_code
             for n in range(5)]
    assert codes == [201, 201, 201, 429, 429]


def test_limits_count_per_window_and_let_registrations_through_when_redis_is_away(settings, runtime):
    from services.registration.web.limits import RegistrationLimits, Rule, parse_rules
    from tests.servers import free_port

    assert parse_rules("ip", "30/minute;300/hour") == [Rule("ip", 30, 60), Rule("ip", 300, 3600)]
    moments = iter([120.0, 150.0, 179.0, 180.0])
    limits = RegistrationLimits(runtime.redis, settings.with_overrides(rate_limit_per_ip="2/minute",
                                                                        rate_limit_per_email=""),
                                clock=lambda: next(moments))
    app = create_app(settings)
    with app.test_request_context(json=person(1)):
        waits = [limits.seconds_to_wait(), limits.seconds_to_wait(), limits.seconds_to_wait()]
        assert waits == [None, None, 1]  # the third post in the minute 120..179 waits for 180
        assert limits.seconds_to_wait() is None  # a new window
    app.extensions["runtime"].close()

    away = settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0", rate_limit_per_ip="1/hour")
    away_app = create_app(away)
    seminar_id = add_seminar(runtime)
    codes = [away_app.test_client().post(f"/api/v1/events/{seminar_id}/registrations", json=person(n)).status_code
             for n in (1, 2)]
    away_app.extensions["runtime"].close()
    assert codes == [201, 201]


def test_behind_a_trusted_proxy_the_limit_counts_each_participant_and_otherwise_ignores_the_header(settings, runtime):
    seminar_id = add_seminar(runtime, capacity=None)

    def codes(app) -> list[int]:
        client = app.test_client()
        answers = [client.post(f"/api/v1/events/{seminar_id}/registrations", json=person(n),
                               headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(3)]
        app.extensions["runtime"].close()
        return answers

    limited = settings.with_overrides(rate_limit_per_ip="1/minute", rate_limit_per_email="")
    # Without a trusted proxy the header is anybody's word: every post counts for the one address it came from.
    assert codes(create_app(limited)) == [201, 429, 429]
    assert codes(create_app(limited.with_overrides(trusted_proxies=1))) == [201, 201, 201]


def test_form_posts_must_be_json(settings, runtime):
    seminar_id = add_seminar(runtime)
    response = create_app(settings).test_client().post(
        f"/api/v1/events/{seminar_id}/registrations", data={"name": "x"})
    assert response.status_code == 415
    assert response.json["code"] == "unsupported_media_type"


def test_public_seminar_answers_304_until_seats_change(settings, runtime):
    seminar_id = add_seminar(runtime, double_opt_in=False)
    # Without the short per-process reuse (tests/test_public_cache.py), seats show at once.
    client = create_app(settings.with_overrides(public_cache_seconds=0)).test_client()
    first = client.get(f"/api/v1/events/{seminar_id}")
    etag = first.headers["ETag"]
    assert client.get(f"/api/v1/events/{seminar_id}", headers={"If-None-Match": etag}).status_code == 304
    register(runtime, seminar_id, person(1))
    changed = client.get(f"/api/v1/events/{seminar_id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json["seats_left"] == first.json["seats_left"] - 1
