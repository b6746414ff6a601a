"""What organisers do with their series, seminars and registrations; one transaction per change.

Every function takes the acting ``Principal`` and only ever finds that
organiser's rows: another organiser's seminar answers exactly like a missing
one. Changes write their audit entry in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from shared.db import read_session, write_transaction
from shared.models import (
    Notification,
    NotificationKind,
    Organiser,
    Question,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarStatus,
    Series,
)
from shared.outbox import add_notification, dispatch
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration import audit
from services.registration.accounts import Principal
from services.registration.changes import move_seminar
from services.registration.registrations import (
    RegistrationRefused,
    cancel_registration,
    promote_waiting,
    take_seat,
)

# Time, place and join link of a published seminar change through ``move_seminar``,
# so that participants are told.
TOLD_FIELDS = ("starts_at", "ends_at", "location", "join_url")
# The mail a "send again" repeats, by the registration's status.
RESENDABLE = {
    RegistrationStatus.PENDING: NotificationKind.CONFIRM_ADDRESS,
    RegistrationStatus.CONFIRMED: NotificationKind.CONFIRMED,
    RegistrationStatus.WAITLISTED: NotificationKind.WAITLISTED,
}
ORGANISER_SETTINGS = ("name", "contact_email", "website_url", "privacy_policy_url", "allowed_origins", "retention_days",
                      "retention_days_cancelled")


@dataclass(frozen=True)
class SeminarCounts:
    """Seats and waiting list of one seminar as organisers see them."""

    confirmed: int = 0
    pending: int = 0
    waitlisted: int = 0
    cancelled: int = 0


# --- series -------------------------------------------------------------------------


def list_series(runtime: Runtime, by: Principal) -> list[Series]:
    """The organiser's series by title."""
    with read_session(runtime.sessions) as session:
        return list(session.scalars(
            select(Series).where(Series.organiser_id == by.organiser_id).order_by(Series.title)
        ))


def get_series(runtime: Runtime, by: Principal, series_id: int) -> Series:
    """One of the organiser's series."""
    with read_session(runtime.sessions) as session:
        return _series(session, by, series_id)


def create_series(runtime: Runtime, by: Principal, data: dict[str, Any]) -> Series:
    """Create a series; its slug names its public feed and must be unused."""
    with write_transaction(runtime.sessions) as session:
        series = Series(organiser_id=by.organiser_id, **data)
        session.add(series)
        _flush_unique(session, "slug_taken")
        audit.record(session, by, "series.created", "series", series.id, slug=series.slug)
        return series


def update_series(runtime: Runtime, by: Principal, series_id: int, data: dict[str, Any]) -> Series:
    """Change a series' slug, title or description."""
    with write_transaction(runtime.sessions) as session:
        series = _series(session, by, series_id)
        for name, value in data.items():
            setattr(series, name, value)
        _flush_unique(session, "slug_taken")
        audit.record(session, by, "series.changed", "series", series.id, fields=sorted(data))
        return series


def delete_series(runtime: Runtime, by: Principal, series_id: int) -> None:
    """Delete a series; its seminars stay, without a series."""
    with write_transaction(runtime.sessions) as session:
        series = _series(session, by, series_id)
        for seminar in series.seminars:
            seminar.series_id = None
        session.delete(series)
        audit.record(session, by, "series.deleted", "series", series_id, slug=series.slug)


def _series(session: Session, by: Principal, series_id: int) -> Series:
    series = session.get(Series, series_id)
    if series is None or series.organiser_id != by.organiser_id:
        raise RegistrationRefused("series_not_found", 404)
    return series


# --- seminars ------------------------------------------------------------------------


