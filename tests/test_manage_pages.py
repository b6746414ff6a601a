"""Organisers manage seminars in the browser pages under /manage, on both databases."""

from __future__ import annotations

import io
import itertools
import re
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest
from flask import url_for
from sqlalchemy import select

from shared.db import read_session, write_transaction
from shared.models import (
    ApiToken,
    AuditEvent,
    Notification,
    NotificationKind,
    NotificationStatus,
    Organiser,
    Registration,
    RegistrationStatus,
    Role,
    Seminar,
    SeminarStatus,
    Series,
    WebhookDelivery,
    WebhookEndpoint,
)
from services.registration.accounts.api_tokens import create_api_token
from services.registration.domain.registrations import register
from services.registration.manage.forms import reminder_minutes, reminder_text
from services.registration.web import limits as limits_module

from tests import organiser_pages
from tests.factories import (
    PASSWORD,
    add_member,
    add_webhook,
    berlin,
    make_organiser,
    make_seminar,
    make_series,
    person,
)
from tests.organiser_pages import csrf
from tests.translations import german_left_in, german_words_in

# Values for the URL parts that are not ids: every export format, every attendee action.
VARIANTS = {"fmt": ("csv", "xlsx"), "action": ("promote", "resend"),
            "change": ("test", "rotate", "enable", "disable", "delete")}
HTML = {"Accept": "text/html"}


def add_person(runtime, seminar_id: int, name: str) -> int:
    """Register someone through the public domain function; returns the registration id."""
    email = name.lower().replace(" ", ".") + "@example.org"
    return register(runtime, seminar_id, person(name=name, email=email)).registration_id


@pytest.fixture
def world(runtime):
    """Two organisers. Ours: a series and a published seminar with one seat, Anna in it and Bernd waiting;
    an admin, an editor and a viewer. Theirs: a seminar with Carla, a series and an API token."""
    with write_transaction(runtime.sessions) as session:
        ours = make_organiser(session, slug="stiftung", name="Deutsche Stiftung für Engagement")
        theirs = make_organiser(session, slug="landkreis", name="Landkreis")
        series = make_series(session, ours, slug="kommunal-engagiert", title="Kommunal Engagiert")
        seminar = make_seminar(session, ours, series=series, title="Bürgerhaushalt", capacity=1,
                               double_opt_in=False, starts_at=berlin(2036, 12, 3, 13, 30))
        their_series = make_series(session, theirs)
        their_seminar = make_seminar(session, theirs, capacity=5, double_opt_in=False)
        ids = dict(ours=ours.id, theirs=theirs.id, series=series.id, seminar=seminar.id,
                   their_series=their_series.id, their_seminar=their_seminar.id)
    anna = add_person(runtime, ids["seminar"], "Anna Alt")
    bernd = add_person(runtime, ids["seminar"], "Bernd Berg")
    carla = add_person(runtime, ids["their_seminar"], "Carla Clo")
    their_token, _ = create_api_token(runtime, ids["theirs"], "Fremd", Role.ADMIN)
    ids["webhook"], ids["delivery"] = add_webhook(runtime, ids["ours"])
    ids["their_webhook"], ids["their_delivery"] = add_webhook(runtime, ids["theirs"])
    logins = dict(admin=("admin@stiftung.example", ids["ours"], Role.ADMIN),
                  editor=("editor@stiftung.example", ids["ours"], Role.EDITOR),
                  viewer=("viewer@stiftung.example", ids["ours"], Role.VIEWER),
                  their_admin=("admin@landkreis.example", ids["theirs"], Role.ADMIN))
    for email, organiser_id, role in logins.values():
        add_member(runtime, organiser_id, role, email)
    return SimpleNamespace(**ids, anna=anna, bernd=bernd, carla=carla, their_token=their_token,
                           **{name: email for name, (email, _, _) in logins.items()})


def log_in(client, email: str, password: str = PASSWORD, **fields):
    """Log in through the login page, with the test accounts' password unless another is given."""
    return organiser_pages.log_in(client, email, password, **fields)


def post(client, path: str, **fields):
    """A form post with the session's CSRF token."""
    return client.post(path, data={"csrf_token": csrf(client), **fields})


def manage_rules(app, method: str) -> list:
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/manage/") and method in rule.methods]


def urls(app, method: str, *, needs: tuple[str, ...] = ("org",), some_of: tuple[str, ...] = (), **values) -> list[str]:
    """Every /manage URL of this method with all arguments of ``needs`` and one of ``some_of``, filled in."""
    found = []
    with app.test_request_context():
        for rule in manage_rules(app, method):
            if not set(needs) <= rule.arguments or (some_of and not set(some_of) & rule.arguments):
                continue
            variants = [VARIANTS[name] for name in sorted(rule.arguments & VARIANTS.keys())]
            for chosen in itertools.product(*variants):
                filled = dict(zip(sorted(rule.arguments & VARIANTS.keys()), chosen))
                filled.update({name: values[name] for name in rule.arguments - VARIANTS.keys()})
                found.append(url_for(rule.endpoint, **filled))
    assert found, f"no {method} route needs {needs}"
    return found


def snapshot(runtime) -> dict:
    """Everything a /manage post could change."""
    with read_session(runtime.sessions) as session:
        def rows(*columns):
            return sorted(session.execute(select(*columns)).all())

        return {
            "seminars": rows(Seminar.id, Seminar.title, Seminar.status, Seminar.sequence, Seminar.starts_at,
                             Seminar.capacity, Seminar.seats_taken),
            "series": rows(Series.id, Series.slug),
            "registrations": rows(Registration.id, Registration.status),
            "notifications": rows(Notification.id),
            "tokens": rows(ApiToken.id, ApiToken.revoked_at),
            "webhooks": rows(WebhookEndpoint.id, WebhookEndpoint.secret, WebhookEndpoint.disabled_at),
            "deliveries": rows(WebhookDelivery.id, WebhookDelivery.status),
            "organisers": rows(Organiser.id, Organiser.name, Organiser.contact_email, Organiser.retention_days),
            "audit": rows(AuditEvent.id),
        }


