"""Public seminar answers are reused briefly per process, and dropped at once when a seminar changes."""

from __future__ import annotations

from shared.db import write_transaction
from shared.content_version import ContentVersionWatcher
from shared.models import Organiser, Question, QuestionKind, Seminar, SeminarStatus
from services.registration import create_app
from services.registration.web.public_cache import PublicAnswers
from services.registration.domain.registrations import register
from tests.factories import make_organiser, make_seminar, person
from tests.servers import wait_until



class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_seats_left_are_at_most_the_cache_time_old(settings, runtime):
    with write_transaction(runtime.sessions) as session:
        seminar_id = make_seminar(session, capacity=20, double_opt_in=False).id
    app = create_app(settings.with_overrides(public_cache_seconds=2))
    clock = Clock()
    versions = ContentVersionWatcher(settings.redis_url)
    app.extensions["public_answers"] = PublicAnswers(versions, 2, clock)
    client = app.test_client()
    assert client.get(f"/api/v1/events/{seminar_id}").json["seats_left"] == 20

    register(runtime, seminar_id, person(1))
    clock.now += 1.5
    assert client.get(f"/api/v1/events/{seminar_id}").json["seats_left"] == 20  # reused
    clock.now += 1.0
    assert client.get(f"/api/v1/events/{seminar_id}").json["seats_left"] == 19  # older than 2 s: built anew
    versions.close()
    app.extensions["runtime"].close()


def test_a_changed_seminar_shows_at_once_in_every_answer(settings, runtime):
    with write_transaction(runtime.sessions) as session:
        seminar_id = make_seminar(session, title="Vorher").id
    app = create_app(settings.with_overrides(public_cache_seconds=3600))
    client = app.test_client()
    assert client.get(f"/api/v1/events/{seminar_id}").json["title"] == "Vorher"
    assert [s["title"] for s in client.get("/api/v1/events").json] == ["Vorher"]

    with write_transaction(runtime.sessions) as session:
        session.get(Seminar, seminar_id).title = "Nachher"  # an ORM change announces itself

    wait_until(lambda: client.get(f"/api/v1/events/{seminar_id}").json["title"] == "Nachher", timeout=5,
               message="the changed title")
    assert [s["title"] for s in client.get("/api/v1/events").json] == ["Nachher"]
    app.extensions["runtime"].close()


def test_kept_registration_rules_follow_a_cancellation_and_new_questions_at_once(settings, runtime):
    with write_transaction(runtime.sessions) as session:
        seminar_id = make_seminar(session, double_opt_in=False).id
        other_id = make_seminar(session, double_opt_in=False).id
    app = create_app(settings.with_overrides(public_cache_seconds=3600))
    client = app.test_client()
    url = "/api/v1/events/{}/registrations".format

    def kept_version_shows(seminar_id, check):
        # A public answer and the kept rules share one version: once the answer kept
        # before a change shows the change, the rules were dropped too.
        wait_until(lambda: check(client.get(f"/api/v1/events/{seminar_id}").json), timeout=5,
                   message="the change in the kept answer")

    assert client.post(url(seminar_id), json=person(1)).status_code == 201  # the rules are kept from here on
    assert client.get(f"/api/v1/events/{seminar_id}").json["status"] == "published"
    with write_transaction(runtime.sessions) as session:
        session.get(Seminar, seminar_id).status = SeminarStatus.CANCELLED
    kept_version_shows(seminar_id, lambda answer: answer["status"] == "cancelled")
    refused = client.post(url(seminar_id), json=person(2))
    assert (refused.status_code, refused.json["code"]) == (409, "seminar_cancelled")

    assert client.post(url(other_id), json=person(1)).status_code == 201
    assert client.get(f"/api/v1/events/{other_id}").json["questions"] == []
    with write_transaction(runtime.sessions) as session:  # a question alone, its seminar untouched
        session.add(Question(seminar_id=other_id, position=1, key="role", kind=QuestionKind.SHORT_TEXT,
                             label_de="Rolle", label_en="Role", required=True))
    kept_version_shows(other_id, lambda answer: answer["questions"])
    unanswered = client.post(url(other_id), json=person(2))
    assert unanswered.status_code == 422 and "role" in unanswered.json["errors"]["answers"]
    assert client.post(url(other_id), json={**person(2), "answers": {"role": "Kassenwart"}}).status_code == 201
    app.extensions["runtime"].close()


def test_a_changed_partner_list_applies_at_once_to_the_kept_origins(settings, runtime):
    partner, newcomer = "https://www.partner-verein.de", "https://www.neuer-partner.de"
    with write_transaction(runtime.sessions) as session:
        organiser = make_organiser(session, allowed_origins=[partner])
        seminar_id, organiser_id = make_seminar(session, organiser).id, organiser.id
    app = create_app(settings.with_overrides(public_cache_seconds=3600))
    client = app.test_client()
    url = f"/api/v1/events/{seminar_id}"
    assert client.get(url, headers={"Origin": partner}).status_code == 200  # the list is kept from here on
    assert client.get(url, headers={"Origin": newcomer}).status_code == 403

    with write_transaction(runtime.sessions) as session:
        session.get(Organiser, organiser_id).allowed_origins = [newcomer]
    wait_until(lambda: client.get(url, headers={"Origin": newcomer}).status_code == 200, timeout=5,
               message="the new partner allowed")
    refused = client.get(url, headers={"Origin": partner})
    assert (refused.status_code, refused.json["code"]) == (403, "origin_not_allowed")
    app.extensions["runtime"].close()


def test_without_redis_every_answer_is_built(settings, runtime):
    with write_transaction(runtime.sessions) as session:
        seminar_id = make_seminar(session, capacity=20, double_opt_in=False).id
    app = create_app(settings.with_overrides(redis_url="redis://127.0.0.1:1/0", public_cache_seconds=3600))
    client = app.test_client()
    assert client.get(f"/api/v1/events/{seminar_id}").json["seats_left"] == 20
    register(runtime, seminar_id, person(1))
    assert client.get(f"/api/v1/events/{seminar_id}").json["seats_left"] == 19
    app.extensions["runtime"].close()
