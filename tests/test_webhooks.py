"""Webhooks: endpoints, signed deliveries to a real receiver, retries, the log, redelivery, and what is refused."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from shared.db import read_session, write_transaction
from shared.models import (
    NotificationStatus,
    Organiser,
    Registration,
    Role,
    StaffMail,
    StaffMailKind,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)
from shared.runtime import make_runtime
from shared.times import utcnow
from services.notifications.delivery import Outcome as MailOutcome
from services.notifications.staff_mails import deliver_staff_mail
from services.registration.domain import webhooks
from services.scheduler.sweep import sweep_notifications
from services.scheduler.webhooks import forget_old_deliveries, sweep_webhooks
from services.webhooks.delivery import (
    BACKOFF,
    DISABLE_AFTER,
    MAX_ATTEMPTS,
    SLOTS_PER_ENDPOINT,
    Outcome,
    deliver,
    disable_failing,
)

from tests.conftest import service_env
from tests.factories import add_api_token, add_member, berlin, make_organiser, person, principal
from tests.organiser_pages import csrf, log_in
from tests.servers import WebhookReceiver, Worker

MANAGE = "/api/v1/manage"
ALL_EVENTS = [event.value for event in webhooks.SUBSCRIBABLE]


@pytest.fixture
def settings(settings):
    """The test's receivers listen on 127.0.0.1, which only WEBHOOK_ALLOW_PRIVATE allows."""
    return dataclasses.replace(settings, webhook_allow_private=True, webhook_timeout_seconds=2.0)


@pytest.fixture
def receiver():
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def organiser(runtime):
    with write_transaction(runtime.sessions) as session:
        organiser_id = make_organiser(session, name="Stiftung Engagement").id
    return organiser_id, {"Authorization": f"Bearer {add_api_token(runtime, organiser_id, Role.ADMIN)}"}


def add_endpoint(client, auth, url, events=ALL_EVENTS) -> dict:
    answer = client.post(f"{MANAGE}/webhooks", json={"url": url, "events": events, "description": "CRM"},
                         headers=auth)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def new_seminar(**overrides) -> dict:
    return {"title": "Kommunal Engagiert: Ehrenamt und Digitalisierung", "starts_at": berlin(2031, 12, 10, 13, 30)
            .isoformat(), "ends_at": berlin(2031, 12, 10, 15, 0).isoformat(), "capacity": 1,
            "double_opt_in": False, "publish": True, **overrides}


def verified(secret: str, request: tuple[dict, bytes]) -> dict:
    headers, body = request
    return Webhook(secret).verify(body, headers)