def registration_status(runtime, registration_id: int) -> RegistrationStatus:
    with read_session(runtime.sessions) as session:
        return session.get(Registration, registration_id).status


def mails(runtime, kind: NotificationKind) -> list[int]:
    """Registration ids with a mail of this kind, one entry per mail."""
    with read_session(runtime.sessions) as session:
        return sorted(session.scalars(select(Notification.registration_id).where(Notification.kind == kind)))


def audit_actions(runtime, organiser_id: int) -> list[tuple[str, str]]:
    with read_session(runtime.sessions) as session:
        return session.execute(
            select(AuditEvent.action, AuditEvent.actor).where(AuditEvent.organiser_id == organiser_id)
            .order_by(AuditEvent.id)
        ).all()


def seminar_path(world, suffix: str = "") -> str:
    return f"/manage/stiftung/seminars/{world.seminar}{suffix}"


# --- logging in and out ---------------------------------------------------------------------------


def test_login_leads_to_the_seminars_of_the_only_organiser(client, world):
    response = log_in(client, world.editor)

    assert response.status_code == 302 and response.headers["Location"] == "/manage/"
    home = client.get("/manage/")
    assert home.status_code == 302 and home.headers["Location"] == "/manage/stiftung/"
    page = client.get("/manage/stiftung/").get_data(as_text=True)
    assert "Bürgerhaushalt" in page and "Neues Seminar" in page


def test_wrong_password_and_unknown_address_get_the_same_answer(client, world):
    wrong_password = log_in(client, world.editor, "falsches-passwort-123")
    unknown = log_in(client, "niemand@stiftung.example")

    for response in (wrong_password, unknown):
        assert response.status_code == 200
        assert "E-Mail-Adresse oder Passwort ist falsch" in response.get_data(as_text=True)
    assert client.get("/manage/").headers["Location"].startswith("/manage/login")


@pytest.fixture
def fixed_clock(monkeypatch):
    """Rate-limit windows that cannot roll over in the middle of a test."""
    monkeypatch.setattr(limits_module, "time", SimpleNamespace(time=lambda: 1_800_000_000.0))


def test_sixth_login_for_one_address_within_a_minute_is_refused(client, world, fixed_clock):
    for _ in range(5):
        assert log_in(client, world.editor, "falsches-passwort-123").status_code == 200

    refused = log_in(client, world.editor)  # even the right password now
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert client.get("/manage/").headers["Location"].startswith("/manage/login")
    assert log_in(client, world.viewer).status_code == 302  # another address from the same client


def test_eleventh_login_from_one_address_within_a_minute_is_refused(app, client, world, fixed_clock):
    for n in range(10):
        assert log_in(client, f"rate{n}@stiftung.example").status_code == 200

    assert log_in(client, world.editor).status_code == 429
    other_client = app.test_client()
    other_client.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert log_in(other_client, world.editor).status_code == 302


def test_logout_ends_the_session(client, world):
    log_in(client, world.editor)
    assert client.get("/manage/stiftung/").status_code == 200

    response = post(client, "/manage/logout")

    assert response.status_code == 302 and response.headers["Location"] == "/manage/login"
    assert client.get("/manage/stiftung/").status_code == 302


def session_cookie(client) -> str:
    """The value of the client's organiser session cookie."""
    return client.get_cookie("seminare_manage", path="/manage").value


def with_cookie(app, value: str):
    """Another browser, holding a copy of a session cookie."""
    thief = app.test_client()
    thief.set_cookie("seminare_manage", value, path="/manage")
    return thief


def test_a_copy_of_the_cookie_is_worth_nothing_after_logout(app, client, world):
    log_in(client, world.editor)
    copy = with_cookie(app, session_cookie(client))
    assert copy.get("/manage/stiftung/").status_code == 200

    post(client, "/manage/logout")

    assert copy.get("/manage/stiftung/").status_code == 302  # to the login page


def test_logging_out_everywhere_ends_the_sessions_on_every_device(app, client, world):
    log_in(client, world.editor)
    laptop = app.test_client()
    log_in(laptop, world.editor)
    other_account = app.test_client()
    log_in(other_account, world.admin)

    response = post(client, "/manage/logout-everywhere")

    assert response.status_code == 302 and response.headers["Location"] == "/manage/login"
    assert client.get("/manage/stiftung/").status_code == 302
    assert laptop.get("/manage/stiftung/").status_code == 302
    assert other_account.get("/manage/stiftung/").status_code == 200
    assert "2 Sitzungen beendet" in client.get("/manage/login").get_data(as_text=True)


def test_every_page_without_login_leads_to_the_login(app, client, world):
    pages = urls(app, "GET", org="stiftung", seminar_id=world.seminar, series_id=world.series,
                 webhook_id=world.webhook, registration_id=world.bernd)

    for path in pages + ["/manage/"]:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/manage/login?next="), path


# What the world's rows say in German: shown as they are, in any language.
WORLD_DATA = ("Deutsche Stiftung für Engagement", "Bürgerhaushalt", "Kommunal Engagiert", "Ein Seminar für Tests.")


