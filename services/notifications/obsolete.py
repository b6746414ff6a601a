"""Whether a notification is still worth sending at the moment its turn comes.

Rows are written when something happens and sent later, sometimes much later
(Redis or SMTP away, a long queue). By then the reason may be gone.
"""

from __future__ import annotations

from datetime import datetime

from shared.models import ACTIVE, Notification, NotificationKind, RegistrationStatus, SeminarStatus
from shared.outbox import ANONYMISED, reminds_of_current_start

# Mails that still make sense once a seminar is cancelled.
_ABOUT_AN_END = (NotificationKind.SEMINAR_CANCELLED, NotificationKind.CANCELLATION_RECEIPT)


def why_obsolete(notification: Notification, now: datetime) -> str | None:
    """The reason not to send this notification any more, or None to send it."""
    registration = notification.registration
    seminar = registration.seminar
    if registration.anonymised_at is not None:
        return ANONYMISED
    if seminar.status == SeminarStatus.CANCELLED and notification.kind not in _ABOUT_AN_END:
        # Written before the cancellation, sent after it: the cancellation mail says it all.
        return "seminar cancelled"
    if notification.kind == NotificationKind.REMINDER:
        if seminar.status != SeminarStatus.PUBLISHED:
            return "seminar not published"
        if registration.status != RegistrationStatus.CONFIRMED:
            return "registration not confirmed"
        if not reminds_of_current_start(notification.dedupe_key, seminar.starts_at):
            return "seminar moved"
        if now >= seminar.ends_at:
            return "seminar over"
    if notification.kind == NotificationKind.CHANGED and registration.status not in ACTIVE:
        return "registration no longer active"
    return None