def deliveries(runtime) -> list[WebhookDelivery]:
    with read_session(runtime.sessions) as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_endpoint_api_shows_the_secret_once_and_keeps_organisers_apart(client, runtime, organiser, receiver):
    _, auth = organiser
    created = add_endpoint(client, auth, receiver.url, ["registration.created"])
    assert created["secret"].startswith("whsec_") and created["enabled"] is True
    shown = client.get(f"{MANAGE}/webhooks/{created['id']}", headers=auth).get_json()
    assert "secret" not in shown and shown["events"] == ["registration.created"]
    assert "secret" not in client.get(f"{MANAGE}/webhooks", headers=auth).get_json()[0]

    changed = client.patch(f"{MANAGE}/webhooks/{created['id']}", json={"events": ["seminar.changed"]}, headers=auth)
    assert changed.get_json()["events"] == ["seminar.changed"]
    off = client.patch(f"{MANAGE}/webhooks/{created['id']}", json={"enabled": False}, headers=auth).get_json()
    assert off["enabled"] is False and off["disabled_at"]

    with write_transaction(runtime.sessions) as session:
        other_id = make_organiser(session, name="Landkreis").id
    other = {"Authorization": f"Bearer {add_api_token(runtime, other_id, Role.ADMIN)}"}
    assert client.get(f"{MANAGE}/webhooks/{created['id']}", headers=other).status_code == 404
    assert client.get(f"{MANAGE}/webhooks", headers=other).get_json() == []
    editor = {"Authorization": f"Bearer {add_api_token(runtime, organiser[0], Role.EDITOR, 'editor')}"}
    assert client.get(f"{MANAGE}/webhooks", headers=editor).status_code == 403

    refused = client.post(f"{MANAGE}/webhooks", json={"url": receiver.url, "events": ["registration.eaten"]},
                          headers=auth)
    assert refused.status_code == 422 and refused.content_type == "application/problem+json"
    assert client.delete(f"{MANAGE}/webhooks/{created['id']}", headers=auth).status_code == 204
    assert client.get(f"{MANAGE}/webhooks/{created['id']}", headers=auth).status_code == 404


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "https://127.0.0.1/hook", "https://localhost/hook", "https://10.1.2.3/hook",
    "https://192.168.0.10/hook", "https://169.254.169.254/latest/meta-data", "https://[::1]/hook",
    "https://[fd00::1]/hook", "http://93.184.215.14/hook", "https://user:pw@93.184.215.14/hook",
])
def test_private_and_plain_addresses_are_refused_without_the_setting(settings, organiser, url):
    from services.registration import create_app

    app = create_app(dataclasses.replace(settings, webhook_allow_private=False))
    try:
        answer = app.test_client().post(f"{MANAGE}/webhooks", json={"url": url, "events": ALL_EVENTS},
                                        headers={**organiser[1], "Accept-Language": "en"})
        assert answer.status_code == 422 and answer.content_type == "application/problem+json"
        problem = answer.get_json()
        assert problem["title"] == "Address not allowed" or problem["code"] == "validation_failed"
        assert problem["errors"]["url"] and all(sentence.endswith(".") for sentence in problem["errors"]["url"])
    finally:
        app.extensions["runtime"].close()


def test_a_name_that_resolves_to_a_private_address_by_delivery_time_is_not_posted_to(settings, runtime, organiser,
                                                                                     receiver):
    endpoint, _ = webhooks.create_endpoint(runtime, principal(organiser[0]), {"url": receiver.url,
                                                                                "events": ALL_EVENTS})
    delivery_id = webhooks.send_test_event(runtime, principal(organiser[0]), endpoint.id)
    strict = make_runtime(dataclasses.replace(settings, webhook_allow_private=False))
    try:
        assert deliver(strict, delivery_id) == Outcome.RETRY
    finally:
        strict.close()
    assert receiver.received == []
    (row,) = deliveries(runtime)
    assert row.status == WebhookDeliveryStatus.RETRY and row.last_response.startswith("refused: ")


@pytest.mark.slow
def test_every_event_type_arrives_once_signed_from_a_real_worker(settings, client, runtime, organiser, receiver):
    _, auth = organiser
    endpoint = add_endpoint(client, auth, receiver.url)
    worker = Worker(service_env(settings, WEBHOOK_ALLOW_PRIVATE="1"), threads=4, module="services.webhooks.worker")
    worker.start()
    try:
        seminar = client.post(f"{MANAGE}/events", json=new_seminar(), headers=auth).get_json()
        first = client.post(f"/api/v1/events/{seminar['id']}/registrations", json=person(1)).get_json()
        second = client.post(f"/api/v1/events/{seminar['id']}/registrations", json=person(2)).get_json()
        assert (first["status"], second["status"]) == ("confirmed", "waitlisted")
        with read_session(runtime.sessions) as session:
            first_id = session.scalar(select(Registration.id).where(Registration.email == "person1@example.org"))
        assert client.post(f"{MANAGE}/registrations/{first_id}/cancel", headers=auth).status_code == 200
        assert client.patch(f"{MANAGE}/events/{seminar['id']}", json={"location": "Raum 2"},
                            headers=auth).status_code == 200
        assert client.post(f"{MANAGE}/events/{seminar['id']}/cancel", headers=auth).status_code == 200
        assert client.post(f"{MANAGE}/webhooks/{endpoint['id']}/test", headers=auth).status_code == 202
        received = receiver.wait_for(10)
    finally:
        worker.stop()
    assert len(received) == 10
    payloads = [verified(endpoint["secret"], request) for request in received]
    seen = sorted((p["type"], (p["data"].get("registration") or {}).get("email")) for p in payloads)
    assert seen == sorted([
        ("seminar.published", None), ("registration.created", "person1@example.org"),
        ("registration.confirmed", "person1@example.org"), ("registration.created", "person2@example.org"),
        ("registration.waitlisted", "person2@example.org"), ("registration.cancelled", "person1@example.org"),
        ("registration.promoted", "person2@example.org"), ("seminar.changed", None), ("seminar.cancelled", None),
        ("webhook.test", None),
    ])
    assert len({headers["webhook-id"] for headers, _ in received}) == 10
    by_type = {p["type"]: p for p in payloads}
    assert by_type["registration.promoted"]["data"]["registration"]["status"] == "confirmed"
    assert by_type["registration.created"]["data"]["seminar"]["id"] == seminar["id"]
    assert by_type["seminar.changed"]["data"]["seminar"]["location"] == "Raum 2"
    for payload in payloads:
        assert payload["version"] == 1 and payload["timestamp"]
        if payload["type"].startswith("seminar."):
            assert "@" not in json.dumps(payload), payload  # nothing personal in seminar events
    with pytest.raises(WebhookVerificationError):
        verified(webhooks.new_secret(), received[0])
    assert {d.status for d in deliveries(runtime)} == {WebhookDeliveryStatus.SENT}