def test_every_page_in_english_carries_no_german(app, client, world):
    login = client.get("/manage/login", query_string={"lang": "en"}).get_data(as_text=True)
    assert "Log in" in login and german_left_in(login) == []
    log_in(client, "admin@stiftung.example")
    pages = urls(app, "GET", org="stiftung", seminar_id=world.seminar, series_id=world.series,
                 webhook_id=world.webhook, registration_id=world.bernd)

    checked = 0
    for path in pages:
        response = client.get(path, query_string={"lang": "en"})
        if response.mimetype != "text/html":
            continue  # exports and the stylesheet
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        assert german_left_in(page) == [], path
        assert german_words_in(page, data=WORLD_DATA) == set(), path
        checked += 1
    assert checked >= 8
    # The page that asks before a move answers a POST.
    question = post(client, seminar_path(world, "/move?lang=en"), **{**MOVE_FORM, "move_location": "Bürgerhaus"})
    assert question.status_code == 200 and "Save this change?" in question.get_data(as_text=True)
    assert german_left_in(question.get_data(as_text=True).replace("Bürgerhaus", "")) == []


def test_a_page_without_login_leads_to_the_login_and_back(client, world):
    wanted = seminar_path(world, "?status=waitlisted")
    response = client.get(wanted)
    assert response.status_code == 302
    login_page = urlsplit(response.headers["Location"])
    assert login_page.path == "/manage/login" and parse_qs(login_page.query) == {"next": [wanted]}

    form = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'name="next" value="{wanted}"' in form
    assert log_in(client, world.viewer, next=wanted).headers["Location"] == wanted


@pytest.mark.parametrize("target", [
    "https://evil.example/manage/", "//evil.example/manage/", "///evil.example/manage/",
    "/\\evil.example/manage/", "https:/manage/", "/events/1",
])
def test_login_never_leads_to_another_site(client, world, target):
    response = log_in(client, world.editor, next=target)

    assert response.status_code == 302 and response.headers["Location"] == "/manage/"


# --- CSRF, roles and other organisers' data ---------------------------------------------------------


def test_every_post_without_the_right_csrf_token_is_refused_and_changes_nothing(app, client, runtime, world):
    log_in(client, world.admin)
    posts = urls(app, "POST", needs=(), org="stiftung", seminar_id=world.seminar, registration_id=world.bernd,
                 series_id=world.series, token_id=world.their_token, webhook_id=world.webhook,
                 delivery_id=world.delivery)
    fields = {"title": "Geändert", "name": "Geändert", "slug": "neu", "role": "admin", "date": "2037-01-01",
              "start_time": "10:00", "end_time": "11:00", "move_date": "2037-01-01", "move_start_time": "10:00",
              "move_end_time": "11:00", "email": world.admin, "password": PASSWORD}
    before = snapshot(runtime)

    for path in posts:
        assert client.post(path, data=fields).status_code == 403, path
        assert client.post(path, data={**fields, "csrf_token": "falsch"}).status_code == 403, path

    assert snapshot(runtime) == before
    assert client.get("/manage/stiftung/").status_code == 200  # the logout post did not log out


def test_viewer_reads_and_exports_but_changes_nothing(app, client, runtime, world):
    log_in(client, world.viewer)
    ids = dict(org="stiftung", seminar_id=world.seminar, registration_id=world.bernd, series_id=world.series,
               token_id=1, webhook_id=world.webhook, delivery_id=world.delivery)
    before = snapshot(runtime)

    for path in urls(app, "POST", **ids):
        assert post(client, path, title="Geändert").status_code == 403, path
    for endpoint in ("new_seminar", "edit_seminar", "cancel_question", "tokens", "audit", "settings", "webhook_list",
                     "webhook"):
        with app.test_request_context():
            path = url_for(f"manage_pages.{endpoint}", org="stiftung", seminar_id=world.seminar,
                           webhook_id=world.webhook)
        assert client.get(path).status_code == 403, path

    assert snapshot(runtime) == before
    assert client.get(seminar_path(world)).status_code == 200
    assert client.get(seminar_path(world, "/export.csv")).status_code == 200
    assert "Neues Seminar" not in client.get("/manage/stiftung/").get_data(as_text=True)


def test_another_organisers_slug_and_ids_are_not_found(app, client, runtime, world):
    log_in(client, world.admin)
    their_ids = dict(seminar_id=world.their_seminar, registration_id=world.carla, series_id=world.their_series,
                     token_id=world.their_token, webhook_id=world.their_webhook, delivery_id=world.their_delivery)
    our_ids = dict(seminar_id=world.seminar, registration_id=world.bernd, series_id=world.series, token_id=1,
                   webhook_id=world.webhook, delivery_id=world.delivery)
    before = snapshot(runtime)

    for method in ("GET", "POST"):
        their_slug = urls(app, method, org="landkreis", **our_ids)
        their_objects = urls(app, method, some_of=tuple(their_ids), org="stiftung", **their_ids)
        for path in their_slug + their_objects:
            response = client.get(path) if method == "GET" else post(client, path, title="Übernommen")
            assert response.status_code == 404, f"{method} {path}"

    assert snapshot(runtime) == before


# --- seminars --------------------------------------------------------------------------------------


SEMINAR_FORM = {
    "title": "Ehrenamt und Datenschutz", "description": "Was Vereine wissen müssen.", "format": "hybrid",
    "location": "Rathaus Kell am See", "join_url": "https://meet.example/datenschutz", "timezone": "Europe/Berlin",
    "language": "de", "date": "2036-07-01", "start_time": "13:30", "end_time": "15:00", "capacity": "",
    "registration_closes_at": "2036-06-30T12:00", "waitlist_enabled": "on", "reminder_offsets": "2 Tage, 1 h",
    "questions": '[{"key": "verein", "kind": "short_text", "label_de": "Verein", "label_en": "Association"}]',
}


