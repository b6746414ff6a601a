"""What each mail says: subject, language, local time, links, and its calendar attachment.

Mails go through a real SMTP server (aiosmtpd) and are read back as a mail client
would; calendar attachments are parsed back with icalendar.
"""

from __future__ import annotations

import mailbox
from functools import partial
from datetime import datetime, timedelta
from email import message_from_bytes, policy

import icalendar
import pytest
from sqlalchemy import select

from services.notifications.delivery import Outcome, deliver
from shared.outbox import reminder_key
from services.registration.domain.seminar_changes import cancel_seminar, move_seminar
from services.registration.domain.registrations import cancel_registration, register
from shared.db import read_session, write_transaction
from shared.ical import seminar_uid
from shared.models import (
    Notification,
    NotificationKind,
    NotificationStatus,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarFormat,
)
from shared.outbox import add_notification
from shared.runtime import make_runtime
from shared.times import from_local, utcnow
from tests import factories
from tests.factories import berlin, make_organiser, make_seminar
from tests.translations import german_left_in, german_words_in

JOIN_URL = "https://meet.example/raum-42"
# Rendering does not depend on the database; these tests run on SQLite only.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def smtp_runtime(settings, smtp_server):
    """A runtime whose mails go to the test SMTP server."""
    runtime = make_runtime(settings.with_overrides(mail_url=smtp_server.url))
    yield runtime
    runtime.close()



# A published online seminar, Wednesday 10 December 2031, 13:30-15:00 Berlin time, unless a test says otherwise.
add_seminar = partial(factories.add_seminar, organiser_fields={"name": "Stiftung Mitarbeit", "contact_email": "team@mitarbeit.example"},
                      starts_at=berlin(2031, 12, 10, 13, 30), ends_at=berlin(2031, 12, 10, 15, 0))


def add_participant(runtime, seminar_id, status=RegistrationStatus.CONFIRMED, language="de",
                    name="Erika Mustermann", email="erika@example.org") -> int:
    """A registration row in the given status; returns its id."""
    now = utcnow()
    with write_transaction(runtime.sessions) as session:
        registration = Registration(
            seminar_id=seminar_id, status=status, name=name, email=email, email_key=email.lower(),
            language=language, consent_version="v1", consent_at=now,
            confirmed_at=now if status == RegistrationStatus.CONFIRMED else None,
            email_confirmed_at=now if status == RegistrationStatus.CONFIRMED else None,
        )
        session.add(registration)
        session.flush()
        return registration.id


def add_mail(runtime, registration_id, kind, dedupe_key="") -> int:
    with write_transaction(runtime.sessions) as session:
        return add_notification(session, registration_id, kind, dedupe_key)


def send(runtime, smtp_server, notification_id):
    """Deliver one notification and return the mail the SMTP server received."""
    before = len(smtp_server.sink.received)
    assert deliver(runtime, notification_id) == Outcome.SENT
    return smtp_server.sink.wait_for(before + 1)[before]


def calendar_of(mail):
    """The parsed calendar attachment and its MIME part, or (None, None)."""
    parts = [part for part in mail.iter_attachments() if part.get_content_type() == "text/calendar"]
    if not parts:
        return None, None
    assert len(parts) == 1
    return icalendar.Calendar.from_ical(parts[0].get_payload(decode=True)), parts[0]


def texts(mail) -> tuple[str, str]:
    return mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()


def seminar_row(runtime, seminar_id) -> Seminar:
    with read_session(runtime.sessions) as session:
        return session.get(Seminar, seminar_id)


