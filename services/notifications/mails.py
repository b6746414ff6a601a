"""Turning a notification row into a finished mail: templates, links, headers."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from shared.config import Settings
from shared.links import participant_page_url, seminar_page_url
from shared.models import Notification, RegistrationStatus, SeminarFormat
from shared.times import format_when, utcnow

TEMPLATES = Path(__file__).resolve().parent / "templates" / "email"

_templates = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def one_line(text: str) -> str:
    """Collapse a value for a mail header: no CR/LF can smuggle in another header."""
    return " ".join(text.split())


def mail_context(notification: Notification, settings: Settings) -> dict:
    """Everything a mail template may show for this notification."""
    registration = notification.registration
    seminar = registration.seminar
    language = registration.language if registration.language in ("de", "en") else "de"
    may_join = (
        registration.status == RegistrationStatus.CONFIRMED
        and seminar.format in (SeminarFormat.ONLINE, SeminarFormat.HYBRID)
    )
    return {
        "language": language,
        "name": registration.name,
        "seminar": seminar,
        "organiser": seminar.organiser,
        "when": format_when(seminar.starts_at, seminar.ends_at, seminar.timezone, language),
        "seminar_url": seminar_page_url(settings, seminar.id),
        "participant_url": participant_page_url(settings, registration.id, registration.token_nonce),
        # The join link goes only to confirmed participants, never in a double opt-in mail.
        "join_url": seminar.join_url if may_join else None,
        "needs_confirmation": seminar.double_opt_in and registration.email_confirmed_at is None,
    }


def build_mail(notification: Notification, settings: Settings) -> EmailMessage:
    """Render subject, text and HTML of a notification into a ready-to-send message."""
    context = mail_context(notification, settings)
    folder = f"{notification.kind.value}/{context['language']}"
    subject = _templates.get_template(f"{folder}/subject.txt").render(context)
    text = _templates.get_template(f"{folder}/body.txt").render(context)
    html = _templates.get_template(f"{folder}/body.html").render(context)

    registration = notification.registration
    organiser = context["organiser"]
    message = EmailMessage()
    message["Subject"] = one_line(subject)
    message["From"] = settings.mail_from
    message["To"] = Address(display_name=one_line(registration.name), addr_spec=registration.email)
    message["Reply-To"] = Address(display_name=one_line(organiser.name), addr_spec=organiser.contact_email)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(idstring=f"n{notification.id}", domain=settings.public_host)
    # Tells vacation responders and ticket systems not to answer.
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = context["language"]
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
