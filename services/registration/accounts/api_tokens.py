"""API tokens for the organiser API: one organiser and one role each; only a hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select, update

from shared.db import read_session, write_transaction
from shared.models import ApiToken, Role
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration.accounts import audit
from services.registration.accounts.principals import Principal

TOKEN_PREFIX = "sem_"


def create_api_token(
    runtime: Runtime, organiser_id: int, name: str, role: Role, by: Principal | None = None
) -> tuple[int, str]:
    """Create a token for one organiser; returns its id and the token, which is never shown again."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction(runtime.sessions) as session:
        row = ApiToken(
            organiser_id=organiser_id,
            name=name.strip()[:100] or "API",
            role=role,
            token_hash=_token_hash(token),
            prefix=token[: len(TOKEN_PREFIX) + 6],
            created_by_account_id=by.account_id if by else None,
        )
        session.add(row)
        session.flush()
        if by is not None:
            audit.record(session, by, "token.created", "token", row.id, name=row.name, role=role.value)
        return row.id, token


def revoke_api_token(
    runtime: Runtime, organiser_id: int, token_id: int, now: datetime | None = None, by: Principal | None = None
) -> bool:
    """Revoke one of the organiser's tokens; False if it has no such token."""
    with write_transaction(runtime.sessions) as session:
        result = session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.organiser_id == organiser_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now or utcnow())
        )
        if result.rowcount != 1:
            return False
        if by is not None:
            audit.record(session, by, "token.revoked", "token", token_id)
        return True


def list_api_tokens(runtime: Runtime, organiser_id: int) -> list[ApiToken]:
    """The organiser's tokens, newest first, revoked ones included."""
    with read_session(runtime.sessions) as session:
        return list(session.scalars(
            select(ApiToken).where(ApiToken.organiser_id == organiser_id).order_by(ApiToken.id.desc())
        ))


def principal_for_token(runtime: Runtime, token: str, now: datetime | None = None) -> Principal | None:
    """The organiser and role a bearer token acts for, or None if it is unknown or revoked."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    now = now or utcnow()
    with read_session(runtime.sessions) as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    # Written at most once a minute: a busy integration must not turn every read into a write.
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        with write_transaction(runtime.sessions) as session:
            session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return Principal(
        organiser_id=row.organiser_id, role=row.role, actor=f"token {row.prefix}… ({row.name})",
        api_token_id=row.id,
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
