"""Login sessions of the organiser pages: a row per session, its secret only in the person's cookie.

A session holds while its row exists and has not expired. Logging out deletes the
row, a new password deletes all of an account's rows, and so does "end all
sessions": a copy of a cookie then logs nobody in, however long it was meant to last.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from shared.db import read_session, write_transaction
from shared.models import Account, AccountSession
from shared.runtime import Runtime
from shared.times import utcnow

# A session's last use is written at most this often: reading a page must not write each time.
SEEN_EVERY = timedelta(minutes=1)
# Expired sessions deleted per scheduler round at most.
BATCH = 500


def start_session(runtime: Runtime, account_id: int, now: datetime | None = None) -> str:
    """Start a session for the account; returns its secret, for the cookie only (the database keeps a hash)."""
    now = now or utcnow()
    secret = secrets.token_urlsafe(32)
    with write_transaction(runtime.sessions) as session:
        session.add(AccountSession(account_id=account_id, secret_hash=_hash(secret), created_at=now, last_seen_at=now,
                                   expires_at=now + timedelta(hours=runtime.settings.session_hours)))
    return secret


def session_account(runtime: Runtime, secret: str, now: datetime | None = None) -> Account | None:
    """The account whose session this secret opens, if the session still holds and the account is not disabled."""
    now = now or utcnow()
    with read_session(runtime.sessions) as session:
        row = session.execute(
            select(AccountSession.id, AccountSession.last_seen_at, Account)
            .join(Account, Account.id == AccountSession.account_id)
            .where(AccountSession.secret_hash == _hash(secret), AccountSession.expires_at > now)
        ).first()
    if row is None or row.Account.disabled_at is not None:
        return None
    if now - row.last_seen_at > SEEN_EVERY:
        with write_transaction(runtime.sessions) as session:
            session.execute(update(AccountSession).where(AccountSession.id == row.id).values(last_seen_at=now))
    return row.Account


def end_session(runtime: Runtime, secret: str) -> None:
    """End the session this secret opens (logging out); ending it twice is harmless."""
    with write_transaction(runtime.sessions) as session:
        session.execute(delete(AccountSession).where(AccountSession.secret_hash == _hash(secret)))


def end_all_sessions(runtime: Runtime, account_id: int) -> int:
    """End every session of the account, on every device; returns how many there were."""
    with write_transaction(runtime.sessions) as session:
        return session.execute(delete(AccountSession).where(AccountSession.account_id == account_id)).rowcount


def drop_expired_sessions(runtime: Runtime, now: datetime) -> int:
    """Delete up to one batch of expired sessions (they log nobody in already); returns how many."""
    with write_transaction(runtime.sessions) as session:
        expired = session.scalars(
            select(AccountSession.id).where(AccountSession.expires_at <= now).order_by(AccountSession.id).limit(BATCH)
        ).all()
        if expired:
            session.execute(delete(AccountSession).where(AccountSession.id.in_(expired)))
        return len(expired)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