def list_seminars(runtime: Runtime, by: Principal, *, series_id: int | None = None) -> list[tuple[Seminar, SeminarCounts]]:
    """The organiser's seminars, latest start first, with their seat counts."""
    with read_session(runtime.sessions) as session:
        query = (
            select(Seminar).where(Seminar.organiser_id == by.organiser_id)
            .options(selectinload(Seminar.series), selectinload(Seminar.questions))
            .order_by(Seminar.starts_at.desc(), Seminar.id.desc())
        )
        if series_id is not None:
            query = query.where(Seminar.series_id == series_id)
        seminars = list(session.scalars(query))
        counts = _counts(session, [seminar.id for seminar in seminars])
        return [(seminar, counts.get(seminar.id, SeminarCounts())) for seminar in seminars]


def get_seminar(runtime: Runtime, by: Principal, seminar_id: int) -> tuple[Seminar, SeminarCounts]:
    """One of the organiser's seminars with its questions and seat counts."""
    with read_session(runtime.sessions) as session:
        seminar = _seminar(session, by, seminar_id)
        _ = seminar.questions, seminar.series  # loaded while the session is open
        return seminar, _counts(session, [seminar.id]).get(seminar.id, SeminarCounts())


def create_seminar(runtime: Runtime, by: Principal, data: dict[str, Any]) -> Seminar:
    """Create a seminar as a draft (or published, if asked) with its questions."""
    data = dict(data)
    questions = data.pop("questions", [])
    publish = data.pop("publish", False)
    _check_times(data)
    with write_transaction(runtime.sessions) as session:
        if data.get("series_id") is not None:
            _series(session, by, data["series_id"])
        seminar = Seminar(
            organiser_id=by.organiser_id,
            status=SeminarStatus.PUBLISHED if publish else SeminarStatus.DRAFT,
            questions=[Question(position=i, **question) for i, question in enumerate(questions)],
            **data,
        )
        session.add(seminar)
        session.flush()
        audit.record(session, by, "seminar.created", "seminar", seminar.id, title=seminar.title,
                     published=publish)
        _ = seminar.series
        return seminar


def update_seminar(runtime: Runtime, by: Principal, seminar_id: int, data: dict[str, Any], now: datetime | None = None) -> Seminar:
    """Change a seminar's rules, texts and questions; time and place of a published one are a move.

    Raising the capacity moves people up from the waiting list at once.
    """
    now = now or utcnow()
    data = dict(data)
    told = {name: data.pop(name) for name in TOLD_FIELDS if name in data}
    notification_ids: list[int] = []
    with write_transaction(runtime.sessions) as session:
        seminar = _seminar(session, by, seminar_id, lock=True)
        if seminar.status == SeminarStatus.CANCELLED:
            raise RegistrationRefused("seminar_cancelled")
        if "starts_at" in told and "ends_at" not in told:
            # A new start alone keeps the length, as in ``move_seminar``.
            told["ends_at"] = told["starts_at"] + (seminar.ends_at - seminar.starts_at)
        _check_times({"starts_at": told.get("starts_at", seminar.starts_at),
                      "ends_at": told.get("ends_at", seminar.ends_at)})
        if seminar.status == SeminarStatus.DRAFT:
            data.update(told)  # nobody to tell yet
            told = {}
        if "series_id" in data and data["series_id"] is not None:
            _series(session, by, data["series_id"])
        capacity = data.get("capacity", seminar.capacity)
        if capacity is not None and capacity < seminar.seats_taken:
            raise RegistrationRefused("capacity_below_taken")
        questions = data.pop("questions", None)
        for name, value in data.items():
            setattr(seminar, name, value)
        if questions is not None:
            _replace_questions(session, seminar, questions)
        session.flush()
        # More seats (or none limited any more) let waiting people move up.
        notification_ids = promote_waiting(session, seminar.id, now)
        changed = sorted([*data, *(["questions"] if questions is not None else [])])
        audit.record(session, by, "seminar.changed", "seminar", seminar.id, fields=changed)
    dispatch(runtime.sessions, runtime.broker, notification_ids)
    if told:
        move_seminar(runtime, seminar_id, now=now, by=by, **told)
    return get_seminar(runtime, by, seminar_id)[0]