# kind -> (status of the registration, German subject start, English subject start, calendar method)
KINDS = {
    NotificationKind.CONFIRM_ADDRESS: (RegistrationStatus.PENDING, "Bitte bestätigen Sie Ihre Anmeldung: ",
                                       "Please confirm your registration: ", None),
    NotificationKind.CONFIRMED: (RegistrationStatus.CONFIRMED, "Anmeldung bestätigt: ",
                                 "Registration confirmed: ", "REQUEST"),
    NotificationKind.WAITLISTED: (RegistrationStatus.WAITLISTED, "Sie stehen auf der Warteliste: ",
                                  "You are on the waiting list: ", None),
    NotificationKind.PROMOTED: (RegistrationStatus.CONFIRMED, "Ein Platz ist frei geworden: ",
                                "A seat has become free: ", "REQUEST"),
    NotificationKind.REMINDER: (RegistrationStatus.CONFIRMED, "Erinnerung: ", "Reminder: ", "REQUEST"),
    NotificationKind.CHANGED: (RegistrationStatus.CONFIRMED, "Geänderte Angaben: ", "Updated details: ", "REQUEST"),
    NotificationKind.SEMINAR_CANCELLED: (RegistrationStatus.CONFIRMED, "Abgesagt: ", "Cancelled: ", "CANCEL"),
    NotificationKind.CANCELLATION_RECEIPT: (RegistrationStatus.CANCELLED, "Abmeldung bestätigt: ",
                                            "Cancellation confirmed: ", None),
    NotificationKind.ALREADY_REGISTERED: (RegistrationStatus.CONFIRMED, "Sie sind bereits angemeldet: ",
                                          "You are already registered: ", None),
}
# Kinds that carry the join link to a confirmed seat in a seminar that takes place.
WITH_JOIN_LINK = {NotificationKind.CONFIRMED, NotificationKind.PROMOTED, NotificationKind.REMINDER,
                  NotificationKind.CHANGED}


@sqlite_only
@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("kind", list(KINDS), ids=lambda kind: kind.value)
def test_each_kind_in_each_language(smtp_runtime, smtp_server, kind, language):
    status, subject_de, subject_en, method = KINDS[kind]
    seminar_id = add_seminar(smtp_runtime)
    if kind == NotificationKind.SEMINAR_CANCELLED:
        cancel_seminar(smtp_runtime, seminar_id)  # nobody registered yet: it writes no mail of its own
    seminar = seminar_row(smtp_runtime, seminar_id)
    registration_id = add_participant(smtp_runtime, seminar_id, status, language)
    key = reminder_key(1440, seminar.starts_at) if kind == NotificationKind.REMINDER else "t"
    mail = send(smtp_runtime, smtp_server, add_mail(smtp_runtime, registration_id, kind, key))

    # The organiser's title in the reader's quotation marks, so that it cannot pass for the service's words.
    title = {"de": "„Kommunal Engagiert: Testseminar“", "en": "“Kommunal Engagiert: Testseminar”"}[language]
    assert mail["Subject"] == (subject_de if language == "de" else subject_en) + title + (
        {"de": " am Mittwoch, 10. Dezember 2031, 13:30 Uhr", "en": " on Wednesday, 10 December 2031, 13:30"}[language]
        if kind == NotificationKind.REMINDER else ""
    )
    assert mail["Content-Language"] == language
    assert mail["Reply-To"].addresses[0].addr_spec == "team@mitarbeit.example"
    assert mail["Reply-To"].addresses[0].display_name == "Stiftung Mitarbeit"
    assert mail["Auto-Submitted"] == "auto-generated"
    text, html = texts(mail)
    when = {"de": "Mittwoch, 10. Dezember 2031, 13:30–15:00 Uhr (Europe/Berlin, MEZ)",
            "en": "Wednesday, 10 December 2031, 13:30–15:00 (Europe/Berlin, CET)"}[language]
    assert when in text and when in html
    assert ("Guten Tag Erika Mustermann" if language == "de" else "Hello Erika Mustermann") in text
    if language == "en":
        assert german_left_in(mail["Subject"] + text + html) == []
        assert german_words_in(text + html) == set()
    # Every mail leads to the participant's own page (status, cancel, calendar feed)...
    participant_link = "http://127.0.0.1:8000/r/"
    assert participant_link in text and participant_link in html
    # ...and only a confirmed seat in a seminar that takes place gets the join link.
    assert (JOIN_URL in text) == (kind in WITH_JOIN_LINK)
    assert (JOIN_URL in html) == (kind in WITH_JOIN_LINK)

    calendar, part = calendar_of(mail)
    if method is None:
        assert calendar is None
        return
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == method and part.get_param("charset") == "utf-8"
    assert part.get_filename() == "seminar.ics"
    assert calendar["METHOD"] == method
    assert calendar.walk("VTIMEZONE")[0]["TZID"] == "Europe/Berlin"
    [event] = calendar.walk("VEVENT")
    assert event["UID"] == seminar_uid(seminar_id, "127.0.0.1")
    assert event["SEQUENCE"] == seminar.sequence
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    start = event.decoded("DTSTART")
    assert (start.year, start.month, start.day, start.hour, start.minute) == (2031, 12, 10, 13, 30)
    assert str(start.tzinfo) == "Europe/Berlin"
    assert event["ORGANIZER"] == "mailto:team@mitarbeit.example"
    assert event["ATTENDEE"] == "mailto:erika@example.org"
    assert (JOIN_URL in event.to_ical().decode()) == (kind in WITH_JOIN_LINK)
    if method == "CANCEL":
        assert event["STATUS"] == "CANCELLED" and seminar.sequence == 1



