"""Registering, confirming, cancelling, and the waiting list: each change is one transaction.

A seat is taken with a conditional UPDATE inside the transaction that also writes
the registration and its notification rows, so capacity holds under concurrency
on SQLite (whose write transactions start with BEGIN IMMEDIATE) and PostgreSQL
(where the UPDATE locks the seminar row until commit; a new registration is a
single statement there). Mails are queued after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Row, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import read_connection, statement_writes, write_connection, write_transaction
from shared.metrics import REGISTRATION_OUTCOMES
from shared.models import (
    ACTIVE,
    MAX_ID,
    SEAT_HOLDING,
    Notification,
    NotificationKind,
    Question,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarStatus,
    UTCDateTime,
    new_nonce,
)
from shared.outbox import add_notification, dispatch, mail_of, mail_params
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration import audit
from services.registration.accounts import Principal
from services.registration.consent import CONSENT_VERSION
from services.registration.public_cache import PublicAnswers
from services.registration.questions import clean_answers
from services.registration.seminars import PUBLIC_STATUSES, window_problem

REGISTRATIONS = Registration.__table__
# The mail a new registration gets, by its status.
FIRST_MAIL = {
    RegistrationStatus.PENDING: NotificationKind.CONFIRM_ADDRESS,
    RegistrationStatus.CONFIRMED: NotificationKind.CONFIRMED,
    RegistrationStatus.WAITLISTED: NotificationKind.WAITLISTED,
}


class RegistrationRefused(Exception):
    """Registration is not possible; ``code`` names the problem, ``status`` the HTTP status."""

    def __init__(self, code: str, status: int = 409):
        super().__init__(code)
        self.code = code
        self.status = status


class ReusedMeanwhile(Exception):
    """A concurrent attempt of the same address made its cancelled registration active again first."""


@dataclass(frozen=True)
class Outcome:
    """What happened to a registration attempt, as the participant may learn it."""

    registration_id: int
    status: RegistrationStatus
    seminar_id: int


def register(runtime: Runtime, seminar_id: int, form: dict, now: datetime | None = None,
             kept: PublicAnswers | None = None) -> Outcome:
    """Register a person; a repeated address (with valid answers) gets the first answer again and a reminder mail.

    ``kept`` holds the seminars' rules between requests (the web service's
    ``PublicAnswers``); without it they are read every time. ``now`` is for tests;
    by default the time is read when the seat is decided, so that the waiting
    list's order is the order in which seats were refused.
    """
    email_key = address_key(form["email"])
    try:
        rules = _rules(runtime, seminar_id, kept)
        if rules is None:
            raise RegistrationRefused("seminar_not_found", 404)
        try:
            outcome, notification_ids = _register_once(runtime, seminar_id, rules, form, email_key, now, None)
        except (IntegrityError, RegistrationRefused) as first:
            # The common case, a new address, needs no look-up; an address seen before
            # breaks the unique key of its seminar, and a refused one may be registered
            # already. Either way an earlier registration gets the first answer again.
            earlier = _earlier_registration(runtime, seminar_id, email_key)
            if isinstance(first, RegistrationRefused) and (earlier is None or earlier.status not in ACTIVE):
                raise
            try:
                outcome, notification_ids = _register_once(runtime, seminar_id, rules, form, email_key, now, earlier)
            except ReusedMeanwhile:
                earlier = _earlier_registration(runtime, seminar_id, email_key)
                outcome, notification_ids = _answer_again(runtime, seminar_id, earlier, now or utcnow())
    except RegistrationRefused as refused:
        REGISTRATION_OUTCOMES.labels(refused.code).inc()
        raise
    REGISTRATION_OUTCOMES.labels(outcome.status.value).inc()
    dispatch(runtime.sessions, runtime.broker, notification_ids)
    return outcome


@dataclass(frozen=True)
class RegistrationRules:
    """What a public seminar asks of a registration, apart from its seats; changes only with the seminar or its questions."""

    status: SeminarStatus
    registration_opens_at: datetime | None
    closes_at: datetime
    waitlist_enabled: bool
    double_opt_in: bool
    questions: tuple  # rows of the questions table, in order
    # Seats are never judged from a kept copy: the write's conditional UPDATE decides.
    seats_left = None


# Statements of the hot path, built once: building and keying a statement per
# request costs more than running it.
_SEMINARS = Seminar.__table__
# Tables, not mapped classes: a mapped class in a query brings the ORM's result handling.
_QUESTIONS_TABLE = Question.__table__
# The columns ``window_problem`` reads, and the number of questions (usually none to load).
_RULES = (
    select(
        _SEMINARS.c.status,
        _SEMINARS.c.registration_opens_at,
        func.coalesce(_SEMINARS.c.registration_closes_at, _SEMINARS.c.starts_at, type_=UTCDateTime)
        .label("closes_at"),
        _SEMINARS.c.waitlist_enabled,
        _SEMINARS.c.double_opt_in,
        select(func.count()).where(_QUESTIONS_TABLE.c.seminar_id == _SEMINARS.c.id)
        .scalar_subquery().label("questions"),
    )
    # One comparison per status rather than IN: an IN list is expanded anew on every execution.
    .where(_SEMINARS.c.id == bindparam("seminar_id"), or_(*(_SEMINARS.c.status == status for status in PUBLIC_STATUSES)))
)
_EARLIER = select(REGISTRATIONS.c.id, REGISTRATIONS.c.status).where(
    REGISTRATIONS.c.seminar_id == bindparam("seminar_id"), REGISTRATIONS.c.email_key == bindparam("email_key")
)
_QUESTIONS = (
    select(_QUESTIONS_TABLE).where(_QUESTIONS_TABLE.c.seminar_id == bindparam("seminar_id"))
    .order_by(_QUESTIONS_TABLE.c.position)
)
_SEAT_FREE = _SEMINARS.c.capacity.is_(None) | (_SEMINARS.c.seats_taken < _SEMINARS.c.capacity)
# A new registration checks this in its write as well: its kept rules may be a moment old.
_OPEN = _SEMINARS.c.status == SeminarStatus.PUBLISHED
_TAKE_SEAT = (
    update(_SEMINARS)
    .where(_SEMINARS.c.id == bindparam("seminar_id"), _SEAT_FREE)
    .values(seats_taken=_SEMINARS.c.seats_taken + 1)
)
# The columns ``_registration_values`` fills; a new row also gets its seminar,
# email key and tokens, a reused one a new token (links to the old round stop working).
# All are given, since column defaults are not applied to DML inside a CTE.
_ROW = ("status", "name", "email", "language", "answers", "consent_version", "consent_at", "source_page",
        "created_at", "confirmed_at", "email_confirmed_at", "cancelled_at", "expires_at")
_NEW_ROW = ("seminar_id", "email_key", "token_nonce", "feed_nonce", *_ROW)
_REUSED_ROW = (*_ROW, "token_nonce")
_INSERT = insert(REGISTRATIONS).returning(REGISTRATIONS.c.id)
_REUSE = update(REGISTRATIONS).where(REGISTRATIONS.c.id == bindparam("registration_id"))
# SQLite: a registration's seat and the open-seminar check in one statement; ``take_seat`` is for promotions.
_TAKE_OPEN_SEAT = _TAKE_SEAT.where(_OPEN)
_IS_OPEN = select(_SEMINARS.c.id).where(_SEMINARS.c.id == bindparam("seminar_id"), _OPEN)
# The status of a registration about to be reused, locked on PostgreSQL (SQLite's write lock covers it).
_STATUS_NOW = select(REGISTRATIONS.c.status).where(REGISTRATIONS.c.id == bindparam("registration_id")).with_for_update()


def _row_param(column: str):
    # Not the column's own name: SQLAlchemy keeps those for an INSERT's VALUES.
    return bindparam("row_" + column, type_=REGISTRATIONS.c[column].type)


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
        write = insert(REGISTRATIONS).from_select(_NEW_ROW, row)
    registration = write.returning(REGISTRATIONS.c.id).cte("registration")
    # The mail's INSERT reads the registration's, so selecting from it runs both.
    mail = mail_of(registration).cte("mail")
    return select(mail.c.registration_id, mail.c.id)


_ONE_STATEMENT = {(seated, reused): _one_statement(seated, reused) for seated in (True, False) for reused in (True, False)}


def _rules(runtime: Runtime, seminar_id: int, kept: PublicAnswers | None) -> RegistrationRules | None:
    """The rules of a public seminar, from ``kept`` when it holds them; None for no such seminar."""
    if not 0 < seminar_id <= MAX_ID:
        return None
    if kept is None:
        return _read_rules(runtime, seminar_id)
    return kept.get(("registration rules", seminar_id), lambda: _read_rules(runtime, seminar_id))


def _read_rules(runtime: Runtime, seminar_id: int) -> RegistrationRules | None:
    with read_connection(runtime.engine) as connection:
        return _rules_on(connection, seminar_id)


def _rules_on(connection: Connection, seminar_id: int) -> RegistrationRules | None:
    row = connection.execute(_RULES, {"seminar_id": seminar_id}).first()
    if row is None:
        return None
    questions = connection.execute(_QUESTIONS, {"seminar_id": seminar_id}).all() if row.questions else []
    return RegistrationRules(row.status, row.registration_opens_at, row.closes_at, row.waitlist_enabled,
                             row.double_opt_in, tuple(questions))


def _refusal_now(connection: Connection, seminar_id: int, now: datetime) -> RegistrationRefused | None:
    """Why the seminar refuses registrations, read afresh: the write found it no longer open."""
    current = _rules_on(connection, seminar_id)
    if current is None:
        return RegistrationRefused("seminar_not_found", 404)
    reason = window_problem(current, now)
    return RegistrationRefused(reason) if reason else None


def _earlier_registration(runtime: Runtime, seminar_id: int, email_key: str) -> Row | None:
    """The id and status of the address's registration for the seminar, if it has one."""
    with read_connection(runtime.engine) as connection:
        return connection.execute(_EARLIER, {"seminar_id": seminar_id, "email_key": email_key}).first()


