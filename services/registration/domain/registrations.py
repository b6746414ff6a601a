"""Registering, confirming the address, cancelling, and lapsing: each change is one transaction.

``register`` decides what a registration attempt leads to (a seat, the waiting
list, a refusal, or the first answer again for an address seen before);
``storage`` writes it in as few round trips as the database allows. Freed seats
go to the waiting list (``waiting_list``); every mail written here is queued once
its transaction has committed (``shared.outbox``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable, Hashable, Protocol

from sqlalchemy import Row, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import read_connection, statement_writes, write_transaction
from shared.metrics import REGISTRATION_OUTCOMES
from shared.models import (
    ACTIVE,
    SEAT_HOLDING,
    NotificationKind,
    Registration,
    RegistrationStatus,
    WebhookEvent,
    is_row_id,
    new_nonce,
)
from shared.outbox import add_notification, round_key
from shared.personal_feed import same_feed
from shared.problems import Refusal
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration import storage
from services.registration.accounts import audit
from services.registration.accounts.principals import Principal
from services.registration.domain.consent import CONSENT_VERSION
from services.registration.domain.ownership import owned_registration
from services.registration.domain.questions import clean_answers
from services.registration.domain.refusals import NotFound, SeminarCancelled, SeminarFull, SeminarNotFound
from services.registration.domain.registration_window import window_problem
from services.registration.domain.waiting_list import fill_free_seats, release_seat
from services.registration.domain.webhooks import emit, registration_data, subscribed_events
from services.registration.storage import RegistrationRules

# The mail a registration gets by its status: the first one, and the one "send again" repeats.
STATUS_MAIL = {
    RegistrationStatus.PENDING: NotificationKind.CONFIRM_ADDRESS,
    RegistrationStatus.CONFIRMED: NotificationKind.CONFIRMED,
    RegistrationStatus.WAITLISTED: NotificationKind.WAITLISTED,
}


class KeptRules(Protocol):
    """Where a process keeps seminars' rules between requests (the web service's ``PublicAnswers``)."""

    def get(self, key: Hashable, build: Callable[[], RegistrationRules | None]) -> RegistrationRules | None: ...


class _ReusedMeanwhile(Exception):
    """A concurrent attempt of the same address made its cancelled registration active again first."""


@dataclass(frozen=True)
class Outcome:
    """What happened to a registration attempt.

    ``status`` is the registration's true status, for the caller; ``answer`` is what
    whoever sent the form may learn (``answer_for``), and all an API or page shows.
    """

    registration_id: int
    status: RegistrationStatus
    seminar_id: int
    answer: RegistrationStatus


def answer_for(status: RegistrationStatus, double_opt_in: bool) -> RegistrationStatus:
    """What a registration attempt answers: with double opt-in always ``pending``, the mailbox learns the rest.

    The form must not tell whether an address is registered already: anyone can
    type someone else's address. With double opt-in every attempt, new or repeated,
    with a seat or on the waiting list, gets the same answer, and the mail to the
    address says what happened. Without double opt-in a seminar confirms at once,
    so the answer says whether a seat was taken (and a repeated address gets its
    first answer again): the organiser chose that trade-off with the setting.
    """
    return RegistrationStatus.PENDING if double_opt_in else status


def register(runtime: Runtime, seminar_id: int, form: dict, now: datetime | None = None,
             kept: KeptRules | None = None) -> Outcome:
    """Register a person; a repeated address (with valid answers) gets the first answer again and a reminder mail.

    ``kept`` holds the seminars' rules between requests; without it they are read
    every time. ``now`` is for tests; by default the time is read when the seat is
    decided, so that the waiting list's order is the order in which seats were refused.
    """
    email_key = address_key(form["email"])
    try:
        rules = _rules(runtime, seminar_id, kept)
        if rules is None:
            raise SeminarNotFound()
        try:
            outcome = _register_once(runtime, seminar_id, rules, form, email_key, now, None)
        except (IntegrityError, Refusal) as first:
            # The common case, a new address, needs no look-up; an address seen before
            # breaks the unique key of its seminar, and a refused one may be registered
            # already. Either way an earlier registration gets the first answer again.
            earlier = _earlier_registration(runtime, seminar_id, email_key)
            if isinstance(first, Refusal) and (earlier is None or earlier.status not in ACTIVE):
                raise
            if isinstance(first, Refusal) and rules.double_opt_in:
                # Refused like a newcomer would be; the address's owner learns by mail that it is registered.
                _answer_again(runtime, seminar_id, earlier, rules, now or utcnow())
                raise first
            try:
                outcome = _register_once(runtime, seminar_id, rules, form, email_key, now, earlier)
            except _ReusedMeanwhile:
                earlier = _earlier_registration(runtime, seminar_id, email_key)
                outcome = _answer_again(runtime, seminar_id, earlier, rules, now or utcnow())
    except Refusal as refused:
        REGISTRATION_OUTCOMES.labels(refused.code).inc()
        raise
    REGISTRATION_OUTCOMES.labels(outcome.status.value).inc()
    return outcome


def address_key(email: str) -> str:
    """The address as a registration stores it to recognise the same person again."""
    return email.strip().lower()


def _rules(runtime: Runtime, seminar_id: int, kept: KeptRules | None) -> RegistrationRules | None:
    """The rules of a public seminar, from ``kept`` when it holds them; None for no such seminar."""
    if not is_row_id(seminar_id):
        return None
    if kept is None:
        return _read_rules(runtime, seminar_id)
    return kept.get(("registration rules", seminar_id), lambda: _read_rules(runtime, seminar_id))


def _read_rules(runtime: Runtime, seminar_id: int) -> RegistrationRules | None:
    with read_connection(runtime.engine) as connection:
        rules = storage.rules_on(connection, seminar_id)
        if rules is None:
            return None
        # Kept with the rules: a registration whose organiser has no webhook for it costs nothing more.
        return replace(rules, webhook_events=subscribed_events(connection, rules.organiser_id))


def _refusal_now(connection, seminar_id: int, now: datetime) -> Refusal | None:
    """Why the seminar refuses registrations, read afresh: the write found it no longer open."""
    current = storage.rules_on(connection, seminar_id)
    if current is None:
        return SeminarNotFound()
    reason = window_problem(current, now)
    return reason() if reason else None


def _earlier_registration(runtime: Runtime, seminar_id: int, email_key: str) -> Row | None:
    with read_connection(runtime.engine) as connection:
        return storage.earlier_registration(connection, seminar_id, email_key)


def _register_once(runtime: Runtime, seminar_id: int, rules: RegistrationRules, form: dict, email_key: str,
                   fixed_now: datetime | None, earlier: Row | None) -> Outcome:
    now = fixed_now or utcnow()
    if earlier is not None and earlier.status in ACTIVE:
        return _answer_again(runtime, seminar_id, earlier, rules, now)
    reason = window_problem(rules, now)
    if reason is not None:
        raise reason()
    answers = clean_answers(rules.questions, form.get("answers") or {})
    earlier_id = earlier.id if earlier is not None else None
    status = RegistrationStatus.PENDING if rules.double_opt_in else RegistrationStatus.CONFIRMED
    values = _registration_values(runtime, rules, form, answers, status, now)  # before the write lock
    # Reusing an earlier registration is rare and needs its row locked until it is written; events for
    # partner systems must be written in the registration's own transaction, so both need one.
    told = rules.webhook_events & _NEW_REGISTRATION_EVENTS
    with statement_writes(runtime.engine, locks_rows=earlier_id is not None or bool(told)) as connection:
        if earlier_id is not None and storage.reused_meanwhile(connection, earlier_id):
            raise _ReusedMeanwhile()
        written = _write(connection, seminar_id, email_key, earlier_id, values, seated=True)
        if written is None:
            # No seat: the seminar is full, or no longer open since its rules were kept.
            refusal = _refusal_now(connection, seminar_id, now)
            if refusal is not None:
                raise refusal
            if not rules.waitlist_enabled:
                raise SeminarFull()
            # Read the clock after the seat decision: on PostgreSQL concurrent requests
            # wait for the seminar row there, so this order is the waiting list's order.
            now = fixed_now or utcnow()
            status = RegistrationStatus.WAITLISTED
            values = _registration_values(runtime, rules, form, answers, status, now)
            written = _write(connection, seminar_id, email_key, earlier_id, values, seated=False)
            if written is None:  # closed in the moment between the two statements
                raise _refusal_now(connection, seminar_id, now) or SeminarCancelled()
        if told:
            _tell_partners_of_new(connection, runtime, rules, written[0], seminar_id, values, now)
    return Outcome(written[0], status, seminar_id, answer_for(status, rules.double_opt_in))


# What a new registration is, for partner systems: created, and confirmed or waitlisted when it is.
_NEW_REGISTRATION_EVENTS = frozenset({WebhookEvent.REGISTRATION_CREATED.value, WebhookEvent.REGISTRATION_CONFIRMED.value,
                                      WebhookEvent.REGISTRATION_WAITLISTED.value})
_EVENT_OF_STATUS = {RegistrationStatus.CONFIRMED: WebhookEvent.REGISTRATION_CONFIRMED,
                    RegistrationStatus.WAITLISTED: WebhookEvent.REGISTRATION_WAITLISTED}


def _tell_partners_of_new(connection, runtime: Runtime, rules: RegistrationRules, registration_id: int,
                          seminar_id: int, values: dict, now: datetime) -> None:
    """The new registration's events for the organiser's webhook endpoints, in the registration's transaction."""
    data = registration_data(connection, runtime.settings, {**values, "id": registration_id, "seminar_id": seminar_id},
                             seminar_id)
    emit(connection, rules.organiser_id, WebhookEvent.REGISTRATION_CREATED, lambda: data, now)
    if values["status"] in _EVENT_OF_STATUS:
        emit(connection, rules.organiser_id, _EVENT_OF_STATUS[values["status"]], lambda: data, now)