@sqlite_only
@pytest.mark.parametrize("language, sender, imprint, privacy", [
    ("de", "Diese E-Mail kommt von Stiftung Mitarbeit.", "Impressum", "Datenschutz"),
    ("en", "This email comes from Stiftung Mitarbeit.", "Legal notice", "Data protection"),
])
def test_every_mail_names_its_sender_with_the_organisers_impressum_and_privacy_policy(
        smtp_runtime, smtp_server, language, sender, imprint, privacy):
    seminar_id = add_seminar(smtp_runtime, organiser_fields={
        "name": "Stiftung Mitarbeit", "contact_email": "team@mitarbeit.example",
        "imprint_url": "https://mitarbeit.example/impressum", "privacy_policy_url": "https://mitarbeit.example/datenschutz"})
    registration_id = add_participant(smtp_runtime, seminar_id, language=language)

    text, html = texts(send(smtp_runtime, smtp_server, add_mail(smtp_runtime, registration_id, NotificationKind.CONFIRMED)))

    assert text.replace("\r\n", "\n").rstrip().endswith(f"{sender}\n{imprint}: https://mitarbeit.example/impressum\n"
                                  f"{privacy}: https://mitarbeit.example/datenschutz")
    assert sender in html
    assert f'<a href="https://mitarbeit.example/impressum" style="color:#0b5cad;">{imprint}</a>' in html
    assert f'<a href="https://mitarbeit.example/datenschutz" style="color:#0b5cad;">{privacy}</a>' in html
    assert "Veranstalter" not in text + html


@sqlite_only
def test_a_mail_of_an_organiser_without_impressum_links_only_its_privacy_policy(smtp_runtime, smtp_server):
    seminar_id = add_seminar(smtp_runtime)
    registration_id = add_participant(smtp_runtime, seminar_id)

    text, html = texts(send(smtp_runtime, smtp_server, add_mail(smtp_runtime, registration_id, NotificationKind.CONFIRMED)))

    assert text.replace("\r\n", "\n").rstrip().endswith("Diese E-Mail kommt von Stiftung Mitarbeit.\n"
                                  "Datenschutz: https://organiser.example/datenschutz")
    assert "Impressum" not in text + html

@sqlite_only
@pytest.mark.parametrize("zone, month, local_name, offset_hours", [
    ("Europe/Berlin", 7, "13:30–15:00 Uhr (Europe/Berlin, MESZ)", 2),
    ("Europe/London", 12, "13:30–15:00 Uhr (Europe/London, GMT)", 0),
])
def test_time_is_local_to_the_seminar_with_its_zone_named(smtp_runtime, smtp_server, zone, month,
                                                         local_name, offset_hours):
    starts_at = from_local(datetime(2031, month, 9, 13, 30), zone)
    seminar_id = add_seminar(smtp_runtime, timezone=zone, starts_at=starts_at,
                             ends_at=starts_at + timedelta(minutes=90))
    registration_id = add_participant(smtp_runtime, seminar_id)
    mail = send(smtp_runtime, smtp_server, add_mail(smtp_runtime, registration_id, NotificationKind.CONFIRMED))
    text, _ = texts(mail)
    assert local_name in text
    calendar, _ = calendar_of(mail)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == [zone]
    start = calendar.walk("VEVENT")[0].decoded("DTSTART")
    assert start.hour == 13 and start.utcoffset() == timedelta(hours=offset_hours)