def address_key(email: str) -> str:
    """The address as a registration stores it to recognise the same person again."""
    return email.strip().lower()


def _register_once(runtime: Runtime, seminar_id: int, rules: RegistrationRules, form: dict, email_key: str,
                   fixed_now: datetime | None, earlier: Row | None) -> tuple[Outcome, list[int]]:
    # Plain statements on the registration table rather than the unit of work:
    # this is the hot path when a newsletter goes out, and each ORM step costs.
    now = fixed_now or utcnow()
    if earlier is not None and earlier.status in ACTIVE:
        return _answer_again(runtime, seminar_id, earlier, now)
    reason = window_problem(rules, now)
    if reason is not None:
        raise RegistrationRefused(reason)
    answers = clean_answers(rules.questions, form.get("answers") or {})
    earlier_id = earlier.id if earlier is not None else None
    status = RegistrationStatus.PENDING if rules.double_opt_in else RegistrationStatus.CONFIRMED
    values = _registration_values(runtime, rules, form, answers, status, now)  # before the write lock
    # Reusing an earlier registration is rare and needs its row locked (see ``_write_registration``).
    with (statement_writes if earlier is None else write_connection)(runtime.engine) as connection:
        written = _write_registration(connection, seminar_id, email_key, earlier_id, values, seated=True)
        if written is None:
            # No seat: the seminar is full, or no longer open since its rules were kept.
            refusal = _refusal_now(connection, seminar_id, now)
            if refusal is not None:
                raise refusal
            if not rules.waitlist_enabled:
                raise RegistrationRefused("seminar_full")
            # Read the clock after the seat decision: on PostgreSQL concurrent requests
            # wait for the seminar row there, so this order is the waiting list's order.
            now = fixed_now or utcnow()
            status = RegistrationStatus.WAITLISTED
            values = _registration_values(runtime, rules, form, answers, status, now)
            written = _write_registration(connection, seminar_id, email_key, earlier_id, values, seated=False)
            if written is None:  # closed in the moment between the two statements
                raise _refusal_now(connection, seminar_id, now) or RegistrationRefused("seminar_cancelled")
    registration_id, notification_id = written
    return Outcome(registration_id, status, seminar_id), [notification_id]


