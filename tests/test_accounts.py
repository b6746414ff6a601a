"""Organiser accounts: password hashing, sessions that end, and the command that creates the first admin."""

from __future__ import annotations

import subprocess
from datetime import timedelta
import sys

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, update

from services.registration.accounts.logins import authenticate, change_password
from services.registration.accounts.sessions import drop_expired_sessions, session_account, start_session
from services.registration.accounts.members import AccountExists, create_account, grant_role, organisers_of
from services.registration.accounts.passwords import PasswordTooShort
from shared.db import read_session, write_transaction
from shared.models import Account, AccountSession, Organiser, Role
from shared.times import utcnow
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
    laptop, phone = start_session(runtime, account_id), start_session(runtime, account_id)
    assert session_account(runtime, laptop).id == account_id and session_account(runtime, phone).id == account_id
    change_password(runtime, account_id, PASSWORD + "-neu")
    assert session_account(runtime, laptop) is None and session_account(runtime, phone) is None
    assert authenticate(runtime, "anna@stiftung.example", PASSWORD) is None


def test_a_session_ends_when_it_expires_and_the_scheduler_clears_it(runtime, settings):
    account_id = create_account(runtime, "anna@stiftung.example", "Anna", PASSWORD)
    started = utcnow()
    secret = start_session(runtime, account_id, now=started)
    lifetime = timedelta(hours=settings.session_hours)
    assert session_account(runtime, secret, now=started + lifetime - timedelta(minutes=1)) is not None
    assert session_account(runtime, secret, now=started + lifetime) is None
    assert drop_expired_sessions(runtime, started + lifetime) == 1
    with read_session(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(AccountSession)) == 0


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


@pytest.mark.slow
def test_the_command_line_ends_every_session_of_an_account(settings, runtime):
    account_id = create_account(runtime, "anna@stiftung.example", "Anna", PASSWORD)
    secrets = [start_session(runtime, account_id) for _ in range(3)]
    ended = run_admin(settings, "end-sessions", "--email", "ANNA@stiftung.example")
    assert ended.returncode == 0, ended.stderr
    assert "3 sessions ended" in ended.stdout
    assert all(session_account(runtime, secret) is None for secret in secrets)
    assert authenticate(runtime, "anna@stiftung.example", PASSWORD) is not None  # the password stays
    unknown = run_admin(settings, "end-sessions", "--email", "nobody@stiftung.example")
    assert unknown.returncode == 1 and "No account" in unknown.stderr