@sqlite_only
def test_join_link_and_calendar_entry_only_for_a_confirmed_seat(smtp_runtime, smtp_server):
    seminar_id = add_seminar(smtp_runtime, format=SeminarFormat.HYBRID, location="Rathaus Berlin-Mitte")
    confirmed = add_participant(smtp_runtime, seminar_id, RegistrationStatus.CONFIRMED, email="c@example.org")
    pending = add_participant(smtp_runtime, seminar_id, RegistrationStatus.PENDING, email="p@example.org")
    waiting = add_participant(smtp_runtime, seminar_id, RegistrationStatus.WAITLISTED, email="w@example.org")
    notification_ids = move_seminar(smtp_runtime, seminar_id, starts_at=berlin(2031, 12, 17, 10, 0))
    assert len(notification_ids) == 3
    mails = {}
    for notification_id in notification_ids:
        mail = send(smtp_runtime, smtp_server, notification_id)
        mails[mail["X-Envelope-To"]] = mail
    for address, registration_id in (("c@example.org", confirmed), ("p@example.org", pending),
                                     ("w@example.org", waiting)):
        text, html = texts(mails[address])
        assert "Mittwoch, 17. Dezember 2031, 10:00–11:30 Uhr (Europe/Berlin, MEZ)" in text
        assert "Rathaus Berlin-Mitte" in text
        calendar, _ = calendar_of(mails[address])
        if address == "c@example.org":
            assert JOIN_URL in text and JOIN_URL in html
            assert JOIN_URL in calendar.walk("VEVENT")[0]["DESCRIPTION"]
        else:
            # Never a join link for an unconfirmed address or a waiting place, and no calendar entry.
            assert JOIN_URL not in mails[address].as_string()
            assert calendar is None


def test_a_moved_and_then_cancelled_seminar_updates_the_same_calendar_entry(smtp_runtime, smtp_server):
    seminar_id = add_seminar(smtp_runtime, double_opt_in=False)
    register(smtp_runtime, seminar_id, {"name": "Erika Mustermann", "email": "erika@example.org",
                                         "language": "de"})
    with read_session(smtp_runtime.sessions) as session:
        [first_id] = session.scalars(select_ids(NotificationKind.CONFIRMED)).all()
    first, _ = calendar_of(send(smtp_runtime, smtp_server, first_id))

    [changed_id] = move_seminar(smtp_runtime, seminar_id, starts_at=berlin(2031, 12, 17, 10, 0))
    changed_mail = send(smtp_runtime, smtp_server, changed_id)
    changed, _ = calendar_of(changed_mail)

    [cancel_id] = cancel_seminar(smtp_runtime, seminar_id)
    cancel_mail = send(smtp_runtime, smtp_server, cancel_id)
    cancelled, _ = calendar_of(cancel_mail)

    events = [calendar.walk("VEVENT")[0] for calendar in (first, changed, cancelled)]
    assert {str(event["UID"]) for event in events} == {seminar_uid(seminar_id, "127.0.0.1")}
    assert [event["SEQUENCE"] for event in events] == [0, 1, 2]
    assert [calendar["METHOD"] for calendar in (first, changed, cancelled)] == ["REQUEST", "REQUEST", "CANCEL"]
    assert [str(event["STATUS"]) for event in events] == ["CONFIRMED", "CONFIRMED", "CANCELLED"]
    assert events[0].decoded("DTSTART").day == 10 and events[1].decoded("DTSTART").hour == 10
    assert changed_mail["Subject"] == "Geänderte Angaben: „Kommunal Engagiert: Testseminar“"
    assert "Mittwoch, 17. Dezember 2031, 10:00–11:30 Uhr" in texts(changed_mail)[0]
    assert JOIN_URL not in cancel_mail.as_string()


def test_mails_written_before_a_cancellation_are_not_sent_after_it(smtp_runtime, smtp_server):
    seminar_id = add_seminar(smtp_runtime, double_opt_in=False)
    register(smtp_runtime, seminar_id, {"name": "Erika Mustermann", "email": "erika@example.org"})
    with read_session(smtp_runtime.sessions) as session:
        [confirmed_id] = session.scalars(select_ids(NotificationKind.CONFIRMED)).all()
    [cancelled_id] = cancel_seminar(smtp_runtime, seminar_id)  # before the worker got to the first mail
    assert deliver(smtp_runtime, confirmed_id) == Outcome.SKIPPED
    mail = send(smtp_runtime, smtp_server, cancelled_id)
    assert mail["Subject"] == "Abgesagt: „Kommunal Engagiert: Testseminar“"
    assert len(smtp_server.sink.received) == 1
    with read_session(smtp_runtime.sessions) as session:
        row = session.get(Notification, confirmed_id)
    assert (row.status, row.last_error) == (NotificationStatus.CANCELLED, "seminar cancelled")


