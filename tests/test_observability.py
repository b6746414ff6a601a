"""Metrics and logs: counters move with what happens, and no line or label carries personal data."""

from __future__ import annotations

import json
import logging
import re
import signal
import subprocess
import sys
from datetime import timedelta

import dramatiq
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from services.calendar_feed import create_app as create_calendar_app
from services.registration import create_app as create_registration_app
from services.registration.domain.registrations import register
from shared.db import read_session, write_transaction
from shared.logs import JsonFormatter
from shared.messages import MAIL_QUEUE, SEND_NOTIFICATION, enqueue
from shared.models import Notification, Registration, RegistrationStatus
from shared.times import utcnow
from tests.conftest import service_env
from tests.factories import make_registration, make_seminar, person
from tests.servers import PROJECT_ROOT, HttpServer, Worker, free_port, http, wait_until

REGISTRATIONS_ROUTE = "/api/v1/events/<int:event_id>/registrations"


def metric(text: str, sample: str, **labels: str) -> float:
    """The value of one sample of a /metrics answer; 0 when it has not been counted yet."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == sample and labels.items() <= found.labels.items():
                return found.value
    return 0.0


def scrape(client) -> str:
    """GET /metrics of a Flask test client, as text."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return response.get_data(as_text=True)


@pytest.fixture
def calendar_client(settings):
    app = create_calendar_app(settings)
    yield app.test_client()
    app.extensions["runtime"].close()


@pytest.fixture
def seminar_id(runtime) -> int:
    with write_transaction(runtime.sessions) as session:
        return make_seminar(session, title="Vereinsrecht kompakt").id



def test_a_registration_counts_its_outcome_and_its_request_by_route(client, seminar_id):
    before = scrape(client)
    response = client.post(f"/api/v1/events/{seminar_id}/registrations", json=person())
    assert response.status_code == 201
    after = scrape(client)

    def moved(sample, **labels):
        return metric(after, sample, **labels) - metric(before, sample, **labels)

    assert moved("seminare_registrations_total", outcome="pending") == 1
    assert moved("seminare_http_requests_total", service="registration", route=REGISTRATIONS_ROUTE,
                 method="POST", status="201") == 1
    assert moved("seminare_http_request_duration_seconds_count", service="registration",
                 route=REGISTRATIONS_ROUTE) == 1


def test_a_refused_registration_counts_its_reason(client, runtime):
    with write_transaction(runtime.sessions) as session:
        full = make_seminar(session, capacity=0, waitlist_enabled=False).id
    before = scrape(client)
    assert client.post(f"/api/v1/events/{full}/registrations", json=person()).status_code == 409
    after = scrape(client)
    assert (metric(after, "seminare_registrations_total", outcome="seminar_full")
            - metric(before, "seminare_registrations_total", outcome="seminar_full")) == 1


def test_a_404_is_counted_with_its_url_rule_never_with_the_token_in_its_path(client):
    before = scrape(client)
    assert client.get("/r/no-such-token-abc123", headers={"Accept": "text/html"}).status_code == 404
    assert client.get("/nowhere/secret-path-xyz").status_code == 404
    after = scrape(client)

    for route in ("/r/<token>", "unmatched"):
        counted = {"service": "registration", "route": route, "method": "GET", "status": "404"}
        assert metric(after, "seminare_http_requests_total", **counted) \
            - metric(before, "seminare_http_requests_total", **counted) == 1
    assert "no-such-token-abc123" not in after and "secret-path-xyz" not in after


