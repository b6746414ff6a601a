"""Changing a published seminar: moving it (time, place, join link) and cancelling it.

Each change is one transaction that raises the seminar's SEQUENCE (so calendar
apps replace their copy) and writes a notification row per participant; the
mails are queued after the commit, and the feeds see the change through the
content version that every seminar change moves (``shared.content_version``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select

from shared.db import read_session, write_transaction
from shared.models import (
    ACTIVE,
    NotificationKind,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarStatus,
    WebhookEvent,
)
from shared.outbox import add_notification
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration.accounts import audit
from services.registration.accounts.principals import Principal
from services.registration.domain.ownership import owned_seminar
from services.registration.domain.refusals import SeminarCancelled
from services.registration.domain.seminar_times import new_span
from services.registration.domain.webhooks import emit, seminar_data

# Who hears of a new time or place: everyone who may still come.
TOLD_OF_MOVES = ACTIVE
# Who hears of a new join link: only those who may know it.
TOLD_OF_NEW_LINK = (RegistrationStatus.CONFIRMED,)

_UNSET = object()


@dataclass(frozen=True)
class Move:
    """What a move changes, before and after; the fields that stay are left out."""

    seminar: Seminar
    starts_at: datetime
    ends_at: datetime
    location: str | None
    join_url: str | None
    moved: bool
    relocated: bool
    relinked: bool
    told: int = 0

    @property
    def timezone(self) -> str:
        """The seminar's time zone, so that a move shows its new time like a seminar's."""
        return self.seminar.timezone

    @property
    def changes_anything(self) -> bool:
        """Whether there is anything to tell."""
        return self.moved or self.relocated or self.relinked

    @property
    def told_statuses(self) -> tuple[RegistrationStatus, ...]:
        """Who hears of it: everyone who may come for a new time or place, the confirmed for a new link."""
        return TOLD_OF_MOVES if (self.moved or self.relocated) else TOLD_OF_NEW_LINK

    def before(self) -> dict:
        """What changed as it was, for the change mail (stored with its notification rows)."""
        seminar = self.seminar
        details: dict = {}
        if self.moved:
            details["starts_at"] = seminar.starts_at.isoformat()
            details["ends_at"] = seminar.ends_at.isoformat()
        if self.relocated:
            details["location"] = seminar.location or ""
        if self.relinked:
            details["join_url_changed"] = True
        return details


def planned_move(seminar: Seminar, *, starts_at: datetime | None = None, ends_at: datetime | None = None,
                 location=_UNSET, join_url=_UNSET) -> Move:
    """What moving ``seminar`` would change; refused like the move itself (cancelled, impossible times)."""
    if seminar.status == SeminarStatus.CANCELLED:
        raise SeminarCancelled()
    new_start, new_end = new_span(seminar.starts_at, seminar.ends_at, new_start=starts_at, new_end=ends_at)
    new_location = seminar.location if location is _UNSET else location
    new_join_url = seminar.join_url if join_url is _UNSET else join_url
    return Move(seminar, new_start, new_end, new_location, new_join_url,
                moved=(new_start, new_end) != (seminar.starts_at, seminar.ends_at),
                relocated=new_location != seminar.location, relinked=new_join_url != seminar.join_url)


def preview_move(runtime: Runtime, seminar_id: int, by: Principal | None = None, **changes) -> Move:
    """What a move would change and how many people would be told, without changing anything."""
    with read_session(runtime.sessions) as session:
        move = planned_move(owned_seminar(session, by, seminar_id), **changes)
        told = session.scalar(select(func.count()).select_from(Registration).where(
            Registration.seminar_id == seminar_id, Registration.status.in_(move.told_statuses)))
        return replace(move, told=told or 0)


def move_seminar(
    runtime: Runtime,
    seminar_id: int,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    location=_UNSET,
    join_url=_UNSET,
    message: str = "",
    now: datetime | None = None,
    by: Principal | None = None,
) -> list[int]:
    """Change time, place or join link; returns the ids of the change mails queued.

    A change that changes nothing sends nothing and keeps the SEQUENCE. Each mail
    says what it was before and carries the organiser's ``message``. With ``by``,
    only that organiser's seminar can be changed, and the audit log says who.
    """
    now = now or utcnow()
    with write_transaction(runtime.sessions) as session:
        seminar = owned_seminar(session, by, seminar_id, lock=True)
        move = planned_move(seminar, starts_at=starts_at, ends_at=ends_at, location=location, join_url=join_url)
        if not move.changes_anything:
            return []
        details = {"before": move.before(), "message": message}
        seminar.starts_at, seminar.ends_at = move.starts_at, move.ends_at
        seminar.location, seminar.join_url = move.location, move.join_url
        if move.moved or move.relocated:
            seminar.sequence += 1
        seminar.updated_at = now
        if by is not None:
            audit.record(session, by, "seminar.moved", "seminar", seminar.id,
                         starts_at=move.starts_at.isoformat(), ends_at=move.ends_at.isoformat(),
                         location_changed=move.relocated, join_link_changed=move.relinked)
        notification_ids = _tell_participants(
            session, seminar, move.told_statuses, NotificationKind.CHANGED,
            f"seq{seminar.sequence}:{now:%Y%m%dT%H%M%S.%f}", details,
        )
        changed = [name for name, yes in (("starts_at", move.moved), ("location", move.relocated),
                                          ("join_url", move.relinked)) if yes]
        if seminar.status == SeminarStatus.PUBLISHED:
            emit(session, seminar.organiser_id, WebhookEvent.SEMINAR_CHANGED,
                 lambda: {"seminar": seminar_data(session, runtime.settings, seminar.id), "changed": changed}, now)
    return notification_ids


def cancel_seminar(
    runtime: Runtime, seminar_id: int, now: datetime | None = None, by: Principal | None = None, message: str = ""
) -> list[int]:
    """Cancel a seminar: it stays in the feeds marked cancelled, every participant gets a mail.

    The mail carries the organiser's ``message``. Cancelling twice sends nothing more. Registrations keep their status, so the
    organiser still sees who was registered.
    """
    now = now or utcnow()
    with write_transaction(runtime.sessions) as session:
        seminar = owned_seminar(session, by, seminar_id, lock=True)
        if seminar.status == SeminarStatus.CANCELLED:
            return []
        seminar.status = SeminarStatus.CANCELLED
        seminar.cancelled_at = now
        seminar.sequence += 1
        seminar.updated_at = now
        notification_ids = _tell_participants(session, seminar, ACTIVE, NotificationKind.SEMINAR_CANCELLED, "",
                                              {"message": message})
        emit(session, seminar.organiser_id, WebhookEvent.SEMINAR_CANCELLED,
             lambda: {"seminar": seminar_data(session, runtime.settings, seminar.id)}, now)
        if by is not None:
            audit.record(session, by, "seminar.cancelled", "seminar", seminar.id, told=len(notification_ids))
    return notification_ids


def _tell_participants(session, seminar: Seminar, statuses, kind: NotificationKind, dedupe_key: str,
                       details: dict) -> list[int]:
    registration_ids = session.scalars(
        select(Registration.id)
        .where(Registration.seminar_id == seminar.id, Registration.status.in_(statuses))
        .order_by(Registration.id)
    ).all()
    return [add_notification(session, registration_id, kind, dedupe_key, details) for registration_id in registration_ids]