def select_ids(kind):
    return select(Notification.id).where(Notification.kind == kind).order_by(Notification.id)


def receipt_of(runtime, smtp_server, registration_id):
    """Send the cancellation receipt of a registration and return the mail."""
    with read_session(runtime.sessions) as session:
        [receipt_id] = session.scalars(select_ids(NotificationKind.CANCELLATION_RECEIPT)
                                       .where(Notification.registration_id == registration_id)).all()
    return send(runtime, smtp_server, receipt_id)


@sqlite_only
def test_cancellation_receipt_says_what_became_of_the_seat(smtp_runtime, smtp_server):
    seminar_id = add_seminar(smtp_runtime, double_opt_in=False, capacity=1)
    seat, waiting, alone = (
        register(smtp_runtime, seminar_id, {"name": name, "email": email, "language": "de"}).registration_id
        for name, email in (("Erika Mustermann", "erika@example.org"), ("Jürgen Weiß", "jw@example.org"),
                            ("Ayşe Yılmaz", "ayse@example.org"))
    )
    cancel_registration(smtp_runtime, seat)  # Jürgen moves up into the seat
    passed_on = receipt_of(smtp_runtime, smtp_server, seat)
    assert passed_on["Subject"] == "Abmeldung bestätigt: „Kommunal Engagiert: Testseminar“"
    text, html = texts(passed_on)
    for body in (text, html):
        assert "Sie haben sich von diesem Seminar abgemeldet" in body
        assert "Ihr Platz ist an die nächste Person auf der Warteliste gegangen." in body
        assert "melden Sie sich einfach erneut an" in body
    # The confirmed seat was in the calendar: the receipt takes it out again.
    calendar, part = calendar_of(passed_on)
    assert part.get_param("method") == "CANCEL" and calendar["METHOD"] == "CANCEL"
    [event] = calendar.walk("VEVENT")
    assert event["UID"] == seminar_uid(seminar_id, "127.0.0.1") and event["STATUS"] == "CANCELLED"

    cancel_registration(smtp_runtime, alone)  # she was on the waiting list
    left_the_list = receipt_of(smtp_runtime, smtp_server, alone)
    text, html = texts(left_the_list)
    assert "Sie stehen nicht mehr auf der Warteliste." in text and "Sie stehen nicht mehr auf der Warteliste." in html
    assert "Ihr Platz" not in text and calendar_of(left_the_list) == (None, None)

    cancel_registration(smtp_runtime, waiting)  # the seat Jürgen took goes to nobody: no one waits
    nobody_waits = receipt_of(smtp_runtime, smtp_server, waiting)
    text, html = texts(nobody_waits)
    assert "Warteliste" not in text and "Warteliste" not in html
    assert calendar_of(nobody_waits)[1].get_param("method") == "CANCEL"


@sqlite_only
@pytest.mark.parametrize("language", ["de", "en"])
def test_cancellation_by_the_organiser_says_so_with_their_message(smtp_runtime, smtp_server, language):
    seminar_id = add_seminar(smtp_runtime, double_opt_in=False)
    registration_id = register(smtp_runtime, seminar_id, {"name": "Erika Mustermann", "email": "erika@example.org",
                                                          "language": language}).registration_id
    with read_session(smtp_runtime.sessions) as session:
        organiser_id = session.get(Seminar, seminar_id).organiser_id
    message = "The room holds 20 people only.\n\nWe will write to you about the next date."
    cancel_registration(smtp_runtime, registration_id, by=factories.principal(organiser_id), message=message)
    mail = receipt_of(smtp_runtime, smtp_server, registration_id)
    text, html = texts(mail)
    expected = {
        "de": ("Abgemeldet: „Kommunal Engagiert: Testseminar“", "Stiftung Mitarbeit hat Sie von diesem Seminar abgemeldet",
               "Nachricht von Stiftung Mitarbeit:", "Fragen dazu? Antworten Sie einfach auf diese E-Mail."),
        "en": ("Unregistered: “Kommunal Engagiert: Testseminar”", "Stiftung Mitarbeit has unregistered you from this seminar",
               "Message from Stiftung Mitarbeit:", "Any questions? Simply reply to this email."),
    }[language]
    assert mail["Subject"] == expected[0]
    for body in (text, html):
        for words in expected[1:]:
            assert words in body
        assert "The room holds 20 people only." in body and "We will write to you about the next date." in body
        # Not the words for a person who cancelled themselves.
        assert "Sie haben sich" not in body and "you have unregistered" not in body
        assert "erneut an" not in body and "register again" not in body
    if language == "en":
        assert german_left_in(mail["Subject"] + text + html) == []


