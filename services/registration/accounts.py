"""Organiser accounts, their roles, and API tokens: creating, checking and revoking them."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from shared.db import read_session, write_transaction
from shared.models import Account, ApiToken, Membership, Organiser, Role, new_nonce
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration import audit

# Argon2id with the library's defaults (RFC 9106's second recommended setting).
_HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "sem_"


class AccountError(Exception):
    """An account or token change that cannot be made; ``code`` names the problem."""

    def __init__(self, code: str, status: int = 422):
        super().__init__(code)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Principal:
    """Who is acting for an organiser: a logged-in person or an API token."""

    organiser_id: int
    role: Role
    actor: str
    account_id: int | None = None
    api_token_id: int | None = None


def hash_password(password: str) -> str:
    """Hash a new password; refuse one that is too short to be safe."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password_too_short")
    return _HASHER.hash(password)


def create_account(runtime: Runtime, email: str, name: str, password: str) -> int:
    """Create an account; the address must not be in use yet."""
    email = email.strip().lower()
    password_hash = hash_password(password)
    with write_transaction(runtime.sessions) as session:
        if session.scalar(select(Account.id).where(Account.email == email)) is not None:
            raise AccountError("account_exists", 409)
        account = Account(email=email, name=name.strip() or email, password_hash=password_hash)
        session.add(account)
        session.flush()
        return account.id


def grant_role(runtime: Runtime, account_id: int, organiser_id: int, role: Role) -> None:
    """Give an account a role for an organiser, replacing any role it had there."""
    with write_transaction(runtime.sessions) as session:
        membership = session.scalar(
            select(Membership).where(Membership.account_id == account_id, Membership.organiser_id == organiser_id)
        )
        if membership is None:
            session.add(Membership(account_id=account_id, organiser_id=organiser_id, role=role))
        else:
            membership.role = role


def authenticate(runtime: Runtime, email: str, password: str, now: datetime | None = None) -> Account | None:
    """The account for these credentials, or None; upgrades an outdated hash on the way."""
    with write_transaction(runtime.sessions) as session:
        account = session.scalar(select(Account).where(Account.email == email.strip().lower()))
        if account is None or account.disabled_at is not None:
            _verify(_unknown_account_hash(), password)
            return None
        if not _verify(account.password_hash, password):
            return None
        if _HASHER.check_needs_rehash(account.password_hash):
            account.password_hash = _HASHER.hash(password)
        account.last_login_at = now or utcnow()
        return account


@functools.cache
def _unknown_account_hash() -> str:
    # Verified against when the address is unknown, so that such a login takes as
    # long as one with a wrong password. Made on first use: hashing costs 64 MB.
    return _HASHER.hash(secrets.token_urlsafe(16))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def change_password(runtime: Runtime, account_id: int, password: str) -> None:
    """Set a new password and sign out every session of the account."""
    password_hash = hash_password(password)
    with write_transaction(runtime.sessions) as session:
        session.execute(
            update(Account).where(Account.id == account_id)
            .values(password_hash=password_hash, session_nonce=new_nonce())
        )


def session_account(runtime: Runtime, account_id: int, session_nonce: str) -> Account | None:
    """The account a web session belongs to, if that session is still valid."""
    with read_session(runtime.sessions) as session:
        account = session.get(Account, account_id)
        if account is None or account.disabled_at is not None:
            return None
        if not secrets.compare_digest(account.session_nonce, session_nonce):
            return None
        return account


def organisers_of(runtime: Runtime, account_id: int) -> list[tuple[Organiser, Role]]:
    """The organisers an account works for, with its role at each, by name."""
    with read_session(runtime.sessions) as session:
        rows = session.execute(
            select(Organiser, Membership.role)
            .join(Membership, Membership.organiser_id == Organiser.id)
            .where(Membership.account_id == account_id)
            .order_by(Organiser.name)
        ).all()
        return [(organiser, role) for organiser, role in rows]


def principal_for_account(runtime: Runtime, account: Account, organiser_slug: str) -> Principal | None:
    """The account acting for the organiser with this slug, or None if it has no role there."""
    with read_session(runtime.sessions) as session:
        row = session.execute(
            select(Organiser.id, Membership.role)
            .join(Membership, Membership.organiser_id == Organiser.id)
            .where(Organiser.slug == organiser_slug, Membership.account_id == account.id)
        ).first()
    if row is None:
        return None
    return Principal(organiser_id=row.id, role=row.role, actor=account.email, account_id=account.id)


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