def test_seminar_created_through_the_form_appears_in_the_list(client, runtime, world):
    log_in(client, world.editor)

    response = post(client, "/manage/stiftung/seminars/new", series_id=str(world.series), **SEMINAR_FORM)

    assert response.status_code == 302
    with read_session(runtime.sessions) as session:
        seminar = session.scalar(select(Seminar).where(Seminar.title == "Ehrenamt und Datenschutz"))
        assert response.headers["Location"] == f"/manage/stiftung/seminars/{seminar.id}"
        assert (seminar.starts_at, seminar.ends_at) == (berlin(2036, 7, 1, 13, 30), berlin(2036, 7, 1, 15))
        assert seminar.registration_closes_at == berlin(2036, 6, 30, 12)
        assert (seminar.capacity, seminar.waitlist_enabled, seminar.double_opt_in) == (None, True, False)
        assert seminar.reminder_offsets == [2 * 24 * 60, 60]
        assert seminar.status == SeminarStatus.DRAFT and seminar.series_id == world.series
        assert [question.key for question in seminar.questions] == ["verein"]
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Das Seminar ist angelegt." in detail
    listing = client.get("/manage/stiftung/").get_data(as_text=True)
    assert "Ehrenamt und Datenschutz" in listing and "Entwurf" in listing and "Dienstag, 1. Juli 2036" in listing


def test_paragraphs_typed_in_a_browser_textarea_stay_paragraphs(client, runtime, world):
    log_in(client, world.editor)
    # What browsers send from a textarea: CRLF line ends.
    text = "Erster Absatz.\r\n\r\nZweiter Absatz,\r\nnoch derselbe."
    response = post(client, "/manage/stiftung/seminars/new", **{**SEMINAR_FORM, "description": text})
    seminar_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with write_transaction(runtime.sessions) as session:
        seminar = session.get(Seminar, seminar_id)
        assert seminar.description == "Erster Absatz.\n\nZweiter Absatz,\nnoch derselbe."
        seminar.status = SeminarStatus.PUBLISHED
    page = client.get(f"/events/{seminar_id}").get_data(as_text=True)
    assert "<p>Erster Absatz.</p><p>Zweiter Absatz,\nnoch derselbe.</p>" in page
    # Text stored before line ends were normalised (or written straight into the database) too.
    with write_transaction(runtime.sessions) as session:
        session.get(Seminar, seminar_id).description = "Eins.\r\n \r\nZwei.\r\rDrei."
    page = client.get(f"/events/{seminar_id}").get_data(as_text=True)
    assert "<p>Eins.</p><p>Zwei.</p><p>Drei.</p>" in page


def test_seminar_form_shows_each_error_next_to_its_field(client, runtime, world):
    log_in(client, world.editor)
    before = snapshot(runtime)

    response = post(client, "/manage/stiftung/seminars/new", **{
        **SEMINAR_FORM, "title": "", "end_time": "12:00", "reminder_offsets": "morgen", "questions": "[{",
        "capacity": "-3"})

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'role="alert"' in page
    assert re.search(r'id="title"[^>]*aria-invalid="true"[^>]*aria-describedby="title-error"', page)
    assert re.search(r'id="end_time-error">Das Ende muss nach dem Beginn liegen', page)
    assert re.search(r'id="reminder_offsets-error">Zeiten wie', page)
    assert re.search(r'id="capacity-error">Bitte eine ganze Zahl', page)
    assert "Die Fragen müssen eine JSON-Liste" in page
    assert 'value="Rathaus Kell am See"' in page  # what was typed stays
    assert snapshot(runtime) == before


def test_editing_the_time_of_a_published_seminar_tells_its_participants(client, runtime, world):
    log_in(client, world.editor)
    form = client.get(seminar_path(world, "/edit")).get_data(as_text=True)
    assert 'value="2036-12-03"' in form and 'value="13:30"' in form and 'value="24 h, 1 h"' in form

    response = post(client, seminar_path(world, "/edit"), **{
        **SEMINAR_FORM, "title": "Bürgerhaushalt (neu)", "date": "2036-12-10", "capacity": "1"})

    assert response.status_code == 302
    with read_session(runtime.sessions) as session:
        seminar = session.get(Seminar, world.seminar)
        assert seminar.title == "Bürgerhaushalt (neu)" and seminar.starts_at == berlin(2036, 12, 10, 13, 30)
    assert mails(runtime, NotificationKind.CHANGED) == sorted([world.anna, world.bernd])


MOVE_FORM = dict(move_date="2036-12-17", move_start_time="10:00", move_end_time="11:30", move_location="",
                 move_join_url="https://meet.example/neu")


def test_moving_a_seminar_asks_first_with_old_and_new_then_tells_participants_and_is_logged(client, runtime, world):
    log_in(client, world.editor)
    with read_session(runtime.sessions) as session:
        before = session.get(Seminar, world.seminar)
        old_link, old_start = before.join_url, before.starts_at

    question = post(client, seminar_path(world, "/move"), **MOVE_FORM)

    assert question.status_code == 200
    page = question.get_data(as_text=True)
    assert "Diese Änderung speichern?" in page
    assert re.search(r"<dt>Zeit</dt>\s*<dd>bisher: Mittwoch, 3\. Dezember 2036, 13:30–15:00 Uhr[^<]*<br>"
                     r"<strong>neu: Mittwoch, 17\. Dezember 2036, 10:00–11:30 Uhr", page)
    assert old_link in page and "https://meet.example/neu" in page
    assert "2 angemeldete und wartende Personen bekommen eine E-Mail, die Bisher und Neu nennt." in page
    assert 'name="move_date" value="2036-12-17"' in page and 'name="confirmed" value="1"' in page
    with read_session(runtime.sessions) as session:
        assert session.get(Seminar, world.seminar).starts_at == old_start  # asking changes nothing
    assert mails(runtime, NotificationKind.CHANGED) == []

    response = post(client, seminar_path(world, "/move"), **MOVE_FORM, confirmed="1", message="Der Saal wird renoviert.")

    assert response.status_code == 302
    assert "Gespeichert. 2 E-Mails an Teilnehmende werden gesendet." in client.get(response.headers["Location"]).get_data(as_text=True)
    with read_session(runtime.sessions) as session:
        seminar = session.get(Seminar, world.seminar)
        assert (seminar.starts_at, seminar.ends_at) == (berlin(2036, 12, 17, 10), berlin(2036, 12, 17, 11, 30))
        assert seminar.join_url == "https://meet.example/neu" and seminar.sequence == 1
        details = session.scalars(select(Notification.details).where(Notification.kind == NotificationKind.CHANGED)).all()
    assert mails(runtime, NotificationKind.CHANGED) == sorted([world.anna, world.bernd])
    assert details[0]["message"] == "Der Saal wird renoviert." and details[0]["before"]["join_url_changed"] is True
    assert ("seminar.moved", world.editor) in audit_actions(runtime, world.ours)


