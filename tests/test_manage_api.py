"""The organiser API: tokens and roles, tenant isolation, seminar changes, attendee actions, exports."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime

import icalendar
import openpyxl
import pytest
from sqlalchemy import func, select

from shared.db import read_session, write_transaction
from shared.models import (
    AuditEvent,
    Notification,
    NotificationKind,
    NotificationStatus,
    Registration,
    RegistrationStatus,
    Role,
    Seminar,
    WebhookDelivery,
    WebhookEndpoint,
)
from services.calendar_feed import create_app as create_feed_app
from services.registration.accounts.api_tokens import create_api_token, revoke_api_token

from tests.factories import (
    add_api_token,
    add_webhook,
    berlin,
    make_organiser,
    make_registration,
    make_seminar,
    make_series,
)

MANAGE = "/api/v1/manage"


@dataclass
class Tenant:
    """One organiser with a series, a seminar, two registrations and tokens of each role."""

    organiser_id: int
    series_id: int
    seminar_id: int
    confirmed_id: int
    waiting_id: int
    tokens: dict[Role, str]
    webhook_id: int
    delivery_id: int

    def auth(self, role: Role = Role.ADMIN) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def make_tenant(runtime, name: str) -> Tenant:
    with write_transaction(runtime.sessions) as session:
        organiser = make_organiser(session, name=name)
        series = make_series(session, organiser)
        seminar = make_seminar(session, organiser, series=series, capacity=1, double_opt_in=False)
        confirmed = make_registration(session, seminar)
        waiting = make_registration(session, seminar, RegistrationStatus.WAITLISTED)
        ids = organiser.id, series.id, seminar.id, confirmed.id, waiting.id
    tokens = {role: add_api_token(runtime, ids[0], role, f"{role.value} token") for role in Role}
    webhook_id, delivery_id = add_webhook(runtime, ids[0])
    return Tenant(*ids, tokens, webhook_id, delivery_id)


@pytest.fixture
def ours(runtime):
    return make_tenant(runtime, "Stiftung Engagement")


@pytest.fixture
def theirs(runtime):
    return make_tenant(runtime, "Musikverband")


def new_seminar(**overrides) -> dict:
    body = {
        "title": "Kommunal Engagiert: Ehrenamt und Digitalisierung",
        "starts_at": berlin(2031, 12, 10, 13, 30).isoformat(),
        "ends_at": berlin(2031, 12, 10, 15, 0).isoformat(),
        "capacity": 30,
        "join_url": "https://meet.example/kommunal",
        "questions": [
            {"key": "organisation", "kind": "short_text", "label_de": "Organisation", "label_en": "Organisation"},
            {"key": "role", "kind": "single_choice", "label_de": "Rolle", "label_en": "Role", "required": True,
             "options": [{"value": "ehrenamt", "label_de": "Ehrenamt", "label_en": "Volunteer"}]},
        ],
    }
    body.update(overrides)
    return body


def audit_actions(runtime, organiser_id: int) -> list[str]:
    with read_session(runtime.sessions) as session:
        return list(session.scalars(
            select(AuditEvent.action).where(AuditEvent.organiser_id == organiser_id).order_by(AuditEvent.id)
        ))


# --- tokens and roles ------------------------------------------------------------------


def test_no_token_gets_401_with_bearer_challenge_in_both_languages(client):
    german = client.get(f"{MANAGE}/events")
    english = client.get(f"{MANAGE}/events", headers={"Accept-Language": "en"})
    assert german.status_code == english.status_code == 401
    assert german.mimetype == "application/problem+json"
    assert german.headers["WWW-Authenticate"].startswith("Bearer")
    assert german.json["title"] == "Anmeldung erforderlich"
    assert english.json["title"] == "Authentication required"
    assert client.get(f"{MANAGE}/events", headers={"Authorization": "Bearer sem_made-up"}).status_code == 401


def test_revoked_token_stops_working_at_once(client, runtime, ours):
    token_id, token = create_api_token(runtime, ours.organiser_id, "Website", Role.EDITOR)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{MANAGE}/events", headers=headers).status_code == 200
    assert revoke_api_token(runtime, ours.organiser_id, token_id)
    assert client.get(f"{MANAGE}/events", headers=headers).status_code == 401


def test_tokens_are_stored_only_as_hashes(runtime, ours):
    from shared.models import ApiToken

    with read_session(runtime.sessions) as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
    assert stored and all(token not in stored for token in ours.tokens.values())
    assert all(re.fullmatch(r"[0-9a-f]{64}", value) for value in stored)


def test_roles_limit_what_a_token_may_do(client, ours):
    assert client.get(f"{MANAGE}/events", headers=ours.auth(Role.VIEWER)).status_code == 200
    refused = client.post(f"{MANAGE}/events", json=new_seminar(), headers=ours.auth(Role.VIEWER))
    assert refused.status_code == 403 and refused.json["code"] == "forbidden"
    assert client.post(f"{MANAGE}/events", json=new_seminar(), headers=ours.auth(Role.EDITOR)).status_code == 201
    assert client.get(f"{MANAGE}/audit", headers=ours.auth(Role.EDITOR)).status_code == 403
    assert client.patch(f"{MANAGE}/organiser", json={"retention_days": 14},
                        headers=ours.auth(Role.EDITOR)).status_code == 403
    assert client.get(f"{MANAGE}/audit", headers=ours.auth(Role.ADMIN)).status_code == 200


# --- tenant isolation ---------------------------------------------------------------------


def manage_urls(app, tenant: Tenant) -> list[tuple[str, str]]:
    """Every (method, URL) of the organiser API, with ids filled in from ``tenant``."""
    ids = {"event_id": tenant.seminar_id, "series_id": tenant.series_id,
           "registration_id": tenant.confirmed_id, "fmt": "csv", "webhook_id": tenant.webhook_id,
           "delivery_id": tenant.delivery_id}
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(MANAGE):
            continue
        url = rule.build({name: ids[name] for name in rule.arguments}, append_unknown=False)[1]
        urls += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return urls


def test_another_organisers_objects_are_not_found_through_any_route(app, client, runtime, ours, theirs):
    before = snapshot(runtime, theirs)
    checked = 0
    for method, url in manage_urls(app, theirs):
        if "{" in url or not re.search(r"/\d+", url):
            continue  # routes without ids are checked below: they list only our own rows
        body = valid_body(method, url)
        answer = client.open(url, method=method, json=body, headers=ours.auth(Role.ADMIN))
        assert answer.status_code == 404, (method, url, answer.status_code, answer.get_data(as_text=True)[:200])
        assert answer.mimetype == "application/problem+json"
        checked += 1
    assert checked >= 15  # every route with an id, each method
    assert snapshot(runtime, theirs) == before
    assert audit_actions(runtime, theirs.organiser_id) == []

    listed = client.get(f"{MANAGE}/events", headers=ours.auth()).json
    assert [seminar["id"] for seminar in listed] == [ours.seminar_id]
    assert [series["id"] for series in client.get(f"{MANAGE}/series", headers=ours.auth()).json] == [ours.series_id]
    assert client.get(f"{MANAGE}/organiser", headers=ours.auth()).json["id"] == ours.organiser_id
    assert {event["subject_id"] for event in client.get(f"{MANAGE}/audit", headers=ours.auth()).json} <= {
        ours.seminar_id, ours.series_id, ours.confirmed_id, ours.waiting_id, ours.organiser_id}


def valid_body(method: str, url: str) -> dict | None:
    """A body the route would accept, so that only the owner check can refuse it."""
    if url.endswith("/move"):
        return {"starts_at": berlin(2032, 1, 7, 13, 30).isoformat()}
    if url.endswith(("/repeat", "/repeat/preview")):
        return {"every": "week", "count": 2}
    if method == "PATCH" and "/webhooks/" in url:
        return {"description": "Übernommen"}
    if method == "PATCH":
        return {"title": "Übernommen"}
    return None


def snapshot(runtime, tenant: Tenant) -> tuple:
    """What an attack on ``tenant`` could change: its seminar, its registrations, their mails."""
    with read_session(runtime.sessions) as session:
        seminar = session.get(Seminar, tenant.seminar_id)
        registrations = session.execute(
            select(Registration.id, Registration.status).where(Registration.seminar_id == tenant.seminar_id)
            .order_by(Registration.id)
        ).all()
        mails = session.scalar(select(func.count()).select_from(Notification))
        webhook = session.get(WebhookEndpoint, tenant.webhook_id)
        deliveries = session.execute(select(WebhookDelivery.id, WebhookDelivery.status)
                                     .order_by(WebhookDelivery.id)).all()
        return (seminar.title, seminar.status, seminar.starts_at, seminar.capacity, seminar.series_id,
                tuple(registrations), mails, webhook.description, webhook.secret, webhook.disabled_at,
                tuple(deliveries))


# --- seminars ------------------------------------------------------------------------------


def test_a_created_draft_is_private_until_published(client, ours):
    created = client.post(f"{MANAGE}/events", json=new_seminar(series_id=ours.series_id), headers=ours.auth())
    assert created.status_code == 201, created.json
    seminar = created.json
    assert seminar["status"] == "draft"
    assert seminar["join_url"] == "https://meet.example/kommunal"
    assert [q["key"] for q in seminar["questions"]] == ["organisation", "role"]
    assert seminar["reminder_offsets"] == [1440, 60]
    assert client.get(f"/api/v1/events/{seminar['id']}").status_code == 404

    published = client.post(f"{MANAGE}/events/{seminar['id']}/publish", headers=ours.auth())
    assert published.json["status"] == "published"
    public = client.get(f"/api/v1/events/{seminar['id']}").json
    assert public["title"] == seminar["title"] and "join_url" not in public


def test_invalid_seminar_is_refused_with_field_errors_in_the_asked_language(client, ours):
    body = new_seminar(ends_at=berlin(2031, 12, 10, 12, 0).isoformat(), timezone="Mars/Olympus", capacity=-1)
    german = client.post(f"{MANAGE}/events", json=body, headers=ours.auth())
    english = client.post(f"{MANAGE}/events", json=body, headers={**ours.auth(), "Accept-Language": "en"})
    assert german.status_code == english.status_code == 422
    assert german.json["errors"]["ends_at"] == ["Das Ende muss nach dem Beginn liegen."]
    assert english.json["errors"]["timezone"] == ["This time zone is unknown."]
    assert set(german.json["errors"]) == {"ends_at", "timezone", "capacity"}


def test_raising_the_capacity_moves_the_next_person_up(client, runtime, ours):
    answer = client.patch(f"{MANAGE}/events/{ours.seminar_id}", json={"capacity": 2}, headers=ours.auth())
    assert answer.status_code == 200
    assert answer.json["counts"] == {"confirmed": 2, "pending": 0, "waitlisted": 0, "cancelled": 0}
    with read_session(runtime.sessions) as session:
        promoted = session.get(Registration, ours.waiting_id)
        kinds = session.scalars(select(Notification.kind).where(Notification.registration_id == promoted.id)).all()
    assert promoted.status == RegistrationStatus.CONFIRMED
    assert kinds == [NotificationKind.PROMOTED]
    lowered = client.patch(f"{MANAGE}/events/{ours.seminar_id}", json={"capacity": 1}, headers=ours.auth())
    assert lowered.status_code == 409 and lowered.json["code"] == "capacity_below_taken"


def test_a_seminar_with_registrations_is_cancelled_not_deleted(client, ours):
    refused = client.delete(f"{MANAGE}/events/{ours.seminar_id}", headers=ours.auth())
    assert refused.status_code == 409 and refused.json["code"] == "seminar_has_registrations"
    draft = client.post(f"{MANAGE}/events", json=new_seminar(), headers=ours.auth()).json
    assert client.delete(f"{MANAGE}/events/{draft['id']}", headers=ours.auth()).status_code == 204
    assert client.get(f"{MANAGE}/events/{draft['id']}", headers=ours.auth()).status_code == 404


def test_series_slugs_are_unique_and_validated(client, ours):
    first = client.post(f"{MANAGE}/series", json={"slug": "musik-im-dorf", "title": "Musik im Dorf"}, headers=ours.auth())
    assert first.status_code == 201 and first.json["feed_url"].endswith("/calendar/series/musik-im-dorf.ics")
    again = client.post(f"{MANAGE}/series", json={"slug": "musik-im-dorf", "title": "Noch einmal"}, headers=ours.auth())
    assert again.status_code == 409 and again.json["code"] == "slug_taken"
    bad = client.post(f"{MANAGE}/series", json={"slug": "Musik im Dorf", "title": "x"}, headers=ours.auth())
    assert bad.status_code == 422 and "slug" in bad.json["errors"]


def test_partner_origins_are_validated(client, ours):
    good = client.patch(f"{MANAGE}/organiser", json={"allowed_origins": ["https://www.kreis.example"]}, headers=ours.auth())
    assert good.status_code == 200 and good.json["allowed_origins"] == ["https://www.kreis.example"]
    for origin in ("https://www.kreis.example/seite", "https://www.kreis.example;x", "https://bürger.example",
                   "ftp://www.kreis.example"):
        bad = client.patch(f"{MANAGE}/organiser", json={"allowed_origins": [origin]}, headers=ours.auth())
        assert bad.status_code == 422 and bad.json["errors"]["allowed_origins"], origin
    assert client.get(f"{MANAGE}/organiser", headers=ours.auth()).json["allowed_origins"] == ["https://www.kreis.example"]



def test_the_impressum_address_is_validated_in_both_languages(client, ours):
    good = client.patch(f"{MANAGE}/organiser", json={"imprint_url": "https://www.kreis.example/impressum"},
                        headers=ours.auth())
    german = client.patch(f"{MANAGE}/organiser", json={"imprint_url": "www.kreis.example/impressum"},
                          headers=ours.auth())
    english = client.patch(f"{MANAGE}/organiser", json={"imprint_url": "javascript:alert(1)"},
                           headers={**ours.auth(), "Accept-Language": "en"})
    assert good.status_code == 200 and good.json["imprint_url"] == "https://www.kreis.example/impressum"
    assert german.status_code == english.status_code == 422
    assert german.mimetype == english.mimetype == "application/problem+json"
    assert german.json["errors"]["imprint_url"] == ["Bitte geben Sie eine Adresse mit https:// an."]
    assert english.json["errors"]["imprint_url"] == ["Please enter an address with https://."]
    assert client.get(f"{MANAGE}/organiser", headers=ours.auth()).json["imprint_url"] == (
        "https://www.kreis.example/impressum")
    assert client.patch(f"{MANAGE}/organiser", json={"imprint_url": None}, headers=ours.auth()).json["imprint_url"] is None

# --- registrations -------------------------------------------------------------------------


def test_registrations_filter_by_status_and_search(client, runtime, ours):
    with write_transaction(runtime.sessions) as session:
        seminar = session.get(Seminar, ours.seminar_id)
        make_registration(session, seminar, RegistrationStatus.WAITLISTED, name="Jürgen Weiß", email="jw@kreis.example")
    url = f"{MANAGE}/events/{ours.seminar_id}/registrations"
    everyone = client.get(url, headers=ours.auth(Role.VIEWER)).json
    waiting = client.get(f"{url}?status=waitlisted", headers=ours.auth(Role.VIEWER)).json
    found = client.get(f"{url}?q=WEISS", headers=ours.auth(Role.VIEWER)).json
    by_mail = client.get(f"{url}?q=kreis.example&status=waitlisted&status=confirmed", headers=ours.auth(Role.VIEWER)).json
    assert everyone["total"] == 3
    assert waiting["total"] == 2 and {r["status"] for r in waiting["registrations"]} == {"waitlisted"}
    assert found["total"] == 0  # "ß" is not "ss": the search is plain, not linguistic
    assert [r["name"] for r in by_mail["registrations"]] == ["Jürgen Weiß"]
    assert client.get(f"{url}?q=%25", headers=ours.auth(Role.VIEWER)).json["total"] == 0  # % is literal


def test_promote_cancel_and_resend_write_mails_and_audit(client, runtime, ours):
    full = client.post(f"{MANAGE}/registrations/{ours.waiting_id}/promote", headers=ours.auth(Role.EDITOR))
    assert full.status_code == 409 and full.json["code"] == "seminar_full"

    cancelled = client.post(f"{MANAGE}/registrations/{ours.confirmed_id}/cancel", headers=ours.auth(Role.EDITOR))
    assert cancelled.json["status"] == "cancelled"
    # The freed seat went to the waiting person automatically.
    waiting = client.get(f"{MANAGE}/registrations/{ours.waiting_id}", headers=ours.auth()).json
    assert waiting["status"] == "confirmed"
    assert [n["kind"] for n in waiting["notifications"]] == ["promoted"]
    again = client.post(f"{MANAGE}/registrations/{ours.waiting_id}/promote", headers=ours.auth(Role.EDITOR))
    assert again.status_code == 409 and again.json["code"] == "not_waitlisted"

    resent = client.post(f"{MANAGE}/registrations/{ours.waiting_id}/resend", headers=ours.auth(Role.EDITOR))
    assert resent.status_code == 202
    assert [n["kind"] for n in resent.json["notifications"]] == ["promoted", "confirmed"]
    nothing = client.post(f"{MANAGE}/registrations/{ours.confirmed_id}/resend", headers=ours.auth(Role.EDITOR))
    assert nothing.status_code == 409 and nothing.json["code"] == "nothing_to_resend"
    assert audit_actions(runtime, ours.organiser_id) == ["registration.cancelled", "registration.mail_resent"]


def test_cancelling_with_a_message_puts_it_into_the_receipt(client, runtime, ours):
    url = f"{MANAGE}/registrations/{ours.confirmed_id}/cancel"
    too_long = client.post(url, json={"message": "x" * 2001}, headers=ours.auth(Role.EDITOR))
    assert too_long.status_code == 422 and "message" in too_long.json["errors"]
    cancelled = client.post(url, json={"message": "Wir haben doppelt gebucht."}, headers=ours.auth(Role.EDITOR))
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    with read_session(runtime.sessions) as session:
        receipt = session.scalar(select(Notification).where(
            Notification.registration_id == ours.confirmed_id,
            Notification.kind == NotificationKind.CANCELLATION_RECEIPT))
    assert receipt.details["by"] == "organiser" and receipt.details["message"] == "Wir haben doppelt gebucht."


def test_promoting_ahead_of_the_queue_takes_a_free_seat(client, runtime, ours):
    with write_transaction(runtime.sessions) as session:
        seminar = session.get(Seminar, ours.seminar_id)
        later = make_registration(session, seminar, RegistrationStatus.WAITLISTED)
        seminar.capacity = 3  # a seat the automatic promotion has not given away yet
        later_id = later.id
    promoted = client.post(f"{MANAGE}/registrations/{later_id}/promote", headers=ours.auth(Role.EDITOR))
    assert promoted.status_code == 200 and promoted.json["status"] == "confirmed"
    assert [n["kind"] for n in promoted.json["notifications"]] == ["promoted"]
    assert "registration.promoted" in audit_actions(runtime, ours.organiser_id)


def test_failed_mails_show_their_reason(client, runtime, ours):
    with write_transaction(runtime.sessions) as session:
        session.add(Notification(
            registration_id=ours.confirmed_id, kind=NotificationKind.CONFIRMED, status=NotificationStatus.FAILED,
            attempts=1, last_error="550 5.1.1 mailbox unavailable",
        ))
    registration = client.get(f"{MANAGE}/registrations/{ours.confirmed_id}", headers=ours.auth(Role.VIEWER)).json
    assert registration["notifications"][0]["status"] == "failed"
    assert registration["notifications"][0]["last_error"] == "550 5.1.1 mailbox unavailable"


# --- exports ------------------------------------------------------------------------------


def test_exports_stream_as_attachments_and_are_audited(client, runtime, ours):
    with write_transaction(runtime.sessions) as session:
        seminar = session.get(Seminar, ours.seminar_id)
        make_registration(session, seminar, RegistrationStatus.WAITLISTED, name='=HYPERLINK("http://x","y")')
    csv_answer = client.get(f"{MANAGE}/events/{ours.seminar_id}/registrations.csv", headers=ours.auth(Role.VIEWER))
    assert csv_answer.status_code == 200
    assert csv_answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert csv_answer.headers["Content-Disposition"].startswith("attachment; filename*=UTF-8''")
    assert csv_answer.headers["Cache-Control"] == "no-store"
    text = csv_answer.get_data().decode("utf-8-sig")
    assert "'=HYPERLINK" in text and '"=HYPERLINK' not in text

    xlsx = client.get(f"{MANAGE}/events/{ours.seminar_id}/registrations.xlsx?status=waitlisted", headers=ours.auth(Role.VIEWER))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.get_data())).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell for cell in cells if cell.data_type == "f"]
    assert sheet.max_row == 3  # header + the two waiting people
    series = client.get(f"{MANAGE}/series/{ours.series_id}/registrations.csv?delimiter=,", headers=ours.auth(Role.VIEWER))
    assert series.status_code == 200 and series.get_data().decode("utf-8-sig").split("\r\n")[0].count('","') >= 3
    assert audit_actions(runtime, ours.organiser_id) == ["attendees.exported"] * 3


# --- moves and cancellations reach people and calendars ----------------------------------------


@pytest.mark.slow
def test_move_and_cancel_reach_mailboxes_and_feeds(settings, client, runtime, ours, worker, smtp_server):
    feeds = create_feed_app(settings).test_client()
    feed_url = f"/calendar/events/{ours.seminar_id}.ics"
    assert feeds.get(feed_url).status_code == 200

    moved = client.post(f"{MANAGE}/events/{ours.seminar_id}/move", headers=ours.auth(Role.EDITOR), json={
        "starts_at": berlin(2031, 12, 17, 13, 30).isoformat(), "ends_at": berlin(2031, 12, 17, 15, 0).isoformat(),
        "message": "Wir verschieben um eine Woche."})
    assert moved.status_code == 200 and moved.json["sequence"] == 1
    change_mails = smtp_server.sink.wait_for(2)  # the confirmed and the waiting person
    with read_session(runtime.sessions) as session:
        participants = set(session.scalars(select(Registration.email).where(Registration.seminar_id == ours.seminar_id)))
    assert {mail["To"].addresses[0].addr_spec for mail in change_mails} == participants
    for text in (mail.get_body(("plain",)).get_content() for mail in change_mails):
        assert "neu: Mittwoch, 17. Dezember 2031, 13:30–15:00 Uhr" in text and "Wir verschieben um eine Woche." in text
    event = icalendar.Calendar.from_ical(feeds.get(feed_url).data).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == berlin(2031, 12, 17, 13, 30)
    assert event["SEQUENCE"] == 1

    too_long = client.post(f"{MANAGE}/events/{ours.seminar_id}/cancel", headers=ours.auth(Role.EDITOR),
                           json={"message": "x" * 2001})
    assert too_long.status_code == 422 and "message" in too_long.json["errors"]
    cancelled = client.post(f"{MANAGE}/events/{ours.seminar_id}/cancel", headers=ours.auth(Role.EDITOR),
                            json={"message": "Die Referentin ist krank."})
    assert cancelled.json["status"] == "cancelled"
    cancel_mails = smtp_server.sink.wait_for(4)[2:]
    assert all("abgesagt" in mail["Subject"].lower() for mail in cancel_mails)
    assert all("Die Referentin ist krank." in mail.get_body(("plain",)).get_content() for mail in cancel_mails)
    event = icalendar.Calendar.from_ical(feeds.get(feed_url).data).walk("VEVENT")[0]
    assert event["STATUS"] == "CANCELLED" and event["SEQUENCE"] == 2
    assert audit_actions(runtime, ours.organiser_id) == ["seminar.moved", "seminar.cancelled"]
    feeds.application.extensions["runtime"].close()


def test_editing_a_published_seminar_tells_participants_only_of_time_and_place(client, runtime, ours):
    def change_mails() -> int:
        with read_session(runtime.sessions) as session:
            return session.scalar(select(func.count()).select_from(Notification)
                                  .where(Notification.kind == NotificationKind.CHANGED))

    retitled = client.patch(f"{MANAGE}/events/{ours.seminar_id}", json={"title": "Neuer Titel"}, headers=ours.auth())
    assert retitled.json["title"] == "Neuer Titel" and retitled.json["sequence"] == 0
    assert change_mails() == 0
    old = retitled.json
    later = client.patch(f"{MANAGE}/events/{ours.seminar_id}", headers=ours.auth(),
                         json={"starts_at": berlin(2032, 2, 4, 13, 30).isoformat()})
    assert later.status_code == 200 and later.json["sequence"] == 1
    # The length stays: a new start alone moves the end with it.
    length = datetime.fromisoformat(old["ends_at"]) - datetime.fromisoformat(old["starts_at"])
    assert datetime.fromisoformat(later.json["ends_at"]) - datetime.fromisoformat(later.json["starts_at"]) == length
    assert change_mails() == 2  # the confirmed and the waiting person
    backwards = client.patch(f"{MANAGE}/events/{ours.seminar_id}", headers=ours.auth(),
                             json={"ends_at": berlin(2032, 2, 4, 12, 0).isoformat(), "title": "Nicht gespeichert"})
    assert backwards.status_code == 422
    assert client.get(f"{MANAGE}/events/{ours.seminar_id}", headers=ours.auth()).json["title"] == "Neuer Titel"


def test_a_seminar_may_keep_registrations_shorter_than_its_organiser(client, ours):
    seminar = client.get(f"{MANAGE}/events/{ours.seminar_id}", headers=ours.auth()).json
    assert seminar["retention_days"] is None
    shorter = client.patch(f"{MANAGE}/events/{ours.seminar_id}", json={"retention_days": 3}, headers=ours.auth()).json
    ends = datetime.fromisoformat(seminar["ends_at"]).date()
    assert shorter["retention_days"] == 3
    assert (datetime.fromisoformat(shorter["anonymise_after"]).date() - ends).days in (3, 4)  # a local date
    refused = client.patch(f"{MANAGE}/events/{ours.seminar_id}", json={"retention_days": 0}, headers=ours.auth())
    assert refused.status_code == 422 and "retention_days" in refused.json["errors"]


def test_the_audit_log_comes_in_pages_newest_first(client, runtime, ours):
    with write_transaction(runtime.sessions) as session:
        for n in range(7):
            session.add(AuditEvent(organiser_id=ours.organiser_id, actor="test", action="seminar.changed",
                                   subject_type="seminar", subject_id=n, details={}))
    seen, path = [], f"{MANAGE}/audit?limit=3"
    while path:
        page = client.get(path, headers=ours.auth(Role.ADMIN))
        assert page.status_code == 200 and len(page.json) <= 3
        seen += [entry["subject_id"] for entry in page.json]
        link = page.headers.get("Link")
        path = link.split(">", 1)[0].lstrip("<") if link else None
    assert seen == [6, 5, 4, 3, 2, 1, 0]
    assert client.get(f"{MANAGE}/audit?limit=0", headers=ours.auth(Role.ADMIN)).status_code == 422


def test_a_method_a_route_does_not_take_is_answered_405_with_allow(client, ours):
    answer = client.delete(f"{MANAGE}/events/{ours.seminar_id}/registrations", headers=ours.auth())
    assert answer.status_code == 405 and answer.mimetype == "application/problem+json"
    assert set(answer.headers["Allow"].replace(" ", "").split(",")) >= {"GET"}
    public = client.put("/api/v1/events")
    assert public.status_code == 405 and "GET" in public.headers["Allow"]