def _replace_questions(session: Session, seminar: Seminar, questions: list[dict]) -> None:
    # Answers are stored by question key, so earlier answers stay readable when
    # a question keeps its key; the old rows must be gone before new ones reuse a key.
    seminar.questions.clear()
    session.flush()
    seminar.questions.extend(Question(position=i, **question) for i, question in enumerate(questions))


def publish_seminar(runtime: Runtime, by: Principal, seminar_id: int) -> Seminar:
    """Publish a draft: it appears in the public list, the feeds and the embedded forms."""
    with write_transaction(runtime.sessions) as session:
        seminar = _seminar(session, by, seminar_id, lock=True)
        if seminar.status == SeminarStatus.CANCELLED:
            raise RegistrationRefused("seminar_cancelled")
        if seminar.status == SeminarStatus.DRAFT:
            seminar.status = SeminarStatus.PUBLISHED
            audit.record(session, by, "seminar.published", "seminar", seminar.id)
    return get_seminar(runtime, by, seminar_id)[0]


def delete_seminar(runtime: Runtime, by: Principal, seminar_id: int) -> None:
    """Delete a seminar nobody registered for; one with registrations is cancelled instead."""
    with write_transaction(runtime.sessions) as session:
        seminar = _seminar(session, by, seminar_id, lock=True)
        has_registrations = session.scalar(
            select(func.count()).select_from(Registration).where(Registration.seminar_id == seminar.id)
        )
        if has_registrations:
            raise RegistrationRefused("seminar_has_registrations")
        session.delete(seminar)
        audit.record(session, by, "seminar.deleted", "seminar", seminar_id, title=seminar.title)


def _seminar(session: Session, by: Principal, seminar_id: int, lock: bool = False) -> Seminar:
    seminar = session.get(Seminar, seminar_id, with_for_update=lock)
    if seminar is None or seminar.organiser_id != by.organiser_id:
        raise RegistrationRefused("seminar_not_found", 404)
    return seminar


def _check_times(data: dict[str, Any]) -> None:
    if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
        raise RegistrationRefused("ends_before_start", 422)


def _counts(session: Session, seminar_ids: list[int]) -> dict[int, SeminarCounts]:
    if not seminar_ids:
        return {}
    status = Registration.status
    rows = session.execute(
        select(
            Registration.seminar_id,
            func.count(case((status == RegistrationStatus.CONFIRMED, 1))),
            func.count(case((status == RegistrationStatus.PENDING, 1))),
            func.count(case((status == RegistrationStatus.WAITLISTED, 1))),
            func.count(case((status == RegistrationStatus.CANCELLED, 1))),
        )
        .where(Registration.seminar_id.in_(seminar_ids))
        .group_by(Registration.seminar_id)
    )
    return {seminar_id: SeminarCounts(*numbers) for seminar_id, *numbers in rows}


