"""Mails to an organiser's admins about the installation itself, e.g. a webhook turned off; each sent once.

``shared.outbox.add_staff_mails`` writes one row per admin; each mail is in German
and English, as admins have no language of their own. The row is claimed like a
participant mail (``delivery``), so a repeated message sends nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from sqlalchemy import bindparam, select, update

from shared.db import read_connection, statement_writes
from shared.links import webhook_page_url
from shared.metrics import NOTIFICATIONS
from shared.models import (
    CLAIMABLE,
    NotificationStatus,
    Organiser,
    StaffMail,
    StaffMailKind,
    WebhookEndpoint,
)
from shared.runtime import Runtime
from shared.times import local, utcnow
from services.notifications.delivery import Outcome
from services.notifications.mails import MAIL_TEMPLATES, one_line
from services.notifications.transport import PermanentFailure, TemporaryFailure, send_mail

log = logging.getLogger(__name__)

_MAILS = StaffMail.__table__
_CLAIM = (
    update(_MAILS)
    .where(_MAILS.c.id == bindparam("staff_mail_id"), _MAILS.c.status.in_(CLAIMABLE))
    .values(status=NotificationStatus.SENDING, attempts=_MAILS.c.attempts + 1, claimed_at=bindparam("now"))
    .returning(_MAILS.c.organiser_id, _MAILS.c.kind, _MAILS.c.subject_id, _MAILS.c.recipient, _MAILS.c.attempts,
               _MAILS.c.created_at)
)
_FINISH = (
    update(_MAILS)
    .where(_MAILS.c.id == bindparam("staff_mail_id"), _MAILS.c.status == NotificationStatus.SENDING)
    .values(status=bindparam("new_status"), last_error=bindparam("error"), sent_at=bindparam("sent_at"))
)


def deliver_staff_mail(runtime: Runtime, staff_mail_id: int, now: datetime | None = None) -> Outcome:
    """Send the mail if nobody has; raises TemporaryFailure when it should be retried."""
    now = now or utcnow()
    with statement_writes(runtime.engine) as connection:
        claimed = connection.execute(_CLAIM, {"staff_mail_id": staff_mail_id, "now": now}).one_or_none()
    if claimed is None:
        return Outcome.SKIPPED
    try:
        message = _build(runtime, staff_mail_id, claimed)
    except _NoLongerNeeded as reason:
        _finish(runtime, staff_mail_id, claimed.kind, NotificationStatus.CANCELLED, str(reason))
        return Outcome.SKIPPED
    try:
        send_mail(runtime.settings.mail_url, message)
    except PermanentFailure as failure:
        _finish(runtime, staff_mail_id, claimed.kind, NotificationStatus.FAILED, str(failure))
        return Outcome.FAILED
    except TemporaryFailure as failure:
        final = claimed.attempts >= runtime.settings.mail_max_attempts
        _finish(runtime, staff_mail_id, claimed.kind,
                NotificationStatus.FAILED if final else NotificationStatus.RETRY, str(failure))
        if final:
            return Outcome.FAILED
        raise
    _finish(runtime, staff_mail_id, claimed.kind, NotificationStatus.SENT)
    return Outcome.SENT


class _NoLongerNeeded(Exception):
    """What the mail was about is gone or mended (the webhook deleted, or turned on again)."""


def _build(runtime: Runtime, staff_mail_id: int, claimed) -> EmailMessage:
    """The mail for a claimed row: its recipients, subject and text."""
    settings = runtime.settings
    with read_connection(runtime.engine) as connection:
        organiser = connection.execute(
            select(Organiser.name, Organiser.slug, Organiser.contact_email).where(Organiser.id == claimed.organiser_id)
        ).one()
        context = {"organiser": organiser}
        if claimed.kind == StaffMailKind.WEBHOOK_DISABLED:
            endpoint = connection.execute(
                select(WebhookEndpoint.url, WebhookEndpoint.description, WebhookEndpoint.failing_since,
                       WebhookEndpoint.disabled_at).where(WebhookEndpoint.id == claimed.subject_id)
            ).one_or_none()
            if endpoint is None:
                raise _NoLongerNeeded("webhook deleted")
            if endpoint.disabled_at is None:
                raise _NoLongerNeeded("webhook turned on again")
            since = local(endpoint.failing_since or endpoint.disabled_at, settings.default_timezone)
            context |= {"endpoint": endpoint, "page_url": webhook_page_url(settings, organiser.slug, claimed.subject_id),
                        "failing_since_de": f"{since:%d.%m.%Y, %H:%M} Uhr", "failing_since_en": f"{since:%d %B %Y, %H:%M}"}
    folder = f"staff/{claimed.kind.value}"
    message = EmailMessage()
    message["Subject"] = one_line(MAIL_TEMPLATES.get_template(f"{folder}/subject.txt").render(context))
    message["From"] = formataddr(parseaddr(settings.mail_from))
    message["To"] = one_line(claimed.recipient)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = f"<staff-mail-{staff_mail_id}.{claimed.created_at:%Y%m%d%H%M%S%f}@{settings.public_host}>"
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = "de, en"
    message.set_content(MAIL_TEMPLATES.get_template(f"{folder}/body.txt").render(context))
    return message


def _finish(runtime: Runtime, staff_mail_id: int, kind: StaffMailKind, status: NotificationStatus,
            error: str | None = None) -> None:
    """Record where a claimed mail ended, and count it."""
    with statement_writes(runtime.engine) as connection:
        connection.execute(_FINISH, {"staff_mail_id": staff_mail_id, "new_status": status,
                                     "error": error[:1000] if error else None,
                                     "sent_at": utcnow() if status == NotificationStatus.SENT else None})
    NOTIFICATIONS.labels(kind.value, status.value).inc()
    log.info("staff mail %s %s", staff_mail_id, status.value, extra={"kind": kind.value, "outcome": status.value})
