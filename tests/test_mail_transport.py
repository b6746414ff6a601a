"""Sending over an encrypted, authenticated SMTP connection, and refusing servers we cannot trust.

Every test talks to a real aiosmtpd server on 127.0.0.1 with a certificate from
a test authority (trustme). The transport trusts that authority the way an
installation trusts a private CA: SSL_CERT_FILE names it, and certificates are
verified as always.
"""

from __future__ import annotations

import random
import ssl
import string
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.errors import HeaderParseError
from email.policy import compat32
from urllib.parse import quote

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from services.notifications.delivery import Outcome, deliver
from services.notifications.transport import _WIRE, TemporaryFailure, send_mail
from shared.broker import make_broker
from shared.db import read_session, write_transaction
from shared.models import Notification, NotificationKind, NotificationStatus, Registration, RegistrationStatus
from shared.outbox import dispatch
from shared.runtime import make_runtime
from shared.times import utcnow
from tests.conftest import service_env
from tests.factories import make_seminar
from tests.servers import MailSink, Worker, free_port, wait_until

USER = "mailer@seminare.example"
# Characters that must be percent-encoded in MAIL_URL and decoded before login.
PASSWORD = "pa:ss@w/rd%1"

# aiosmtpd counts only STARTTLS as TLS and warns about AUTH on an implicit-TLS port, which is encrypted.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
# The transport's handling of a wrong password does not depend on the database.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class Logins:
    """aiosmtpd authenticator that accepts USER/PASSWORD and records every attempt."""

    def __init__(self):
        self.attempts: list[tuple[str, str, str, bool]] = []  # mechanism, login, password, encrypted

    def __call__(self, server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.attempts.append((mechanism, login, password, encrypted(server)))
        # handled=False: aiosmtpd answers a refusal with 535 itself.
        return AuthResult(success=(login, password) == (USER, PASSWORD), handled=False)


class EncryptedSink(MailSink):
    """The test sink, also noting whether each mail came over TLS."""

    def __init__(self):
        super().__init__()
        self.encrypted: list[bool] = []

    async def handle_DATA(self, server, session, envelope):
        self.encrypted.append(encrypted(server))
        return await super().handle_DATA(server, session, envelope)


def encrypted(server) -> bool:
    """Whether this SMTP session runs over TLS (STARTTLS or implicit)."""
    return server.transport.get_extra_info("ssl_object") is not None


class TlsSmtpServer:
    """A real SMTP server that requires TLS and a login, in one of the two ways MAIL_URL names."""

    def __init__(self, certificate: trustme.LeafCert, mode: str, mechanisms=("PLAIN", "LOGIN")):
        self.sink, self.logins, self.port = EncryptedSink(), Logins(), free_port()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate.configure_cert(context)
        options = {
            "auth_required": True,
            "authenticator": self.logins,
            "auth_exclude_mechanism": [m for m in ("PLAIN", "LOGIN") if m not in mechanisms],
        }
        if mode == "starttls":
            self.scheme = "smtp+starttls"
            options.update(tls_context=context, require_starttls=True)
        else:
            self.scheme = "smtps"
            # Without auth_require_tls=False aiosmtpd would not offer AUTH here (see pytestmark).
            options.update(ssl_context=context, auth_require_tls=False)
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port, **options)

    def url(self, password: str = PASSWORD) -> str:
        return f"{self.scheme}://{quote(USER, safe='')}:{quote(password, safe='')}@127.0.0.1:{self.port}"

    def __enter__(self) -> TlsSmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.controller.stop()


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusted(authority, tmp_path, monkeypatch) -> str:
    """Trust the test authority as an installation trusts a private CA; returns the CA file."""
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    return str(ca_file)


def a_mail(to: str = "erika@example.org", subject: str = "Anmeldung bestätigt") -> MIMEText:
    message = MIMEText("Guten Tag", "plain", "utf-8")
    message["From"] = "Seminare <noreply@seminare.example>"
    message["To"] = to
    message["Subject"] = subject
    return message


