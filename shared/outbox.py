"""Outgoing rows (mails, mails to admins, webhook deliveries): written inside the business transaction, queued after it.

``add_notification`` writes a participant mail's row and notes its id for after the
commit, ``add_staff_mails`` those to an organiser's admins (webhook deliveries are
written by ``emit`` of the registration domain's ``webhooks``); ``watch_outbox`` (set up by every process's runtime) queues what
each committed write noted. No call site queues anything by hand, so none can
forget to, and a rolled-back change queues nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from dramatiq.broker import Broker
from sqlalchemy import CTE, Connection, Engine, Insert, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from shared.db import after_commit, on_commit, statement_writes
from shared.messages import DELIVER_WEBHOOK, MAIL_QUEUE, SEND_NOTIFICATION, SEND_STAFF_MAIL, WEBHOOK_QUEUE, enqueue
from shared.models import (
    Account,
    Membership,
    Notification,
    NotificationKind,
    NotificationStatus,
    Organiser,
    Role,
    StaffMail,
    StaffMailKind,
    WebhookDelivery,
)
from shared.times import utcnow

# Why a mail was dropped unsent because its registration was anonymised (shown to organisers).
ANONYMISED = "registration anonymised"


@dataclass(frozen=True)
class Outgoing:
    """A kind of row that goes out through the queue once its transaction has committed."""

    topic: str  # the after-commit topic its ids are noted under
    actor: str
    queue: str
    table: Table  # with ``id`` and ``enqueued_at``
    id_name: str  # the actor's keyword for the row's id


MAILS = Outgoing("queue mail", SEND_NOTIFICATION, MAIL_QUEUE, Notification.__table__, "notification_id")
WEBHOOKS = Outgoing("queue webhook", DELIVER_WEBHOOK, WEBHOOK_QUEUE, WebhookDelivery.__table__, "delivery_id")
STAFF_MAILS = Outgoing("queue staff mail", SEND_STAFF_MAIL, MAIL_QUEUE, StaffMail.__table__, "staff_mail_id")

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
    writer: Session | Connection, registration_id: int, kind: NotificationKind, dedupe_key: str = "",
    details: dict | None = None,
) -> int:
    """Record one mail to send and return its id; it is queued once the writer's transaction commits.

    ``details`` holds what the mail must tell that the rows will not show when it is
    sent (who cancelled, what happened to the seat, a message from the organiser).
    A plain INSERT (no unit of work): this runs once per registration, on the hot path.
    """
    notification_id = writer.execute(
        _INSERT, {"registration_id": registration_id, **_new_row(kind, dedupe_key), "details": details}
    ).scalar_one()
    queue_after_commit(writer, notification_id)
    return notification_id


_STAFF_MAILS = StaffMail.__table__


def add_staff_mails(writer: Session | Connection, organiser_id: int, kind: StaffMailKind, subject_id: int,
                    dedupe_key: str = "") -> list[int]:
    """Record a mail about ``subject_id`` to each admin of the organiser (its contact address if it has none).

    One row per person, each sent and retried on its own; they are queued once the
    writer's transaction commits. Returns their ids.
    """
    admins = writer.execute(
        select(Account.email).join(Membership, Membership.account_id == Account.id)
        .where(Membership.organiser_id == organiser_id, Membership.role == Role.ADMIN, Account.disabled_at.is_(None))
        .order_by(Account.id)
    ).scalars().all()
    recipients = admins or [writer.execute(select(Organiser.contact_email).where(Organiser.id == organiser_id))
                            .scalar_one()]
    now = utcnow()
    ids = []
    for recipient in recipients:
        staff_mail_id = writer.execute(insert(_STAFF_MAILS).returning(_STAFF_MAILS.c.id), {
            "organiser_id": organiser_id, "kind": kind, "subject_id": subject_id, "dedupe_key": dedupe_key,
            "recipient": recipient, "status": NotificationStatus.QUEUED, "attempts": 0, "created_at": now,
            "enqueued_at": now,
        }).scalar_one()
        queue_after_commit(writer, staff_mail_id, STAFF_MAILS)
        ids.append(staff_mail_id)
    return ids


def queue_after_commit(writer: Session | Connection, row_id: int, kind: Outgoing = MAILS) -> None:
    """Queue a row written in the writer's transaction (a mail unless ``kind`` says otherwise) once it has committed."""
    after_commit(writer, kind.topic, row_id)


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
    """Queue the mails, mails to admins and webhook deliveries of every committed write on ``engine``."""
    for kind in (MAILS, STAFF_MAILS, WEBHOOKS):
        on_commit(engine, kind.topic, lambda row_ids, kind=kind: dispatch(engine, broker, row_ids, kind))


def dispatch(engine: Engine, broker: Broker, row_ids: Iterable[int], kind: Outgoing = MAILS,
             delay_ms: int | None = None) -> int:
    """Queue committed rows of a kind (mails by default); returns how many reached the queue.

    What could not be queued gets its ``enqueued_at`` cleared, so the scheduler's
    sweep hands it to the queue once Redis is back: an outage delays mails, loses none.
    """
    row_ids = list(row_ids)
    failed = [row_id for row_id in row_ids
              if not enqueue(broker, kind.actor, kind.queue, delay_ms=delay_ms, **{kind.id_name: row_id})]
    if failed:
        table = kind.table
        with statement_writes(engine) as connection:
            connection.execute(update(table).where(table.c.id.in_(failed)).values(enqueued_at=None))
    return len(row_ids) - len(failed)


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
