"""The audit log: who changed, cancelled or exported what, written in the change's own transaction."""

from __future__ import annotations

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


def recent_events(runtime: Runtime, organiser_id: int, limit: int = 200) -> list[AuditEvent]:
    """The organiser's latest audit entries, newest first."""
    with read_session(runtime.sessions) as session:
        return list(session.scalars(
            select(AuditEvent).where(AuditEvent.organiser_id == organiser_id)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)
        ))
