"""An organiser's seminars: list them with their counts, create, change, publish and delete them.

Moving a published seminar and cancelling it tell its participants; they live in
``seminar_changes``. Every function acts for a ``Principal`` on its own organiser's
seminars only (``ownership``) and writes its audit entry in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from shared.db import read_session, write_transaction
from shared.models import Question, Registration, RegistrationStatus, Seminar, SeminarStatus, WebhookEvent
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration.accounts import audit
from services.registration.accounts.principals import Principal
from services.registration.domain.ownership import of_organiser, owned_seminar, owned_series
from services.registration.domain.refusals import CapacityBelowTaken, SeminarCancelled, SeminarHasRegistrations
from services.registration.domain.seminar_changes import move_seminar
from services.registration.domain.seminar_times import new_span
from services.registration.domain.waiting_list import fill_free_seats
from services.registration.domain.webhooks import emit, seminar_data

# Time, place and join link of a published seminar change through ``move_seminar``,
# so that participants are told.
TOLD_FIELDS = ("starts_at", "ends_at", "location", "join_url")


@dataclass(frozen=True)
class SeminarCounts:
    """Seats and waiting list of one seminar as organisers see them."""

    confirmed: int = 0
    pending: int = 0
    waitlisted: int = 0
    cancelled: int = 0


def list_seminars(runtime: Runtime, by: Principal, *, series_id: int | None = None) -> list[tuple[Seminar, SeminarCounts]]:
    """The organiser's seminars, latest start first, with their seat counts."""
    with read_session(runtime.sessions) as session:
        query = (
            select(Seminar).where(of_organiser(by, Seminar.organiser_id))
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
        seminar = owned_seminar(session, by, seminar_id)
        _ = seminar.questions, seminar.series  # loaded while the session is open
        return seminar, _counts(session, [seminar.id]).get(seminar.id, SeminarCounts())


def create_seminar(runtime: Runtime, by: Principal, data: dict[str, Any]) -> Seminar:
    """Create a seminar as a draft (or published, if asked) with its questions."""
    data = dict(data)
    questions = data.pop("questions", [])
    publish = data.pop("publish", False)
    data["starts_at"], data["ends_at"] = new_span(data["starts_at"], data["ends_at"])
    with write_transaction(runtime.sessions) as session:
        if data.get("series_id") is not None:
            owned_series(session, by, data["series_id"])
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
        if publish:
            emit(session, by.organiser_id, WebhookEvent.SEMINAR_PUBLISHED,
                 lambda: {"seminar": seminar_data(session, runtime.settings, seminar.id)})
        _ = seminar.series
        return seminar


def update_seminar(runtime: Runtime, by: Principal, seminar_id: int, data: dict[str, Any],
                   now: datetime | None = None) -> Seminar:
    """Change a seminar's rules, texts and questions; time and place of a published one are a move.

    Raising the capacity moves people up from the waiting list at once.
    """
    now = now or utcnow()
    data = dict(data)
    told = {name: data.pop(name) for name in TOLD_FIELDS if name in data}
    with write_transaction(runtime.sessions) as session:
        seminar = owned_seminar(session, by, seminar_id, lock=True)
        if seminar.status == SeminarStatus.CANCELLED:
            raise SeminarCancelled()
        if "starts_at" in told or "ends_at" in told:
            told["starts_at"], told["ends_at"] = new_span(
                seminar.starts_at, seminar.ends_at, new_start=told.get("starts_at"), new_end=told.get("ends_at"))
        if seminar.status == SeminarStatus.DRAFT:
            data.update(told)  # nobody to tell yet
            told = {}
        if "series_id" in data and data["series_id"] is not None:
            owned_series(session, by, data["series_id"])
        capacity = data.get("capacity", seminar.capacity)
        if capacity is not None and capacity < seminar.seats_taken:
            raise CapacityBelowTaken()
        questions = data.pop("questions", None)
        for name, value in data.items():
            setattr(seminar, name, value)
        if questions is not None:
            _replace_questions(session, seminar, questions)
        session.flush()
        # More seats (or none limited any more) let waiting people move up.
        fill_free_seats(session, runtime.settings, seminar.id, now)
        changed = sorted([*data, *(["questions"] if questions is not None else [])])
        audit.record(session, by, "seminar.changed", "seminar", seminar.id, fields=changed)
        if seminar.status == SeminarStatus.PUBLISHED and changed:
            emit(session, by.organiser_id, WebhookEvent.SEMINAR_CHANGED,
                 lambda: {"seminar": seminar_data(session, runtime.settings, seminar.id), "changed": changed})
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
        seminar = owned_seminar(session, by, seminar_id, lock=True)
        if seminar.status == SeminarStatus.CANCELLED:
            raise SeminarCancelled()
        if seminar.status == SeminarStatus.DRAFT:
            seminar.status = SeminarStatus.PUBLISHED
            audit.record(session, by, "seminar.published", "seminar", seminar.id)
            emit(session, by.organiser_id, WebhookEvent.SEMINAR_PUBLISHED,
                 lambda: {"seminar": seminar_data(session, runtime.settings, seminar.id)})
    return get_seminar(runtime, by, seminar_id)[0]


def delete_seminar(runtime: Runtime, by: Principal, seminar_id: int) -> None:
    """Delete a seminar nobody registered for; one with registrations is cancelled instead."""
    with write_transaction(runtime.sessions) as session:
        seminar = owned_seminar(session, by, seminar_id, lock=True)
        has_registrations = session.scalar(
            select(func.count()).select_from(Registration).where(Registration.seminar_id == seminar.id)
        )
        if has_registrations:
            raise SeminarHasRegistrations()
        session.delete(seminar)
        audit.record(session, by, "seminar.deleted", "seminar", seminar_id, title=seminar.title)


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
