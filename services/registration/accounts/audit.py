"""The audit log: who changed, cancelled or exported what, written in the change's own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from shared.db import read_session
from shared.models import AuditEvent
from shared.runtime import Runtime
from services.registration.accounts.principals import Principal

_INSERT = insert(AuditEvent.__table__)


def record(session: Session, by: Principal, action: str, subject_type: str, subject_id: int | None, **details: Any) -> None:
    """Add one audit entry to the caller's transaction (it exists only if the change does)."""
    session.execute(_INSERT, {
        "organiser_id": by.organiser_id,
        "account_id": by.account_id,
        "api_token_id": by.api_token_id,
        "actor": by.actor,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "details": details,
    })


@dataclass(frozen=True)
class AuditPage:
    """One page of the audit log, newest first; ``older`` is the ``before`` of the next page (None: no more)."""

    events: list[AuditEvent]
    older: int | None


def recent_events(runtime: Runtime, organiser_id: int, before: int | None = None, limit: int = 100) -> AuditPage:
    """The organiser's audit entries older than the entry ``before`` (all if None), newest first, one page."""
    query = select(AuditEvent).where(AuditEvent.organiser_id == organiser_id)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    with read_session(runtime.sessions) as session:
        # Ids rise with time, and unlike timestamps they never tie: the page's order and its cursor.
        events = list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    more = len(events) > limit
    events = events[:limit]
    return AuditPage(events, events[-1].id if more else None)
