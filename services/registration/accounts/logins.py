"""Logging in: checking an address and password, and setting a new one (which ends every session of the account)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from shared.db import write_transaction
from shared.models import Account, AccountSession
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration.accounts.passwords import (
    hash_password,
    needs_rehash,
    rehash,
    verify_password,
    verify_unknown,
)


def authenticate(runtime: Runtime, email: str, password: str, now: datetime | None = None) -> Account | None:
    """The account for these credentials, or None; upgrades an outdated hash on the way."""
    with write_transaction(runtime.sessions) as session:
        account = session.scalar(select(Account).where(Account.email == email.strip().lower()))
        if account is None or account.disabled_at is not None:
            verify_unknown(password)
            return None
        if not verify_password(account.password_hash, password):
            return None
        if needs_rehash(account.password_hash):
            account.password_hash = rehash(password)
        account.last_login_at = now or utcnow()
        return account


def change_password(runtime: Runtime, account_id: int, password: str) -> None:
    """Set a new password and end every session of the account."""
    password_hash = hash_password(password)
    with write_transaction(runtime.sessions) as session:
        session.execute(update(Account).where(Account.id == account_id).values(password_hash=password_hash))
        session.execute(delete(AccountSession).where(AccountSession.account_id == account_id))
