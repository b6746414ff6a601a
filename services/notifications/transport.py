"""Mail targets: a Maildir for development, SMTP (plain, STARTTLS or TLS) in production.

SMTP connections are kept per thread and used for the next mail, as MTAs do:
a new connection with its greeting, EHLO, TLS and login costs more than a mail.
"""

from __future__ import annotations

import mailbox
import select
import smtplib
import ssl
import threading
import time
from email.message import Message
from email.policy import Compat32
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit

# Reuse a connection only if it was used this recently; servers drop idle ones (often after 5 min).
IDLE_REUSE_SECONDS = 30


class TemporaryFailure(Exception):
    """The mail could not be sent now; trying again later may work."""


class PermanentFailure(Exception):
    """The mail server refused the mail for good (5xx)."""


def send_mail(mail_url: str, message: Message, timeout: float = 30) -> None:
    """Deliver one message to the target named by ``mail_url``."""
    scheme, _, rest = mail_url.partition(":")
    if scheme == "maildir":
        _to_maildir(rest, message)
    else:
        _to_smtp(mail_url, message, timeout)


def _to_maildir(path: str, message: Message) -> None:
    # "maildir:///abs/path" and "maildir:relative/path" both work.
    directory = Path(path[2:] if path.startswith("//") else path)
    try:
        mailbox.Maildir(directory, create=True).add(message)
    except OSError as exc:
        raise TemporaryFailure(f"maildir: {exc.strerror}") from exc


_connections = threading.local()


class _WirePolicy(Compat32):
    """compat32 with CRLF line ends (RFC 5321), writing short headers of printable ASCII as they are.

    compat32 passes every header through ``email.header.Header``, which returns
    such a value unchanged, at a cost greater than rendering the mail's templates
    (a mail has about twenty headers across its parts). Anything longer, with tabs,
    line breaks, other control characters or non-ASCII, or already a Header, is
    folded the standard way.
    """

    def _fold(self, name, value, sanitize):
        if (isinstance(value, str) and value.isascii() and value.isprintable() and self.max_line_length
                and len(name) + len(value) + 2 <= self.max_line_length):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


# How a message goes on the wire.
_WIRE = _WirePolicy(linesep="\r\n")


def _to_smtp(mail_url: str, message: Message, timeout: float) -> None:
    """Send over this thread's connection; the server's answer decides temporary or permanent."""
    client = _connection(mail_url, timeout)
    try:
        try:
            _send(client, message)
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
            raise  # an answer from the server; smtplib has reset the transaction
        except BaseException:
            _forget_connection()  # the line is in an unknown state
            raise
        _connections.used_at = time.monotonic()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        reason = "; ".join(f"{code} {text.decode(errors='replace')}" for code, text in exc.recipients.values())
        raise _by_code(min(codes), reason) from exc
    except smtplib.SMTPNotSupportedError as exc:  # e.g. an address that needs SMTPUTF8
        raise PermanentFailure(f"smtp: {exc}") from exc
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code == 421:  # the server is closing this connection
            _forget_connection()
        raise _by_code(exc.smtp_code, _answer(exc)) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise TemporaryFailure(f"smtp: {exc.__class__.__name__}: {exc}") from exc


def _send(client: smtplib.SMTP, message: Message) -> None:
    """Send to the one address in To, with the address in From as the envelope sender.

    The envelope comes from those two headers only, never from Cc, Bcc or
    anything else a header might carry.
    """
    sender = parseaddr(message["From"])[1]
    recipient = parseaddr(message["To"])[1]
    if not (sender.isascii() and recipient.isascii()):
        # Internationalised addresses need SMTPUTF8, which send_message negotiates.
        client.send_message(message, sender, [recipient])
        return
    client.sendmail(sender, [recipient], message.as_bytes(policy=_WIRE))


def _connection(mail_url: str, timeout: float) -> smtplib.SMTP:
    """This thread's open connection to ``mail_url``, or a new one."""
    client = getattr(_connections, "client", None)
    if client is not None:
        fresh = time.monotonic() - _connections.used_at < IDLE_REUSE_SECONDS
        if _connections.url == mail_url and fresh and _still_open(client):
            return client
        _forget_connection()
    client = _connect(mail_url, timeout)
    _connections.client, _connections.url, _connections.used_at = client, mail_url, time.monotonic()
    return client


def _connect(mail_url: str, timeout: float) -> smtplib.SMTP:
    """A new connection to ``mail_url``: greeting, EHLO, TLS and login.

    What fails here is the installation's fault, not the mail's: the server is
    away, the password is wrong, the server offers no STARTTLS, its certificate
    is not trusted. That is a temporary failure even when the server answers
    5xx (535 for a wrong password), so mails wait for the setup to be fixed
    instead of all failing at once, and give up after MAIL_MAX_ATTEMPTS.
    """
    url = urlsplit(mail_url)
    try:
        return _open(url, timeout)
    except ssl.SSLCertVerificationError as exc:
        raise TemporaryFailure(f"smtp tls: certificate of {url.hostname} not accepted: {exc.verify_message}") from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise TemporaryFailure(f"smtp login: {_answer(exc)}") from exc
    except smtplib.SMTPResponseException as exc:  # e.g. 421 or 554 instead of a greeting
        raise TemporaryFailure(f"smtp: {_answer(exc)}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise TemporaryFailure(f"smtp: {exc.__class__.__name__}: {exc}") from exc


def _open(url: SplitResult, timeout: float) -> smtplib.SMTP:
    """Connect, start TLS and log in as the URL says; certificates are always verified.

    ``ssl.create_default_context`` trusts the system's certificates, or those in
    the file named by SSL_CERT_FILE (for a private CA), and checks the host name.
    """
    host = url.hostname or "127.0.0.1"
    if url.scheme == "smtps":
        client = smtplib.SMTP_SSL(host, url.port or 465, timeout=timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, url.port or 25, timeout=timeout)
    try:
        if url.scheme == "smtp+starttls":
            client.starttls(context=ssl.create_default_context())
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
    except BaseException:
        client.close()
        raise
    return client


def _still_open(client: smtplib.SMTP) -> bool:
    # An idle SMTP connection has nothing to read; something readable means the
    # server hung up or said goodbye (421), so nothing is sent into a dead line.
    sock = client.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _forget_connection() -> None:
    client = getattr(_connections, "client", None)
    _connections.client = None
    if client is not None:
        try:
            client.close()
        except OSError:
            pass


def _answer(exc: smtplib.SMTPResponseException) -> str:
    """The server's answer as one readable line, e.g. "535 5.7.8 Authentication failed"."""
    text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {text}"


def _by_code(code: int, reason: str) -> Exception:
    # 5xx is final by RFC 5321; everything else (4xx) may succeed later.
    return PermanentFailure(reason) if 500 <= code < 600 else TemporaryFailure(reason)