def test_feed_requests_count_cache_misses_hits_and_404s_by_route(calendar_client):
    before = scrape(calendar_client)
    assert calendar_client.get("/calendar/events.ics").status_code == 200  # built: a miss
    assert calendar_client.get("/calendar/events.ics").status_code == 200  # served from the cache: a hit
    assert calendar_client.get("/calendar/events/999.ics").status_code == 404
    after = scrape(calendar_client)

    def moved(sample, **labels):
        return metric(after, sample, **labels) - metric(before, sample, **labels)

    assert moved("seminare_feed_cache_total", result="hit") == 1
    assert moved("seminare_feed_cache_total", result="miss") == 2  # the unknown seminar was looked for too
    assert moved("seminare_http_requests_total", service="calendar_feed", route="/calendar/events/<int:event_id>.ics",
                 status="404") == 1
    assert moved("seminare_http_requests_total", service="calendar_feed", route="/calendar/events.ics",
                 status="200") == 2


def test_queue_depth_shows_waiting_and_delayed_mails(client, runtime):
    for notification_id in (1, 2, 3):
        assert enqueue(runtime.broker, SEND_NOTIFICATION, notification_id=notification_id)
    retry = dramatiq.Message(queue_name=MAIL_QUEUE, actor_name=SEND_NOTIFICATION, args=(),
                             kwargs={"notification_id": 4}, options={})
    runtime.broker.enqueue(retry, delay=60_000)

    text = scrape(client)
    assert metric(text, "seminare_queue_messages", queue=MAIL_QUEUE) == 3
    assert metric(text, "seminare_queue_messages", queue=f"{MAIL_QUEUE}.DQ") == 1


def test_metrics_answer_without_queue_depth_while_redis_is_away(settings):
    app = create_calendar_app(settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        text = scrape(app.test_client())
    finally:
        app.extensions["runtime"].close()
    assert "seminare_http_requests_total" in text
    assert "seminare_queue_messages{" not in text


@pytest.fixture
def metered_worker(settings, smtp_server, tmp_path):
    """The worker as in production: several processes counting into one directory, an exporter on a free port."""
    port = free_port()
    (tmp_path / "worker-metrics").mkdir()
    worker = Worker(service_env(settings, MAIL_URL=smtp_server.url, METRICS_PORT=str(port),
                                PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "worker-metrics")))
    worker.start()
    worker.metrics_url = f"http://127.0.0.1:{port}/metrics"
    yield worker
    worker.stop()


def test_worker_metrics_show_a_sent_notification(runtime, seminar_id, smtp_server, metered_worker):
    register(runtime, seminar_id, person())
    smtp_server.sink.wait_for(1)

    def sent() -> float:
        try:
            status, _, body = http("GET", metered_worker.metrics_url)
        except OSError:  # the exporter starts after the worker processes
            return 0.0
        assert status == 200
        return metric(body.decode(), "seminare_notifications_total", kind="confirm_address", outcome="sent")

    assert wait_until(sent, timeout=20, message="the sent mail in the worker's metrics") == 1