def test_a_receiver_failing_twice_gets_the_same_event_three_times(runtime, organiser):
    receiver = WebhookReceiver(answers=[500, 503]).start()
    try:
        endpoint, secret = webhooks.create_endpoint(runtime, principal(organiser[0]),
                                                    {"url": receiver.url, "events": ALL_EVENTS})
        delivery_id = webhooks.send_test_event(runtime, principal(organiser[0]), endpoint.id)
        start = utcnow()
        assert deliver(runtime, delivery_id, start) == Outcome.RETRY
        assert deliver(runtime, delivery_id, start + BACKOFF[0] / 2) == Outcome.SKIPPED  # not due yet
        assert deliver(runtime, delivery_id, start + BACKOFF[0]) == Outcome.RETRY
        (row,) = deliveries(runtime)
        assert (row.attempts, row.last_status_code, row.next_attempt_at) == (2, 503, start + BACKOFF[0] + BACKOFF[1])
        assert deliver(runtime, delivery_id, start + BACKOFF[0] + BACKOFF[1]) == Outcome.SENT
        assert deliver(runtime, delivery_id, start + BACKOFF[0] + BACKOFF[1]) == Outcome.SKIPPED  # a repeat message
    finally:
        receiver.stop()
    assert len(receiver.received) == 3
    assert len({headers["webhook-id"] for headers, _ in receiver.received}) == 1
    assert len({body for _, body in receiver.received}) == 1
    assert all(verified(secret, request)["type"] == "webhook.test" for request in receiver.received)
    (row,) = deliveries(runtime)
    assert (row.status, row.attempts, row.last_status_code, row.last_response) == (
        WebhookDeliveryStatus.SENT, 3, 200, "ok")


def test_long_waits_are_queued_by_the_sweep_and_the_retries_end_after_a_day(runtime, organiser):
    receiver = WebhookReceiver(answers=[502] * MAX_ATTEMPTS).start()
    try:
        endpoint, _ = webhooks.create_endpoint(runtime, principal(organiser[0]),
                                               {"url": receiver.url, "events": ALL_EVENTS})
        delivery_id = webhooks.send_test_event(runtime, principal(organiser[0]), endpoint.id)
        moment = utcnow() - sum(BACKOFF, timedelta())  # so that signatures are made at the real time
        for attempt, wait in enumerate(BACKOFF, start=1):
            assert deliver(runtime, delivery_id, moment) == Outcome.RETRY, attempt
            (row,) = deliveries(runtime)
            if wait > timedelta(minutes=5):
                # Not in Redis: the sweep queues it once it is due, not before.
                assert row.enqueued_at is None
                assert sweep_webhooks(runtime, moment + wait - timedelta(seconds=1)) == 0
                assert sweep_webhooks(runtime, moment + wait) == 1
            moment += wait
        assert deliver(runtime, delivery_id, moment) == Outcome.FAILED
    finally:
        receiver.stop()
    assert len(receiver.received) == MAX_ATTEMPTS
    (row,) = deliveries(runtime)
    assert (row.status, row.attempts, row.next_attempt_at) == (WebhookDeliveryStatus.FAILED, MAX_ATTEMPTS, None)
    assert sweep_webhooks(runtime, moment + timedelta(days=1)) == 0


