"""The registration hot path's SQL: a seminar's rules, an earlier registration, and the write of a new one.

This is what runs for every registration when a newsletter goes out, so it is
plain statements on tables, built once (building and keying a statement per
request costs more than running it), in as few round trips as each database
allows. ``registrations`` decides what to write; this module only writes it.

A seat is taken with a conditional UPDATE in the same transaction as the
registration and its first mail, so capacity holds under concurrency on SQLite
(whose write transactions hold the write lock from BEGIN IMMEDIATE) and on
PostgreSQL (where the UPDATE locks the seminar row; there all of it is one statement).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Row, bindparam, exists, func, insert, or_, select, update

from shared.models import (
    ACTIVE,
    PUBLIC_STATUSES,
    Notification,
    NotificationKind,
    Question,
    Registration,
    Seminar,
    SeminarStatus,
    UTCDateTime,
    new_nonce,
)
from shared.outbox import add_notification, mail_of, mail_params, queue_after_commit
from shared.times import utcnow


@dataclass(frozen=True)
class RegistrationRules:
    """What a public seminar asks of a registration, apart from its seats; changes only with the seminar or its questions.

    Seats are never judged from a kept copy: the write's conditional UPDATE decides.
    """

    status: SeminarStatus
    registration_opens_at: datetime | None
    closes_at: datetime
    waitlist_enabled: bool
    double_opt_in: bool
    questions: tuple  # rows of the questions table, in order
    organiser_id: int
    # Event types the organiser's webhook endpoints receive (filled in by ``registrations``).
    webhook_events: frozenset = frozenset()


# Tables, not mapped classes: a mapped class in a query brings the ORM's result handling.
_SEMINARS = Seminar.__table__
_QUESTIONS_TABLE = Question.__table__
_REGISTRATIONS = Registration.__table__
_NOTIFICATIONS = Notification.__table__
# The columns ``window_problem`` reads, and the number of questions (usually none to load).
_RULES = (
    select(
        _SEMINARS.c.status,
        _SEMINARS.c.registration_opens_at,
        func.coalesce(_SEMINARS.c.registration_closes_at, _SEMINARS.c.starts_at, type_=UTCDateTime)
        .label("closes_at"),
        _SEMINARS.c.waitlist_enabled,
        _SEMINARS.c.double_opt_in,
        _SEMINARS.c.organiser_id,
        select(func.count()).where(_QUESTIONS_TABLE.c.seminar_id == _SEMINARS.c.id)
        .scalar_subquery().label("questions"),
    )
    # One comparison per status rather than IN: an IN list is expanded anew on every execution.
    .where(_SEMINARS.c.id == bindparam("seminar_id"), or_(*(_SEMINARS.c.status == status for status in PUBLIC_STATUSES)))
)
_EARLIER = select(_REGISTRATIONS.c.id, _REGISTRATIONS.c.status).where(
    _REGISTRATIONS.c.seminar_id == bindparam("seminar_id"), _REGISTRATIONS.c.email_key == bindparam("email_key")
)
_QUESTIONS = (
    select(_QUESTIONS_TABLE).where(_QUESTIONS_TABLE.c.seminar_id == bindparam("seminar_id"))
    .order_by(_QUESTIONS_TABLE.c.position)
)
_SEAT_FREE = _SEMINARS.c.capacity.is_(None) | (_SEMINARS.c.seats_taken < _SEMINARS.c.capacity)
# A new registration checks this in its write as well: its kept rules may be a moment old.
_OPEN = _SEMINARS.c.status == SeminarStatus.PUBLISHED
TAKE_SEAT = (
    update(_SEMINARS)
    .where(_SEMINARS.c.id == bindparam("seminar_id"), _SEAT_FREE)
    .values(seats_taken=_SEMINARS.c.seats_taken + 1)
)
# The columns a registration's write fills (``registrations``' values); a new row
# also gets its seminar, email key and tokens, a reused one a new token (links to
# the old round stop working). All are given, since column defaults are not
# applied to DML inside a CTE.
_ROW = ("status", "name", "email", "language", "answers", "consent_version", "consent_at", "source_page",
        "created_at", "confirmed_at", "email_confirmed_at", "cancelled_at", "expires_at")
_NEW_ROW = ("seminar_id", "email_key", "token_nonce", "feed_nonce", *_ROW)
# A reused row gets new secrets too: links to its earlier round, page and feed alike, stop working.
_REUSED_ROW = (*_ROW, "token_nonce", "feed_nonce")
_INSERT = insert(_REGISTRATIONS).returning(_REGISTRATIONS.c.id)
_REUSE = update(_REGISTRATIONS).where(_REGISTRATIONS.c.id == bindparam("registration_id"))
# SQLite: a registration's seat and the open-seminar check in one statement; ``TAKE_SEAT`` is for promotions.
_TAKE_OPEN_SEAT = TAKE_SEAT.where(_OPEN)
_IS_OPEN = select(_SEMINARS.c.id).where(_SEMINARS.c.id == bindparam("seminar_id"), _OPEN)
# The status of a registration about to be reused, locked on PostgreSQL (SQLite's write lock covers it).
_STATUS_NOW = (
    select(_REGISTRATIONS.c.status).where(_REGISTRATIONS.c.id == bindparam("registration_id")).with_for_update()
)
_ALREADY_MAILED = select(_NOTIFICATIONS.c.id).where(
    _NOTIFICATIONS.c.registration_id == bindparam("registration_id"),
    _NOTIFICATIONS.c.kind == NotificationKind.ALREADY_REGISTERED,
    _NOTIFICATIONS.c.dedupe_key == bindparam("dedupe_key"),
)


def _row_param(column: str):
    # Not the column's own name: SQLAlchemy keeps those for an INSERT's VALUES.
    return bindparam("row_" + column, type_=_REGISTRATIONS.c[column].type)


def _one_statement(seated: bool, reused: bool):
    """PostgreSQL: the seat (if ``seated``), the registration and its first mail in one statement.

    On an autocommit connection the statement is the whole transaction: no BEGIN
    or COMMIT round trips, and the seminar row the seat UPDATE locks is free again
    as soon as the statement's own commit is flushed, which is all that concurrent
    registrations for one seminar queue for. Without a free seat, or when the
    seminar is no longer published, it writes nothing and returns no row.
    """
    # Parameters named after no registration column: an UPDATE in the statement
    # would take such a parameter as a further column to SET.
    take_seat = (
        update(_SEMINARS)
        .where(_SEMINARS.c.id == bindparam("seat_seminar_id"), _SEAT_FREE, _OPEN)
        .values(seats_taken=_SEMINARS.c.seats_taken + 1,
                updated_at=bindparam("seat_updated_at", type_=_SEMINARS.c.updated_at.type))
    )
    if seated:
        condition = exists(take_seat.returning(_SEMINARS.c.id).cte("seat").select())
    else:
        condition = exists(select(_SEMINARS.c.id).where(_SEMINARS.c.id == bindparam("seat_seminar_id"), _OPEN))
    if reused:
        write = _REUSE.values({column: _row_param(column) for column in _REUSED_ROW}).where(condition)
    else:
        row = select(*map(_row_param, _NEW_ROW)).where(condition)
        write = insert(_REGISTRATIONS).from_select(_NEW_ROW, row)
    registration = write.returning(_REGISTRATIONS.c.id).cte("registration")
    # The mail's INSERT reads the registration's, so selecting from it runs both.
    mail = mail_of(registration).cte("mail")
    return select(mail.c.registration_id, mail.c.id)


_ONE_STATEMENT = {(seated, reused): _one_statement(seated, reused) for seated in (True, False) for reused in (True, False)}


def rules_on(connection: Connection, seminar_id: int) -> RegistrationRules | None:
    """A public seminar's registration rules as they are now; None for no such seminar."""
    row = connection.execute(_RULES, {"seminar_id": seminar_id}).first()
    if row is None:
        return None
    questions = connection.execute(_QUESTIONS, {"seminar_id": seminar_id}).all() if row.questions else []
    return RegistrationRules(row.status, row.registration_opens_at, row.closes_at, row.waitlist_enabled,
                             row.double_opt_in, tuple(questions), row.organiser_id)


