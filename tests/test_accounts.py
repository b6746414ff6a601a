"""Organiser accounts: password hashing, sessions that end, and the command that creates the first admin."""

from __future__ import annotations

import subprocess
import sys

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from services.registration.accounts.logins import authenticate, change_password, session_account
from services.registration.accounts.members import AccountExists, create_account, grant_role, organisers_of
from services.registration.accounts.passwords import PasswordTooShort
from shared.db import read_session, write_transaction
from shared.models import Account, Organiser, Role
from tests.conftest import service_env
from tests.factories import make_organiser

PASSWORD = "Kommunal-Engagiert-2026"


def test_passwords_are_stored_as_argon2id_and_checked(runtime):
    account_id = create_account(runtime, " Anna@Stiftung.Example ", "Anna", PASSWORD)
    with read_session(runtime.sessions) as session:
        stored = session.get(Account, account_id)
    assert stored.email == "anna@stiftung.example"
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    assert authenticate(runtime, "ANNA@stiftung.example", PASSWORD).id == account_id
    assert authenticate(runtime, "anna@stiftung.example", PASSWORD + "!") is None
    assert authenticate(runtime, "nobody@stiftung.example", PASSWORD) is None


def test_short_passwords_and_second_accounts_are_refused(runtime):
    with pytest.raises(PasswordTooShort) as short:
        create_account(runtime, "anna@stiftung.example", "Anna", "kurz")
    assert short.value.code == "password_too_short"
    create_account(runtime, "anna@stiftung.example", "Anna", PASSWORD)
    with pytest.raises(AccountExists) as twice:
        create_account(runtime, "ANNA@stiftung.example", "Anna", PASSWORD)
    assert twice.value.code == "account_exists"


def test_an_outdated_hash_is_upgraded_at_login(runtime):
    account_id = create_account(runtime, "anna@stiftung.example", "Anna", PASSWORD)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024).hash(PASSWORD)
    with write_transaction(runtime.sessions) as session:
        session.execute(update(Account).where(Account.id == account_id).values(password_hash=weak))
    assert authenticate(runtime, "anna@stiftung.example", PASSWORD) is not None
    with read_session(runtime.sessions) as session:
        upgraded = session.get(Account, account_id).password_hash
    assert upgraded != weak and not PasswordHasher().check_needs_rehash(upgraded)


def test_a_new_password_ends_every_session(runtime):
    account_id = create_account(runtime, "anna@stiftung.example", "Anna", PASSWORD)
    nonce = authenticate(runtime, "anna@stiftung.example", PASSWORD).session_nonce
    assert session_account(runtime, account_id, nonce) is not None
    change_password(runtime, account_id, PASSWORD + "-neu")
    assert session_account(runtime, account_id, nonce) is None
    assert authenticate(runtime, "anna@stiftung.example", PASSWORD) is None


def test_roles_are_per_organiser(runtime):
    with write_transaction(runtime.sessions) as session:
        foundation, district = make_organiser(session, name="Stiftung").id, make_organiser(session, name="Landkreis").id
    account_id = create_account(runtime, "anna@stiftung.example", "Anna", PASSWORD)
    grant_role(runtime, account_id, foundation, Role.VIEWER)
    grant_role(runtime, account_id, foundation, Role.ADMIN)  # replaces the first role
    grant_role(runtime, account_id, district, Role.EDITOR)
    roles = {organiser.id: role for organiser, role in organisers_of(runtime, account_id)}
    assert roles == {foundation: Role.ADMIN, district: Role.EDITOR}


def run_admin(settings, *arguments, password=PASSWORD):
    env = service_env(settings, ADMIN_PASSWORD=password)
    return subprocess.run([sys.executable, "-m", "services.registration.admin", *arguments],
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_the_command_line_creates_the_first_organiser_and_admin(settings, runtime):
    created = run_admin(settings, "create-organiser", "--slug", "musikverband", "--name", "Musikverband",
                        "--contact-email", "info@musikverband.example",
                        "--privacy-url", "https://musikverband.example/datenschutz")
    assert created.returncode == 0, created.stderr
    admin = run_admin(settings, "create-admin", "--organiser", "musikverband", "--email", "vorstand@musikverband.example")
    assert admin.returncode == 0, admin.stderr
    assert "/manage/login" in admin.stdout

    account = authenticate(runtime, "vorstand@musikverband.example", PASSWORD)
    assert account is not None
    [(organiser, role)] = organisers_of(runtime, account.id)
    assert (organiser.slug, role) == ("musikverband", Role.ADMIN)

    unknown = run_admin(settings, "create-admin", "--organiser", "gibt-es-nicht", "--email", "x@example.org")
    short = run_admin(settings, "create-admin", "--organiser", "musikverband", "--email", "y@example.org", password="kurz")
    assert unknown.returncode == 1 and "create-organiser" in unknown.stderr
    assert short.returncode == 1 and "password_too_short" in short.stderr
    with read_session(runtime.sessions) as session:
        assert session.scalars(select(Organiser.slug)).all() == ["musikverband"]
        assert session.scalars(select(Account.email)).all() == ["vorstand@musikverband.example"]
