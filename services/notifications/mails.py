"""Turning a notification row into a finished mail: templates, links, headers, calendar file."""

from __future__ import annotations

import binascii
import secrets
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from shared.config import Settings
from shared.i18n import language_or_default, translate, translator
from shared.links import participant_page_url, seminar_page_url
from shared.models import Notification, RegistrationStatus, SeminarFormat, SeminarStatus
from shared.texts import paragraphs
from shared.times import format_moment, format_when, utcnow
from services.notifications.invitations import FILENAME, Invitation, invitation_for

TEMPLATES = Path(__file__).resolve().parent / "templates" / "email"

MAIL_TEMPLATES = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
MAIL_TEMPLATES.filters["paragraphs"] = paragraphs


def one_line(text: str) -> str:
    """Collapse a value for a mail header: no CR/LF can smuggle in another header."""
    return " ".join(text.split())


def mail_context(notification: Notification, settings: Settings) -> dict:
    """Everything a mail template may show for this notification."""
    registration = notification.registration
    seminar = registration.seminar
    language = language_or_default(registration.language)
    may_join = (
        registration.status == RegistrationStatus.CONFIRMED
        and seminar.status != SeminarStatus.CANCELLED
        and seminar.format in (SeminarFormat.ONLINE, SeminarFormat.HYBRID)
    )
    return {
        "language": language,
        "name": registration.name,
        "seminar": seminar,
        # The organiser wrote the title: in quotes, it reads as the seminar's name, not as our words
        # (a title like "Your account is locked, log in at …" must not pass for a message of the service).
        # Translators: quotation marks around a seminar's title in mails.
        "title": translate(language, "„%(title)s“", title=seminar.title),
        "organiser": seminar.organiser,
        "when": format_when(seminar.starts_at, seminar.ends_at, seminar.timezone, language),
        # For subjects: the start alone, e.g. "Mittwoch, 9. Dezember 2026, 13:30 Uhr".
        "starts": format_moment(seminar.starts_at, seminar.timezone, language),
        "seminar_url": seminar_page_url(settings, seminar.id),
        "participant_url": participant_page_url(settings, registration.id, registration.token_nonce),
        # The join link goes only to confirmed participants, never in a double opt-in mail.
        "join_url": seminar.join_url if may_join else None,
        "needs_confirmation": seminar.double_opt_in and registration.email_confirmed_at is None,
        # What happened as the row was written (who cancelled, the organiser's message); {} for older rows.
        "details": notification.details or {},
        "before": what_it_was(notification.details or {}, seminar.timezone, language),
        # One template set for all languages: _(), ngettext() and pgettext() give the texts in this language.
        **translator(language).template_globals(),
    }


def what_it_was(details: dict, zone: str, language: str) -> dict:
    """A change mail's "before" as the mail shows it: the old time in words, the old place, a new link."""
    before = details.get("before") or {}
    shown: dict = {}
    if "starts_at" in before:
        shown["when"] = format_when(datetime.fromisoformat(before["starts_at"]),
                                    datetime.fromisoformat(before["ends_at"]), zone, language)
    if "location" in before:
        shown["location"] = before["location"]
    shown["join_url_changed"] = bool(before.get("join_url_changed"))
    return shown


def message_id(notification: Notification, settings: Settings) -> str:
    """The mail's Message-ID: the same for every attempt at one notification.

    Should a mail go out twice (a worker killed right after the SMTP server took
    it), the copies share their Message-ID, and many mail services show one.
    The creation time keeps ids unique when a database starts over from id 1.
    """
    created = notification.created_at.strftime("%Y%m%d%H%M%S%f")
    return f"<notification-{notification.id}.{created}@{settings.public_host}>"


def build_mail(notification: Notification, settings: Settings) -> Message:
    """Render subject, text and HTML of a notification into a ready-to-send message."""
    context = mail_context(notification, settings)
    invitation = invitation_for(notification, settings, context["join_url"])
    context["has_calendar_file"] = invitation is not None
    folder = notification.kind.value
    subject = MAIL_TEMPLATES.get_template(f"{folder}/subject.txt").render(context)
    text = MAIL_TEMPLATES.get_template(f"{folder}/body.txt").render(context)
    html = MAIL_TEMPLATES.get_template(f"{folder}/body.html").render(context)

    # The classic email.mime classes: building with EmailMessage's header registry
    # costs several milliseconds a mail, more than sending it.
    body = MIMEMultipart("alternative", boundary=_boundary())
    body.attach(_text_part(text, "plain"))
    body.attach(_text_part(html, "html"))
    if invitation is None:
        message = body
    else:
        message = MIMEMultipart("mixed", boundary=_boundary())
        message.attach(body)
        message.attach(_calendar_part(invitation))

    registration = notification.registration
    organiser = context["organiser"]
    message["Subject"] = _header_text(one_line(subject))
    message["From"] = _address(*parseaddr(settings.mail_from))
    message["To"] = _address(registration.name, registration.email)
    message["Reply-To"] = _address(organiser.name, organiser.contact_email)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id(notification, settings)
    # Tells vacation responders and ticket systems not to answer.
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = context["language"]
    return message


def _header_text(value: str) -> str | Header:
    # Non-ASCII goes out as RFC 2047 encoded words; plain ASCII stays readable.
    return value if value.isascii() else Header(value, "utf-8")


def _address(name: str, addr_spec: str) -> str:
    # formataddr quotes the name and encodes non-ASCII; one_line removes line breaks first.
    return formataddr((one_line(name), one_line(addr_spec)), "utf-8")


def _text_part(text: str, subtype: str) -> MIMENonMultipart:
    """A UTF-8 text part in quoted-printable, which keeps it readable in the raw mail, as spam filters like.

    Encoded with binascii, which is written in C: the email package's own encoder,
    written in Python, cost more than rendering the templates.
    """
    part = MIMENonMultipart("text", subtype, charset="utf-8")
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii"))
    return part


def _boundary() -> str:
    """A multipart boundary that no part of our mails can contain.

    Every part is quoted-printable or base64, and neither encoding can produce
    "=_". The email package would otherwise pick a boundary when the mail is
    sent and compile a regular expression to search all parts for it.
    """
    return f"=_{secrets.token_hex(16)}"


def _calendar_part(invitation: Invitation) -> MIMEText:
    part = MIMEText(invitation.content.decode("utf-8"), "calendar", "utf-8")
    # The method parameter is what makes mail clients offer it as an invitation.
    part.set_param("method", invitation.method)
    part.add_header("Content-Disposition", "attachment", filename=FILENAME)
    return part
