"""Notification rows: written inside the business transaction, queued after the commit."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from dramatiq.broker import Broker
from sqlalchemy import CTE, Connection, Insert, bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from shared.db import write_transaction
from shared.messages import SEND_NOTIFICATION, enqueue
from shared.models import Notification, NotificationKind, NotificationStatus
from shared.times import utcnow

# Why a mail was dropped unsent because its registration was anonymised (shown to organisers).
ANONYMISED = "registration anonymised"

_NOTIFICATIONS = Notification.__table__
_INSERT = insert(_NOTIFICATIONS).returning(_NOTIFICATIONS.c.id)
# The columns ``mail_of`` sets from parameters, and the parameters' names: not the
# columns' own, which SQLAlchemy keeps for an INSERT's VALUES. All of them are
# given, since column defaults are not applied to an INSERT inside a CTE.
_MAIL_PARAMS = {name: "mail_" + name for name in ("kind", "dedupe_key", "status", "attempts", "created_at", "enqueued_at")}


def add_notification(
    session: Session | Connection, registration_id: int, kind: NotificationKind, dedupe_key: str = ""
) -> int:
    """Record one mail to send and return its id; the caller's transaction decides whether it exists.

    The row is stamped as enqueued already: the caller enqueues it right after the
    commit, and ``dispatch`` clears the stamp if that fails. This saves a second
    transaction per registration; a process that dies between commit and enqueue
    leaves a stamped row that the sweep's lost-message rule picks up later.
    A plain INSERT (no unit of work): this runs once per registration, on the hot path.
    """
    values = {"registration_id": registration_id, "kind": kind, "dedupe_key": dedupe_key, "enqueued_at": utcnow()}
    return session.execute(_INSERT, values).scalar_one()


def mail_of(registrations: CTE) -> Insert:
    """An INSERT of one notification per row of ``registrations`` (a CTE with an ``id``), returning both ids.

    For a statement that writes a registration and its mail at once (PostgreSQL);
    its parameters come from ``mail_params``. Stamped as enqueued, as in ``add_notification``.
    """
    columns = _NOTIFICATIONS.c
    row = select(registrations.c.id, *(bindparam(param, type_=columns[name].type) for name, param in _MAIL_PARAMS.items()))
    return (
        insert(_NOTIFICATIONS).from_select(["registration_id", *_MAIL_PARAMS], row)
        .returning(columns.registration_id, columns.id)
    )


def mail_params(kind: NotificationKind, dedupe_key: str = "") -> dict:
    """The parameters of a ``mail_of`` statement."""
    now = utcnow()
    values = {"kind": kind, "dedupe_key": dedupe_key, "status": NotificationStatus.QUEUED, "attempts": 0,
              "created_at": now, "enqueued_at": now}
    return {param: values[name] for name, param in _MAIL_PARAMS.items()}


def dispatch(sessions: sessionmaker[Session], broker: Broker, notification_ids: Iterable[int]) -> int:
    """Enqueue committed notifications; returns how many reached the queue.

    What could not be enqueued gets its ``enqueued_at`` cleared, so the scheduler's
    sweep hands it to the queue once Redis is back: an outage delays mails, loses none.
    """
    notification_ids = list(notification_ids)
    failed = [
        notification_id
        for notification_id in notification_ids
        if not enqueue(broker, SEND_NOTIFICATION, notification_id=notification_id)
    ]
    if failed:
        with write_transaction(sessions) as session:
            session.execute(
                update(Notification).where(Notification.id.in_(failed)).values(enqueued_at=None)
            )
    return len(notification_ids) - len(failed)


def reminder_key(offset_minutes: int, starts_at: datetime) -> str:
    """The dedupe key of a reminder: its offset and the start it reminds of (UTC)."""
    return f"{offset_minutes}:{starts_at:%Y%m%dT%H%M}"


def reminds_of_current_start(dedupe_key: str, starts_at: datetime) -> bool:
    """True when a reminder's key names the seminar's current start (it was not moved since)."""
    _, _, start = dedupe_key.partition(":")
    return start == f"{starts_at:%Y%m%dT%H%M}"