def test_a_410_stops_retries_and_redeliver_sends_it_again(client, runtime, organiser):
    receiver = WebhookReceiver(answers=[410]).start()
    _, auth = organiser
    try:
        endpoint = add_endpoint(client, auth, receiver.url)
        delivery_id = client.post(f"{MANAGE}/webhooks/{endpoint['id']}/test", headers=auth).get_json()["delivery_id"]
        assert deliver(runtime, delivery_id) == Outcome.FAILED
        assert sweep_webhooks(runtime, utcnow() + timedelta(days=2)) == 0
        log = client.get(f"{MANAGE}/webhooks/{endpoint['id']}/deliveries", headers=auth).get_json()
        assert [(d["status"], d["attempts"], d["last_status_code"]) for d in log] == [("failed", 1, 410)]

        again = client.post(f"{MANAGE}/webhooks/{endpoint['id']}/deliveries/{delivery_id}/redeliver", headers=auth)
        assert again.status_code == 202 and again.get_json()["status"] == "queued"
        assert deliver(runtime, delivery_id) == Outcome.SENT
    finally:
        receiver.stop()
    first, second = receiver.received
    assert first[0]["webhook-id"] == second[0]["webhook-id"] and first[1] == second[1]
    assert verified(endpoint["secret"], second)["type"] == "webhook.test"
    other = client.post(f"{MANAGE}/webhooks/{endpoint['id']}/deliveries/{delivery_id + 99}/redeliver", headers=auth)
    assert other.status_code == 404


def test_after_a_rotation_both_secrets_verify_until_the_grace_period_ends(client, runtime, organiser, receiver):
    _, auth = organiser
    endpoint = add_endpoint(client, auth, receiver.url)
    rotated = client.post(f"{MANAGE}/webhooks/{endpoint['id']}/rotate-secret", headers=auth).get_json()["secret"]
    assert rotated != endpoint["secret"]
    first = client.post(f"{MANAGE}/webhooks/{endpoint['id']}/test", headers=auth).get_json()["delivery_id"]
    assert deliver(runtime, first) == Outcome.SENT
    assert verified(rotated, receiver.received[0]) and verified(endpoint["secret"], receiver.received[0])

    with write_transaction(runtime.sessions) as session:
        session.execute(update(WebhookEndpoint).values(previous_secret_until=utcnow() - timedelta(seconds=1)))
    second = client.post(f"{MANAGE}/webhooks/{endpoint['id']}/test", headers=auth).get_json()["delivery_id"]
    assert deliver(runtime, second) == Outcome.SENT
    assert verified(rotated, receiver.received[1])
    with pytest.raises(WebhookVerificationError):
        verified(endpoint["secret"], receiver.received[1])