def _flush_unique(session: Session, code: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise RegistrationRefused(code) from exc


# --- registrations -------------------------------------------------------------------


def list_registrations(
    runtime: Runtime,
    by: Principal,
    seminar_id: int,
    *,
    statuses: Iterable[RegistrationStatus] | None = None,
    search: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> tuple[int, list[Registration]]:
    """The seminar's registrations in order of arrival, filtered; returns the total and one page."""
    with read_session(runtime.sessions) as session:
        _seminar(session, by, seminar_id)
        query = select(Registration).where(Registration.seminar_id == seminar_id)
        statuses = list(statuses or [])
        if statuses:
            query = query.where(Registration.status.in_(statuses))
        if search and search.strip():
            pattern = f"%{_escape_like(search.strip().lower())}%"
            query = query.where(or_(
                func.lower(Registration.name).like(pattern, escape="\\"),
                Registration.email_key.like(pattern, escape="\\"),
            ))
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        page = session.scalars(
            query.options(selectinload(Registration.notifications))
            .order_by(Registration.created_at, Registration.id).limit(limit).offset(offset)
        ).all()
        return total, list(page)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def get_registration(runtime: Runtime, by: Principal, registration_id: int) -> Registration:
    """One registration of the organiser's seminars, with its mails."""
    with read_session(runtime.sessions) as session:
        registration = _registration(session, by, registration_id)
        _ = registration.notifications
        return registration


def cancel_by_organiser(runtime: Runtime, by: Principal, registration_id: int, now: datetime | None = None) -> RegistrationStatus:
    """Cancel a registration for the participant: the seat goes to the next person, who is told."""
    return cancel_registration(runtime, registration_id, now, by=by)


def promote(runtime: Runtime, by: Principal, registration_id: int, now: datetime | None = None) -> Registration:
    """Give a waiting person a free seat now, ahead of the queue; they get the promotion mail."""
    now = now or utcnow()
    with write_transaction(runtime.sessions) as session:
        registration = _registration(session, by, registration_id, lock=True)
        if registration.status != RegistrationStatus.WAITLISTED:
            raise RegistrationRefused("not_waitlisted")
        seminar = registration.seminar
        if seminar.double_opt_in and registration.email_confirmed_at is None:
            # The join link goes only to addresses their owners confirmed.
            raise RegistrationRefused("address_not_confirmed")
        if not take_seat(session, seminar.id):
            raise RegistrationRefused("seminar_full")
        registration.status = RegistrationStatus.CONFIRMED
        registration.confirmed_at = now
        registration.expires_at = None
        notification_id = add_notification(session, registration.id, NotificationKind.PROMOTED, f"manual:{now:%Y%m%dT%H%M%S.%f}")
        audit.record(session, by, "registration.promoted", "registration", registration.id, seminar_id=seminar.id)
    dispatch(runtime.sessions, runtime.broker, [notification_id])
    return get_registration(runtime, by, registration_id)


def resend_mail(runtime: Runtime, by: Principal, registration_id: int, now: datetime | None = None) -> int:
    """Send the mail that fits the registration's status once more; returns the new mail's id."""
    now = now or utcnow()
    with write_transaction(runtime.sessions) as session:
        registration = _registration(session, by, registration_id)
        kind = RESENDABLE.get(registration.status)
        if kind is None:
            raise RegistrationRefused("nothing_to_resend")
        notification_id = add_notification(session, registration.id, kind, f"resend:{now:%Y%m%dT%H%M%S.%f}")
        audit.record(session, by, "registration.mail_resent", "registration", registration.id, kind=kind.value)
    dispatch(runtime.sessions, runtime.broker, [notification_id])
    return notification_id


def _registration(session: Session, by: Principal, registration_id: int, lock: bool = False) -> Registration:
    registration = session.get(Registration, registration_id, with_for_update=lock)
    if registration is None or registration.seminar.organiser_id != by.organiser_id:
        raise RegistrationRefused("registration_not_found", 404)
    return registration


def notifications_of(registration: Registration) -> list[Notification]:
    """A registration's mails, oldest first (what was sent, what failed and why)."""
    return sorted(registration.notifications, key=lambda n: (n.created_at, n.id))


# --- organiser settings and the export log ------------------------------------------------


def get_organiser(runtime: Runtime, by: Principal) -> Organiser:
    """The organiser the principal acts for."""
    with read_session(runtime.sessions) as session:
        return session.get(Organiser, by.organiser_id)


def update_organiser(runtime: Runtime, by: Principal, data: dict[str, Any]) -> Organiser:
    """Change the organiser's contact, privacy link, partner origins or retention."""
    with write_transaction(runtime.sessions) as session:
        organiser = session.get(Organiser, by.organiser_id)
        for name, value in data.items():
            setattr(organiser, name, value)
        audit.record(session, by, "organiser.changed", "organiser", organiser.id, fields=sorted(data))
        return organiser


def log_export(runtime: Runtime, by: Principal, subject_type: str, subject_id: int, fmt: str, statuses) -> None:
    """Note in the audit log that someone took an attendee list out of the system."""
    with write_transaction(runtime.sessions) as session:
        audit.record(session, by, "attendees.exported", subject_type, subject_id, format=fmt,
                     statuses=sorted(status.value for status in statuses or []))

