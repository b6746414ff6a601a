"""The page after registering: it names the address, says until when to confirm, and sends the mail again (limited)."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import timedelta
from email.utils import parseaddr
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from services.registration import create_app
from services.registration.domain.participant_resend import RESEND_MOST, RESEND_PAUSE, resend_to_participant
from services.registration.domain.refusals import NothingToResend, ResendTooSoon
from services.registration.domain.registrations import cancel_registration
from shared.db import read_session, write_transaction
from shared.models import Notification, NotificationKind, Registration, RegistrationStatus
from shared.tokens import REGISTERED_PAGE
from shared.times import format_moment, utcnow
from tests.factories import berlin, make_seminar


@pytest.fixture
def client(settings):
    # People need seconds to fill in the form; tests do not wait that long.
    app = create_app(replace(settings, form_min_fill_seconds=0))
    yield app.test_client()
    app.extensions["runtime"].close()


def new_seminar(runtime, **fields) -> int:
    with write_transaction(runtime.sessions) as session:
        return make_seminar(session, starts_at=berlin(2036, 12, 3, 13, 30), **fields).id


def register_through_the_form(client, event_id: int, email: str, prefix: str = "") -> str:
    """Post the seminar's form and return the path of the page it leads to."""
    page = client.get(f"{prefix}/events/{event_id}").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    posted = client.post(f"{prefix}/events/{event_id}", data={
        "form_token": token, "name": "Erika Mustermann", "email": email, "consent": "yes"})
    assert posted.status_code == 302, posted.get_data(as_text=True)[:2000]
    return posted.headers["Location"]


def mails_of(runtime, email: str) -> list[NotificationKind]:
    with read_session(runtime.sessions) as session:
        return list(session.scalars(select(Notification.kind).join(Registration)
                                    .where(Registration.email_key == email).order_by(Notification.id)))


def resend_path(page: str) -> str:
    return unescape(re.search(r'<form method="post" action="([^"]+/registered/resend[^"]*)"', page).group(1))