def test_an_endpoint_failing_for_three_days_is_disabled_and_hears_nothing_more(client, runtime, organiser):
    receiver = WebhookReceiver(answers=[500] * 10).start()
    _, auth = organiser
    try:
        endpoint = add_endpoint(client, auth, receiver.url)
        first = client.post(f"{MANAGE}/webhooks/{endpoint['id']}/test", headers=auth).get_json()["delivery_id"]
        start = utcnow()
        assert deliver(runtime, first, start) == Outcome.RETRY
        waiting = client.post(f"{MANAGE}/webhooks/{endpoint['id']}/test", headers=auth).get_json()["delivery_id"]
        last = client.post(f"{MANAGE}/webhooks/{endpoint['id']}/test", headers=auth).get_json()["delivery_id"]
        assert deliver(runtime, last, start + DISABLE_AFTER - timedelta(minutes=1)) == Outcome.RETRY
        assert client.get(f"{MANAGE}/webhooks/{endpoint['id']}", headers=auth).get_json()["enabled"] is True
        assert deliver(runtime, first, start + DISABLE_AFTER) == Outcome.RETRY
    finally:
        receiver.stop()
    shown = client.get(f"{MANAGE}/webhooks/{endpoint['id']}", headers=auth).get_json()
    assert shown["enabled"] is False and shown["failing_since"]
    statuses = {d.id: d.status for d in deliveries(runtime)}
    assert statuses == {first: WebhookDeliveryStatus.FAILED, waiting: WebhookDeliveryStatus.FAILED,
                        last: WebhookDeliveryStatus.FAILED}
    # A disabled endpoint gets no new events; turned on again, it does.
    seminar = client.post(f"{MANAGE}/events", json=new_seminar(), headers=auth)
    assert seminar.status_code == 201 and len(deliveries(runtime)) == 3
    on = client.patch(f"{MANAGE}/webhooks/{endpoint['id']}", json={"enabled": True}, headers=auth).get_json()
    assert on["enabled"] is True and on["failing_since"] is None
    client.patch(f"{MANAGE}/events/{seminar.get_json()['id']}", json={"location": "Raum 3"}, headers=auth)
    assert [d.event_type for d in deliveries(runtime)][3:] == ["seminar.changed"]


def test_a_success_resets_the_failing_clock(runtime, organiser):
    receiver = WebhookReceiver(answers=[500]).start()
    try:
        endpoint, _ = webhooks.create_endpoint(runtime, principal(organiser[0]),
                                               {"url": receiver.url, "events": ALL_EVENTS})
        delivery_id = webhooks.send_test_event(runtime, principal(organiser[0]), endpoint.id)
        assert deliver(runtime, delivery_id) == Outcome.RETRY
        assert webhooks.get_endpoint(runtime, principal(organiser[0]), endpoint.id).failing_since is not None
        assert deliver(runtime, delivery_id, utcnow() + BACKOFF[0]) == Outcome.SENT
    finally:
        receiver.stop()
    assert webhooks.get_endpoint(runtime, principal(organiser[0]), endpoint.id).failing_since is None


def test_old_deliveries_are_forgotten_after_the_keeping_time(runtime, organiser, receiver):
    endpoint, _ = webhooks.create_endpoint(runtime, principal(organiser[0]), {"url": receiver.url,
                                                                                "events": ALL_EVENTS})
    sent = webhooks.send_test_event(runtime, principal(organiser[0]), endpoint.id)
    assert deliver(runtime, sent) == Outcome.SENT
    waiting = webhooks.send_test_event(runtime, principal(organiser[0]), endpoint.id)
    keep = timedelta(days=runtime.settings.webhook_log_days)
    assert forget_old_deliveries(runtime, utcnow() + keep - timedelta(minutes=1)) == 0
    assert forget_old_deliveries(runtime, utcnow() + keep + timedelta(minutes=1)) == 1
    assert [d.id for d in deliveries(runtime)] == [waiting]  # what still waits is never forgotten


def test_no_endpoint_means_no_delivery_rows_and_unsubscribed_events_write_none(client, runtime, organiser, receiver):
    _, auth = organiser
    seminar = client.post(f"{MANAGE}/events", json=new_seminar(capacity=5), headers=auth).get_json()
    client.post(f"/api/v1/events/{seminar['id']}/registrations", json=person(1))
    assert deliveries(runtime) == []
    add_endpoint(client, auth, receiver.url, ["registration.waitlisted"])
    client.post(f"/api/v1/events/{seminar['id']}/registrations", json=person(2))
    assert deliveries(runtime) == []
    add_endpoint(client, auth, receiver.url, ["registration.created"])
    client.post(f"/api/v1/events/{seminar['id']}/registrations", json=person(3))
    assert [d.event_type for d in deliveries(runtime)] == ["registration.created"]


