"""Notification rows: written inside the business transaction, queued by one hook after the commit.

``add_notification`` writes the row and notes its id for after the commit;
``watch_outbox`` (set up by every process's runtime) queues what each committed
write noted. No call site queues a mail by hand, so none can forget to, and a
rolled-back change queues nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from dramatiq.broker import Broker
from sqlalchemy import CTE, Connection, Engine, Insert, bindparam, insert, select, update
from sqlalchemy.orm import Session

from shared.db import after_commit, on_commit, statement_writes
from shared.messages import SEND_NOTIFICATION, enqueue
from shared.models import Notification, NotificationKind, NotificationStatus
from shared.times import utcnow

# Why a mail was dropped unsent because its registration was anonymised (shown to organisers).
ANONYMISED = "registration anonymised"
# The after-commit topic under which written notifications wait for the queue.
QUEUE_MAIL = "queue mail"

_NOTIFICATIONS = Notification.__table__
_INSERT = insert(_NOTIFICATIONS).returning(_NOTIFICATIONS.c.id)
# The columns a new row gets from ``_new_row``, and their parameter names in ``mail_of``:
# not the columns' own, which SQLAlchemy keeps for an INSERT's VALUES.
_MAIL_PARAMS = {name: "mail_" + name for name in ("kind", "dedupe_key", "status", "attempts", "created_at", "enqueued_at")}


def _new_row(kind: NotificationKind, dedupe_key: str) -> dict:
    """A new notification's values, all given: column defaults are not applied to an INSERT inside a CTE.

    It is stamped as enqueued already: it is queued right after the commit, and
    ``dispatch`` clears the stamp if that fails. This saves a second transaction per
    registration; a process that dies between commit and queue leaves a stamped row
    that the sweep's lost-message rule picks up later.
    """
    now = utcnow()
    return {"kind": kind, "dedupe_key": dedupe_key, "status": NotificationStatus.QUEUED, "attempts": 0,
            "created_at": now, "enqueued_at": now}


def add_notification(
    writer: Session | Connection, registration_id: int, kind: NotificationKind, dedupe_key: str = ""
) -> int:
    """Record one mail to send and return its id; it is queued once the writer's transaction commits.

    A plain INSERT (no unit of work): this runs once per registration, on the hot path.
    """
    notification_id = writer.execute(
        _INSERT, {"registration_id": registration_id, **_new_row(kind, dedupe_key)}
    ).scalar_one()
    queue_after_commit(writer, notification_id)
    return notification_id


def queue_after_commit(writer: Session | Connection, notification_id: int) -> None:
    """Queue a notification written in the writer's transaction once that has committed."""
    after_commit(writer, QUEUE_MAIL, notification_id)


def mail_of(registrations: CTE) -> Insert:
    """An INSERT of one notification per row of ``registrations`` (a CTE with an ``id``), returning both ids.

    For a statement that writes a registration and its mail at once (PostgreSQL);
    its parameters come from ``mail_params``; the caller queues the id it returns.
    """
    columns = _NOTIFICATIONS.c
    row = select(registrations.c.id, *(bindparam(param, type_=columns[name].type) for name, param in _MAIL_PARAMS.items()))
    return (
        insert(_NOTIFICATIONS).from_select(["registration_id", *_MAIL_PARAMS], row)
        .returning(columns.registration_id, columns.id)
    )


def mail_params(kind: NotificationKind, dedupe_key: str = "") -> dict:
    """The parameters of a ``mail_of`` statement."""
    values = _new_row(kind, dedupe_key)
    return {param: values[name] for name, param in _MAIL_PARAMS.items()}


def watch_outbox(engine: Engine, broker: Broker) -> None:
    """Queue the notifications of every committed write on ``engine`` (see ``add_notification``)."""
    on_commit(engine, QUEUE_MAIL, lambda notification_ids: dispatch(engine, broker, notification_ids))


def dispatch(engine: Engine, broker: Broker, notification_ids: Iterable[int]) -> int:
    """Queue committed notifications; returns how many reached the queue.

    What could not be queued gets its ``enqueued_at`` cleared, so the scheduler's
    sweep hands it to the queue once Redis is back: an outage delays mails, loses none.
    """
    notification_ids = list(notification_ids)
    failed = [
        notification_id
        for notification_id in notification_ids
        if not enqueue(broker, SEND_NOTIFICATION, notification_id=notification_id)
    ]
    if failed:
        with statement_writes(engine) as connection:
            connection.execute(update(_NOTIFICATIONS).where(_NOTIFICATIONS.c.id.in_(failed)).values(enqueued_at=None))
    return len(notification_ids) - len(failed)


def round_key(created_at: datetime) -> str:
    """The dedupe key of a registration round's mails: a person may cancel and register again, and each round gets its own."""
    return created_at.strftime("%Y%m%dT%H%M%S.%f")


def reminder_key(offset_minutes: int, starts_at: datetime) -> str:
    """The dedupe key of a reminder: its offset and the start it reminds of (UTC)."""
    return f"{offset_minutes}:{starts_at:%Y%m%dT%H%M}"


def reminds_of_current_start(dedupe_key: str, starts_at: datetime) -> bool:
    """True when a reminder's key names the seminar's current start (it was not moved since)."""
    _, _, start = dedupe_key.partition(":")
    return start == f"{starts_at:%Y%m%dT%H%M}"