def test_a_move_that_changes_nothing_says_so_and_a_long_message_is_refused_on_the_question_page(
        client, runtime, world):
    log_in(client, world.editor)
    with read_session(runtime.sessions) as session:
        seminar = session.get(Seminar, world.seminar)
        same = dict(move_date="2036-12-03", move_start_time="13:30", move_end_time="15:00",
                    move_location=seminar.location or "", move_join_url=seminar.join_url or "")

    unchanged = post(client, seminar_path(world, "/move"), **same)

    assert unchanged.status_code == 302
    assert "Nichts geändert" in client.get(unchanged.headers["Location"]).get_data(as_text=True)

    too_long = post(client, seminar_path(world, "/move"), **MOVE_FORM, confirmed="1", message="x" * 2001)

    assert too_long.status_code == 422
    page = too_long.get_data(as_text=True)
    assert "Diese Änderung speichern?" in page and 'id="message-error"' in page
    assert 'name="move_date" value="2036-12-17"' in page  # the change is kept for the next try
    assert mails(runtime, NotificationKind.CHANGED) == []


def test_move_form_with_a_wrong_time_says_so(client, runtime, world):
    log_in(client, world.editor)

    response = post(client, seminar_path(world, "/move"), move_date="2036-12-17", move_start_time="halb zehn",
                    move_end_time="11:30")

    backwards = post(client, seminar_path(world, "/move"), move_date="2036-12-17", move_start_time="10:00",
                     move_end_time="09:00")

    assert response.status_code == 422
    assert re.search(r'id="move_start_time-error">Bitte eine Uhrzeit', response.get_data(as_text=True))
    assert backwards.status_code == 422
    assert re.search(r'id="move_end_time-error">Das Ende muss nach dem Beginn', backwards.get_data(as_text=True))
    assert mails(runtime, NotificationKind.CHANGED) == []


def test_cancelling_asks_first_then_tells_everyone_and_is_logged(client, runtime, world):
    log_in(client, world.editor)
    question = client.get(seminar_path(world, "/cancel")).get_data(as_text=True)
    assert "Seminar absagen?" in question and "2 angemeldete und wartende Personen bekommen eine Absage" in question
    assert mails(runtime, NotificationKind.SEMINAR_CANCELLED) == []

    too_long = post(client, seminar_path(world, "/cancel"), message="x" * 2001)
    assert too_long.status_code == 422 and 'id="message-error"' in too_long.get_data(as_text=True)
    assert mails(runtime, NotificationKind.SEMINAR_CANCELLED) == []

    response = post(client, seminar_path(world, "/cancel"), message="Die Referentin ist krank.")

    assert response.status_code == 302
    with read_session(runtime.sessions) as session:
        assert session.get(Seminar, world.seminar).status == SeminarStatus.CANCELLED
        details = session.scalars(select(Notification.details)
                                  .where(Notification.kind == NotificationKind.SEMINAR_CANCELLED)).all()
    assert mails(runtime, NotificationKind.SEMINAR_CANCELLED) == sorted([world.anna, world.bernd])
    assert [detail["message"] for detail in details] == ["Die Referentin ist krank."] * 2
    assert ("seminar.cancelled", world.editor) in audit_actions(runtime, world.ours)
    assert "abgesagt" in client.get("/manage/stiftung/").get_data(as_text=True)


def test_publishing_a_draft(client, runtime, world):
    log_in(client, world.editor)
    post(client, "/manage/stiftung/seminars/new", **SEMINAR_FORM)
    with read_session(runtime.sessions) as session:
        draft_id = session.scalar(select(Seminar.id).where(Seminar.status == SeminarStatus.DRAFT))

    assert post(client, f"/manage/stiftung/seminars/{draft_id}/publish").status_code == 302

    with read_session(runtime.sessions) as session:
        assert session.get(Seminar, draft_id).status == SeminarStatus.PUBLISHED


# --- the attendee table ------------------------------------------------------------------------------


def free_a_seat_without_moving_anyone_up(runtime, seminar_id: int) -> None:
    # As when a seat is added by hand: Bernd keeps waiting until someone moves him up.
    with write_transaction(runtime.sessions) as session:
        session.get(Seminar, seminar_id).capacity = 2


def test_attendee_table_filters_by_status_and_by_name_or_address(client, world):
    log_in(client, world.viewer)

    waiting = client.get(seminar_path(world, "?status=waitlisted")).get_data(as_text=True)
    assert "Bernd Berg" in waiting and "Anna Alt" not in waiting
    searched = client.get(seminar_path(world, "?q=ANNA.ALT@")).get_data(as_text=True)
    assert "Anna Alt" in searched and "Bernd Berg" not in searched
    everyone = client.get(seminar_path(world)).get_data(as_text=True)
    assert "Anna Alt" in everyone and "Bernd Berg" in everyone and "Anmeldungen (2)" in everyone


