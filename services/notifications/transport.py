"""Mail targets: a Maildir for development, SMTP (plain, STARTTLS or TLS) in production."""

from __future__ import annotations

import mailbox
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit


class TemporaryFailure(Exception):
    """The mail could not be sent now; trying again later may work."""


class PermanentFailure(Exception):
    """The mail server refused the mail for good (5xx)."""


def send_mail(mail_url: str, message: EmailMessage, timeout: float = 30) -> None:
    """Deliver one message to the target named by ``mail_url``."""
    scheme, _, rest = mail_url.partition(":")
    if scheme == "maildir":
        _to_maildir(rest, message)
    else:
        _to_smtp(mail_url, message, timeout)


def _to_maildir(path: str, message: EmailMessage) -> None:
    # "maildir:///abs/path" and "maildir:relative/path" both work.
    directory = Path(path[2:] if path.startswith("//") else path)
    try:
        mailbox.Maildir(directory, create=True).add(message)
    except OSError as exc:
        raise TemporaryFailure(f"maildir: {exc.strerror}") from exc


def _to_smtp(mail_url: str, message: EmailMessage, timeout: float) -> None:
    url = urlsplit(mail_url)
    host = url.hostname or "127.0.0.1"
    try:
        if url.scheme == "smtps":
            client = smtplib.SMTP_SSL(host, url.port or 465, timeout=timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(host, url.port or 25, timeout=timeout)
        with client:
            if url.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        reason = "; ".join(f"{code} {text.decode(errors='replace')}" for code, text in exc.recipients.values())
        raise _by_code(min(codes), reason) from exc
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise _by_code(exc.smtp_code, f"{exc.smtp_code} {text}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise TemporaryFailure(f"smtp: {exc.__class__.__name__}: {exc}") from exc


def _by_code(code: int, reason: str) -> Exception:
    # 5xx is final by RFC 5321; everything else (4xx) may succeed later.
    return PermanentFailure(reason) if 500 <= code < 600 else TemporaryFailure(reason)