@pytest.mark.slow
def test_a_receiver_that_never_answers_holds_up_no_registration_mail_or_other_receiver(settings, client, runtime,
                                                                                       organiser, smtp_server):
    _, auth = organiser
    silent = WebhookReceiver(silence=60).start()
    prompt = WebhookReceiver().start()
    workers = [Worker(service_env(settings, WEBHOOK_ALLOW_PRIVATE="1", WEBHOOK_TIMEOUT_SECONDS="30"), threads=4,
                      module="services.webhooks.worker"),
               Worker(service_env(settings, MAIL_URL=smtp_server.url))]
    try:
        for worker in workers:
            worker.start()
        add_endpoint(client, auth, silent.url, ["registration.created"])
        add_endpoint(client, auth, prompt.url, ["registration.created"])
        seminar = client.post(f"{MANAGE}/events", json=new_seminar(capacity=50), headers=auth).get_json()
        # The silent receiver holds its first request open; meanwhile everything else goes on.
        assert client.post(f"/api/v1/events/{seminar['id']}/registrations", json=person(0)).status_code == 201
        silent.wait_for(1)
        answers = [client.post(f"/api/v1/events/{seminar['id']}/registrations", json=person(n))
                   for n in range(1, 12)]
        assert [a.status_code for a in answers] == [201] * 11
        prompt.wait_for(12)
        smtp_server.sink.wait_for(12)
        assert silent.answered == 0  # all of that happened while it had not answered once
        # Its slots: the rest of the worker's threads served the others.
        assert len(silent.received) <= SLOTS_PER_ENDPOINT
    finally:
        for worker in workers:
            worker.stop()
        silent.stop()
        prompt.stop()


def test_the_organiser_page_adds_tests_rotates_redelivers_and_deletes(client, runtime, receiver):
    with write_transaction(runtime.sessions) as session:
        organiser_id = make_organiser(session, slug="stiftung", name="Stiftung Engagement").id
    add_member(runtime, organiser_id, Role.ADMIN, "admin@stiftung.example")
    log_in(client, "admin@stiftung.example", "ein langes Passwort")

    def post(path, **fields):
        return client.post(path, data={"csrf_token": csrf(client), **fields})

    refused = post("/manage/stiftung/webhooks", url="https://127.0.0.1.nip.invalid/x", events="seminar.changed")
    assert refused.status_code == 422 and "lässt sich nicht auflösen" in refused.get_data(as_text=True)
    assert "mindestens eines" in post("/manage/stiftung/webhooks", url=receiver.url).get_data(as_text=True)

    created = client.post("/manage/stiftung/webhooks", data={
        "csrf_token": csrf(client), "url": receiver.url, "description": "Mitgliederverwaltung",
        "events": ["registration.created", "seminar.changed"]})
    assert created.status_code == 201
    secret = re.search(r'value="(whsec_[^"]+)"', created.get_data(as_text=True))[1]
    (endpoint,) = webhooks.list_endpoints(runtime, principal(organiser_id))
    page = f"/manage/stiftung/webhooks/{endpoint.id}"
    listing = client.get("/manage/stiftung/webhooks").get_data(as_text=True)
    assert receiver.url in listing and "Mitgliederverwaltung" in listing
    assert secret not in listing and secret not in client.get(page).get_data(as_text=True)

    assert post(f"{page}/test").status_code == 302
    (delivery,) = deliveries(runtime)
    assert deliver(runtime, delivery.id) == Outcome.SENT
    shown = client.get(page).get_data(as_text=True)
    assert "zugestellt" in shown and delivery.event_id in shown
    assert verified(secret, receiver.received[0])["type"] == "webhook.test"

    assert post(f"{page}/deliveries/{delivery.id}/redeliver").status_code == 302
    assert deliver(runtime, delivery.id) == Outcome.SENT
    assert receiver.received[1][0]["webhook-id"] == receiver.received[0][0]["webhook-id"]

    rotated = post(f"{page}/rotate")
    new_secret = re.search(r'value="(whsec_[^"]+)"', rotated.get_data(as_text=True))[1]
    assert new_secret != secret and "24 Stunden" in rotated.get_data(as_text=True)
    assert post(f"{page}/disable").status_code == 302
    assert "Einschalten" in client.get(page).get_data(as_text=True)
    assert post(f"{page}/enable").status_code == 302
    assert post(f"{page}/delete").status_code == 302
    assert client.get(page).status_code == 404 and deliveries(runtime) == []