def test_promote_resend_and_cancel_from_the_attendee_table(client, runtime, world):
    free_a_seat_without_moving_anyone_up(runtime, world.seminar)
    log_in(client, world.editor)
    page = client.get(seminar_path(world, "?status=waitlisted")).get_data(as_text=True)
    assert f"/manage/stiftung/registrations/{world.bernd}/promote?status=waitlisted" in page
    assert f"/registrations/{world.anna}/promote" not in page

    promoted = post(client, f"/manage/stiftung/registrations/{world.bernd}/promote?status=waitlisted")
    assert promoted.headers["Location"] == seminar_path(world, "?status=waitlisted#attendees")
    assert registration_status(runtime, world.bernd) == RegistrationStatus.CONFIRMED
    assert mails(runtime, NotificationKind.PROMOTED) == [world.bernd]

    assert post(client, f"/manage/stiftung/registrations/{world.anna}/resend").status_code == 302
    assert mails(runtime, NotificationKind.CONFIRMED).count(world.anna) == 2

    assert post(client, f"/manage/stiftung/registrations/{world.anna}/cancel").status_code == 302
    assert registration_status(runtime, world.anna) == RegistrationStatus.CANCELLED
    assert mails(runtime, NotificationKind.CANCELLATION_RECEIPT) == [world.anna]
    assert [action for action, actor in audit_actions(runtime, world.ours) if actor == world.editor] == [
        "registration.promoted", "registration.mail_resent", "registration.cancelled"]


def test_unregistering_a_person_asks_first_and_takes_a_message(client, runtime, world):
    log_in(client, world.editor)
    table = client.get(seminar_path(world, "?q=anna")).get_data(as_text=True)
    question_path = f"/manage/stiftung/registrations/{world.anna}/cancel?q=anna"
    assert f'href="{question_path}"' in table  # a link to a page that asks, not a button that acts

    question = client.get(question_path).get_data(as_text=True)
    assert "Anna Alt abmelden?" in question and "anna.alt@example.org" in question
    # Bernd waits for a seat: the page says where Anna's goes.
    assert "Der Platz geht an die nächste Person auf der Warteliste." in question
    assert registration_status(runtime, world.anna) == RegistrationStatus.CONFIRMED

    too_long = post(client, question_path, message="x" * 2001)
    assert too_long.status_code == 422 and "Nachricht" in too_long.get_data(as_text=True)
    assert registration_status(runtime, world.anna) == RegistrationStatus.CONFIRMED

    done = post(client, question_path, message="Der Raum ist leider zu klein.\r\n\r\nWir melden uns.")
    assert done.status_code == 302 and done.headers["Location"] == seminar_path(world, "?q=anna#attendees")
    assert registration_status(runtime, world.anna) == RegistrationStatus.CANCELLED
    with read_session(runtime.sessions) as session:
        receipt = session.scalar(select(Notification).where(
            Notification.registration_id == world.anna, Notification.kind == NotificationKind.CANCELLATION_RECEIPT))
    assert receipt.details == {"by": "organiser", "was": "confirmed", "seat_passed_on": True,
                               "message": "Der Raum ist leider zu klein.\n\nWir melden uns."}

    log_in(client, world.viewer)
    assert client.get(f"/manage/stiftung/registrations/{world.bernd}/cancel", headers=HTML).status_code == 403


def test_refused_action_shows_the_reason_with_its_status(client, runtime, world):
    log_in(client, world.editor)

    response = client.post(f"/manage/stiftung/registrations/{world.anna}/promote", headers=HTML,
                           data={"csrf_token": csrf(client)})

    assert response.status_code == 409
    assert "Nur Personen auf der Warteliste können nachrücken." in response.get_data(as_text=True)
    assert registration_status(runtime, world.anna) == RegistrationStatus.CONFIRMED


def test_a_failed_mail_shows_its_reason(client, runtime, world):
    with write_transaction(runtime.sessions) as session:
        mail = session.scalar(select(Notification).where(Notification.registration_id == world.anna))
        mail.status, mail.last_error = NotificationStatus.FAILED, "550 5.1.1 mailbox unavailable"
    log_in(client, world.viewer)

    page = client.get(seminar_path(world)).get_data(as_text=True)

    assert "fehlgeschlagen" in page and "550 5.1.1 mailbox unavailable" in page


# --- exports ------------------------------------------------------------------------------------------


def test_exports_download_as_csv_for_german_excel_csv_and_xlsx(client, runtime, world):
    log_in(client, world.viewer)

    semicolon = client.get(seminar_path(world, "/export.csv?delimiter=;"))
    comma = client.get(seminar_path(world, "/export.csv?delimiter=,&status=waitlisted"))
    workbook = client.get(seminar_path(world, "/export.xlsx?status=confirmed"))

    assert semicolon.status_code == 200 and semicolon.mimetype == "text/csv"
    assert semicolon.headers["Content-Disposition"].startswith("attachment; filename*=UTF-8''")
    assert semicolon.headers["Content-Disposition"].endswith(".csv")
    body = semicolon.get_data()
    assert body.startswith(b"\xef\xbb\xbf") and b";" in body.splitlines()[0]
    assert "Anna Alt" in body.decode() and "Bernd Berg" in body.decode()
    waiting = comma.get_data().decode("utf-8-sig")
    assert "," in waiting.splitlines()[0] and "Bernd Berg" in waiting and "Anna Alt" not in waiting
    assert workbook.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert workbook.headers["Content-Disposition"].endswith(".xlsx")
    cells = [cell for row in openpyxl.load_workbook(io.BytesIO(workbook.get_data())).active.values for cell in row]
    assert "Anna Alt" in cells and "Bernd Berg" not in cells
    assert [action for action, _actor in audit_actions(runtime, world.ours)].count("attendees.exported") == 3


