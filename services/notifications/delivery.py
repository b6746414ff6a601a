"""Sending one notification exactly once: claim the row, send, record the outcome.

The row is claimed with a conditional UPDATE, so a message delivered twice, or
two workers racing for it, send one mail.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime

from sqlalchemy import bindparam, update

from shared.db import statement_writes
from shared.metrics import NOTIFICATIONS
from shared.models import CLAIMABLE, Notification, NotificationStatus
from shared.runtime import Runtime
from shared.times import utcnow
from services.notifications.mails import build_mail
from services.notifications.obsolete import why_obsolete
from services.notifications.records import LOAD_EVERYTHING_A_MAIL_SHOWS, NotificationRecord, mail_record
from services.notifications.transport import PermanentFailure, TemporaryFailure, send_mail

log = logging.getLogger(__name__)


class Outcome(str, enum.Enum):
    SENT = "sent"
    SKIPPED = "skipped"    # already sent, in flight elsewhere, or no longer needed
    RETRY = "retry"
    FAILED = "failed"


def deliver(runtime: Runtime, notification_id: int, now: datetime | None = None) -> Outcome:
    """Send the notification if nobody has; raises TemporaryFailure when it should be retried."""
    now = now or utcnow()
    notification = claim(runtime, notification_id, now)
    if notification is None:
        return Outcome.SKIPPED
    reason = why_obsolete(notification, now)
    if reason is not None:
        _finish(runtime, notification, NotificationStatus.CANCELLED, error=reason)
        return Outcome.SKIPPED
    # Rendered outside any transaction, so the database is not held up by templates.
    try:
        message = build_mail(notification, runtime.settings)
    except Exception as exc:
        # A mail that cannot be rendered will not render on the next try either;
        # left in "sending", the sweep would hand it back every few minutes for ever.
        log.exception("notification %s could not be rendered", notification_id)
        _finish(runtime, notification, NotificationStatus.FAILED, error=f"render: {exc.__class__.__name__}: {exc}")
        return Outcome.FAILED
    attempts = notification.attempts
    try:
        send_mail(runtime.settings.mail_url, message)
    except PermanentFailure as failure:
        _finish(runtime, notification, NotificationStatus.FAILED, error=str(failure))
        log.warning("notification %s failed permanently", notification_id)
        return Outcome.FAILED
    except TemporaryFailure as failure:
        final = attempts >= runtime.settings.mail_max_attempts
        status = NotificationStatus.FAILED if final else NotificationStatus.RETRY
        _finish(runtime, notification, status, error=str(failure))
        if final:
            log.warning("notification %s gave up after %s attempts", notification_id, attempts)
            return Outcome.FAILED
        raise
    _finish(runtime, notification, NotificationStatus.SENT, message_id=message["Message-ID"])
    return Outcome.SENT


def _record_outcome(notification: NotificationRecord, status: NotificationStatus) -> None:
    """Count and log where a claimed notification ended (sent, retry, failed, cancelled), by its kind.

    Only claimed rows count: a duplicate message that finds its row sent is no outcome.
    """
    NOTIFICATIONS.labels(notification.kind.value, status.value).inc()
    log.info("notification %s %s", notification.id, status.value,
             extra={"kind": notification.kind.value, "outcome": status.value})


# Plain table statements, built once: the ORM's bookkeeping per statement costs
# more than the statement itself, and these run twice for every mail.
_NOTIFICATIONS = Notification.__table__
_CLAIM = (
    update(_NOTIFICATIONS)
    .where(_NOTIFICATIONS.c.id == bindparam("notification_id"), _NOTIFICATIONS.c.status.in_(CLAIMABLE))
    .values(status=NotificationStatus.SENDING, attempts=_NOTIFICATIONS.c.attempts + 1,
            claimed_at=bindparam("now"))
)
_FINISH = (
    update(_NOTIFICATIONS)
    .where(_NOTIFICATIONS.c.id == bindparam("notification_id"),
           _NOTIFICATIONS.c.status == NotificationStatus.SENDING)
    .values(status=bindparam("new_status"), last_error=bindparam("error"), sent_at=bindparam("sent_at"),
            message_id=bindparam("message_id"))
)


def claim(runtime: Runtime, notification_id: int, now: datetime) -> NotificationRecord | None:
    """Mark the row as being sent by us and load it (see ``records``); None if it is sent, failed or in flight.

    Both on one connection: on PostgreSQL the claim commits by itself and the load
    follows (no BEGIN and COMMIT round trips); on SQLite both run in the claim's
    transaction. Should the load fail after the claim, the row waits in "sending"
    for the sweep, as after a worker that died.
    """
    with statement_writes(runtime.engine) as connection:
        if connection.execute(_CLAIM, {"notification_id": notification_id, "now": now}).rowcount != 1:
            return None
        return mail_record(connection.execute(LOAD_EVERYTHING_A_MAIL_SHOWS,
                                              {"notification_id": notification_id}).one())


def _finish(
    runtime: Runtime,
    notification: NotificationRecord,
    status: NotificationStatus,
    *,
    error: str | None = None,
    message_id: str | None = None,
) -> None:
    """Record where a claimed notification ended, and count it."""
    sent = status == NotificationStatus.SENT
    values = {
        "notification_id": notification.id,
        "new_status": status,
        "error": error[:1000] if error else None,
        "sent_at": utcnow() if sent else None,
        "message_id": message_id if sent else None,
    }
    with statement_writes(runtime.engine) as connection:
        connection.execute(_FINISH, values)
    _record_outcome(notification, status)
