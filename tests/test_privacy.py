"""Data protection: retention, a person's report and erasure, on both databases with a fixed clock."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from services.calendar_feed import create_app as create_feed_app
from services.notifications.delivery import Outcome, deliver
from services.registration.domain.seminars import get_seminar
from services.registration.domain.registrations import register
from services.scheduler.__main__ import run_once
from shared.db import read_session, write_transaction
from shared.links import participant_page_url, personal_feed_url
from shared.models import (
    AuditEvent,
    Notification,
    NotificationKind,
    NotificationStatus,
    Organiser,
    Registration,
    RegistrationStatus,
    Role,
    Seminar,
)
from shared.outbox import add_notification
from tests.factories import (
    PASSWORD,
    add_api_token,
    add_member,
    berlin,
    make_organiser,
    make_registration,
    make_seminar,
    person,
    principal,
)
from tests.organiser_pages import csrf, log_in

MANAGE = "/api/v1/manage"
ANNA = "Anna.Alt@example.org"
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


def registration(runtime, registration_id: int) -> Registration:
    with read_session(runtime.sessions) as session:
        return session.get(Registration, registration_id)


def mails_of(runtime, registration_id: int) -> list[Notification]:
    with read_session(runtime.sessions) as session:
        return list(session.scalars(select(Notification).where(Notification.registration_id == registration_id)))


def registered(runtime, seminar_id: int, name: str, email: str, **form) -> int:
    """Register through the public domain function; returns the registration id."""
    return register(runtime, seminar_id, person(name=name, email=email, **form)).registration_id


# --- retention ---------------------------------------------------------------------------------


@pytest.fixture
def past(runtime):
    """An organiser keeping registrations 10 days, a seminar using that and one keeping them 2 days."""
    with write_transaction(runtime.sessions) as session:
        organiser = make_organiser(session, retention_days=10, retention_days_cancelled=3)
        usual = make_seminar(session, organiser, starts_at=berlin(2030, 3, 4, 10))
        short = make_seminar(session, organiser, starts_at=berlin(2030, 3, 4, 10), retention_days=2)
        kept = make_registration(session, usual, email=ANNA, answers={"verein": "TSV"},
                                 source_page="https://tsv.example/")
        brief = make_registration(session, short)
        return SimpleNamespace(usual=usual.id, short=short.id, kept=kept.id, brief=brief.id, ends_at=usual.ends_at,
                               organiser=organiser.id)


def anonymised(runtime, registration_id: int) -> bool:
    return registration(runtime, registration_id).anonymised_at is not None


def test_registrations_are_anonymised_the_organisers_retention_days_after_the_seminar(runtime, past):
    run_once(runtime, now=past.ends_at + 10 * DAY - MINUTE)
    assert not anonymised(runtime, past.kept)

    assert run_once(runtime, now=past.ends_at + 10 * DAY)["registrations_anonymised"] == 1
    assert anonymised(runtime, past.kept)


def test_a_seminars_own_retention_days_come_before_the_organisers(runtime, past):
    run_once(runtime, now=past.ends_at + 2 * DAY - MINUTE)
    assert not anonymised(runtime, past.brief)

    run_once(runtime, now=past.ends_at + 2 * DAY)
    assert anonymised(runtime, past.brief) and not anonymised(runtime, past.kept)


def test_cancelled_and_expired_registrations_are_anonymised_sooner(runtime, past):
    cancelled_at = berlin(2030, 2, 1, 9)
    # Its confirmation time ran out two days after it was made (a longer setting
    # then than now): retention counts from that moment, whatever the setting is now.
    lapsed_at = cancelled_at + 2 * DAY
    with write_transaction(runtime.sessions) as session:
        seminar = make_seminar(session, session.get(Organiser, past.organiser), starts_at=berlin(2030, 6, 1, 10))
        cancelled = make_registration(session, seminar, RegistrationStatus.CANCELLED, cancelled_at=cancelled_at)
        expired = make_registration(session, seminar, RegistrationStatus.EXPIRED, created_at=cancelled_at,
                                    expires_at=lapsed_at)
        ids = cancelled.id, expired.id

    run_once(runtime, now=cancelled_at + 3 * DAY - MINUTE)
    assert not anonymised(runtime, ids[0])
    run_once(runtime, now=cancelled_at + 3 * DAY)
    assert anonymised(runtime, ids[0]) and not anonymised(runtime, ids[1])
    run_once(runtime, now=lapsed_at + 3 * DAY - MINUTE)
    assert not anonymised(runtime, ids[1])
    run_once(runtime, now=lapsed_at + 3 * DAY)
    assert anonymised(runtime, ids[1])


def test_an_unconfirmed_registration_is_anonymised_days_after_it_lapsed(runtime, past):
    with write_transaction(runtime.sessions) as session:
        seminar = make_seminar(session, session.get(Organiser, past.organiser), starts_at=berlin(2030, 6, 1, 10),
                               double_opt_in=True)
        seminar_id = seminar.id
    made_at = berlin(2030, 2, 1, 9)
    unconfirmed = register(runtime, seminar_id, {"name": "Ulla Unbestätigt", "email": "ulla@example.org",
                                                 "consent": True}, now=made_at)
    lapses_at = made_at + timedelta(hours=runtime.settings.pending_expiry_hours)
    # The scheduler was down for a day: it lapses late, and keeps when its time ran out.
    assert run_once(runtime, now=lapses_at + DAY)["registrations_expired"] == 1
    assert registration(runtime, unconfirmed.registration_id).expires_at == lapses_at

    run_once(runtime, now=lapses_at + 3 * DAY - MINUTE)
    assert not anonymised(runtime, unconfirmed.registration_id)
    run_once(runtime, now=lapses_at + 3 * DAY)
    assert anonymised(runtime, unconfirmed.registration_id)


def test_an_anonymised_registration_keeps_status_times_and_counts_but_nothing_personal(runtime, past):
    with write_transaction(runtime.sessions) as session:
        add_notification(session, past.kept, NotificationKind.CANCELLATION_RECEIPT, "t",
                         {"by": "organiser", "message": "Liebe Anna, Ihr Verein TSV ist schon dabei."})
    before = registration(runtime, past.kept)
    counts_before = seminar_counts(runtime, past)

    run_once(runtime, now=past.ends_at + 10 * DAY)

    after = registration(runtime, past.kept)
    assert after.name == "" and after.answers == {} and after.source_page is None
    assert after.email == after.email_key == f"anonymised-{past.kept}"
    assert "anna" not in json.dumps([after.name, after.email, after.email_key, after.answers]).lower()
    assert (after.status, after.created_at, after.confirmed_at, after.consent_at) == \
           (before.status, before.created_at, before.confirmed_at, before.consent_at)
    assert seminar_counts(runtime, past) == counts_before
    # New nonces: every link sent so far names a token that no longer exists.
    assert after.token_nonce != before.token_nonce and after.feed_nonce != before.feed_nonce
    # Nor does a mail's record keep what the organiser wrote to the person.
    with read_session(runtime.sessions) as session:
        details = session.scalars(select(Notification.details).where(Notification.registration_id == past.kept)).all()
    assert details == [None]


def seminar_counts(runtime, past):
    """Seats taken and the counts organisers see."""
    with read_session(runtime.sessions) as session:
        seats_taken = session.get(Seminar, past.usual).seats_taken
    return seats_taken, get_seminar(runtime, principal(past.organiser), past.usual)[1]


def test_links_of_an_anonymised_registration_answer_404(app, client, runtime, settings, past):
    page = urlsplit(participant_page_url(settings, past.kept, registration(runtime, past.kept).token_nonce)).path
    feed_client = create_feed_app(settings).test_client()
    assert client.get(page).status_code == 200

    run_once(runtime, now=past.ends_at + 10 * DAY)

    after = registration(runtime, past.kept)
    assert client.get(page).status_code == 404
    # Not even a link made with the new nonces leads anywhere.
    assert client.get(urlsplit(participant_page_url(settings, after.id, after.token_nonce)).path).status_code == 404
    assert feed_client.get(urlsplit(personal_feed_url(settings, after.id, after.feed_nonce)).path).status_code == 404


def test_a_mail_queued_before_anonymisation_is_not_sent(runtime, past):
    with write_transaction(runtime.sessions) as session:
        queued = add_notification(session, past.kept, NotificationKind.CHANGED, "late")

    run_once(runtime, now=past.ends_at + 10 * DAY)

    assert deliver(runtime, queued) == Outcome.SKIPPED
    [mail] = [mail for mail in mails_of(runtime, past.kept) if mail.id == queued]
    assert mail.status == NotificationStatus.CANCELLED and mail.sent_at is None


def test_the_organiser_api_says_when_a_seminars_registrations_are_anonymised(client, runtime, past):
    token = add_api_token(runtime, past.organiser, Role.ADMIN)

    answer = client.get(f"{MANAGE}/events/{past.short}", headers={"Authorization": f"Bearer {token}"})

    assert answer.json["anonymise_after"] == "2030-03-06"


# --- a person's report and erasure -----------------------------------------------------------------


@pytest.fixture
def world(runtime):
    """Ours: a seminar with one seat, Anna in it and Bernd waiting, plus a past one Anna attended.
    Theirs: Anna registered there too."""
    with write_transaction(runtime.sessions) as session:
        ours = make_organiser(session, slug="stiftung")
        theirs = make_organiser(session, slug="landkreis")
        coming = make_seminar(session, ours, capacity=1, double_opt_in=False, starts_at=berlin(2036, 12, 3, 13, 30))
        done = make_seminar(session, ours, starts_at=berlin(2020, 5, 5, 10))
        attended = make_registration(session, done, email=ANNA, name="Anna Alt")
        their_seminar = make_seminar(session, theirs, double_opt_in=False)
        ids = {"ours": ours.id, "theirs": theirs.id, "coming": coming.id, "attended": attended.id,
               "their_seminar": their_seminar.id}
    anna = registered(runtime, ids["coming"], "Anna Alt", ANNA)
    bernd = registered(runtime, ids["coming"], "Bernd Berg", "bernd@example.org")
    elsewhere = registered(runtime, ids["their_seminar"], "Anna Alt", ANNA)
    tokens = {role: add_api_token(runtime, ids["ours"], role, role.value) for role in Role}
    their_token = add_api_token(runtime, ids["theirs"], Role.ADMIN)
    return SimpleNamespace(**ids, anna=anna, bernd=bernd, elsewhere=elsewhere, tokens=tokens, their_token=their_token)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_person_report_holds_everything_of_this_organiser_and_nothing_of_another(client, runtime, world):
    answer = client.get(f"{MANAGE}/people", query_string={"email": ANNA.upper()},
                        headers=bearer(world.tokens[Role.ADMIN]))

    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    report = answer.json
    assert report["email"] == ANNA.lower()
    assert sorted(r["id"] for r in report["registrations"]) == sorted([world.anna, world.attended])
    mine = next(r for r in report["registrations"] if r["id"] == world.anna)
    assert mine["seminar"]["id"] == world.coming and mine["name"] == "Anna Alt"
    assert mine["consent_version"] and mine["consent_at"] and "email_confirmed_at" in mine
    assert [(mail["kind"], mail["status"]) for mail in mine["notifications"]] == [("confirmed", "queued")]
    assert "sent_at" in mine["notifications"][0]
    assert world.elsewhere not in [r["id"] for r in report["registrations"]]


def test_person_report_as_a_file_to_save(client, world):
    answer = client.get(f"{MANAGE}/people", query_string={"email": ANNA, "download": "true"},
                        headers=bearer(world.tokens[Role.ADMIN]))

    assert answer.headers["Content-Disposition"].startswith("attachment")
    assert len(answer.json["registrations"]) == 2


def test_erasing_a_person_frees_the_seat_and_moves_the_next_person_up(client, runtime, world):
    answer = client.post(f"{MANAGE}/people/erase", json={"email": ANNA}, headers=bearer(world.tokens[Role.ADMIN]))

    assert answer.status_code == 200 and answer.json == {"registrations": 2}
    assert answer.headers["Cache-Control"] == "no-store"
    assert registration(runtime, world.bernd).status == RegistrationStatus.CONFIRMED
    assert NotificationKind.PROMOTED in [mail.kind for mail in mails_of(runtime, world.bernd)]
    anna = registration(runtime, world.anna)
    assert anna.status == RegistrationStatus.CANCELLED and anna.email == f"anonymised-{world.anna}"
    # The past seminar's registration keeps its status for the statistics.
    assert registration(runtime, world.attended).status == RegistrationStatus.CONFIRMED
    assert registration(runtime, world.attended).anonymised_at is not None
    assert registration(runtime, world.elsewhere).email == ANNA


def test_erasing_a_person_cancels_their_queued_mails(client, runtime, world):
    client.post(f"{MANAGE}/people/erase", json={"email": ANNA}, headers=bearer(world.tokens[Role.ADMIN]))

    mails = mails_of(runtime, world.anna)
    assert mails and {(mail.status, mail.last_error) for mail in mails} == \
           {(NotificationStatus.CANCELLED, "registration anonymised")}


def test_the_audit_log_records_the_erasure_without_the_address(client, runtime, world):
    client.post(f"{MANAGE}/people/erase", json={"email": ANNA}, headers=bearer(world.tokens[Role.ADMIN]))
    client.get(f"{MANAGE}/people", query_string={"email": ANNA}, headers=bearer(world.tokens[Role.ADMIN]))

    with read_session(runtime.sessions) as session:
        events = session.execute(
            select(AuditEvent.action, AuditEvent.details).where(AuditEvent.organiser_id == world.ours)
        ).all()
    assert ("person.erased", {"registrations": 2}) in events
    assert ("person.reported", {"registrations": 0}) in events
    assert "anna" not in json.dumps([list(event) for event in events]).lower()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR])
def test_only_admins_may_report_or_erase(client, runtime, world, role):
    report = client.get(f"{MANAGE}/people", query_string={"email": ANNA}, headers=bearer(world.tokens[role]))
    erase = client.post(f"{MANAGE}/people/erase", json={"email": ANNA}, headers=bearer(world.tokens[role]))

    assert report.status_code == erase.status_code == 403
    assert report.headers["Cache-Control"] == "no-store"
    assert registration(runtime, world.anna).anonymised_at is None


def test_another_organiser_finds_and_erases_only_its_own(client, runtime, world):
    report = client.get(f"{MANAGE}/people", query_string={"email": ANNA}, headers=bearer(world.their_token))
    erase = client.post(f"{MANAGE}/people/erase", json={"email": ANNA}, headers=bearer(world.their_token))

    assert [r["id"] for r in report.json["registrations"]] == [world.elsewhere]
    assert erase.json == {"registrations": 1}
    assert registration(runtime, world.anna).anonymised_at is None
    assert registration(runtime, world.bernd).status == RegistrationStatus.WAITLISTED


def test_a_report_on_an_address_nobody_registered_with_is_empty(client, world):
    answer = client.get(f"{MANAGE}/people", query_string={"email": "niemand@example.org"},
                        headers=bearer(world.tokens[Role.ADMIN]))

    assert answer.status_code == 200 and answer.json["registrations"] == []


# --- the page ---------------------------------------------------------------------------------------


def log_in_as(client, runtime, organiser_id: int, role: Role) -> None:
    email = f"{role.value}@stiftung.example"
    add_member(runtime, organiser_id, role, email)
    log_in(client, email, PASSWORD)


def test_admins_download_a_report_and_erase_a_person_on_the_privacy_page(client, runtime, world):
    log_in_as(client, runtime, world.ours, Role.ADMIN)
    assert "Löschung (Art. 17 DSGVO)" in client.get("/manage/stiftung/privacy").get_data(as_text=True)

    report = client.post("/manage/stiftung/privacy/report", data={"csrf_token": csrf(client), "report_email": ANNA})
    assert report.headers["Content-Disposition"].startswith("attachment")
    assert report.headers["Cache-Control"] == "no-store"
    assert len(json.loads(report.data)["registrations"]) == 2

    erased = client.post("/manage/stiftung/privacy/erase", data={"csrf_token": csrf(client), "erase_email": ANNA},
                         follow_redirects=True)
    assert "2 Anmeldungen anonymisiert." in erased.get_data(as_text=True)
    assert registration(runtime, world.bernd).status == RegistrationStatus.CONFIRMED


def test_privacy_form_without_an_address_says_so(client, runtime, world):
    log_in_as(client, runtime, world.ours, Role.ADMIN)

    answer = client.post("/manage/stiftung/privacy/erase", data={"csrf_token": csrf(client), "erase_email": "kein"})

    assert answer.status_code == 422 and "gültige E-Mail-Adresse" in answer.get_data(as_text=True)
    assert registration(runtime, world.anna).anonymised_at is None


def test_editors_may_not_open_the_privacy_page(client, runtime, world):
    log_in_as(client, runtime, world.ours, Role.EDITOR)

    assert client.get("/manage/stiftung/privacy").status_code == 403
    erase = client.post("/manage/stiftung/privacy/erase", data={"csrf_token": csrf(client), "erase_email": ANNA})
    assert erase.status_code == 403
    assert registration(runtime, world.anna).anonymised_at is None


def test_admins_set_how_long_cancelled_registrations_are_kept(client, runtime, past):
    token = add_api_token(runtime, past.organiser, Role.ADMIN)

    answer = client.patch(f"{MANAGE}/organiser", json={"retention_days_cancelled": 14}, headers=bearer(token))

    assert answer.status_code == 200 and answer.json["retention_days_cancelled"] == 14