def test_series_export_holds_the_attendees_of_its_seminars(client, world):
    log_in(client, world.viewer)

    response = client.get(f"/manage/stiftung/series/{world.series}/export.csv")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "Anna Alt" in response.get_data().decode("utf-8-sig")


# --- series, tokens, settings, audit -----------------------------------------------------------------------


def test_editor_creates_a_series_and_a_taken_short_name_is_refused(client, runtime, world):
    log_in(client, world.editor)

    created = post(client, "/manage/stiftung/series", title="Digitale Vereinsarbeit", slug="digitale-vereinsarbeit")
    taken = post(client, "/manage/stiftung/series", title="Noch einmal", slug="kommunal-engagiert")

    assert created.status_code == 302
    assert "Digitale Vereinsarbeit" in client.get("/manage/stiftung/series").get_data(as_text=True)
    assert taken.status_code == 409
    assert re.search(r'id="slug-error">Dieser Kurzname wird schon verwendet', taken.get_data(as_text=True))
    with read_session(runtime.sessions) as session:
        assert session.scalar(select(Series.title).where(Series.slug == "kommunal-engagiert")) == "Kommunal Engagiert"


def test_token_is_shown_once_works_for_the_api_and_stops_when_revoked(client, runtime, world):
    log_in(client, world.admin)

    created = post(client, "/manage/stiftung/tokens", name="Videoplattform", role="viewer")

    assert created.status_code == 201
    token = re.search(r'value="(sem_[^"]+)"', created.get_data(as_text=True))[1]
    listing = client.get("/manage/stiftung/tokens").get_data(as_text=True)
    assert token not in listing and token[:10] in listing and "Videoplattform" in listing
    bearer = {"Authorization": f"Bearer {token}"}
    answer = client.get("/api/v1/manage/organiser", headers=bearer)
    assert answer.status_code == 200 and answer.json["slug"] == "stiftung"

    with read_session(runtime.sessions) as session:
        token_id = session.scalar(select(ApiToken.id).where(ApiToken.name == "Videoplattform"))
    assert post(client, f"/manage/stiftung/tokens/{token_id}/revoke").status_code == 302

    assert client.get("/api/v1/manage/organiser", headers=bearer).status_code == 401
    assert audit_actions(runtime, answer.json["id"])[-2:] == [("token.created", world.admin), ("token.revoked", world.admin)]


def test_admin_changes_settings_and_a_wrong_partner_origin_is_refused(client, runtime, world):
    log_in(client, world.admin)
    fields = dict(name="Stiftung Engagement", contact_email="team@stiftung.example",
                  privacy_policy_url="https://stiftung.example/datenschutz", website_url="", retention_days="60",
                  retention_days_cancelled="3")

    saved = post(client, "/manage/stiftung/settings", allowed_origins="https://www.landkreis.example\r\n\r\n"
                 "https://verband.example/", **fields)
    refused = post(client, "/manage/stiftung/settings", allowed_origins="https://www.landkreis.example/seminare",
                   **fields)

    assert saved.status_code == 302
    assert refused.status_code == 422 and "Eine Herkunft wie https://www.beispiel.de" in refused.get_data(as_text=True)
    with read_session(runtime.sessions) as session:
        organiser = session.get(Organiser, world.ours)
        assert organiser.allowed_origins == ["https://www.landkreis.example", "https://verband.example"]
        assert (organiser.name, organiser.retention_days, organiser.retention_days_cancelled, organiser.website_url) == (
            "Stiftung Engagement", 60, 3, None)



def test_admin_names_the_impressum_and_a_wrong_address_is_refused(client, runtime, world):
    log_in(client, world.admin)
    fields = dict(name="Stiftung Engagement", contact_email="team@stiftung.example",
                  privacy_policy_url="https://stiftung.example/datenschutz", website_url="", retention_days="30",
                  retention_days_cancelled="7", allowed_origins="")

    saved = post(client, "/manage/stiftung/settings", imprint_url=" https://stiftung.example/impressum ", **fields)
    form = client.get("/manage/stiftung/settings").get_data(as_text=True)
    refused = post(client, "/manage/stiftung/settings?lang=en", imprint_url="stiftung.example/impressum", **fields)
    emptied = post(client, "/manage/stiftung/settings", imprint_url="", **fields)

    assert saved.status_code == 302
    assert 'name="imprint_url"' in form and 'value="https://stiftung.example/impressum"' in form
    assert "Adresse des Impressums" in form
    assert refused.status_code == 422
    assert re.search(r'id="imprint_url-error">Please enter an address with https://', refused.get_data(as_text=True))
    assert emptied.status_code == 302
    with read_session(runtime.sessions) as session:
        assert session.get(Organiser, world.ours).imprint_url is None

def test_audit_log_shows_who_did_what(client, world):
    log_in(client, world.editor)
    post(client, seminar_path(world, "/cancel"))
    client.get(seminar_path(world, "/export.xlsx"))
    post(client, "/manage/logout")
    log_in(client, world.admin)

    page = client.get("/manage/stiftung/audit").get_data(as_text=True)

    assert "Seminar abgesagt" in page and "Teilnehmendenliste exportiert" in page and world.editor in page


# --- what every /manage answer carries ----------------------------------------------------------------------


def test_manage_answers_are_not_cached_framed_or_referred(client, world):
    log_in(client, world.viewer)

    for path in ("/manage/login", "/manage/stiftung/", seminar_path(world), seminar_path(world, "/export.csv"),
                 "/manage/landkreis/", "/manage/stiftung/seminars/new"):
        headers = client.get(path).headers
        assert headers["Cache-Control"] == "no-store", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert headers["Referrer-Policy"] == "same-origin", path