@sqlite_only
@pytest.mark.parametrize("language", ["de", "en"])
def test_the_change_mail_names_what_it_was_and_what_it_is_now(smtp_runtime, smtp_server, language):
    seminar_id = add_seminar(smtp_runtime, double_opt_in=False, location="Rathaus, Saal 1")
    register(smtp_runtime, seminar_id, {"name": "Erika Mustermann", "email": "erika@example.org",
                                         "language": language})
    [changed_id] = move_seminar(smtp_runtime, seminar_id, starts_at=berlin(2031, 12, 17, 10, 0),
                                location="Bürgerhaus, Raum 2", join_url="https://meet.example/neu",
                                message="Der Saal wird renoviert.")
    mail = send(smtp_runtime, smtp_server, changed_id)
    text, html = texts(mail)
    expected = {
        "de": ["hat sich etwas geändert:", "bisher: Mittwoch, 10. Dezember 2031, 13:30–15:00 Uhr",
               "neu: Mittwoch, 17. Dezember 2031, 10:00–11:30 Uhr", "bisher: Rathaus, Saal 1",
               "neu: Bürgerhaus, Raum 2", "Es gibt einen neuen Zugangslink; der bisherige gilt nicht mehr.",
               "Nachricht von Stiftung Mitarbeit:", "Der Saal wird renoviert.", "https://meet.example/neu"],
        "en": ["something has changed about the seminar you registered for:",
               "before: Wednesday, 10 December 2031, 13:30–15:00 (Europe/Berlin, CET)",
               "now: Wednesday, 17 December 2031, 10:00–11:30 (Europe/Berlin, CET)",
               "before: Rathaus, Saal 1", "now: Bürgerhaus, Raum 2",
               "There is a new join link; the previous one no longer works.",
               "Message from Stiftung Mitarbeit:", "Der Saal wird renoviert.", "https://meet.example/neu"],
    }[language]
    for body in (text, html):
        for words in expected:
            assert words in body, words
    assert JOIN_URL not in text  # the old link is gone from the mail
    if language == "en":
        assert german_left_in(mail["Subject"] + text.replace("Der Saal wird renoviert.", "")) == []


@sqlite_only
def test_a_change_of_the_link_alone_says_only_that_and_a_place_given_for_the_first_time_says_so(
        smtp_runtime, smtp_server):
    seminar_id = add_seminar(smtp_runtime, double_opt_in=False)
    register(smtp_runtime, seminar_id, {"name": "Erika Mustermann", "email": "erika@example.org"})
    [link_id] = move_seminar(smtp_runtime, seminar_id, join_url="https://meet.example/neu")
    text, html = texts(send(smtp_runtime, smtp_server, link_id))
    assert "Es gibt einen neuen Zugangslink" in text and "bisher:" not in text and "Nachricht von" not in text
    [place_id] = move_seminar(smtp_runtime, seminar_id, location="Bürgerhaus")
    text, html = texts(send(smtp_runtime, smtp_server, place_id))
    for body in (text, html):
        assert "bisher: kein Ort angegeben" in body and "neu: Bürgerhaus" in body
        assert "Zeit" not in body.split("Es gilt jetzt:")[0] and "neuen Zugangslink" not in body


@sqlite_only
def test_a_change_mail_written_before_details_were_kept_still_reads_well(smtp_runtime, smtp_server):
    seminar_id = add_seminar(smtp_runtime, double_opt_in=False)
    registration_id = add_participant(smtp_runtime, seminar_id)
    text, html = texts(send(smtp_runtime, smtp_server, add_mail(smtp_runtime, registration_id,
                                                                 NotificationKind.CHANGED)))
    for body in (text, html):
        assert "hat sich etwas geändert. Es gilt jetzt:" in body and "bisher:" not in body