def test_a_whole_registration_logs_request_ids_and_no_personal_data(settings, runtime, seminar_id, smtp_server,
                                                                    caplog, monkeypatch):
    name, email = "Zoltán Quäxelbrink", "zq.quaexelbrink@example.org"
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("ACCESS_LOG", "1")  # one line per request, with the route and the request id
    registration_port, calendar_port = free_port(), free_port()
    settings = settings.with_overrides(registration_base_url=f"http://127.0.0.1:{registration_port}",
                                       calendar_base_url=f"http://127.0.0.1:{calendar_port}")
    registration = HttpServer(create_registration_app(settings), registration_port)
    calendar = HttpServer(create_calendar_app(settings), calendar_port)
    worker = Worker(service_env(settings, MAIL_URL=smtp_server.url, LOG_FORMAT="json"))
    for server in (registration, calendar, worker):
        server.start()
    try:
        status, headers, _ = http("POST", f"{registration.url}/api/v1/events/{seminar_id}/registrations",
                                  person(name=name, email=email), headers={"X-Request-ID": "client-chosen-id-1"})
        assert status == 201 and headers["X-Request-ID"] == "client-chosen-id-1"
        mail = smtp_server.sink.wait_for(1)[0].get_body(("plain",)).get_content()
        token = re.search(rf"{registration.url}/r/(\S+)", mail).group(1)

        status, headers, _ = http("POST", f"{registration.url}/r/{token}/confirm", data=b"")
        assert status == 302
        confirm_request_id = headers["X-Request-ID"]
        smtp_server.sink.wait_for(2)
        page = http("GET", f"{registration.url}/r/{token}")[2].decode()
        feed_token = re.search(rf"{calendar.url}/calendar/personal/([^\"&<\s]+)\.ics", page).group(1)
        status, _, feed = http("GET", f"{calendar.url}/calendar/personal/{feed_token}.ics")
        assert status == 200 and b"BEGIN:VEVENT" in feed
        with read_session(runtime.sessions) as session:
            notification_ids = set(session.scalars(select(Notification.id)))
    finally:
        worker.stop()
        registration.stop()
        calendar.stop()

    formatter = JsonFormatter()
    # "mail.log" is aiosmtpd, the test's own mail server: it logs the recipient, as a real one would.
    app_lines = [formatter.format(record) for record in caplog.records if record.name != "mail.log"]
    worker_lines = [json.loads(line) for line in worker.log if line.startswith("{")]
    for line in app_lines + [json.dumps(line, ensure_ascii=False) for line in worker_lines]:
        for secret in (name, "Quäxelbrink", email, "quaexelbrink", token, feed_token):
            assert secret not in line, line

    access = [record for record in caplog.records if record.name == "seminare.access"]
    assert {record.route for record in access} >= {REGISTRATIONS_ROUTE, "/r/<token>/confirm", "/r/<token>",
                                                    "/calendar/personal/<token>.ics"}
    assert all(re.fullmatch(r"[\w.:-]+", record.request_id) for record in access)
    assert {"client-chosen-id-1", confirm_request_id} <= {record.request_id for record in access}
    sent = [line for line in worker_lines if line.get("outcome") == "sent"]
    assert {line["notification_id"] for line in sent} == notification_ids


def test_without_access_log_requests_still_get_their_id(client, caplog, monkeypatch):
    monkeypatch.delenv("ACCESS_LOG", raising=False)
    caplog.set_level(logging.INFO)
    response = client.get("/healthz", headers={"X-Request-ID": "ops-42"})
    assert response.headers["X-Request-ID"] == "ops-42"
    assert not [record for record in caplog.records if record.name == "seminare.access"]


def test_the_scheduler_logs_json_lines_with_its_round_and_no_personal_data(settings, runtime):
    with write_transaction(runtime.sessions) as session:
        seminar = make_seminar(session, capacity=3)
        lapsed = make_registration(session, seminar, RegistrationStatus.PENDING, name="Zoltán Quäxelbrink",
                                   email="zq.quaexelbrink@example.org", expires_at=utcnow() - timedelta(hours=1))
        lapsed_id = lapsed.id
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "services.scheduler"], cwd=PROJECT_ROOT, stderr=subprocess.PIPE, text=True,
        env=service_env(settings, SCHEDULER_INTERVAL_SECONDS="0.2", LOG_FORMAT="json"),
    )
    try:
        def expired():
            with read_session(runtime.sessions) as session:
                return session.get(Registration, lapsed_id).status == RegistrationStatus.EXPIRED

        wait_until(expired, timeout=20, message="the scheduler expiring the registration")
    finally:
        scheduler.send_signal(signal.SIGTERM)
        _, stderr = scheduler.communicate(timeout=20)

    lines = [json.loads(line) for line in stderr.splitlines()]  # every line is JSON
    assert scheduler.returncode == 0
    assert [line["message"] for line in lines if line["logger"] == "scheduler"][-1] == "scheduler stopped"
    [done] = [line for line in lines if line["message"] == "round done"]
    assert done["registrations_expired"] == 1 and done["scheduler_round"] >= 1
    assert "Quäxelbrink" not in stderr and "quaexelbrink" not in stderr