def test_pages_speak_english_when_asked(client, world):
    log_in(client, world.editor)

    page = client.get(seminar_path(world, "?lang=en")).get_data(as_text=True)

    assert '<html lang="en">' in page and "Registrations (2)" in page and "Give a seat" in page
    assert f'/manage/stiftung/seminars/{world.seminar}/edit?lang=en' in page  # the choice is kept
    browser_in_english = client.get(seminar_path(world), headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Registrations (2)" in browser_in_english.get_data(as_text=True)


def test_reminder_times_are_read_as_people_write_them():
    assert reminder_minutes("24 h, 1 h") == [1440, 60]
    assert reminder_minutes("2 Tage; 30 min") == [2880, 30]
    assert reminder_minutes("") == []
    assert reminder_text([2880, 60, 45]) == "48 h, 1 h, 45 min"
    for wrong in ("24", "morgen", "0 h", "61 Tage", "1 h, 2 h, 3 h, 4 h, 5 h, 6 h"):
        with pytest.raises(ValueError):
            reminder_minutes(wrong)


def from_address(app, address: str):
    """A browser on another client address."""
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = address
    return other


def test_failures_spread_over_many_clients_never_lock_the_owner_out(app, world, fixed_clock):
    attackers = [from_address(app, f"198.51.100.{n}") for n in range(5)]
    for attacker in attackers:  # 4 wrong passwords each: 20 for the address within the hour
        for _ in range(4):
            assert log_in(attacker, world.editor, "geraten-geraten-123").status_code == 200

    # A client that has failed for the address is refused now, even with the right password.
    assert log_in(attackers[0], world.editor).status_code == 429
    # The owner on a device of their own gets in.
    assert log_in(from_address(app, "203.0.113.9"), world.editor).status_code == 302
    # A new client's wrong guess is just wrong; from then on it is one that has failed.
    newcomer = from_address(app, "203.0.113.5")
    assert log_in(newcomer, world.editor, "geraten-geraten-123").status_code == 200
    assert log_in(newcomer, world.editor).status_code == 429


# --- copies -------------------------------------------------------------------------------------


def drafts(runtime, organiser_id: int) -> list[Seminar]:
    with read_session(runtime.sessions) as session:
        return list(session.scalars(select(Seminar).where(Seminar.organiser_id == organiser_id,
                                                          Seminar.status == SeminarStatus.DRAFT)
                                    .order_by(Seminar.starts_at)))


def test_duplicating_opens_the_copys_form_and_a_viewer_sees_no_button(client, runtime, world):
    log_in(client, world.viewer)
    assert "Duplizieren" not in client.get(seminar_path(world, "")).get_data(as_text=True)
    assert post(client, seminar_path(world, "/duplicate")).status_code == 403
    client.post("/manage/logout", data={"csrf_token": csrf(client)})

    log_in(client, world.editor)
    assert "Duplizieren" in client.get(seminar_path(world, "")).get_data(as_text=True)
    response = post(client, seminar_path(world, "/duplicate"))

    [copy] = drafts(runtime, world.ours)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/manage/stiftung/seminars/{copy.id}/edit")
    form = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Die Kopie ist als Entwurf angelegt." in form and 'value="Bürgerhaushalt"' in form
    assert copy.title == "Bürgerhaushalt" and copy.capacity == 1 and copy.series_id == world.series


def test_repeating_shows_the_dates_first_then_creates_the_drafts(client, runtime, world):
    log_in(client, world.editor)
    form = client.get(seminar_path(world, "/repeat")).get_data(as_text=True)
    # The seminar is on Wednesday 3 December 2036: the first Wednesday of its month.
    assert "am ersten Mittwoch im Monat" in form and "am letzten Mittwoch im Monat" in form

    preview = post(client, seminar_path(world, "/repeat"), every="month", week_of_month="1", interval="1", count="3")

    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "3 Termine entstehen:" in page
    for day in ("Mittwoch, 7. Januar 2037", "Mittwoch, 4. Februar 2037", "Mittwoch, 4. März 2037"):
        assert f"<li>{day}, 13:30–15:00 Uhr" in page
    assert drafts(runtime, world.ours) == []

    created = post(client, seminar_path(world, "/repeat"), every="month", week_of_month="1", interval="1", count="3",
                   confirmed="1")

    assert created.status_code == 302
    assert "3 Entwürfe sind angelegt." in client.get(created.headers["Location"]).get_data(as_text=True)
    assert [seminar.starts_at for seminar in drafts(runtime, world.ours)] == [
        berlin(2037, 1, 7, 13, 30), berlin(2037, 2, 4, 13, 30), berlin(2037, 3, 4, 13, 30)]
    assert ("seminar.repeated", world.editor) in audit_actions(runtime, world.ours)


def test_a_wrong_number_of_dates_is_shown_next_to_its_field(client, runtime, world):
    log_in(client, world.editor)
    for count, words in (("", "Dieses Feld ist erforderlich"), ("zwei", "Bitte eine ganze Zahl"),
                         ("0", "außerhalb des erlaubten Bereichs"),
                         ("99", "außerhalb des erlaubten Bereichs")):
        response = post(client, seminar_path(world, "/repeat"), every="week", interval="1", count=count)
        assert response.status_code == 422, count
        assert re.search(rf'id="count-error">[^<]*{words}', response.get_data(as_text=True)), count
    english = post(client, seminar_path(world, "/repeat?lang=en"), every="week", interval="1", count="99")
    assert re.search(r'id="count-error">This value is out of range.', english.get_data(as_text=True))
    assert drafts(runtime, world.ours) == []
