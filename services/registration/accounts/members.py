"""Organiser accounts and their memberships: who works for which organiser, in which role."""

from __future__ import annotations

from sqlalchemy import select

from shared.db import read_session, write_transaction
from shared.models import Account, Membership, Organiser, Role
from shared.problems import Refusal
from shared.runtime import Runtime
from services.registration.accounts.passwords import hash_password
from services.registration.accounts.principals import Principal


class AccountExists(Refusal):
    """An account with this address exists already."""

    code, status = "account_exists", 409


def create_account(runtime: Runtime, email: str, name: str, password: str) -> int:
    """Create an account; the address must not be in use yet."""
    email = email.strip().lower()
    password_hash = hash_password(password)
    with write_transaction(runtime.sessions) as session:
        if session.scalar(select(Account.id).where(Account.email == email)) is not None:
            raise AccountExists()
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
