"""Passwords of organiser accounts: Argon2id hashes, a minimum length, and checks that take the same time for everyone."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.problems import Refusal

# Argon2id with the library's defaults (RFC 9106's second recommended setting).
_HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 12


class PasswordTooShort(Refusal):
    """A new password shorter than ``MIN_PASSWORD_LENGTH``."""

    code, status = "password_too_short", 422


def hash_password(password: str) -> str:
    """Hash a new password; refuse one that is too short to be safe."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooShort()
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the hash."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with weaker settings than today's."""
    return _HASHER.check_needs_rehash(password_hash)


def rehash(password: str) -> str:
    """The password hashed with today's settings (it was checked already, so no length rule)."""
    return _HASHER.hash(password)


def verify_unknown(password: str) -> None:
    """Spend the time a password check takes, for an address that has no account: nobody learns which exist."""
    verify_password(_unknown_account_hash(), password)


@functools.cache
def _unknown_account_hash() -> str:
    # Made on first use: hashing costs 64 MB.
    return _HASHER.hash(secrets.token_urlsafe(16))