@pytest.mark.parametrize("viewport", ["desktop", "mobile"])
def test_an_admin_sets_up_a_webhook_in_the_browser(runtime, live_app, browser, receiver, viewport, tmp_path):
    from tests.browser import axe_violations, describe_violations, open_page

    with write_transaction(runtime.sessions) as session:
        organiser_id = make_organiser(session, slug="stiftung", name="Deutsche Stiftung für Engagement").id
    add_member(runtime, organiser_id, Role.ADMIN, "admin@stiftung.example")
    problems = []
    with open_page(browser, viewport, locale="de-DE", bypass_csp=True) as page:
        def check(name: str) -> None:
            problems.append(describe_violations(axe_violations(page), where=f"{name}: "))
            page.screenshot(path=tmp_path / f"{viewport}-{name}.png", full_page=True)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= page.viewport_size["width"], f"{name} scrolls sideways ({width} px)"

        page.goto(f"{live_app.url}/manage/login")
        page.get_by_label("E-Mail-Adresse").fill("admin@stiftung.example")
        page.get_by_label("Passwort").fill("ein langes Passwort")
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url("**/manage/stiftung/")
        page.get_by_role("link", name="Webhooks").click()
        page.wait_for_url("**/webhooks")
        check("list")

        page.get_by_label("Adresse (URL)").fill(receiver.url)
        page.get_by_role("button", name="Webhook anlegen").click()
        assert page.get_by_role("alert").is_visible()  # no event chosen
        check("form-with-errors")

        page.get_by_label("Beschreibung").fill("Mitgliederverwaltung des Musikverbands")
        page.get_by_label("Neue Anmeldung").check()
        page.get_by_label("Seminar abgesagt").check()
        page.get_by_role("button", name="Webhook anlegen").click()
        secret = page.get_by_label(re.compile("Signierschlüssel für")).input_value()
        assert secret.startswith("whsec_")
        check("secret")

        page.get_by_role("link", name="Zum Webhook").click()
        page.get_by_role("button", name="Testereignis senden").click()
        assert page.get_by_role("status").is_visible()
        (delivery,) = deliveries(runtime)
        assert deliver(runtime, delivery.id) == Outcome.SENT
        page.reload()
        assert page.get_by_role("cell", name="zugestellt").is_visible()
        check("detail")
    assert verified(secret, receiver.received[0])["type"] == "webhook.test"
    problems = [problem for problem in problems if problem]
    assert not problems, "\n".join(problems)