def _answer_again(runtime: Runtime, seminar_id: int, earlier: Row, now: datetime) -> tuple[Outcome, list[int]]:
    """Same answer as the first time; the address owner learns the rest by mail."""
    try:
        with statement_writes(runtime.engine) as connection:
            notification_id = _already_registered_mail(connection, earlier.id, now)
    except IntegrityError:
        notification_id = None  # a concurrent attempt wrote this hour's mail
    return Outcome(earlier.id, earlier.status, seminar_id), [notification_id] if notification_id else []


def _write_registration(connection: Connection, seminar_id: int, email_key: str, earlier_id: int | None,
                        values: dict, seated: bool) -> tuple[int, int] | None:
    """Take a seat if ``seated``, write the registration and its first mail; their ids, or None without a seat.

    A cancelled or expired earlier registration of the address is reused, with a new token;
    if a concurrent attempt of the same address reused it first, ``ReusedMeanwhile`` is raised.
    """
    if earlier_id is not None and connection.scalar(_STATUS_NOW, {"registration_id": earlier_id}) in ACTIVE:
        raise ReusedMeanwhile()
    kind, dedupe_key = FIRST_MAIL[values["status"]], _round_key(values["created_at"])
    if connection.dialect.name == "postgresql":
        params = {"seat_seminar_id": seminar_id, "seat_updated_at": utcnow(), "registration_id": earlier_id,
                  **mail_params(kind, dedupe_key)}
        row = {"seminar_id": seminar_id, "email_key": email_key, "token_nonce": new_nonce(), "feed_nonce": new_nonce(),
               **values}
        params.update(("row_" + column, value) for column, value in row.items())
        written = connection.execute(_ONE_STATEMENT[seated, earlier_id is not None], params).first()
        return tuple(written) if written else None
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
        connection.execute(_REUSE, {"registration_id": registration_id, "token_nonce": new_nonce(), **values})
    return registration_id, add_notification(connection, registration_id, kind, dedupe_key)