def folded(policy, name: str, value: str) -> bytes | type:
    """A header as ``policy`` writes it, or the kind of error it refuses it with."""
    try:
        return policy.fold_binary(name, value)
    except HeaderParseError as error:  # e.g. a vertical tab that would start another header
        return type(error)


def test_the_wire_form_is_byte_for_byte_what_compat32_writes():
    # The transport writes short ASCII headers itself; the rest must fold as before.
    standard = compat32.clone(linesep="\r\n")
    rng = random.Random(5321)
    alphabet = string.ascii_letters + "  \t\x0b\x0c\x1c;=\"'<>@,.:()[]\\-_/?" + "äß€"
    for _ in range(20_000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 90)))
        name = rng.choice(["Subject", "To", "Content-Type", "X-Very-Long-Header-Name-For-Folding"])
        assert folded(_WIRE, name, value) == folded(standard, name, value)
    mail = MIMEMultipart("mixed")
    mail.attach(a_mail(subject="Anmeldung bestätigt: " + "Kommunal Engagiert " * 6))
    mail.attach(MIMEText("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "calendar", "utf-8"))
    mail["Subject"] = "Bürgerbeteiligung digital " + "x" * 60
    mail["To"] = "Erika Mustermann <erika@example.org>"
    assert mail.as_bytes(policy=_WIRE) == mail.as_bytes(policy=standard)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_starttls_with_login_delivers_the_mail_encrypted(authority, trusted, mechanism):
    with TlsSmtpServer(authority.issue_cert("127.0.0.1"), "starttls", mechanisms=(mechanism,)) as server:
        send_mail(server.url(), a_mail())
        [mail] = server.sink.wait_for(1)
    assert mail["Subject"] == "Anmeldung bestätigt" and mail["X-Envelope-To"] == "erika@example.org"
    assert server.logins.attempts == [(mechanism, USER, PASSWORD, True)]
    assert server.sink.encrypted == [True]


def test_the_next_mail_reuses_the_encrypted_connection_without_logging_in_again(authority, trusted):
    with TlsSmtpServer(authority.issue_cert("127.0.0.1"), "starttls") as server:
        send_mail(server.url(), a_mail("erika@example.org"))
        send_mail(server.url(), a_mail("max@example.org"))
        mails = server.sink.wait_for(2)
    assert [mail["X-Envelope-To"] for mail in mails] == ["erika@example.org", "max@example.org"]
    assert len(server.logins.attempts) == 1
    assert server.sink.encrypted == [True, True]


def test_implicit_tls_with_login_delivers_the_mail(authority, trusted):
    with TlsSmtpServer(authority.issue_cert("127.0.0.1"), "smtps") as server:
        send_mail(server.url(), a_mail())
        [mail] = server.sink.wait_for(1)
    assert mail["X-Envelope-To"] == "erika@example.org"
    assert [(login, password, tls) for _, login, password, tls in server.logins.attempts] == [(USER, PASSWORD, True)]
    assert server.sink.encrypted == [True]


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_a_certificate_from_an_unknown_authority_is_refused_before_the_password_is_sent(
    authority, trusted, mode
):
    stranger = trustme.CA()
    server = TlsSmtpServer(stranger.issue_cert("127.0.0.1"), mode)
    with server, pytest.raises(TemporaryFailure, match="certificate of 127.0.0.1 not accepted: unable to get local issuer"):
        send_mail(server.url(), a_mail())
    assert server.logins.attempts == []
    assert server.sink.received == []


def test_a_certificate_for_another_host_is_refused(authority, trusted):
    server = TlsSmtpServer(authority.issue_cert("mail.example.org"), "starttls")
    with server, pytest.raises(TemporaryFailure, match="not accepted: IP address mismatch, certificate is not valid for"):
        send_mail(server.url(), a_mail())
    assert server.logins.attempts == []
    assert server.sink.received == []


def add_confirmation(runtime) -> int:
    """A confirmed registration with its confirmation mail (not queued); returns the notification id."""
    with write_transaction(runtime.sessions) as session:
        seminar = make_seminar(session)
        registration = Registration(
            seminar_id=seminar.id, status=RegistrationStatus.CONFIRMED, name="Erika Mustermann",
            email="erika@example.org", email_key="erika@example.org", language="de", consent_version="v1",
            consent_at=utcnow(), confirmed_at=utcnow(),
        )
        session.add(registration)
        session.flush()
        # A row of its own, not through add_notification: it waits until the test queues it.
        mail = Notification(registration_id=registration.id, kind=NotificationKind.CONFIRMED, enqueued_at=utcnow())
        session.add(mail)
        session.flush()
        return mail.id


def notification(runtime, notification_id: int) -> Notification:
    with read_session(runtime.sessions) as session:
        return session.get(Notification, notification_id)


@sqlite_only
def test_a_wrong_password_is_retried_like_a_temporary_failure_and_given_up_after_the_last_attempt(
    authority, trusted, settings
):
    # One mechanism, so that one attempt is one login (smtplib tries each one offered).
    with TlsSmtpServer(authority.issue_cert("127.0.0.1"), "starttls", mechanisms=("PLAIN",)) as server:
        runtime = make_runtime(settings.with_overrides(mail_url=server.url("wrong"), mail_max_attempts=2))
        try:
            notification_id = add_confirmation(runtime)
            with pytest.raises(TemporaryFailure):
                deliver(runtime, notification_id)
            first = notification(runtime, notification_id)
            assert deliver(runtime, notification_id) == Outcome.FAILED
            last = notification(runtime, notification_id)
        finally:
            runtime.close()
    assert (first.status, first.attempts) == (NotificationStatus.RETRY, 1)
    assert first.last_error.startswith("smtp login: 535")
    assert (last.status, last.attempts, last.sent_at) == (NotificationStatus.FAILED, 2, None)
    # One login per attempt, then no more: a wrong password does not loop.
    assert [password for _, _, password, _ in server.logins.attempts] == ["wrong", "wrong"]
    assert server.sink.received == []


@sqlite_only
def test_the_worker_trusts_the_authority_in_ssl_cert_file_and_gives_up_on_a_wrong_password(
    authority, trusted, settings, runtime
):
    good, bad = add_confirmation(runtime), add_confirmation(runtime)
    with TlsSmtpServer(authority.issue_cert("127.0.0.1"), "starttls", mechanisms=("PLAIN",)) as server:
        worker = Worker(service_env(settings, MAIL_URL=server.url(), SSL_CERT_FILE=trusted))
        worker.start()
        try:
            dispatch(runtime.engine, runtime.broker, [good])
            wait_until(lambda: notification(runtime, good).status == NotificationStatus.SENT,
                       message="the mail sent over STARTTLS")
        finally:
            worker.stop()
        worker = Worker(service_env(settings, MAIL_URL=server.url("wrong"), SSL_CERT_FILE=trusted,
                                    MAIL_MAX_ATTEMPTS="2"))
        worker.start()
        try:
            dispatch(runtime.engine, runtime.broker, [bad])
            # The actor's retry backoff starts at 2 seconds.
            wait_until(lambda: notification(runtime, bad).status == NotificationStatus.FAILED, timeout=30,
                       message="the mail with the wrong password given up")
            broker = make_broker(settings.redis_url)
            try:
                broker.join("mail", timeout=20_000)  # nothing is left waiting for another retry
            finally:
                broker.close()
        finally:
            worker.stop()
    assert [mail["X-Envelope-To"] for mail in server.sink.received] == ["erika@example.org"]
    assert notification(runtime, good).message_id == server.sink.received[0]["Message-ID"]
    assert [password for _, _, password, _ in server.logins.attempts] == [PASSWORD, "wrong", "wrong"]
    with read_session(runtime.sessions) as session:
        assert session.scalar(select(Notification.last_error).where(Notification.id == bad)).startswith(
            "smtp login: 535")