def made_earlier(settings, path: str, seconds: int) -> str:
    """The same page's path with its token signed ``seconds`` ago, as if the form was posted then."""
    query = parse_qs(urlsplit(path).query)
    serializer = URLSafeTimedSerializer(settings.secret_key, salt=REGISTERED_PAGE)
    payload = serializer.loads(query["t"][0])

    class Earlier(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - seconds

    query["t"] = [URLSafeTimedSerializer(settings.secret_key, salt=REGISTERED_PAGE, signer=Earlier).dumps(payload)]
    return urlsplit(path).path + "?" + "&".join(f"{name}={values[0]}" for name, values in query.items())


def test_the_page_names_the_address_the_deadline_and_where_else_to_look(client, runtime, settings):
    event_id = new_seminar(runtime)
    before = utcnow()
    page = client.get(register_through_the_form(client, event_id, "Erika@Example.org")).get_data(as_text=True)

    assert "Fast geschafft: Bitte bestätigen Sie Ihre Anmeldung" in page
    assert "Wir haben eine E-Mail an erika@example.org geschickt." in page
    after = utcnow()
    deadline = re.search(r"Bitte bestätigen Sie bis ([^<]+ Uhr)\.", page).group(1)
    # The deadline counts from the post, in the seminar's time zone.
    assert deadline in {format_moment(moment + timedelta(hours=settings.pending_expiry_hours), "Europe/Berlin")
                        for moment in (before, after)}
    assert "Schauen Sie bitte auch im Spam-Ordner nach." in page
    assert f"Die E-Mail kommt von {parseaddr(settings.mail_from)[1]}." in page
    assert "E-Mail erneut senden" in page
    assert mails_of(runtime, "erika@example.org") == [NotificationKind.CONFIRM_ADDRESS]


def test_sending_again_waits_a_few_minutes_then_works_a_few_times(client, runtime, settings):
    event_id = new_seminar(runtime)
    path = register_through_the_form(client, event_id, "erika@example.org")

    at_once = client.post(resend_path(client.get(path).get_data(as_text=True)))
    assert at_once.status_code == 302
    assert "Die E-Mail ist gerade erst gesendet worden." in client.get(at_once.headers["Location"]).get_data(as_text=True)
    assert mails_of(runtime, "erika@example.org") == [NotificationKind.CONFIRM_ADDRESS]

    later = made_earlier(settings, path, int(RESEND_PAUSE.total_seconds()) + 60)
    sent = client.post(resend_path(client.get(later).get_data(as_text=True)))
    assert "Die E-Mail ist noch einmal unterwegs." in client.get(sent.headers["Location"]).get_data(as_text=True)
    assert mails_of(runtime, "erika@example.org") == [NotificationKind.CONFIRM_ADDRESS] * 2
    again = client.post(resend_path(client.get(later).get_data(as_text=True)))  # right after the resend
    assert "gerade erst gesendet" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert len(mails_of(runtime, "erika@example.org")) == 2


def test_the_domain_limits_resends_to_a_pause_and_a_number(runtime):
    event_id = new_seminar(runtime)
    with write_transaction(runtime.sessions) as session:
        registration = Registration(seminar_id=event_id, status=RegistrationStatus.PENDING, name="Erika",
                                    email="erika@example.org",
                                    email_key="erika@example.org", consent_version="v1", consent_at=utcnow())
        session.add(registration)
        session.flush()
        registration_id = registration.id
    posted = utcnow() - timedelta(hours=1)
    with pytest.raises(ResendTooSoon):
        resend_to_participant(runtime, registration_id, since=utcnow() - RESEND_PAUSE + timedelta(seconds=30))
    sent = []
    for _ in range(RESEND_MOST):
        sent.append(resend_to_participant(runtime, registration_id, since=posted,
                                          now=utcnow() + RESEND_PAUSE * (len(sent) + 1)))
    assert len(set(sent)) == RESEND_MOST
    with pytest.raises(ResendTooSoon):
        resend_to_participant(runtime, registration_id, since=posted, now=utcnow() + RESEND_PAUSE * 10)
    cancel_registration(runtime, registration_id)
    with pytest.raises(NothingToResend):
        resend_to_participant(runtime, registration_id, since=utcnow(), now=utcnow() + RESEND_PAUSE * 20)


def test_an_address_registered_before_reads_exactly_like_a_new_one(client, runtime, settings):
    event_id = new_seminar(runtime, double_opt_in=True)
    register_through_the_form(client, event_id, "anna@example.org")  # Anna, earlier

    def page_for(email: str) -> str:
        path = register_through_the_form(client, event_id, email)
        page = client.get(path).get_data(as_text=True)
        pressed = client.get(client.post(resend_path(page)).headers["Location"]).get_data(as_text=True)
        cleaned = []
        for text in (page, pressed):
            text = text.replace(email, "ADDRESS")
            text = re.sub(r"t=[^&\"]+", "t=TOKEN", text)
            cleaned.append(re.sub(r"Bitte bestätigen Sie bis [^<]+", "DEADLINE", text))
        return "\n".join(cleaned)

    assert page_for("anna@example.org") == page_for("carla@example.org")


def test_without_a_valid_token_the_page_speaks_generally_and_cannot_send(client, runtime, settings):
    event_id, other_id = new_seminar(runtime), new_seminar(runtime)
    path = register_through_the_form(client, event_id, "erika@example.org")
    generic = client.get(f"/events/{event_id}/registered?status=pending").get_data(as_text=True)
    assert "Wir haben Ihnen eine E-Mail geschickt." in generic and "erneut senden" not in generic
    token = parse_qs(urlsplit(path).query)["t"][0]
    elsewhere = client.get(f"/events/{other_id}/registered?status=pending&t={token}").get_data(as_text=True)
    assert "erika@example.org" not in elsewhere  # a token for another seminar names nobody
    assert client.post(f"/events/{event_id}/registered/resend?t=forged").status_code == 404
    assert client.post(f"/events/{other_id}/registered/resend?t={token}").status_code == 404


def test_inside_the_iframe_sending_again_stays_in_the_iframe(client, runtime, settings):
    event_id = new_seminar(runtime)
    path = register_through_the_form(client, event_id, "erika@example.org", prefix="/embed")
    assert path.startswith(f"/embed/events/{event_id}/registered?")
    action = resend_path(client.get(path).get_data(as_text=True))
    assert action.startswith(f"/embed/events/{event_id}/registered/resend?")
    answered = client.post(action)
    assert answered.headers["Location"].startswith(f"/embed/events/{event_id}/registered?")