def _registration_values(runtime, rules, form, answers, status, now) -> dict:
    needs_address_check = rules.double_opt_in and status != RegistrationStatus.CONFIRMED
    return {
        "status": status,
        "name": form["name"].strip(),
        "email": form["email"].strip(),
        "language": form.get("language") or "de",
        "answers": answers,
        "consent_version": CONSENT_VERSION,
        "consent_at": now,
        "source_page": form.get("source_page"),
        "created_at": now,
        "confirmed_at": now if status == RegistrationStatus.CONFIRMED else None,
        "email_confirmed_at": None,
        "cancelled_at": None,
        "expires_at": (
            now + timedelta(hours=runtime.settings.pending_expiry_hours) if needs_address_check else None
        ),
    }


def _round_key(created_at: datetime) -> str:
    # A person may cancel and register again; each round gets its own mails.
    return created_at.strftime("%Y%m%dT%H%M%S.%f")


def _round(registration: Registration) -> str:
    return _round_key(registration.created_at)


def _already_registered_mail(connection: Connection, registration_id: int, now: datetime) -> int | None:
    # At most one such mail an hour, so the form cannot be used to flood an inbox.
    # Two attempts at once may both find none: the second INSERT then breaks the
    # mail's unique key, and ``_answer_again`` sends nothing.
    key = "already:" + now.strftime("%Y%m%d%H")
    exists = connection.scalar(
        select(Notification.id).where(
            Notification.registration_id == registration_id,
            Notification.kind == NotificationKind.ALREADY_REGISTERED,
            Notification.dedupe_key == key,
        )
    )
    if exists:
        return None
    return add_notification(connection, registration_id, NotificationKind.ALREADY_REGISTERED, key)


def take_seat(session: Session | Connection, seminar_id: int) -> bool:
    """Take one seat if one is free; atomic on both databases."""
    return session.execute(_TAKE_SEAT, {"seminar_id": seminar_id}).rowcount == 1


def release_seat(session: Session, seminar_id: int) -> None:
    """Give one seat back."""
    session.execute(
        update(Seminar)
        .where(Seminar.id == seminar_id, Seminar.seats_taken > 0)
        .values(seats_taken=Seminar.seats_taken - 1)
        .execution_options(synchronize_session=False)
    )