@sqlite_only
@pytest.mark.parametrize("language", ["de", "en"])
def test_the_cancellation_of_a_seminar_carries_the_organisers_message(smtp_runtime, smtp_server, language):
    seminar_id = add_seminar(smtp_runtime, double_opt_in=False)
    register(smtp_runtime, seminar_id, {"name": "Erika Mustermann", "email": "erika@example.org",
                                         "language": language})
    [cancel_id] = cancel_seminar(smtp_runtime, seminar_id, message="Die Referentin ist krank.\n\nNeuer Termin folgt.")
    mail = send(smtp_runtime, smtp_server, cancel_id)
    text, html = texts(mail)
    heading = {"de": "Nachricht von Stiftung Mitarbeit:", "en": "Message from Stiftung Mitarbeit:"}[language]
    for body in (text, html):
        assert heading in body and "Die Referentin ist krank." in body and "Neuer Termin folgt." in body
    assert html.index("Die Referentin ist krank.") < html.index("Neuer Termin folgt.")
    assert html.count("<p style=\"margin:0 0 8px;white-space:pre-line;\">") == 2  # two paragraphs
    assert calendar_of(mail)[0]["METHOD"] == "CANCEL"


@sqlite_only
def test_names_and_titles_cannot_inject_headers(smtp_runtime, smtp_server):
    with write_transaction(smtp_runtime.sessions) as session:
        organiser = make_organiser(session, name="Verein\r\nBcc: org-victim@example.org")
        organiser_address = organiser.contact_email
        seminar_id = make_seminar(session, organiser, title="Seminar\r\nBcc: title-victim@example.org\r\n\r\nBody",
                                  starts_at=berlin(2031, 12, 10, 13, 30)).id
    registration_id = add_participant(smtp_runtime, seminar_id, name="Eve\nCc: name-victim@example.org\r")
    mail = send(smtp_runtime, smtp_server, add_mail(smtp_runtime, registration_id, NotificationKind.CONFIRMED))

    assert mail["Bcc"] is None and mail["Cc"] is None
    assert mail["X-Envelope-To"] == "erika@example.org"  # the only recipient
    assert mail["Subject"] == "Anmeldung bestätigt: „Seminar Bcc: title-victim@example.org Body“"
    [reply_to] = mail["Reply-To"].addresses
    assert (reply_to.display_name, reply_to.addr_spec) == ("Verein Bcc: org-victim@example.org",
                                                           organiser_address)
    [to] = mail["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Eve Cc: name-victim@example.org", "erika@example.org")
    calendar, part = calendar_of(mail)
    event = calendar.walk("VEVENT")[0]
    # In the calendar file the title keeps its line breaks, escaped as iCalendar text.
    assert str(event["SUMMARY"]) == "Seminar\nBcc: title-victim@example.org\n\nBody"
    assert not any(line.startswith(b"Bcc") for line in part.get_payload(decode=True).splitlines())
    assert event["ATTENDEE"].params["CN"] == "Eve Cc: name-victim@example.org"


@sqlite_only
def test_a_repeated_attempt_keeps_the_message_id(smtp_runtime, smtp_server, settings):
    seminar_id = add_seminar(smtp_runtime)
    notification_id = add_mail(smtp_runtime, add_participant(smtp_runtime, seminar_id), NotificationKind.CONFIRMED)
    smtp_server.sink.reply_code = "451 4.3.0 Try again later"
    with pytest.raises(Exception):
        deliver(smtp_runtime, notification_id)
    smtp_server.sink.reply_code = None
    mail = send(smtp_runtime, smtp_server, notification_id)
    with read_session(smtp_runtime.sessions) as session:
        row = session.get(Notification, notification_id)
    assert mail["Message-ID"] == row.message_id
    assert mail["Message-ID"].startswith(f"<notification-{notification_id}.")
    assert row.attempts == 2


@sqlite_only
def test_the_default_maildir_gets_the_same_mail(runtime, settings):
    seminar_id = add_seminar(runtime)
    notification_id = add_mail(runtime, add_participant(runtime, seminar_id), NotificationKind.CONFIRMED)
    assert deliver(runtime, notification_id) == Outcome.SENT
    maildir = mailbox.Maildir(settings.mail_url.removeprefix("maildir:"), create=False)
    [raw] = [maildir.get_bytes(key) for key in maildir.keys()]
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["Subject"] == "Anmeldung bestätigt: „Kommunal Engagiert: Testseminar“"
    calendar, _ = calendar_of(mail)
    assert calendar["METHOD"] == "REQUEST"