def test_the_admins_get_one_mail_when_a_webhook_is_turned_off(settings, runtime, organiser, smtp_server):
    organiser_id, _ = organiser
    add_member(runtime, organiser_id, Role.ADMIN, "vorstand@musikverband.example")
    add_member(runtime, organiser_id, Role.ADMIN, "kasse@musikverband.example")
    add_member(runtime, organiser_id, Role.VIEWER, "lesen@musikverband.example")
    receiver = WebhookReceiver(answers=[503, 503]).start()
    try:
        endpoint, _ = webhooks.create_endpoint(runtime, principal(organiser_id), {
            "url": receiver.url, "events": ALL_EVENTS, "description": "Mitgliederverwaltung"})
        delivery_id = webhooks.send_test_event(runtime, principal(organiser_id), endpoint.id)
        start = utcnow() - DISABLE_AFTER - timedelta(minutes=5)
        assert deliver(runtime, delivery_id, start) == Outcome.RETRY
        assert deliver(runtime, delivery_id, start + DISABLE_AFTER) == Outcome.RETRY
    finally:
        receiver.stop()
    with read_session(runtime.sessions) as session:
        mails = session.scalars(select(StaffMail).order_by(StaffMail.id)).all()
    # One each for the admins, none for the viewer.
    assert [(m.kind, m.subject_id, m.organiser_id, m.recipient) for m in mails] == [
        (StaffMailKind.WEBHOOK_DISABLED, endpoint.id, organiser_id, "vorstand@musikverband.example"),
        (StaffMailKind.WEBHOOK_DISABLED, endpoint.id, organiser_id, "kasse@musikverband.example")]

    sending = make_runtime(dataclasses.replace(settings, mail_url=smtp_server.url))
    try:
        assert [deliver_staff_mail(sending, m.id) for m in mails] == [MailOutcome.SENT] * 2
        assert deliver_staff_mail(sending, mails[0].id) == MailOutcome.SKIPPED  # a repeated message sends nothing
    finally:
        sending.close()
    received = smtp_server.sink.wait_for(2)
    assert sorted(m["X-Envelope-To"] for m in received) == ["kasse@musikverband.example",
                                                            "vorstand@musikverband.example"]
    sent = received[0]
    text = sent.get_body(("plain",)).get_content()
    assert receiver.url in sent["Subject"] and "ausgeschaltet" in sent["Subject"]
    assert "Mitgliederverwaltung" in text and "ist deshalb ausgeschaltet" in text and "has therefore been turned off" in text
    with read_session(runtime.sessions) as session:
        slug = session.get(Organiser, organiser_id).slug
    assert f"{settings.registration_base_url}/manage/{slug}/webhooks/{endpoint.id}" in text


def test_a_mail_about_a_webhook_turned_on_again_meanwhile_is_not_sent(settings, runtime, organiser, smtp_server):
    organiser_id, _ = organiser
    endpoint, _ = webhooks.create_endpoint(runtime, principal(organiser_id), {"url": "http://127.0.0.1:9/x",
                                                                               "events": ALL_EVENTS})
    with write_transaction(runtime.sessions) as session:
        session.execute(update(WebhookEndpoint).values(failing_since=utcnow() - DISABLE_AFTER))
    assert disable_failing(runtime, utcnow()) == [endpoint.id]
    assert disable_failing(runtime, utcnow()) == []  # once
    webhooks.update_endpoint(runtime, principal(organiser_id), endpoint.id, {"enabled": True})
    with read_session(runtime.sessions) as session:
        (mail_id,) = session.scalars(select(StaffMail.id)).all()  # no admins: to the organiser's contact address
    sending = make_runtime(dataclasses.replace(settings, mail_url=smtp_server.url))
    try:
        assert deliver_staff_mail(sending, mail_id) == MailOutcome.SKIPPED
    finally:
        sending.close()
    with read_session(runtime.sessions) as session:
        assert session.get(StaffMail, mail_id).last_error == "webhook turned on again"
    assert smtp_server.sink.received == []


def test_the_sweep_hands_back_an_admin_mail_whose_worker_died(settings, runtime, organiser):
    organiser_id, _ = organiser
    endpoint, _ = webhooks.create_endpoint(runtime, principal(organiser_id), {"url": "http://127.0.0.1:9/x",
                                                                               "events": ALL_EVENTS})
    with write_transaction(runtime.sessions) as session:
        session.execute(update(WebhookEndpoint).values(failing_since=utcnow() - DISABLE_AFTER))
    disable_failing(runtime, utcnow())
    stale = utcnow() - timedelta(seconds=settings.sweep_after_seconds + 5)
    with write_transaction(runtime.sessions) as session:
        session.execute(update(StaffMail).values(status=NotificationStatus.SENDING, claimed_at=stale, enqueued_at=stale))
    assert sweep_notifications(runtime, utcnow()) == 1
    with read_session(runtime.sessions) as session:
        (mail,) = session.scalars(select(StaffMail)).all()
    assert mail.status == NotificationStatus.RETRY and mail.enqueued_at > stale
    assert sweep_notifications(runtime, utcnow()) == 0  # freshly handed back: left alone