def promote_waiting(session: Session, seminar_id: int, now: datetime) -> list[int]:
    """Move the longest-waiting people into free seats; returns the notification ids.

    With double opt-in only people who confirmed their address move up: a seat
    never goes to an address nobody has confirmed.
    """
    seminar = session.get(Seminar, seminar_id)
    notification_ids = []
    while True:
        query = (
            select(Registration)
            .where(Registration.seminar_id == seminar_id, Registration.status == RegistrationStatus.WAITLISTED)
            .order_by(Registration.created_at, Registration.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if seminar.double_opt_in:
            query = query.where(Registration.email_confirmed_at.is_not(None))
        candidate = session.scalar(query)
        if candidate is None or not take_seat(session, seminar_id):
            break
        candidate.status = RegistrationStatus.CONFIRMED
        candidate.confirmed_at = now
        candidate.expires_at = None
        notification_ids.append(
            add_notification(session, candidate.id, NotificationKind.PROMOTED, _round(candidate))
        )
    return notification_ids


def confirm_address(runtime: Runtime, registration_id: int, now: datetime | None = None) -> RegistrationStatus:
    """Confirm the address of a registration; confirming twice changes nothing."""
    now = now or utcnow()
    notification_ids: list[int] = []
    with write_transaction(runtime.sessions) as session:
        registration = _locked(session, registration_id)
        if registration.email_confirmed_at is None and registration.status in ACTIVE:
            registration.email_confirmed_at = now
            registration.expires_at = None
        if registration.status == RegistrationStatus.PENDING:
            registration.status = RegistrationStatus.CONFIRMED
            registration.confirmed_at = now
            notification_ids.append(
                add_notification(session, registration.id, NotificationKind.CONFIRMED, _round(registration))
            )
        elif registration.status == RegistrationStatus.WAITLISTED:
            # A seat may have freed while this person was not yet eligible.
            notification_ids += promote_waiting(session, registration.seminar_id, now)
        status = registration.status
    dispatch(runtime.sessions, runtime.broker, notification_ids)
    return status


def cancel_registration(
    runtime: Runtime, registration_id: int, now: datetime | None = None, by: Principal | None = None
) -> RegistrationStatus:
    """Cancel a registration or leave the waiting list; the freed seat goes to the next person.

    With ``by`` an organiser cancels: only a registration of its own seminars, noted in the audit log.
    """
    now = now or utcnow()
    notification_ids: list[int] = []
    with write_transaction(runtime.sessions) as session:
        registration = _locked(session, registration_id)
        if by is not None:
            if registration.seminar.organiser_id != by.organiser_id:
                raise RegistrationRefused("registration_not_found", 404)
            audit.record(session, by, "registration.cancelled", "registration", registration.id,
                         seminar_id=registration.seminar_id)
        if registration.status in ACTIVE:
            held_seat = registration.status in SEAT_HOLDING
            registration.status = RegistrationStatus.CANCELLED
            registration.cancelled_at = now
            registration.expires_at = None
            notification_ids.append(add_notification(
                session, registration.id, NotificationKind.CANCELLATION_RECEIPT, _round(registration)
            ))
            if held_seat:
                release_seat(session, registration.seminar_id)
                notification_ids += promote_waiting(session, registration.seminar_id, now)
        status = registration.status
    dispatch(runtime.sessions, runtime.broker, notification_ids)
    return status


def expire_unconfirmed(runtime: Runtime, now: datetime | None = None) -> int:
    """Let unconfirmed registrations lapse after their time; freed seats go to the waiting list."""
    now = now or utcnow()
    notification_ids: list[int] = []
    with write_transaction(runtime.sessions) as session:
        lapsed = session.scalars(
            select(Registration)
            .where(
                Registration.status.in_((RegistrationStatus.PENDING, RegistrationStatus.WAITLISTED)),
                Registration.expires_at < now,
            )
            .order_by(Registration.id)
            .limit(500)
            .with_for_update(skip_locked=True)
        ).all()
        seminars_with_free_seats = set()
        for registration in lapsed:
            if registration.status == RegistrationStatus.PENDING:
                release_seat(session, registration.seminar_id)
                seminars_with_free_seats.add(registration.seminar_id)
            # ``expires_at`` stays: retention counts an expired registration's days from it.
            registration.status = RegistrationStatus.EXPIRED
        session.flush()
        for seminar_id in sorted(seminars_with_free_seats):
            notification_ids += promote_waiting(session, seminar_id, now)
        count = len(lapsed)
    dispatch(runtime.sessions, runtime.broker, notification_ids)
    return count


def renew_feed_link(runtime: Runtime, registration_id: int) -> str:
    """Give the personal feed a new secret address; links to the old one then answer 404."""
    with write_transaction(runtime.sessions) as session:
        registration = _locked(session, registration_id)
        registration.feed_nonce = new_nonce()
        return registration.feed_nonce


def _locked(session: Session, registration_id: int) -> Registration:
    registration = session.get(Registration, registration_id, with_for_update=True)
    if registration is None:
        raise RegistrationRefused("not_found", 404)
    return registration