def earlier_registration(connection: Connection, seminar_id: int, email_key: str) -> Row | None:
    """The id and status of the address's registration for the seminar, if it has one."""
    return connection.execute(_EARLIER, {"seminar_id": seminar_id, "email_key": email_key}).first()


def reused_meanwhile(connection: Connection, registration_id: int) -> bool:
    """Whether a cancelled registration about to be reused is active again (a concurrent attempt reused it); locks it."""
    return connection.scalar(_STATUS_NOW, {"registration_id": registration_id}) in ACTIVE


def write_registration(connection: Connection, seminar_id: int, email_key: str, earlier_id: int | None,
                       values: dict, first_mail: NotificationKind, dedupe_key: str,
                       seated: bool) -> tuple[int, int] | None:
    """Take a seat if ``seated``, write the registration (new, or reusing ``earlier_id``) and its first mail.

    Returns the registration's and the mail's ids, or None when there was no seat
    or the seminar is no longer published; then nothing is written.
    """
    if connection.dialect.name == "postgresql":
        params = {"seat_seminar_id": seminar_id, "seat_updated_at": utcnow(), "registration_id": earlier_id,
                  **mail_params(first_mail, dedupe_key)}
        row = {"seminar_id": seminar_id, "email_key": email_key, "token_nonce": new_nonce(), "feed_nonce": new_nonce(),
               **values}
        params.update(("row_" + column, value) for column, value in row.items())
        written = connection.execute(_ONE_STATEMENT[seated, earlier_id is not None], params).first()
        if written is None:
            return None
        queue_after_commit(connection, written.id)
        return tuple(written)
    # SQLite: the transaction holds the database's write lock throughout, so the
    # seat can come first and each row is written once, with its final status.
    if seated and connection.execute(_TAKE_OPEN_SEAT, {"seminar_id": seminar_id}).rowcount != 1:
        return None
    if not seated and connection.scalar(_IS_OPEN, {"seminar_id": seminar_id}) is None:
        return None
    if earlier_id is None:
        registration_id = connection.execute(
            _INSERT, {"seminar_id": seminar_id, "email_key": email_key, **values}
        ).scalar_one()
    else:
        registration_id = earlier_id
        connection.execute(_REUSE, {"registration_id": registration_id, "token_nonce": new_nonce(),
                                    "feed_nonce": new_nonce(), **values})
    return registration_id, add_notification(connection, registration_id, first_mail, dedupe_key)


def write_already_registered_mail(connection: Connection, registration_id: int, dedupe_key: str) -> int | None:
    """The "you are registered already" mail for this key, unless it exists; its id, or None.

    Two attempts at once may both find none: the second INSERT then breaks the
    mail's unique key (IntegrityError), and the caller sends nothing more.
    """
    if connection.scalar(_ALREADY_MAILED, {"registration_id": registration_id, "dedupe_key": dedupe_key}):
        return None
    return add_notification(connection, registration_id, NotificationKind.ALREADY_REGISTERED, dedupe_key)