def _write(connection, seminar_id: int, email_key: str, earlier_id: int | None, values: dict,
           seated: bool) -> tuple[int, int] | None:
    """The registration with the first mail of its status; see ``storage.write_registration``."""
    first_mail, dedupe_key = STATUS_MAIL[values["status"]], round_key(values["created_at"])
    return storage.write_registration(connection, seminar_id, email_key, earlier_id, values, first_mail,
                                      dedupe_key, seated)


def _answer_again(runtime: Runtime, seminar_id: int, earlier: Row, rules: RegistrationRules,
                  now: datetime) -> Outcome:
    """The answer for an address registered already (``answer_for``); its owner gets a mail with their page.

    At most one such mail an hour, so the form cannot be used to flood an inbox.
    """
    try:
        with statement_writes(runtime.engine) as connection:
            storage.write_already_registered_mail(connection, earlier.id, "already:" + now.strftime("%Y%m%d%H"))
    except IntegrityError:
        pass  # a concurrent attempt wrote this hour's mail
    return Outcome(earlier.id, earlier.status, seminar_id, answer_for(earlier.status, rules.double_opt_in))


def _registration_values(runtime, rules, form, answers, status, now) -> dict:
    """The row of a registration in ``status``, as ``storage`` writes it."""
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


def confirm_address(runtime: Runtime, registration_id: int, now: datetime | None = None) -> RegistrationStatus:
    """Confirm the address of a registration; confirming twice changes nothing."""
    now = now or utcnow()
    with write_transaction(runtime.sessions) as session:
        registration = _locked(session, registration_id)
        if registration.email_confirmed_at is None and registration.status in ACTIVE:
            registration.email_confirmed_at = now
            registration.expires_at = None
        if registration.status == RegistrationStatus.PENDING:
            registration.status = RegistrationStatus.CONFIRMED
            registration.confirmed_at = now
            add_notification(session, registration.id, NotificationKind.CONFIRMED, round_key(registration.created_at))
            _tell_partners(session, runtime, registration, WebhookEvent.REGISTRATION_CONFIRMED, now)
        elif registration.status == RegistrationStatus.WAITLISTED:
            # A seat may have freed while this person was not yet eligible.
            fill_free_seats(session, runtime.settings, registration.seminar_id, now)
        return registration.status


def cancel_registration(
    runtime: Runtime, registration_id: int, now: datetime | None = None, by: Principal | None = None,
    message: str = "",
) -> RegistrationStatus:
    """Cancel a registration or leave the waiting list; the freed seat goes to the next person.

    With ``by`` an organiser cancels: only a registration of its own seminars, noted in
    the audit log, and the receipt says so and carries the organiser's ``message``.
    """
    now = now or utcnow()
    with write_transaction(runtime.sessions) as session:
        if by is None:
            registration = _locked(session, registration_id)
        else:
            registration = owned_registration(session, by, registration_id, lock=True)
            audit.record(session, by, "registration.cancelled", "registration", registration.id,
                         seminar_id=registration.seminar_id)
        if registration.status in ACTIVE:
            was = registration.status
            registration.status = RegistrationStatus.CANCELLED
            registration.cancelled_at = now
            registration.expires_at = None
            _tell_partners(session, runtime, registration, WebhookEvent.REGISTRATION_CANCELLED, now)
            moved_up = []
            if was in SEAT_HOLDING:
                release_seat(session, registration.seminar_id)
                moved_up = fill_free_seats(session, runtime.settings, registration.seminar_id, now)
            # The receipt tells what happened, as it was at this moment.
            details = {"by": "participant" if by is None else "organiser", "was": was.value,
                       "seat_passed_on": bool(moved_up)}
            if by is not None and message.strip():
                details["message"] = message.strip()
            add_notification(session, registration.id, NotificationKind.CANCELLATION_RECEIPT,
                             round_key(registration.created_at), details)
        return registration.status


def expire_unconfirmed(runtime: Runtime, now: datetime | None = None) -> int:
    """Let unconfirmed registrations lapse after their time; freed seats go to the waiting list."""
    now = now or utcnow()
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
            fill_free_seats(session, runtime.settings, seminar_id, now)
        return len(lapsed)


def renew_feed_link(runtime: Runtime, registration_id: int) -> str:
    """Give the personal feed a new secret address; every earlier link of it answers 404 from then on.

    The feed is the address's at this organiser (``shared.personal_feed``): all of
    its registrations there get the new secret, so none of their old links lives on.
    """
    with write_transaction(runtime.sessions) as session:
        registration = _locked(session, registration_id)
        nonce = new_nonce()
        session.execute(update(Registration).where(same_feed(registration)).values(feed_nonce=nonce)
                        .execution_options(synchronize_session=False))
        return nonce


def _tell_partners(session: Session, runtime: Runtime, registration: Registration, event: WebhookEvent,
                   now: datetime) -> None:
    """Write the event for the organiser's webhook endpoints, in this transaction."""
    emit(session, registration.seminar.organiser_id, event,
         lambda: registration_data(session, runtime.settings, registration, registration.seminar_id), now)


def _locked(session: Session, registration_id: int) -> Registration:
    """The participant's own registration (found through their signed link), locked for the change."""
    registration = session.get(Registration, registration_id, with_for_update=True)
    if registration is None:
        raise NotFound()
    return registration
